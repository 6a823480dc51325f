//! `rollback` through the built binary against the sandbox: from the journal, with an
//! autoscaler, after the old Deployment was edited, after an interrupted promote, and with
//! nothing to roll back to.

use std::time::Duration;

use crate::both_backends::pair::rollback;
use crate::common::*;
use crate::release_support::*;

#[test]
fn without_a_recorded_promotion_there_is_nothing_to_roll_back_to() {
    let sb = settled_scenario("classic");
    run_against(&sb, &["rollback", "blueservice", "--yes"])
        .expect_code(5)
        .stderr_has(&[
            "records no earlier flip",
            "kubectl bluegreen promote blueservice",
        ]);
    assert_no_mutation(&sb);
}

#[test]
fn an_autoscaled_old_colour_comes_back_with_at_least_the_autoscaler_minimum() {
    let sb = settled_scenario("classic");
    sb.load_yaml(
        "apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata:
  name: blue-hpa
  namespace: default
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: bluedeploy}
  minReplicas: 5
  maxReplicas: 10
",
    )
    .expect("the autoscaler");
    run_against(
        &sb,
        &["promote", "blueservice", "--yes", "--scale-down-delay", "0"],
    )
    .expect_code(0)
    .stdout_has(&[
        "this disables HorizontalPodAutoscaler blue-hpa",
        "Kubernetes treats 0 replicas as autoscaling off",
    ]);
    assert_eq!(replicas(&sb, "bluedeploy"), Some(0));

    run_against(&sb, &rollback(&["--cleanup", "none"]))
        .expect_code(0)
        .stdout_has(&[
            "scale bluedeploy (blue) up to 5 replicas",
            "raised to HorizontalPodAutoscaler's minimum 5",
        ]);
    assert_eq!(replicas(&sb, "bluedeploy"), Some(5));
    assert_eq!(serving_pods(&sb, "blue"), 5);
    assert_eq!(selected(&sb, "blueservice", "app"), "blue");
}

#[test]
fn rollback_says_it_goes_to_what_an_edited_old_deployment_is_now() {
    let sb = settled_scenario("classic");
    run_against(
        &sb,
        &["promote", "blueservice", "--yes", "--cleanup", "none"],
    )
    .expect_code(0);
    let kubeconfig = sb.kubeconfig_path().display().to_string();
    let edit = std::process::Command::new("kubectl")
        .args([
            "--kubeconfig",
            &kubeconfig,
            "set",
            "image",
            "deployment/bluedeploy",
            "web=nginx:blue-hotfix",
        ])
        .output()
        .expect("kubectl runs");
    assert!(edit.status.success(), "{edit:?}");
    wait_settled(&sb);
    run_against(&sb, &rollback(&[]))
    .expect_code(0)
    .stdout_has(&[
        "blue's Deployment was changed since the promotion: it now runs nginx:blue-hotfix (it ran nginx:blue then)",
        "Rolled back blueservice: green → blue.",
    ]);
    assert_eq!(selected(&sb, "blueservice", "app"), "blue");
}

#[test]
fn an_interrupted_promote_is_explained_and_finished_by_running_promote_again() {
    let sb = settled_scenario("classic");
    // Ctrl-C during the grace period.
    let output = promote_interrupted_during_cleanup(&sb);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(130), "{stderr}");
    assert!(stderr.contains("Ctrl-C is safe"), "{stderr}");
    assert_eq!(selected(&sb, "blueservice", "app"), "green");
    assert_eq!(
        replicas(&sb, "bluedeploy"),
        Some(3),
        "the cleanup had not run"
    );

    run_against(&sb, &["status", "blueservice", "-o", "wide"])
        .expect_code(0)
        .stdout_has(&["step: cleanup", "cleanup-policy: scale-down"]);

    run_against(
        &sb,
        &["promote", "blueservice", "--yes", "--scale-down-delay", "0"],
    )
    .expect_code(0)
    .stdout_has(&[
        "resuming the promote of",
        "the cleanup of blue is pending",
        "scaled bluedeploy (blue) to 0 replicas; 3 remembered for rollback",
    ]);
    assert_eq!(replicas(&sb, "bluedeploy"), Some(0));
    assert_eq!(journal(&sb, "blueservice", "step"), None);
    // Running it once more has nothing left to do.
    run_against(&sb, &["promote", "blueservice", "--yes"])
        .expect_code(0)
        .stdout_has(&["already promoted"]);
}

#[test]
fn a_rollback_during_the_grace_period_keeps_the_promote_from_touching_the_live_colour() {
    let sb = settled_scenario("classic");
    let home = tempfile::tempdir().expect("a temporary HOME");
    let promote = spawn_against(
        &sb,
        home.path(),
        &[
            "promote",
            "blueservice",
            "--yes",
            "--scale-down-delay",
            "6s",
        ],
    );
    eventually(
        Duration::from_secs(30),
        "the promote waits to clean up",
        || journal(&sb, "blueservice", "step").as_deref() == Some("cleanup"),
    );
    // A colleague rolls back while the promote waits to scale blue down.
    run_against(
        &sb,
        &["rollback", "blueservice", "--yes", "--cleanup", "none"],
    )
    .expect_code(0);
    assert_eq!(selected(&sb, "blueservice", "app"), "blue");

    let output = promote.wait_with_output().expect("promote ends");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(7), "{stderr}");
    assert!(
        stderr.contains("blue is live and will not be touched"),
        "{stderr}"
    );
    assert_eq!(
        replicas(&sb, "bluedeploy"),
        Some(3),
        "the live colour kept its pods"
    );
    assert_eq!(serving_pods(&sb, "blue"), 3);
}

#[test]
fn rollback_dry_run_shows_the_scale_up_and_the_flip_back_and_changes_nothing() {
    let sb = settled_scenario("classic");
    run_against(
        &sb,
        &["promote", "blueservice", "--yes", "--scale-down-delay", "0"],
    )
    .expect_code(0);
    sb.clear_requests();
    run_against(&sb, &["rollback", "blueservice", "--dry-run"])
        .expect_code(0)
        .stdout_has(&[
            "Plan: rollback blueservice from green to blue",
            "PATCH /apis/apps/v1/namespaces/default/deployments/bluedeploy/scale (application/merge-patch+json) {\"spec\":{\"replicas\":3}}",
            "\"spec\":{\"selector\":{\"app\":\"blue\"}}",
            "\"bluegreen.dev/action\":\"rollback\"",
            "Dry run: nothing was changed.",
        ]);
    assert_no_mutation(&sb);
    assert_eq!(replicas(&sb, "bluedeploy"), Some(0));
    assert_eq!(selected(&sb, "blueservice", "app"), "green");
}
