//! A production Service that another tool re-applies, on the sandbox: a revert the user accepted
//! shows as an outage with the command that ends it, and `--wait` does not wait out a refusal.
//! The refused cleanup and the revert shown as drift run on either back-end in
//! `both_backends::owners`.

use crate::both_backends::pair::promote;
use crate::common::*;
use crate::release_support::*;
use sandbox::Sandbox;

/// The production Service's file, as the pipeline that applies it keeps it.
pub(crate) const SERVICE_FILE: &str = r#"
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
fn an_accepted_revert_shows_as_an_outage_with_the_command_that_restores_it() {
    let sb = applied_pair();
    run_against(&sb, &promote(&["--allow", "owner-revert"])).expect_code(0);
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
