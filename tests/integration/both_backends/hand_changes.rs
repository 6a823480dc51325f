//! The plugin mixed with the kubectl commands people also type: plans follow what the cluster
//! shows, the journal only explains it (more such sequences, on the sandbox, in the
//! `hand_changes` module).

use std::time::Duration;

use super::pair::*;
use crate::backends::*;
use crate::both_backends;

fn promote_to_a_scaled_down_colour_is_refused(c: &dyn Cluster) {
    classic(c);
    c.bluegreen(&promote(&[])).expect_code(0);
    assert_eq!(replicas(c, "bluedeploy"), Some(0));
    let before = Snapshot::take(c);
    c.bluegreen(&["promote", "blueservice", "--to", "blue", "--yes"])
        .expect_code(5)
        .stderr_has(&["0 replicas", "kubectl bluegreen rollback blueservice"]);
    before.assert_unchanged(c);
    assert_eq!(selected(c, "blueservice", "app"), "green");
    // The Service already selects green: that, and only that, is "nothing to do".
    c.bluegreen(&["promote", "blueservice", "--to", "green", "--yes"])
        .expect_code(0)
        .stdout_has(&["already"]);
    // The other way round, after going back.
    c.bluegreen(&rollback(&[])).expect_code(0);
    assert_eq!(selected(c, "blueservice", "app"), "blue");
    assert_eq!(replicas(c, "greendeploy"), Some(0));
    let before = Snapshot::take(c);
    c.bluegreen(&["promote", "blueservice", "--to", "green", "--yes"])
        .expect_code(5);
    before.assert_unchanged(c);
    assert_eq!(selected(c, "blueservice", "app"), "blue");
}

fn a_new_image_in_the_scaled_down_colour_is_a_new_version(c: &dyn Cluster) {
    classic(c);
    c.bluegreen(&promote(&[])).expect_code(0);
    c.kubectl_ok(&["set", "image", "deploy/bluedeploy", "web=nginx:blue-v2"]);
    c.wait_settled();
    let verdict = status_json(c)["verdict"].clone();
    let summary = verdict["summary"].as_str().unwrap_or_default();
    assert!(!summary.contains("version it replaced"), "{verdict:#}");
    assert_eq!(verdict["safe"], false, "{verdict:#}");
    let before = Snapshot::take(c);
    c.bluegreen(&["promote", "blueservice", "--yes"])
        .expect_code(5)
        .stderr_has(&[
            "blue runs a new version (nginx:blue-v2)",
            "kubectl scale deployment/bluedeploy --replicas=3",
        ]);
    before.assert_unchanged(c);
    assert_eq!(selected(c, "blueservice", "app"), "green");
    c.kubectl_ok(&["scale", "deployment/bluedeploy", "--replicas=3"]);
    c.bluegreen(&promote(&[
        "--wait",
        "--timeout",
        "60s",
        "--cleanup",
        "none",
    ]))
    .expect_code(0);
    assert_eq!(selected(c, "blueservice", "app"), "blue");
}

fn cleanup_delete_after_scale_down_then_rollback_re_creates_it(c: &dyn Cluster) {
    classic(c);
    c.bluegreen(&promote(&[])).expect_code(0);
    c.bluegreen(&["cleanup", "blueservice", "--cleanup", "delete", "--yes"])
        .expect_code(0);
    assert_eq!(replicas(c, "bluedeploy"), None);
    let saved = journal(c, "blueservice", "saved-deployment").expect("saved");
    let saved: serde_json::Value = serde_json::from_str(&saved).expect("JSON");
    assert_eq!(saved["spec"]["replicas"], 3, "{saved:#}");
    c.bluegreen(&rollback(&[])).expect_code(0);
    assert_eq!(replicas(c, "bluedeploy"), Some(3));
    assert_eq!(selected(c, "blueservice", "app"), "blue");
    eventually(Duration::from_secs(30), "blue serves", || {
        ready_endpoints(c, "blueservice") == 3
    });
}

fn the_service_file_applied_after_a_delete_promote_is_repaired_by_rollback(c: &dyn Cluster) {
    classic(c);
    c.bluegreen(&promote(&["--cleanup", "delete"]))
        .expect_code(0);
    // The pipeline applies the Service's file again: production selects the deleted blue.
    c.kubectl_apply(BLUESERVICE);
    assert_eq!(selected(c, "blueservice", "app"), "blue");
    let doc = status_json(c);
    let notes = doc["verdict"]["notes"].to_string();
    assert!(notes.contains("no ready endpoints"), "{:#}", doc["verdict"]);
    c.bluegreen(&["rollback", "blueservice", "--yes", "--timeout", "60s"])
        .expect_code(0)
        .stdout_has(&["re-created Deployment bluedeploy"]);
    assert_eq!(replicas(c, "bluedeploy"), Some(3));
    eventually(Duration::from_secs(30), "blue serves again", || {
        serving_pods(c, "blue") == 3 && ready_endpoints(c, "blueservice") == 3
    });
}

both_backends!(
    promote_to_a_scaled_down_colour_is_refused,
    a_new_image_in_the_scaled_down_colour_is_a_new_version,
    cleanup_delete_after_scale_down_then_rollback_re_creates_it,
    the_service_file_applied_after_a_delete_promote_is_repaired_by_rollback,
);
