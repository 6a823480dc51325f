//! A production Service that another tool re-applies (see the `owners` module and README "When
//! another tool owns the Service"): the release refuses a cleanup that the owner's next apply
//! would turn into an outage, the owner's apply really puts the selector back, and
//! `status --check` makes the revert plain.

use std::process::Output;

use super::pair::*;
use crate::backends::*;
use crate::both_backends;

/// `kubectl apply ARGS -f FILE` of the production Service's file (as a pipeline keeps it).
fn apply_file(c: &dyn Cluster, args: &[&str]) -> Output {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let path = dir.path().join("blueservice.yaml");
    std::fs::write(&path, BLUESERVICE).expect("the file is written");
    let path = path.display().to_string();
    let mut all = vec!["apply"];
    all.extend_from_slice(args);
    all.extend(["-f", path.as_str()]);
    c.kubectl(&all)
}

#[track_caller]
fn apply_file_ok(c: &dyn Cluster, args: &[&str]) {
    let out = apply_file(c, args);
    assert!(
        out.status.success(),
        "{}: kubectl apply {args:?}: {}",
        c.backend(),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The owners `status -o json` names.
fn owners(c: &dyn Cluster) -> Vec<serde_json::Value> {
    status_json(c)["service"]["owners"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

fn a_client_side_apply_owner_is_refused_a_cleanup_and_its_revert_is_drift(c: &dyn Cluster) {
    classic(c);
    apply_file_ok(c, &[]);
    let found = owners(c);
    assert_eq!(found.len(), 1, "{}: {found:#?}", c.backend());
    assert_eq!(found[0]["kind"], "kubectl-apply");
    assert_eq!(found[0]["selector"]["app"], "blue");

    for cleanup in ["scale-down", "delete"] {
        let before = Snapshot::take(c);
        c.bluegreen(&promote(&["--cleanup", cleanup]))
            .expect_code(5)
            .stderr_has(&[
                "kubectl apply (client-side) puts the selector back to blue",
                "the file applied with kubectl apply",
                "--allow owner-revert",
            ]);
        before.assert_unchanged(c);
    }
    // The default cleanup (scale-down) is refused alike.
    let before = Snapshot::take(c);
    c.bluegreen(&promote(&[]))
        .expect_code(5)
        .stderr_has(&["kubectl apply (client-side)"]);
    before.assert_unchanged(c);

    // Keeping blue running is safe: a revert then only moves traffic back to it.
    c.bluegreen(&promote(&["--cleanup", "none"]))
        .expect_code(0)
        .stdout_has(&["its next apply puts the selector back to app=blue"]);
    assert_eq!(selected(c, "blueservice", "app"), "green");
    let svc = c.get_json("services", "blueservice").expect("the Service");
    assert!(
        svc["metadata"]["annotations"]["kubectl.kubernetes.io/last-applied-configuration"]
            .as_str()
            .is_some_and(|a| a.contains("\"blue\"")),
        "the owner's record is never rewritten: {svc:#}"
    );
    c.bluegreen(&["status", "blueservice", "--check"])
        .expect_code(0);

    // The pipeline applies its file again: the selector really goes back to blue.
    apply_file_ok(c, &[]);
    assert_eq!(selected(c, "blueservice", "app"), "blue");
    c.bluegreen(&["status", "blueservice", "--check"])
        .expect_code(11)
        .stderr_has(&[
            "DRIFT",
            "put back to app=blue",
            "kubectl apply (client-side)",
        ]);
}

fn a_server_side_apply_owner_conflicts_then_forces_the_selector_back(c: &dyn Cluster) {
    classic(c);
    apply_file_ok(c, &["--server-side", "--field-manager", "pipeline"]);
    let found = owners(c);
    assert!(
        found.iter().any(|o| o["kind"] == "server-side-apply"
            && o["name"] == "server-side apply by field manager pipeline"),
        "{}: {found:#?}",
        c.backend()
    );

    let before = Snapshot::take(c);
    c.bluegreen(&promote(&[])).expect_code(5).stderr_has(&[
        "server-side apply by field manager pipeline",
        "--allow owner-revert",
    ]);
    before.assert_unchanged(c);

    c.bluegreen(&promote(&["--cleanup", "none"])).expect_code(0);
    assert_eq!(selected(c, "blueservice", "app"), "green");
    c.bluegreen(&["status", "blueservice", "--check"])
        .expect_code(0);

    // The same apply again: the plugin now manages the selector.
    let out = apply_file(c, &["--server-side", "--field-manager", "pipeline"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && stderr.contains("conflict") && stderr.contains(".spec.selector"),
        "{}: a plain re-apply conflicts on the selector: exit {:?}\n{stderr}",
        c.backend(),
        out.status.code()
    );
    assert_eq!(
        selected(c, "blueservice", "app"),
        "green",
        "nothing applied"
    );

    // Forced, it puts the old colour back.
    apply_file_ok(
        c,
        &[
            "--server-side",
            "--field-manager",
            "pipeline",
            "--force-conflicts",
        ],
    );
    assert_eq!(selected(c, "blueservice", "app"), "blue");
    c.bluegreen(&["status", "blueservice", "--check"])
        .expect_code(11)
        .stderr_has(&["DRIFT", "put back to app=blue", "pipeline"]);
}

both_backends!(a_client_side_apply_owner_is_refused_a_cleanup_and_its_revert_is_drift);

/// The real back-end only: the sandbox's server-side apply merges the applied configuration but
/// keeps no `managedFields` and never answers a conflict, so on it the plugin finds no owner
/// (promote goes ahead) and a plain re-apply puts the selector back at once.
mod a_server_side_apply_owner_conflicts_then_forces_the_selector_back {
    #[test]
    #[ignore = "real control plane: tests/control-plane/build.sh, then cargo test -- --include-ignored"]
    fn real() {
        let c = crate::backends::real(
            "a_server_side_apply_owner_conflicts_then_forces_the_selector_back",
        );
        super::a_server_side_apply_owner_conflicts_then_forces_the_selector_back(&c);
    }
}
