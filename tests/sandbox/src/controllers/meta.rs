//! Small accessors over JSON objects, so controller code reads like the Go it mirrors and
//! never panics on an odd object.

use serde_json::{Value, json};

/// (namespace, name)
pub(crate) type Key = (String, String);

pub(crate) fn name(v: &Value) -> &str {
    v["metadata"]["name"].as_str().unwrap_or("")
}

pub(crate) fn namespace(v: &Value) -> &str {
    v["metadata"]["namespace"].as_str().unwrap_or("")
}

pub(crate) fn uid(v: &Value) -> &str {
    v["metadata"]["uid"].as_str().unwrap_or("")
}

pub(crate) fn key(v: &Value) -> Key {
    (namespace(v).to_string(), name(v).to_string())
}

pub(crate) fn resource_version(v: &Value) -> u64 {
    v["metadata"]["resourceVersion"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

pub(crate) fn deleting(v: &Value) -> bool {
    v["metadata"]
        .get("deletionTimestamp")
        .is_some_and(|t| !t.is_null())
}

pub(crate) fn annotation<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v["metadata"]["annotations"][key].as_str()
}

pub(crate) fn owner_refs(v: &Value) -> &[Value] {
    v["metadata"]["ownerReferences"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or(&[])
}

/// The owner reference with `controller: true`, if any.
pub(crate) fn controller_ref(v: &Value) -> Option<&Value> {
    owner_refs(v)
        .iter()
        .find(|r| r["controller"].as_bool() == Some(true))
}

/// Whether `v` is controlled by the object with this uid.
pub(crate) fn controlled_by(v: &Value, owner_uid: &str) -> bool {
    controller_ref(v).is_some_and(|r| r["uid"].as_str() == Some(owner_uid))
}

/// A controller owner reference to `owner`, as the built-in controllers write it.
pub(crate) fn controller_owner_ref(owner: &Value, api_version: &str, kind: &str) -> Value {
    json!({
        "apiVersion": api_version,
        "kind": kind,
        "name": name(owner),
        "uid": uid(owner),
        "controller": true,
        "blockOwnerDeletion": true,
    })
}

/// `spec.replicas`, defaulting to 1 as the API does.
pub(crate) fn replicas(v: &Value) -> i64 {
    v["spec"]["replicas"].as_i64().unwrap_or(1).max(0)
}

pub(crate) fn status_i64(v: &Value, field: &str) -> i64 {
    v["status"][field].as_i64().unwrap_or(0)
}

pub(crate) fn generation(v: &Value) -> i64 {
    v["metadata"]["generation"].as_i64().unwrap_or(0)
}

pub(crate) fn creation(v: &Value) -> &str {
    v["metadata"]["creationTimestamp"].as_str().unwrap_or("")
}

/// Whether the pod's `Ready` condition is `True`.
pub(crate) fn pod_ready(pod: &Value) -> bool {
    condition(pod, "Ready").is_some_and(|c| c["status"] == "True")
}

pub(crate) fn condition<'a>(v: &'a Value, kind: &str) -> Option<&'a Value> {
    v["status"]["conditions"]
        .as_array()?
        .iter()
        .find(|c| c["type"] == kind)
}

pub(crate) fn phase(pod: &Value) -> &str {
    pod["status"]["phase"].as_str().unwrap_or("")
}

/// Pods a ReplicaSet counts: not being deleted, not finished (`controller.FilterActivePods`).
pub(crate) fn pod_active(pod: &Value) -> bool {
    !deleting(pod) && !matches!(phase(pod), "Succeeded" | "Failed")
}

pub(crate) fn pod_ip(pod: &Value) -> &str {
    pod["status"]["podIP"].as_str().unwrap_or("")
}

/// The resource type an owner reference names (by apiVersion and kind).
pub(crate) fn owner_type(r: &Value) -> Option<&'static crate::resources::ResourceType> {
    crate::resources::by_kind(
        r["apiVersion"].as_str().unwrap_or(""),
        r["kind"].as_str().unwrap_or(""),
    )
}
