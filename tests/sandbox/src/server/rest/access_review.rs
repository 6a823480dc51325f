//! SelfSubjectAccessReviews, answered from the authorization policy.

use serde_json::{Value, json};

use super::*;

pub(super) fn access_review(state: &State, body: Value) -> Value {
    let spec = body["spec"].clone();
    let ra = &spec["resourceAttributes"];
    let allowed = if ra.is_object() {
        let s = |k: &str| ra[k].as_str().unwrap_or("").to_string();
        let (verb, resource, sub, ns) =
            (s("verb"), s("resource"), s("subresource"), s("namespace"));
        let policy = crate::server::policy(state);
        policy.allows(&Attributes {
            verb: &verb,
            resource: &resource,
            subresource: (!sub.is_empty()).then_some(sub.as_str()),
            namespace: (!ns.is_empty()).then_some(ns.as_str()),
        })
    } else {
        // Non-resource URLs (discovery, /version, /healthz) are open to every user.
        true
    };
    let mut status = json!({"allowed": allowed});
    if allowed {
        status["reason"] = json!("RBAC: allowed by the sandbox policy");
    }
    json!({
        "kind": "SelfSubjectAccessReview",
        "apiVersion": "authorization.k8s.io/v1",
        "metadata": {"creationTimestamp": null},
        "spec": spec,
        "status": status,
    })
}
