//! The mutating requests, one function each: every change this plugin makes goes through here.

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Event, Service};
use kube::api::{
    Api, DeleteParams, Patch, PatchParams, PostParams, Preconditions, PropagationPolicy,
};
use serde_json::Value;

use crate::cluster::Connection;
use crate::cluster::read::RequestDesc;
use crate::error::{Error, Result};

pub(crate) use crate::plan::requests::FIELD_MANAGER;

fn desc(verb: &'static str, resource: &str, name: &str) -> RequestDesc {
    RequestDesc {
        verb,
        resource: resource.to_string(),
        name: Some(name.to_string()),
    }
}

fn patch_params(dry_run: bool) -> PatchParams {
    PatchParams {
        dry_run,
        field_manager: Some(FIELD_MANAGER.to_string()),
        ..Default::default()
    }
}

fn post_params(dry_run: bool) -> PostParams {
    PostParams {
        dry_run,
        field_manager: Some(FIELD_MANAGER.to_string()),
    }
}

/// A merge patch on the production Service. A 409 (the resourceVersion in the patch is stale)
/// becomes [`Error::Conflict`].
///
/// A patch that carries a resourceVersion (the flip) is sent again when its answer is lost (a
/// server error, a closed connection, a timeout): the precondition lets the server apply at
/// most one copy. When a later copy meets a 409, the Service is read again: if it already is as
/// the patch makes it, an earlier copy landed and the patch succeeded. A patch without a
/// resourceVersion is sent once: after a lost answer the Service is read again, and the patch
/// succeeded if the Service is as it makes it.
pub(crate) async fn patch_service(
    conn: &Connection,
    name: &str,
    patch: &Value,
    dry_run: bool,
) -> Result<Service> {
    let api: Api<Service> = Api::namespaced(conn.client.clone(), &conn.target.namespace);
    let params = patch_params(dry_run);
    let desc = desc("patch", "services", name);
    let merge = Patch::Merge(patch);
    let guarded = patch
        .pointer("/metadata/resourceVersion")
        .and_then(Value::as_str)
        .is_some_and(|rv| !rv.is_empty());
    let result = if guarded {
        let (api, params, merge) = (&api, &params, &merge);
        let mut sent = 0u32;
        let result = conn
            .call_idempotent(&desc, || {
                sent += 1;
                api.patch(name, params, merge)
            })
            .await;
        match result {
            Err(Error::Api { code: 409, .. }) if sent > 1 && !dry_run => {
                match conn.get_opt::<Service>(name).await? {
                    Some(current) if applied(&current, patch) => Ok(current),
                    _ => result,
                }
            }
            other => other,
        }
    } else {
        match conn.call(&desc, api.patch(name, &params, &merge)).await {
            // Not sent again, but the answer may be all that was lost: if the Service is as
            // the patch makes it, it was made.
            Err(e) if crate::cluster::retry::passing(&e) && !dry_run => {
                match conn.get_opt::<Service>(name).await {
                    Ok(Some(current)) if applied(&current, patch) => Ok(current),
                    _ => Err(e),
                }
            }
            other => other,
        }
    };
    match result {
        Err(Error::Api {
            code: 409, message, ..
        }) => Err(Error::Conflict {
            detail: format!(
                "Service {name} was changed by someone else since it was read ({message}); \
                 nothing was changed by this command. Check what changed with \
                 `kubectl bluegreen status {name}` and run it again"
            ),
        }),
        other => other,
    }
}

/// Whether `object` already holds every value a merge `patch` sets (its resourceVersion
/// aside): `null` in the patch means the field is absent.
fn applied(object: &impl serde::Serialize, patch: &Value) -> bool {
    fn holds(have: Option<&Value>, want: &Value, top_meta: bool) -> bool {
        match want {
            Value::Null => have.is_none_or(Value::is_null),
            Value::Object(fields) => fields.iter().all(|(k, v)| {
                (top_meta && k == "resourceVersion") || holds(have.and_then(|h| h.get(k)), v, false)
            }),
            other => have == Some(other),
        }
    }
    let Ok(object) = serde_json::to_value(object) else {
        return false;
    };
    match patch {
        Value::Object(fields) => fields
            .iter()
            .all(|(k, v)| holds(object.get(k), v, k == "metadata")),
        _ => false,
    }
}

/// Sets a Deployment's replica count through its `scale` subresource. The count is absolute,
/// so a copy sent again after a lost answer changes nothing more than the first.
pub(crate) async fn scale(
    conn: &Connection,
    name: &str,
    replicas: i32,
    dry_run: bool,
) -> Result<()> {
    let api: Api<Deployment> = Api::namespaced(conn.client.clone(), &conn.target.namespace);
    let patch = serde_json::json!({"spec": {"replicas": replicas}});
    let merge = Patch::Merge(&patch);
    let params = patch_params(dry_run);
    let (api, params, merge) = (&api, &params, &merge);
    conn.call_idempotent(&desc("patch", "deployments.apps/scale", name), || {
        api.patch_scale(name, params, merge)
    })
    .await
    .map(|_| ())
}

/// A strategic merge patch on a Deployment (new images by container name, a replica count):
/// absolute values, so sending it again after a lost answer changes nothing more.
pub(crate) async fn patch_deployment(
    conn: &Connection,
    name: &str,
    patch: &Value,
    dry_run: bool,
) -> Result<()> {
    let api: Api<Deployment> = Api::namespaced(conn.client.clone(), &conn.target.namespace);
    let strategic = Patch::Strategic(patch);
    let params = patch_params(dry_run);
    let (api, params, strategic) = (&api, &params, &strategic);
    conn.call_idempotent(&desc("patch", "deployments.apps", name), || {
        api.patch(name, params, strategic)
    })
    .await
    .map(|_| ())
}

/// Deletes a namespaced object, only if it is still the one that was read (uid precondition).
/// Already gone is fine.
pub(crate) async fn delete<K>(
    conn: &Connection,
    name: &str,
    uid: Option<String>,
    dry_run: bool,
) -> Result<()>
where
    K: kube::Resource<DynamicType = (), Scope = kube::core::NamespaceResourceScope>
        + Clone
        + serde::de::DeserializeOwned
        + std::fmt::Debug,
{
    let api: Api<K> = Api::namespaced(conn.client.clone(), &conn.target.namespace);
    let params = DeleteParams {
        dry_run,
        propagation_policy: Some(PropagationPolicy::Background),
        preconditions: uid.map(|uid| Preconditions {
            uid: Some(uid),
            resource_version: None,
        }),
        ..Default::default()
    };
    let resource = crate::cluster::read::resource_name::<K>();
    let desc = desc("delete", &resource, name);
    // With the uid precondition a copy sent again after a lost answer deletes nothing else:
    // the object is gone (404) or is the same one.
    let deleted = if params.preconditions.is_some() {
        let (api, params) = (&api, &params);
        conn.call_idempotent(&desc, || api.delete(name, params))
            .await
    } else {
        conn.call(&desc, api.delete(name, &params)).await
    };
    match deleted {
        Ok(_) | Err(Error::Api { code: 404, .. }) => Ok(()),
        Err(e) => Err(e),
    }
}

/// Creates an object from a saved manifest. `Ok(false)` when it already exists.
pub(crate) async fn create<K>(conn: &Connection, manifest: &Value, dry_run: bool) -> Result<bool>
where
    K: kube::Resource<DynamicType = (), Scope = kube::core::NamespaceResourceScope>
        + Clone
        + serde::de::DeserializeOwned
        + serde::Serialize
        + std::fmt::Debug,
{
    let object: K = serde_json::from_value(manifest.clone())
        .map_err(|e| Error::Internal(format!("the journal's saved manifest is unreadable: {e}")))?;
    let name = object.meta().name.clone().unwrap_or_default();
    let api: Api<K> = Api::namespaced(conn.client.clone(), &conn.target.namespace);
    let resource = crate::cluster::read::resource_name::<K>();
    // A named object exists once: a copy sent again after a lost answer meets 409.
    let params = post_params(dry_run);
    let (api_ref, params, object) = (&api, &params, &object);
    match conn
        .call_idempotent(&desc("create", &resource, &name), || {
            api_ref.create(params, object)
        })
        .await
    {
        Ok(_) => Ok(true),
        Err(Error::Api { code: 409, .. }) => Ok(false),
        Err(e) => Err(e),
    }
}

/// Records a core/v1 Event on the production Service `service`: `event` as
/// [`crate::plan::requests::event`] makes it.
pub(crate) async fn event(
    conn: &Connection,
    service: &str,
    event: &Value,
    dry_run: bool,
) -> Result<()> {
    let event: Event = serde_json::from_value(event.clone())
        .map_err(|e| Error::Internal(format!("cannot encode an Event: {e}")))?;
    let api: Api<Event> = Api::namespaced(conn.client.clone(), &conn.target.namespace);
    match conn
        .call(
            &desc("create", "events", service),
            api.create(&post_params(dry_run), &event),
        )
        .await
    {
        // A release's Event is named after its flip: it is recorded already.
        Err(Error::Api { code: 409, .. }) => Ok(()),
        other => other.map(|_| ()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_landed_flip_is_recognised_by_its_values() {
        let service = json!({
            "metadata": {"name": "web", "resourceVersion": "12",
                "annotations": {"bluegreen.dev/previous-colour": "blue", "other": "x"}},
            "spec": {"selector": {"app": "green"}},
        });
        let flip = json!({
            "metadata": {"resourceVersion": "11",
                "annotations": {"bluegreen.dev/previous-colour": "blue", "bluegreen.dev/step": null}},
            "spec": {"selector": {"app": "green"}},
        });
        assert!(applied(&service, &flip));
        let other =
            json!({"metadata": {"resourceVersion": "11"}, "spec": {"selector": {"app": "blue"}}});
        assert!(!applied(&service, &other));
        let cleared = json!({"metadata": {"annotations": {"other": null}}});
        assert!(
            !applied(&service, &cleared),
            "a field the patch removes is still there"
        );
    }
}
