//! Garbage collection through owner references, for each propagation policy.

use crate::support::*;
use sandbox::resources;
use sandbox::store::{DeleteOpts, Propagation};
use serde_json::json;

fn up(c: &Cluster, terminate_ms: &str) {
    let mut d = deployment("web", "web", "nginx:1", 3);
    d["spec"]["template"]["metadata"]["annotations"] =
        json!({"sandbox.bluegreen.dev/terminate-after-ms": terminate_ms});
    c.create(d);
    c.wait_settled();
}

fn replicasets(c: &Cluster) -> Vec<serde_json::Value> {
    c.store
        .list(&resources::REPLICASETS, Some("default"), |_| true)
        .0
        .iter()
        .map(|r| (**r).clone())
        .collect()
}

#[test]
fn background_deletion_removes_replicasets_and_pods() {
    let c = start(50.0);
    up(&c, "0");
    let (_, gone) = c
        .store
        .delete(
            &resources::DEPLOYMENTS,
            "default",
            "web",
            &DeleteOpts {
                propagation: Some(Propagation::Background),
                ..Default::default()
            },
        )
        .expect("delete");
    assert!(gone, "the owner goes at once");
    c.wait_until("dependents gone", |s| {
        s.list(&resources::REPLICASETS, Some("default"), |_| true)
            .0
            .is_empty()
            && pods_of(s, "default", "app", "web").is_empty()
    });
}

#[test]
fn foreground_deletion_waits_for_dependents() {
    let c = start(20.0);
    up(&c, "2000");
    let (d, gone) = c
        .store
        .delete(
            &resources::DEPLOYMENTS,
            "default",
            "web",
            &DeleteOpts {
                propagation: Some(Propagation::Foreground),
                ..Default::default()
            },
        )
        .expect("delete");
    assert!(!gone);
    assert_eq!(d["metadata"]["finalizers"], json!(["foregroundDeletion"]));
    // The pods terminate slowly; meanwhile the Deployment is still there.
    c.wait_until("pods terminating", |s| {
        pods_of(s, "default", "app", "web").iter().all(deleting)
    });
    assert!(
        c.get(&resources::DEPLOYMENTS, "default", "web").is_some(),
        "the owner waits for its dependents"
    );
    c.wait_until("the Deployment gone", |s| {
        s.get(&resources::DEPLOYMENTS, "default", "web").is_none()
    });
    assert!(
        c.pods("default", "app", "web").is_empty(),
        "every pod went before the Deployment"
    );
    assert!(replicasets(&c).is_empty());
}

#[test]
fn orphan_deletion_keeps_dependents_without_owner() {
    let c = start(50.0);
    up(&c, "0");
    let rs_before = replicasets(&c);
    let (_, gone) = c
        .store
        .delete(
            &resources::DEPLOYMENTS,
            "default",
            "web",
            &DeleteOpts {
                propagation: Some(Propagation::Orphan),
                ..Default::default()
            },
        )
        .expect("delete");
    assert!(!gone);
    c.wait_until("the Deployment gone", |s| {
        s.get(&resources::DEPLOYMENTS, "default", "web").is_none()
    });
    let rs = replicasets(&c);
    assert_eq!(rs.len(), 1);
    assert_eq!(rs[0]["metadata"]["uid"], rs_before[0]["metadata"]["uid"]);
    assert!(
        rs[0]["metadata"].get("ownerReferences").is_none(),
        "{}",
        rs[0]["metadata"]
    );
    let pods = c.pods("default", "app", "web");
    assert_eq!(pods.len(), 3);
    assert!(pods.iter().all(|p| !deleting(p)));
    // The orphaned ReplicaSet still runs its pods.
    assert_eq!(
        pods[0]["metadata"]["ownerReferences"][0]["uid"],
        rs[0]["metadata"]["uid"]
    );
}

#[test]
fn a_new_deployment_adopts_an_orphaned_replicaset() {
    let c = start(50.0);
    up(&c, "0");
    let rs_uid = replicasets(&c)[0]["metadata"]["uid"].clone();
    c.store
        .delete(
            &resources::DEPLOYMENTS,
            "default",
            "web",
            &DeleteOpts {
                propagation: Some(Propagation::Orphan),
                ..Default::default()
            },
        )
        .expect("delete");
    c.wait_until("orphaned", |s| {
        s.get(&resources::DEPLOYMENTS, "default", "web").is_none()
            && s.list(&resources::REPLICASETS, Some("default"), |r| {
                r["metadata"].get("ownerReferences").is_none()
            })
            .0
            .len()
                == 1
    });
    let mut d = deployment("web", "web", "nginx:1", 3);
    d["spec"]["template"]["metadata"]["annotations"] =
        json!({"sandbox.bluegreen.dev/terminate-after-ms": "0"});
    c.create(d);
    c.wait_settled();
    let rs = replicasets(&c);
    assert_eq!(
        rs.len(),
        1,
        "the same template reuses the adopted ReplicaSet"
    );
    assert_eq!(rs[0]["metadata"]["uid"], rs_uid);
    assert_eq!(
        rs[0]["metadata"]["ownerReferences"][0]["kind"],
        "Deployment"
    );
}

#[test]
fn deleting_a_replicaset_deletes_its_pods() {
    let c = start(50.0);
    let rs = json!({
        "apiVersion": "apps/v1",
        "kind": "ReplicaSet",
        "metadata": {"name": "bare", "namespace": "default"},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {"app": "bare"}},
            "template": {"metadata": {"labels": {"app": "bare"}}, "spec": {"containers": [{"name": "web", "image": "nginx:1"}]}},
        },
    });
    c.create(rs);
    c.wait_until("two pods", |s| {
        pods_of(s, "default", "app", "bare")
            .iter()
            .filter(|p| is_ready(p))
            .count()
            == 2
    });
    c.store
        .delete(
            &resources::REPLICASETS,
            "default",
            "bare",
            &DeleteOpts::default(),
        )
        .expect("delete");
    c.wait_until("pods gone", |s| {
        pods_of(s, "default", "app", "bare").is_empty()
    });
}
