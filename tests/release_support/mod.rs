//! Helpers for the release tests (promote, rollback, cleanup): read the sandbox's objects
//! directly from its store, and record the production Service's endpoints while commands run.

#![allow(dead_code)] // the binaries kept apart (tests/*.rs) each use a subset

use std::path::Path;
use std::process::{Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sandbox::Sandbox;
use sandbox::resources::{DEPLOYMENTS, ENDPOINTSLICES, EVENTS, PODS, SERVICES};
use serde_json::Value;

/// A Deployment's `spec.replicas`, `None` when it does not exist.
pub fn replicas(sb: &Sandbox, name: &str) -> Option<i64> {
    sb.store()
        .get(&DEPLOYMENTS, "default", name)
        .map(|d| d["spec"]["replicas"].as_i64().unwrap_or(1))
}

/// A Service as stored, `None` when it does not exist.
pub fn service(sb: &Sandbox, name: &str) -> Option<Value> {
    sb.store()
        .get(&SERVICES, "default", name)
        .map(|s| (*s).clone())
}

/// The colour the production Service selects under `key`.
pub fn selected(sb: &Sandbox, name: &str, key: &str) -> String {
    service(sb, name)
        .and_then(|s| s["spec"]["selector"][key].as_str().map(str::to_string))
        .unwrap_or_default()
}

/// One journal entry of a Service (`bluegreen.dev/` + key).
pub fn journal(sb: &Sandbox, name: &str, key: &str) -> Option<String> {
    service(sb, name).and_then(|s| {
        s["metadata"]["annotations"][format!("bluegreen.dev/{key}")]
            .as_str()
            .map(str::to_string)
    })
}

/// The reasons and messages of the Events recorded on a Service.
pub fn events_on(sb: &Sandbox, name: &str) -> Vec<(String, String)> {
    let (events, _) = sb.store().list(&EVENTS, Some("default"), |e| {
        e["involvedObject"]["kind"] == "Service" && e["involvedObject"]["name"] == name
    });
    events
        .iter()
        .map(|e| {
            (
                e["reason"].as_str().unwrap_or_default().to_string(),
                e["message"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

/// Waits until `check` holds, or fails after `limit`.
#[track_caller]
pub fn eventually(limit: Duration, what: &str, check: impl Fn() -> bool) {
    let started = Instant::now();
    while !check() {
        if started.elapsed() > limit {
            panic!("not reached within {limit:?}: {what}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Starts `promote blueservice --yes --scale-down-delay 60s`, waits until the journal says its
/// cleanup is pending, then interrupts it with Ctrl-C (SIGINT) and returns what it printed.
pub fn promote_interrupted_during_cleanup(sb: &Sandbox) -> Output {
    promote_interrupted_when(sb.kubeconfig_path(), || {
        journal(sb, "blueservice", "step").as_deref() == Some("cleanup")
            && events_on(sb, "blueservice")
                .iter()
                .any(|(reason, _)| reason == "Promoted")
    })
}

/// Starts `promote blueservice --yes --scale-down-delay 60s` against `kubeconfig`, waits until
/// `cleanup_pending` (the journal's `step: cleanup` and the Promoted Event, recorded just before
/// the grace period starts), then interrupts it with Ctrl-C (SIGINT) and returns what it
/// printed.
pub fn promote_interrupted_when(kubeconfig: &Path, cleanup_pending: impl Fn() -> bool) -> Output {
    let home = tempfile::tempdir().expect("a temporary HOME");
    let child = crate::common::command(home.path())
        .args([
            "promote",
            "blueservice",
            "--yes",
            "--scale-down-delay",
            "60s",
        ])
        .arg("--kubeconfig")
        .arg(kubeconfig)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promote starts");
    eventually(
        Duration::from_secs(60),
        "the cleanup is pending",
        cleanup_pending,
    );
    let signal = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(signal.success());
    child.wait_with_output().expect("promote ends")
}

/// Pods of a colour that are Ready and not terminating.
pub fn serving_pods(sb: &Sandbox, app: &str) -> usize {
    let (pods, _) = sb.store().list(&PODS, Some("default"), |p| {
        p["metadata"]["labels"]["app"] == app
            && p["metadata"]["deletionTimestamp"].is_null()
            && pod_ready(p)
    });
    pods.len()
}

fn pod_ready(pod: &Value) -> bool {
    pod["status"]["conditions"].as_array().is_some_and(|cs| {
        cs.iter()
            .any(|c| c["type"] == "Ready" && c["status"] == "True")
    })
}

/// One observed state of the production Service's EndpointSlices.
#[derive(Debug, Clone)]
pub struct EndpointState {
    /// Ready addresses.
    pub ready: usize,
    /// Ready addresses whose pod was, at that moment, not Ready or terminating.
    pub unready_pods: Vec<String>,
}

/// Records every state of `service`'s EndpointSlices, in store order, with the pod states seen
/// up to that moment.
pub struct EndpointRecorder {
    states: Arc<Mutex<Vec<EndpointState>>>,
}

impl EndpointRecorder {
    /// Starts recording; the thread ends when the sandbox stops.
    pub fn start(sb: &Sandbox, service: &'static str) -> EndpointRecorder {
        let mut rx = sb.store().subscribe();
        let states = Arc::new(Mutex::new(Vec::new()));
        let out = states.clone();
        // Pod readiness as the store reported it, by pod name.
        let mut pods: std::collections::HashMap<String, bool> = sb
            .store()
            .list(&PODS, Some("default"), |_| true)
            .0
            .iter()
            .map(|p| {
                (
                    p["metadata"]["name"]
                        .as_str()
                        .unwrap_or_default()
                        .to_string(),
                    pod_ready(p) && p["metadata"]["deletionTimestamp"].is_null(),
                )
            })
            .collect();
        let mut slices: std::collections::BTreeMap<String, Value> = sb
            .store()
            .list(&ENDPOINTSLICES, Some("default"), |s| {
                s["metadata"]["labels"]["kubernetes.io/service-name"] == service
            })
            .0
            .iter()
            .map(|s| {
                (
                    s["metadata"]["name"]
                        .as_str()
                        .unwrap_or_default()
                        .to_string(),
                    (**s).clone(),
                )
            })
            .collect();
        std::thread::spawn(move || {
            loop {
                let event = match rx.blocking_recv() {
                    Ok(e) => e,
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
                    Err(_) => return,
                };
                let object = &*event.object;
                let name = object["metadata"]["name"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string();
                let deleted = event.kind.as_str() == "DELETED";
                if event.resource.plural == "pods" {
                    let ready = !deleted
                        && pod_ready(object)
                        && object["metadata"]["deletionTimestamp"].is_null();
                    pods.insert(name, ready);
                    continue;
                }
                if event.resource.plural != "endpointslices"
                    || object["metadata"]["labels"]["kubernetes.io/service-name"] != service
                {
                    continue;
                }
                if deleted {
                    slices.remove(&name);
                } else {
                    slices.insert(name, object.clone());
                }
                let mut state = EndpointState {
                    ready: 0,
                    unready_pods: Vec::new(),
                };
                for slice in slices.values() {
                    for endpoint in slice["endpoints"].as_array().into_iter().flatten() {
                        if endpoint["conditions"]["ready"] == false {
                            continue;
                        }
                        state.ready += 1;
                        let pod = endpoint["targetRef"]["name"].as_str().unwrap_or_default();
                        if !pods.get(pod).copied().unwrap_or(false) {
                            state.unready_pods.push(pod.to_string());
                        }
                    }
                }
                if let Ok(mut s) = out.lock() {
                    s.push(state);
                }
            }
        });
        EndpointRecorder { states }
    }

    /// The states recorded so far.
    pub fn states(&self) -> Vec<EndpointState> {
        self.states.lock().map(|s| s.clone()).unwrap_or_default()
    }
}
