//! The plugin's commands mixed with the kubectl commands people also type, on the sandbox: plans
//! follow what the cluster shows, the journal only explains it. Each test is a sequence a user
//! ran where a command used to report success without doing what it said (more of them, on
//! either back-end, in `both_backends::hand_changes`).

use crate::common::*;
use crate::release_support::*;
use sandbox::Sandbox;

use crate::both_backends::pair::{promote, rollback};
use crate::owners::SERVICE_FILE;

/// Runs the real kubectl against the sandbox; panics when it fails.
fn kubectl_ok(sb: &Sandbox, args: &[&str]) {
    let Some(kubectl) = kubectl() else {
        return;
    };
    let out = std::process::Command::new(kubectl)
        .arg("--kubeconfig")
        .arg(sb.kubeconfig_path())
        .args(args)
        .output()
        .expect("kubectl runs");
    assert!(
        out.status.success(),
        "kubectl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `kubectl apply -f` of a file's text.
fn apply(sb: &Sandbox, text: &str) {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let file = dir.path().join("manifest.yaml");
    std::fs::write(&file, text).expect("the file is written");
    kubectl_ok(sb, &["apply", "-f", &file.display().to_string()]);
}

fn verdict(sb: &Sandbox) -> serde_json::Value {
    run_against(sb, &["status", "blueservice", "-o", "json"])
        .expect_code(0)
        .json()["verdict"]
        .clone()
}

#[test]
fn after_cleanup_delete_status_says_deleted_not_the_version_it_replaced() {
    let sb = settled_scenario("classic");
    run_against(&sb, &promote(&["--cleanup", "delete"])).expect_code(0);
    let v = verdict(&sb);
    let text = v.to_string();
    assert!(
        !text.contains("still runs the version it replaced"),
        "{v:#}"
    );
    assert!(text.contains("deleted by its cleanup"), "{v:#}");
    assert!(
        v["summary"]
            .as_str()
            .unwrap_or_default()
            .starts_with("released:"),
        "the headline is the release's state: {v:#}"
    );
}

const SHOP: &str = r#"
apiVersion: v1
kind: Service
metadata: {name: shop}
spec:
  selector: {app: shop, track: v1}
  ports: [{port: 80, targetPort: 8080}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: shop-v1}
spec:
  replicas: 2
  selector: {matchLabels: {app: shop, track: v1}}
  template:
    metadata: {labels: {app: shop, track: v1}}
    spec:
      containers: [{name: web, image: "shop:1", ports: [{containerPort: 8080}]}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: shop-v2}
spec:
  replicas: 2
  selector: {matchLabels: {app: shop, track: v2}}
  template:
    metadata: {labels: {app: shop, track: v2}}
    spec:
      containers: [{name: web, image: "shop:2", ports: [{containerPort: 8080}]}]
"#;

#[test]
fn custom_colours_are_remembered_after_the_first_release() {
    let sb = start(None);
    sb.load_yaml(SHOP).expect("the pair loads");
    wait_settled(&sb);
    run_against(&sb, &["status", "shop"]).expect_code(4);
    run_against(
        &sb,
        &[
            "promote",
            "shop",
            "--colors",
            "v1,v2",
            "--yes",
            "--cleanup",
            "none",
        ],
    )
    .expect_code(0);
    let doc = run_against(&sb, &["status", "shop", "-o", "json"])
        .expect_code(0)
        .json();
    assert_eq!(doc["liveColour"], "v2");
    assert_eq!(doc["service"]["colourLabel"], "track");
    run_against(&sb, &["rollback", "shop", "--yes", "--cleanup", "none"]).expect_code(0);
    assert_eq!(selected(&sb, "shop", "track"), "v1");
    run_against(&sb, &["status", "shop", "--colors", "blue,green"])
        .expect_code(4)
        .stderr_has(&["--colors blue,green disagrees", "colours v1,v2"]);
}

#[test]
fn the_promote_that_ends_such_an_outage_keeps_the_saved_old_version() {
    let sb = settled_scenario("classic");
    run_against(&sb, &promote(&["--cleanup", "delete"])).expect_code(0);
    apply(&sb, SERVICE_FILE);
    // promote moves production to green, which serves: the outage ends ...
    run_against(
        &sb,
        &["promote", "blueservice", "--yes", "--cleanup", "none"],
    )
    .expect_code(0);
    assert_eq!(selected(&sb, "blueservice", "app"), "green");
    // ... and blue's manifest is still in the journal: the old version is not lost.
    assert!(journal(&sb, "blueservice", "saved-deployment").is_some());
    run_against(&sb, &rollback(&["--cleanup", "none"])).expect_code(0);
    assert_eq!(selected(&sb, "blueservice", "app"), "blue");
    assert_eq!(replicas(&sb, "bluedeploy"), Some(3));
}

#[test]
fn status_names_a_journal_that_no_longer_matches_the_cluster() {
    let sb = settled_scenario("classic");
    run_against(&sb, &promote(&[])).expect_code(0);
    kubectl_ok(&sb, &["scale", "deployment/bluedeploy", "--replicas=2"]);
    kubectl_ok(
        &sb,
        &["set", "image", "deploy/bluedeploy", "web=nginx:blue-v2"],
    );
    wait_settled(&sb);
    let notes = verdict(&sb)["notes"].to_string();
    assert!(
        notes.contains("the journal records bluedeploy scaled down to 0, but it runs 2 replica(s) now (changed by hand)"),
        "{notes}"
    );
    assert!(notes.contains("blue runs nginx:blue-v2 now"), "{notes}");
}
