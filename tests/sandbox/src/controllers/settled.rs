//! Whether the cluster has come to rest: what a test waits for after loading objects.
//! Computed from the store alone (no controller state), so any caller can ask.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use serde_json::Value;

use super::endpoints::{MANAGED_BY_LABEL, SERVICE_NAME_LABEL, SLICE_CONTROLLER, service_selector};
use super::kubelet::{
    CRASH_LOOP, DEFAULT_READY_AFTER, NEVER_READY, READY_AFTER_MS, UNREADY_AFTER_MS,
};
use super::meta;
use crate::resources::{DEPLOYMENTS, ENDPOINTS, ENDPOINTSLICES, PODS, REPLICASETS, SERVICES};
use crate::selector::Requirement;
use crate::store::Store;

/// Every Deployment rolled out or permanently stuck (its not-ready pods never-ready or
/// crash-looping), every ReplicaSet's status true to its pods, no pod pending or
/// terminating, and every Service's Endpoints and EndpointSlices matching its pods.
pub fn settled(store: &Store) -> bool {
    let (pods, _) = store.list(&PODS, None, |_| true);
    let (rses, _) = store.list(&REPLICASETS, None, |_| true);
    let (deploys, _) = store.list(&DEPLOYMENTS, None, |_| true);
    let (svcs, _) = store.list(&SERVICES, None, |_| true);
    // Cheapest checks first: this runs in a polling loop while the cluster is still busy.
    endpoints_exist(store, &svcs)
        && pods_settled(&pods)
        && replicasets_settled(&rses, &pods)
        && deployments_settled(&deploys, &rses, &pods)
        && services_settled(store, &svcs, &pods)
}

/// A not-ready pod that will stay so, or that is slow on purpose (an explicit
/// `ready-after-ms` above the default: `green-slow` loads with green not Ready yet).
fn stuck(pod: &Value) -> bool {
    let flag = |k: &str| meta::annotation(pod, k).is_some_and(|v| v.trim() == "true");
    let slow = meta::annotation(pod, READY_AFTER_MS)
        .and_then(|v| v.trim().parse::<u64>().ok())
        .is_some_and(|ms| ms > DEFAULT_READY_AFTER.as_millis() as u64);
    flag(NEVER_READY)
        || flag(CRASH_LOOP)
        || slow
        || meta::annotation(pod, UNREADY_AFTER_MS).is_some()
}

fn pods_settled(pods: &[Arc<Value>]) -> bool {
    pods.iter().all(|p| {
        if meta::deleting(p) {
            return false;
        }
        if matches!(meta::phase(p), "Succeeded" | "Failed") {
            return true;
        }
        meta::phase(p) == "Running"
            && !meta::pod_ip(p).is_empty()
            && (meta::pod_ready(p) || stuck(p))
    })
}

fn by_controller(objs: &[Arc<Value>]) -> HashMap<&str, Vec<&Value>> {
    let mut m: HashMap<&str, Vec<&Value>> = HashMap::new();
    for o in objs {
        if let Some(u) = meta::controller_ref(o).and_then(|r| r["uid"].as_str()) {
            m.entry(u).or_default().push(o);
        }
    }
    m
}

fn replicasets_settled(rses: &[Arc<Value>], pods: &[Arc<Value>]) -> bool {
    let owned = by_controller(pods);
    rses.iter().all(|rs| {
        if meta::deleting(rs) {
            return false;
        }
        let mine = owned.get(meta::uid(rs)).map(Vec::as_slice).unwrap_or(&[]);
        let active = mine.iter().filter(|p| meta::pod_active(p)).count() as i64;
        let ready = mine
            .iter()
            .filter(|p| meta::pod_active(p) && meta::pod_ready(p))
            .count() as i64;
        meta::status_i64(rs, "observedGeneration") == meta::generation(rs)
            && meta::status_i64(rs, "replicas") == meta::replicas(rs)
            && active == meta::replicas(rs)
            && meta::status_i64(rs, "readyReplicas") == ready
            && meta::status_i64(rs, "availableReplicas") == ready
    })
}

fn deployments_settled(deploys: &[Arc<Value>], rses: &[Arc<Value>], pods: &[Arc<Value>]) -> bool {
    let owned_rs = by_controller(rses);
    let owned_pods = by_controller(pods);
    deploys.iter().all(|d| {
        if meta::deleting(d) {
            return false;
        }
        let mine = owned_rs.get(meta::uid(d)).map(Vec::as_slice).unwrap_or(&[]);
        let strip = |t: &Value| {
            let mut t = t.clone();
            if let Some(l) = t["metadata"]["labels"].as_object_mut() {
                l.remove("pod-template-hash");
            }
            t
        };
        let template = strip(&d["spec"]["template"]);
        let Some(new) = mine
            .iter()
            .find(|rs| strip(&rs["spec"]["template"]) == template)
        else {
            return false;
        };
        let sum = |f: &str| -> i64 { mine.iter().map(|r| meta::status_i64(r, f)).sum() };
        let desired = meta::replicas(d);
        let consistent = meta::status_i64(d, "observedGeneration") >= meta::generation(d)
            && meta::status_i64(d, "replicas") == sum("replicas")
            && meta::status_i64(d, "updatedReplicas") == meta::status_i64(new, "replicas")
            && meta::status_i64(d, "readyReplicas") == sum("readyReplicas")
            && meta::status_i64(d, "availableReplicas") == sum("availableReplicas");
        if !consistent {
            return false;
        }
        let complete = meta::replicas(new) == desired
            && mine
                .iter()
                .filter(|rs| meta::uid(rs) != meta::uid(new))
                .all(|rs| meta::replicas(rs) == 0);
        if complete || d["spec"]["paused"].as_bool() == Some(true) {
            return true;
        }
        // Mid-rollout: settled only if blocked by pods that will never turn ready.
        mine.iter().any(|rs| {
            owned_pods
                .get(meta::uid(rs))
                .is_some_and(|ps| ps.iter().any(|p| !meta::pod_ready(p) && stuck(p)))
        })
    })
}

/// Every Service with a selector has its Endpoints object.
fn endpoints_exist(store: &Store, svcs: &[Arc<Value>]) -> bool {
    svcs.iter().all(|svc| {
        service_selector(svc).is_none()
            || store
                .get(&ENDPOINTS, meta::namespace(svc), meta::name(svc))
                .is_some()
    })
}

fn services_settled(store: &Store, svcs: &[Arc<Value>], pods: &[Arc<Value>]) -> bool {
    // (namespace, key, value) → pods, to find a Service's pods without scanning them all.
    let mut by_label: HashMap<(&str, &str, &str), Vec<&Value>> = HashMap::new();
    for p in pods {
        if let Some(l) = p["metadata"]["labels"].as_object() {
            for (k, v) in l {
                if let Some(v) = v.as_str() {
                    by_label
                        .entry((meta::namespace(p), k, v))
                        .or_default()
                        .push(p);
                }
            }
        }
    }
    // (namespace, Service) → ready and not-ready addresses of its managed slices.
    type Ips = (HashSet<String>, HashSet<String>);
    let (slices, _) = store.list(&ENDPOINTSLICES, None, |s| {
        s["metadata"]["labels"][MANAGED_BY_LABEL] == SLICE_CONTROLLER
    });
    let mut slice_ips: HashMap<(&str, &str), Ips> = HashMap::new();
    for s in &slices {
        let Some(svc) = s["metadata"]["labels"][SERVICE_NAME_LABEL].as_str() else {
            continue;
        };
        let entry = slice_ips.entry((meta::namespace(s), svc)).or_default();
        for e in s["endpoints"].as_array().into_iter().flatten() {
            for a in e["addresses"].as_array().into_iter().flatten() {
                if let Some(ip) = a.as_str() {
                    if e["conditions"]["ready"] == true {
                        entry.0.insert(ip.to_string());
                    } else {
                        entry.1.insert(ip.to_string());
                    }
                }
            }
        }
    }
    svcs.iter().all(|svc| {
        let Some(sel) = service_selector(svc) else {
            return true;
        };
        let ns = meta::namespace(svc);
        let Some(Requirement::Equals(k, v)) = sel.requirements.first() else {
            return true;
        };
        let candidates = by_label
            .get(&(ns, k.as_str(), v.as_str()))
            .map(Vec::as_slice)
            .unwrap_or(&[]);
        let mut ready = HashSet::new();
        let mut not_ready = HashSet::new();
        for p in candidates {
            if !sel.matches(&p["metadata"]["labels"])
                || meta::pod_ip(p).is_empty()
                || meta::deleting(p)
            {
                continue;
            }
            if meta::pod_ready(p) {
                ready.insert(meta::pod_ip(p).to_string());
            } else {
                not_ready.insert(meta::pod_ip(p).to_string());
            }
        }
        let Some(ep) = store.get(&ENDPOINTS, ns, meta::name(svc)) else {
            return false;
        };
        let ips = |field: &str| -> HashSet<String> {
            ep["subsets"]
                .as_array()
                .into_iter()
                .flatten()
                .flat_map(|s| s[field].as_array().into_iter().flatten())
                .filter_map(|a| a["ip"].as_str().map(str::to_string))
                .collect()
        };
        // The Endpoints leave out a pod that serves none of the Service's ports (a named
        // targetPort its containers lack), as the real controller does, so they hold a subset
        // of the pods; the slices below keep every pod (in a slice without that port).
        if !ips("addresses").is_subset(&ready) || !ips("notReadyAddresses").is_subset(&not_ready) {
            return false;
        }
        let Some((slice_ready, slice_not_ready)) = slice_ips.get(&(ns, meta::name(svc))) else {
            return false;
        };
        *slice_ready == ready && *slice_not_ready == not_ready
    })
}
