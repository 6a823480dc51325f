//! Side-by-side measurements of `kubectl-bluegreen` against what a user does by hand with the
//! real `kubectl`, on the bundled sandbox cluster started in this process, and (section `real`)
//! on a real kube-apiserver from `tests/control-plane` beside the sandbox. Without the control
//! plane's binaries (`tests/control-plane/build.sh`, or `BLUEGREEN_CONTROL_PLANE_DIR` naming a
//! build) that section says it was skipped and measures nothing.
//!
//! ```sh
//! cargo bench --bench side_by_side
//! ```
//!
//! Every comparison alternates its commands within one run (the order rotates each iteration)
//! so that load from the rest of the machine falls on all of them alike; the report gives
//! medians and the median of the per-iteration ratios. The plugin is the release binary Cargo
//! builds for the bench (`CARGO_BIN_EXE_kubectl-bluegreen`, in `target/release/`).
//!
//! Environment:
//! - `BENCH_PLUGIN`: another build of the plugin to measure instead;
//! - `BENCH_BASELINE`: another build of the plugin (an earlier version) to measure alongside
//!   it on the large namespace, alternating with it, time and peak RSS; and in section `real`,
//!   its `status` on both back-ends, alternating with the other commands;
//! - `BENCH_KUBECTL`: the kubectl to compare against (default: the v1.33 build of the Cloud
//!   SDK if present, matching the sandbox's server version, else `kubectl` on `PATH`);
//! - `BENCH_ITERATIONS` (default 21), `BENCH_LARGE_ITERATIONS` (default 3) and
//!   `BENCH_FLIP_ITERATIONS` (default 11);
//! - `BENCH_SKIP_LARGE=1` skips the large namespace;
//! - `BENCH_ONLY`: a comma-separated subset of `small`, `startup`, `large`, `flip` and `real`
//!   to run;
//! - `BENCH_SERVE_LARGE=1`: sets up the large namespace, prints the plugin's command line for
//!   it and serves until standard input closes, for profiling the plugin against it by hand.

// The sandbox's store takes closures returning its `ApiError` by value.
#![allow(clippy::result_large_err)]

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use sandbox::resources;
use sandbox::scenarios::{LARGE_DEPLOYMENTS, LARGE_REPLICAS};
use sandbox::store::{DeleteOpts, Event, EventType, UpdateOpts};
use sandbox::{LoggedRequest, Options, Sandbox};
use tokio::sync::broadcast::{self, error::TryRecvError};

/// The plugin under measurement: the release build made for this bench, unless
/// `BENCH_PLUGIN` names another build (for comparing two versions with the same bench).
fn plugin() -> &'static str {
    static PLUGIN: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    PLUGIN.get_or_init(|| {
        std::env::var("BENCH_PLUGIN")
            .unwrap_or_else(|_| env!("CARGO_BIN_EXE_kubectl-bluegreen").to_string())
    })
}

/// Pods per colour in the large namespace; the sandbox's `large` scenario adds 200 other
/// Deployments of 100 pods each.
const LARGE_PER_COLOUR: usize = 5_000;
/// Pods added to each other Deployment to show that the plugin's memory does not follow them.
const OTHER_GROWTH: usize = 50;

/// Green's replacement pods turn Ready this long (wall-clock) after they start, while
/// `promote --wait` is already waiting for them.
const FLIP_READY_AFTER_MS: u64 = 2_000;

/// Added to every request while round trips are counted, so that concurrent requests overlap
/// visibly and sequential ones do not.
const PROBE_LATENCY: Duration = Duration::from_millis(40);

fn main() {
    let kubectl = kubectl_binary();
    let iterations = env_usize("BENCH_ITERATIONS", 21);
    let large_iterations = env_usize("BENCH_LARGE_ITERATIONS", 3);
    if std::env::var("BENCH_SERVE_LARGE").is_ok_and(|v| v == "1") {
        serve_large();
        return;
    }
    let mut report = Report;
    report.line(&machine(&kubectl));

    if selected("small") {
        small_namespace(&kubectl, iterations, &mut report);
    }
    if selected("startup") {
        startup_and_size(iterations.max(31), &mut report);
    }
    if std::env::var("BENCH_SKIP_LARGE").is_ok_and(|v| v == "1") {
        report.line("large namespace: skipped (BENCH_SKIP_LARGE=1)");
    } else if selected("large") {
        large_namespace(&kubectl, large_iterations, &mut report);
    }
    if selected("flip") {
        flip_latency(env_usize("BENCH_FLIP_ITERATIONS", 11), &mut report);
    }
    if selected("real") {
        real_backend(
            &kubectl,
            iterations,
            env_usize("BENCH_FLIP_ITERATIONS", 11),
            &mut report,
        );
    }
    report.line(&format!("load average at the end: {}", load_average()));
}

// ---------------------------------------------------------------------------------------------
// The measurements

/// (a) and (e): the `classic` pair, plugin against the kubectl sequence and one `kubectl get pods`.
fn small_namespace(kubectl: &Path, iterations: usize, report: &mut Report) {
    let sb = start_sandbox();
    sb.load_scenario("classic")
        .unwrap_or_else(|e| fail(&format!("cannot load the classic scenario: {e}")));
    let ctx = Ctx::new(sb.kubeconfig_path(), kubectl, "default");
    ctx.check_plugin_output(3);

    let cases = [
        Case::new("plugin: status -o json", || ctx.plugin_status().run()),
        Case::new("kubectl sequence (5 commands, warm cache)", || {
            ctx.sequence_warm()
        }),
        Case::new("kubectl sequence (5 commands, cold cache)", || {
            ctx.sequence_cold()
        }),
        Case::new("kubectl get pods (one command, warm cache)", || {
            ctx.kubectl_get_pods().run()
        }),
    ];
    let samples = alternate(&cases, iterations, 2);
    report.section(&format!(
        "(a) status, `classic` pair (3 pods per colour), {iterations} alternating iterations"
    ));
    report.timings(&cases, &samples);

    report.section("(e) API requests and sequential round trips, `classic` pair");
    report.line(&format!(
        "round trips: requests are observed in the sandbox's request log while {} ms is added \
         to each; a request that starts after another has been answered is one round trip later",
        PROBE_LATENCY.as_millis()
    ));
    let plugin = probe(&sb, || {
        ctx.plugin_status().run();
    });
    let warm = probe(&sb, || {
        ctx.sequence_warm();
    });
    let cold = probe(&sb, || {
        ctx.sequence_cold();
    });
    let pods = probe(&sb, || {
        ctx.kubectl_get_pods().run();
    });
    report.requests(&[
        ("plugin: status -o json", &plugin),
        ("kubectl sequence (warm cache)", &warm),
        ("kubectl sequence (cold cache)", &cold),
        ("kubectl get pods (warm cache)", &pods),
    ]);
    report.line("plugin requests:");
    for r in &plugin.requests {
        report.line(&format!("  {}", describe(r)));
    }
}

/// (d): process start and binary size.
fn startup_and_size(iterations: usize, report: &mut Report) {
    let help = Run::new(plugin(), ["--help"]);
    let baseline = Run::new("/bin/true", [] as [&str; 0]);
    let cases = [
        Case::new("plugin --help", || help.run()),
        Case::new("/bin/true (process spawn floor)", || baseline.run()),
    ];
    let samples = alternate(&cases, iterations, 3);
    report.section(&format!(
        "(d) process start, {iterations} alternating iterations"
    ));
    report.timings(&cases, &samples);

    let bytes =
        std::fs::read(plugin()).unwrap_or_else(|e| fail(&format!("read {}: {e}", plugin())));
    // A stripped ELF has no symbol table section, so its name is not in the section names.
    let stripped = !bytes.windows(b".symtab".len()).any(|w| w == b".symtab");
    report.line(&format!(
        "release binary: {}: {:.1} MB ({} bytes), stripped: {}",
        plugin(),
        bytes.len() as f64 / 1e6,
        bytes.len(),
        if stripped { "yes" } else { "no" }
    ));
}

/// Whether `BENCH_ONLY` (all when unset) names the section.
fn selected(section: &str) -> bool {
    std::env::var("BENCH_ONLY")
        .map(|only| only.split(',').any(|s| s.trim() == section))
        .unwrap_or(true)
}

/// The sandbox with the large namespace of (b).
fn large_sandbox() -> Sandbox {
    let sb = start_sandbox();
    sb.load_scenario("large")
        .unwrap_or_else(|e| fail(&format!("cannot load the large scenario: {e}")));
    for colour in ["blue", "green"] {
        scale(&sb, "large", &format!("{colour}deploy"), LARGE_PER_COLOUR);
    }
    settle(&sb);
    sb
}

/// `BENCH_SERVE_LARGE=1`: the large namespace of (b), served until standard input closes.
fn serve_large() {
    let sb = large_sandbox();
    let mut args = vec![plugin().to_string()];
    args.extend(strings(&[
        "status",
        "blueservice",
        "-o",
        "json",
        "-n",
        "large",
    ]));
    args.push("--kubeconfig".into());
    args.push(sb.kubeconfig_path().display().to_string());
    println!("{}", args.join(" "));
    eprintln!("serving the large namespace; close standard input to stop");
    let _ = std::io::copy(&mut std::io::stdin().lock(), &mut std::io::sink());
}

/// (b): 5,000 pods per colour among 20,000 others; time, requests and peak RSS, then the same
/// with 10,000 more other pods to show that memory follows the pair, not the namespace.
fn large_namespace(kubectl: &Path, iterations: usize, report: &mut Report) {
    let started = Instant::now();
    let sb = large_sandbox();
    let others = LARGE_DEPLOYMENTS * LARGE_REPLICAS;
    report.section(&format!(
        "(b) large namespace: {LARGE_PER_COLOUR} pods per colour + {others} other pods of \
         {LARGE_DEPLOYMENTS} Deployments ({} total), {iterations} alternating iterations \
         (set up in {:.0?})",
        2 * LARGE_PER_COLOUR + others,
        started.elapsed()
    ));
    let ctx = Ctx::new(sb.kubeconfig_path(), kubectl, "large");
    ctx.check_plugin_output(LARGE_PER_COLOUR);

    let baseline = std::env::var("BENCH_BASELINE")
        .ok()
        .filter(|b| !b.is_empty())
        .map(|b| Run::new(b, ctx.plugin_args()));
    if let Some(b) = &baseline {
        report.line(&format!("baseline plugin: {}", b.program.display()));
    }
    let mut cases = vec![
        Case::new("plugin: status -o json", || ctx.plugin_status().run()),
        Case::new("kubectl sequence (5 commands, warm cache)", || {
            ctx.sequence_warm()
        }),
        Case::new("kubectl get pods (one command, warm cache)", || {
            ctx.kubectl_get_pods().run()
        }),
    ];
    if let Some(b) = &baseline {
        cases.push(Case::new("baseline plugin: status -o json", || b.run()));
    }
    let samples = alternate(&cases, iterations, 1);
    report.timings(&cases, &samples);

    let plugin = probe(&sb, || {
        ctx.plugin_status().run();
    });
    let warm = probe(&sb, || {
        ctx.sequence_warm();
    });
    let pods = probe(&sb, || {
        ctx.kubectl_get_pods().run();
    });
    report.requests(&[
        ("plugin: status -o json", &plugin),
        ("kubectl sequence (warm cache)", &warm),
        ("kubectl get pods (warm cache)", &pods),
    ]);

    report.line(&format!(
        "plugin requests in flight (as observed, each including the {} ms added):",
        PROBE_LATENCY.as_millis()
    ));
    for (r, (start, end)) in plugin.requests.iter().zip(&plugin.intervals) {
        let took = end.map_or("unanswered".to_string(), |e| ms(e.saturating_sub(*start)));
        report.line(&format!("  {took:>10}  {}", describe(r)));
    }

    let rss_runs = iterations.clamp(1, 5);
    let (plugin_rss, plugin_cpu) = median_usage(&ctx.plugin_status(), rss_runs);
    let sequence_rss = ctx
        .sequence(ctx.warm_cache.path())
        .iter()
        .map(|run| median_usage(run, 1).0)
        .fold(0.0, f64::max);
    let (kubectl_rss, _) = median_usage(&ctx.kubectl_get_pods(), rss_runs);
    if let Some(b) = &baseline {
        let (rss, cpu) = median_usage(b, rss_runs);
        report.line(&format!(
            "peak RSS (GNU time %M): baseline plugin {rss:.1} MB (median of {rss_runs}; CPU time \
             user+system {cpu:.2} s)"
        ));
    }
    report.line(&format!(
        "peak RSS (GNU time %M): plugin {plugin_rss:.1} MB (median of {rss_runs}; CPU time \
         user+system {plugin_cpu:.2} s); the largest command of the kubectl sequence \
         {sequence_rss:.1} MB; kubectl get pods {kubectl_rss:.1} MB (median of {rss_runs})"
    ));

    // More pods of other Deployments: the plugin's memory must not follow them.
    let started = Instant::now();
    for i in 0..LARGE_DEPLOYMENTS {
        scale(
            &sb,
            "large",
            &format!("app-{i:03}"),
            LARGE_REPLICAS + OTHER_GROWTH,
        );
    }
    settle(&sb);
    let setup = started.elapsed();
    let more = LARGE_DEPLOYMENTS * (LARGE_REPLICAS + OTHER_GROWTH);
    let (grown_rss, _) = median_usage(&ctx.plugin_status(), rss_runs);
    let status = ctx.plugin_status();
    let grown_time = median(&(0..rss_runs).map(|_| status.run()).collect::<Vec<_>>());
    report.line(&format!(
        "with {more} other pods ({} total, set up in {setup:.0?}): plugin peak RSS {:.1} MB \
         ({:+.1} MB for {} more other pods), status {} (median of {rss_runs}, not alternated)",
        2 * LARGE_PER_COLOUR + more,
        grown_rss,
        grown_rss - plugin_rss,
        more - others,
        ms(grown_time)
    ));
}

/// (c): flip latency of `promote --wait --yes`: from the sandbox marking green's last pod
/// Ready to the flipped Service being stored, both as seen on the store's event stream.
fn flip_latency(iterations: usize, report: &mut Report) {
    let sb = flip_sandbox();
    let promote = promote_run(sb.kubeconfig_path());
    let mut runs = Vec::new();
    for i in 0..=iterations {
        let times = sandbox_flip_once(&sb, &promote);
        if i > 0 {
            runs.push(times);
        }
    }
    let latencies: Vec<Duration> = runs.iter().map(FlipTimes::ready_to_flip).collect();
    let idle: Vec<Duration> = runs.iter().filter_map(FlipTimes::idle).collect();
    let waiting: Vec<Duration> = runs.iter().map(FlipTimes::waiting).collect();
    report.section(&format!(
        "(c) flip latency, promote --wait --yes --cleanup none, {iterations} iterations"
    ));
    report.line(&format!(
        "green's last pod Ready -> flipped Service stored: median {}, min {}, max {} \
         (promote had been waiting a median {} for green)",
        ms(median(&latencies)),
        ms(latencies.iter().min().copied().unwrap_or_default()),
        ms(latencies.iter().max().copied().unwrap_or_default()),
        ms(median(&waiting))
    ));
    report.line(&format!(
        "of which no request reached the server for: median {} (green Ready -> promote's \
         next API request), then {} to the flip",
        ms(median(&idle)),
        ms(median(&latencies).saturating_sub(median(&idle)))
    ));
    let verified: Vec<Duration> = runs.iter().map(FlipTimes::flip_to_verified).collect();
    let exited: Vec<Duration> = runs.iter().map(FlipTimes::flip_to_exit).collect();
    report.line(&format!(
        "flipped Service stored -> its EndpointSlices hold only green: median {}; -> promote \
         exited (verified): median {}",
        ms(median(&verified)),
        ms(median(&exited))
    ));
}

/// A real-time sandbox (the readiness delay is wall-clock) holding the flip pair.
fn flip_sandbox() -> Sandbox {
    let sb = Sandbox::start(Options::default())
        .unwrap_or_else(|e| fail(&format!("cannot start the sandbox: {e}")));
    sb.load_yaml(&flip_pair())
        .unwrap_or_else(|e| fail(&format!("cannot load the pair: {e}")));
    settle(&sb);
    sb
}

/// Blue serving through `blueservice`; green's pods turn Ready [`FLIP_READY_AFTER_MS`] after
/// they start.
fn flip_pair() -> String {
    let mut yaml = deployment("bluedeploy", "blue", 3, 0);
    yaml.push_str(&service("blueservice", "blue"));
    yaml.push_str(&deployment("greendeploy", "green", 3, FLIP_READY_AFTER_MS));
    yaml.push_str(&service("greenservice", "green"));
    yaml
}

fn promote_run(kubeconfig: &Path) -> Run {
    let kubeconfig = kubeconfig.display().to_string();
    Run::new(
        plugin(),
        [
            "promote",
            "blueservice",
            "--wait",
            "--yes",
            "--cleanup",
            "none",
            "--timeout",
            "60s",
            "--kubeconfig",
            &kubeconfig,
        ],
    )
}

/// One promotion on the sandbox, from blue serving, while green's pods are replaced.
fn sandbox_flip_once(sb: &Sandbox, promote: &Run) -> FlipTimes {
    select_colour(sb, "blue");
    settle(sb);
    let mut events = sb.store().subscribe();
    replace_green_pods(sb);
    sb.clear_requests();
    let done = AtomicBool::new(false);
    let spawned = Instant::now();
    let mut times = std::thread::scope(|s| {
        let observer = s.spawn(|| observe_flip(sb, &mut events, &done));
        promote.run();
        let exited = Instant::now();
        done.store(true, Ordering::Release);
        let mut times = observer.join().unwrap_or_default();
        times.exited = Some(exited);
        times
    });
    times.spawned = Some(spawned);
    if !times.complete() {
        fail(
            "promote ended without the sandbox seeing green Ready, the flip and green's endpoints",
        );
    }
    times
}

// ---------------------------------------------------------------------------------------------
// The sandbox and the commands run against it

fn start_sandbox() -> Sandbox {
    // Fast clock: the scenario settles quickly; nothing measured depends on cluster delays.
    Sandbox::start(Options::default().speed(50.0))
        .unwrap_or_else(|e| fail(&format!("cannot start the sandbox: {e}")))
}

fn settle(sb: &Sandbox) {
    sb.wait_settled(Duration::from_secs(900))
        .unwrap_or_else(|e| fail(&format!("the sandbox did not settle: {e}")));
}

/// Sets a Deployment's replicas, as `kubectl scale` would.
fn scale(sb: &Sandbox, namespace: &str, name: &str, replicas: usize) {
    sb.store()
        .update_with(
            &resources::DEPLOYMENTS,
            namespace,
            name,
            UpdateOpts::default(),
            |old| {
                let mut new = old.clone();
                new["spec"]["replicas"] = replicas.into();
                Ok(new)
            },
        )
        .unwrap_or_else(|e| fail(&format!("cannot scale {name}: {e}")));
}

/// Points `blueservice` at `colour` and forgets the plugin's journal on it.
fn select_colour(sb: &Sandbox, colour: &str) {
    sb.store()
        .update_with(
            &resources::SERVICES,
            "default",
            "blueservice",
            UpdateOpts::default(),
            |old| {
                let mut new = old.clone();
                new["spec"]["selector"] = serde_json::json!({ "app": colour });
                if let Some(a) = new["metadata"]["annotations"].as_object_mut() {
                    a.retain(|k, _| !k.starts_with("bluegreen.dev/"));
                }
                Ok(new)
            },
        )
        .unwrap_or_else(|e| fail(&format!("cannot reset blueservice: {e}")));
}

/// Deletes green's pods at once; their replacements turn Ready after
/// [`FLIP_READY_AFTER_MS`]. Returns once green's Deployment no longer reports them ready,
/// so that `promote --wait` has to wait.
fn replace_green_pods(sb: &Sandbox) {
    let store = sb.store();
    let (pods, _) = store.list(&resources::PODS, Some("default"), |p| {
        p["metadata"]["labels"]["app"] == "green"
    });
    let now = DeleteOpts {
        grace_period_seconds: Some(0),
        ..DeleteOpts::default()
    };
    for pod in pods {
        let name = pod["metadata"]["name"].as_str().unwrap_or_default();
        store
            .delete(&resources::PODS, "default", name, &now)
            .unwrap_or_else(|e| fail(&format!("cannot delete pod {name}: {e}")));
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    while store
        .get(&resources::DEPLOYMENTS, "default", "greendeploy")
        .is_some_and(|d| d["status"]["readyReplicas"].as_u64().unwrap_or(0) >= 3)
    {
        if Instant::now() > deadline {
            fail("greendeploy still reports its deleted pods ready");
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// What one promotion looked like from outside, in wall-clock time.
#[derive(Default)]
struct FlipTimes {
    /// promote was started.
    spawned: Option<Instant>,
    /// Green's ready pods (last) reached 3.
    last_ready: Option<Instant>,
    /// `greendeploy` last came to report 3 ready and 3 available replicas (what promote's
    /// readiness check waits for besides the pods).
    deployment_ready: Option<Instant>,
    /// The first API request after that (promote reading the pair again); the sandbox only.
    next_request: Option<Instant>,
    /// `blueservice` was stored selecting green.
    flipped: Option<Instant>,
    /// After the flip, `blueservice`'s EndpointSlices held green's ready pods and nothing else.
    verified: Option<Instant>,
    /// promote exited (successfully).
    exited: Option<Instant>,
}

impl FlipTimes {
    fn complete(&self) -> bool {
        self.spawned.is_some()
            && self.last_ready.is_some()
            && self.flipped.is_some()
            && self.verified.is_some()
            && self.exited.is_some()
    }

    fn between(a: Option<Instant>, b: Option<Instant>) -> Duration {
        match (a, b) {
            (Some(a), Some(b)) => b.saturating_duration_since(a),
            _ => Duration::ZERO,
        }
    }

    fn waiting(&self) -> Duration {
        Self::between(self.spawned, self.last_ready)
    }

    fn ready_to_flip(&self) -> Duration {
        Self::between(self.last_ready, self.flipped)
    }

    fn ready_to_deployment(&self) -> Duration {
        Self::between(self.last_ready, self.deployment_ready)
    }

    fn idle(&self) -> Option<Duration> {
        self.next_request
            .map(|n| Self::between(self.last_ready, Some(n)))
    }

    fn flip_to_verified(&self) -> Duration {
        Self::between(self.flipped, self.verified)
    }

    fn flip_to_exit(&self) -> Duration {
        Self::between(self.flipped, self.exited)
    }

    fn ready_to_exit(&self) -> Duration {
        Self::between(self.last_ready, self.exited)
    }
}

/// Follows green's pods, `blueservice` and its EndpointSlices through one promotion, from
/// events of either back-end (objects as JSON).
#[derive(Default)]
struct FlipState {
    /// Green's pods by name: Ready or not.
    ready: BTreeMap<String, bool>,
    /// `blueservice`'s EndpointSlices by name.
    slices: BTreeMap<String, serde_json::Value>,
    times: FlipTimes,
}

impl FlipState {
    /// Takes one event seen at `now`; true once the flip has been seen verified.
    fn event(&mut self, now: Instant, plural: &str, deleted: bool, o: &serde_json::Value) -> bool {
        let name = o["metadata"]["name"].as_str().unwrap_or_default();
        match plural {
            "pods" if o["metadata"]["labels"]["app"] == "green" => {
                let before = self.ready_count();
                let is_ready = !deleted
                    && o["metadata"].get("deletionTimestamp").is_none()
                    && o["status"]["conditions"].as_array().is_some_and(|c| {
                        c.iter()
                            .any(|c| c["type"] == "Ready" && c["status"] == "True")
                    });
                self.ready.insert(name.to_string(), is_ready);
                if before < 3 && self.ready_count() >= 3 {
                    self.times.last_ready = Some(now);
                    self.times.next_request = None;
                }
            }
            "deployments" if name == "greendeploy" => {
                let at_least = |field: &str| o["status"][field].as_u64().unwrap_or(0) >= 3;
                if deleted || !(at_least("readyReplicas") && at_least("availableReplicas")) {
                    self.times.deployment_ready = None;
                } else if self.times.deployment_ready.is_none() {
                    self.times.deployment_ready = Some(now);
                }
            }
            "services"
                if name == "blueservice"
                    && o["spec"]["selector"]["app"] == "green"
                    && self.times.flipped.is_none() =>
            {
                self.times.flipped = Some(now);
            }
            "endpointslices"
                if o["metadata"]["labels"]["kubernetes.io/service-name"] == "blueservice" =>
            {
                if deleted {
                    self.slices.remove(name);
                } else {
                    self.slices.insert(name.to_string(), o.clone());
                }
            }
            _ => {}
        }
        if self.times.flipped.is_some() && self.times.verified.is_none() && self.green_only() {
            self.times.verified = Some(now);
        }
        self.times.verified.is_some()
    }

    fn ready_count(&self) -> usize {
        self.ready.values().filter(|r| **r).count()
    }

    /// The EndpointSlices list green's 3 ready pods, ready, and no other endpoint.
    fn green_only(&self) -> bool {
        let endpoints: Vec<&serde_json::Value> = self
            .slices
            .values()
            .flat_map(|s| s["endpoints"].as_array().into_iter().flatten())
            .collect();
        let green_ready = |e: &serde_json::Value| {
            e["conditions"]["ready"] != false
                && e["targetRef"]["name"]
                    .as_str()
                    .is_some_and(|n| self.ready.get(n) == Some(&true))
        };
        endpoints.len() >= 3 && endpoints.into_iter().all(green_ready)
    }
}

/// Reads store events, and watches the request log, until the flip is verified or `done`.
fn observe_flip(
    sb: &Sandbox,
    events: &mut broadcast::Receiver<Arc<Event>>,
    done: &AtomicBool,
) -> FlipTimes {
    let mut state = FlipState::default();
    let mut requests_at_ready = 0;
    loop {
        match events.try_recv() {
            Ok(event) => {
                let now = Instant::now();
                let was_ready = state.times.last_ready;
                let verified = state.event(
                    now,
                    event.resource.plural,
                    event.kind == EventType::Deleted,
                    &event.object,
                );
                if state.times.last_ready != was_ready {
                    requests_at_ready = sb.requests().len();
                }
                if verified {
                    return state.times;
                }
            }
            Err(TryRecvError::Empty) => {
                if done.load(Ordering::Acquire) {
                    return state.times;
                }
                let t = &mut state.times;
                if t.last_ready.is_some()
                    && t.next_request.is_none()
                    && sb.requests().len() > requests_at_ready
                {
                    t.next_request = Some(Instant::now());
                }
                std::thread::sleep(Duration::from_micros(200));
            }
            Err(TryRecvError::Lagged(_)) => {}
            Err(TryRecvError::Closed) => return state.times,
        }
    }
}

fn deployment(name: &str, app: &str, replicas: usize, ready_after_ms: u64) -> String {
    format!(
        "---
apiVersion: apps/v1
kind: Deployment
metadata: {{name: {name}, labels: {{app: {app}}}}}
spec:
  replicas: {replicas}
  selector: {{matchLabels: {{app: {app}}}}}
  template:
    metadata:
      labels: {{app: {app}}}
      annotations: {{\"{ready}\": \"{ready_after_ms}\"}}
    spec:
      containers: [{{name: web, image: \"registry.example/{app}:v1\", ports: [{{containerPort: 8080}}]}}]
",
        ready = sandbox::controllers::READY_AFTER_MS
    )
}

fn service(name: &str, app: &str) -> String {
    format!(
        "---
apiVersion: v1
kind: Service
metadata: {{name: {name}}}
spec:
  selector: {{app: {app}}}
  ports: [{{port: 80, targetPort: 8080}}]
"
    )
}

/// The commands of one comparison, all against the same sandbox and namespace.
struct Ctx<'a> {
    kubeconfig: PathBuf,
    namespace: &'a str,
    kubectl: &'a Path,
    /// kubectl's discovery cache, warmed once: what a user normally has.
    warm_cache: tempfile::TempDir,
    /// Parent of the fresh, empty caches of the cold runs.
    cold_caches: tempfile::TempDir,
}

impl<'a> Ctx<'a> {
    fn new(kubeconfig: &Path, kubectl: &'a Path, namespace: &'a str) -> Ctx<'a> {
        let ctx = Ctx {
            kubeconfig: kubeconfig.to_path_buf(),
            namespace,
            kubectl,
            warm_cache: tempdir(),
            cold_caches: tempdir(),
        };
        ctx.sequence_warm();
        ctx
    }

    fn plugin_args(&self) -> Vec<String> {
        let mut args = strings(&["status", "blueservice", "-o", "json", "-n", self.namespace]);
        args.push("--kubeconfig".into());
        args.push(self.kubeconfig.display().to_string());
        args
    }

    fn plugin_status(&self) -> Run {
        Run::new(plugin(), self.plugin_args())
    }

    fn kubectl(&self, cache: &Path, args: &[&str]) -> Run {
        let mut all = strings(args);
        all.extend(strings(&["-n", self.namespace, "--cache-dir"]));
        all.push(cache.display().to_string());
        all.push("--kubeconfig".into());
        all.push(self.kubeconfig.display().to_string());
        Run::new(self.kubectl, all)
    }

    /// What a user runs by hand to learn what `status` shows.
    fn sequence(&self, cache: &Path) -> Vec<Run> {
        [
            &["get", "svc", "blueservice", "-o", "json"][..],
            &["get", "deploy", "bluedeploy", "greendeploy", "-o", "json"],
            &["get", "pods", "-l", "app=blue", "-o", "json"],
            &["get", "pods", "-l", "app=green", "-o", "json"],
            &[
                "get",
                "endpointslices",
                "-l",
                "kubernetes.io/service-name=blueservice",
                "-o",
                "json",
            ],
        ]
        .iter()
        .map(|args| self.kubectl(cache, args))
        .collect()
    }

    fn sequence_warm(&self) -> Duration {
        self.sequence(self.warm_cache.path())
            .iter()
            .map(Run::run)
            .sum()
    }

    /// The sequence starting from an empty discovery cache (the first command fills it).
    fn sequence_cold(&self) -> Duration {
        let cache = tempfile::tempdir_in(self.cold_caches.path())
            .unwrap_or_else(|e| fail(&format!("cannot create a cache directory: {e}")));
        self.sequence(cache.path()).iter().map(Run::run).sum()
    }

    fn kubectl_get_pods(&self) -> Run {
        self.kubectl(self.warm_cache.path(), &["get", "pods"])
    }

    /// The plugin answers, and with the pods it should.
    fn check_plugin_output(&self, per_colour: usize) {
        let out = Command::new(plugin())
            .args(self.plugin_args())
            .output()
            .unwrap_or_else(|e| fail(&format!("cannot run {}: {e}", plugin())));
        if !out.status.success() {
            fail(&format!(
                "status failed: {}",
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        let json: serde_json::Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| fail(&format!("status -o json is not JSON: {e}")));
        let pods: Vec<usize> = json["colours"]
            .as_array()
            .map(|colours| {
                colours
                    .iter()
                    .map(|c| c["pods"].as_array().map_or(0, Vec::len))
                    .collect()
            })
            .unwrap_or_default();
        if pods != [per_colour, per_colour] {
            fail(&format!(
                "status -o json shows {pods:?} pods per colour, expected {per_colour} each"
            ));
        }
    }
}

/// One command, run with its output discarded; a failure ends the bench.
#[derive(Clone)]
struct Run {
    program: PathBuf,
    args: Vec<String>,
}

impl Run {
    fn new<S: AsRef<str>>(program: impl AsRef<Path>, args: impl IntoIterator<Item = S>) -> Run {
        Run {
            program: program.as_ref().to_path_buf(),
            args: args.into_iter().map(|a| a.as_ref().to_string()).collect(),
        }
    }

    fn command(&self) -> Command {
        let mut cmd = Command::new(&self.program);
        cmd.args(&self.args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        cmd
    }

    /// Wall time from spawn to exit.
    fn run(&self) -> Duration {
        let started = Instant::now();
        let out = self.command().output();
        let elapsed = started.elapsed();
        self.check(out);
        elapsed
    }

    /// Peak resident memory (KiB) and CPU time (user + system), as GNU time reports them.
    fn usage(&self) -> Option<Usage> {
        let time = Path::new("/usr/bin/time");
        if !time.exists() {
            return None;
        }
        let file = tempfile::NamedTempFile::new().ok()?;
        let out = Command::new(time)
            .args(["-f", "%M %U %S", "-o"])
            .arg(file.path())
            .arg(&self.program)
            .args(&self.args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .output();
        self.check(out);
        let text = std::fs::read_to_string(file.path()).ok()?;
        let fields: Vec<f64> = text
            .split_whitespace()
            .filter_map(|f| f.parse().ok())
            .collect();
        match fields[..] {
            [kb, user, system] => Some(Usage {
                max_rss_kb: kb,
                cpu_s: user + system,
            }),
            _ => None,
        }
    }

    fn check(&self, out: std::io::Result<std::process::Output>) {
        match out {
            Ok(out) if out.status.success() => {}
            Ok(out) => fail(&format!(
                "{} {:?} failed ({}): {}",
                self.program.display(),
                self.args,
                out.status,
                String::from_utf8_lossy(&out.stderr)
            )),
            Err(e) => fail(&format!("cannot run {}: {e}", self.program.display())),
        }
    }
}

/// What GNU time reports of one run.
struct Usage {
    max_rss_kb: f64,
    cpu_s: f64,
}

/// Medians over `runs` runs: peak RSS in MB and CPU seconds.
fn median_usage(run: &Run, runs: usize) -> (f64, f64) {
    let usages: Vec<Usage> = (0..runs).filter_map(|_| run.usage()).collect();
    let middle = |mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
    };
    (
        middle(usages.iter().map(|u| u.max_rss_kb / 1024.0).collect()),
        middle(usages.iter().map(|u| u.cpu_s).collect()),
    )
}

// ---------------------------------------------------------------------------------------------
// Alternation and statistics

struct Case<'a> {
    name: &'static str,
    run: Box<dyn Fn() -> Duration + 'a>,
}

impl<'a> Case<'a> {
    fn new(name: &'static str, run: impl Fn() -> Duration + 'a) -> Case<'a> {
        Case {
            name,
            run: Box::new(run),
        }
    }
}

/// Runs every case once per iteration, rotating the order; `warmup` iterations are not kept.
fn alternate(cases: &[Case], iterations: usize, warmup: usize) -> Vec<Vec<Duration>> {
    let mut samples = vec![Vec::with_capacity(iterations); cases.len()];
    for i in 0..warmup + iterations {
        for k in 0..cases.len() {
            let c = (i + k) % cases.len();
            let took = (cases[c].run)();
            if i >= warmup {
                samples[c].push(took);
            }
        }
    }
    samples
}

fn median(samples: &[Duration]) -> Duration {
    let mut s = samples.to_vec();
    s.sort();
    if s.is_empty() {
        Duration::ZERO
    } else if s.len() % 2 == 1 {
        s[s.len() / 2]
    } else {
        (s[s.len() / 2 - 1] + s[s.len() / 2]) / 2
    }
}

/// Median of the per-iteration ratios `other / base`: each pair was measured back to back.
fn paired_ratio(base: &[Duration], other: &[Duration]) -> f64 {
    let mut r: Vec<f64> = base
        .iter()
        .zip(other)
        .map(|(b, o)| o.as_secs_f64() / b.as_secs_f64())
        .collect();
    r.sort_by(f64::total_cmp);
    if r.len() % 2 == 1 {
        r[r.len() / 2]
    } else {
        (r[r.len() / 2 - 1] + r[r.len() / 2]) / 2.0
    }
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1e3)
}

// ---------------------------------------------------------------------------------------------
// Requests and round trips

/// The requests one command sent, with the times they were seen to start and to be answered.
struct Probe {
    requests: Vec<LoggedRequest>,
    intervals: Vec<(Duration, Option<Duration>)>,
}

impl Probe {
    /// The longest chain of requests each sent after the previous one was answered.
    fn sequential_round_trips(&self) -> usize {
        let mut order: Vec<usize> = (0..self.intervals.len()).collect();
        order.sort_by_key(|&i| self.intervals[i].0);
        let mut depth = vec![1usize; self.intervals.len()];
        for (n, &i) in order.iter().enumerate() {
            let start = self.intervals[i].0;
            for &j in &order[..n] {
                if self.intervals[j].1.is_some_and(|end| end <= start) {
                    depth[i] = depth[i].max(depth[j] + 1);
                }
            }
        }
        depth.into_iter().max().unwrap_or(0)
    }
}

/// Runs `f` with [`PROBE_LATENCY`] added to every request and watches the request log.
fn probe(sb: &Sandbox, f: impl FnOnce()) -> Probe {
    sb.clear_requests();
    sb.faults().set_latency(PROBE_LATENCY);
    let done = AtomicBool::new(false);
    let t0 = Instant::now();
    let intervals = std::thread::scope(|s| {
        let watcher = s.spawn(|| {
            let mut seen: Vec<(Duration, Option<Duration>)> = Vec::new();
            loop {
                let finished = done.load(Ordering::Acquire);
                let now = t0.elapsed();
                for (i, r) in sb.requests().iter().enumerate() {
                    if i == seen.len() {
                        seen.push((now, None));
                    }
                    if r.status != 0 && seen[i].1.is_none() {
                        seen[i].1 = Some(now);
                    }
                }
                if finished {
                    return seen;
                }
                std::thread::sleep(Duration::from_micros(500));
            }
        });
        f();
        done.store(true, Ordering::Release);
        watcher.join().unwrap_or_default()
    });
    sb.faults().set_latency(Duration::ZERO);
    Probe {
        requests: sb.requests(),
        intervals,
    }
}

fn describe(r: &LoggedRequest) -> String {
    if r.query.is_empty() {
        format!("{} {} -> {}", r.method, r.path, r.status)
    } else {
        format!("{} {}?{} -> {}", r.method, r.path, r.query, r.status)
    }
}

// ---------------------------------------------------------------------------------------------
// The report

struct Report;

impl Report {
    fn line(&mut self, text: &str) {
        println!("{text}");
    }

    fn section(&mut self, title: &str) {
        println!("\n## {title}\n");
    }

    /// Medians, and each case against the first (the plugin).
    fn timings(&mut self, cases: &[Case], samples: &[Vec<Duration>]) {
        let mut t = String::new();
        let _ = writeln!(
            t,
            "| command | median | min | max | vs. first: median of ratios | ratio of medians |"
        );
        let _ = writeln!(t, "|---|---:|---:|---:|---:|---:|");
        let base = median(&samples[0]);
        for (case, s) in cases.iter().zip(samples) {
            let m = median(s);
            let _ = writeln!(
                t,
                "| {} | {} | {} | {} | {:.2}× | {:.2}× |",
                case.name,
                ms(m),
                ms(s.iter().min().copied().unwrap_or_default()),
                ms(s.iter().max().copied().unwrap_or_default()),
                paired_ratio(&samples[0], s),
                m.as_secs_f64() / base.as_secs_f64()
            );
        }
        print!("{t}");
    }

    /// Pairs of samples, the sandbox's then the real server's, one pair per name: medians,
    /// the real server against the sandbox, and each against the first pair on its back-end.
    fn backends(&mut self, names: &[&str], samples: &[Vec<Duration>], against_first: bool) {
        let mut t = String::new();
        let _ = write!(
            t,
            "| | sandbox: median (min–max) | real: median (min–max) | real ÷ sandbox: median of \
             ratios (ratio of medians) |"
        );
        if against_first {
            let _ = write!(t, " ÷ first row, sandbox | ÷ first row, real |");
        }
        let _ = writeln!(
            t,
            "\n|---|---:|---:|---:|{}",
            if against_first { "---:|---:|" } else { "" }
        );
        let range = |s: &[Duration]| {
            format!(
                "{} ({:.1}–{:.1})",
                ms(median(s)),
                s.iter().min().copied().unwrap_or_default().as_secs_f64() * 1e3,
                s.iter().max().copied().unwrap_or_default().as_secs_f64() * 1e3
            )
        };
        let ratio_of_medians =
            |a: &[Duration], b: &[Duration]| median(b).as_secs_f64() / median(a).as_secs_f64();
        for (i, name) in names.iter().enumerate() {
            let (sb, real) = (&samples[2 * i], &samples[2 * i + 1]);
            let _ = write!(
                t,
                "| {name} | {} | {} | {:.2}× ({:.2}×) |",
                range(sb),
                range(real),
                paired_ratio(sb, real),
                ratio_of_medians(sb, real),
            );
            if against_first {
                let _ = write!(
                    t,
                    " {:.2}× | {:.2}× |",
                    paired_ratio(&samples[0], sb),
                    paired_ratio(&samples[1], real)
                );
            }
            let _ = writeln!(t);
        }
        print!("{t}");
    }

    fn requests(&mut self, probes: &[(&str, &Probe)]) {
        let mut t = String::new();
        let _ = writeln!(
            t,
            "| command | API requests | of which discovery | sequential round trips |"
        );
        let _ = writeln!(t, "|---|---:|---:|---:|");
        for (name, p) in probes {
            let discovery = p.requests.iter().filter(|r| is_discovery(r)).count();
            let _ = writeln!(
                t,
                "| {name} | {} | {discovery} | {} |",
                p.requests.len(),
                p.sequential_round_trips()
            );
        }
        print!("{t}");
        for (name, p) in probes {
            let unanswered = p.requests.iter().filter(|r| r.status == 0).count();
            if unanswered > 0 {
                println!("note: {name}: {unanswered} requests had no recorded answer");
            }
        }
    }
}

/// `/api`, `/apis`, a group version's resource list, `/version` or OpenAPI.
fn is_discovery(r: &LoggedRequest) -> bool {
    let p = r.path.as_str();
    p == "/version"
        || p.starts_with("/openapi")
        || p == "/api"
        || p == "/apis"
        || (p.starts_with("/api/") && p.matches('/').count() == 2)
        || (p.starts_with("/apis/") && p.matches('/').count() <= 3)
}

// ---------------------------------------------------------------------------------------------
// Environment

fn kubectl_binary() -> PathBuf {
    if let Some(k) = std::env::var_os("BENCH_KUBECTL") {
        return PathBuf::from(k);
    }
    let sdk = Path::new("/usr/lib/google-cloud-sdk/bin/kubectl.1.33");
    if sdk.exists() {
        sdk.to_path_buf()
    } else {
        PathBuf::from("kubectl")
    }
}

fn machine(kubectl: &Path) -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let version = Command::new(kubectl)
        .args(["version", "--client"])
        .output()
        .ok()
        .and_then(|o| {
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .next()
                .map(str::to_string)
        })
        .unwrap_or_default();
    format!(
        "# kubectl-bluegreen side by side\n\nmachine: {cores} cores, {cpu}; load average at the \
         start: {}\nplugin: {}\nkubectl: {} ({version})",
        load_average(),
        plugin(),
        kubectl.display()
    )
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".into())
}

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn strings(args: &[&str]) -> Vec<String> {
    args.iter().map(|a| a.to_string()).collect()
}

fn tempdir() -> tempfile::TempDir {
    tempfile::tempdir().unwrap_or_else(|e| fail(&format!("cannot create a directory: {e}")))
}

fn fail(message: &str) -> ! {
    eprintln!("bench failed: {message}");
    std::process::exit(1)
}

// ---------------------------------------------------------------------------------------------
// The real API server

/// Namespace of the pair on both back-ends in (f) and (g).
const REAL_NAMESPACE: &str = "default";

/// (f) and (g): the flip pair on the sandbox and on a real kube-apiserver (with etcd, the
/// controllers, the scheduler and kwok's simulated kubelets: `tests/control-plane`), side by
/// side in one run: `status` against the kubectl sequence, then the flip. Skipped, saying so,
/// when the control plane's binaries are not built.
fn real_backend(kubectl: &Path, iterations: usize, flip_iterations: usize, report: &mut Report) {
    let cp = match control_plane::ControlPlane::start() {
        Ok(cp) => cp,
        Err(e @ control_plane::Error::NotBuilt { .. }) => {
            report.section("(f), (g) the real API server");
            report.line(&format!(
                "SKIPPED: nothing was measured against a real API server. {e}"
            ));
            return;
        }
        Err(e) => fail(&format!("cannot start the real control plane: {e}")),
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap_or_else(|e| fail(&format!("cannot start a tokio runtime: {e}")));
    let client = rt.block_on(real_client(cp.kubeconfig_path()));
    apply(kubectl, cp.kubeconfig_path(), &flip_pair());
    rt.block_on(settle_real(&client, "blue"));
    let sb = flip_sandbox();
    let header = format!(
        "real back-end: kube-apiserver {} with etcd, kube-controller-manager, kube-scheduler \
         and kwok on 127.0.0.1 ({}; started in {:.1?}); sandbox: in this process, real-time \
         clock; the same pair (blue serving, 3 pods per colour) on both; load average {}",
        cp.version(),
        cp.server_url(),
        cp.startup_time(),
        load_average()
    );

    // (f) status and the kubectl sequence on both back-ends, all eight commands alternating.
    let on_sb = Ctx::new(sb.kubeconfig_path(), kubectl, REAL_NAMESPACE);
    let on_real = Ctx::new(cp.kubeconfig_path(), kubectl, REAL_NAMESPACE);
    on_sb.check_plugin_output(3);
    on_real.check_plugin_output(3);
    // BENCH_BASELINE: an earlier build's status on both back-ends, alternating with the rest.
    let baseline = std::env::var("BENCH_BASELINE")
        .ok()
        .filter(|b| !b.is_empty())
        .map(|b| {
            (
                Run::new(&b, on_sb.plugin_args()),
                Run::new(&b, on_real.plugin_args()),
            )
        });
    let mut cases = vec![
        Case::new("sandbox: plugin", || on_sb.plugin_status().run()),
        Case::new("real: plugin", || on_real.plugin_status().run()),
        Case::new("sandbox: sequence warm", || on_sb.sequence_warm()),
        Case::new("real: sequence warm", || on_real.sequence_warm()),
        Case::new("sandbox: sequence cold", || on_sb.sequence_cold()),
        Case::new("real: sequence cold", || on_real.sequence_cold()),
        Case::new("sandbox: get pods", || on_sb.kubectl_get_pods().run()),
        Case::new("real: get pods", || on_real.kubectl_get_pods().run()),
    ];
    let mut names = vec![
        "plugin: status -o json",
        "kubectl sequence (5 commands, warm cache)",
        "kubectl sequence (5 commands, cold cache)",
        "kubectl get pods (one command, warm cache)",
    ];
    if let Some((on_sb, on_real)) = &baseline {
        cases.push(Case::new("sandbox: baseline plugin", || on_sb.run()));
        cases.push(Case::new("real: baseline plugin", || on_real.run()));
        names.push("baseline plugin: status -o json");
    }
    let commands = cases.len();
    let samples = alternate(&cases, iterations, 2);
    report.section(&format!(
        "(f) status on the sandbox and on the real API server, {iterations} alternating \
         iterations ({commands} commands each)"
    ));
    report.line(&header);
    if let Some((b, _)) = &baseline {
        report.line(&format!("baseline plugin: {}", b.program.display()));
    }
    report.backends(&names, &samples, true);
    report.line(&format!("load average after (f): {}", load_average()));

    // (g) the flip on both back-ends, one after the other, the order swapping each iteration.
    let promote_sb = promote_run(sb.kubeconfig_path());
    let promote_real = promote_run(cp.kubeconfig_path());
    let mut on_sandbox = Vec::new();
    let mut on_server = Vec::new();
    for i in 0..=flip_iterations {
        for real in [i % 2 == 0, i % 2 != 0] {
            let times = if real {
                rt.block_on(real_flip_once(&client, &promote_real))
            } else {
                sandbox_flip_once(&sb, &promote_sb)
            };
            if i > 0 {
                if real {
                    on_server.push(times);
                } else {
                    on_sandbox.push(times);
                }
            }
        }
    }
    report.section(&format!(
        "(g) flip latency on the sandbox and on the real API server, promote --wait --yes \
         --cleanup none, {flip_iterations} iterations each (alternating)"
    ));
    report.line(
        "times as observed by watches (the sandbox: its store's event stream; the real \
         server: list+watch of green's pods, greendeploy, blueservice and its EndpointSlices, \
         opened before green's pods are replaced; a span is 0 when its end was seen first)",
    );
    type Span = fn(&FlipTimes) -> Duration;
    let spans: [(&str, Span); 6] = [
        (
            "promote started -> green's last pod Ready (waiting)",
            FlipTimes::waiting,
        ),
        (
            "green's last pod Ready -> greendeploy reports 3 ready and available",
            FlipTimes::ready_to_deployment,
        ),
        (
            "green's last pod Ready -> flipped Service",
            FlipTimes::ready_to_flip,
        ),
        (
            "flipped Service -> EndpointSlices hold only green",
            FlipTimes::flip_to_verified,
        ),
        (
            "flipped Service -> promote exited (verified)",
            FlipTimes::flip_to_exit,
        ),
        (
            "green's last pod Ready -> promote exited",
            FlipTimes::ready_to_exit,
        ),
    ];
    let mut samples = Vec::new();
    for (_, span) in &spans {
        samples.push(on_sandbox.iter().map(span).collect::<Vec<_>>());
        samples.push(on_server.iter().map(span).collect::<Vec<_>>());
    }
    let names: Vec<&str> = spans.iter().map(|(n, _)| *n).collect();
    report.backends(&names, &samples, false);
    let idle: Vec<Duration> = on_sandbox.iter().filter_map(FlipTimes::idle).collect();
    report.line(&format!(
        "sandbox only (its request log): green Ready -> promote's next API request: median {}",
        ms(median(&idle))
    ));
    report.line(&format!("load average after (g): {}", load_average()));
    drop(client);
    drop(rt);
    drop(cp);
}

async fn real_client(kubeconfig: &Path) -> kube::Client {
    let kc = kube::config::Kubeconfig::read_from(kubeconfig)
        .unwrap_or_else(|e| fail(&format!("cannot read {}: {e}", kubeconfig.display())));
    let config = kube::Config::from_custom_kubeconfig(kc, &Default::default())
        .await
        .unwrap_or_else(|e| fail(&format!("cannot use {}: {e}", kubeconfig.display())));
    kube::Client::try_from(config).unwrap_or_else(|e| fail(&format!("cannot create a client: {e}")))
}

/// `kubectl apply -f -` into [`REAL_NAMESPACE`].
fn apply(kubectl: &Path, kubeconfig: &Path, yaml: &str) {
    use std::io::Write as _;
    let mut child = Command::new(kubectl)
        .args(["apply", "-f", "-", "-n", REAL_NAMESPACE, "--kubeconfig"])
        .arg(kubeconfig)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| fail(&format!("cannot run {}: {e}", kubectl.display())));
    if let Some(mut stdin) = child.stdin.take() {
        let _ = stdin.write_all(yaml.as_bytes());
    }
    match child.wait_with_output() {
        Ok(out) if out.status.success() => {}
        Ok(out) => fail(&format!(
            "kubectl apply failed: {}",
            String::from_utf8_lossy(&out.stderr)
        )),
        Err(e) => fail(&format!("kubectl apply: {e}")),
    }
}

fn real_api<K>(client: &kube::Client) -> kube::Api<K>
where
    K: kube::Resource<Scope = k8s_openapi::NamespaceResourceScope>,
    <K as kube::Resource>::DynamicType: Default,
{
    kube::Api::namespaced(client.clone(), REAL_NAMESPACE)
}

/// Waits until both Deployments have exactly their 3 pods, Ready, and `blueservice`'s
/// EndpointSlices hold `colour`'s 3 ready pods and nothing else.
async fn settle_real(client: &kube::Client, colour: &str) {
    use k8s_openapi::api::core::v1::Pod;
    use k8s_openapi::api::discovery::v1::EndpointSlice;
    let pods = real_api::<Pod>(client);
    let slices = real_api::<EndpointSlice>(client);
    let in_service =
        kube::api::ListParams::default().labels("kubernetes.io/service-name=blueservice");
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let listed = pods.list(&Default::default()).await;
        let sliced = slices.list(&in_service).await;
        if let (Ok(listed), Ok(sliced)) = (listed, sliced) {
            let listed = serde_json::to_value(&listed.items).unwrap_or_default();
            let sliced = serde_json::to_value(&sliced.items).unwrap_or_default();
            let pods_of = |app: &str| -> Vec<&serde_json::Value> {
                listed
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter(|p| p["metadata"]["labels"]["app"] == app)
                    .collect()
            };
            let all_ready = |ps: &[&serde_json::Value]| {
                ps.len() == 3
                    && ps.iter().all(|p| {
                        p["metadata"].get("deletionTimestamp").is_none()
                            && p["status"]["conditions"].as_array().is_some_and(|c| {
                                c.iter()
                                    .any(|c| c["type"] == "Ready" && c["status"] == "True")
                            })
                    })
            };
            let serving: Vec<&str> = pods_of(colour)
                .iter()
                .filter_map(|p| p["metadata"]["name"].as_str())
                .collect();
            let endpoints: Vec<&serde_json::Value> = sliced
                .as_array()
                .into_iter()
                .flatten()
                .flat_map(|s| s["endpoints"].as_array().into_iter().flatten())
                .collect();
            let slices_ok = endpoints.len() == 3
                && endpoints.iter().all(|e| {
                    e["conditions"]["ready"] != false
                        && e["targetRef"]["name"]
                            .as_str()
                            .is_some_and(|n| serving.contains(&n))
                });
            if all_ready(&pods_of("blue")) && all_ready(&pods_of("green")) && slices_ok {
                return;
            }
        }
        if Instant::now() > deadline {
            fail(&format!(
                "the real cluster did not settle with blueservice serving {colour}"
            ));
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Points `blueservice` at `colour` and forgets the plugin's journal on it.
async fn select_colour_real(client: &kube::Client, colour: &str) {
    use k8s_openapi::api::core::v1::Service;
    let services = real_api::<Service>(client);
    let svc = services
        .get("blueservice")
        .await
        .unwrap_or_else(|e| fail(&format!("cannot read blueservice: {e}")));
    let forget: serde_json::Map<String, serde_json::Value> = svc
        .metadata
        .annotations
        .unwrap_or_default()
        .into_keys()
        .filter(|k| k.starts_with("bluegreen.dev/"))
        .map(|k| (k, serde_json::Value::Null))
        .collect();
    let patch = serde_json::json!({
        "metadata": { "annotations": forget },
        "spec": { "selector": { "app": colour } },
    });
    services
        .patch(
            "blueservice",
            &kube::api::PatchParams::default(),
            &kube::api::Patch::Merge(&patch),
        )
        .await
        .unwrap_or_else(|e| fail(&format!("cannot reset blueservice: {e}")));
}

/// Deletes green's pods at once (grace period 0); their replacements turn Ready after
/// [`FLIP_READY_AFTER_MS`]. Returns once green's Deployment no longer reports them ready.
async fn replace_green_pods_real(client: &kube::Client) {
    use k8s_openapi::api::apps::v1::Deployment;
    use k8s_openapi::api::core::v1::Pod;
    let now = kube::api::DeleteParams {
        grace_period_seconds: Some(0),
        ..Default::default()
    };
    real_api::<Pod>(client)
        .delete_collection(&now, &kube::api::ListParams::default().labels("app=green"))
        .await
        .unwrap_or_else(|e| fail(&format!("cannot delete green's pods: {e}")));
    let deployments = real_api::<Deployment>(client);
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let ready = deployments
            .get("greendeploy")
            .await
            .ok()
            .and_then(|d| d.status.and_then(|s| s.ready_replicas))
            .unwrap_or(0);
        if ready < 3 {
            return;
        }
        if Instant::now() > deadline {
            fail("greendeploy still reports its deleted pods ready");
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

/// One event of a watch: when it arrived, the resource, whether a deletion, the object.
type Seen = (Instant, &'static str, bool, serde_json::Value);

/// Lists, reports what is there, opens a watch from the list's resourceVersion and returns
/// once the server has answered it; the returned task forwards its events.
async fn watch_into<K>(
    api: kube::Api<K>,
    plural: &'static str,
    labels: Option<&str>,
    fields: Option<&str>,
    tx: tokio::sync::mpsc::UnboundedSender<Seen>,
) -> tokio::task::JoinHandle<()>
where
    K: kube::Resource
        + Clone
        + std::fmt::Debug
        + serde::de::DeserializeOwned
        + serde::Serialize
        + Send
        + 'static,
{
    use futures::{StreamExt as _, TryStreamExt as _};
    let mut lp = kube::api::ListParams::default();
    let mut wp = kube::api::WatchParams::default();
    if let Some(l) = labels {
        lp = lp.labels(l);
        wp = wp.labels(l);
    }
    if let Some(f) = fields {
        lp = lp.fields(f);
        wp = wp.fields(f);
    }
    let list = api
        .list(&lp)
        .await
        .unwrap_or_else(|e| fail(&format!("cannot list {plural}: {e}")));
    let now = Instant::now();
    for item in &list.items {
        let _ = tx.send((
            now,
            plural,
            false,
            serde_json::to_value(item).unwrap_or_default(),
        ));
    }
    let version = list.metadata.resource_version.unwrap_or_default();
    let mut stream = api
        .watch(&wp, &version)
        .await
        .unwrap_or_else(|e| fail(&format!("cannot watch {plural}: {e}")))
        .boxed();
    tokio::spawn(async move {
        while let Ok(Some(event)) = stream.try_next().await {
            let at = Instant::now();
            let (deleted, object) = match event {
                kube::api::WatchEvent::Added(o) | kube::api::WatchEvent::Modified(o) => (false, o),
                kube::api::WatchEvent::Deleted(o) => (true, o),
                kube::api::WatchEvent::Bookmark(_) => continue,
                kube::api::WatchEvent::Error(e) => fail(&format!("watch of {plural}: {e:?}")),
            };
            let value = serde_json::to_value(&object).unwrap_or_default();
            if tx.send((at, plural, deleted, value)).is_err() {
                return;
            }
        }
    })
}

/// One promotion on the real server, from blue serving, while green's pods are replaced.
async fn real_flip_once(client: &kube::Client, promote: &Run) -> FlipTimes {
    use k8s_openapi::api::apps::v1::Deployment;
    use k8s_openapi::api::core::v1::{Pod, Service};
    use k8s_openapi::api::discovery::v1::EndpointSlice;
    select_colour_real(client, "blue").await;
    settle_real(client, "blue").await;
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let watches = vec![
        watch_into(
            real_api::<Pod>(client),
            "pods",
            Some("app=green"),
            None,
            tx.clone(),
        )
        .await,
        watch_into(
            real_api::<Deployment>(client),
            "deployments",
            None,
            Some("metadata.name=greendeploy"),
            tx.clone(),
        )
        .await,
        watch_into(
            real_api::<Service>(client),
            "services",
            None,
            Some("metadata.name=blueservice"),
            tx.clone(),
        )
        .await,
        watch_into(
            real_api::<EndpointSlice>(client),
            "endpointslices",
            Some("kubernetes.io/service-name=blueservice"),
            None,
            tx.clone(),
        )
        .await,
    ];
    replace_green_pods_real(client).await;
    let spawned = Instant::now();
    let run = promote.clone();
    let exit_tx = tx.clone();
    let promoting = tokio::task::spawn_blocking(move || {
        run.run();
        let _ = exit_tx.send((Instant::now(), "exited", false, serde_json::Value::Null));
    });
    let mut state = FlipState::default();
    let mut exited: Option<Instant> = None;
    loop {
        // Until promote exits; then briefly, for the last events it may have outrun.
        let wait = exited.map_or(Duration::from_secs(120), |t| {
            (t + Duration::from_secs(10)).saturating_duration_since(Instant::now())
        });
        match tokio::time::timeout(wait, rx.recv()).await {
            Ok(Some((at, "exited", _, _))) => {
                exited = Some(at);
                if state.times.verified.is_some() {
                    break;
                }
            }
            Ok(Some((at, plural, deleted, object))) => {
                if state.event(at, plural, deleted, &object) && exited.is_some() {
                    break;
                }
            }
            Ok(None) | Err(_) => break,
        }
    }
    let _ = promoting.await;
    for w in watches {
        w.abort();
    }
    let mut times = state.times;
    times.spawned = Some(spawned);
    times.exited = exited;
    if !times.complete() {
        fail(
            "promote ended without the watches seeing green Ready, the flip and green's endpoints",
        );
    }
    times
}
