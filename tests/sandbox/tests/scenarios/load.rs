//! Every built-in scenario loads and settles, with the contents the plugin's tests rely on.

use crate::support::*;
use sandbox::resources;
use sandbox::scenarios;

fn loaded(name: &str) -> Cluster {
    let c = start(50.0);
    scenarios::load(&c.store, name).expect("load");
    c.wait_settled();
    c
}

fn ips_in(c: &Cluster, ns: &str, app: &str, ready: bool) -> Vec<String> {
    let mut v: Vec<String> = pods_of(&c.store, ns, "app", app)
        .iter()
        .filter(|p| is_ready(p) == ready)
        .filter_map(|p| p["status"]["podIP"].as_str().map(str::to_string))
        .collect();
    v.sort();
    v
}

fn ep_ips(c: &Cluster, ns: &str, svc: &str, field: &str) -> Vec<String> {
    let ep = c.get(&resources::ENDPOINTS, ns, svc).expect("endpoints");
    let mut v: Vec<String> = ep["subsets"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|s| s[field].as_array().cloned().unwrap_or_default())
        .filter_map(|a| a["ip"].as_str().map(str::to_string))
        .collect();
    v.sort();
    v
}

#[test]
fn every_scenario_is_known_and_unknown_ones_are_refused() {
    assert!(scenarios::NAMES.contains(&"classic"));
    let c = start(50.0);
    assert!(scenarios::load(&c.store, "nope").is_err());
}

#[test]
fn classic() {
    let c = loaded("classic");
    assert_eq!(ips_in(&c, "default", "blue", true).len(), 3);
    assert_eq!(ips_in(&c, "default", "green", true).len(), 3);
    assert_eq!(
        ep_ips(&c, "default", "blueservice", "addresses"),
        ips_in(&c, "default", "blue", true)
    );
    assert_eq!(
        ep_ips(&c, "default", "greenservice", "addresses"),
        ips_in(&c, "default", "green", true)
    );
    let blue = c.pods("default", "app", "blue");
    assert_eq!(blue[0]["spec"]["containers"][0]["image"], "nginx:blue");
    assert_eq!(
        blue[0]["spec"]["containers"][0]["ports"][0]["containerPort"],
        8080
    );
    let svc = c
        .get(&resources::SERVICES, "default", "blueservice")
        .expect("svc");
    assert_eq!(svc["spec"]["ports"][0]["port"], 80);
}

#[test]
fn green_not_ready() {
    let c = loaded("green-not-ready");
    assert_eq!(ips_in(&c, "default", "green", true).len(), 0);
    assert_eq!(ips_in(&c, "default", "green", false).len(), 3);
    assert_eq!(
        ep_ips(&c, "default", "greenservice", "notReadyAddresses").len(),
        3
    );
    let d = c
        .get(&resources::DEPLOYMENTS, "default", "greendeploy")
        .expect("deploy");
    assert_eq!(
        condition(&d, "Available").expect("Available")["status"],
        "False"
    );
}

#[test]
fn green_crashloop() {
    let c = loaded("green-crashloop");
    assert_eq!(ips_in(&c, "default", "green", true).len(), 0);
    c.wait_until("a restart", |s| {
        pods_of(s, "default", "app", "green")
            .iter()
            .any(|p| p["status"]["containerStatuses"][0]["restartCount"].as_i64() >= Some(1))
    });
}

#[test]
fn green_slow_loads_before_green_is_ready_then_becomes_ready() {
    let c = start(20.0);
    scenarios::load(&c.store, "green-slow").expect("load");
    c.wait_settled();
    assert_eq!(ips_in(&c, "default", "blue", true).len(), 3);
    assert_eq!(
        ips_in(&c, "default", "green", true).len(),
        0,
        "green is Ready too early"
    );
    c.wait_until("green Ready", |s| ready_ips(s, "green").len() == 3);
}

#[test]
fn promoted() {
    let c = loaded("promoted");
    assert_eq!(
        ep_ips(&c, "default", "blueservice", "addresses"),
        ips_in(&c, "default", "green", true)
    );
    assert_eq!(ips_in(&c, "default", "blue", true).len(), 3);
}

#[test]
fn multi_key() {
    let c = loaded("multi-key");
    let shop = c.pods("default", "app", "shop");
    assert_eq!(shop.len(), 6);
    let mut blue: Vec<String> = shop
        .iter()
        .filter(|p| p["metadata"]["labels"]["color"] == "blue")
        .filter_map(|p| p["status"]["podIP"].as_str().map(str::to_string))
        .collect();
    blue.sort();
    assert_eq!(ep_ips(&c, "default", "shop", "addresses"), blue);
    assert_eq!(ep_ips(&c, "default", "shop-green", "addresses").len(), 3);
    assert!(
        c.get(&resources::DEPLOYMENTS, "default", "shop-blue")
            .is_some()
    );
    assert!(
        c.get(&resources::DEPLOYMENTS, "default", "shop-green")
            .is_some()
    );
}

#[test]
fn staging() {
    let c = loaded("staging");
    assert_eq!(ips_in(&c, "staging", "blue", true).len(), 3);
    assert_eq!(
        ep_ips(&c, "staging", "blueservice", "addresses"),
        ips_in(&c, "staging", "blue", true)
    );
    assert!(c.pods("default", "app", "blue").is_empty());
}
