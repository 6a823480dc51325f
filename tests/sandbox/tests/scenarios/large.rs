//! The `large` scenario: 20,000 pods loaded in their settled state, which the controllers
//! must accept as is (no rewrite of what they would have written themselves).

use std::time::Instant;

use crate::support::*;
use sandbox::resources;
use sandbox::scenarios;

fn rv(o: &serde_json::Value) -> u64 {
    o["metadata"]["resourceVersion"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

#[test]
fn large_scenario_settles_and_controllers_agree_with_it() {
    let c = start(10.0);
    let t = Instant::now();
    scenarios::load(&c.store, "large").expect("load");
    let loaded_rv = c.store.current_rv();
    c.wait_settled();
    eprintln!("large: loaded and settled in {:?}", t.elapsed());
    let (pods, _) = c.store.list(&resources::PODS, Some("large"), |p| {
        p["metadata"]["labels"]["app"]
            .as_str()
            .is_some_and(|a| a.starts_with("app-"))
    });
    assert_eq!(
        pods.len(),
        scenarios::LARGE_DEPLOYMENTS * scenarios::LARGE_REPLICAS
    );
    let rewritten = pods.iter().filter(|p| rv(p) > loaded_rv).count();
    assert_eq!(
        rewritten, 0,
        "the kubelet or a controller rewrote pods of the settled state"
    );
    let (rses, _) = c
        .store
        .list(&resources::REPLICASETS, Some("large"), |_| true);
    assert_eq!(rses.len(), scenarios::LARGE_DEPLOYMENTS + 2);
    let (deploys, _) = c.store.list(&resources::DEPLOYMENTS, Some("large"), |d| {
        d["metadata"]["name"] != "bluedeploy" && d["metadata"]["name"] != "greendeploy"
    });
    let changed: Vec<_> = deploys
        .iter()
        .filter(|d| rv(d) > loaded_rv)
        .map(|d| d["metadata"]["name"].clone())
        .collect();
    assert!(changed.is_empty(), "Deployments rewritten: {changed:?}");
    let changed: Vec<_> = rses
        .iter()
        .filter(|r| {
            r["metadata"]["name"]
                .as_str()
                .is_some_and(|n| n.starts_with("app-"))
                && rv(r) > loaded_rv
        })
        .map(|r| r["metadata"]["name"].clone())
        .collect();
    assert!(changed.is_empty(), "ReplicaSets rewritten: {changed:?}");
    // Addresses are unique across the whole namespace.
    let (all, _) = c.store.list(&resources::PODS, Some("large"), |_| true);
    let ips: std::collections::HashSet<&str> = all
        .iter()
        .filter_map(|p| p["status"]["podIP"].as_str())
        .collect();
    assert_eq!(ips.len(), all.len());
    // Endpoints of one of the Services hold its 100 pods.
    let ep = c
        .get(&resources::ENDPOINTS, "large", "app-042")
        .expect("endpoints");
    assert_eq!(
        ep["subsets"][0]["addresses"].as_array().map(Vec::len),
        Some(100)
    );
    let (slices, _) = c
        .store
        .list(&resources::ENDPOINTSLICES, Some("large"), |s| {
            s["metadata"]["labels"]["kubernetes.io/service-name"] == "app-042"
        });
    assert_eq!(
        slices
            .iter()
            .map(|s| s["endpoints"].as_array().map(Vec::len).unwrap_or(0))
            .sum::<usize>(),
        100
    );
}

#[test]
fn large_pairs_scenario_settles_as_loaded() {
    let c = start(10.0);
    scenarios::load(&c.store, "large-pairs").expect("load");
    let loaded_rv = c.store.current_rv();
    c.wait_settled();
    let (pods, _) = c.store.list(&resources::PODS, Some("pairs"), |_| true);
    assert_eq!(pods.len(), scenarios::PAIRS * 2 * scenarios::PAIR_REPLICAS);
    assert_eq!(pods.iter().filter(|p| rv(p) > loaded_rv).count(), 0);
    let (services, _) = c.store.list(&resources::SERVICES, Some("pairs"), |_| true);
    assert_eq!(services.len(), scenarios::PAIRS * 2);
    let prod = c
        .get(&resources::SERVICES, "pairs", "shop-042")
        .expect("shop-042");
    assert_eq!(prod["spec"]["selector"]["color"], "blue");
    let (slices, _) = c
        .store
        .list(&resources::ENDPOINTSLICES, Some("pairs"), |s| {
            s["metadata"]["labels"]["kubernetes.io/service-name"] == "shop-042-green"
        });
    assert_eq!(
        slices
            .iter()
            .map(|s| s["endpoints"].as_array().map(Vec::len).unwrap_or(0))
            .sum::<usize>(),
        scenarios::PAIR_REPLICAS
    );
}
