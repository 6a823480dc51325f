//! Built-in scenarios: ready-made sets of objects for tests and demos. Objects go in through
//! the store as an API client's would; the controllers bring up ReplicaSets, pods and
//! endpoints (wait for [`crate::controllers::settled`]).
//!
//! | name              | namespace | contents                                                          |
//! |-------------------|-----------|-------------------------------------------------------------------|
//! | `classic`         | default   | `bluedeploy` (app=blue, nginx:blue, 3) behind `blueservice`; `greendeploy` (app=green, nginx:green, 3) behind the test Service `greenservice` |
//! | `green-not-ready` | default   | classic, green pods never Ready                                   |
//! | `green-crashloop` | default   | classic, green containers crash-loop                              |
//! | `green-slow`      | default   | classic, green pods Ready only 5 s (cluster time) after start     |
//! | `promoted`        | default   | classic, `blueservice` already selects app=green                  |
//! | `multi-key`       | default   | `shop-blue`/`shop-green` (app=shop, color=blue/green); Services `shop` (color=blue) and `shop-green` |
//! | `staging`         | staging   | classic                                                           |
//! | `large`           | large     | 200 Deployments `app-000`…`app-199` × 100 pods, a Service each, plus the classic pair |
//! | `large-pairs`     | pairs     | 200 blue/green pairs `shop-000`…`shop-199`: Deployments `shop-NNN-blue`/`-green` (app=shop-NNN, color=blue/green) × 50 pods, production Service `shop-NNN` (color=blue), test Service `shop-NNN-green` |
//!
//! Containers are named `web` and listen on 8080; Services map port 80 to it.
//!
//! `large` and `large-pairs` (20,000 pods each) are loaded in their settled state directly (Deployments, ReplicaSets and 20,000
//! Running, Ready pods with their status, written as the controllers would have written
//! them) while the namespace carries the [`HOLD`] annotation; the controllers then find
//! nothing to change but the Endpoints and EndpointSlices, which they create. No
//! `SuccessfulCreate`/`ScalingReplicaSet` Events are recorded for those objects. The classic
//! pair in it is brought up by the controllers as usual.

use serde_json::{Value, json};

use crate::controllers::{self, CRASH_LOOP, HOLD, NEVER_READY, READY_AFTER_MS};
use crate::error::ApiError;
use crate::resources::{self, ResourceType};
use crate::store::{CreateOpts, Store};

/// Names of the built-in scenarios.
pub const NAMES: &[&str] = &[
    "classic",
    "green-not-ready",
    "green-crashloop",
    "green-slow",
    "promoted",
    "multi-key",
    "staging",
    "large",
    "large-pairs",
];

/// Deployments and pods per Deployment of the `large` scenario.
pub const LARGE_DEPLOYMENTS: usize = 200;
pub const LARGE_REPLICAS: usize = 100;
/// Pairs and pods per colour of the `large-pairs` scenario.
pub const PAIRS: usize = 200;
pub const PAIR_REPLICAS: usize = 50;

/// Loads a built-in scenario into the store.
pub fn load(store: &Store, name: &str) -> Result<(), String> {
    let ns = "default";
    let objects = match name {
        "classic" => classic(ns, None),
        "green-not-ready" => classic(ns, Some((NEVER_READY, "true"))),
        "green-crashloop" => classic(ns, Some((CRASH_LOOP, "true"))),
        "green-slow" => classic(ns, Some((READY_AFTER_MS, "5000"))),
        "promoted" => {
            let mut objs = classic(ns, None);
            for o in &mut objs {
                if o["metadata"]["name"] == "blueservice" {
                    o["spec"]["selector"] = json!({"app": "green"});
                }
            }
            objs
        }
        "multi-key" => vec![
            deployment(
                ns,
                "shop-blue",
                &[("app", "shop"), ("color", "blue")],
                "shop:blue",
                3,
                None,
            ),
            service(ns, "shop", &[("app", "shop"), ("color", "blue")]),
            deployment(
                ns,
                "shop-green",
                &[("app", "shop"), ("color", "green")],
                "shop:green",
                3,
                None,
            ),
            service(ns, "shop-green", &[("app", "shop"), ("color", "green")]),
        ],
        "staging" => {
            ensure_namespace(store, "staging")?;
            classic("staging", None)
        }
        "large" => return load_large(store),
        "large-pairs" => return load_pairs(store),
        _ => {
            return Err(format!(
                "unknown scenario {name:?} (known: {})",
                NAMES.join(", ")
            ));
        }
    };
    for o in objects {
        let rt = kind_of(&o);
        let ns = o["metadata"]["namespace"]
            .as_str()
            .unwrap_or("default")
            .to_string();
        store
            .create(rt, &ns, o, CreateOpts::default())
            .map_err(|e| format!("scenario {name}: {e}"))?;
    }
    Ok(())
}

/// First pod address number of the `large` pods (10.244.100.1): far from the kubelet's own
/// allocations, which start at 10.244.0.1.
const LARGE_IP_BASE: u32 = 100 * 254;

fn load_large(store: &Store) -> Result<(), String> {
    let ns = "large";
    let err = |e: ApiError| format!("scenario large: {e}");
    ensure_namespace(store, ns)?;
    set_hold(store, ns, true)?;
    let now = crate::store::now_rfc3339();
    let mut ip = LARGE_IP_BASE;
    for i in 0..LARGE_DEPLOYMENTS {
        let app = format!("app-{i:03}");
        let image = format!("registry.example/{app}:v1");
        let d = deployment(
            ns,
            &app,
            &[("app", &app)],
            &image,
            LARGE_REPLICAS as i64,
            None,
        );
        load_settled(store, ns, d, LARGE_REPLICAS, &mut ip, &now)
            .map_err(|e| format!("scenario large: {e}"))?;
        store
            .create(
                &resources::SERVICES,
                ns,
                service(ns, &app, &[("app", &app)]),
                CreateOpts::default(),
            )
            .map_err(err)?;
    }
    for o in classic(ns, None) {
        store
            .create(kind_of(&o), ns, o, CreateOpts::default())
            .map_err(err)?;
    }
    set_hold(store, ns, false)
}

/// `large-pairs`: many blue/green pairs side by side, as `list` meets them.
fn load_pairs(store: &Store) -> Result<(), String> {
    let ns = "pairs";
    let err = |e: ApiError| format!("scenario large-pairs: {e}");
    ensure_namespace(store, ns)?;
    set_hold(store, ns, true)?;
    let now = crate::store::now_rfc3339();
    let mut ip = LARGE_IP_BASE;
    for i in 0..PAIRS {
        let app = format!("shop-{i:03}");
        for (colour, version) in [("blue", "v1"), ("green", "v2")] {
            let d = deployment(
                ns,
                &format!("{app}-{colour}"),
                &[("app", &app), ("color", colour)],
                &format!("registry.example/{app}:{version}"),
                PAIR_REPLICAS as i64,
                None,
            );
            load_settled(store, ns, d, PAIR_REPLICAS, &mut ip, &now)
                .map_err(|e| format!("scenario large-pairs: {e}"))?;
        }
        for (name, colour) in [(app.clone(), "blue"), (format!("{app}-green"), "green")] {
            store
                .create(
                    &resources::SERVICES,
                    ns,
                    service(ns, &name, &[("app", &app), ("color", colour)]),
                    CreateOpts::default(),
                )
                .map_err(err)?;
        }
    }
    set_hold(store, ns, false)
}

/// Stores Deployment `d` fully rolled out: its ReplicaSet and `replicas` Running, Ready pods
/// (addresses from `ip` on), with the status the controllers would have written.
fn load_settled(
    store: &Store,
    ns: &str,
    mut d: Value,
    replicas: usize,
    ip: &mut u32,
    now: &str,
) -> Result<(), ApiError> {
    let keep = CreateOpts {
        dry_run: false,
        keep_status: true,
    };
    let name = d["metadata"]["name"].as_str().unwrap_or("").to_string();
    d["metadata"]["annotations"] = json!({"deployment.kubernetes.io/revision": "1"});
    // Stored (and defaulted) first: the template hash is taken of what the server keeps.
    let d = store.create(&resources::DEPLOYMENTS, ns, d, CreateOpts::default())?;
    let mut rs = controllers::replicaset_for(&d, None, 1, replicas as i64);
    rs["status"] = json!({
        "replicas": replicas,
        "fullyLabeledReplicas": replicas,
        "readyReplicas": replicas,
        "availableReplicas": replicas,
        "observedGeneration": 1,
    });
    let rs = store.create_shared(&resources::REPLICASETS, ns, rs, keep)?;
    let rs_name = rs["metadata"]["name"].as_str().unwrap_or("").to_string();
    let template = controllers::pod_for(&rs);
    for j in 0..replicas {
        loop {
            let mut pod = template.clone();
            pod["metadata"]["name"] =
                json!(format!("{rs_name}-{}", crate::store::random_suffix(5)));
            let (node, status) = controllers::running_status(&pod, j, *ip, now);
            pod["spec"]["nodeName"] = json!(node);
            pod["status"] = status;
            match store.create_shared(&resources::PODS, ns, pod, keep) {
                Ok(_) => break,
                Err(e) if e.code == 409 => continue,
                Err(e) => return Err(e),
            }
        }
        *ip += 1;
    }
    let status = controllers::complete_status(&d, &rs_name, replicas as i64, now);
    store.update_with(
        &resources::DEPLOYMENTS,
        ns,
        &name,
        crate::store::UpdateOpts {
            dry_run: false,
            scope: crate::store::UpdateScope::Status,
        },
        |old| {
            let mut new = old.clone();
            new["status"] = status;
            Ok(new)
        },
    )?;
    Ok(())
}

/// Sets or removes the controllers' [`HOLD`] on a namespace.
fn set_hold(store: &Store, ns: &str, hold: bool) -> Result<(), String> {
    store
        .update_with(
            &resources::NAMESPACES,
            "",
            ns,
            crate::store::UpdateOpts::default(),
            |old| {
                let mut new = old.clone();
                if hold {
                    new["metadata"]["annotations"][HOLD] = json!("true");
                } else if let Some(a) = new["metadata"]["annotations"].as_object_mut() {
                    a.remove(HOLD);
                }
                Ok(new)
            },
        )
        .map(|_| ())
        .map_err(|e| e.to_string())
}

fn kind_of(o: &Value) -> &'static ResourceType {
    if o["kind"] == "Deployment" {
        &resources::DEPLOYMENTS
    } else {
        &resources::SERVICES
    }
}

fn ensure_namespace(store: &Store, ns: &str) -> Result<(), String> {
    if store.get(&resources::NAMESPACES, "", ns).is_some() {
        return Ok(());
    }
    store
        .create(
            &resources::NAMESPACES,
            "",
            json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}, "status": {"phase": "Active"}}),
            CreateOpts {
                dry_run: false,
                keep_status: true,
            },
        )
        .map(|_| ())
        .map_err(|e| e.to_string())
}

/// The manual blue/green pair; `green` annotations give the green pods a behaviour.
fn classic(ns: &str, green: Option<(&str, &str)>) -> Vec<Value> {
    vec![
        deployment(ns, "bluedeploy", &[("app", "blue")], "nginx:blue", 3, None),
        service(ns, "blueservice", &[("app", "blue")]),
        deployment(
            ns,
            "greendeploy",
            &[("app", "green")],
            "nginx:green",
            3,
            green,
        ),
        service(ns, "greenservice", &[("app", "green")]),
    ]
}

fn labels(pairs: &[(&str, &str)]) -> Value {
    Value::Object(
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), json!(v)))
            .collect(),
    )
}

/// A Deployment as `kubectl create deployment` + the API server's defaults would leave it.
fn deployment(
    ns: &str,
    name: &str,
    pod_labels: &[(&str, &str)],
    image: &str,
    replicas: i64,
    annotation: Option<(&str, &str)>,
) -> Value {
    let mut template_meta = json!({"labels": labels(pod_labels)});
    if let Some((k, v)) = annotation {
        template_meta["annotations"] = json!({k: v});
    }
    json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": ns, "labels": labels(pod_labels)},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": labels(pod_labels)},
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}},
            "revisionHistoryLimit": 10,
            "progressDeadlineSeconds": 600,
            "template": {
                "metadata": template_meta,
                "spec": {
                    "containers": [{
                        "name": "web",
                        "image": image,
                        "ports": [{"containerPort": 8080, "protocol": "TCP"}],
                    }],
                },
            },
        },
    })
}

fn service(ns: &str, name: &str, selector: &[(&str, &str)]) -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "namespace": ns},
        "spec": {
            "type": "ClusterIP",
            "selector": labels(selector),
            "ports": [{"port": 80, "targetPort": 8080, "protocol": "TCP"}],
        },
    })
}
