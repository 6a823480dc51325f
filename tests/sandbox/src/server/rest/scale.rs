//! The `scale` subresource: an `autoscaling/v1` Scale over a Deployment or ReplicaSet.

use serde_json::{Value, json};

use super::*;

/// The `autoscaling/v1` Scale of a Deployment or ReplicaSet.
pub fn scale_of(obj: &Value) -> Value {
    let m = &obj["metadata"];
    let selector = LabelSelector::from_object(&obj["spec"]["selector"])
        .map(|s| selector_string(&s))
        .unwrap_or_default();
    json!({
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": {
            "name": m["name"],
            "namespace": m["namespace"],
            "uid": m["uid"],
            "resourceVersion": m["resourceVersion"],
            "creationTimestamp": m["creationTimestamp"],
        },
        "spec": {"replicas": obj["spec"]["replicas"].as_i64().unwrap_or(1)},
        "status": {
            "replicas": obj["status"]["replicas"].as_i64().unwrap_or(0),
            "selector": selector,
        },
    })
}

/// A selector in the query syntax, requirements sorted by key as the real server prints them.
fn selector_string(s: &LabelSelector) -> String {
    use crate::selector::Requirement::*;
    let mut reqs: Vec<(String, String)> = s
        .requirements
        .iter()
        .map(|r| match r {
            Equals(k, v) => (k.clone(), format!("{k}={v}")),
            NotEquals(k, v) => (k.clone(), format!("{k}!={v}")),
            In(k, vs) => (k.clone(), format!("{k} in ({})", sorted(vs))),
            NotIn(k, vs) => (k.clone(), format!("{k} notin ({})", sorted(vs))),
            Exists(k) => (k.clone(), k.clone()),
            DoesNotExist(k) => (k.clone(), format!("!{k}")),
        })
        .collect();
    reqs.sort();
    reqs.into_iter()
        .map(|(_, s)| s)
        .collect::<Vec<_>>()
        .join(",")
}

fn sorted(vs: &[String]) -> String {
    let mut v = vs.to_vec();
    v.sort();
    v.join(",")
}

/// The replica count a Scale asks for, checked as the real server checks it.
fn scale_replicas(res: &ResourceRoute, scale: &Value) -> ApiResult<i64> {
    if let Some(kind) = scale["kind"].as_str()
        && kind != "Scale"
    {
        return Err(ApiError::bad_request(format!(
            "the kind in the body ({kind}) is not Scale"
        )));
    }
    match &scale["spec"]["replicas"] {
        Value::Null => Ok(0),
        v => v.as_i64().filter(|n| *n >= 0).ok_or_else(|| {
            ApiError::invalid(
                "autoscaling",
                "Scale",
                name(res),
                vec![(
                    "spec.replicas".into(),
                    format!("Invalid value: {v}: must be greater than or equal to 0"),
                )],
            )
        }),
    }
}

/// Writes a Scale back to its Deployment or ReplicaSet: only `spec.replicas` changes, and
/// the Scale's resourceVersion is a precondition.
pub(super) fn write_scale(state: &State, res: &ResourceRoute, scale: Value, dry: bool) -> Answer {
    let replicas = scale_replicas(res, &scale)?;
    let rv = scale["metadata"]["resourceVersion"]
        .as_str()
        .unwrap_or("")
        .to_string();
    let updated = state.store.update_with(
        res.rt,
        namespace(res),
        name(res),
        UpdateOpts {
            dry_run: dry,
            scope: UpdateScope::Main,
        },
        |old| {
            let mut new = old.clone();
            if !rv.is_empty() {
                new["metadata"]["resourceVersion"] = json!(rv);
            }
            new["spec"]["replicas"] = json!(replicas);
            Ok(new)
        },
    )?;
    Ok((200, scale_of(&updated), Output::Json))
}

/// Patches a Scale as the real server patches: the patch is applied to the object as it is
/// when it is written, so a concurrent write (a controller updating the status) is no
/// conflict; only a resourceVersion the patch itself sets is a precondition.
pub(super) fn patch_scale(
    state: &State,
    res: &ResourceRoute,
    dry: bool,
    apply: impl FnOnce(&Value) -> ApiResult<Value>,
) -> Answer {
    let updated = state.store.update_with(
        res.rt,
        namespace(res),
        name(res),
        UpdateOpts {
            dry_run: dry,
            scope: UpdateScope::Main,
        },
        |old| {
            let before = scale_of(old);
            let scale = apply(&before)?;
            let replicas = scale_replicas(res, &scale)?;
            let mut new = old.clone();
            let pinned = &scale["metadata"]["resourceVersion"];
            if pinned != &before["metadata"]["resourceVersion"]
                && pinned.as_str().is_some_and(|rv| !rv.is_empty())
            {
                new["metadata"]["resourceVersion"] = pinned.clone();
            }
            new["spec"]["replicas"] = json!(replicas);
            Ok(new)
        },
    )?;
    Ok((200, scale_of(&updated), Output::Json))
}
