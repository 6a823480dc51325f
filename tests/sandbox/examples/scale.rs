//! Scale benchmark: loads the `large` scenario (20,000 pods across 200 Deployments, with a
//! Service each) and prints how long it took to settle, the resident memory, and the
//! latency of label-selected lists, through the store and through HTTPS.
//!
//! ```text
//! cargo run --release -p bluegreen-sandbox --example scale
//! ```

use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, ListParams};
use sandbox::resources;
use sandbox::selector::LabelSelector;
use sandbox::{Options, Sandbox};

fn rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map(|kb| kb / 1024.0)
        .unwrap_or(f64::NAN)
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let rss_before = rss_mb();
    let t = Instant::now();
    let sb = Sandbox::start(Options::default().scenario("large"))?;
    let load = t.elapsed();
    let store = sb.store().clone();
    let (pods, _) = store.list(&resources::PODS, Some("large"), |_| true);
    let ready = pods
        .iter()
        .filter(|p| {
            p["status"]["conditions"].as_array().is_some_and(|c| {
                c.iter()
                    .any(|c| c["type"] == "Ready" && c["status"] == "True")
            })
        })
        .count();
    println!(
        "large scenario: {} pods ({} Ready) settled in {:.2?}",
        pods.len(),
        ready,
        load
    );
    drop(pods);
    println!(
        "resident memory: {:.0} MB (before start: {:.0} MB)",
        rss_mb(),
        rss_before
    );

    // Through the store: the pods of one Deployment (100), selected by label.
    let sel = LabelSelector::parse("app=app-123").map_err(|e| e.message)?;
    let mut times = Vec::new();
    let mut n = 0;
    for _ in 0..200 {
        let t = Instant::now();
        let (items, _) = store.list(&resources::PODS, Some("large"), |p| {
            sel.matches(&p["metadata"]["labels"])
        });
        times.push(t.elapsed());
        n = items.len();
    }
    println!(
        "store list app=app-123 ({n} pods): median {:.2?}",
        median(times)
    );

    // Through HTTPS with a real client: 50 pods, label-selected (limit=50), decoded.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async {
        let kc = kube::config::Kubeconfig::read_from(sb.kubeconfig_path())?;
        let config = kube::Config::from_custom_kubeconfig(kc, &Default::default()).await?;
        let client = kube::Client::try_from(config)?;
        let api: Api<Pod> = Api::namespaced(client, "large");
        let lp = ListParams::default().labels("app=app-123").limit(50);
        let mut times = Vec::new();
        let mut n = 0;
        for _ in 0..100 {
            let t = Instant::now();
            let list = api.list(&lp).await?;
            times.push(t.elapsed());
            n = list.items.len();
        }
        println!(
            "HTTPS list app=app-123 limit=50 ({n} pods, kube-rs, decoded): median {:.2?}",
            median(times)
        );
        Ok::<_, Box<dyn std::error::Error>>(())
    })?;
    println!("resident memory at the end: {:.0} MB", rss_mb());
    Ok(())
}
