//! The kubelet stand-in (with the scheduler's one job): binds each new pod to a node, gives
//! it an IP, starts its containers and reports readiness, restarts and termination in the
//! pod's status, as a kubelet on a real node would.
//!
//! Behaviour is chosen per pod by annotations (copied from the pod template):
//!
//! | annotation                                  | effect                                              |
//! |---------------------------------------------|-----------------------------------------------------|
//! | `sandbox.bluegreen.dev/ready-after-ms: "N"` | Ready N ms after the pod is bound (default 1000)    |
//! | `sandbox.bluegreen.dev/never-ready: "true"` | Running, never Ready                                |
//! | `sandbox.bluegreen.dev/crash-loop: "true"`  | exits after 1 s, restarts with back-off; never Ready |
//! | `sandbox.bluegreen.dev/unready-after-ms: "N"` | turns unready N ms after becoming Ready           |
//! | `sandbox.bluegreen.dev/terminate-after-ms: "N"` | once deleted, stays Terminating N ms (default 0) |
//!
//! Every delay is cluster time, divided by the clock's speed.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use serde_json::{Value, json};
use tokio::time::Instant;

use super::Ctx;
use super::meta::{self, Key};
use crate::error::ApiError;
use crate::resources::PODS;
use crate::store::{self, DeleteOpts, UpdateScope};

/// Prefix of the behaviour annotations.
pub const ANNOTATION_PREFIX: &str = "sandbox.bluegreen.dev/";
/// `"N"`: the pod turns Ready N ms (cluster time) after it is bound to a node.
pub const READY_AFTER_MS: &str = "sandbox.bluegreen.dev/ready-after-ms";
/// `"true"`: the pod runs but never turns Ready.
pub const NEVER_READY: &str = "sandbox.bluegreen.dev/never-ready";
/// `"true"`: the container keeps exiting; restartCount grows, reason `CrashLoopBackOff`.
pub const CRASH_LOOP: &str = "sandbox.bluegreen.dev/crash-loop";
/// `"N"`: the pod turns unready N ms after it became Ready, and stays so.
pub const UNREADY_AFTER_MS: &str = "sandbox.bluegreen.dev/unready-after-ms";
/// `"N"`: once deleted, the pod stays Terminating for N ms before it goes.
pub const TERMINATE_AFTER_MS: &str = "sandbox.bluegreen.dev/terminate-after-ms";
/// Readiness delay of a pod without `ready-after-ms`.
pub const DEFAULT_READY_AFTER: Duration = Duration::from_millis(1000);

/// Pending (ContainerCreating) before the containers start.
const START_AFTER: Duration = Duration::from_millis(100);
/// How long a crash-looping container runs before it exits again.
const CRASH_RUN: Duration = Duration::from_secs(1);
const NODES: usize = 3;
/// 10.244.0.1 … 10.244.255.254
const IP_POOL: u32 = 254 * 256;

pub(crate) fn node_name(i: usize) -> String {
    format!("sandbox-node-{}", i + 1)
}

fn host_ip(node: usize) -> String {
    format!("172.18.0.{}", node + 2)
}

fn pod_ip(idx: u32) -> String {
    format!("10.244.{}.{}", idx / 254, idx % 254 + 1)
}

fn ip_index(ip: &str) -> Option<u32> {
    let rest = ip.strip_prefix("10.244.")?;
    let (a, b) = rest.split_once('.')?;
    let (a, b): (u32, u32) = (a.parse().ok()?, b.parse().ok()?);
    (a < 256 && (1..=254).contains(&b)).then(|| a * 254 + b - 1)
}

struct Behaviour {
    ready_after: Duration,
    never_ready: bool,
    crash_loop: bool,
    unready_after: Option<Duration>,
    terminate_after: Duration,
}

impl Behaviour {
    fn of(pod: &Value) -> Behaviour {
        let ms = |k: &str| {
            meta::annotation(pod, k)
                .and_then(|s| s.trim().parse::<u64>().ok())
                .map(Duration::from_millis)
        };
        let flag = |k: &str| meta::annotation(pod, k).is_some_and(|s| s.trim() == "true");
        Behaviour {
            ready_after: ms(READY_AFTER_MS).unwrap_or(DEFAULT_READY_AFTER),
            never_ready: flag(NEVER_READY),
            crash_loop: flag(CRASH_LOOP),
            unready_after: ms(UNREADY_AFTER_MS),
            terminate_after: ms(TERMINATE_AFTER_MS).unwrap_or(Duration::ZERO),
        }
    }
}

#[derive(Clone, Copy, Debug)]
enum Action {
    Start,
    Ready,
    Unready,
    Crash,
    Restart,
}

/// What the kubelet knows about one pod it runs.
struct Run {
    uid: String,
    node: usize,
    ip: u32,
    bound: Instant,
    t_bound: String,
    started: bool,
    t_started: String,
    running: bool,
    t_running: String,
    ready: bool,
    t_ready: String,
    restarts: u32,
    /// (startedAt, finishedAt) of the last exited container.
    last_exit: Option<(String, String)>,
    next: Option<(Instant, Action)>,
    terminate_at: Option<Instant>,
}

#[derive(Default)]
pub(crate) struct State {
    pods: HashMap<Key, Run>,
    used_ips: HashSet<u32>,
    next_ip: u32,
    load: [usize; NODES],
}

impl State {
    fn forget(&mut self, key: &Key) {
        if let Some(run) = self.pods.remove(key) {
            self.used_ips.remove(&run.ip);
            self.load[run.node] = self.load[run.node].saturating_sub(1);
        }
    }

    fn alloc_ip(&mut self) -> u32 {
        for _ in 0..IP_POOL {
            let idx = self.next_ip;
            self.next_ip = (self.next_ip + 1) % IP_POOL;
            if self.used_ips.insert(idx) {
                return idx;
            }
        }
        // More than 65,024 pods at once: share addresses rather than fail.
        self.next_ip
    }

    fn least_loaded(&self) -> usize {
        (0..NODES).min_by_key(|i| self.load[*i]).unwrap_or(0)
    }

    /// A new pod: the scheduler's choice of node, an address, Pending.
    fn bind(&mut self, pod: &Value, b: &Behaviour, clock: &crate::Clock) -> Run {
        let now = Instant::now();
        let node = pod["spec"]["nodeName"]
            .as_str()
            .and_then(node_index)
            .unwrap_or_else(|| self.least_loaded());
        self.load[node] += 1;
        let t = store::now_rfc3339();
        Run {
            uid: meta::uid(pod).to_string(),
            node,
            ip: self.alloc_ip(),
            bound: now,
            t_bound: t.clone(),
            started: false,
            t_started: t.clone(),
            running: false,
            t_running: t.clone(),
            ready: false,
            t_ready: t,
            restarts: 0,
            last_exit: None,
            next: Some((
                now + clock.scaled(START_AFTER.min(b.ready_after)),
                Action::Start,
            )),
            terminate_at: None,
        }
    }

    /// A pod that already runs (loaded in its final state, or after a resync).
    fn adopt(&mut self, pod: &Value, b: &Behaviour, clock: &crate::Clock) -> Run {
        let now = Instant::now();
        let node = pod["spec"]["nodeName"]
            .as_str()
            .and_then(node_index)
            .unwrap_or(0);
        self.load[node] += 1;
        let ip = match ip_index(meta::pod_ip(pod)) {
            Some(i) => {
                self.used_ips.insert(i);
                i
            }
            None => self.alloc_ip(),
        };
        let s = &pod["status"];
        let c = &s["containerStatuses"][0];
        let ts = |v: &Value| {
            v.as_str()
                .map(str::to_string)
                .unwrap_or_else(store::now_rfc3339)
        };
        let started = meta::phase(pod) == "Running";
        let running = !c["state"]["running"].is_null();
        let ready = meta::pod_ready(pod);
        let next = if !started {
            Some((now, Action::Start))
        } else if b.crash_loop {
            Some((
                now + clock.scaled(CRASH_RUN),
                if running {
                    Action::Crash
                } else {
                    Action::Restart
                },
            ))
        } else if ready {
            b.unready_after
                .map(|u| (now + clock.scaled(u), Action::Unready))
        } else if !b.never_ready && b.unready_after.is_none() {
            Some((now, Action::Ready))
        } else {
            None
        };
        Run {
            uid: meta::uid(pod).to_string(),
            node,
            ip,
            bound: now,
            t_bound: ts(&s["startTime"]),
            started,
            t_started: ts(&s["startTime"]),
            running,
            t_running: ts(&c["state"]["running"]["startedAt"]),
            ready,
            t_ready: ts(&meta::condition(pod, "Ready")
                .map(|c| c["lastTransitionTime"].clone())
                .unwrap_or(Value::Null)),
            restarts: c["restartCount"].as_u64().unwrap_or(0) as u32,
            last_exit: None,
            next,
            terminate_at: None,
        }
    }
}

/// The spec.nodeName and status of a pod Running and Ready since `t` on node `node` with
/// address number `ip`, exactly as the kubelet reports it (for loading a settled state).
pub(crate) fn running_status(pod: &Value, node: usize, ip: u32, t: &str) -> (String, Value) {
    let node = node % NODES;
    let run = Run {
        uid: meta::uid(pod).to_string(),
        node,
        ip: ip % IP_POOL,
        bound: Instant::now(),
        t_bound: t.to_string(),
        started: true,
        t_started: t.to_string(),
        running: true,
        t_running: t.to_string(),
        ready: true,
        t_ready: t.to_string(),
        restarts: 0,
        last_exit: None,
        next: None,
        terminate_at: None,
    };
    (node_name(node), status(pod, &run))
}

fn node_index(name: &str) -> Option<usize> {
    let i: usize = name.strip_prefix("sandbox-node-")?.parse().ok()?;
    (1..=NODES).contains(&i).then(|| i - 1)
}

pub(crate) fn reconcile(ctx: &Ctx, key: &Key) {
    let pod = ctx.cache.get(&PODS, key);
    let mut st = ctx.kubelet.lock().unwrap_or_else(|e| e.into_inner());
    let Some(pod) = pod else {
        st.forget(key);
        return;
    };
    let uid = meta::uid(&pod).to_string();
    if st.pods.get(key).is_some_and(|r| r.uid != uid) {
        st.forget(key);
    }
    if matches!(meta::phase(&pod), "Succeeded" | "Failed") && !meta::deleting(&pod) {
        return;
    }
    let b = Behaviour::of(&pod);
    let now = Instant::now();

    if meta::deleting(&pod) {
        if !st.pods.contains_key(key) {
            let run = st.adopt(&pod, &b, &ctx.clock);
            st.pods.insert(key.clone(), run);
        }
        let Some(run) = st.pods.get_mut(key) else {
            return;
        };
        let at = *run
            .terminate_at
            .get_or_insert(now + ctx.clock.scaled(b.terminate_after));
        if at <= now {
            st.forget(key);
            drop(st);
            // The containers have stopped: the kubelet's final delete, with no grace left.
            let opts = DeleteOpts {
                uid: Some(uid),
                grace_period_seconds: Some(0),
                ..DeleteOpts::default()
            };
            let _ = ctx.delete(&PODS, key, &opts);
        } else {
            ctx.kubelet_q.add_after(key.clone(), at - now);
        }
        return;
    }

    if !st.pods.contains_key(key) {
        let bound = !pod["spec"]["nodeName"].as_str().unwrap_or("").is_empty()
            && !meta::pod_ip(&pod).is_empty();
        let run = if bound {
            st.adopt(&pod, &b, &ctx.clock)
        } else {
            st.bind(&pod, &b, &ctx.clock)
        };
        st.pods.insert(key.clone(), run);
    }
    let Some(run) = st.pods.get_mut(key) else {
        return;
    };
    while let Some((at, action)) = run.next {
        if at > now {
            break;
        }
        run.next = None;
        step(run, action, &b, now, &ctx.clock);
    }
    let node = node_name(run.node);
    let status = status(&pod, run);
    let next = run.next;
    drop(st);

    if pod["spec"]["nodeName"].as_str() != Some(node.as_str()) || pod["status"] != status {
        let res = ctx.update(&PODS, key, UpdateScope::All, |old| {
            if meta::uid(old) != uid {
                return Err(ApiError::conflict(
                    "",
                    "pods",
                    &key.1,
                    "the pod was replaced",
                ));
            }
            let mut new = old.clone();
            if !meta::deleting(old) {
                new["spec"]["nodeName"] = json!(node);
                new["status"] = status;
            }
            Ok(new)
        });
        if res.is_err() {
            return;
        }
    }
    if let Some((at, _)) = next {
        ctx.kubelet_q
            .add_after(key.clone(), at.saturating_duration_since(Instant::now()));
    }
}

fn step(run: &mut Run, action: Action, b: &Behaviour, now: Instant, clock: &crate::Clock) {
    let t = store::now_rfc3339();
    match action {
        Action::Start => {
            run.started = true;
            run.running = true;
            run.t_started = t.clone();
            run.t_running = t;
            run.next = if b.crash_loop {
                Some((now + clock.scaled(CRASH_RUN), Action::Crash))
            } else if b.never_ready {
                None
            } else {
                let at = run.bound + clock.scaled(b.ready_after);
                Some((at.max(now), Action::Ready))
            };
        }
        Action::Ready => {
            run.ready = true;
            run.t_ready = t;
            run.next = b
                .unready_after
                .map(|u| (now + clock.scaled(u), Action::Unready));
        }
        Action::Unready => {
            run.ready = false;
            run.t_ready = t;
        }
        Action::Crash => {
            run.running = false;
            run.restarts += 1;
            run.last_exit = Some((run.t_running.clone(), t));
            run.next = Some((now + clock.scaled(backoff(run.restarts)), Action::Restart));
        }
        Action::Restart => {
            run.running = true;
            run.t_running = t;
            run.next = Some((now + clock.scaled(CRASH_RUN), Action::Crash));
        }
    }
}

/// The kubelet's restart back-off: 10 s, doubling, at most 5 minutes.
fn backoff(restarts: u32) -> Duration {
    let secs = 10u64.saturating_mul(1u64 << restarts.saturating_sub(1).min(5));
    Duration::from_secs(secs.min(300))
}

/// A fixed fake digest per input, so the same image always has the same imageID.
fn digest(s: &str) -> String {
    let mut out = String::with_capacity(64);
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for i in 0..4u8 {
        for b in s.bytes().chain([i]) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
        out.push_str(&format!("{h:016x}"));
    }
    out
}

/// `nginx:blue` as containerd reports it: `docker.io/library/nginx:blue`.
fn full_image(image: &str) -> String {
    let first = image.split('/').next().unwrap_or("");
    let has_registry =
        image.contains('/') && (first.contains('.') || first.contains(':') || first == "localhost");
    let mut full = if has_registry {
        image.to_string()
    } else if image.contains('/') {
        format!("docker.io/{image}")
    } else {
        format!("docker.io/library/{image}")
    };
    let last = full.rsplit('/').next().unwrap_or("");
    if !last.contains(':') && !last.contains('@') {
        full.push_str(":latest");
    }
    full
}

fn status(pod: &Value, run: &Run) -> Value {
    let empty = Vec::new();
    let containers = pod["spec"]["containers"].as_array().unwrap_or(&empty);
    let ready = run.started && run.running && run.ready;
    let unready_names: Vec<&str> = if ready {
        Vec::new()
    } else {
        containers
            .iter()
            .filter_map(|c| c["name"].as_str())
            .collect()
    };
    let statuses: Vec<Value> = containers
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let name = c["name"].as_str().unwrap_or("");
            let image = full_image(c["image"].as_str().unwrap_or(""));
            if !run.started {
                return json!({
                    "name": name,
                    "state": {"waiting": {"reason": "ContainerCreating"}},
                    "lastState": {},
                    "ready": false,
                    "restartCount": 0,
                    "image": image,
                    "imageID": "",
                    "started": false,
                });
            }
            let image_id = format!(
                "{}@sha256:{}",
                image.rsplit_once(':').map(|(r, _)| r).unwrap_or(&image),
                digest(&image)
            );
            let id = |restarts: u32| {
                format!(
                    "containerd://{}",
                    digest(&format!(
                        "{}/{}/{i}/{restarts}",
                        meta::namespace(pod),
                        meta::name(pod)
                    ))
                )
            };
            let container_id = id(run.restarts);
            let last_state = match &run.last_exit {
                Some((started, finished)) => json!({"terminated": {
                    "exitCode": 1,
                    "reason": "Error",
                    "startedAt": started,
                    "finishedAt": finished,
                    "containerID": id(run.restarts.saturating_sub(1)),
                }}),
                None => json!({}),
            };
            let state = if run.running {
                json!({"running": {"startedAt": run.t_running}})
            } else {
                json!({"waiting": {
                    "reason": "CrashLoopBackOff",
                    "message": format!(
                        "back-off {}s restarting failed container={name} pod={}_{}({})",
                        backoff(run.restarts).as_secs(),
                        meta::name(pod),
                        meta::namespace(pod),
                        run.uid
                    ),
                }})
            };
            json!({
                "name": name,
                "state": state,
                "lastState": last_state,
                "ready": ready,
                "restartCount": run.restarts,
                "image": image,
                "imageID": image_id,
                "containerID": container_id,
                "started": run.running,
            })
        })
        .collect();
    let cond = |kind: &str, ok: bool, t: &str| {
        let mut c = json!({"type": kind, "status": if ok { "True" } else { "False" }, "lastProbeTime": null, "lastTransitionTime": t});
        if !ok && (kind == "Ready" || kind == "ContainersReady") {
            c["reason"] = json!("ContainersNotReady");
            c["message"] = json!(format!(
                "containers with unready status: [{}]",
                unready_names.join(" ")
            ));
        }
        c
    };
    let ready_t = if run.started {
        &run.t_ready
    } else {
        &run.t_bound
    };
    let mut s = json!({
        "phase": if run.started { "Running" } else { "Pending" },
        "conditions": [
            cond("PodReadyToStartContainers", run.started, if run.started { &run.t_started } else { &run.t_bound }),
            cond("Initialized", true, &run.t_bound),
            cond("Ready", ready, ready_t),
            cond("ContainersReady", ready, ready_t),
            cond("PodScheduled", true, &run.t_bound),
        ],
        "hostIP": host_ip(run.node),
        "hostIPs": [{"ip": host_ip(run.node)}],
        "startTime": run.t_bound,
        "containerStatuses": statuses,
        "qosClass": pod["status"]["qosClass"].as_str().unwrap_or("BestEffort"),
    });
    if run.started {
        s["podIP"] = json!(pod_ip(run.ip));
        s["podIPs"] = json!([{"ip": pod_ip(run.ip)}]);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_round_trip() {
        for idx in [0, 1, 253, 254, 20_000, IP_POOL - 1] {
            assert_eq!(ip_index(&pod_ip(idx)), Some(idx));
        }
        assert_eq!(ip_index("10.0.0.1"), None);
    }

    #[test]
    fn images_are_normalised() {
        assert_eq!(full_image("nginx:blue"), "docker.io/library/nginx:blue");
        assert_eq!(full_image("nginx"), "docker.io/library/nginx:latest");
        assert_eq!(full_image("ghcr.io/a/b:1"), "ghcr.io/a/b:1");
        assert_eq!(full_image("a/b"), "docker.io/a/b:latest");
    }

    #[test]
    fn backoff_doubles_to_five_minutes() {
        assert_eq!(backoff(1), Duration::from_secs(10));
        assert_eq!(backoff(2), Duration::from_secs(20));
        assert_eq!(backoff(10), Duration::from_secs(300));
    }
}
