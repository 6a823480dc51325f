//! The mutating requests, one function each: every change this plugin makes goes through here.

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Event, EventSource, ObjectReference, Service};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};
use kube::api::{
    Api, DeleteParams, Patch, PatchParams, PostParams, Preconditions, PropagationPolicy,
};
use serde_json::Value;

use crate::cluster::Connection;
use crate::cluster::read::RequestDesc;
use crate::error::{Error, Result};

/// The field manager this plugin writes as.
pub const FIELD_MANAGER: &str = "kubectl-bluegreen";

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
pub async fn patch_service(
    conn: &Connection,
    name: &str,
    patch: &Value,
    dry_run: bool,
) -> Result<Service> {
    let api: Api<Service> = Api::namespaced(conn.client.clone(), &conn.target.namespace);
    let params = patch_params(dry_run);
    match conn
        .call(
            &desc("patch", "services", name),
            api.patch(name, &params, &Patch::Merge(patch)),
        )
        .await
    {
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

/// Sets a Deployment's replica count through its `scale` subresource.
pub async fn scale(conn: &Connection, name: &str, replicas: i32, dry_run: bool) -> Result<()> {
    let api: Api<Deployment> = Api::namespaced(conn.client.clone(), &conn.target.namespace);
    let patch = serde_json::json!({"spec": {"replicas": replicas}});
    conn.call(
        &desc("patch", "deployments.apps/scale", name),
        api.patch_scale(name, &patch_params(dry_run), &Patch::Merge(&patch)),
    )
    .await
    .map(|_| ())
}

/// Deletes a namespaced object, only if it is still the one that was read (uid precondition).
/// Already gone is fine.
pub async fn delete<K>(
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
    match conn
        .call(&desc("delete", &resource, name), api.delete(name, &params))
        .await
    {
        Ok(_) | Err(Error::Api { code: 404, .. }) => Ok(()),
        Err(e) => Err(e),
    }
}

/// Creates an object from a saved manifest. `Ok(false)` when it already exists.
pub async fn create<K>(conn: &Connection, manifest: &Value, dry_run: bool) -> Result<bool>
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
    match conn
        .call(
            &desc("create", &resource, &name),
            api.create(&post_params(dry_run), &object),
        )
        .await
    {
        Ok(_) => Ok(true),
        Err(Error::Api { code: 409, .. }) => Ok(false),
        Err(e) => Err(e),
    }
}

/// Records a core/v1 Event on the production Service.
pub async fn event(
    conn: &Connection,
    service: &Service,
    kind: &str,
    reason: &str,
    message: &str,
    dry_run: bool,
) -> Result<()> {
    let now = jiff::Timestamp::now();
    let name = service.metadata.name.clone().unwrap_or_default();
    let event = Event {
        metadata: ObjectMeta {
            generate_name: Some(format!("{name}.")),
            namespace: Some(conn.target.namespace.clone()),
            ..Default::default()
        },
        involved_object: ObjectReference {
            api_version: Some("v1".into()),
            kind: Some("Service".into()),
            name: Some(name.clone()),
            namespace: Some(conn.target.namespace.clone()),
            uid: service.metadata.uid.clone(),
            resource_version: service.metadata.resource_version.clone(),
            ..Default::default()
        },
        reason: Some(reason.to_string()),
        message: Some(message.to_string()),
        type_: Some(kind.to_string()),
        count: Some(1),
        first_timestamp: Some(Time(now)),
        last_timestamp: Some(Time(now)),
        reporting_component: Some(FIELD_MANAGER.to_string()),
        source: Some(EventSource {
            component: Some(FIELD_MANAGER.to_string()),
            host: hostname(),
        }),
        ..Default::default()
    };
    let api: Api<Event> = Api::namespaced(conn.client.clone(), &conn.target.namespace);
    conn.call(
        &desc("create", "events", &name),
        api.create(&post_params(dry_run), &event),
    )
    .await
    .map(|_| ())
}

fn hostname() -> Option<String> {
    std::env::var("HOSTNAME").ok().filter(|h| !h.is_empty())
}
