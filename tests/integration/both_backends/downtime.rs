//! Zero downtime: while promote runs, the production Service's EndpointSlices never hold zero
//! ready endpoints. A watcher lists them every 50 ms through the API, as a client would.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use k8s_openapi::api::discovery::v1::EndpointSlice;
use kube::api::{Api, ListParams};

use super::pair::*;
use crate::backends::*;
use crate::both_backends;

/// One sample: ready endpoints of blue's and of green's pods.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Sample {
    blue: usize,
    green: usize,
}

/// Lists `service`'s EndpointSlices every 50 ms until `stop`, recording each sample.
fn watch(
    c: &dyn Cluster,
    service: &str,
    stop: Arc<AtomicBool>,
) -> std::thread::JoinHandle<Vec<Sample>> {
    let kubeconfig = c.kubeconfig_path().to_path_buf();
    let namespace = c.namespace().to_string();
    let selector = format!("kubernetes.io/service-name={service}");
    let samples = Arc::new(Mutex::new(Vec::new()));
    let out = samples.clone();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime");
        runtime.block_on(async move {
            let kc = kube::config::Kubeconfig::read_from(&kubeconfig).expect("the kubeconfig");
            let config = kube::Config::from_custom_kubeconfig(kc, &Default::default())
                .await
                .expect("a client configuration");
            let client = kube::Client::try_from(config).expect("a client");
            let api: Api<EndpointSlice> = Api::namespaced(client, &namespace);
            let params = ListParams::default().labels(&selector);
            while !stop.load(Ordering::SeqCst) {
                let list = api
                    .list(&params)
                    .await
                    .expect("the EndpointSlices are listed");
                let mut sample = Sample { blue: 0, green: 0 };
                for slice in &list.items {
                    for endpoint in &slice.endpoints {
                        let ready = endpoint
                            .conditions
                            .as_ref()
                            .and_then(|c| c.ready)
                            .unwrap_or(true);
                        let pod = endpoint
                            .target_ref
                            .as_ref()
                            .and_then(|r| r.name.clone())
                            .unwrap_or_default();
                        if !ready {
                            continue;
                        }
                        if pod.starts_with("bluedeploy-") {
                            sample.blue += 1;
                        } else if pod.starts_with("greendeploy-") {
                            sample.green += 1;
                        }
                    }
                }
                if let Ok(mut s) = out.lock() {
                    s.push(sample);
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        });
        samples.lock().map(|s| s.clone()).unwrap_or_default()
    })
}

fn promote_never_leaves_the_service_without_ready_endpoints(c: &dyn Cluster) {
    classic(c);
    let stop = Arc::new(AtomicBool::new(false));
    let watcher = watch(c, "blueservice", stop.clone());
    c.bluegreen(&[
        "promote",
        "blueservice",
        "--yes",
        "--scale-down-delay",
        "1s",
    ])
    .expect_code(0);
    // The scale-down's effect on the slices is watched too.
    eventually(Duration::from_secs(30), "blue's pods are gone", || {
        c.list_json("pods")
            .iter()
            .all(|p| p["metadata"]["labels"]["app"] != "blue")
    });
    std::thread::sleep(Duration::from_millis(300));
    stop.store(true, Ordering::SeqCst);
    let samples = watcher.join().expect("the watcher ends");
    assert!(samples.len() >= 10, "{} samples", samples.len());
    let empty: Vec<usize> = samples
        .iter()
        .enumerate()
        .filter(|(_, s)| s.blue + s.green == 0)
        .map(|(i, _)| i)
        .collect();
    assert!(
        empty.is_empty(),
        "{}: samples {empty:?} of {} had no ready endpoint: {samples:?}",
        c.backend(),
        samples.len()
    );
    assert_eq!(samples.first().map(|s| s.blue), Some(3), "{samples:?}");
    assert_eq!(
        samples.last().copied(),
        Some(Sample { blue: 0, green: 3 }),
        "{samples:?}"
    );
}

both_backends!(promote_never_leaves_the_service_without_ready_endpoints);
