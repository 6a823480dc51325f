//! `deploy` killed (SIGKILL) part way, on the sandbox (its faults hold the request it is killed
//! at): running it again converges. What `deploy` does from start to end, on either back-end,
//! is `both_backends::deploy`.

use std::time::Duration;

use crate::both_backends::pair::promote;
use crate::common::*;
use crate::release_support::*;
use sandbox::Sandbox;

fn image_of(sb: &Sandbox, deployment: &str) -> Option<String> {
    sb.store()
        .get(&sandbox::resources::DEPLOYMENTS, "default", deployment)
        .and_then(|d| {
            d["spec"]["template"]["spec"]["containers"][0]["image"]
                .as_str()
                .map(str::to_string)
        })
}

fn promote_is_safe(sb: &Sandbox) {
    let doc = run_against(sb, &["status", "blueservice", "-o", "json"])
        .expect_code(0)
        .json();
    assert_eq!(doc["verdict"]["action"], "promote", "{:#}", doc["verdict"]);
    assert_eq!(doc["verdict"]["safe"], true, "{:#}", doc["verdict"]);
}

#[test]
fn a_deploy_killed_after_creating_the_deployment_converges_when_run_again() {
    let sb = settled_scenario("classic");
    run_against(&sb, &promote(&["--cleanup", "delete"])).expect_code(0);
    let home = tempfile::tempdir().expect("a temporary HOME");
    let mut child = spawn_against(
        &sb,
        home.path(),
        &["deploy", "blueservice", "--image", "nginx:v3", "--yes"],
    );
    eventually(Duration::from_secs(20), "the Deployment is created", || {
        replicas(&sb, "bluedeploy").is_some()
    });
    child.kill().expect("SIGKILL");
    let _ = child.wait();
    run_against(
        &sb,
        &["deploy", "blueservice", "--image", "nginx:v3", "--yes"],
    )
    .expect_code(0);
    assert_eq!(image_of(&sb, "bluedeploy").as_deref(), Some("nginx:v3"));
    promote_is_safe(&sb);
}

/// `deploy` stopped hard (SIGKILL) at each of its requests that change something, while the
/// request hangs on the server (it never reaches the store): running it again converges.
#[test]
fn a_deploy_killed_at_each_step_converges_when_run_again() {
    use sandbox::{FaultAction, FaultRule};
    let points: &[(&str, &str, &str, Option<&str>)] = &[
        ("create", "deployments", "POST", None),
        ("create", "services", "POST", None),
        ("patch", "services", "PATCH", Some("blueservice")),
        ("create", "events", "POST", None),
    ];
    for (verb, resource, method, name) in points {
        let sb = settled_scenario("classic");
        run_against(&sb, &promote(&["--cleanup", "delete"])).expect_code(0);
        let mut rule = FaultRule::new(FaultAction::Hang(Duration::from_secs(600)))
            .verb(verb)
            .resource(resource)
            .namespace("default");
        if let Some(n) = name {
            rule = rule.name(n);
        }
        sb.faults().add(rule);
        sb.clear_requests();
        let home = tempfile::tempdir().expect("a temporary HOME");
        let mut child = spawn_against(
            &sb,
            home.path(),
            &["deploy", "blueservice", "--image", "nginx:v3", "--yes"],
        );
        let suffix = match name {
            Some(n) => format!("/{resource}/{n}"),
            None => format!("/{resource}"),
        };
        eventually(
            Duration::from_secs(60),
            &format!("{verb} {resource} hangs"),
            || {
                sb.requests()
                    .iter()
                    .any(|r| r.method == *method && r.path.ends_with(&suffix) && r.status == 0)
            },
        );
        child.kill().expect("SIGKILL");
        let _ = child.wait();
        sb.faults().clear();
        sb.faults().release_hangs();
        run_against(
            &sb,
            &["deploy", "blueservice", "--image", "nginx:v3", "--yes"],
        )
        .expect_code(0);
        assert_eq!(
            image_of(&sb, "bluedeploy").as_deref(),
            Some("nginx:v3"),
            "killed at {verb} {resource}"
        );
        assert_eq!(
            replicas(&sb, "bluedeploy"),
            Some(3),
            "killed at {verb} {resource}"
        );
        assert_eq!(selected(&sb, "blueservice", "app"), "green");
        assert!(
            journal(&sb, "blueservice", "last-deploy").is_some(),
            "killed at {verb} {resource}"
        );
        promote_is_safe(&sb);
    }
}
