//! `deploy`: the new version on the idle colour, whatever the last cleanup left of it; then
//! status says promote is safe and promote works (`deploy` killed part way: the `deploy` module).

use std::time::Duration;

use super::pair::*;
use crate::backends::*;
use crate::both_backends;

/// The image of a Deployment's first container, `None` when the Deployment is missing.
fn image_of(c: &dyn Cluster, deployment: &str) -> Option<String> {
    c.get_json("deployments", deployment).and_then(|d| {
        d["spec"]["template"]["spec"]["containers"][0]["image"]
            .as_str()
            .map(str::to_string)
    })
}

#[track_caller]
fn promote_is_safe(c: &dyn Cluster) {
    let doc = status_json(c);
    assert_eq!(doc["verdict"]["action"], "promote", "{:#}", doc["verdict"]);
    assert_eq!(doc["verdict"]["safe"], true, "{:#}", doc["verdict"]);
}

fn deploy_after_a_scale_down_updates_the_idle_colour_and_promote_follows(c: &dyn Cluster) {
    classic(c);
    c.bluegreen(&promote(&[])).expect_code(0);
    assert_eq!(replicas(c, "bluedeploy"), Some(0));
    let before = Snapshot::take(c);
    let patch = format!(
        "PATCH /apis/apps/v1/namespaces/{}/deployments/bluedeploy (application/strategic-merge-patch+json)",
        c.namespace()
    );
    c.bluegreen(&["deploy", "blueservice", "--image", "nginx:v3", "--dry-run"])
        .expect_code(0)
        .stdout_has(&[
            "update Deployment bluedeploy (blue): web=nginx:v3, 3 replicas",
            &patch,
        ]);
    before.assert_unchanged(c);
    c.bluegreen(&[
        "deploy",
        "blueservice",
        "--image",
        "nginx:v3",
        "--yes",
        "--timeout",
        "60s",
    ])
    .expect_code(0)
    .stdout_has(&["Deployed on blue", "kubectl bluegreen promote blueservice"]);
    assert_eq!(image_of(c, "bluedeploy").as_deref(), Some("nginx:v3"));
    assert_eq!(replicas(c, "bluedeploy"), Some(3));
    assert_eq!(
        selected(c, "blueservice", "app"),
        "green",
        "traffic untouched"
    );
    assert_eq!(replicas(c, "greendeploy"), Some(3), "live colour untouched");
    assert_eq!(image_of(c, "greendeploy").as_deref(), Some("nginx:green"));
    let last = journal(c, "blueservice", "last-deploy");
    assert!(
        last.as_deref()
            .is_some_and(|j| j.contains("blue: web=nginx:v3")),
        "{last:?}"
    );
    eventually(Duration::from_secs(30), "the Deployed event", || {
        event_reasons(c, "blueservice")
            .iter()
            .any(|r| r == "Deployed")
    });
    // deploy waited for the rollout: promote is safe at once.
    assert_eq!(serving_pods(c, "blue"), 3);
    promote_is_safe(c);
    c.bluegreen(&promote(&["--cleanup", "none"])).expect_code(0);
    assert_eq!(selected(c, "blueservice", "app"), "blue");
    eventually(Duration::from_secs(30), "blue serves blueservice", || {
        ready_endpoints(c, "blueservice") == 3
    });
}

fn deploy_after_cleanup_delete_recreates_the_colour_and_a_test_service(c: &dyn Cluster) {
    classic(c);
    c.bluegreen(&promote(&["--cleanup", "delete"]))
        .expect_code(0);
    assert_eq!(replicas(c, "bluedeploy"), None);
    assert!(c.get_json("services", "greenservice").is_none());
    c.bluegreen(&[
        "deploy",
        "blueservice",
        "--image",
        "nginx:v3",
        "--yes",
        "--timeout",
        "60s",
    ])
    .expect_code(0)
    .stdout_has(&["created Deployment bluedeploy", "created test Service"]);
    assert_eq!(image_of(c, "bluedeploy").as_deref(), Some("nginx:v3"));
    assert_eq!(replicas(c, "bluedeploy"), Some(3));
    let blue = c.get_json("deployments", "bluedeploy").expect("bluedeploy");
    assert_eq!(
        blue["spec"]["template"]["metadata"]["labels"]["app"], "blue",
        "{blue:#}"
    );
    assert_eq!(serving_pods(c, "blue"), 3);
    let doc = status_json(c);
    let tests = doc["colours"][0]["testServices"].as_array().cloned();
    assert_eq!(
        tests.as_ref().map(Vec::len),
        Some(1),
        "{:#}",
        doc["colours"][0]
    );
    // The test Service really exists and selects blue's pods.
    let name = tests
        .as_ref()
        .and_then(|t| t[0].as_str().map(str::to_string));
    let name = name.unwrap_or_else(|| panic!("a named test Service: {:#}", doc["colours"][0]));
    assert_eq!(selected(c, &name, "app"), "blue");
    eventually(
        Duration::from_secs(30),
        "the test Service has blue's pods",
        || ready_endpoints(c, &name) == 3,
    );
    promote_is_safe(c);
    c.bluegreen(&promote(&["--cleanup", "none"])).expect_code(0);
    assert_eq!(selected(c, "blueservice", "app"), "blue");
}

fn bad_deploy_input_is_refused_with_nothing_changed(c: &dyn Cluster) {
    classic(c);
    let before = Snapshot::take(c);
    c.bluegreen(&["deploy", "blueservice"])
        .expect_code(2)
        .stderr_has(&["--image"]);
    c.bluegreen(&["deploy", "blueservice", "--image", "NGINX::bad"])
        .expect_code(2)
        .stderr_has(&["is not an image reference"]);
    c.bluegreen(&[
        "deploy",
        "blueservice",
        "--image",
        "nosuch=nginx:1",
        "--yes",
    ])
    .expect_code(5)
    .stderr_has(&["no container \"nosuch\"", "web"]);
    before.assert_unchanged(c);
    assert_eq!(image_of(c, "greendeploy").as_deref(), Some("nginx:green"));
}

fn deploy_refuses_while_a_release_is_in_progress(c: &dyn Cluster) {
    classic(c);
    let out = promote_interrupted_during_cleanup(c);
    assert!(!out.status.success(), "promote was interrupted");
    assert_eq!(
        journal(c, "blueservice", "step").as_deref(),
        Some("cleanup")
    );
    let before = Snapshot::take(c);
    c.bluegreen(&["deploy", "blueservice", "--image", "nginx:v3", "--yes"])
        .expect_code(5)
        .stderr_has(&["in progress", "kubectl bluegreen cleanup blueservice"]);
    before.assert_unchanged(c);
    assert_eq!(image_of(c, "bluedeploy").as_deref(), Some("nginx:blue"));
    assert_eq!(replicas(c, "bluedeploy"), Some(3));
}

both_backends!(
    deploy_after_a_scale_down_updates_the_idle_colour_and_promote_follows,
    deploy_after_cleanup_delete_recreates_the_colour_and_a_test_service,
    bad_deploy_input_is_refused_with_nothing_changed,
    deploy_refuses_while_a_release_is_in_progress,
);
