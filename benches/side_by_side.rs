//! Side-by-side measurements of `kubectl-bluegreen` against what a user does by hand with the
//! real `kubectl`, on the bundled sandbox cluster started in this process.
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
//!   it on the large namespace, alternating with it, time and peak RSS;
//! - `BENCH_KUBECTL`: the kubectl to compare against (default: the v1.33 build of the Cloud
//!   SDK if present, matching the sandbox's server version, else `kubectl` on `PATH`);
//! - `BENCH_ITERATIONS` (default 21), `BENCH_LARGE_ITERATIONS` (default 3) and
//!   `BENCH_FLIP_ITERATIONS` (default 11);
//! - `BENCH_SKIP_LARGE=1` skips the large namespace;
//! - `BENCH_ONLY`: a comma-separated subset of `small`, `startup`, `large` and `flip` to run;
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
    report.line(&format!("load average at the end: {}", load_average()));
}

// ---------------------------------------------------------------------------------------------
// The measurements

/// (a) and (e): the `classic` pair, plugin against the kubectl sequence and one `kubectl get pods`.
fn small_namespace(kubectl: &Path, iterations: usize, report: &mut Report) {
    let sb = start_sandbox();
    sb.load_scenario("classic")
        .unwrap_or_else(|e| fail(&format!("cannot load the classic scenario: {e}")));
    let ctx = Ctx::new(&sb, kubectl, "default");
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
    let ctx = Ctx::new(&sb, kubectl, "large");
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
    // Real time: the readiness delay is wall-clock.
    let sb = Sandbox::start(Options::default())
        .unwrap_or_else(|e| fail(&format!("cannot start the sandbox: {e}")));
    let mut yaml = deployment("bluedeploy", "blue", 3, 0);
    yaml.push_str(&service("blueservice", "blue"));
    yaml.push_str(&deployment("greendeploy", "green", 3, FLIP_READY_AFTER_MS));
    yaml.push_str(&service("greenservice", "green"));
    sb.load_yaml(&yaml)
        .unwrap_or_else(|e| fail(&format!("cannot load the pair: {e}")));
    settle(&sb);
    let kubeconfig = sb.kubeconfig_path().display().to_string();
    let promote = Run::new(
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
    );
    let mut latencies = Vec::new();
    let mut idle = Vec::new();
    let mut waiting = Vec::new();
    for i in 0..=iterations {
        select_colour(&sb, "blue");
        settle(&sb);
        let mut events = sb.store().subscribe();
        replace_green_pods(&sb);
        sb.clear_requests();
        let done = AtomicBool::new(false);
        let spawned = Instant::now();
        let times = std::thread::scope(|s| {
            let observer = s.spawn(|| observe_flip(&sb, &mut events, &done));
            promote.run();
            done.store(true, Ordering::Release);
            observer.join().unwrap_or_default()
        });
        let (Some(last_ready), Some(flipped)) = (times.last_ready, times.flipped) else {
            fail("promote ended without the sandbox seeing green Ready and then the flip");
        };
        if i > 0 {
            waiting.push(last_ready.saturating_duration_since(spawned));
            latencies.push(flipped.saturating_duration_since(last_ready));
            if let Some(next) = times.next_request {
                idle.push(next.saturating_duration_since(last_ready));
            }
        }
    }
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

/// What the sandbox saw of one promotion, in wall-clock time.
#[derive(Default)]
struct FlipTimes {
    /// Green's ready pods (last) reached 3.
    last_ready: Option<Instant>,
    /// The first API request after that (promote reading the pair again).
    next_request: Option<Instant>,
    /// `blueservice` was stored selecting green.
    flipped: Option<Instant>,
}

/// Reads store events, and watches the request log, until the flip or `done`.
fn observe_flip(
    sb: &Sandbox,
    events: &mut broadcast::Receiver<Arc<Event>>,
    done: &AtomicBool,
) -> FlipTimes {
    let mut ready: BTreeMap<String, bool> = BTreeMap::new();
    let mut times = FlipTimes::default();
    let mut requests_at_ready = 0;
    loop {
        match events.try_recv() {
            Ok(event) => {
                let now = Instant::now();
                let o = &event.object;
                let name = o["metadata"]["name"].as_str().unwrap_or_default();
                match event.resource.plural {
                    "pods" if o["metadata"]["labels"]["app"] == "green" => {
                        let before = ready.values().filter(|r| **r).count();
                        let is_ready = event.kind != EventType::Deleted
                            && o["metadata"].get("deletionTimestamp").is_none()
                            && o["status"]["conditions"].as_array().is_some_and(|c| {
                                c.iter()
                                    .any(|c| c["type"] == "Ready" && c["status"] == "True")
                            });
                        ready.insert(name.to_string(), is_ready);
                        let after = ready.values().filter(|r| **r).count();
                        if before < 3 && after >= 3 {
                            times.last_ready = Some(now);
                            times.next_request = None;
                            requests_at_ready = sb.requests().len();
                        }
                    }
                    "services"
                        if name == "blueservice" && o["spec"]["selector"]["app"] == "green" =>
                    {
                        times.flipped = Some(now);
                        return times;
                    }
                    _ => {}
                }
            }
            Err(TryRecvError::Empty) => {
                if done.load(Ordering::Acquire) {
                    return times;
                }
                if times.last_ready.is_some()
                    && times.next_request.is_none()
                    && sb.requests().len() > requests_at_ready
                {
                    times.next_request = Some(Instant::now());
                }
                std::thread::sleep(Duration::from_micros(200));
            }
            Err(TryRecvError::Lagged(_)) => {}
            Err(TryRecvError::Closed) => return times,
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
    fn new(sb: &Sandbox, kubectl: &'a Path, namespace: &'a str) -> Ctx<'a> {
        let ctx = Ctx {
            kubeconfig: sb.kubeconfig_path().to_path_buf(),
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
