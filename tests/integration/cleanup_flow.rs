//! `cleanup` through the built binary against the sandbox: with `--cleanup delete`, its refusal
//! to touch anything but the colour traffic left, after a promote killed during verification,
//! and in the namespace of the context. `cleanup` after `promote --cleanup none`, on either
//! back-end, is `both_backends::release`.

use crate::both_backends::pair::promote;
use crate::common::*;
use crate::release_support::*;

#[test]
fn cleanup_with_delete_saves_then_deletes_and_rollback_brings_it_back() {
    let sb = settled_scenario("classic");
    run_against(
        &sb,
        &["promote", "blueservice", "--yes", "--cleanup", "none"],
    )
    .expect_code(0);
    run_against(
        &sb,
        &["cleanup", "blueservice", "--yes", "--cleanup", "delete"],
    )
    .expect_code(0)
    .stdout_has(&[
        "deleted Deployment bluedeploy (blue); its manifest is saved in the journal",
        "deleted test Service greenservice",
    ]);
    assert_eq!(replicas(&sb, "bluedeploy"), None);
    assert_eq!(replicas(&sb, "greendeploy"), Some(3));
    let saved = journal(&sb, "blueservice", "saved-deployment").expect("a saved manifest");
    let saved: serde_json::Value = serde_json::from_str(&saved).expect("JSON");
    assert_eq!(saved["metadata"]["name"], "bluedeploy");
    assert!(saved["status"].is_null() && saved["metadata"]["uid"].is_null());
    assert!(saved["metadata"]["resourceVersion"].is_null());

    run_against(
        &sb,
        &["rollback", "blueservice", "--yes", "--cleanup", "none"],
    )
    .expect_code(0);
    assert_eq!(replicas(&sb, "bluedeploy"), Some(3));
    assert_eq!(serving_pods(&sb, "blue"), 3);
    assert!(service(&sb, "greenservice").is_some());
    assert_eq!(selected(&sb, "blueservice", "app"), "blue");
}

#[test]
fn cleanup_never_touches_a_colour_traffic_did_not_leave() {
    let sb = settled_scenario("classic");
    // Green is idle but waiting for its promote: no journal says traffic left it.
    run_against(&sb, &["cleanup", "blueservice", "--yes"])
        .expect_code(5)
        .stderr_has(&[
            "green is not the colour traffic left",
            "kubectl bluegreen promote blueservice",
        ]);
    assert_no_mutation(&sb);

    // Whatever the flags, the live colour is never the one cleaned up.
    run_against(
        &sb,
        &[
            "cleanup",
            "blueservice",
            "--yes",
            "--force",
            "--cleanup",
            "delete",
            "--dry-run",
        ],
    )
    .expect_code(0)
    .stdout_has(&["DELETE /apis/apps/v1/namespaces/default/deployments/greendeploy"]);
    let requests = sb.requests();
    assert!(
        requests.iter().all(|r| !r.path.contains("bluedeploy")),
        "the live Deployment is not even read for a cleanup"
    );
    assert_no_mutation(&sb);
}

#[test]
fn a_promote_killed_during_verification_is_finished_by_cleanup() {
    let sb = settled_scenario("classic");
    sb.pause_endpoints(true);
    let kubeconfig = sb.kubeconfig_path().display().to_string();
    let home = tempfile::tempdir().expect("a temporary HOME");
    let mut child = command(home.path())
        .args([
            "promote",
            "blueservice",
            "--yes",
            "--kubeconfig",
            &kubeconfig,
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("the binary starts");
    eventually(
        std::time::Duration::from_secs(30),
        "the flip is recorded",
        || journal(&sb, "blueservice", "step").as_deref() == Some("verify"),
    );
    child.kill().expect("kill the promote");
    let _ = child.wait();
    // The Service selects the new colour, and the journal says verification is pending.
    assert_eq!(selected(&sb, "blueservice", "app"), "green");
    run_against(&sb, &["status", "blueservice", "-o", "wide"])
        .expect_code(0)
        .stdout_has(&["step: verify", "previous-colour: blue"]);

    sb.pause_endpoints(false);
    run_against(
        &sb,
        &["cleanup", "blueservice", "--yes", "--scale-down-delay", "0"],
    )
    .expect_code(0)
    .stdout_has(&[
        "interrupted before the endpoints were verified",
        "verified: blueservice's endpoints hold only green pods",
        "scaled bluedeploy (blue) to 0 replicas",
    ]);
    assert_eq!(replicas(&sb, "bluedeploy"), Some(0));
    assert_eq!(journal(&sb, "blueservice", "step"), None);
    assert!(
        events_on(&sb, "blueservice")
            .iter()
            .any(|(r, _)| r == "Promoted"),
        "the finished promote is recorded"
    );
}

#[test]
fn the_release_acts_in_the_namespace_of_the_context() {
    let sb = settled_scenario("staging");
    run_against(
        &sb,
        &promote(&["--context", "sandbox-staging", "--cleanup", "none"]),
    )
    .expect_code(0)
    .stdout_has(&["in context sandbox-staging", "namespace staging"]);
    run_against(
        &sb,
        &[
            "cleanup",
            "blueservice",
            "-n",
            "staging",
            "--yes",
            "--scale-down-delay",
            "0",
        ],
    )
    .expect_code(0);
    let staging = |name: &str| {
        sb.store()
            .get(&sandbox::resources::DEPLOYMENTS, "staging", name)
            .and_then(|d| d["spec"]["replicas"].as_i64())
    };
    assert_eq!(staging("bluedeploy"), Some(0));
    assert_eq!(staging("greendeploy"), Some(3));
    for request in sb.requests().iter().filter(|r| r.is_mutating()) {
        assert!(
            request.path.contains("/namespaces/staging/"),
            "a change outside the namespace: {} {}",
            request.method,
            request.path
        );
    }
    assert!(
        events_on_in(&sb, "staging").iter().any(|r| r == "Promoted"),
        "the Event is in the Service's namespace"
    );
}

fn events_on_in(sb: &Sandbox, namespace: &str) -> Vec<String> {
    let (events, _) = sb
        .store()
        .list(&sandbox::resources::EVENTS, Some(namespace), |e| {
            e["involvedObject"]["name"] == "blueservice"
        });
    events
        .iter()
        .filter_map(|e| e["reason"].as_str().map(str::to_string))
        .collect()
}
