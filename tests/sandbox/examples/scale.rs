//! Scale benchmark: loads the `large` scenario (20,000 pods across 200 Deployments, with a
//! Service each) and prints how long it took to settle, the resident memory, and the
//! latency of label-selected lists, through the store and through HTTPS.
//!
//! ```text
//! cargo run --release -p bluegreen-sandbox --example scale            # the whole sandbox
//! cargo run --release -p bluegreen-sandbox --example scale -- store   # store + controllers only
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

/// The store and the controllers alone, without the API server.
fn store_only() -> Result<(), Box<dyn std::error::Error>> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let store = sandbox::Store::new(100_000);
    for ns in sandbox::NAMESPACES {
        store
            .create(
                &resources::NAMESPACES,
                "",
                serde_json::json!({"metadata": {"name": ns}}),
                Default::default(),
            )
            .map_err(|e| e.message)?;
    }
    {
        let _g = rt.enter();
        sandbox::controllers::spawn(store.clone(), sandbox::Clock::default(), Default::default());
    }
    let t = Instant::now();
    sandbox::scenarios::load(&store, "large")?;
    let loaded = t.elapsed();
    let rss_loaded = rss_mb();
    let mut checks = Vec::new();
    loop {
        let c = Instant::now();
        let done = sandbox::controllers::settled(&store);
        checks.push(c.elapsed());
        if done {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let (eps, _) = store.list(&resources::ENDPOINTS, Some("large"), |_| true);
    println!(
        "settled() checks: {} (median {:.2?}); {} Endpoints",
        checks.len(),
        median(checks),
        eps.len()
    );
    println!(
        "store + controllers: large loaded in {loaded:.2?} ({rss_loaded:.0} MB), settled in {:.2?}; resident memory {:.0} MB",
        t.elapsed(),
        rss_mb()
    );
    Ok(())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    if std::env::args().nth(1).as_deref() == Some("store") {
        return store_only();
    }
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
        let (items, _) = store.list_selected(&resources::PODS, Some("large"), &sel, |_| true);
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
        let api: Api<Pod> = Api::namespaced(client.clone(), "large");
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

        // A selector that matches exactly 50 pods: a Deployment of 50 next to the others.
        let deployments: Api<k8s_openapi::api::apps::v1::Deployment> =
            Api::namespaced(client, "large");
        deployments
            .create(
                &Default::default(),
                &serde_json::from_value(serde_json::json!({
                    "metadata": {"name": "fifty"},
                    "spec": {
                        "replicas": 50,
                        "selector": {"matchLabels": {"app": "fifty"}},
                        "template": {
                            "metadata": {"labels": {"app": "fifty"}},
                            "spec": {"containers": [{"name": "web", "image": "registry.example/fifty:v1"}]},
                        },
                    },
                }))?,
            )
            .await?;
        let lp = ListParams::default().labels("app=fifty");
        let t = Instant::now();
        while api.list(&lp).await?.items.len() < 50 || !sandbox::controllers::settled(&store) {
            tokio::time::sleep(Duration::from_millis(50)).await;
            if t.elapsed() > Duration::from_secs(120) {
                return Err("the Deployment of 50 did not settle".into());
            }
        }
        let mut times = Vec::new();
        let mut n = 0;
        for _ in 0..100 {
            let t = Instant::now();
            let list = api.list(&lp).await?;
            times.push(t.elapsed());
            n = list.items.len();
        }
        println!(
            "HTTPS list app=fifty ({n} of {} pods, kube-rs, decoded): median {:.2?}",
            store.list(&resources::PODS, Some("large"), |_| true).0.len(),
            median(times)
        );
        Ok::<_, Box<dyn std::error::Error>>(())
    })?;
    println!("resident memory at the end: {:.0} MB", rss_mb());
    if let Ok(l) = std::fs::read_to_string("/proc/loadavg") {
        println!("load average: {}", l.trim());
    }
    Ok(())
}
