//! A store with the controllers running on their own runtime, and waiting helpers.
#![allow(dead_code)]
// `ApiError` mirrors a whole `Status` object, as in the library.
#![allow(clippy::result_large_err)]

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sandbox::controllers::{self, ControllerConfig};
use sandbox::resources::{self, ResourceType};
use sandbox::store::{CreateOpts, Event, Store, UpdateOpts, UpdateScope};
use sandbox::{ApiError, Clock};
use serde_json::{Value, json};
use tokio::sync::broadcast;

pub struct Cluster {
    pub store: Arc<Store>,
    pub clock: Clock,
    pub config: Arc<Mutex<ControllerConfig>>,
    runtime: Option<tokio::runtime::Runtime>,
}

impl Drop for Cluster {
    fn drop(&mut self) {
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_background();
        }
    }
}

pub const TIMEOUT: Duration = Duration::from_secs(20);

/// A cluster whose clock runs `speed` times faster than real time, with a propagation delay
/// of 200 ms cluster time.
pub fn start(speed: f64) -> Cluster {
    start_with(speed, ControllerConfig::default())
}

pub fn start_with(speed: f64, config: ControllerConfig) -> Cluster {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let store = Store::new(100_000);
    for ns in ["default", "staging", "kube-system"] {
        store
            .create(
                &resources::NAMESPACES,
                "",
                json!({"metadata": {"name": ns}, "status": {"phase": "Active"}}),
                CreateOpts {
                    dry_run: false,
                    keep_status: true,
                },
            )
            .expect("namespace");
    }
    let clock = Clock::new(speed);
    let config = Arc::new(Mutex::new(config));
    {
        let _g = runtime.enter();
        controllers::spawn(store.clone(), clock.clone(), config.clone());
    }
    Cluster {
        store,
        clock,
        config,
        runtime: Some(runtime),
    }
}

impl Cluster {
    /// Polls `f` until it returns `Some`, failing the test after `TIMEOUT`.
    pub fn wait<T>(&self, what: &str, mut f: impl FnMut(&Store) -> Option<T>) -> T {
        let start = Instant::now();
        loop {
            if let Some(v) = f(&self.store) {
                return v;
            }
            if start.elapsed() > TIMEOUT {
                panic!("timed out waiting for {what}; pods: {:#?}", self.summary());
            }
            std::thread::sleep(Duration::from_millis(2));
        }
    }

    pub fn wait_until(&self, what: &str, mut f: impl FnMut(&Store) -> bool) {
        self.wait(what, |s| f(s).then_some(()));
    }

    pub fn wait_settled(&self) {
        self.wait_until("the cluster to settle", controllers::settled);
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Event>> {
        self.store.subscribe()
    }

    pub fn create(&self, obj: Value) -> Value {
        let rt = kind(&obj);
        let ns = obj["metadata"]["namespace"]
            .as_str()
            .unwrap_or("default")
            .to_string();
        self.store
            .create(rt, &ns, obj, CreateOpts::default())
            .expect("create")
    }

    pub fn get(&self, rt: &ResourceType, ns: &str, name: &str) -> Option<Value> {
        self.store.get(rt, ns, name).map(|v| (*v).clone())
    }

    /// Changes the main resource of an object (as a PATCH would).
    pub fn modify(
        &self,
        rt: &'static ResourceType,
        ns: &str,
        name: &str,
        f: impl FnOnce(&mut Value),
    ) -> Value {
        self.store
            .update_with(rt, ns, name, UpdateOpts::default(), |old| {
                let mut new = old.clone();
                f(&mut new);
                Ok::<_, ApiError>(new)
            })
            .expect("update")
    }

    pub fn set_scope(
        &self,
        rt: &'static ResourceType,
        ns: &str,
        name: &str,
        scope: UpdateScope,
        f: impl FnOnce(&mut Value),
    ) -> Value {
        self.store
            .update_with(
                rt,
                ns,
                name,
                UpdateOpts {
                    dry_run: false,
                    scope,
                },
                |old| {
                    let mut new = old.clone();
                    f(&mut new);
                    Ok::<_, ApiError>(new)
                },
            )
            .expect("update")
    }

    /// Pods of `ns` carrying label `k=v`.
    pub fn pods(&self, ns: &str, k: &str, v: &str) -> Vec<Value> {
        pods_of(&self.store, ns, k, v)
    }

    fn summary(&self) -> Vec<String> {
        let (pods, _) = self.store.list(&resources::PODS, None, |_| true);
        pods.iter()
            .map(|p| {
                format!(
                    "{} phase={} ready={} ip={} deleting={}",
                    p["metadata"]["name"].as_str().unwrap_or(""),
                    p["status"]["phase"],
                    is_ready(p),
                    p["status"]["podIP"],
                    !p["metadata"]["deletionTimestamp"].is_null()
                )
            })
            .collect()
    }
}

pub fn pods_of(store: &Store, ns: &str, k: &str, v: &str) -> Vec<Value> {
    store
        .list(&resources::PODS, Some(ns), |p| {
            p["metadata"]["labels"][k] == v
        })
        .0
        .iter()
        .map(|p| (**p).clone())
        .collect()
}

fn kind(obj: &Value) -> &'static ResourceType {
    resources::by_kind(
        obj["apiVersion"].as_str().unwrap_or(""),
        obj["kind"].as_str().unwrap_or(""),
    )
    .expect("known kind")
}

pub fn is_ready(pod: &Value) -> bool {
    pod["status"]["conditions"].as_array().is_some_and(|cs| {
        cs.iter()
            .any(|c| c["type"] == "Ready" && c["status"] == "True")
    })
}

pub fn deleting(o: &Value) -> bool {
    !o["metadata"]["deletionTimestamp"].is_null()
}

pub fn condition<'a>(o: &'a Value, kind: &str) -> Option<&'a Value> {
    o["status"]["conditions"]
        .as_array()?
        .iter()
        .find(|c| c["type"] == kind)
}

/// A Deployment of `replicas` pods labelled `app: <app>`, container `web` on port 8080.
pub fn deployment(name: &str, app: &str, image: &str, replicas: i64) -> Value {
    json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": app}},
            "template": {
                "metadata": {"labels": {"app": app}},
                "spec": {"containers": [{"name": "web", "image": image, "ports": [{"containerPort": 8080}]}]},
            },
        },
    })
}

pub fn service(name: &str, app: &str) -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {"selector": {"app": app}, "ports": [{"port": 80, "targetPort": 8080}]},
    })
}

/// A bare pod with the given annotations.
pub fn pod(name: &str, app: &str, annotations: Value) -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": "default", "labels": {"app": app}, "annotations": annotations},
        "spec": {"containers": [{"name": "web", "image": "nginx:blue", "ports": [{"containerPort": 8080}]}]},
    })
}

/// Ready pod IPs of a Deployment-like label.
pub fn ready_ips(store: &Store, app: &str) -> Vec<String> {
    let mut v: Vec<String> = pods_of(store, "default", "app", app)
        .iter()
        .filter(|p| is_ready(p) && !deleting(p))
        .filter_map(|p| p["status"]["podIP"].as_str().map(str::to_string))
        .collect();
    v.sort();
    v
}

/// Ready addresses of an Endpoints object.
pub fn endpoint_ips(store: &Store, name: &str, field: &str) -> Vec<String> {
    let Some(ep) = store.get(&resources::ENDPOINTS, "default", name) else {
        return Vec::new();
    };
    let mut v: Vec<String> = ep["subsets"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|s| s[field].as_array().into_iter().flatten())
        .filter_map(|a| a["ip"].as_str().map(str::to_string))
        .collect();
    v.sort();
    v
}

/// (ip, ready, serving, terminating) of every endpoint in the Service's slices.
pub fn slice_endpoints(store: &Store, svc: &str) -> Vec<(String, bool, bool, bool)> {
    let (slices, _) = store.list(&resources::ENDPOINTSLICES, Some("default"), |s| {
        s["metadata"]["labels"]["kubernetes.io/service-name"] == svc
    });
    let mut v: Vec<_> = slices
        .iter()
        .flat_map(|s| s["endpoints"].as_array().cloned().unwrap_or_default())
        .map(|e| {
            (
                e["addresses"][0].as_str().unwrap_or("").to_string(),
                e["conditions"]["ready"] == true,
                e["conditions"]["serving"] == true,
                e["conditions"]["terminating"] == true,
            )
        })
        .collect();
    v.sort();
    v
}
