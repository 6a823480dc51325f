//! Crash safety: `promote` and `rollback` stopped hard (SIGKILL) at every step boundary. Each
//! crash point holds one chosen request in the sandbox (or waits for a state the journal
//! shows), kills the process while it waits, and then checks that `status` explains the state
//! from the journal and that running the command again converges: the Service selects the
//! intended colour, every replica count is what it was, and whatever `--cleanup delete`
//! removed comes back with `rollback`.
//!
//! The crash points are a table; they run in parallel, each against its own sandbox, and the
//! test prints every point tried with its outcome. The points where a changing request hangs
//! also run against the real control plane, the request held at the fault-injecting proxy
//! (ignored unless `--include-ignored`).

mod backends;
mod common;
#[allow(dead_code)] // the pair and its helpers; the crash points use the classic pair
#[path = "integration/both_backends/pair.rs"]
mod pair;
mod release_support;

use std::process::Child;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use common::*;
use release_support::*;
use sandbox::{FaultAction, FaultRule};
use serde_json::Value;

/// How a crash point's state is set up before the command that is killed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Setup {
    /// The classic pair: blue live, green ready beside it.
    Fresh,
    /// After `promote --cleanup scale-down`: green live, blue at 0 (3 remembered).
    PromotedScaledDown,
    /// After `promote --cleanup delete`: green live, blue's Deployment and the test Service
    /// saved in the journal and deleted.
    PromotedDeleted,
}

/// The command that is killed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cmd {
    /// `promote --cleanup scale-down`.
    Promote,
    /// `promote --cleanup delete`.
    PromoteDelete,
    /// `rollback` (default cleanup: scale the colour it leaves down).
    Rollback,
}

impl Cmd {
    fn args(self) -> Vec<&'static str> {
        match self {
            Cmd::Promote => vec!["promote", "blueservice", "--cleanup", "scale-down"],
            Cmd::PromoteDelete => vec!["promote", "blueservice", "--cleanup", "delete"],
            Cmd::Rollback => vec!["rollback", "blueservice"],
        }
    }
}

/// When the process is killed.
#[derive(Debug, Clone, Copy)]
enum Trigger {
    /// While this request hangs: (verb, resource, name, matching requests let through first).
    /// The rule's request never reaches the store.
    Hang {
        verb: &'static str,
        resource: &'static str,
        name: Option<&'static str>,
        skip: usize,
    },
    /// While verification waits for the endpoints (which the sandbox holds still): the flip
    /// is stored and the EndpointSlice watch is open.
    Verifying,
    /// During the grace period before the cleanup (the journal says `step: cleanup`).
    Delay,
}

/// What the finishing run is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Finish {
    /// The killed command again.
    Same,
    /// The command `status` recommends (its `verdict.nextCommand`).
    Recommended,
    /// `rollback`, which the verdict of an interrupted release offers as the other way out.
    ByRollback,
}

/// The state right after the kill, as the store holds it.
#[derive(Debug, Clone, Copy)]
struct AfterKill {
    /// The colour the production Service selects.
    selects: &'static str,
    /// The journal's `step`.
    step: Option<&'static str>,
    /// `spec.replicas` of bluedeploy (`None`: deleted).
    blue: Option<i64>,
    /// Whether the test Service greenservice exists.
    test_service: bool,
}

struct CrashPoint {
    name: &'static str,
    setup: Setup,
    cmd: Cmd,
    trigger: Trigger,
    after_kill: AfterKill,
    finish: Finish,
    /// Whether the killed run's verification fails (the sandbox holds the endpoints still and
    /// the run has a short `--timeout`), so that it flips back.
    verify_fails: bool,
}

const fn hang(
    verb: &'static str,
    resource: &'static str,
    name: Option<&'static str>,
    skip: usize,
) -> Trigger {
    Trigger::Hang {
        verb,
        resource,
        name,
        skip,
    }
}

const fn state(
    selects: &'static str,
    step: Option<&'static str>,
    blue: Option<i64>,
    test_service: bool,
) -> AfterKill {
    AfterKill {
        selects,
        step,
        blue,
        test_service,
    }
}

const SVC: Option<&str> = Some("blueservice");
const BLUE: Option<&str> = Some("bluedeploy");

/// Every step boundary of promote and rollback. PATCHes of the production Service come in
/// this order: the flip (with the journal), the pending-cleanup mark, the remembered replica
/// count (or the saved manifests), the done mark.
fn crash_points() -> Vec<CrashPoint> {
    use Cmd::*;
    use Finish::*;
    use Setup::*;
    let point = |name, setup, cmd, trigger, after_kill, finish| CrashPoint {
        name,
        setup,
        cmd,
        trigger,
        after_kill,
        finish,
        verify_fails: false,
    };
    vec![
        CrashPoint {
            verify_fails: true,
            ..point(
                "promote: verification failed, before the automatic flip back",
                Fresh,
                Promote,
                hang("patch", "services", SVC, 1),
                state("green", Some("verify"), Some(3), true),
                Same,
            )
        },
        point(
            "promote: before the flip",
            Fresh,
            Promote,
            hang("patch", "services", SVC, 0),
            state("blue", None, Some(3), true),
            Same,
        ),
        point(
            "promote: after the flip, during verification",
            Fresh,
            Promote,
            Trigger::Verifying,
            state("green", Some("verify"), Some(3), true),
            Same,
        ),
        point(
            "promote: after the flip, during verification, undone by rollback",
            Fresh,
            Promote,
            Trigger::Verifying,
            state("green", Some("verify"), Some(3), true),
            ByRollback,
        ),
        point(
            "promote: after verification, before recording the pending cleanup",
            Fresh,
            Promote,
            hang("patch", "services", SVC, 1),
            state("green", Some("verify"), Some(3), true),
            Recommended,
        ),
        point(
            "promote: after recording the pending cleanup, before its Event",
            Fresh,
            Promote,
            hang("create", "events", None, 0),
            state("green", Some("cleanup"), Some(3), true),
            Same,
        ),
        point(
            "promote: during the scale-down delay",
            Fresh,
            Promote,
            Trigger::Delay,
            state("green", Some("cleanup"), Some(3), true),
            Same,
        ),
        point(
            "promote: during the scale-down delay, finished by the recommended command",
            Fresh,
            Promote,
            Trigger::Delay,
            state("green", Some("cleanup"), Some(3), true),
            Recommended,
        ),
        point(
            "promote: before remembering the replica count",
            Fresh,
            Promote,
            hang("patch", "services", SVC, 2),
            state("green", Some("cleanup"), Some(3), true),
            Same,
        ),
        point(
            "promote: after remembering the replica count, before the scale-down",
            Fresh,
            Promote,
            hang("patch", "deployments/scale", BLUE, 0),
            state("green", Some("cleanup"), Some(3), true),
            Same,
        ),
        point(
            "promote: after remembering the replica count, undone by rollback",
            Fresh,
            Promote,
            hang("patch", "deployments/scale", BLUE, 0),
            state("green", Some("cleanup"), Some(3), true),
            ByRollback,
        ),
        point(
            "promote: after the scale-down, before the journal's done mark, undone by rollback",
            Fresh,
            Promote,
            hang("patch", "services", SVC, 3),
            state("green", Some("cleanup"), Some(0), true),
            ByRollback,
        ),
        point(
            "promote: after the scale-down, before the journal's done mark",
            Fresh,
            Promote,
            hang("patch", "services", SVC, 3),
            state("green", Some("cleanup"), Some(0), true),
            Same,
        ),
        point(
            "promote: after the done mark, before the final Event",
            Fresh,
            Promote,
            hang("create", "events", None, 1),
            state("green", None, Some(0), true),
            Same,
        ),
        point(
            "promote --cleanup delete: before saving the manifests",
            Fresh,
            PromoteDelete,
            hang("patch", "services", SVC, 2),
            state("green", Some("cleanup"), Some(3), true),
            Same,
        ),
        point(
            "promote --cleanup delete: after saving the manifests, before the delete",
            Fresh,
            PromoteDelete,
            hang("delete", "deployments", BLUE, 0),
            state("green", Some("cleanup"), Some(3), true),
            Same,
        ),
        point(
            "promote --cleanup delete: after deleting the Deployment, before the test Service",
            Fresh,
            PromoteDelete,
            hang("delete", "services", Some("greenservice"), 0),
            state("green", Some("cleanup"), None, true),
            Same,
        ),
        point(
            "promote --cleanup delete: after deleting the Deployment, undone by rollback",
            Fresh,
            PromoteDelete,
            hang("delete", "services", Some("greenservice"), 0),
            state("green", Some("cleanup"), None, true),
            ByRollback,
        ),
        point(
            "promote --cleanup delete: after the deletes, before the journal's done mark",
            Fresh,
            PromoteDelete,
            hang("patch", "services", SVC, 3),
            state("green", Some("cleanup"), None, false),
            Recommended,
        ),
        point(
            "rollback: before the scale-up",
            PromotedScaledDown,
            Rollback,
            hang("patch", "deployments/scale", BLUE, 0),
            state("green", None, Some(0), true),
            Same,
        ),
        point(
            "rollback: after the scale-up, while waiting for the Deployment",
            PromotedScaledDown,
            Rollback,
            hang("get", "deployments", BLUE, 0),
            state("green", None, Some(3), true),
            Same,
        ),
        point(
            "rollback: before the flip",
            PromotedScaledDown,
            Rollback,
            hang("patch", "services", SVC, 0),
            state("green", None, Some(3), true),
            Same,
        ),
        point(
            "rollback: after the flip, during verification",
            PromotedScaledDown,
            Rollback,
            Trigger::Verifying,
            state("blue", Some("verify"), Some(3), true),
            Same,
        ),
        point(
            "rollback: after verification, before recording the pending cleanup",
            PromotedScaledDown,
            Rollback,
            hang("patch", "services", SVC, 1),
            state("blue", Some("verify"), Some(3), true),
            Same,
        ),
        point(
            "rollback: during the scale-down delay",
            PromotedScaledDown,
            Rollback,
            Trigger::Delay,
            state("blue", Some("cleanup"), Some(3), true),
            Recommended,
        ),
        point(
            "rollback: before remembering the replica count of the colour it left",
            PromotedScaledDown,
            Rollback,
            hang("patch", "services", SVC, 2),
            state("blue", Some("cleanup"), Some(3), true),
            Same,
        ),
        point(
            "rollback: after remembering it, before scaling the colour it left down",
            PromotedScaledDown,
            Rollback,
            hang("patch", "deployments/scale", Some("greendeploy"), 0),
            state("blue", Some("cleanup"), Some(3), true),
            Same,
        ),
        point(
            "rollback: after scaling the colour it left down, before the done mark",
            PromotedScaledDown,
            Rollback,
            hang("patch", "services", SVC, 3),
            state("blue", Some("cleanup"), Some(3), true),
            Same,
        ),
        point(
            "rollback after delete: before re-creating the Deployment",
            PromotedDeleted,
            Rollback,
            hang("create", "deployments", None, 0),
            state("green", None, None, false),
            Same,
        ),
        point(
            "rollback after delete: after re-creating the Deployment, before the test Service",
            PromotedDeleted,
            Rollback,
            hang("create", "services", None, 0),
            state("green", None, Some(3), false),
            Same,
        ),
        point(
            "rollback after delete: while waiting for the re-created Deployment",
            PromotedDeleted,
            Rollback,
            hang("get", "deployments", BLUE, 0),
            state("green", None, Some(3), true),
            Same,
        ),
    ]
}

/// Flags every run gets: no question.
const COMMON: &[&str] = &["--yes"];

/// The bound on every wait of a run that should succeed.
const TIMEOUT: [&str; 2] = ["--timeout", "60s"];

/// Where a crash point runs: a sandbox of its own, or a namespace of its own on the real
/// control plane with the fault proxy in front of it (the killed command goes through the
/// proxy; everything else talks to the API server directly).
enum Back {
    Sandbox(Sandbox),
    Real {
        cluster: backends::RealCluster,
        proxy: Mutex<Option<control_plane::Proxy>>,
        kubeconfig: std::path::PathBuf,
    },
}

impl Back {
    fn sandbox() -> Back {
        let sb = Sandbox::start(Options::default().scenario("classic").speed(40.0))
            .unwrap_or_else(|e| panic!("the sandbox does not start: {e}"));
        wait_settled(&sb);
        Back::Sandbox(sb)
    }

    fn real(name: &str) -> Back {
        let cluster = backends::real(name);
        crate::pair::classic(&cluster);
        let (proxy, kubeconfig) = cluster.proxy();
        Back::Real {
            cluster,
            proxy: Mutex::new(Some(proxy)),
            kubeconfig,
        }
    }

    fn run(&self, args: &[&str]) -> Run {
        use backends::Cluster as _;
        match self {
            Back::Sandbox(sb) => run_against(sb, args),
            Back::Real { cluster, .. } => cluster.bluegreen(args),
        }
    }

    fn spawn(&self, home: &std::path::Path, args: &[&str]) -> Child {
        match self {
            Back::Sandbox(sb) => spawn_against(sb, home, args),
            Back::Real { kubeconfig, .. } => command(home)
                .args(args)
                .arg("--kubeconfig")
                .arg(kubeconfig)
                .stdin(std::process::Stdio::null())
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .expect("the plugin starts"),
        }
    }

    fn selected(&self, service: &str, key: &str) -> String {
        match self {
            Back::Sandbox(sb) => selected(sb, service, key),
            Back::Real { cluster, .. } => backends::selected(cluster, service, key),
        }
    }

    fn journal(&self, service: &str, key: &str) -> Option<String> {
        match self {
            Back::Sandbox(sb) => journal(sb, service, key),
            Back::Real { cluster, .. } => backends::journal(cluster, service, key),
        }
    }

    fn replicas(&self, name: &str) -> Option<i64> {
        match self {
            Back::Sandbox(sb) => replicas(sb, name),
            Back::Real { cluster, .. } => backends::replicas(cluster, name),
        }
    }

    fn serving_pods(&self, app: &str) -> usize {
        match self {
            Back::Sandbox(sb) => serving_pods(sb, app),
            Back::Real { cluster, .. } => backends::serving_pods(cluster, app),
        }
    }

    fn test_service_exists(&self) -> bool {
        use backends::Cluster as _;
        match self {
            Back::Sandbox(sb) => service(sb, "greenservice").is_some(),
            Back::Real { cluster, .. } => cluster.get_json("services", "greenservice").is_some(),
        }
    }

    fn wait_settled(&self) {
        use backends::Cluster as _;
        match self {
            Back::Sandbox(sb) => wait_settled(sb),
            Back::Real { cluster, .. } => cluster.wait_settled(),
        }
    }

    /// Holds the matching request (after `skip` let through) until the process is killed.
    fn hold(&self, verb: &str, resource: &str, name: Option<&str>, skip: usize) {
        match self {
            Back::Sandbox(sb) => {
                let mut rule = FaultRule::new(FaultAction::Hang(Duration::from_secs(600)))
                    .verb(verb)
                    .resource(resource)
                    .namespace("default")
                    .skip(skip);
                if let Some(n) = name {
                    rule = rule.name(n);
                }
                sb.faults().add(rule);
            }
            Back::Real { proxy, .. } => {
                let mut rule = control_plane::FaultRule::new(control_plane::FaultAction::Hang(
                    Duration::from_secs(600),
                ))
                .verb(verb)
                .resource(resource)
                .skip(skip);
                if let Some(n) = name {
                    rule = rule.name(n);
                }
                if let Some(p) = lock(proxy).as_ref() {
                    p.add(rule);
                }
            }
        }
    }

    /// Whether the held request is waiting now.
    fn hung(&self, verb: &str, resource: &str, name: Option<&str>, skip: usize) -> bool {
        match self {
            Back::Sandbox(sb) => hung(sb, verb, resource, name, skip),
            Back::Real { proxy, .. } => lock(proxy).as_ref().is_some_and(|p| {
                p.requests().iter().any(|r| {
                    r.status == 0
                        && matches!(r.fault, Some(control_plane::FaultAction::Hang(_)))
                        && r.target.verb == verb
                        && r.target.resource.as_deref() == Some(resource)
                        && name.is_none_or(|n| r.target.name.as_deref() == Some(n))
                })
            }),
        }
    }

    /// After the kill: no request is held any more. On the real back-end the proxy goes, and
    /// with it the held request, which never reaches the API server.
    fn release(&self) {
        match self {
            Back::Sandbox(sb) => {
                sb.faults().clear();
                sb.pause_endpoints(false);
            }
            Back::Real { proxy, .. } => {
                lock(proxy).take();
            }
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn run_cmd(sb: &Back, args: &[&str], extra: &[&str]) -> Run {
    let mut all: Vec<&str> = args.to_vec();
    all.extend(COMMON);
    all.extend(TIMEOUT);
    all.extend(extra);
    sb.run(&all)
}

fn spawn(sb: &Back, args: &[&str], extra: &[&str], home: &std::path::Path) -> Child {
    let mut all: Vec<&str> = args.to_vec();
    all.extend(COMMON);
    all.extend(extra);
    sb.spawn(home, &all)
}

fn prepare(sb: &Back, setup: Setup) {
    let cleanup = match setup {
        Setup::Fresh => return,
        Setup::PromotedScaledDown => "scale-down",
        Setup::PromotedDeleted => "delete",
    };
    run_cmd(
        sb,
        &["promote", "blueservice", "--cleanup", cleanup],
        &["--scale-down-delay", "0"],
    )
    .expect_code(0);
    assert_eq!(sb.selected("blueservice", "app"), "green");
    sb.wait_settled();
}

/// Whether the request the hang rule holds is waiting in the sandbox now: the matching request
/// after the `skip` let through has arrived and is not answered. (An earlier match may be
/// unanswered for a moment too, while the server handles it; that one is not the hung one.)
fn hung(sb: &Sandbox, verb: &str, resource: &str, name: Option<&str>, skip: usize) -> bool {
    let method = match verb {
        "get" | "list" | "watch" => "GET",
        "create" => "POST",
        "patch" => "PATCH",
        "delete" => "DELETE",
        other => panic!("no method for {other}"),
    };
    let (plural, sub) = match resource.split_once('/') {
        Some((p, s)) => (p, Some(s)),
        None => (resource, None),
    };
    let matching: Vec<u16> = sb
        .requests()
        .iter()
        .filter(|r| {
            if r.method != method {
                return false;
            }
            let mut parts: Vec<&str> = r.path.trim_end_matches('/').split('/').collect();
            if let Some(s) = sub {
                if parts.last() != Some(&s) {
                    return false;
                }
                parts.pop();
            }
            match name {
                Some(n) => {
                    parts.last() == Some(&n) && parts.len() >= 2 && parts[parts.len() - 2] == plural
                }
                None => parts.last() == Some(&plural),
            }
        })
        .map(|r| r.status)
        .collect();
    matching.get(skip) == Some(&0)
}

/// Waits until `check` holds; fails with the child's output after `limit`.
fn wait_for(child: &mut Child, what: &str, check: impl Fn() -> bool) {
    let started = Instant::now();
    while !check() {
        if let Ok(Some(status)) = child.try_wait() {
            let out = read_output(child);
            panic!("the command ended ({status}) before {what}\n{out}");
        }
        if started.elapsed() > Duration::from_secs(90) {
            let _ = child.kill();
            let out = read_output(child);
            panic!("not reached within 90s: {what}\n{out}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn read_output(child: &mut Child) -> String {
    use std::io::Read;
    let mut text = String::new();
    if let Some(mut o) = child.stdout.take() {
        let _ = o.read_to_string(&mut text);
    }
    if let Some(mut e) = child.stderr.take() {
        let _ = e.read_to_string(&mut text);
    }
    text
}

/// `status -o json`.
fn status(sb: &Back) -> Value {
    sb.run(&["status", "blueservice", "-o", "json"])
        .expect_code(0)
        .json()
}

fn test_service_exists(sb: &Back) -> bool {
    sb.test_service_exists()
}

/// The Service selects a colour whose Deployment exists with replicas and ready pods: never
/// nothing, never only unready pods.
#[track_caller]
fn serves(sb: &Back, context: &str) {
    let colour = sb.selected("blueservice", "app");
    let deployment = format!("{colour}deploy");
    assert!(
        sb.replicas(&deployment).is_some_and(|r| r > 0),
        "{context}: blueservice selects {colour:?}, whose Deployment is not running"
    );
    assert!(
        sb.serving_pods(&colour) > 0,
        "{context}: blueservice selects {colour}, which has no ready pod"
    );
}

/// One crash point, start to end. Returns the outcome line.
fn try_point(p: &CrashPoint, sb: Back) -> String {
    prepare(&sb, p.setup);
    let home = tempfile::tempdir().expect("a temporary HOME");
    let delay = match p.trigger {
        Trigger::Delay => "600s",
        _ => "0",
    };
    let timeout = if p.verify_fails { "2s" } else { "60s" };
    let flags = ["--scale-down-delay", delay, "--timeout", timeout];
    if let Trigger::Hang {
        verb,
        resource,
        name,
        skip,
    } = p.trigger
    {
        sb.hold(verb, resource, name, skip);
    }
    if let Back::Sandbox(sandbox) = &sb {
        if matches!(p.trigger, Trigger::Verifying) || p.verify_fails {
            sandbox.pause_endpoints(true);
        }
        sandbox.clear_requests();
    }
    let mut child = spawn(&sb, &p.cmd.args(), &flags, home.path());
    match p.trigger {
        Trigger::Hang {
            verb,
            resource,
            name,
            skip,
        } => wait_for(&mut child, "the chosen request hangs", || {
            sb.hung(verb, resource, name, skip)
        }),
        Trigger::Verifying => wait_for(&mut child, "verification watches the endpoints", || {
            sb.journal("blueservice", "step").as_deref() == Some("verify")
                && match &sb {
                    Back::Sandbox(sandbox) => sandbox.requests().iter().any(|r| {
                        r.path.ends_with("/endpointslices") && r.query_param("watch").is_some()
                    }),
                    Back::Real { .. } => true,
                }
        }),
        Trigger::Delay => wait_for(&mut child, "the cleanup is pending", || {
            sb.journal("blueservice", "step").as_deref() == Some("cleanup")
        }),
    }
    if let (true, Back::Sandbox(sb)) = (p.verify_fails, &sb) {
        assert!(
            sb.requests()
                .iter()
                .any(|r| r.method == "PATCH" && r.status == 0 && r.body.contains("last-failure")),
            "{}: the held request is the flip back",
            p.name
        );
    }
    // SIGKILL: no handler runs, nothing is tidied up.
    child.kill().expect("the process is killed");
    let killed = child.wait().expect("the process is reaped");
    assert_eq!(killed.code(), None, "{}: killed by a signal", p.name);
    sb.release();

    // What the kill left, as stored.
    let a = p.after_kill;
    assert_eq!(
        sb.selected("blueservice", "app"),
        a.selects,
        "{}: selector after the kill",
        p.name
    );
    assert_eq!(
        sb.journal("blueservice", "step").as_deref(),
        a.step,
        "{}: journal step after the kill",
        p.name
    );
    assert_eq!(
        sb.replicas("bluedeploy"),
        a.blue,
        "{}: bluedeploy after the kill",
        p.name
    );
    assert_eq!(
        test_service_exists(&sb),
        a.test_service,
        "{}: greenservice after the kill",
        p.name
    );
    serves(&sb, &format!("{}: after the kill", p.name));

    // status explains it from the journal.
    let doc = status(&sb);
    let journal_doc = &doc["service"]["journal"];
    assert_eq!(
        journal_doc["step"].as_str(),
        a.step,
        "{}: status shows the journal's step\n{doc:#}",
        p.name
    );
    let verdict = &doc["verdict"];
    let summary = verdict["summary"].as_str().unwrap_or_default().to_string();
    match a.step {
        Some(step) => {
            assert_eq!(
                verdict["interruptedStep"].as_str(),
                Some(step),
                "{}: {doc:#}",
                p.name
            );
            let during = if step == "verify" {
                "verification"
            } else {
                step
            };
            assert!(
                summary.contains(&format!("interrupted during {during}")),
                "{}: {summary}",
                p.name
            );
            assert_eq!(
                verdict["nextCommand"].as_str(),
                Some("kubectl bluegreen cleanup blueservice"),
                "{}: {summary}",
                p.name
            );
        }
        None => {
            assert!(verdict["interruptedStep"].is_null(), "{}: {doc:#}", p.name);
            // Nothing half-done: the verdict is the command that moves traffic to where the
            // killed one was taking it.
            let expected = match (p.cmd, a.selects) {
                (Cmd::Promote | Cmd::PromoteDelete, "blue") => "promote",
                _ => "rollback",
            };
            assert_eq!(
                verdict["action"].as_str(),
                Some(expected),
                "{}: {summary}",
                p.name
            );
        }
    }

    // Finish it.
    let finish_args: Vec<String> = match p.finish {
        Finish::Same => p.cmd.args().iter().map(|s| s.to_string()).collect(),
        Finish::ByRollback => {
            assert!(
                summary.contains("`kubectl bluegreen rollback blueservice` would move blueservice back from green to blue"),
                "{}: status offers rollback: {summary}",
                p.name
            );
            vec!["rollback".to_string(), "blueservice".to_string()]
        }
        Finish::Recommended => {
            let next = verdict["nextCommand"].as_str().unwrap_or_default();
            next.strip_prefix("kubectl bluegreen ")
                .unwrap_or_else(|| panic!("{}: no recommended command: {summary}", p.name))
                .split_whitespace()
                .map(str::to_string)
                .collect()
        }
    };
    let finish_refs: Vec<&str> = finish_args.iter().map(String::as_str).collect();
    run_cmd(&sb, &finish_refs, &["--scale-down-delay", "0"]).expect_code(0);
    serves(&sb, &format!("{}: after finishing", p.name));
    assert_eq!(
        sb.journal("blueservice", "step"),
        None,
        "{}: nothing is left in progress",
        p.name
    );
    let end = match (p.cmd, p.finish) {
        (Cmd::Promote | Cmd::PromoteDelete, Finish::ByRollback) => {
            assert_eq!(sb.selected("blueservice", "app"), "blue", "{}", p.name);
            assert_eq!(
                sb.replicas("bluedeploy"),
                Some(3),
                "{}: no lost replica",
                p.name
            );
            assert_eq!(sb.serving_pods("blue"), 3, "{}", p.name);
            assert_eq!(sb.replicas("greendeploy"), Some(0), "{}", p.name);
            assert_eq!(
                sb.journal("blueservice", "scaled-down-replicas").as_deref(),
                Some("3"),
                "{}: green's replica count is remembered",
                p.name
            );
            if p.cmd == Cmd::PromoteDelete {
                assert!(
                    test_service_exists(&sb),
                    "{}: the test Service is back",
                    p.name
                );
            }
            "rolled back: blue live with 3, green at 0 with 3 remembered"
        }
        (Cmd::Promote, _) => {
            assert_eq!(sb.selected("blueservice", "app"), "green", "{}", p.name);
            assert_eq!(sb.replicas("greendeploy"), Some(3), "{}", p.name);
            assert_eq!(sb.replicas("bluedeploy"), Some(0), "{}", p.name);
            assert_eq!(
                sb.journal("blueservice", "scaled-down-replicas").as_deref(),
                Some("3"),
                "{}: the replica count is remembered",
                p.name
            );
            // No replica lost: rollback brings back all 3.
            rollback_restores_blue(&sb, p.name);
            "green live, blue at 0 with 3 remembered; rollback restored 3"
        }
        (Cmd::PromoteDelete, _) => {
            assert_eq!(sb.selected("blueservice", "app"), "green", "{}", p.name);
            assert_eq!(sb.replicas("bluedeploy"), None, "{}", p.name);
            assert!(!test_service_exists(&sb), "{}", p.name);
            let saved = sb
                .journal("blueservice", "saved-deployment")
                .unwrap_or_else(|| panic!("{}: the Deployment is saved", p.name));
            assert!(saved.contains("\"bluedeploy\""), "{}: {saved}", p.name);
            // Nothing deleted that cannot be restored.
            rollback_restores_blue(&sb, p.name);
            assert!(
                test_service_exists(&sb),
                "{}: rollback re-created the test Service",
                p.name
            );
            "green live, blue deleted and saved; rollback re-created it with 3"
        }
        (Cmd::Rollback, _) => {
            assert_eq!(sb.selected("blueservice", "app"), "blue", "{}", p.name);
            assert_eq!(sb.replicas("bluedeploy"), Some(3), "{}", p.name);
            assert_eq!(sb.replicas("greendeploy"), Some(0), "{}", p.name);
            assert_eq!(
                sb.journal("blueservice", "scaled-down-replicas").as_deref(),
                Some("3"),
                "{}: green's replica count is remembered",
                p.name
            );
            if p.setup == Setup::PromotedDeleted {
                assert!(
                    test_service_exists(&sb),
                    "{}: the test Service is back",
                    p.name
                );
            }
            "blue live with 3, green at 0 with 3 remembered"
        }
    };
    let step = a.step.unwrap_or("none");
    format!(
        "killed with {} selected, step {step}; finished by {}: {end}",
        a.selects,
        finish_args.join(" ")
    )
}

fn rollback_restores_blue(sb: &Back, name: &str) {
    run_cmd(
        sb,
        &["rollback", "blueservice", "--cleanup", "none"],
        &["--scale-down-delay", "0"],
    )
    .expect_code(0);
    assert_eq!(sb.selected("blueservice", "app"), "blue", "{name}");
    assert_eq!(
        sb.replicas("bluedeploy"),
        Some(3),
        "{name}: no lost replica"
    );
    assert_eq!(sb.serving_pods("blue"), 3, "{name}");
}

/// Tries the points `jobs` at a time, each on a back-end `make` gives it; prints every point
/// with its outcome and the totals, and fails if any did not converge.
fn run_points(
    title: &str,
    points: &[&CrashPoint],
    jobs: usize,
    make: &(dyn Fn(&CrashPoint) -> Back + Sync),
) {
    let started = Instant::now();
    let next = Mutex::new(0usize);
    let results: Mutex<Vec<(usize, Result<String, String>)>> = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..jobs {
            scope.spawn(|| {
                loop {
                    let i = {
                        let mut n = next.lock().expect("the counter");
                        let i = *n;
                        *n += 1;
                        i
                    };
                    let Some(p) = points.get(i) else {
                        return;
                    };
                    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                        try_point(p, make(p))
                    }))
                    .map_err(|e| {
                        e.downcast_ref::<String>()
                            .cloned()
                            .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
                            .unwrap_or_else(|| "panicked".to_string())
                    });
                    results.lock().expect("the results").push((i, outcome));
                }
            });
        }
    });
    let mut results = results.into_inner().expect("the results");
    results.sort_by_key(|(i, _)| *i);
    let mut failed = 0;
    let mut report = format!("{title}: crash points tried: {}\n", results.len());
    for (i, outcome) in &results {
        match outcome {
            Ok(line) => report.push_str(&format!("  ok    {}: {line}\n", points[*i].name)),
            Err(e) => {
                failed += 1;
                report.push_str(&format!("  FAIL  {}: {e}\n", points[*i].name));
            }
        }
    }
    report.push_str(&format!(
        "{title}: crash points: {} converged, {failed} failed, in {:.0?} ({jobs} at a time)\n",
        results.len() - failed,
        started.elapsed()
    ));
    // Straight to stderr, not through the test harness's capture: the list belongs in every
    // run's log, not only in a failing one.
    let _ = std::io::Write::write_all(&mut std::io::stderr(), report.as_bytes());
    assert_eq!(results.len(), points.len());
    assert_eq!(failed, 0, "some crash points did not converge (see above)");
}

#[test]
fn a_release_killed_at_any_step_is_explained_and_finished_by_running_it_again() {
    let points = crash_points();
    let all: Vec<&CrashPoint> = points.iter().collect();
    // A few sandboxes at a time: the machine is shared.
    run_points("sandbox", &all, 4, &|_| Back::sandbox());
}

/// On the real control plane, by rule: every point where a request that changes the cluster
/// hangs at the fault proxy while the process is killed (the points that need the sandbox to
/// hold the endpoints still, or that wait on a read, stay with the sandbox).
#[test]
#[ignore = "real control plane: tests/control-plane/build.sh, then cargo test -- --include-ignored"]
fn real_a_release_killed_at_any_change_is_explained_and_finished_by_running_it_again() {
    assert_eq!(
        "real control plane: tests/control-plane/build.sh, then cargo test -- --include-ignored",
        backends::REAL_IGNORED
    );
    let points = crash_points();
    let chosen: Vec<&CrashPoint> = points
        .iter()
        .filter(|p| {
            !p.verify_fails
                && matches!(p.trigger, Trigger::Hang { verb, .. } if ["create", "patch", "delete"].contains(&verb))
        })
        .collect();
    assert!(chosen.len() >= 20, "{} points chosen", chosen.len());
    run_points("real", &chosen, 8, &|p| {
        Back::real(&format!(
            "crash-{}",
            p.name.split(':').next().unwrap_or("point")
        ))
    });
}
