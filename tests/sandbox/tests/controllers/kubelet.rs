//! The kubelet stand-in: scheduling, addresses, readiness and the behaviour annotations.

use std::collections::HashSet;
use std::time::Instant;

use crate::support::*;
use sandbox::resources;
use sandbox::store::DeleteOpts;
use serde_json::json;

#[test]
fn pods_are_scheduled_addressed_and_become_ready() {
    let c = start(20.0);
    for i in 0..6 {
        c.create(pod(
            &format!("p{i}"),
            "a",
            json!({"sandbox.bluegreen.dev/ready-after-ms": "2000"}),
        ));
    }
    // Running but not yet Ready first (2 s cluster time = 100 ms here).
    c.wait_until("Running, not Ready", |s| {
        let p = pods_of(s, "default", "app", "a");
        p.iter()
            .any(|p| p["status"]["phase"] == "Running" && !is_ready(p))
    });
    c.wait_until("all Ready", |s| {
        pods_of(s, "default", "app", "a").iter().all(is_ready)
    });
    let pods = c.pods("default", "app", "a");
    let ips: HashSet<&str> = pods
        .iter()
        .filter_map(|p| p["status"]["podIP"].as_str())
        .collect();
    assert_eq!(ips.len(), 6, "pod IPs are unique");
    assert!(ips.iter().all(|ip| ip.starts_with("10.244.")));
    let nodes: HashSet<&str> = pods
        .iter()
        .filter_map(|p| p["spec"]["nodeName"].as_str())
        .collect();
    assert_eq!(nodes.len(), 3, "spread over the three nodes: {nodes:?}");
    assert!(nodes.iter().all(|n| n.starts_with("sandbox-node-")));
    let p = &pods[0];
    assert_eq!(p["status"]["podIPs"][0]["ip"], p["status"]["podIP"]);
    assert!(p["status"]["hostIP"].is_string());
    assert!(p["status"]["startTime"].is_string());
    let cs = &p["status"]["containerStatuses"][0];
    assert_eq!(cs["name"], "web");
    assert_eq!(cs["ready"], true);
    assert_eq!(cs["started"], true);
    assert_eq!(cs["restartCount"], 0);
    assert_eq!(cs["image"], "docker.io/library/nginx:blue");
    assert!(
        cs["imageID"]
            .as_str()
            .is_some_and(|s| s.contains("@sha256:"))
    );
    assert!(
        cs["containerID"]
            .as_str()
            .is_some_and(|s| s.starts_with("containerd://"))
    );
    assert!(cs["state"]["running"]["startedAt"].is_string());
    for kind in ["PodScheduled", "Initialized", "ContainersReady", "Ready"] {
        assert_eq!(condition(p, kind).expect(kind)["status"], "True", "{kind}");
    }
}

#[test]
fn never_ready_pod_runs_but_stays_unready() {
    let c = start(20.0);
    c.create(pod(
        "stuck",
        "a",
        json!({"sandbox.bluegreen.dev/never-ready": "true"}),
    ));
    c.create(pod("normal", "a", json!({})));
    // By the time the normal pod is Ready, the never-ready one had the same chance.
    c.wait_until("normal Ready", |s| {
        s.get(&resources::PODS, "default", "normal")
            .is_some_and(|p| is_ready(&p))
    });
    c.wait_until("stuck Running", |s| {
        s.get(&resources::PODS, "default", "stuck")
            .is_some_and(|p| p["status"]["phase"] == "Running")
    });
    let p = c.get(&resources::PODS, "default", "stuck").expect("pod");
    assert!(!is_ready(&p));
    let ready = condition(&p, "Ready").expect("Ready");
    assert_eq!(ready["reason"], "ContainersNotReady");
    assert_eq!(ready["message"], "containers with unready status: [web]");
    assert!(p["status"]["containerStatuses"][0]["state"]["running"].is_object());
}

#[test]
fn crash_loop_restarts_with_backoff_and_is_never_ready() {
    let c = start(200.0);
    c.create(pod(
        "crash",
        "a",
        json!({"sandbox.bluegreen.dev/crash-loop": "true"}),
    ));
    let mut saw_backoff = false;
    let mut last = 0;
    c.wait_until("three restarts", |s| {
        let Some(p) = s.get(&resources::PODS, "default", "crash") else {
            return false;
        };
        assert!(!is_ready(&p), "a crash-looping pod is never Ready");
        let cs = &p["status"]["containerStatuses"][0];
        let n = cs["restartCount"].as_i64().unwrap_or(0);
        assert!(n >= last, "restartCount never decreases");
        last = n;
        if cs["state"]["waiting"]["reason"] == "CrashLoopBackOff" {
            saw_backoff = true;
            assert_eq!(cs["lastState"]["terminated"]["reason"], "Error");
            assert_eq!(cs["lastState"]["terminated"]["exitCode"], 1);
        }
        n >= 3
    });
    assert!(
        saw_backoff,
        "the container was seen waiting in CrashLoopBackOff"
    );
    let p = c.get(&resources::PODS, "default", "crash").expect("pod");
    assert_eq!(p["status"]["phase"], "Running");
}

#[test]
fn unready_after_turns_a_ready_pod_unready() {
    let c = start(20.0);
    c.create(pod("flaky", "a", json!({"sandbox.bluegreen.dev/ready-after-ms": "200", "sandbox.bluegreen.dev/unready-after-ms": "2000"})));
    c.wait_until("Ready", |s| {
        s.get(&resources::PODS, "default", "flaky")
            .is_some_and(|p| is_ready(&p))
    });
    c.wait_until("unready again", |s| {
        s.get(&resources::PODS, "default", "flaky")
            .is_some_and(|p| !is_ready(&p))
    });
    let p = c.get(&resources::PODS, "default", "flaky").expect("pod");
    assert_eq!(p["status"]["phase"], "Running");
    assert_eq!(p["status"]["containerStatuses"][0]["ready"], false);
}

#[test]
fn slow_termination_keeps_the_pod_terminating_for_a_while() {
    let c = start(10.0);
    c.create(pod(
        "slow",
        "a",
        json!({"sandbox.bluegreen.dev/terminate-after-ms": "3000"}),
    ));
    c.create(pod("quick", "a", json!({})));
    c.wait_until("both Ready", |s| {
        pods_of(s, "default", "app", "a")
            .iter()
            .filter(|p| is_ready(p))
            .count()
            == 2
    });
    let t = Instant::now();
    let (slow, gone) = c
        .store
        .delete(&resources::PODS, "default", "slow", &DeleteOpts::default())
        .expect("delete");
    assert!(!gone, "a running pod is deleted gracefully");
    assert!(deleting(&slow));
    c.store
        .delete(&resources::PODS, "default", "quick", &DeleteOpts::default())
        .expect("delete");
    c.wait_until("the quick pod gone", |s| {
        s.get(&resources::PODS, "default", "quick").is_none()
    });
    let still = c
        .get(&resources::PODS, "default", "slow")
        .expect("the slow pod is still terminating");
    assert!(deleting(&still));
    c.wait_until("the slow pod gone", |s| {
        s.get(&resources::PODS, "default", "slow").is_none()
    });
    // 3 s of cluster time at 10× speed.
    assert!(
        t.elapsed() >= std::time::Duration::from_millis(280),
        "{:?}",
        t.elapsed()
    );
}
