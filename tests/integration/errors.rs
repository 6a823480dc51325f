//! Ways `status` can fail that are not bad input (those are the catalogue in
//! tests/integration/bad_input.rs): missing configuration, permissions, slow and failing servers. The
//! message names what the user needs, the exit code is the documented one, and nothing is ever
//! changed in the cluster.

use crate::common::*;

fn deployment(name: &str, colour: &str) -> String {
    format!(
        r#"
apiVersion: apps/v1
kind: Deployment
metadata: {{name: {name}}}
spec:
  replicas: 1
  selector: {{matchLabels: {{app: {colour}, copy: {name}}}}}
  template:
    metadata: {{labels: {{app: {colour}, copy: {name}}}}}
    spec:
      containers: [{{name: app, image: "nginx:{colour}"}}]
"#
    )
}

const PRODUCTION: &str = r#"
apiVersion: v1
kind: Service
metadata: {name: blueservice}
spec:
  selector: {app: blue}
  ports: [{port: 80, targetPort: 8080}]
"#;

fn sandbox_with(yaml: &str) -> Sandbox {
    let sb = start(None);
    if let Err(e) = sb.load_yaml(yaml) {
        panic!("cannot load the test objects: {e}");
    }
    sb.clear_requests();
    sb
}

#[test]
fn no_configuration_at_all() {
    let home = tempfile::tempdir().expect("a temporary HOME");
    let run = run_in(home.path(), &["status", "blueservice"], &[]);
    run.expect_code(3).stderr_has(&[
        "no cluster configuration found",
        ".kube/config",
        "--kubeconfig",
    ]);
}

#[test]
fn forbidden_names_the_verb_and_resource() {
    let sb = sandbox_with(&format!(
        "{PRODUCTION}---{}",
        deployment("bluedeploy", "blue")
    ));
    sb.set_policy(Policy::Rules(vec![PolicyRule::new(
        &["get", "list"],
        &["services", "pods", "endpointslices"],
    )]));
    run_against(&sb, &["status", "blueservice"])
        .expect_code(9)
        .stderr_has(&[
            "forbidden",
            "may not list deployments.apps",
            "namespace \"default\"",
        ]);
    assert_no_mutation(&sb);
}

#[test]
fn a_missing_colour_still_shows_what_exists() {
    let sb = sandbox_with(&format!(
        "{PRODUCTION}---{}",
        deployment("bluedeploy", "blue")
    ));
    let run = run_against(&sb, &["status", "blueservice"]);
    run.expect_code(0).stdout_has(&[
        "bluedeploy",
        "missing",
        "green has no Deployment",
        "not safe",
    ]);
    assert_no_mutation(&sb);
}

#[test]
fn usage_errors_exit_2() {
    // Flag values are in the bad-input catalogue (tests/integration/bad_input.rs).
    run(&["status"]).expect_code(2);
    run(&["promote"]).expect_code(2);
    run(&["promote", "x", "--cleanup", "later"]).expect_code(2);
}

#[test]
fn slow_server_times_out_per_request() {
    let sb = sandbox_with(PRODUCTION);
    sb.faults().add(
        sandbox::FaultRule::new(sandbox::FaultAction::Hang(std::time::Duration::from_secs(
            10,
        )))
        .verb("list")
        .resource("deployments")
        .times(100),
    );
    let started = std::time::Instant::now();
    run_against(
        &sb,
        &["status", "blueservice", "--request-timeout", "500ms"],
    )
    .expect_code(8)
    .stderr_has(&[
        "list deployments.apps",
        "timed out after 500ms",
        "--request-timeout",
    ]);
    assert!(started.elapsed() < std::time::Duration::from_secs(8));
    assert_no_mutation(&sb);
}

#[test]
fn server_errors_are_api_errors() {
    let sb = sandbox_with(PRODUCTION);
    sb.faults().add(
        sandbox::FaultRule::new(sandbox::FaultAction::Fail(500))
            .verb("get")
            .resource("services")
            .times(100),
    );
    run_against(&sb, &["status", "blueservice"])
        .expect_code(8)
        .stderr_has(&["get services/blueservice failed on", "(HTTP 500)"]);
    assert_no_mutation(&sb);
}

#[test]
fn in_cluster_without_a_service_account() {
    let home = tempfile::tempdir().expect("a temporary HOME");
    if std::path::Path::new("/var/run/secrets/kubernetes.io/serviceaccount/token").exists() {
        return; // really inside a pod
    }
    run_in(
        home.path(),
        &["status", "blueservice"],
        &[
            ("KUBERNETES_SERVICE_HOST", "127.0.0.1"),
            ("KUBERNETES_SERVICE_PORT", "1"),
        ],
    )
    .expect_code(3)
    .stderr_has(&["in-cluster configuration cannot be used"]);
}
