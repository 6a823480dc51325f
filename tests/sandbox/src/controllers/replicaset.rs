//! The ReplicaSet controller: keeps `spec.replicas` pods of the template, adopting matching
//! orphans and releasing pods that no longer match, and reports their readiness in
//! `.status`.

use std::cmp::Ordering;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Map, Value, json};
use tokio::time::Instant;

use super::meta::{self, Key};
use super::{Ctx, events};
use crate::resources::{PODS, REPLICASETS};
use crate::selector::LabelSelector;
use crate::store::{DeleteOpts, UpdateScope};

/// Pods created or deleted per sync at most; the rest follow on the next sync (the real
/// controller's burst is 500).
const BURST: usize = 500;

pub(crate) fn reconcile(ctx: &Ctx, key: &Key) {
    if ctx.held(&key.0) {
        return;
    }
    let Some(rs) = ctx.cache.get(&REPLICASETS, key) else {
        return;
    };
    let rs_uid = meta::uid(&rs).to_string();
    let Some(selector) = LabelSelector::from_object(&rs["spec"]["selector"]) else {
        return;
    };
    if selector.is_empty() {
        return;
    }
    if !meta::deleting(&rs) {
        claim_pods(ctx, &rs, &selector);
    }
    let pods = ctx.cache.controlled(&PODS, &rs_uid);
    let mut active: Vec<Arc<Value>> = pods.into_iter().filter(|p| meta::pod_active(p)).collect();
    let desired = meta::replicas(&rs) as usize;
    let mut requeue = false;

    // A ReplicaSet being deleted only waits for the garbage collector.
    if !meta::deleting(&rs) {
        if active.len() < desired {
            let n = (desired - active.len()).min(BURST);
            requeue |= desired - active.len() > n;
            for _ in 0..n {
                match create_pod(ctx, &rs) {
                    Ok(p) => active.push(p),
                    Err(_) => {
                        requeue = true;
                        break;
                    }
                }
            }
        } else if active.len() > desired {
            let n = (active.len() - desired).min(BURST);
            requeue |= active.len() - desired > n;
            active.sort_by(|a, b| deletion_order(ctx, a, b));
            let doomed: Vec<Arc<Value>> = active.drain(..n).collect();
            for p in doomed {
                let opts = DeleteOpts {
                    uid: Some(meta::uid(&p).to_string()),
                    ..DeleteOpts::default()
                };
                if ctx.delete(&PODS, &meta::key(&p), &opts).is_ok() {
                    events::normal(
                        ctx,
                        &rs,
                        "replicaset-controller",
                        "SuccessfulDelete",
                        format!("Deleted pod: {}", meta::name(&p)),
                    );
                }
            }
        }
    }

    // Status, from the pods as they are now.
    let min_ready = Duration::from_secs(rs["spec"]["minReadySeconds"].as_u64().unwrap_or(0));
    let min_ready_wall = ctx.clock.scaled(min_ready);
    let template_labels = &rs["spec"]["template"]["metadata"]["labels"];
    let now = Instant::now();
    let (mut ready, mut available, mut fully_labeled) = (0i64, 0i64, 0i64);
    let mut recheck: Option<Duration> = None;
    for p in &active {
        if labels_contain(&p["metadata"]["labels"], template_labels) {
            fully_labeled += 1;
        }
        if meta::pod_ready(p) {
            ready += 1;
            let since = ctx.cache.ready_since(meta::uid(p)).unwrap_or(now);
            let age = now.saturating_duration_since(since);
            if age >= min_ready_wall {
                available += 1;
            } else {
                let left = min_ready_wall - age;
                recheck = Some(recheck.map_or(left, |r| r.min(left)));
            }
        }
    }
    let mut status = Map::new();
    status.insert("replicas".into(), json!(active.len()));
    if fully_labeled > 0 {
        status.insert("fullyLabeledReplicas".into(), json!(fully_labeled));
    }
    if ready > 0 {
        status.insert("readyReplicas".into(), json!(ready));
    }
    if available > 0 {
        status.insert("availableReplicas".into(), json!(available));
    }
    status.insert("observedGeneration".into(), json!(meta::generation(&rs)));
    if let Some(c) = rs["status"].get("conditions") {
        status.insert("conditions".into(), c.clone());
    }
    let status = Value::Object(status);
    if rs["status"] != status {
        let _ = ctx.update(&REPLICASETS, key, UpdateScope::Status, |old| {
            let mut new = old.clone();
            if meta::uid(old) == rs_uid {
                new["status"] = status;
            }
            Ok(new)
        });
    }
    if let Some(d) = recheck {
        ctx.rs_q
            .add_after(key.clone(), d + Duration::from_millis(1));
    }
    if requeue {
        ctx.rs_q.add_after(key.clone(), Duration::from_millis(10));
    }
}

/// Whether every label of `want` is in `have`.
fn labels_contain(have: &Value, want: &Value) -> bool {
    want.as_object()
        .is_none_or(|w| w.iter().all(|(k, v)| have.get(k) == Some(v)))
}

/// Adopts orphan pods matching the selector and releases owned pods that stopped matching,
/// as `ClaimPods` does.
fn claim_pods(ctx: &Ctx, rs: &Value, selector: &LabelSelector) {
    let uid = meta::uid(rs).to_string();
    let ns = meta::namespace(rs);
    for p in ctx.cache.orphans(&PODS, ns) {
        if meta::controller_ref(&p).is_some()
            || meta::deleting(&p)
            || !selector.matches(&p["metadata"]["labels"])
        {
            continue;
        }
        let r = meta::controller_owner_ref(rs, "apps/v1", "ReplicaSet");
        let _ = ctx.update(&PODS, &meta::key(&p), UpdateScope::Main, |old| {
            let mut new = old.clone();
            if meta::controller_ref(old).is_none() {
                match new["metadata"]["ownerReferences"].as_array_mut() {
                    Some(a) => a.push(r),
                    None => new["metadata"]["ownerReferences"] = json!([r]),
                }
            }
            Ok(new)
        });
    }
    for p in ctx.cache.controlled(&PODS, &uid) {
        if selector.matches(&p["metadata"]["labels"]) || meta::deleting(&p) {
            continue;
        }
        let _ = ctx.update(&PODS, &meta::key(&p), UpdateScope::Main, |old| {
            let mut new = old.clone();
            if let Some(a) = new["metadata"]["ownerReferences"].as_array_mut() {
                a.retain(|r| r["uid"].as_str() != Some(uid.as_str()));
            }
            Ok(new)
        });
    }
}

fn create_pod(ctx: &Ctx, rs: &Value) -> crate::error::ApiResult<Arc<Value>> {
    let pod = pod_for(rs);
    let created = ctx.create(&PODS, meta::namespace(rs), pod)?;
    events::normal(
        ctx,
        rs,
        "replicaset-controller",
        "SuccessfulCreate",
        format!("Created pod: {}", meta::name(&created)),
    );
    Ok(created)
}

/// A new pod of a ReplicaSet: its template, owner reference, generated name, Pending.
pub(crate) fn pod_for(rs: &Value) -> Value {
    let template = &rs["spec"]["template"];
    let mut spec = template["spec"].clone();
    default_pod_spec(&mut spec);
    let mut metadata = json!({
        "generateName": format!("{}-", meta::name(rs)),
        "namespace": meta::namespace(rs),
        "ownerReferences": [meta::controller_owner_ref(rs, "apps/v1", "ReplicaSet")],
    });
    for field in ["labels", "annotations"] {
        if let Some(v) = template["metadata"].get(field).filter(|v| v.is_object()) {
            metadata[field] = v.clone();
        }
    }
    json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": metadata,
        "spec": spec,
        "status": {"phase": "Pending", "qosClass": qos_class(template)},
    })
}

/// The defaults the API server gives a pod spec, so created pods look like a cluster's.
fn default_pod_spec(spec: &mut Value) {
    if !spec.is_object() {
        *spec = json!({});
    }
    let defaults = [
        ("restartPolicy", json!("Always")),
        ("terminationGracePeriodSeconds", json!(30)),
        ("dnsPolicy", json!("ClusterFirst")),
        ("securityContext", json!({})),
        ("schedulerName", json!("default-scheduler")),
        ("serviceAccountName", json!("default")),
        ("serviceAccount", json!("default")),
        ("enableServiceLinks", json!(true)),
        ("preemptionPolicy", json!("PreemptLowerPriority")),
        ("priority", json!(0)),
    ];
    for (k, v) in defaults {
        if spec.get(k).is_none_or(Value::is_null) {
            spec[k] = v;
        }
    }
    if let Some(cs) = spec["containers"].as_array_mut() {
        for c in cs {
            if !c.is_object() {
                continue;
            }
            let image = c["image"].as_str().unwrap_or("").to_string();
            let last = image.rsplit('/').next().unwrap_or("");
            let latest = !last.contains(':') || last.ends_with(":latest");
            let pull = if latest && !last.contains('@') {
                "Always"
            } else {
                "IfNotPresent"
            };
            for (k, v) in [
                ("terminationMessagePath", json!("/dev/termination-log")),
                ("terminationMessagePolicy", json!("File")),
                ("imagePullPolicy", json!(pull)),
                ("resources", json!({})),
            ] {
                if c.get(k).is_none_or(Value::is_null) {
                    c[k] = v;
                }
            }
            if let Some(ports) = c["ports"].as_array_mut() {
                for p in ports {
                    if p.is_object() && p.get("protocol").is_none_or(Value::is_null) {
                        p["protocol"] = json!("TCP");
                    }
                }
            }
        }
    }
}

fn qos_class(template: &Value) -> &'static str {
    let empty = Vec::new();
    let cs = template["spec"]["containers"].as_array().unwrap_or(&empty);
    let has = |c: &Value, k: &str| c["resources"][k].as_object().is_some_and(|m| !m.is_empty());
    if cs.iter().all(|c| !has(c, "requests") && !has(c, "limits")) {
        "BestEffort"
    } else if cs.iter().all(|c| {
        has(c, "limits")
            && ["cpu", "memory"]
                .iter()
                .all(|r| !c["resources"]["limits"][r].is_null())
            && (c["resources"]["requests"].is_null()
                || c["resources"]["requests"] == c["resources"]["limits"])
    }) {
        "Guaranteed"
    } else {
        "Burstable"
    }
}

/// The order in which pods are deleted on scale-down (`ActivePods` ranking): unscheduled
/// before scheduled, Pending before Running, not Ready before Ready, Ready for less time
/// before longer, more restarts before fewer, newer before older.
fn deletion_order(ctx: &Ctx, a: &Arc<Value>, b: &Arc<Value>) -> Ordering {
    let scheduled = |p: &Value| !p["spec"]["nodeName"].as_str().unwrap_or("").is_empty();
    let phase_rank = |p: &Value| match meta::phase(p) {
        "Pending" => 0,
        "Unknown" => 1,
        "Running" => 2,
        _ => 3,
    };
    let restarts = |p: &Value| -> i64 {
        p["status"]["containerStatuses"]
            .as_array()
            .map(|cs| {
                cs.iter()
                    .filter_map(|c| c["restartCount"].as_i64())
                    .max()
                    .unwrap_or(0)
            })
            .unwrap_or(0)
    };
    scheduled(a)
        .cmp(&scheduled(b))
        .then(phase_rank(a).cmp(&phase_rank(b)))
        .then(meta::pod_ready(a).cmp(&meta::pod_ready(b)))
        .then_with(|| {
            if meta::pod_ready(a) && meta::pod_ready(b) {
                // Later "ready since" = ready for less time = deleted first.
                let ra = ctx.cache.ready_since(meta::uid(a));
                let rb = ctx.cache.ready_since(meta::uid(b));
                rb.cmp(&ra)
            } else {
                Ordering::Equal
            }
        })
        .then(restarts(b).cmp(&restarts(a)))
        .then(meta::creation(b).cmp(meta::creation(a)))
}
