//! The Endpoints and EndpointSlice controllers: for every Service with a selector, the
//! addresses of the pods it selects, a propagation delay after each change (the
//! `ControllerConfig::endpoint_delay`), and nothing at all while `endpoints_paused`.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Map, Value, json};

use super::Ctx;
use super::meta::{self, Key};
use crate::resources::{ENDPOINTS, ENDPOINTSLICES, SERVICES};
use crate::selector::LabelSelector;
use crate::store::{self, DeleteOpts, UpdateScope};

pub const SERVICE_NAME_LABEL: &str = "kubernetes.io/service-name";
pub const MANAGED_BY_LABEL: &str = "endpointslice.kubernetes.io/managed-by";
pub const SLICE_CONTROLLER: &str = "endpointslice-controller.k8s.io";
const ENDPOINTS_MANAGED_BY: &str = "endpoints.kubernetes.io/managed-by";
const TRIGGER_TIME: &str = "endpoints.kubernetes.io/last-change-trigger-time";
const HEADLESS_LABEL: &str = "service.kubernetes.io/headless";
/// `--max-endpoints-per-slice` default.
const MAX_PER_SLICE: usize = 100;
/// How often a paused controller looks again.
const PAUSED_POLL: Duration = Duration::from_millis(20);

/// The Service's selector, if the controllers manage its endpoints.
pub(crate) fn service_selector(svc: &Value) -> Option<LabelSelector> {
    if svc["spec"]["type"] == "ExternalName" {
        return None;
    }
    let sel = &svc["spec"]["selector"];
    if sel.as_object().is_none_or(|m| m.is_empty()) {
        return None;
    }
    Some(LabelSelector::from_map(sel))
}

fn queue(ctx: &Ctx, key: Key) {
    let (delay, _) = ctx.endpoint_settings();
    ctx.ep_q.add_after(key, delay);
}

/// A pod changed: the Services that select it now or selected it before.
pub(crate) fn on_pod(ctx: &Ctx, pod: &Value, prev: Option<&Value>) {
    let ns = meta::namespace(pod);
    let labels: Vec<&Value> = std::iter::once(&pod["metadata"]["labels"])
        .chain(prev.map(|p| &p["metadata"]["labels"]))
        .collect();
    for svc in ctx.cache.services_selecting(ns, &labels) {
        let Some(sel) = service_selector(&svc) else {
            continue;
        };
        let hit = sel.matches(&pod["metadata"]["labels"])
            || prev.is_some_and(|p| sel.matches(&p["metadata"]["labels"]));
        if hit {
            queue(ctx, meta::key(&svc));
        }
    }
}

pub(crate) fn on_service(ctx: &Ctx, svc: &Value, deleted: bool) {
    let key = meta::key(svc);
    if deleted {
        // Endpoints go with their Service (the slices through their owner reference).
        ctx.ep_q.add(key);
    } else {
        queue(ctx, key);
    }
}

/// Someone changed our Endpoints or slices: put them back (only for Services we manage).
pub(crate) fn on_endpoints(ctx: &Ctx, svc_key: &Key) {
    if ctx.cache.get(&SERVICES, svc_key).is_some() {
        queue(ctx, svc_key.clone());
    }
}

pub(crate) fn reconcile(ctx: &Ctx, key: &Key) {
    if ctx.held(&key.0) {
        return;
    }
    let (_, paused) = ctx.endpoint_settings();
    if paused {
        ctx.ep_q.add_after(key.clone(), PAUSED_POLL);
        return;
    }
    let svc = ctx.cache.get(&SERVICES, key);
    let Some(svc) = svc else {
        if let Some(ep) = ctx.cache.get(&ENDPOINTS, key)
            && ep["metadata"]["labels"][ENDPOINTS_MANAGED_BY] == "endpoint-controller"
        {
            let _ = ctx.delete(&ENDPOINTS, key, &DeleteOpts::default());
        }
        delete_slices(ctx, key, &[]);
        return;
    };
    let Some(sel) = service_selector(&svc) else {
        // Endpoints of a Service without selector belong to whoever wrote them; the slices
        // this controller made for the old selector go.
        delete_slices(ctx, key, &[]);
        return;
    };
    let pods = ctx.cache.pods_matching(&key.0, &sel);
    sync_endpoints(ctx, &svc, &pods);
    sync_slices(ctx, &svc, &pods);
}

/// One Service port resolved against a pod: (name, port, protocol, appProtocol).
type Port = (String, i64, String, Option<String>);
/// An Endpoints address by (IP, pod UID).
type AddrKey = (String, String);

/// The Service's ports as served by `pod`. A port whose named `targetPort` no container of the
/// pod declares is left out (not the pod): the real controllers log it and go on with the
/// other ports, so such a pod lands in an EndpointSlice whose port list lacks that port.
fn resolve_ports(svc: &Value, pod: &Value) -> Vec<Port> {
    let empty = Vec::new();
    let ports = svc["spec"]["ports"].as_array().unwrap_or(&empty);
    let mut out = Vec::new();
    for p in ports {
        let protocol = p["protocol"].as_str().unwrap_or("TCP").to_string();
        let target = &p["targetPort"];
        let port = if let Some(n) = target.as_i64() {
            n
        } else if let Some(s) = target.as_str().filter(|s| !s.is_empty()) {
            match s.parse::<i64>() {
                Ok(n) => n,
                Err(_) => match find_named_port(pod, s, &protocol) {
                    Some(n) => n,
                    None => continue,
                },
            }
        } else {
            p["port"].as_i64().unwrap_or(0)
        };
        out.push((
            p["name"].as_str().unwrap_or("").to_string(),
            port,
            protocol,
            p["appProtocol"].as_str().map(str::to_string),
        ));
    }
    out
}

/// `FindPort`: the first container port of that name and protocol, in the containers and then
/// in the sidecars (init containers with `restartPolicy: Always`).
fn find_named_port(pod: &Value, name: &str, protocol: &str) -> Option<i64> {
    let empty = Vec::new();
    let containers = pod["spec"]["containers"].as_array().unwrap_or(&empty);
    let sidecars = pod["spec"]["initContainers"]
        .as_array()
        .unwrap_or(&empty)
        .iter()
        .filter(|c| c["restartPolicy"] == "Always");
    containers.iter().chain(sidecars).find_map(|c| {
        c["ports"].as_array()?.iter().find_map(|p| {
            (p["name"].as_str() == Some(name)
                && p["protocol"].as_str().unwrap_or("TCP") == protocol)
                .then(|| p["containerPort"].as_i64())
                .flatten()
        })
    })
}

fn port_json(ports: &[Port], slice: bool) -> Value {
    Value::Array(
        ports
            .iter()
            .map(|(name, port, protocol, app)| {
                let mut p = Map::new();
                if slice || !name.is_empty() {
                    p.insert("name".into(), json!(name));
                }
                p.insert("port".into(), json!(port));
                p.insert("protocol".into(), json!(protocol));
                if let Some(a) = app {
                    p.insert("appProtocol".into(), json!(a));
                }
                Value::Object(p)
            })
            .collect(),
    )
}

fn target_ref(pod: &Value) -> Value {
    json!({
        "kind": "Pod",
        "namespace": meta::namespace(pod),
        "name": meta::name(pod),
        "uid": meta::uid(pod),
    })
}

/// Pods that may appear at all: an IP, and not finished for good.
fn has_address(pod: &Value) -> bool {
    if meta::pod_ip(pod).is_empty() {
        return false;
    }
    let restart = pod["spec"]["restartPolicy"].as_str().unwrap_or("Always");
    match meta::phase(pod) {
        "Failed" | "Succeeded" if restart == "Never" => false,
        "Succeeded" if restart == "OnFailure" => false,
        _ => true,
    }
}

fn is_headless(svc: &Value) -> bool {
    svc["spec"]["clusterIP"] == "None"
}

fn copied_labels(svc: &Value) -> Map<String, Value> {
    let mut labels = svc["metadata"]["labels"]
        .as_object()
        .cloned()
        .unwrap_or_default();
    if is_headless(svc) {
        labels.insert(HEADLESS_LABEL.into(), json!(""));
    }
    labels
}

fn sync_endpoints(ctx: &Ctx, svc: &Value, pods: &[Arc<Value>]) {
    let publish_not_ready = svc["spec"]["publishNotReadyAddresses"].as_bool() == Some(true);
    let portless = svc["spec"]["ports"].as_array().is_none_or(|p| p.is_empty());
    // As `RepackSubsets` leaves them: each port maps to the addresses serving it (with their
    // readiness), and ports served by the same addresses share a subset. An address serving
    // none of the ports is left out, except from a headless Service without ports.
    let mut addrs: BTreeMap<AddrKey, (Value, bool)> = BTreeMap::new();
    let mut by_port: Vec<(Option<Port>, Vec<AddrKey>)> = Vec::new();
    for pod in pods {
        if !has_address(pod) || (meta::deleting(pod) && !publish_not_ready) {
            continue;
        }
        let ports: Vec<Option<Port>> = if portless {
            if !is_headless(svc) {
                continue;
            }
            vec![None]
        } else {
            resolve_ports(svc, pod).into_iter().map(Some).collect()
        };
        if ports.is_empty() {
            continue;
        }
        let mut addr = json!({"ip": meta::pod_ip(pod), "targetRef": target_ref(pod)});
        if let Some(n) = pod["spec"]["nodeName"].as_str() {
            addr["nodeName"] = json!(n);
        }
        let key = (meta::pod_ip(pod).to_string(), meta::uid(pod).to_string());
        addrs.insert(
            key.clone(),
            (addr, meta::pod_ready(pod) || publish_not_ready),
        );
        for port in ports {
            match by_port.iter_mut().find(|(p, _)| *p == port) {
                Some((_, keys)) => keys.push(key.clone()),
                None => by_port.push((port, vec![key.clone()])),
            }
        }
    }
    let mut groups: BTreeMap<Vec<AddrKey>, Vec<Port>> = BTreeMap::new();
    for (port, mut keys) in by_port {
        keys.sort();
        keys.dedup();
        let ports = groups.entry(keys).or_default();
        ports.extend(port);
    }
    let subsets: Vec<Value> = groups
        .into_iter()
        .map(|(keys, ports)| {
            let (mut ready, mut not_ready) = (Vec::new(), Vec::new());
            for k in &keys {
                let (addr, is_ready) = &addrs[k];
                if *is_ready {
                    ready.push(addr.clone());
                } else {
                    not_ready.push(addr.clone());
                }
            }
            let mut s = Map::new();
            if !ready.is_empty() {
                s.insert("addresses".into(), json!(ready));
            }
            if !not_ready.is_empty() {
                s.insert("notReadyAddresses".into(), json!(not_ready));
            }
            if !ports.is_empty() {
                s.insert("ports".into(), port_json(&ports, false));
            }
            Value::Object(s)
        })
        .collect();
    let mut labels = copied_labels(svc);
    labels.insert(ENDPOINTS_MANAGED_BY.into(), json!("endpoint-controller"));
    let key = meta::key(svc);
    let now = store::now_rfc3339();
    match ctx.cache.get(&ENDPOINTS, &key) {
        None => {
            let mut ep = json!({
                "apiVersion": "v1",
                "kind": "Endpoints",
                "metadata": {
                    "name": key.1,
                    "namespace": key.0,
                    "labels": labels,
                    "annotations": {TRIGGER_TIME: now},
                },
            });
            if !subsets.is_empty() {
                ep["subsets"] = json!(subsets);
            }
            let _ = ctx.create(&ENDPOINTS, &key.0, ep);
        }
        Some(cur) => {
            let cur_subsets = cur.get("subsets").cloned().unwrap_or(json!([]));
            if cur_subsets == json!(subsets) && cur["metadata"]["labels"] == json!(labels) {
                return;
            }
            let _ = ctx.update(&ENDPOINTS, &key, UpdateScope::All, |old| {
                let mut new = old.clone();
                new["metadata"]["labels"] = json!(labels);
                if !new["metadata"]["annotations"].is_object() {
                    new["metadata"]["annotations"] = json!({});
                }
                new["metadata"]["annotations"][TRIGGER_TIME] = json!(now);
                match new.as_object_mut() {
                    Some(o) if subsets.is_empty() => {
                        o.remove("subsets");
                    }
                    _ => new["subsets"] = json!(subsets),
                }
                Ok(new)
            });
        }
    }
}

/// The slices this controller manages for a Service, by name.
fn managed_slices(ctx: &Ctx, key: &Key) -> Vec<Arc<Value>> {
    let mut v: Vec<Arc<Value>> = ctx
        .cache
        .list(&ENDPOINTSLICES, Some(&key.0))
        .into_iter()
        .filter(|s| {
            let l = &s["metadata"]["labels"];
            l[SERVICE_NAME_LABEL] == key.1.as_str() && l[MANAGED_BY_LABEL] == SLICE_CONTROLLER
        })
        .collect();
    v.sort_by(|a, b| {
        meta::creation(a)
            .cmp(meta::creation(b))
            .then(meta::name(a).cmp(meta::name(b)))
    });
    v
}

fn delete_slices(ctx: &Ctx, key: &Key, keep: &[String]) {
    for s in managed_slices(ctx, key) {
        if !keep.iter().any(|k| k == meta::name(&s)) {
            let _ = ctx.delete(&ENDPOINTSLICES, &meta::key(&s), &DeleteOpts::default());
        }
    }
}

fn sync_slices(ctx: &Ctx, svc: &Value, pods: &[Arc<Value>]) {
    let key = meta::key(svc);
    let publish_not_ready = svc["spec"]["publishNotReadyAddresses"].as_bool() == Some(true);
    let mut groups: BTreeMap<String, (Vec<Port>, Vec<Value>)> = BTreeMap::new();
    for pod in pods {
        if !has_address(pod) {
            continue;
        }
        // Grouped by the ports the pod serves, which may be none of the Service's.
        let ports = resolve_ports(svc, pod);
        let terminating = meta::deleting(pod);
        let serving = meta::pod_ready(pod);
        let mut ep = json!({
            "addresses": [meta::pod_ip(pod)],
            "conditions": {
                // With `publishNotReadyAddresses` every endpoint is published as ready;
                // `serving` still tells the pod's readiness.
                "ready": publish_not_ready || (serving && !terminating),
                "serving": serving,
                "terminating": terminating,
            },
            "targetRef": target_ref(pod),
        });
        if let Some(n) = pod["spec"]["nodeName"].as_str() {
            ep["nodeName"] = json!(n);
        }
        groups
            .entry(format!("{ports:?}"))
            .or_insert_with(|| (ports.clone(), Vec::new()))
            .1
            .push(ep);
    }
    // (ports, endpoints) of each wanted slice; a Service with no endpoints keeps one empty
    // placeholder slice, as the real controller does.
    let mut wanted: Vec<(Value, Vec<Value>)> = Vec::new();
    for (_, (ports, mut eps)) in groups {
        eps.sort_by(|a, b| a["addresses"][0].as_str().cmp(&b["addresses"][0].as_str()));
        for chunk in eps.chunks(MAX_PER_SLICE) {
            // An empty port list is stored as `null`, as the placeholder's.
            let ports = if ports.is_empty() {
                Value::Null
            } else {
                port_json(&ports, true)
            };
            wanted.push((ports, chunk.to_vec()));
        }
    }
    if wanted.is_empty() {
        wanted.push((Value::Null, Vec::new()));
    }
    let mut labels = copied_labels(svc);
    labels.insert(SERVICE_NAME_LABEL.into(), json!(key.1));
    labels.insert(MANAGED_BY_LABEL.into(), json!(SLICE_CONTROLLER));
    let existing = managed_slices(ctx, &key);
    // Each wanted slice updates an existing one with the same ports if there is one; the
    // others take over slices that would go (the real `finalize` turns such create/delete
    // pairs into updates), and only then are slices created.
    let mut slot: Vec<Option<usize>> = vec![None; wanted.len()];
    let mut used = vec![false; existing.len()];
    for (w, (ports, _)) in wanted.iter().enumerate() {
        if let Some(e) = (0..existing.len()).find(|&e| !used[e] && existing[e]["ports"] == *ports) {
            used[e] = true;
            slot[w] = Some(e);
        }
    }
    for s in slot.iter_mut().filter(|s| s.is_none()) {
        if let Some(e) = (0..existing.len()).find(|&e| !used[e]) {
            used[e] = true;
            *s = Some(e);
        }
    }
    let mut keep = Vec::new();
    let now = store::now_rfc3339();
    for ((ports, eps), slot) in wanted.into_iter().zip(slot) {
        let body = |mut s: Value| {
            s["metadata"]["labels"] = json!(labels);
            s["addressType"] = json!("IPv4");
            s["endpoints"] = json!(eps);
            s["ports"] = ports.clone();
            s
        };
        match slot.map(|e| &existing[e]) {
            Some(cur) => {
                keep.push(meta::name(cur).to_string());
                let want = body((**cur).clone());
                if want == **cur {
                    continue;
                }
                let _ = ctx.update(&ENDPOINTSLICES, &meta::key(cur), UpdateScope::All, |old| {
                    let mut n = body(old.clone());
                    if !n["metadata"]["annotations"].is_object() {
                        n["metadata"]["annotations"] = json!({});
                    }
                    n["metadata"]["annotations"][TRIGGER_TIME] = json!(now);
                    Ok(n)
                });
            }
            None => {
                let s = body(json!({
                    "apiVersion": "discovery.k8s.io/v1",
                    "kind": "EndpointSlice",
                    "metadata": {
                        "generateName": format!("{}-", key.1),
                        "namespace": key.0,
                        "annotations": {TRIGGER_TIME: now},
                        "ownerReferences": [meta::controller_owner_ref(svc, "v1", "Service")],
                    },
                }));
                if let Ok(created) = ctx.create(&ENDPOINTSLICES, &key.0, s) {
                    keep.push(meta::name(&created).to_string());
                }
            }
        }
    }
    delete_slices(ctx, &key, &keep);
}
