//! `deploy`: the new version on the idle colour, whatever the last cleanup left of it; then
//! status says promote is safe and promote works.

mod common;
mod release_support;

use std::time::Duration;

use common::*;
use release_support::*;
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
fn deploy_after_a_scale_down_updates_the_idle_colour_and_promote_follows() {
    let sb = settled_scenario("classic");
    run_against(
        &sb,
        &[
            "promote",
            "blueservice",
            "--yes",
            "--scale-down-delay",
            "0s",
        ],
    )
    .expect_code(0);
    assert_eq!(replicas(&sb, "bluedeploy"), Some(0));
    sb.clear_requests();
    run_against(&sb, &["deploy", "blueservice", "--image", "nginx:v3", "--dry-run"])
        .expect_code(0)
        .stdout_has(&[
            "update Deployment bluedeploy (blue): web=nginx:v3, 3 replicas",
            "PATCH /apis/apps/v1/namespaces/default/deployments/bluedeploy (application/strategic-merge-patch+json)",
        ]);
    assert_no_mutation(&sb);
    run_against(
        &sb,
        &["deploy", "blueservice", "--image", "nginx:v3", "--yes"],
    )
    .expect_code(0)
    .stdout_has(&["Deployed on blue", "kubectl bluegreen promote blueservice"]);
    assert_eq!(image_of(&sb, "bluedeploy").as_deref(), Some("nginx:v3"));
    assert_eq!(replicas(&sb, "bluedeploy"), Some(3));
    assert_eq!(
        selected(&sb, "blueservice", "app"),
        "green",
        "traffic untouched"
    );
    assert_eq!(
        replicas(&sb, "greendeploy"),
        Some(3),
        "live colour untouched"
    );
    assert!(
        journal(&sb, "blueservice", "last-deploy")
            .is_some_and(|j| j.contains("blue: web=nginx:v3"))
    );
    assert!(
        events_on(&sb, "blueservice")
            .iter()
            .any(|(reason, _)| reason == "Deployed")
    );
    promote_is_safe(&sb);
    run_against(
        &sb,
        &["promote", "blueservice", "--yes", "--cleanup", "none"],
    )
    .expect_code(0);
    assert_eq!(selected(&sb, "blueservice", "app"), "blue");
}

#[test]
fn deploy_after_cleanup_delete_recreates_the_colour_and_a_test_service() {
    let sb = settled_scenario("classic");
    run_against(
        &sb,
        &[
            "promote",
            "blueservice",
            "--yes",
            "--cleanup",
            "delete",
            "--scale-down-delay",
            "0s",
        ],
    )
    .expect_code(0);
    assert_eq!(replicas(&sb, "bluedeploy"), None);
    run_against(
        &sb,
        &["deploy", "blueservice", "--image", "nginx:v3", "--yes"],
    )
    .expect_code(0)
    .stdout_has(&["created Deployment bluedeploy", "created test Service"]);
    assert_eq!(image_of(&sb, "bluedeploy").as_deref(), Some("nginx:v3"));
    assert_eq!(replicas(&sb, "bluedeploy"), Some(3));
    let doc = run_against(&sb, &["status", "blueservice", "-o", "json"])
        .expect_code(0)
        .json();
    assert_eq!(
        doc["colours"][0]["testServices"].as_array().map(Vec::len),
        Some(1),
        "{:#}",
        doc["colours"][0]
    );
    promote_is_safe(&sb);
    run_against(
        &sb,
        &["promote", "blueservice", "--yes", "--cleanup", "none"],
    )
    .expect_code(0);
    assert_eq!(selected(&sb, "blueservice", "app"), "blue");
}

#[test]
fn bad_deploy_input_is_refused_with_nothing_changed() {
    let sb = settled_scenario("classic");
    run_against(&sb, &["deploy", "blueservice"])
        .expect_code(2)
        .stderr_has(&["--image"]);
    run_against(&sb, &["deploy", "blueservice", "--image", "NGINX::bad"])
        .expect_code(2)
        .stderr_has(&["is not an image reference"]);
    run_against(
        &sb,
        &[
            "deploy",
            "blueservice",
            "--image",
            "nosuch=nginx:1",
            "--yes",
        ],
    )
    .expect_code(5)
    .stderr_has(&["no container \"nosuch\"", "web"]);
    assert_no_mutation(&sb);
}

#[test]
fn deploy_refuses_while_a_release_is_in_progress() {
    let sb = settled_scenario("classic");
    let out = promote_interrupted_during_cleanup(&sb);
    assert!(!out.status.success());
    sb.clear_requests();
    run_against(
        &sb,
        &["deploy", "blueservice", "--image", "nginx:v3", "--yes"],
    )
    .expect_code(5)
    .stderr_has(&["in progress", "kubectl bluegreen cleanup blueservice"]);
    assert_no_mutation(&sb);
}

#[test]
fn a_deploy_killed_after_creating_the_deployment_converges_when_run_again() {
    let sb = settled_scenario("classic");
    run_against(
        &sb,
        &[
            "promote",
            "blueservice",
            "--yes",
            "--cleanup",
            "delete",
            "--scale-down-delay",
            "0s",
        ],
    )
    .expect_code(0);
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
        run_against(
            &sb,
            &[
                "promote",
                "blueservice",
                "--yes",
                "--cleanup",
                "delete",
                "--scale-down-delay",
                "0s",
            ],
        )
        .expect_code(0);
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
