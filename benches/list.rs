//! `kubectl bluegreen list` on a namespace of 200 blue/green pairs and 20,000 pods (the
//! sandbox's `large-pairs` scenario), started in this process: wall time, peak RSS, CPU time
//! and API requests of the release binary.
//!
//! ```sh
//! cargo bench --bench list
//! ```
//!
//! Environment: `BENCH_PLUGIN` (another build of the plugin to measure instead),
//! `BENCH_BASELINE` (another build measured alternately with it, for before and after in one
//! run: its own rows and the median of the paired time ratios), `BENCH_ITERATIONS` (default
//! 11). The plugin is the release binary Cargo builds for the bench
//! (`CARGO_BIN_EXE_kubectl-bluegreen`). Peak RSS and CPU time come from GNU time
//! (`/usr/bin/time -f "%M %U %S"`); without it they are read from `/proc/<pid>/status`
//! (`VmHWM`) just before the process exits, which needs polling and may miss the last moment.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use sandbox::scenarios::{PAIR_REPLICAS, PAIRS};
use sandbox::{Options, Sandbox};

const NAMESPACE: &str = "pairs";

fn main() {
    let plugin = std::env::var("BENCH_PLUGIN")
        .unwrap_or_else(|_| env!("CARGO_BIN_EXE_kubectl-bluegreen").to_string());
    let baseline = std::env::var("BENCH_BASELINE")
        .ok()
        .filter(|b| !b.is_empty());
    let iterations: usize = std::env::var("BENCH_ITERATIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(11);

    let started = Instant::now();
    let sb = Sandbox::start(Options::default().speed(50.0))
        .unwrap_or_else(|e| fail(&format!("cannot start the sandbox: {e}")));
    sb.load_scenario("large-pairs")
        .unwrap_or_else(|e| fail(&format!("cannot load large-pairs: {e}")));
    sb.wait_settled(Duration::from_secs(900))
        .unwrap_or_else(|e| fail(&format!("the sandbox did not settle: {e}")));
    println!(
        "large-pairs: {PAIRS} pairs × 2 colours × {PAIR_REPLICAS} pods = {} pods, {} Services, \
         {} Deployments in namespace {NAMESPACE} (set up in {:.1?})",
        PAIRS * 2 * PAIR_REPLICAS,
        PAIRS * 2,
        PAIRS * 2,
        started.elapsed()
    );
    println!("plugin: {plugin}");
    println!("load average at the start: {}", load_average());

    let kubeconfig = sb.kubeconfig_path().display().to_string();
    let args = |output: &str| -> Vec<String> {
        [
            "list",
            "-n",
            NAMESPACE,
            "-o",
            output,
            "--kubeconfig",
            &kubeconfig,
        ]
        .iter()
        .map(|s| s.to_string())
        .collect()
    };
    check_output(&plugin, &args("json"));

    sb.clear_requests();
    run(&plugin, &args("json"));
    let requests = sb.requests();
    if let Some(baseline) = &baseline {
        sb.clear_requests();
        run(baseline, &args("json"));
        println!(
            "API requests of one `list -o json` of the baseline: {}",
            sb.requests().len()
        );
    }
    let mut paths: Vec<String> = requests.iter().map(|r| r.path.clone()).collect();
    paths.sort();
    paths.dedup();
    println!(
        "API requests of one `list -o json`: {} ({} kinds: {})",
        requests.len(),
        paths.len(),
        paths.join(", ")
    );

    // The plugins measured: this one, and the baseline if there is one (alternately, the
    // order swapping each iteration, so that the rest of the machine's load falls on both).
    let mut plugins = vec![("plugin", plugin.clone())];
    if let Some(baseline) = &baseline {
        println!("baseline: {baseline}");
        check_output(baseline, &args("json"));
        plugins.push(("baseline", baseline.clone()));
    }

    println!();
    println!(
        "| command | build | median | min | max | peak RSS (median) | CPU user+sys (median) | \
         baseline ÷ plugin (median of paired ratios) |"
    );
    println!("|---|---|---:|---:|---:|---:|---:|---:|");
    for output in ["table", "json"] {
        let args = args(output);
        // Warm-up: the sandbox's first lists and the page cache.
        for (_, build) in &plugins {
            run(build, &args);
        }
        let mut times = vec![Vec::new(); plugins.len()];
        let mut usages = vec![Vec::new(); plugins.len()];
        for iteration in 0..iterations {
            let mut order: Vec<usize> = (0..plugins.len()).collect();
            if iteration % 2 == 1 {
                order.reverse();
            }
            for &i in &order {
                times[i].push(run(&plugins[i].1, &args));
            }
            for &i in &order {
                usages[i].push(usage(&plugins[i].1, &args));
            }
        }
        let ratio = (plugins.len() == 2).then(|| {
            median_f64(
                times[1]
                    .iter()
                    .zip(&times[0])
                    .map(|(b, p)| b.as_secs_f64() / p.as_secs_f64())
                    .collect(),
            )
        });
        for (i, (label, _)) in plugins.iter().enumerate() {
            let mut sorted = times[i].clone();
            sorted.sort();
            let rss = median_f64(usages[i].iter().map(|u| u.0).collect());
            let cpu = median_f64(usages[i].iter().map(|u: &(f64, f64)| u.1).collect());
            let ratio = match (i, ratio) {
                (0, Some(r)) => format!("{r:.2}×"),
                _ => String::new(),
            };
            println!(
                "| `list -n {NAMESPACE} -o {output}` | {label} | {} | {} | {} | {rss:.1} MB | \
                 {cpu:.2} s | {ratio} |",
                ms(sorted[sorted.len() / 2]),
                ms(sorted[0]),
                ms(sorted[sorted.len() - 1]),
            );
        }
    }
    println!();
    println!(
        "{iterations} iterations each; load average at the end: {}",
        load_average()
    );
}

/// Runs the plugin with its output discarded; returns the wall time from spawn to exit.
fn run(plugin: &str, args: &[String]) -> Duration {
    let started = Instant::now();
    let out = Command::new(plugin)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output();
    let elapsed = started.elapsed();
    match out {
        Ok(out) if out.status.success() => elapsed,
        Ok(out) => fail(&format!(
            "the plugin failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        )),
        Err(e) => fail(&format!("cannot run {plugin}: {e}")),
    }
}

/// Peak RSS (MB) and CPU time (s) of one run.
fn usage(plugin: &str, args: &[String]) -> (f64, f64) {
    let time = Path::new("/usr/bin/time");
    if !time.exists() {
        return (usage_from_proc(plugin, args), f64::NAN);
    }
    let file = tempfile::NamedTempFile::new().unwrap_or_else(|e| fail(&e.to_string()));
    let status = Command::new(time)
        .args(["-f", "%M %U %S", "-o"])
        .arg(file.path())
        .arg(plugin)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    if !status.is_ok_and(|s| s.success()) {
        fail("the plugin failed under /usr/bin/time");
    }
    let text = std::fs::read_to_string(file.path()).unwrap_or_default();
    let fields: Vec<f64> = text
        .split_whitespace()
        .filter_map(|f| f.parse().ok())
        .collect();
    match fields[..] {
        [kb, user, system] => (kb / 1024.0, user + system),
        _ => fail(&format!("unexpected GNU time output: {text:?}")),
    }
}

/// The highest `VmHWM` seen while polling the process every millisecond.
fn usage_from_proc(plugin: &str, args: &[String]) -> f64 {
    let mut child = Command::new(plugin)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| fail(&format!("cannot run {plugin}: {e}")));
    let status = format!("/proc/{}/status", child.id());
    let mut peak_kb = 0.0f64;
    loop {
        if let Ok(text) = std::fs::read_to_string(&status)
            && let Some(line) = text.lines().find(|l| l.starts_with("VmHWM:"))
            && let Some(kb) = line.split_whitespace().nth(1).and_then(|v| v.parse().ok())
        {
            peak_kb = peak_kb.max(kb);
        }
        if child.try_wait().ok().flatten().is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    peak_kb / 1024.0
}

/// The plugin's document has every pair, each with all its pods ready.
fn check_output(plugin: &str, args: &[String]) {
    let out = Command::new(plugin)
        .args(args)
        .output()
        .unwrap_or_else(|e| fail(&format!("cannot run {plugin}: {e}")));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| fail(&format!("the list is not JSON: {e}")));
    let items = doc["items"].as_array().map(Vec::as_slice).unwrap_or(&[]);
    if items.len() != PAIRS {
        fail(&format!("expected {PAIRS} pairs, got {}", items.len()));
    }
    let all_ready = items.iter().all(|item| {
        item["colours"].as_array().is_some_and(|colours| {
            colours
                .iter()
                .all(|c| c["ready"].as_u64() == Some(PAIR_REPLICAS as u64))
        })
    });
    if !all_ready {
        fail("not every colour of every pair has all its pods ready");
    }
}

fn median_f64(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied().unwrap_or(f64::NAN)
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".to_string())
}

fn fail(message: &str) -> ! {
    eprintln!("bench list: {message}");
    std::process::exit(1);
}
