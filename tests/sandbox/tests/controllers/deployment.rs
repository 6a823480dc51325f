//! The Deployment and ReplicaSet controllers: ReplicaSets per template, scaling, rolling
//! updates within maxSurge/maxUnavailable, Recreate, revisions, status and conditions.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use crate::support::*;
use sandbox::resources;
use sandbox::store::{EventType, UpdateScope};
use serde_json::{Value, json};

fn rs_of(c: &Cluster, deploy: &str) -> Vec<Value> {
    let d = c
        .get(&resources::DEPLOYMENTS, "default", deploy)
        .expect("deployment");
    let uid = d["metadata"]["uid"].clone();
    let (rs, _) = c.store.list(&resources::REPLICASETS, Some("default"), |r| {
        r["metadata"]["ownerReferences"][0]["uid"] == uid
    });
    rs.iter().map(|r| (**r).clone()).collect()
}

fn rolled_out(c: &Cluster, name: &str, replicas: i64) {
    c.wait_until("rolled out", |s| {
        let Some(d) = s.get(&resources::DEPLOYMENTS, "default", name) else {
            return false;
        };
        let st = &d["status"];
        st["observedGeneration"] == d["metadata"]["generation"]
            && st["updatedReplicas"].as_i64().unwrap_or(0) == replicas
            && st["replicas"].as_i64().unwrap_or(0) == replicas
            && st["availableReplicas"].as_i64().unwrap_or(0) == replicas
            && condition(&d, "Progressing").is_some_and(|c| c["reason"] == "NewReplicaSetAvailable")
    });
}

#[test]
fn deployment_creates_a_replicaset_and_pods_with_status() {
    let c = start(50.0);
    c.create(deployment("web", "web", "nginx:1", 3));
    rolled_out(&c, "web", 3);
    let rses = rs_of(&c, "web");
    assert_eq!(rses.len(), 1);
    let rs = &rses[0];
    let hash = rs["metadata"]["labels"]["pod-template-hash"]
        .as_str()
        .expect("hash label")
        .to_string();
    assert_eq!(rs["metadata"]["name"], format!("web-{hash}"));
    assert_eq!(
        rs["spec"]["selector"]["matchLabels"]["pod-template-hash"],
        hash.as_str()
    );
    assert_eq!(
        rs["spec"]["template"]["metadata"]["labels"]["pod-template-hash"],
        hash.as_str()
    );
    let a = &rs["metadata"]["annotations"];
    assert_eq!(a["deployment.kubernetes.io/revision"], "1");
    assert_eq!(a["deployment.kubernetes.io/desired-replicas"], "3");
    assert_eq!(a["deployment.kubernetes.io/max-replicas"], "4");
    let owner = &rs["metadata"]["ownerReferences"][0];
    assert_eq!(owner["kind"], "Deployment");
    assert_eq!(owner["controller"], true);
    assert_eq!(owner["blockOwnerDeletion"], true);
    assert_eq!(rs["status"]["replicas"], 3);
    assert_eq!(rs["status"]["readyReplicas"], 3);
    assert_eq!(rs["status"]["availableReplicas"], 3);
    assert_eq!(rs["status"]["fullyLabeledReplicas"], 3);
    assert_eq!(
        rs["status"]["observedGeneration"],
        rs["metadata"]["generation"]
    );

    let pods = c.pods("default", "app", "web");
    assert_eq!(pods.len(), 3);
    for p in &pods {
        let name = p["metadata"]["name"].as_str().unwrap_or("");
        assert!(
            name.starts_with(&format!("web-{hash}-"))
                && name.len() == format!("web-{hash}-").len() + 5,
            "{name}"
        );
        assert_eq!(p["metadata"]["ownerReferences"][0]["kind"], "ReplicaSet");
        assert_eq!(
            p["metadata"]["ownerReferences"][0]["uid"],
            rs["metadata"]["uid"]
        );
        assert_eq!(p["metadata"]["labels"]["pod-template-hash"], hash.as_str());
    }

    let d = c
        .get(&resources::DEPLOYMENTS, "default", "web")
        .expect("deployment");
    assert_eq!(
        d["metadata"]["annotations"]["deployment.kubernetes.io/revision"],
        "1"
    );
    let st = &d["status"];
    assert_eq!(st["readyReplicas"], 3);
    assert!(
        st.get("unavailableReplicas").is_none(),
        "zero counts are omitted, as omitempty does"
    );
    let avail = condition(&d, "Available").expect("Available");
    assert_eq!(avail["status"], "True");
    assert_eq!(avail["reason"], "MinimumReplicasAvailable");
    assert_eq!(avail["message"], "Deployment has minimum availability.");
    let prog = condition(&d, "Progressing").expect("Progressing");
    assert_eq!(prog["status"], "True");
    assert_eq!(
        prog["message"],
        format!("ReplicaSet \"web-{hash}\" has successfully progressed.")
    );
    // The order a real cluster shows after a rollout.
    assert_eq!(st["conditions"][0]["type"], "Available");
    assert_eq!(st["conditions"][1]["type"], "Progressing");

    // Events as the real controllers record them.
    let (events, _) = c.store.list(&resources::EVENTS, Some("default"), |_| true);
    let reasons: HashSet<&str> = events.iter().filter_map(|e| e["reason"].as_str()).collect();
    assert!(
        reasons.contains("ScalingReplicaSet") && reasons.contains("SuccessfulCreate"),
        "{reasons:?}"
    );
    assert!(
        events
            .iter()
            .any(|e| e["message"] == format!("Scaled up replica set web-{hash} from 0 to 3"))
    );
}

#[test]
fn scaling_up_and_down() {
    let c = start(50.0);
    c.create(deployment("web", "web", "nginx:1", 2));
    rolled_out(&c, "web", 2);
    c.modify(&resources::DEPLOYMENTS, "default", "web", |d| {
        d["spec"]["replicas"] = json!(5)
    });
    rolled_out(&c, "web", 5);
    assert_eq!(c.pods("default", "app", "web").len(), 5);
    c.modify(&resources::DEPLOYMENTS, "default", "web", |d| {
        d["spec"]["replicas"] = json!(1)
    });
    rolled_out(&c, "web", 1);
    c.wait_until("extra pods gone", |s| {
        pods_of(s, "default", "app", "web").len() == 1
    });
    assert_eq!(rs_of(&c, "web").len(), 1, "scaling keeps the ReplicaSet");
    // Scale to zero: the Deployment stays complete with no pods.
    c.modify(&resources::DEPLOYMENTS, "default", "web", |d| {
        d["spec"]["replicas"] = json!(0)
    });
    c.wait_until("no pods", |s| {
        pods_of(s, "default", "app", "web").is_empty()
    });
    c.wait_settled();
}

/// Follows every pod event during a rollout and checks the bounds at each step.
fn rollout_bounds(
    replicas: i64,
    surge: Value,
    unavailable: Value,
    max_pods: usize,
    min_ready: usize,
) {
    let c = start(50.0);
    let mut d = deployment("web", "web", "nginx:1", replicas);
    d["spec"]["strategy"] = json!({"type": "RollingUpdate", "rollingUpdate": {"maxSurge": surge, "maxUnavailable": unavailable}});
    c.create(d);
    rolled_out(&c, "web", replicas);
    let mut rx = c.subscribe();
    let mut pods: HashMap<String, Value> = c
        .pods("default", "app", "web")
        .into_iter()
        .map(|p| (p["metadata"]["name"].as_str().unwrap_or("").to_string(), p))
        .collect();
    c.modify(&resources::DEPLOYMENTS, "default", "web", |d| {
        d["spec"]["template"]["spec"]["containers"][0]["image"] = json!("nginx:2")
    });
    let (mut peak, mut low) = (0usize, usize::MAX);
    let start = std::time::Instant::now();
    loop {
        match rx.try_recv() {
            Ok(ev) => {
                if !std::ptr::eq(ev.resource, &resources::PODS) {
                    continue;
                }
                let name = ev.name().to_string();
                if ev.kind == EventType::Deleted {
                    pods.remove(&name);
                } else {
                    pods.insert(name, (*ev.object).clone());
                }
                let live: Vec<&Value> = pods.values().filter(|p| !deleting(p)).collect();
                peak = peak.max(live.len());
                low = low.min(live.iter().filter(|p| is_ready(p)).count());
                let done = live.len() == replicas as usize
                    && live
                        .iter()
                        .all(|p| is_ready(p) && p["spec"]["containers"][0]["image"] == "nginx:2");
                if done {
                    break;
                }
            }
            Err(tokio::sync::broadcast::error::TryRecvError::Empty) => {
                assert!(start.elapsed() < TIMEOUT, "rollout did not finish");
                std::thread::sleep(Duration::from_millis(1));
            }
            Err(e) => panic!("{e}"),
        }
    }
    assert!(
        peak <= max_pods,
        "at most {max_pods} pods at once, saw {peak}"
    );
    assert!(
        low >= min_ready,
        "at least {min_ready} Ready pods at all times, saw {low}"
    );
    rolled_out(&c, "web", replicas);
    let rses = rs_of(&c, "web");
    assert_eq!(rses.len(), 2, "the old ReplicaSet is kept for rollback");
    let old = rses
        .iter()
        .find(|r| r["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "1")
        .expect("old");
    assert_eq!(old["spec"]["replicas"], 0);
    let new = rses
        .iter()
        .find(|r| r["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "2")
        .expect("new");
    assert_eq!(new["spec"]["replicas"], replicas);
}

#[test]
fn rolling_update_with_default_25_percent() {
    // 4 replicas: maxSurge 1 (rounded up), maxUnavailable 1 (rounded down).
    rollout_bounds(4, json!("25%"), json!("25%"), 5, 3);
}

#[test]
fn rolling_update_surge_only() {
    rollout_bounds(3, json!(1), json!(0), 4, 3);
}

#[test]
fn rolling_update_unavailable_only() {
    rollout_bounds(4, json!(0), json!(2), 4, 2);
}

#[test]
fn recreate_removes_every_old_pod_before_creating_new_ones() {
    let c = start(50.0);
    let mut d = deployment("web", "web", "nginx:1", 3);
    d["spec"]["strategy"] = json!({"type": "Recreate"});
    c.create(d);
    rolled_out(&c, "web", 3);
    let mut rx = c.subscribe();
    let mut old: HashSet<String> = c
        .pods("default", "app", "web")
        .iter()
        .map(|p| p["metadata"]["name"].as_str().unwrap_or("").to_string())
        .collect();
    c.modify(&resources::DEPLOYMENTS, "default", "web", |d| {
        d["spec"]["template"]["spec"]["containers"][0]["image"] = json!("nginx:2")
    });
    let start = std::time::Instant::now();
    let mut new_pods = 0;
    while new_pods < 3 {
        match rx.try_recv() {
            Ok(ev) if std::ptr::eq(ev.resource, &resources::PODS) => {
                let name = ev.name().to_string();
                if ev.kind == EventType::Deleted {
                    old.remove(&name);
                } else if ev.kind == EventType::Added {
                    assert!(
                        old.is_empty(),
                        "a new pod was created while old pods remained: {old:?}"
                    );
                    new_pods += 1;
                }
            }
            Ok(_) => {}
            Err(_) => {
                assert!(start.elapsed() < TIMEOUT, "recreate did not finish");
                std::thread::sleep(Duration::from_millis(1));
            }
        }
    }
    rolled_out(&c, "web", 3);
}

#[test]
fn rollback_gives_the_old_replicaset_the_next_revision() {
    let c = start(50.0);
    c.create(deployment("web", "web", "nginx:1", 2));
    rolled_out(&c, "web", 2);
    let first = rs_of(&c, "web")[0]["metadata"]["name"].clone();
    c.modify(&resources::DEPLOYMENTS, "default", "web", |d| {
        d["spec"]["template"]["spec"]["containers"][0]["image"] = json!("nginx:2")
    });
    c.wait_until("revision 2", |s| {
        s.get(&resources::DEPLOYMENTS, "default", "web")
            .is_some_and(|d| {
                d["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "2"
            })
    });
    rolled_out(&c, "web", 2);
    c.modify(&resources::DEPLOYMENTS, "default", "web", |d| {
        d["spec"]["template"]["spec"]["containers"][0]["image"] = json!("nginx:1")
    });
    c.wait_until("revision 3 on the first ReplicaSet", |s| {
        s.get(
            &resources::REPLICASETS,
            "default",
            first.as_str().unwrap_or(""),
        )
        .is_some_and(|r| r["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "3")
    });
    rolled_out(&c, "web", 2);
    let rs = c
        .get(
            &resources::REPLICASETS,
            "default",
            first.as_str().unwrap_or(""),
        )
        .expect("rs");
    assert_eq!(
        rs["metadata"]["annotations"]["deployment.kubernetes.io/revision-history"],
        "1"
    );
    assert_eq!(rs["spec"]["replicas"], 2);
    assert_eq!(rs_of(&c, "web").len(), 2);
}

#[test]
fn unavailable_deployment_reports_conditions_and_times_out() {
    let c = start(100.0);
    let mut d = deployment("stuck", "stuck", "nginx:1", 3);
    d["spec"]["progressDeadlineSeconds"] = json!(10);
    d["spec"]["template"]["metadata"]["annotations"] =
        json!({"sandbox.bluegreen.dev/never-ready": "true"});
    c.create(d);
    c.wait_until("deadline exceeded", |s| {
        s.get(&resources::DEPLOYMENTS, "default", "stuck")
            .is_some_and(|d| {
                condition(&d, "Progressing")
                    .is_some_and(|p| p["reason"] == "ProgressDeadlineExceeded")
            })
    });
    let d = c
        .get(&resources::DEPLOYMENTS, "default", "stuck")
        .expect("deployment");
    let rs = &rs_of(&c, "stuck")[0];
    let prog = condition(&d, "Progressing").expect("Progressing");
    assert_eq!(prog["status"], "False");
    assert_eq!(
        prog["message"],
        format!(
            "ReplicaSet \"{}\" has timed out progressing.",
            rs["metadata"]["name"].as_str().unwrap_or("")
        )
    );
    let avail = condition(&d, "Available").expect("Available");
    assert_eq!(avail["status"], "False");
    assert_eq!(avail["reason"], "MinimumReplicasUnavailable");
    assert_eq!(
        avail["message"],
        "Deployment does not have minimum availability."
    );
    assert_eq!(d["status"]["replicas"], 3);
    assert_eq!(d["status"]["updatedReplicas"], 3);
    assert_eq!(d["status"]["unavailableReplicas"], 3);
    assert!(d["status"].get("readyReplicas").is_none());
}

#[test]
fn min_ready_seconds_delays_availability() {
    let c = start(50.0);
    let mut d = deployment("slow", "slow", "nginx:1", 2);
    d["spec"]["minReadySeconds"] = json!(5);
    c.create(d);
    c.wait_until("pods Ready", |s| {
        pods_of(s, "default", "app", "slow")
            .iter()
            .filter(|p| is_ready(p))
            .count()
            == 2
    });
    // Ready but not yet available: 5 s cluster time = 100 ms here.
    let d = c
        .get(&resources::DEPLOYMENTS, "default", "slow")
        .expect("d");
    assert!(
        d["status"]["availableReplicas"].as_i64().unwrap_or(0) < 2,
        "{}",
        d["status"]
    );
    rolled_out(&c, "slow", 2);
}

#[test]
fn replicaset_replaces_deleted_pods_and_prefers_unready_ones_on_scale_down() {
    let c = start(50.0);
    c.create(deployment("web", "web", "nginx:1", 3));
    rolled_out(&c, "web", 3);
    let victim = c.pods("default", "app", "web")[0]["metadata"]["name"]
        .as_str()
        .unwrap_or("")
        .to_string();
    c.store
        .delete(&resources::PODS, "default", &victim, &Default::default())
        .expect("delete");
    c.wait_until("replaced", |s| {
        let p = pods_of(s, "default", "app", "web");
        p.len() == 3
            && p.iter()
                .all(|p| p["metadata"]["name"] != victim.as_str() && is_ready(p))
    });
    // Mark one pod not ready (as a failing probe would), then scale down by one.
    let target = c.pods("default", "app", "web")[1]["metadata"]["name"]
        .as_str()
        .unwrap_or("")
        .to_string();
    let rs_name = rs_of(&c, "web")[0]["metadata"]["name"]
        .as_str()
        .unwrap_or("")
        .to_string();
    // Pause the kubelet's view of this pod: a relabel keeps it selected but we flip Ready.
    c.set_scope(
        &resources::PODS,
        "default",
        &target,
        UpdateScope::Status,
        |p| {
            if let Some(cs) = p["status"]["conditions"].as_array_mut() {
                for c in cs {
                    if c["type"] == "Ready" {
                        c["status"] = json!("False");
                    }
                }
            }
        },
    );
    c.modify(&resources::REPLICASETS, "default", &rs_name, |r| {
        r["spec"]["replicas"] = json!(2)
    });
    c.modify(&resources::DEPLOYMENTS, "default", "web", |d| {
        d["spec"]["replicas"] = json!(2)
    });
    c.wait_until("the unready pod chosen", |s| {
        s.get(&resources::PODS, "default", &target)
            .is_none_or(|p| deleting(&p))
    });
}
