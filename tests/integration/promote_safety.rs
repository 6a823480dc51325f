//! What keeps `promote` safe: the resourceVersion precondition against a second writer,
//! confirmation on a real terminal and refusal without one, `--dry-run`, the permission
//! pre-flight, Services managed by another tool, multi-key selectors.

use std::io::{Read, Write};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::common::*;
use crate::release_support::*;
use sandbox::{FaultAction, FaultRule};

#[test]
fn a_second_writer_between_read_and_flip_is_a_conflict_and_keeps_its_change() {
    let sb = settled_scenario("classic");
    // The flip waits 2 s on the server; meanwhile a colleague labels the Service.
    sb.faults().add(
        FaultRule::new(FaultAction::Hang(Duration::from_secs(2)))
            .verb("patch")
            .resource("services")
            .name("blueservice"),
    );
    let kubeconfig = sb.kubeconfig_path().display().to_string();
    let home = tempfile::tempdir().expect("a temporary HOME");
    let promote = spawn_against(&sb, home.path(), &["promote", "blueservice", "--yes"]);
    eventually(
        Duration::from_secs(20),
        "the flip reaches the server",
        || {
            sb.requests()
                .iter()
                .any(|r| r.method == "PATCH" && r.path.ends_with("/services/blueservice"))
        },
    );
    let label = std::process::Command::new("kubectl")
        .args([
            "--kubeconfig",
            &kubeconfig,
            "label",
            "service",
            "blueservice",
            "owner=colleague",
        ])
        .output()
        .expect("kubectl runs");
    assert!(label.status.success(), "{label:?}");
    let output = promote.wait_with_output().expect("promote ends");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(7), "{stderr}");
    assert!(
        stderr.contains("conflict") && stderr.contains("changed by someone else"),
        "{stderr}"
    );
    let svc = service(&sb, "blueservice").expect("the Service");
    assert_eq!(svc["metadata"]["labels"]["owner"], "colleague", "{svc:#}");
    assert_eq!(svc["spec"]["selector"]["app"], "blue");
    assert_eq!(journal(&sb, "blueservice", "previous-colour"), None);
    assert_eq!(replicas(&sb, "bluedeploy"), Some(3));
}

#[test]
fn without_a_terminal_and_without_yes_nothing_changes() {
    let sb = settled_scenario("classic");
    run_against(&sb, &["promote", "blueservice"])
        .expect_code(5)
        .stdout_has(&["Plan: promote blueservice from blue to green"])
        .stderr_has(&[
            "stdin or stderr is not a terminal",
            "--yes",
            "Nothing was changed",
        ]);
    assert_no_mutation(&sb);
}

/// Runs promote under `script`, which gives it a pseudo-terminal, and answers `answer` once the
/// question is on the screen.
fn promote_on_a_terminal(sb: &Sandbox, answer: &str) -> (Option<i32>, String) {
    let kubeconfig = sb.kubeconfig_path().display().to_string();
    let line =
        format!("{BIN} promote blueservice --kubeconfig {kubeconfig} --cleanup none --no-color");
    let home = tempfile::tempdir().expect("a temporary HOME");
    let mut child = std::process::Command::new("script")
        .args(["-qefc", &line, "/dev/null"])
        .env("HOME", home.path())
        .env("TERM", "xterm")
        .env_remove("KUBECONFIG")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("script runs");
    let screen = Arc::new(Mutex::new(String::new()));
    let mut stdout = child.stdout.take().expect("script's output");
    let sink = screen.clone();
    let reader = std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = stdout.read(&mut buf) {
            if n == 0 {
                break;
            }
            if let Ok(mut s) = sink.lock() {
                s.push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        }
    });
    let started = Instant::now();
    while !screen
        .lock()
        .map(|s| s.contains("move traffic from blue to green"))
        .unwrap_or(false)
    {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "no question on the terminal: {:?}",
            screen.lock().map(|s| s.clone())
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let mut stdin = child.stdin.take().expect("script's input");
    stdin.write_all(answer.as_bytes()).expect("type the answer");
    stdin.flush().expect("flush the answer");
    let status = child.wait().expect("script ends");
    drop(stdin);
    let _ = reader.join();
    let text = screen.lock().map(|s| s.clone()).unwrap_or_default();
    (status.code(), text)
}

#[test]
fn the_question_on_a_terminal_answered_yes_promotes() {
    let sb = settled_scenario("classic");
    let (code, screen) = promote_on_a_terminal(&sb, "y");
    assert_eq!(code, Some(0), "{screen}");
    assert!(
        screen.contains("in context sandbox, namespace default?"),
        "{screen}"
    );
    assert!(
        screen.contains("Promoted blueservice: blue → green."),
        "{screen}"
    );
    assert_eq!(selected(&sb, "blueservice", "app"), "green");
}

#[test]
fn the_question_on_a_terminal_answered_no_changes_nothing() {
    let sb = settled_scenario("classic");
    let (code, screen) = promote_on_a_terminal(&sb, "n");
    assert_eq!(code, Some(5), "{screen}");
    assert!(
        screen.contains("not confirmed; nothing was changed"),
        "{screen}"
    );
    assert_no_mutation(&sb);
    assert_eq!(selected(&sb, "blueservice", "app"), "blue");
}

#[test]
fn dry_run_sends_nothing_that_changes_anything() {
    let sb = settled_scenario("classic");
    run_against(&sb, &["promote", "blueservice", "--dry-run"])
        .expect_code(0)
        .stdout_has(&[
            "Requests:",
            "PATCH /api/v1/namespaces/default/services/blueservice (application/merge-patch+json)",
            "\"spec\":{\"selector\":{\"app\":\"green\"}}",
            "PATCH /apis/apps/v1/namespaces/default/deployments/bluedeploy/scale",
            "Dry run: nothing was changed.",
        ]);
    assert_no_mutation(&sb);
    assert!(
        sb.requests().iter().all(|r| r.method == "GET"),
        "a client dry run only reads"
    );
}

#[test]
fn server_dry_run_sends_only_dry_run_changes() {
    let sb = settled_scenario("classic");
    run_against(
        &sb,
        &[
            "promote",
            "blueservice",
            "--dry-run=server",
            "--cleanup",
            "delete",
        ],
    )
    .expect_code(0)
    .stdout_has(&["Server dry run of promote blueservice"]);
    let mutations: Vec<_> = sb
        .requests()
        .into_iter()
        .filter(|r| r.is_mutating())
        .collect();
    assert!(
        mutations
            .iter()
            .any(|r| r.method == "PATCH" && r.path.ends_with("/services/blueservice")),
        "the flip was sent: {mutations:?}"
    );
    assert!(
        mutations.iter().any(|r| r.method == "DELETE"),
        "the deletions were sent: {mutations:?}"
    );
    for r in &mutations {
        // dryRun=All: in the query, or in a DELETE's DeleteOptions body (both are honoured by
        // the API server).
        assert!(
            r.query_param("dryRun").as_deref() == Some("All")
                || (r.method == "DELETE" && r.body.contains("\"dryRun\":[\"All\"]")),
            "{} {} without dryRun=All: {}",
            r.method,
            r.path,
            r.body
        );
    }
    assert_eq!(selected(&sb, "blueservice", "app"), "blue");
    assert_eq!(replicas(&sb, "bluedeploy"), Some(3));
    assert!(service(&sb, "greenservice").is_some());
    assert_eq!(journal(&sb, "blueservice", "step"), None);
}

#[test]
fn a_missing_permission_is_found_before_anything_changes() {
    let sb = settled_scenario("classic");
    sb.set_policy(Policy::Rules(vec![
        PolicyRule::new(&["get", "list", "watch"], &["*"]),
        PolicyRule::new(&["patch"], &["services"]),
        PolicyRule::new(&["create"], &["events"]),
    ]));
    run_against(&sb, &["promote", "blueservice", "--yes"])
        .expect_code(9)
        .stderr_has(&[
            "missing permissions",
            "patch deployments.apps/scale bluedeploy",
            "nothing was changed",
        ]);
    assert_no_mutation(&sb);
    let reviews = sb
        .requests()
        .iter()
        .filter(|r| r.path.ends_with("/selfsubjectaccessreviews"))
        .count();
    assert!(reviews >= 3, "one review per permission, got {reviews}");
}

#[test]
fn a_service_managed_by_argo_rollouts_is_refused() {
    let sb = settled_scenario("classic");
    let kubeconfig = sb.kubeconfig_path().display().to_string();
    let annotate = std::process::Command::new("kubectl")
        .args([
            "--kubeconfig",
            &kubeconfig,
            "annotate",
            "service",
            "blueservice",
            "argo-rollouts.argoproj.io/managed-by-rollouts=web",
        ])
        .output()
        .expect("kubectl runs");
    assert!(annotate.status.success(), "{annotate:?}");
    sb.clear_requests();
    run_against(&sb, &["promote", "blueservice", "--yes"])
        .expect_code(5)
        .stderr_has(&["managed by Argo Rollouts"]);
    assert_no_mutation(&sb);
}

#[test]
fn a_multi_key_selector_changes_only_the_colour_key() {
    let sb = settled_scenario("multi-key");
    run_against(
        &sb,
        &["promote", "shop", "--yes", "--scale-down-delay", "0"],
    )
    .expect_code(0)
    .stdout_has(&["selector: app=shop,color=blue → app=shop,color=green"]);
    let svc = service(&sb, "shop").expect("the Service");
    assert_eq!(
        svc["spec"]["selector"],
        serde_json::json!({"app": "shop", "color": "green"})
    );
    assert_eq!(replicas(&sb, "shop-blue"), Some(0));
}

#[test]
fn other_services_selecting_the_same_pods_are_named_and_left_alone() {
    let sb = settled_scenario("multi-key");
    sb.load_yaml(
        "apiVersion: v1
kind: Service
metadata:
  name: shop-metrics
  namespace: default
spec:
  clusterIP: None
  selector: {app: shop}
  ports: [{port: 9090}]
",
    )
    .expect("the headless Service");
    sb.clear_requests();
    run_against(&sb, &["promote", "shop", "--yes", "--cleanup", "none"])
        .expect_code(0)
        .stdout_has(&[
            "Service shop-metrics also selects blue and green pods and will not be changed",
        ]);
    let metrics = service(&sb, "shop-metrics").expect("the headless Service");
    assert_eq!(
        metrics["spec"]["selector"],
        serde_json::json!({"app": "shop"})
    );
    assert!(
        sb.requests()
            .iter()
            .filter(|r| r.is_mutating())
            .all(|r| !r.path.contains("shop-metrics")),
        "only the named Service is changed"
    );
}

#[test]
fn the_confirmation_of_a_larger_pair_is_a_summary_and_one_line_per_step() {
    let sb = settled_scenario("classic");
    let kubeconfig = sb.kubeconfig_path().display().to_string();
    for d in ["bluedeploy", "greendeploy"] {
        let out = std::process::Command::new("kubectl")
            .args([
                "--kubeconfig",
                &kubeconfig,
                "scale",
                "deployment",
                d,
                "--replicas=8",
            ])
            .output()
            .expect("kubectl runs");
        assert!(out.status.success(), "{out:?}");
    }
    wait_settled(&sb);
    let (code, screen) = promote_on_a_terminal(&sb, "n");
    assert_eq!(code, Some(5), "{screen}");
    assert!(screen.contains("1. flip blueservice"), "{screen}");
    assert!(
        screen.contains("(pod rows and the reason of each step: -v)"),
        "{screen}"
    );
    assert!(!screen.contains("why:"), "no reasons: {screen}");
    assert!(!screen.contains("COLOUR   POD"), "no pod rows: {screen}");
    let lines = screen.lines().filter(|l| !l.trim().is_empty()).count();
    assert!(lines < 40, "{lines} lines before the question:\n{screen}");
    // Small pairs, and the record of --yes and --dry-run, keep everything.
    run_against(&sb, &["promote", "blueservice", "--dry-run"])
        .expect_code(0)
        .stdout_has(&["why:", "COLOUR   POD"]);
}
