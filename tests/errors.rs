//! Every way `status` can fail, through the built binary: the message names what the user
//! needs, the exit code is the documented one, and nothing is ever changed in the cluster.

mod common;

use common::*;

const PAIRLESS: &str = r#"
apiVersion: v1
kind: Service
metadata: {name: manual}
spec:
  ports: [{port: 80}]
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  selector: {app: web}
  ports: [{port: 80}]
"#;

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
fn kubeconfig_missing() {
    run(&[
        "status",
        "blueservice",
        "--kubeconfig",
        "/nonexistent/kubeconfig",
    ])
    .expect_code(3)
    .stderr_has(&["kubeconfig /nonexistent/kubeconfig does not exist"]);
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
fn kubeconfig_malformed_names_the_file_and_never_its_content() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("broken");
    std::fs::write(
        &path,
        "apiVersion: v1\nusers:\n- name: u\n  user:\n    token: TOPSECRET-abc\n  [oops\n",
    )
    .expect("write");
    let run = run(&[
        "status",
        "blueservice",
        "--kubeconfig",
        &path.display().to_string(),
    ]);
    run.expect_code(3)
        .stderr_has(&[&path.display().to_string(), "not valid kubeconfig YAML"]);
    assert!(!run.stderr.contains("TOPSECRET"), "{}", run.stderr);
}

#[test]
fn unknown_context_lists_the_available_ones() {
    let sb = start(None);
    run_against(&sb, &["status", "blueservice", "--context", "prod"])
        .expect_code(3)
        .stderr_has(&[
            "context \"prod\" is not defined",
            "available contexts: sandbox, sandbox-staging",
        ]);
    assert!(sb.requests().is_empty(), "nothing may be sent");
}

#[test]
fn context_naming_a_missing_cluster() {
    let sb = start(None);
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = edited_kubeconfig(&sb, dir.path(), |text| {
        text.replace("cluster: sandbox\n", "cluster: gone\n")
    });
    run(&[
        "status",
        "blueservice",
        "--kubeconfig",
        &path.display().to_string(),
    ])
    .expect_code(3)
    .stderr_has(&["names cluster \"gone\", which is not defined"]);
}

#[test]
fn unreachable_server_is_named() {
    let sb = start(None);
    let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("a port");
    let port = closed.local_addr().expect("an address").port();
    drop(closed);
    let dir = tempfile::tempdir().expect("a temporary directory");
    let url = format!("https://127.0.0.1:{port}");
    let path = edited_kubeconfig(&sb, dir.path(), |text| text.replace(sb.base_url(), &url));
    let run = run(&[
        "status",
        "blueservice",
        "--kubeconfig",
        &path.display().to_string(),
    ]);
    run.expect_code(8)
        .stderr_has(&["cannot reach the API server", &url, "context \"sandbox\""]);
    assert_secret_free(&sb, &run);
}

#[test]
fn tls_failure_names_the_server_and_what_to_check() {
    let sb = start(None);
    let other = start(None);
    let dir = tempfile::tempdir().expect("a temporary directory");
    // The other sandbox's CA did not sign this server's certificate.
    let other_ca = ca_data(&other);
    let path = edited_kubeconfig(&sb, dir.path(), |text| {
        text.replace(&ca_data(&sb), &other_ca)
    });
    let run = run(&[
        "status",
        "blueservice",
        "--kubeconfig",
        &path.display().to_string(),
    ]);
    run.expect_code(8).stderr_has(&[
        "TLS verification of the API server",
        sb.base_url(),
        "certificate-authority",
    ]);
    assert_secret_free(&sb, &run);
    assert_no_mutation(&sb);
}

fn ca_data(sb: &Sandbox) -> String {
    let text = std::fs::read_to_string(sb.kubeconfig_path()).expect("kubeconfig");
    text.lines()
        .find_map(|l| l.trim().strip_prefix("certificate-authority-data:"))
        .map(|v| v.trim().to_string())
        .expect("CA data in the sandbox kubeconfig")
}

#[test]
fn wrong_token_is_unauthorized() {
    let sb = sandbox_with(PRODUCTION);
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = edited_kubeconfig(&sb, dir.path(), |text| {
        text.replace(sb.token(), "not-the-token")
    });
    let run = run(&[
        "status",
        "blueservice",
        "--kubeconfig",
        &path.display().to_string(),
    ]);
    run.expect_code(9)
        .stderr_has(&["rejected the credentials", "401", "context \"sandbox\""]);
    assert!(!run.stderr.contains("not-the-token"));
    assert_no_mutation(&sb);
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
fn service_not_found_suggests_pairs() {
    let sb = sandbox_with(&format!("{PRODUCTION}---{PAIRLESS}"));
    run_against(&sb, &["status", "bluesvc"])
        .expect_code(4)
        .stderr_has(&[
            "Service \"bluesvc\" not found in namespace \"default\"",
            "did you mean \"blueservice\"?",
        ]);
    assert_no_mutation(&sb);
}

#[test]
fn namespace_not_found() {
    let sb = sandbox_with(PRODUCTION);
    run_against(&sb, &["status", "blueservice", "-n", "nowhere"])
        .expect_code(4)
        .stderr_has(&["namespace \"nowhere\" does not exist"]);
    assert_no_mutation(&sb);
}

#[test]
fn service_without_selector() {
    let sb = sandbox_with(PAIRLESS);
    run_against(&sb, &["status", "manual"])
        .expect_code(4)
        .stderr_has(&["Service \"manual\"", "has no selector"]);
    assert_no_mutation(&sb);
}

#[test]
fn selector_without_a_colour() {
    let sb = sandbox_with(PAIRLESS);
    run_against(&sb, &["status", "web"])
        .expect_code(4)
        .stderr_has(&["selects app=web", "neither colour", "--label", "--colors"]);
    assert_no_mutation(&sb);
}

#[test]
fn two_deployments_for_one_colour_are_listed() {
    let sb = sandbox_with(&format!(
        "{PRODUCTION}---{}---{}",
        deployment("bluedeploy", "blue"),
        deployment("bluedeploy-copy", "blue")
    ));
    run_against(&sb, &["status", "blueservice"])
        .expect_code(4)
        .stderr_has(&[
            "colour \"blue\" has 2 Deployments",
            "bluedeploy, bluedeploy-copy",
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
    run(&["status"]).expect_code(2);
    run(&["status", "x", "-o", "xml"]).expect_code(2);
    run(&["status", "x", "--colors", "blue"]).expect_code(2);
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
