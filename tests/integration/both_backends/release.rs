//! promote with each cleanup policy, rollback after each, cleanup after `--cleanup none`, and
//! the refusals of a green that does not serve.

use std::time::Duration;

use super::pair::*;
use crate::backends::*;
use crate::both_backends;

/// What every finished promote leaves: the selector on green, the journal of the flip, nothing
/// in progress, a Promoted event.
#[track_caller]
fn promoted(c: &dyn Cluster, policy: &str) {
    assert_eq!(selected(c, "blueservice", "app"), "green");
    assert_eq!(
        journal(c, "blueservice", "action").as_deref(),
        Some("promote")
    );
    assert_eq!(
        journal(c, "blueservice", "previous-colour").as_deref(),
        Some("blue")
    );
    assert_eq!(
        journal(c, "blueservice", "previous-deployment").as_deref(),
        Some("bluedeploy")
    );
    assert_eq!(
        journal(c, "blueservice", "previous-selector").as_deref(),
        Some("{\"app\":\"blue\"}")
    );
    assert_eq!(
        journal(c, "blueservice", "previous-images").as_deref(),
        Some("[\"nginx:blue\"]")
    );
    assert_eq!(
        journal(c, "blueservice", "cleanup-policy").as_deref(),
        Some(policy)
    );
    assert!(journal(c, "blueservice", "flipped-at").is_some());
    assert_eq!(
        journal(c, "blueservice", "step"),
        None,
        "nothing in progress"
    );
    assert_eq!(
        replicas(c, "greendeploy"),
        Some(3),
        "the live colour is untouched"
    );
    eventually(Duration::from_secs(30), "the Promoted event", || {
        event_reasons(c, "blueservice")
            .iter()
            .any(|r| r == "Promoted")
    });
    eventually(Duration::from_secs(30), "green serves blueservice", || {
        ready_endpoints(c, "blueservice") == 3
    });
}

/// What every finished rollback leaves.
#[track_caller]
fn rolled_back(c: &dyn Cluster) {
    assert_eq!(selected(c, "blueservice", "app"), "blue");
    assert_eq!(
        journal(c, "blueservice", "action").as_deref(),
        Some("rollback")
    );
    assert_eq!(
        journal(c, "blueservice", "previous-colour").as_deref(),
        Some("green")
    );
    assert_eq!(journal(c, "blueservice", "step"), None);
    assert_eq!(replicas(c, "bluedeploy"), Some(3));
    eventually(Duration::from_secs(30), "blue serves again", || {
        serving_pods(c, "blue") == 3 && ready_endpoints(c, "blueservice") == 3
    });
    eventually(Duration::from_secs(30), "the RolledBack event", || {
        event_reasons(c, "blueservice")
            .iter()
            .any(|r| r == "RolledBack")
    });
}

fn promote_scale_down_then_rollback(c: &dyn Cluster) {
    classic(c);
    c.bluegreen(&promote(&["--cleanup", "scale-down"]))
        .expect_code(0)
        .stdout_has(&[
            "Promoted blueservice: blue → green.",
            "scaled bluedeploy (blue) to 0 replicas; 3 remembered for rollback",
        ]);
    promoted(c, "scale-down");
    assert_eq!(replicas(c, "bluedeploy"), Some(0));
    assert_eq!(
        journal(c, "blueservice", "scaled-down-deployment").as_deref(),
        Some("bluedeploy")
    );
    assert_eq!(
        journal(c, "blueservice", "scaled-down-replicas").as_deref(),
        Some("3")
    );
    eventually(Duration::from_secs(30), "blue's pods are gone", || {
        serving_pods(c, "blue") == 0
    });
    assert!(c.get_json("services", "greenservice").is_some());

    c.bluegreen(&rollback(&[])).expect_code(0).stdout_has(&[
        "scaled bluedeploy to 3 replicas",
        "Rolled back blueservice: green → blue.",
    ]);
    rolled_back(c);
    assert_eq!(
        replicas(c, "greendeploy"),
        Some(0),
        "green scaled down by default"
    );
}

fn promote_delete_then_rollback(c: &dyn Cluster) {
    classic(c);
    c.bluegreen(&promote(&["--cleanup", "delete"]))
        .expect_code(0)
        .stdout_has(&[
            "deleted Deployment bluedeploy (blue)",
            "deleted test Service greenservice",
        ]);
    promoted(c, "delete");
    assert_eq!(
        replicas(c, "bluedeploy"),
        None,
        "the old Deployment is gone"
    );
    assert!(
        c.get_json("services", "greenservice").is_none(),
        "the test Service is gone"
    );
    let saved = journal(c, "blueservice", "saved-deployment").expect("the Deployment is saved");
    let saved: serde_json::Value = serde_json::from_str(&saved).expect("JSON");
    assert_eq!(saved["metadata"]["name"], "bluedeploy");
    assert!(journal(c, "blueservice", "saved-services").is_some());
    eventually(Duration::from_secs(30), "blue's pods are gone", || {
        c.list_json("pods")
            .iter()
            .all(|p| p["metadata"]["labels"]["app"] != "blue")
    });

    c.bluegreen(&rollback(&["--cleanup", "none"]))
        .expect_code(0)
        .stdout_has(&[
            "re-created Deployment bluedeploy from the journal",
            "re-created test Service greenservice from the journal",
        ]);
    rolled_back(c);
    assert!(c.get_json("services", "greenservice").is_some());
    assert_eq!(
        replicas(c, "greendeploy"),
        Some(3),
        "--cleanup none keeps green"
    );
}

fn promote_none_then_rollback(c: &dyn Cluster) {
    classic(c);
    c.bluegreen(&promote(&["--cleanup", "none"]))
        .expect_code(0)
        .stdout_has(&["--cleanup none: blue keeps running for an instant rollback"]);
    promoted(c, "none");
    assert_eq!(replicas(c, "bluedeploy"), Some(3));
    assert_eq!(serving_pods(c, "blue"), 3);

    c.bluegreen(&rollback(&["--cleanup", "none"]))
        .expect_code(0)
        .stdout_has(&["Rolled back blueservice: green → blue."]);
    rolled_back(c);
    assert_eq!(replicas(c, "greendeploy"), Some(3));
}

fn cleanup_after_promote_with_none(c: &dyn Cluster) {
    classic(c);
    c.bluegreen(&promote(&["--cleanup", "none"])).expect_code(0);
    c.bluegreen(&[
        "cleanup",
        "blueservice",
        "--yes",
        "--scale-down-delay",
        "0s",
    ])
    .expect_code(0)
    .stdout_has(&[
        "Plan: cleanup blueservice",
        "test Service greenservice points at the live colour green",
        "scaled bluedeploy (blue) to 0 replicas; 3 remembered for rollback",
    ]);
    assert_eq!(replicas(c, "bluedeploy"), Some(0));
    assert_eq!(
        replicas(c, "greendeploy"),
        Some(3),
        "the live colour is untouched"
    );
    assert_eq!(selected(c, "blueservice", "app"), "green");
    assert_eq!(
        journal(c, "blueservice", "scaled-down-replicas").as_deref(),
        Some("3")
    );
    eventually(Duration::from_secs(30), "the CleanedUp event", || {
        c.list_json("events").iter().any(|e| {
            e["involvedObject"]["name"] == "blueservice"
                && e["reason"] == "CleanedUp"
                && e["message"] == "blue scaled down (scale-down)"
        })
    });
    let before = Snapshot::take(c);
    c.bluegreen(&["cleanup", "blueservice", "--yes"])
        .expect_code(0)
        .stdout_has(&["nothing to clean up: blue is already scaled down"]);
    before.assert_unchanged(c);
}

fn promote_refused_when_green_is_never_ready(c: &dyn Cluster) {
    Pair {
        green_annotations: r#""sandbox.bluegreen.dev/never-ready": "true""#.into(),
        ..Pair::default()
    }
    .load(c);
    let before = Snapshot::take(c);
    c.bluegreen(&promote(&[])).expect_code(5).stderr_has(&[
        "green is not ready",
        "--wait",
        "--force",
    ]);
    before.assert_unchanged(c);
    assert_eq!(selected(c, "blueservice", "app"), "blue");
}

fn promote_refused_when_green_crash_loops(c: &dyn Cluster) {
    Pair {
        green_annotations: r#""sandbox.bluegreen.dev/crash-loop": "true""#.into(),
        ..Pair::default()
    }
    .load(c);
    eventually(Duration::from_secs(30), "green's pods restart", || {
        c.list_json("pods").iter().any(|p| {
            p["metadata"]["labels"]["app"] == "green"
                && p["status"]["containerStatuses"][0]["restartCount"]
                    .as_i64()
                    .is_some_and(|n| n > 0)
        })
    });
    let before = Snapshot::take(c);
    c.bluegreen(&promote(&[]))
        .expect_code(5)
        .stderr_has(&["green is not ready to take blueservice's traffic"]);
    before.assert_unchanged(c);
    assert_eq!(selected(c, "blueservice", "app"), "blue");
}

/// The refusal names the crash loop (restarts), whichever moment of the loop it reads: between
/// two crashes too, when the container runs again and its last state is the crash.
fn a_crash_looping_green_is_named_as_such(c: &dyn Cluster) {
    Pair {
        green_annotations: r#""sandbox.bluegreen.dev/crash-loop": "true""#.into(),
        ..Pair::default()
    }
    .load(c);
    eventually(
        Duration::from_secs(30),
        "green's pods restarted twice",
        || {
            c.list_json("pods").iter().any(|p| {
                p["metadata"]["labels"]["app"] == "green"
                    && p["status"]["containerStatuses"][0]["restartCount"]
                        .as_i64()
                        .is_some_and(|n| n > 1)
            })
        },
    );
    // Several reads, spread over more than one crash cycle (1 s on the real back-end).
    for _ in 0..5 {
        c.bluegreen(&promote(&[])).expect_code(5).stderr_has(&[
            "green is not ready to take blueservice's traffic",
            "restarts",
        ]);
        std::thread::sleep(Duration::from_millis(300));
    }
}

both_backends!(
    promote_scale_down_then_rollback,
    promote_delete_then_rollback,
    promote_none_then_rollback,
    cleanup_after_promote_with_none,
    promote_refused_when_green_is_never_ready,
    promote_refused_when_green_crash_loops,
);

both_backends!(a_crash_looping_green_is_named_as_such,);
