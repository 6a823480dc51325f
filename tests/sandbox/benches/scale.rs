//! Scale figures of the sandbox: how long the `large` scenario (200 Deployments × 100 pods)
//! takes to load and settle, how fast a label-selected list of 50 of its pods answers over
//! HTTPS, and the resident memory afterwards.
//!
//! Run with `cargo bench -p bluegreen-sandbox --bench scale`. Not a test: it prints figures.

use std::time::{Duration, Instant};

use http_body_util::BodyExt;
use kube::config::{KubeConfigOptions, Kubeconfig};
use sandbox::{Options, Sandbox};

/// List requests measured (after a few warm-up ones).
const SAMPLES: usize = 200;

fn main() -> Result<(), String> {
    let started = Instant::now();
    let sb = Sandbox::start(Options::default().speed(50.0))?;
    let load = Instant::now();
    sandbox::scenarios::load(sb.store(), "large")?;
    let loaded = load.elapsed();
    sb.wait_settled(Duration::from_secs(600))?;
    let settled = load.elapsed();
    let pods = sb
        .store()
        .list(&sandbox::resources::PODS, None, |_| true)
        .0
        .len();
    println!("sandbox started in {:?}", load.duration_since(started));
    println!(
        "large scenario: {pods} pods; objects stored in {loaded:?}, settled (all Ready, endpoints in sync) in {settled:?}"
    );

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let mut times = rt.block_on(async {
        let kc = Kubeconfig::read_from(sb.kubeconfig_path()).map_err(|e| e.to_string())?;
        let cfg = kube::Config::from_custom_kubeconfig(kc, &KubeConfigOptions::default())
            .await
            .map_err(|e| e.to_string())?;
        let client = kube::Client::try_from(cfg).map_err(|e| e.to_string())?;
        let mut times = Vec::new();
        for i in 0..SAMPLES + 10 {
            let app = format!("app-{:03}", i % 200);
            let uri = format!("/api/v1/namespaces/large/pods?labelSelector=app%3D{app}&limit=50");
            let req = http::Request::builder()
                .uri(uri)
                .body(kube::client::Body::from(Vec::new()))
                .map_err(|e| e.to_string())?;
            let t = Instant::now();
            let resp = client.send(req).await.map_err(|e| e.to_string())?;
            let body = resp
                .into_body()
                .collect()
                .await
                .map_err(|e| e.to_string())?
                .to_bytes();
            let elapsed = t.elapsed();
            let v: serde_json::Value = serde_json::from_slice(&body).map_err(|e| e.to_string())?;
            let n = v["items"].as_array().map_or(0, Vec::len);
            if n != 50 {
                return Err(format!("expected 50 pods of {app}, got {n}"));
            }
            if i >= 10 {
                times.push(elapsed);
            }
        }
        Ok::<_, String>(times)
    })?;
    times.sort();
    println!(
        "label-selected list of 50 pods over HTTPS: median {:?}, p90 {:?}, max {:?} ({SAMPLES} requests)",
        times[times.len() / 2],
        times[times.len() * 9 / 10],
        times[times.len() - 1]
    );
    let rss = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .map(|l| l.trim_start_matches("VmRSS:").trim().to_string())
        })
        .unwrap_or_else(|| "unknown".into());
    println!("resident memory: {rss}");
    Ok(())
}
