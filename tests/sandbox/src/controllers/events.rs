//! core/v1 Events, as the real controllers record them (`kubectl describe` shows them).

use serde_json::{Value, json};

use super::Ctx;
use super::meta;
use crate::resources;
use crate::store;

/// Records a Normal event about `involved` (best effort: a failure is not the caller's).
pub(crate) fn normal(ctx: &Ctx, involved: &Value, component: &str, reason: &str, message: String) {
    let now = store::now_rfc3339();
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let ns = meta::namespace(involved);
    let ev = json!({
        "metadata": {
            "name": format!("{}.{:x}", meta::name(involved), nanos),
            "namespace": ns,
        },
        "involvedObject": {
            "apiVersion": involved["apiVersion"],
            "kind": involved["kind"],
            "namespace": ns,
            "name": meta::name(involved),
            "uid": meta::uid(involved),
            "resourceVersion": involved["metadata"]["resourceVersion"],
        },
        "reason": reason,
        "message": message,
        "source": {"component": component},
        "firstTimestamp": now,
        "lastTimestamp": now,
        "count": 1,
        "type": "Normal",
        "eventTime": null,
        "reportingComponent": component,
        "reportingInstance": "",
    });
    let _ = ctx
        .store
        .create(&resources::EVENTS, ns, ev, store::CreateOpts::default());
}
