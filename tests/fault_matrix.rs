//! The fault matrix: every request `promote` and `rollback` make, each made to fail in every
//! way an API server or a network can fail it, one cell per (request, fault), each in its own
//! sandbox.
//!
//! The steps are not written by hand: a clean run of each command is recorded first, and every
//! request in its log (each read, the access reviews, the flip and the journal writes, the
//! watches, the scales, the deletes, the re-creations, the Events) becomes a step, told apart
//! from others of the same kind by its occurrence; requests of one kind sent together (the
//! access reviews) are one step. Each step then gets a 500, a 500 on every try from then on
//! (for requests other than watches: what no retry gets past), a 429 with `Retry-After`, a hang
//! longer than `--request-timeout`, a closed connection, for changes a connection closed after
//! the server made the change, and, for watches, the watch dropped
//! while it is open and the watch dropped after its resourceVersion expired (410 Gone).
//!
//! In every cell:
//! - reads, access reviews, watches and 429s are retried and the command succeeds; a dropped
//!   watch resumes from its resourceVersion, an expired one lists again; a read that keeps
//!   failing is tried [`READ_TRIES`] times before the command gives up;
//! - any other failure exits with the documented code (8, or 7 for a concurrent change) and a
//!   message naming the failed request, and running the same command again completes it;
//! - from the first request to the end, an observer of the sandbox's store sees the production
//!   Service select ready pods only, and always some;
//! - the pair ends in the command's end state.
//!
//! The same matrix, a subset of its cells chosen by rule, runs against the real control plane
//! through the fault-injecting proxy (module `real`, ignored unless `--include-ignored`).
//!
//! The totals are printed (`cargo test --test fault_matrix -- --nocapture` shows them).
//! `FAULT_MATRIX_ONLY=text` runs the cells whose name contains it; `FAULT_MATRIX_JOBS=n` sets
//! how many run at once.

mod backends;
mod common;
#[allow(dead_code)] // the pair and its helpers; the matrix uses a few
#[path = "integration/both_backends/pair.rs"]
mod pair;
mod release_support;

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::*;
use release_support::*;
use sandbox::resources::{DEPLOYMENTS, PODS, SERVICES};
use sandbox::server::route::{self, Route};
use sandbox::{FaultAction, FaultRule, LoggedRequest};
use serde_json::Value;

/// Controllers run this many times faster than real time.
const SPEED: f64 = 50.0;
/// `--request-timeout` of every run.
const REQUEST_TIMEOUT: &str = "1500ms";
/// How long a hung request waits on the server: longer than `--request-timeout`.
const HANG: Duration = Duration::from_millis(2500);
/// How long blue's pods take to become ready in the rollback, in cluster time (400 ms).
const BLUE_READY_AFTER_MS: &str = "20000";
/// How long the endpoints take to follow a change, in cluster time (300 ms at `SPEED`).
const ENDPOINT_DELAY: Duration = Duration::from_secs(15);
/// How often a read that keeps failing is tried before the command gives up.
const READ_TRIES: usize = 5;
/// The production Service of the `classic` scenario.
const SERVICE: &str = "blueservice";

/// The ways a request can fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
enum Fault {
    /// HTTP 500 InternalError.
    Status500,
    /// HTTP 500 on this request and every later one of its kind: no retry gets past it.
    Persistent500,
    /// HTTP 429 TooManyRequests with `Retry-After: 1`.
    Status429,
    /// No answer before `--request-timeout` (the server handles it later).
    Hang,
    /// The connection closes without an answer.
    Close,
    /// The server makes the change, then the connection closes without an answer.
    LostAnswer,
    /// Every open watch ends while this one is open.
    DropWatch,
    /// The watch ends and its resourceVersion has expired meanwhile (the history was
    /// compacted): resuming it gets 410 Gone, as an ERROR event the way the real server sends
    /// it, and the client must list again.
    Gone410,
}

impl Fault {
    const ALL: [Fault; 8] = [
        Fault::Status500,
        Fault::Persistent500,
        Fault::Status429,
        Fault::Hang,
        Fault::Close,
        Fault::LostAnswer,
        Fault::DropWatch,
        Fault::Gone410,
    ];

    /// Whether the fault only applies to watches.
    fn watch_only(self) -> bool {
        matches!(self, Fault::DropWatch | Fault::Gone410)
    }

    fn name(self) -> &'static str {
        match self {
            Fault::Status500 => "500",
            Fault::Persistent500 => "500 every time",
            Fault::Status429 => "429+Retry-After",
            Fault::Hang => "hang>timeout",
            Fault::Close => "closed connection",
            Fault::LostAnswer => "answer lost",
            Fault::DropWatch => "dropped watch",
            Fault::Gone410 => "expired watch (410)",
        }
    }
}

/// The commands of the matrix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
enum Cmd {
    /// `promote --cleanup delete` from the settled `classic` scenario.
    Promote,
    /// `rollback` after a `promote --cleanup scale-down`.
    Rollback,
    /// `rollback` after a `promote --cleanup delete`: blue and the test Service are re-created
    /// from the journal. Only its requests of kinds the others do not make are steps.
    Restore,
}

impl Cmd {
    const ALL: [Cmd; 3] = [Cmd::Promote, Cmd::Rollback, Cmd::Restore];

    fn name(self) -> &'static str {
        match self {
            Cmd::Promote => "promote",
            Cmd::Rollback => "rollback",
            Cmd::Restore => "rollback-restore",
        }
    }

    fn args(self) -> Vec<&'static str> {
        let mut args = match self {
            Cmd::Promote => vec!["promote", SERVICE, "--cleanup", "delete"],
            Cmd::Rollback | Cmd::Restore => vec!["rollback", SERVICE],
        };
        args.extend([
            "--yes",
            "--scale-down-delay",
            "100ms",
            "--timeout",
            "30s",
            "--request-timeout",
            REQUEST_TIMEOUT,
        ]);
        args
    }

    /// A sandbox ready for the command, with an empty request log.
    fn prepare(self) -> Sandbox {
        // The endpoints follow a flip only after a while, as on a real cluster, so that the
        // verification has to watch them.
        let options = Options::default()
            .scenario("classic")
            .speed(SPEED)
            .endpoint_delay(ENDPOINT_DELAY);
        let sb = match Sandbox::start(options) {
            Ok(sb) => sb,
            Err(e) => panic!("the sandbox does not start: {e}"),
        };
        wait_settled(&sb);
        if self != Cmd::Promote {
            // Blue's pods take a while to become ready when it is scaled up again, so that the
            // rollback has to watch for it.
            edit(&sb, &DEPLOYMENTS, "bluedeploy", |d| {
                d["spec"]["template"]["metadata"]["annotations"]
                    [sandbox::controllers::READY_AFTER_MS] = BLUE_READY_AFTER_MS.into();
            });
            // The controllers may not have seen the edit yet: wait for its rollout to end.
            eventually(
                Duration::from_secs(30),
                "bluedeploy rolled out its new pods",
                || rolled_out(&sb, "bluedeploy"),
            );
            wait_settled(&sb);
            run_against(
                &sb,
                &[
                    "promote",
                    SERVICE,
                    "--yes",
                    "--cleanup",
                    if self == Cmd::Restore {
                        "delete"
                    } else {
                        "scale-down"
                    },
                    "--scale-down-delay",
                    "100ms",
                ],
            )
            .expect_code(0);
            wait_settled(&sb);
        }
        sb.clear_requests();
        sb
    }

    /// What is wrong with the pair after the command completed; empty when it is in the
    /// command's end state.
    fn end_state_problems(self, sb: &Sandbox) -> Vec<String> {
        let mut problems = Vec::new();
        let (live, idle) = match self {
            Cmd::Promote => ("green", "blue"),
            Cmd::Rollback | Cmd::Restore => ("blue", "green"),
        };
        let selected = selected(sb, SERVICE, "app");
        if selected != live {
            problems.push(format!("{SERVICE} selects app={selected}, not app={live}"));
        }
        if let Some(step) = journal(sb, SERVICE, "step") {
            problems.push(format!("the journal still has step {step:?} in progress"));
        }
        match self {
            Cmd::Promote => {
                if let Some(n) = replicas(sb, "bluedeploy") {
                    problems.push(format!("bluedeploy still exists ({n} replicas)"));
                }
                if service(sb, "greenservice").is_some() {
                    problems.push("the test Service greenservice still exists".into());
                }
            }
            Cmd::Rollback | Cmd::Restore => {
                if self == Cmd::Restore && service(sb, "greenservice").is_none() {
                    problems.push("the test Service greenservice was not re-created".into());
                }
                if replicas(sb, "bluedeploy") != Some(3) {
                    problems.push(format!(
                        "bluedeploy has {:?} replicas, not 3",
                        replicas(sb, "bluedeploy")
                    ));
                }
                if replicas(sb, "greendeploy") != Some(0) {
                    problems.push(format!(
                        "{idle}deploy has {:?} replicas, not 0",
                        replicas(sb, "greendeploy")
                    ));
                }
            }
        }
        problems
    }
}

/// Whether a Deployment's controller has rolled out its current template completely.
fn rolled_out(sb: &Sandbox, name: &str) -> bool {
    let Some(d) = sb.store().get(&DEPLOYMENTS, "default", name) else {
        return false;
    };
    let want = d["spec"]["replicas"].as_i64().unwrap_or(1);
    let status = &d["status"];
    let count = |field: &str| status[field].as_i64().unwrap_or(0);
    status["observedGeneration"].as_i64() >= d["metadata"]["generation"].as_i64()
        && count("updatedReplicas") == want
        && count("readyReplicas") == want
        && count("availableReplicas") == want
        && count("replicas") == want
}

/// Changes an object in the sandbox's store directly, as another client would.
#[allow(clippy::result_large_err)] // the sandbox's store API returns whole Status objects
fn edit(
    sb: &Sandbox,
    rt: &'static sandbox::resources::ResourceType,
    name: &str,
    change: impl FnOnce(&mut Value),
) {
    sb.store()
        .update_with(
            rt,
            "default",
            name,
            sandbox::store::UpdateOpts::default(),
            |old| {
                let mut new = old.clone();
                change(&mut new);
                Ok(new)
            },
        )
        .unwrap_or_else(|e| panic!("cannot change {name}: {e:?}"));
}

/// One request of a command, as the fault rules and the plugin's messages name it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
struct Step {
    command: Cmd,
    /// RBAC verb: get, list, watch, create, patch, delete.
    verb: String,
    /// Plural resource, with `/subresource` when there is one (the fault rules' form).
    resource: String,
    name: Option<String>,
    /// The request as the plugin names it in errors: `patch services/blueservice`.
    desc: String,
    /// Which occurrence of this (verb, resource, name) in the command's request log.
    occurrence: usize,
    /// Whether the request changes something.
    mutating: bool,
}

impl Step {
    fn label(&self) -> String {
        format!(
            "{} {} #{}",
            self.command.name(),
            self.desc,
            self.occurrence + 1
        )
    }

    fn faults(&self) -> Vec<Fault> {
        Fault::ALL
            .into_iter()
            .filter(|f| !f.watch_only() || self.verb == "watch")
            .filter(|f| *f != Fault::LostAnswer || self.mutating)
            .filter(|f| *f != Fault::Persistent500 || self.verb != "watch")
            .collect()
    }

    fn rule(&self, fault: Fault) -> FaultRule {
        let action = match fault {
            Fault::Status500 | Fault::Persistent500 => FaultAction::Fail(500),
            Fault::Status429 => FaultAction::Fail(429),
            Fault::Hang => FaultAction::Hang(HANG),
            Fault::Close => FaultAction::Close,
            Fault::LostAnswer => FaultAction::LoseAnswer,
            Fault::DropWatch | Fault::Gone410 => unreachable!("a watch fault is not a rule"),
        };
        let mut rule = FaultRule::new(action)
            .verb(&self.verb)
            .resource(&self.resource)
            .skip(self.occurrence);
        if fault == Fault::Persistent500 {
            rule = rule.times(usize::MAX);
        }
        if let Some(name) = &self.name {
            rule = rule.name(name);
        }
        rule
    }

    /// Whether a logged request is this step's kind (any occurrence).
    fn matches(&self, request: &LoggedRequest) -> bool {
        classify(self.command, request).is_some_and(|s| {
            s.verb == self.verb && s.resource == self.resource && s.name == self.name
        })
    }
}

/// A logged request as a step (occurrence 0); `None` for non-resource requests.
fn classify(command: Cmd, request: &LoggedRequest) -> Option<Step> {
    let Route::Resource(res) = route::parse(&request.path) else {
        return None;
    };
    let watch = matches!(request.query_param("watch").as_deref(), Some("true" | "1"));
    let named = res.name.is_some();
    let verb = match request.method.as_str() {
        "GET" if res.watch_path || (watch && !named) => "watch",
        "GET" if named => "get",
        "GET" => "list",
        "POST" => "create",
        "PUT" => "update",
        "PATCH" => "patch",
        "DELETE" if named => "delete",
        "DELETE" => "deletecollection",
        _ => return None,
    };
    let plural = res.rt.plural;
    let group = res.rt.group;
    let rbac = if group.is_empty() {
        plural.to_string()
    } else {
        format!("{plural}.{group}")
    };
    let (resource, rbac) = match &res.subresource {
        Some(sub) => (format!("{plural}/{sub}"), format!("{rbac}/{sub}")),
        None => (plural.to_string(), rbac),
    };
    Some(step_of(
        command,
        verb,
        plural,
        &rbac,
        resource,
        res.name.clone(),
        &request.body,
        request.is_mutating(),
    ))
}

/// The step of a request, classified: `rbac` is `plural[.group][/subresource]`, `resource`
/// `plural[/subresource]`, `body` the request's body (a create names its object there).
#[allow(clippy::too_many_arguments)]
fn step_of(
    command: Cmd,
    verb: &str,
    plural: &str,
    rbac: &str,
    resource: String,
    name: Option<String>,
    body: &str,
    mutating: bool,
) -> Step {
    // The plugin names an Event by the Service it is about.
    let events = plural == "events" && verb == "create";
    let created = serde_json::from_str::<Value>(body)
        .ok()
        .and_then(|b| b["metadata"]["name"].as_str().map(str::to_string));
    let desc = match (&name, verb) {
        (Some(n), _) => format!("{verb} {rbac}/{n}"),
        (None, "create") if events => format!("create events/{SERVICE}"),
        (None, "create") if created.is_some() => {
            format!("create {rbac}/{}", created.unwrap_or_default())
        }
        (None, _) => format!("{verb} {rbac}"),
    };
    Step {
        command,
        verb: verb.to_string(),
        resource,
        name: if events { None } else { name },
        desc,
        occurrence: 0,
        mutating,
    }
}

/// The steps of a command, from a clean run's request log.
fn steps_of(command: Cmd) -> Vec<Step> {
    let sb = command.prepare();
    let run = run_against(&sb, &command.args());
    run.expect_code(0);
    assert!(
        command.end_state_problems(&sb).is_empty(),
        "{:?}",
        command.end_state_problems(&sb)
    );
    let mut seen: HashMap<(String, String, Option<String>), usize> = HashMap::new();
    let mut steps = Vec::new();
    let mut previous = None;
    for request in sb.requests() {
        let Some(mut step) = classify(command, &request) else {
            continue;
        };
        let key = (step.verb.clone(), step.resource.clone(), step.name.clone());
        let n = seen.entry(key.clone()).or_default();
        step.occurrence = *n;
        *n += 1;
        // Requests of one kind in a row are sent together (the access reviews, the two
        // colours' pods): which of them a fault hits is chance, so they are one step.
        if previous.as_ref() != Some(&key) {
            steps.push(step);
        }
        previous = Some(key);
    }
    assert!(
        steps.iter().any(|s| s.verb == "watch") && steps.iter().any(|s| s.mutating),
        "the clean run made no watch or no change: {steps:#?}"
    );
    steps
}

/// Watches the sandbox's store and records every moment the production Service selects no
/// ready pod, or a pod that is not ready.
struct Observer {
    violations: Arc<Mutex<Vec<String>>>,
    states: Arc<AtomicUsize>,
}

#[derive(Debug, Clone)]
struct PodState {
    labels: BTreeMap<String, String>,
    ready: bool,
    terminating: bool,
}

fn pod_state(pod: &Value) -> PodState {
    let labels = pod["metadata"]["labels"]
        .as_object()
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
                .collect()
        })
        .unwrap_or_default();
    let ready = pod["status"]["conditions"].as_array().is_some_and(|cs| {
        cs.iter()
            .any(|c| c["type"] == "Ready" && c["status"] == "True")
    });
    PodState {
        labels,
        ready,
        terminating: !pod["metadata"]["deletionTimestamp"].is_null(),
    }
}

fn selector_of(service: &Value) -> BTreeMap<String, String> {
    service["spec"]["selector"]
        .as_object()
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
                .collect()
        })
        .unwrap_or_default()
}

/// What is wrong with one moment, if anything.
fn check_moment(
    selector: &Option<BTreeMap<String, String>>,
    pods: &HashMap<String, PodState>,
) -> Option<String> {
    let Some(selector) = selector else {
        return Some(format!("{SERVICE} does not exist"));
    };
    if selector.is_empty() {
        return Some(format!("{SERVICE} has no selector"));
    }
    let selected: Vec<(&String, &PodState)> = pods
        .iter()
        .filter(|(_, p)| !p.terminating)
        .filter(|(_, p)| selector.iter().all(|(k, v)| p.labels.get(k) == Some(v)))
        .collect();
    let unready: Vec<&str> = selected
        .iter()
        .filter(|(_, p)| !p.ready)
        .map(|(n, _)| n.as_str())
        .collect();
    if selected.is_empty() {
        Some(format!(
            "{SERVICE} selects {selector:?}, which matches no pod"
        ))
    } else if !unready.is_empty() {
        Some(format!(
            "{SERVICE} selects {selector:?}, which matches unready pods {unready:?}"
        ))
    } else {
        None
    }
}

impl Observer {
    fn start(sb: &Sandbox) -> Observer {
        let mut rx = sb.store().subscribe();
        // Weak, so that the store and with it this thread end with the sandbox.
        let weak = Arc::downgrade(sb.store());
        let read_all = move || {
            let Some(store) = weak.upgrade() else {
                return (None, HashMap::new());
            };
            let selector = store
                .get(&SERVICES, "default", SERVICE)
                .map(|s| selector_of(&s));
            let pods: HashMap<String, PodState> = store
                .list(&PODS, Some("default"), |_| true)
                .0
                .iter()
                .map(|p| {
                    (
                        p["metadata"]["name"]
                            .as_str()
                            .unwrap_or_default()
                            .to_string(),
                        pod_state(p),
                    )
                })
                .collect();
            (selector, pods)
        };
        let (mut selector, mut pods) = read_all();
        let violations = Arc::new(Mutex::new(Vec::new()));
        let states = Arc::new(AtomicUsize::new(1));
        if let Some(v) = check_moment(&selector, &pods) {
            violations.lock().unwrap_or_else(|e| e.into_inner()).push(v);
        }
        let out = violations.clone();
        let count = states.clone();
        std::thread::spawn(move || {
            loop {
                let event = match rx.blocking_recv() {
                    Ok(e) => e,
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {
                        // Some moments were missed: start again from the store as it is.
                        (selector, pods) = read_all();
                        continue;
                    }
                    Err(_) => return,
                };
                let object = &*event.object;
                let name = object["metadata"]["name"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string();
                let deleted = event.kind.as_str() == "DELETED";
                let in_default = object["metadata"]["namespace"] == "default";
                match event.resource.plural {
                    "pods" if in_default => {
                        if deleted {
                            pods.remove(&name);
                        } else {
                            pods.insert(name, pod_state(object));
                        }
                    }
                    "services" if in_default && name == SERVICE => {
                        selector = (!deleted).then(|| selector_of(object));
                    }
                    _ => continue,
                }
                count.fetch_add(1, Ordering::Relaxed);
                if let Some(v) = check_moment(&selector, &pods) {
                    let mut list = out.lock().unwrap_or_else(|e| e.into_inner());
                    if list.len() < 5 {
                        list.push(v);
                    }
                }
            }
        });
        Observer { violations, states }
    }

    fn violations(&self) -> Vec<String> {
        self.violations
            .lock()
            .map(|v| v.clone())
            .unwrap_or_default()
    }
}

/// How a cell ended.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Outcome {
    /// The command succeeded despite the fault.
    Succeeded,
    /// It failed as documented (exit code, error line), and running it again completed it.
    Converged(i32, String),
    /// The fault never hit a request (the step did not happen this time).
    NotReached,
    /// Something required did not hold.
    Unsafe(String),
}

/// Drops every open watch once the step's watch request has reached the server; with
/// `expire`, first makes every resourceVersion seen so far too old. Returns whether it did.
fn drop_when_open(
    sb: &Sandbox,
    step: &Step,
    stop: &Arc<std::sync::atomic::AtomicBool>,
    expire: bool,
) -> bool {
    let started = Instant::now();
    while !stop.load(Ordering::Relaxed) && started.elapsed() < Duration::from_secs(60) {
        let open = sb.requests().iter().filter(|r| step.matches(r)).count();
        if open > step.occurrence {
            // Let the watch deliver its first events, then cut it.
            std::thread::sleep(Duration::from_millis(20));
            if expire {
                // A change elsewhere moves the newest resourceVersion on; compacting the
                // history up to it expires the version the watch would resume from.
                edit(sb, &sandbox::resources::NAMESPACES, "kube-public", |n| {
                    n["metadata"]["annotations"]["fault-matrix/bump"] = "1".into();
                });
                sb.store().compact();
            }
            sb.faults().drop_watches();
            return true;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    false
}

/// Checks a first run that failed: only what no retry gets past may fail it, with the
/// documented exit code and a message naming the request. `tries` is how often the step's
/// kind of request was sent in all.
fn judge_failure(step: &Step, fault: Fault, first: &Run, tries: usize, problems: &mut Vec<String>) {
    if fault == Fault::Persistent500 {
        // Nothing gets past it; a read must have been tried again before giving up.
        if !step.mutating && tries < step.occurrence + READ_TRIES {
            problems.push(format!(
                "a read that kept failing was sent {} time(s) from this step on, not {READ_TRIES}",
                tries.saturating_sub(step.occurrence)
            ));
        }
    } else if !step.mutating || fault == Fault::Status429 {
        problems.push(format!(
                "a {} on a request that changes nothing, or that asks to come back later, was not retried: exit {}: {}",
                fault.name(),
                first.code,
                first.stderr.trim()
            ));
    }
    // Verification that cannot read the endpoints at all puts traffic back: exit 6.
    let reverted = fault == Fault::Persistent500
        && first.code == 6
        && first.stderr.contains("traffic was put back");
    if !reverted && ![7, 8].contains(&first.code) {
        problems.push(format!(
            "exit {} is not the documented code for a failed request: {}",
            first.code,
            first.stderr.trim()
        ));
    } else if first.code == 8 && !first.stderr.contains(&step.desc) {
        problems.push(format!(
            "the message does not name the request {:?}: {}",
            step.desc,
            first.stderr.trim()
        ));
    }
}

fn run_cell(step: &Step, fault: Fault) -> Outcome {
    let sb = step.command.prepare();
    let observer = Observer::start(&sb);
    let args = step.command.args();

    if !fault.watch_only() {
        sb.faults().add(step.rule(fault));
    }
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let (first, reached) = std::thread::scope(|scope| {
        let dropper = fault.watch_only().then(|| {
            let stop = stop.clone();
            let sb = &sb;
            scope.spawn(move || drop_when_open(sb, step, &stop, fault == Fault::Gone410))
        });
        let first = run_against(&sb, &args);
        stop.store(true, Ordering::Relaxed);
        let reached = match dropper {
            Some(handle) => handle.join().unwrap_or(false),
            // A rule that is never used up: reached once the step's request was sent.
            None if fault == Fault::Persistent500 => {
                sb.requests().iter().filter(|r| step.matches(r)).count() > step.occurrence
            }
            None => sb.faults().pending() == 0,
        };
        (first, reached)
    });
    sb.faults().clear();
    if !reached {
        return Outcome::NotReached;
    }

    let mut problems = Vec::new();
    if fault == Fault::DropWatch {
        // A dropped watch is resumed where it was, not listed again from scratch.
        let watches: Vec<LoggedRequest> = sb
            .requests()
            .into_iter()
            .filter(|r| step.matches(r))
            .collect();
        if let Some(resumed) = watches.get(step.occurrence + 1) {
            let rv = resumed.query_param("resourceVersion").unwrap_or_default();
            if rv.is_empty() || rv == "0" {
                problems.push(format!(
                    "the dropped watch was not resumed from its last resourceVersion: {}?{}",
                    resumed.path, resumed.query
                ));
            }
        }
    }
    if fault == Fault::Gone410 {
        // The watch resumed from the expired version got 410 Gone; the client then lists
        // again instead of re-watching from that version.
        let compacted = sb.store().compacted_rv();
        let kind = Step {
            verb: "list".into(),
            ..step.clone()
        };
        let related: Vec<LoggedRequest> = sb
            .requests()
            .into_iter()
            .filter(|r| step.matches(r) || kind.matches(r))
            .collect();
        // Watches after the one that was dropped, resumed from an expired version.
        let mut watches = 0;
        let expired = related.iter().position(|r| {
            if !step.matches(r) {
                return false;
            }
            watches += 1;
            watches > step.occurrence + 1
                && r.query_param("resourceVersion")
                    .and_then(|v| v.parse::<u64>().ok())
                    .is_some_and(|rv| rv > 0 && rv < compacted)
        });
        match expired {
            // A bookmark may have moved the watch past the compaction first.
            None => return Outcome::NotReached,
            Some(i) => {
                if let Some(next) = related.get(i + 1)
                    && !kind.matches(next)
                {
                    problems.push(format!(
                        "after 410 Gone the watch was not listed again: {}?{}",
                        next.path, next.query
                    ));
                }
            }
        }
    }
    let outcome = if first.code == 0 {
        Outcome::Succeeded
    } else {
        let tries = sb.requests().iter().filter(|r| step.matches(r)).count();
        judge_failure(step, fault, &first, tries, &mut problems);
        if fault == Fault::Hang {
            // The server still handles the hung request; let it land before running again.
            std::thread::sleep(HANG);
        }
        let again = run_against(&sb, &args);
        if again.code != 0 {
            problems.push(format!(
                "running {} again did not complete it: exit {}: {}",
                step.command.name(),
                again.code,
                again.stderr.trim()
            ));
        }
        let error = first
            .stderr
            .lines()
            .find(|l| l.starts_with("error:"))
            .unwrap_or_default()
            .to_string();
        Outcome::Converged(first.code, error)
    };
    wait_settled(&sb);
    problems.extend(step.command.end_state_problems(&sb));
    if observer.states.load(Ordering::Relaxed) < 2 {
        problems.push("the observer saw no change at all".into());
    }
    problems.extend(observer.violations());
    if problems.is_empty() {
        outcome
    } else {
        Outcome::Unsafe(problems.join("; "))
    }
}

/// The cells of the matrix: every fault of every step of each command (of the restore, only
/// the kinds of request the others do not make).
fn all_cells(steps_of: impl Fn(Cmd) -> Vec<Step>) -> Vec<(Step, Fault)> {
    let mut cells: Vec<(Step, Fault)> = Vec::new();
    let mut kinds = std::collections::HashSet::new();
    for command in Cmd::ALL {
        let steps = steps_of(command);
        let mine: Vec<Step> = steps
            .into_iter()
            .filter(|s| {
                let kind = (s.verb.clone(), s.resource.clone(), s.name.clone());
                command != Cmd::Restore || !kinds.contains(&kind)
            })
            .collect();
        for s in &mine {
            kinds.insert((s.verb.clone(), s.resource.clone(), s.name.clone()));
        }
        for step in mine {
            for fault in step.faults() {
                cells.push((step.clone(), fault));
            }
        }
    }
    if let Ok(only) = std::env::var("FAULT_MATRIX_ONLY") {
        cells.retain(|(s, f)| format!("{} {}", s.label(), f.name()).contains(&only));
    }
    cells
}

/// Runs the cells `jobs` at a time; a cell that panics is not safe.
fn run_cells(
    cells: Vec<(Step, Fault)>,
    jobs: usize,
    run_cell: &(dyn Fn(&Step, Fault) -> Outcome + Sync),
) -> Vec<(Step, Fault, Outcome)> {
    let queue = Arc::new(Mutex::new(cells.into_iter().collect::<VecDeque<_>>()));
    let results = Arc::new(Mutex::new(Vec::new()));
    std::thread::scope(|scope| {
        for _ in 0..jobs {
            let queue = queue.clone();
            let results = results.clone();
            scope.spawn(move || {
                loop {
                    let next = queue.lock().unwrap_or_else(|e| e.into_inner()).pop_front();
                    let Some((step, fault)) = next else {
                        return;
                    };
                    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                        run_cell(&step, fault)
                    }))
                    .unwrap_or_else(|panic| {
                        let text = panic
                            .downcast_ref::<String>()
                            .cloned()
                            .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                            .unwrap_or_default();
                        Outcome::Unsafe(format!("the cell panicked: {text}"))
                    });
                    results
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .push((step, fault, outcome));
                }
            });
        }
    });
    let mut results = Arc::try_unwrap(results)
        .map(|m| m.into_inner().unwrap_or_else(|e| e.into_inner()))
        .unwrap_or_default();
    results.sort_by(|a, b| (&a.0, a.1).cmp(&(&b.0, b.1)));
    results
}

/// Prints the totals, overall, by fault kind and by command, and every cell; fails on any
/// cell that was not safe or when too many were never reached.
fn summarize(
    title: &str,
    results: &[(Step, Fault, Outcome)],
    total: usize,
    started: Instant,
    jobs: usize,
) {
    let mut by_fault: BTreeMap<Fault, [usize; 4]> = BTreeMap::new();
    let mut by_command: BTreeMap<Cmd, [usize; 4]> = BTreeMap::new();
    let mut overall = [0usize; 4];
    let mut unsafe_cells = Vec::new();
    for (step, fault, outcome) in results {
        let i = match outcome {
            Outcome::Succeeded => 0,
            Outcome::Converged(..) => 1,
            Outcome::NotReached => 2,
            Outcome::Unsafe(why) => {
                unsafe_cells.push(format!("{} × {}: {why}", step.label(), fault.name()));
                3
            }
        };
        overall[i] += 1;
        by_fault.entry(*fault).or_default()[i] += 1;
        by_command.entry(step.command).or_default()[i] += 1;
    }
    let steps: std::collections::BTreeSet<String> =
        results.iter().map(|(s, _, _)| s.label()).collect();
    let mut report = format!(
        "{title}: {} steps, {} cells in {:.0?} ({jobs} at a time)\n",
        steps.len(),
        results.len(),
        started.elapsed()
    );
    let line = |name: &str, c: &[usize; 4]| {
        format!(
            "  {name:<18} {:>4} cells: {:>4} succeeded first time, {:>4} failed cleanly then converged on re-run, {:>3} not reached, {:>3} not safe\n",
            c.iter().sum::<usize>(),
            c[0],
            c[1],
            c[2],
            c[3]
        )
    };
    report.push_str(&line("all faults", &overall));
    for (fault, c) in &by_fault {
        report.push_str(&line(fault.name(), c));
    }
    for (command, c) in &by_command {
        report.push_str(&line(command.name(), c));
    }
    println!("{report}");
    for (step, fault, outcome) in results {
        if !matches!(outcome, Outcome::Unsafe(_)) {
            println!("  {:<55} {:<18} {outcome:?}", step.label(), fault.name());
        }
    }
    assert_eq!(results.len(), total, "every cell ran");
    assert!(
        unsafe_cells.is_empty(),
        "{report}\nnot safe:\n{}",
        unsafe_cells.join("\n")
    );
    // A cell that was never reached tests nothing; a few may miss a request that happens only
    // sometimes (a watch restarted by the client), never most.
    assert!(
        overall[2] * 10 <= total,
        "{report}\ntoo many cells never reached their request"
    );
}

#[test]
fn every_request_of_promote_and_rollback_survives_every_fault() {
    let started = Instant::now();
    let cells = all_cells(steps_of);
    let total = cells.len();
    assert!(total > 0, "no cells");
    let jobs = std::env::var("FAULT_MATRIX_JOBS")
        .ok()
        .and_then(|j| j.parse().ok())
        .unwrap_or_else(|| {
            std::thread::available_parallelism()
                .map(|n| n.get() * 6)
                .unwrap_or(8)
                .clamp(4, 12)
        });
    let results = run_cells(cells, jobs, &run_cell);
    summarize("fault matrix", &results, total, started, jobs);
}

/// The observer is what makes the matrix's safety claims worth anything: it must see a
/// Service that selects unready pods, and one that selects nothing.
#[test]
fn the_observer_sees_unready_and_missing_pods_behind_the_service() {
    let sb = match Sandbox::start(Options::default().scenario("green-not-ready").speed(SPEED)) {
        Ok(sb) => sb,
        Err(e) => panic!("the sandbox does not start: {e}"),
    };
    wait_settled(&sb);
    let observer = Observer::start(&sb);
    assert_eq!(observer.violations(), Vec::<String>::new(), "blue serves");
    let select = |app: &str| {
        edit(&sb, &SERVICES, SERVICE, |s| {
            s["spec"]["selector"]["app"] = app.into()
        });
    };
    select("green");
    eventually(Duration::from_secs(10), "the unready pods are seen", || {
        observer
            .violations()
            .iter()
            .any(|v| v.contains("unready pods"))
    });
    select("nobody");
    eventually(
        Duration::from_secs(10),
        "the empty selection is seen",
        || {
            observer
                .violations()
                .iter()
                .any(|v| v.contains("matches no pod"))
        },
    );
}

/// The matrix against the real control plane, through the fault-injecting proxy
/// (`tests/control-plane/src/proxy.rs`), each cell in a namespace of its own on the one control
/// plane of this binary. The whole matrix would take too long there, so the cells are chosen
/// by rule: every fault of every request that changes the cluster (of `promote --cleanup
/// delete`, of `rollback` and of the restoring rollback), and every fault of the first read,
/// the first access review and the first watch of `promote`. The same checks hold, with the
/// observer fed by watches of the namespace's Pods and Services.
mod real {
    use std::path::Path;
    use std::sync::atomic::AtomicBool;

    use control_plane::{FaultAction as ProxyAction, FaultRule as ProxyRule, ProxyRequest};
    use futures::StreamExt as _;
    use k8s_openapi::api::core::v1::{Pod, Service};
    use kube::runtime::watcher;

    use super::*;
    use crate::backends::{self, Cluster, RealCluster};

    /// Replicas of each colour: fewer pods than the sandbox's 3, for the real controllers' time.
    const REPLICAS: i64 = 1;

    /// A logged proxy request as a step (occurrence 0); `None` for non-resource requests.
    fn classify(command: Cmd, request: &ProxyRequest) -> Option<Step> {
        let t = &request.target;
        let resource = t.resource.clone()?;
        let (plural, sub) = match resource.split_once('/') {
            Some((p, s)) => (p.to_string(), Some(s.to_string())),
            None => (resource.clone(), None),
        };
        let group = request.group();
        let mut rbac = if group.is_empty() {
            plural.clone()
        } else {
            format!("{plural}.{group}")
        };
        if let Some(sub) = &sub {
            rbac = format!("{rbac}/{sub}");
        }
        Some(step_of(
            command,
            t.verb.as_str(),
            &plural,
            &rbac,
            resource,
            t.name.clone(),
            &request.body,
            request.is_mutating(),
        ))
    }

    fn matches(step: &Step, request: &ProxyRequest) -> bool {
        classify(step.command, request).is_some_and(|s| {
            s.verb == step.verb && s.resource == step.resource && s.name == step.name
        })
    }

    /// The proxy takes the sandbox's fault rules (one vocabulary, `tests/faults`).
    fn rule(step: &Step, fault: Fault) -> ProxyRule {
        step.rule(fault)
    }

    /// A namespace with the classic pair, ready for the command.
    fn prepare(command: Cmd, label: &str) -> RealCluster {
        let c = backends::real(label);
        crate::pair::Pair {
            blue_replicas: REPLICAS as u32,
            green_replicas: REPLICAS as u32,
            ..Default::default()
        }
        .load(&c);
        if command != Cmd::Promote {
            let cleanup = if command == Cmd::Restore {
                "delete"
            } else {
                "scale-down"
            };
            c.bluegreen(&[
                "promote",
                SERVICE,
                "--yes",
                "--cleanup",
                cleanup,
                "--scale-down-delay",
                "100ms",
                "--timeout",
                "60s",
            ])
            .expect_code(0);
            c.wait_settled();
        }
        c
    }

    fn end_state_problems(command: Cmd, c: &dyn Cluster) -> Vec<String> {
        let mut problems = Vec::new();
        let live = if command == Cmd::Promote {
            "green"
        } else {
            "blue"
        };
        let selected = backends::selected(c, SERVICE, "app");
        if selected != live {
            problems.push(format!("{SERVICE} selects app={selected}, not app={live}"));
        }
        if let Some(step) = backends::journal(c, SERVICE, "step") {
            problems.push(format!("the journal still has step {step:?} in progress"));
        }
        let test_service = c.get_json("services", "greenservice").is_some();
        if command == Cmd::Promote {
            if let Some(n) = backends::replicas(c, "bluedeploy") {
                problems.push(format!("bluedeploy still exists ({n} replicas)"));
            }
            if test_service {
                problems.push("the test Service greenservice still exists".into());
            }
        } else {
            if command == Cmd::Restore && !test_service {
                problems.push("the test Service greenservice was not re-created".into());
            }
            for (d, want) in [("bluedeploy", REPLICAS), ("greendeploy", 0)] {
                let n = backends::replicas(c, d);
                if n != Some(want) {
                    problems.push(format!("{d} has {n:?} replicas, not {want}"));
                }
            }
        }
        problems
    }

    /// The steps of a command, from a clean run's request log at the proxy.
    pub(super) fn steps_of(command: Cmd) -> Vec<Step> {
        let c = prepare(command, &format!("steps-{}", command.name()));
        let (proxy, kubeconfig) = c.proxy();
        c.bluegreen_as(&kubeconfig, &command.args()).expect_code(0);
        c.wait_settled();
        let problems = end_state_problems(command, &c);
        assert!(problems.is_empty(), "{problems:?}");
        let mut seen: HashMap<(String, String, Option<String>), usize> = HashMap::new();
        let mut steps = Vec::new();
        let mut previous = None;
        for request in proxy.requests() {
            let Some(mut step) = classify(command, &request) else {
                continue;
            };
            let key = (step.verb.clone(), step.resource.clone(), step.name.clone());
            let n = seen.entry(key.clone()).or_default();
            step.occurrence = *n;
            *n += 1;
            if previous.as_ref() != Some(&key) {
                steps.push(step);
            }
            previous = Some(key);
        }
        assert!(
            steps.iter().any(|s| s.verb == "watch") && steps.iter().any(|s| s.mutating),
            "the clean run made no watch or no change: {steps:#?}"
        );
        let labels: Vec<String> = steps.iter().map(Step::label).collect();
        println!("real steps of {}: {}", command.name(), labels.join(", "));
        steps
    }

    /// The real matrix's rule: every change to the pair's objects (Services, Deployments and
    /// their scale; not the Events, which only record); one read and one access review (the
    /// first of `promote`), and one watch (the first of EndpointSlices by `rollback`: the
    /// guard of the grace period, which these cells make 2 s long so that it is open a while).
    pub(super) fn choose(cells: Vec<(Step, Fault)>) -> Vec<(Step, Fault)> {
        let sort = |s: &Step| {
            if s.verb == "watch" {
                "watch"
            } else if s.resource.ends_with("accessreviews") {
                "review"
            } else {
                "read"
            }
        };
        let mut first: HashMap<&'static str, Step> = HashMap::new();
        for (s, _) in &cells {
            let from = if s.verb == "watch" {
                Cmd::Rollback
            } else {
                Cmd::Promote
            };
            let wanted = s.verb != "watch" || s.resource == "endpointslices";
            if !s.mutating && s.command == from && wanted {
                first.entry(sort(s)).or_insert_with(|| s.clone());
            }
        }
        // Whether rollback's clean run opened its EndpointSlice watch depends on timing; the
        // restoring rollback's or the promote's then serves.
        if !first.contains_key("watch")
            && let Some((s, _)) = cells
                .iter()
                .find(|(s, _)| s.verb == "watch" && s.resource == "endpointslices")
        {
            first.insert("watch", s.clone());
        }
        cells
            .into_iter()
            .filter(|(s, _)| {
                if s.mutating {
                    s.resource != "events"
                } else {
                    first.get(sort(s)) == Some(s)
                }
            })
            .collect()
    }

    /// Watches the namespace's Pods and the production Service and records every moment the
    /// Service selects no ready pod, or a pod that is not ready.
    struct Observer {
        violations: Arc<Mutex<Vec<String>>>,
        states: Arc<AtomicUsize>,
        stop: Arc<AtomicBool>,
        thread: Option<std::thread::JoinHandle<()>>,
    }

    enum Seen {
        Pod(Box<watcher::Event<Pod>>),
        Service(Box<watcher::Event<Service>>),
    }

    impl Observer {
        fn start(kubeconfig: &Path, namespace: &str) -> Observer {
            let violations = Arc::new(Mutex::new(Vec::new()));
            let states = Arc::new(AtomicUsize::new(0));
            let stop = Arc::new(AtomicBool::new(false));
            let synced = Arc::new(AtomicBool::new(false));
            let (out, count, stopped, ready) = (
                violations.clone(),
                states.clone(),
                stop.clone(),
                synced.clone(),
            );
            let kubeconfig = kubeconfig.to_path_buf();
            let namespace = namespace.to_string();
            let thread = std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("a runtime");
                rt.block_on(async move {
                    let options = kube::config::KubeConfigOptions::default();
                    let config =
                        kube::config::Kubeconfig::read_from(&kubeconfig).expect("the kubeconfig");
                    let config = kube::Config::from_custom_kubeconfig(config, &options)
                        .await
                        .expect("a client configuration");
                    let client = kube::Client::try_from(config).expect("a client");
                    let pods = watcher(
                        kube::Api::<Pod>::namespaced(client.clone(), &namespace),
                        watcher::Config::default(),
                    )
                    .map(|e| e.map(|e| Seen::Pod(Box::new(e))));
                    let services = watcher(
                        kube::Api::<Service>::namespaced(client, &namespace),
                        watcher::Config::default().fields(&format!("metadata.name={SERVICE}")),
                    )
                    .map(|e| e.map(|e| Seen::Service(Box::new(e))));
                    let mut events = std::pin::pin!(futures::stream::select(pods, services));
                    let mut pods: HashMap<String, PodState> = HashMap::new();
                    let mut selector: Option<BTreeMap<String, String>> = None;
                    let (mut pods_synced, mut service_synced) = (false, false);
                    let name = |m: &kube::api::ObjectMeta| m.name.clone().unwrap_or_default();
                    while !stopped.load(Ordering::Relaxed) {
                        let next =
                            tokio::time::timeout(Duration::from_millis(100), events.next()).await;
                        let event = match next {
                            Err(_) => continue,
                            Ok(None) => return,
                            Ok(Some(Err(_))) => continue,
                            Ok(Some(Ok(e))) => e,
                        };
                        match event {
                            Seen::Pod(e) => match *e {
                                watcher::Event::Init => pods.clear(),
                                watcher::Event::InitApply(p) | watcher::Event::Apply(p) => {
                                    let v = serde_json::to_value(&p).unwrap_or_default();
                                    pods.insert(name(&p.metadata), pod_state(&v));
                                }
                                watcher::Event::Delete(p) => {
                                    pods.remove(&name(&p.metadata));
                                }
                                watcher::Event::InitDone => pods_synced = true,
                            },
                            Seen::Service(e) => match *e {
                                watcher::Event::Init => selector = None,
                                watcher::Event::InitApply(s) | watcher::Event::Apply(s) => {
                                    let v = serde_json::to_value(&s).unwrap_or_default();
                                    selector = Some(selector_of(&v));
                                }
                                watcher::Event::Delete(_) => selector = None,
                                watcher::Event::InitDone => service_synced = true,
                            },
                        }
                        if !(pods_synced && service_synced) {
                            continue;
                        }
                        ready.store(true, Ordering::Relaxed);
                        count.fetch_add(1, Ordering::Relaxed);
                        if let Some(v) = check_moment(&selector, &pods) {
                            let mut list = out.lock().unwrap_or_else(|e| e.into_inner());
                            if list.len() < 5 {
                                list.push(v);
                            }
                        }
                    }
                });
            });
            let started = Instant::now();
            while !synced.load(Ordering::Relaxed) && started.elapsed() < Duration::from_secs(30) {
                std::thread::sleep(Duration::from_millis(20));
            }
            assert!(
                synced.load(Ordering::Relaxed),
                "the observer's watches started"
            );
            Observer {
                violations,
                states,
                stop,
                thread: Some(thread),
            }
        }

        fn violations(&self) -> Vec<String> {
            self.violations
                .lock()
                .map(|v| v.clone())
                .unwrap_or_default()
        }
    }

    impl Drop for Observer {
        fn drop(&mut self) {
            self.stop.store(true, Ordering::Relaxed);
            if let Some(t) = self.thread.take() {
                let _ = t.join();
            }
        }
    }

    /// Cuts every open watch once the step's watch is open at the proxy; with `gone`, the
    /// watch that resumes it gets 410 Gone. Returns whether it did.
    fn drop_when_open(
        proxy: &control_plane::Proxy,
        step: &Step,
        stop: &AtomicBool,
        gone: bool,
    ) -> bool {
        let started = Instant::now();
        while !stop.load(Ordering::Relaxed) && started.elapsed() < Duration::from_secs(60) {
            let open = proxy
                .requests()
                .iter()
                .filter(|r| matches(step, r) && r.status == 200)
                .count();
            if open > step.occurrence {
                // Let the watch deliver its first events, then cut it.
                std::thread::sleep(Duration::from_millis(50));
                if gone {
                    let mut rule = ProxyRule::new(ProxyAction::Gone)
                        .verb("watch")
                        .resource(&step.resource);
                    if let Some(n) = &step.name {
                        rule = rule.name(n);
                    }
                    proxy.add(rule);
                }
                proxy.drop_watches();
                return true;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        false
    }

    pub(super) fn run_cell(step: &Step, fault: Fault) -> Outcome {
        let c = prepare(
            step.command,
            &format!("{}-{}", step.command.name(), step.verb),
        );
        let (proxy, kubeconfig) = c.proxy();
        let observer = Observer::start(c.kubeconfig_path(), c.namespace());
        let mut args = step.command.args();
        if step.verb == "watch" {
            // The grace period's watch is open long enough for its faults.
            for a in args.iter_mut().filter(|a| **a == "100ms") {
                *a = "2s";
            }
        }
        if !fault.watch_only() {
            proxy.add(rule(step, fault));
        }
        let stop = AtomicBool::new(false);
        let (first, reached) = std::thread::scope(|scope| {
            let dropper = fault.watch_only().then(|| {
                let (proxy, stop) = (&proxy, &stop);
                scope.spawn(move || drop_when_open(proxy, step, stop, fault == Fault::Gone410))
            });
            let first = c.bluegreen_as(&kubeconfig, &args);
            stop.store(true, Ordering::Relaxed);
            let reached = match dropper {
                Some(handle) => handle.join().unwrap_or(false),
                None if fault == Fault::Persistent500 => {
                    proxy.requests().iter().filter(|r| matches(step, r)).count() > step.occurrence
                }
                None => proxy.pending() == 0,
            };
            (first, reached)
        });
        let log = proxy.requests();
        let gone_met = log.iter().any(|r| r.fault == Some(ProxyAction::Gone));
        proxy.clear();
        if !reached || (fault == Fault::Gone410 && !gone_met) {
            return Outcome::NotReached;
        }
        let mut problems = Vec::new();
        if fault == Fault::DropWatch {
            let watches: Vec<&ProxyRequest> = log.iter().filter(|r| matches(step, r)).collect();
            if let Some(resumed) = watches.get(step.occurrence + 1) {
                let rv = resumed.query_param("resourceVersion").unwrap_or_default();
                if rv.is_empty() || rv == "0" {
                    problems.push(format!(
                        "the dropped watch was not resumed from its last resourceVersion: {}?{}",
                        resumed.path, resumed.query
                    ));
                }
            }
        }
        if fault == Fault::Gone410 {
            // After the 410 the client lists again instead of watching from that version.
            let list = Step {
                verb: "list".into(),
                ..step.clone()
            };
            let related: Vec<&ProxyRequest> = log
                .iter()
                .filter(|r| matches(step, r) || matches(&list, r))
                .collect();
            if let Some(i) = related
                .iter()
                .position(|r| r.fault == Some(ProxyAction::Gone))
                && let Some(next) = related.get(i + 1)
                && !matches(&list, next)
            {
                problems.push(format!(
                    "after 410 Gone the watch was not listed again: {}?{}",
                    next.path, next.query
                ));
            }
        }
        let outcome = if first.code == 0 {
            Outcome::Succeeded
        } else {
            let tries = log.iter().filter(|r| matches(step, r)).count();
            judge_failure(step, fault, &first, tries, &mut problems);
            let again = c.bluegreen(&args);
            if again.code != 0 {
                problems.push(format!(
                    "running {} again did not complete it: exit {}: {}",
                    step.command.name(),
                    again.code,
                    again.stderr.trim()
                ));
            }
            let error = first
                .stderr
                .lines()
                .find(|l| l.starts_with("error:"))
                .unwrap_or_default()
                .to_string();
            Outcome::Converged(first.code, error)
        };
        // The end state is in the objects' specs and the journal, there as soon as the command
        // ends: no need to wait for the controllers.
        problems.extend(end_state_problems(step.command, &c));
        if observer.states.load(Ordering::Relaxed) < 2 {
            problems.push("the observer saw no change at all".into());
        }
        problems.extend(observer.violations());
        if problems.is_empty() {
            outcome
        } else {
            Outcome::Unsafe(problems.join("; "))
        }
    }
}

#[test]
#[ignore = "real control plane: tests/control-plane/build.sh, then cargo test -- --include-ignored"]
fn real_every_change_of_promote_and_rollback_survives_every_fault() {
    assert_eq!(
        "real control plane: tests/control-plane/build.sh, then cargo test -- --include-ignored",
        backends::REAL_IGNORED
    );
    let started = Instant::now();
    let cells = real::choose(all_cells(real::steps_of));
    let total = cells.len();
    assert!(total > 0, "no cells");
    assert!(
        std::env::var_os("FAULT_MATRIX_ONLY").is_some()
            || cells.iter().any(|(s, _)| s.verb == "watch"),
        "no watch was chosen: {cells:#?}"
    );
    let jobs = std::env::var("FAULT_MATRIX_JOBS")
        .ok()
        .and_then(|j| j.parse().ok())
        .unwrap_or(12);
    let results = run_cells(cells, jobs, &real::run_cell);
    summarize("fault matrix (real)", &results, total, started, jobs);
}
