//! A production Service that another tool re-applies: the release refuses a cleanup that the
//! owner's next apply would turn into an outage, and `status --check` makes a revert plain.

mod common;
mod release_support;

use common::*;
use release_support::*;
use sandbox::Sandbox;

const SERVICE_FILE: &str = r#"
apiVersion: v1
kind: Service
metadata: {name: blueservice, namespace: default}
spec:
  type: ClusterIP
  selector: {app: blue}
  ports: [{port: 80, targetPort: 8080, protocol: TCP}]
"#;

fn kubectl_in(sb: &Sandbox, args: &[&str], file: Option<&str>) -> std::process::Output {
    let kubectl = kubectl().expect("kubectl is on PATH");
    let dir = tempfile::tempdir().expect("a temporary folder");
    let mut cmd = std::process::Command::new(kubectl);
    cmd.arg("--kubeconfig").arg(sb.kubeconfig_path()).args(args);
    if let Some(text) = file {
        let path = dir.path().join("service.yaml");
        std::fs::write(&path, text).expect("written");
        cmd.arg("-f").arg(path);
    }
    cmd.output().expect("kubectl runs")
}

/// The classic pair whose Service was created by `kubectl apply` of a file.
fn applied_pair() -> Sandbox {
    let sb = settled_scenario("classic");
    let out = kubectl_in(&sb, &["apply"], Some(SERVICE_FILE));
    assert!(out.status.success(), "{out:?}");
    sb.clear_requests();
    sb
}

#[test]
fn status_names_the_owner_and_what_it_puts_back() {
    let sb = applied_pair();
    let doc = run_against(&sb, &["status", "blueservice", "-o", "json"])
        .expect_code(0)
        .json();
    let owners = doc["service"]["owners"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(owners.len(), 1, "{:#}", doc["service"]);
    assert_eq!(owners[0]["kind"], "kubectl-apply");
    assert_eq!(owners[0]["selector"]["app"], "blue");
}

#[test]
fn a_cleanup_the_owners_next_apply_would_turn_into_an_outage_is_refused() {
    let sb = applied_pair();
    for cleanup in ["scale-down", "delete"] {
        run_against(
            &sb,
            &["promote", "blueservice", "--yes", "--cleanup", cleanup],
        )
        .expect_code(5)
        .stderr_has(&[
            "kubectl apply (client-side) puts the selector back to blue",
            "the file applied with kubectl apply",
            "--allow owner-revert",
        ]);
        assert_no_mutation(&sb);
    }
    // Keeping blue running is safe: a revert then only moves traffic back to it.
    run_against(
        &sb,
        &["promote", "blueservice", "--yes", "--cleanup", "none"],
    )
    .expect_code(0)
    .stdout_has(&["its next apply puts the selector back to app=blue"]);
    let svc = service(&sb, "blueservice").expect("the Service");
    assert!(
        svc["metadata"]["annotations"]["kubectl.kubernetes.io/last-applied-configuration"]
            .as_str()
            .is_some_and(|a| a.contains("\"blue\"")),
        "the owner's record is never rewritten: {svc:#}"
    );
    run_against(&sb, &["status", "blueservice", "--check"]).expect_code(0);
    // The pipeline applies its file again: the selector really goes back to blue.
    let out = kubectl_in(&sb, &["apply"], Some(SERVICE_FILE));
    assert!(out.status.success(), "{out:?}");
    assert_eq!(selected(&sb, "blueservice", "app"), "blue");
    run_against(&sb, &["status", "blueservice", "--check"])
        .expect_code(11)
        .stderr_has(&[
            "DRIFT",
            "put back to app=blue",
            "kubectl apply (client-side)",
        ]);
}

#[test]
fn an_accepted_revert_shows_as_an_outage_with_the_command_that_restores_it() {
    let sb = applied_pair();
    run_against(
        &sb,
        &[
            "promote",
            "blueservice",
            "--yes",
            "--scale-down-delay",
            "0s",
            "--allow",
            "owner-revert",
        ],
    )
    .expect_code(0);
    assert_eq!(replicas(&sb, "bluedeploy"), Some(0));
    let out = kubectl_in(&sb, &["apply"], Some(SERVICE_FILE));
    assert!(out.status.success(), "{out:?}");
    wait_settled(&sb);
    let run = run_against(&sb, &["status", "blueservice", "--check"]);
    run.expect_code(11).stderr_has(&[
        "OUTAGE",
        "kubectl bluegreen promote blueservice` restores service",
    ]);
    // The command named restores service.
    run_against(
        &sb,
        &["promote", "blueservice", "--yes", "--cleanup", "none"],
    )
    .expect_code(0);
    assert_eq!(selected(&sb, "blueservice", "app"), "green");
}

#[test]
fn wait_does_not_wait_out_a_refusal_that_needs_someone_to_act() {
    let sb = applied_pair();
    let started = std::time::Instant::now();
    run_against(
        &sb,
        &[
            "promote",
            "blueservice",
            "--yes",
            "--wait",
            "--timeout",
            "60s",
        ],
    )
    .expect_code(5)
    .stderr_has(&["--allow owner-revert"]);
    assert!(
        started.elapsed() < std::time::Duration::from_secs(20),
        "refused at once, not after --timeout: {:?}",
        started.elapsed()
    );
    assert_no_mutation(&sb);
}
