//! The plugin's commands mixed with the kubectl commands people also type: plans follow what
//! the cluster shows, the journal only explains it. Each test is a sequence a user ran where a
//! command used to report success without doing what it said.

mod common;
mod release_support;

use std::time::Duration;

use common::*;
use release_support::*;
use sandbox::Sandbox;

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

const PROMOTE: &[&str] = &[
    "promote",
    "blueservice",
    "--yes",
    "--scale-down-delay",
    "0s",
];

fn verdict(sb: &Sandbox) -> serde_json::Value {
    run_against(sb, &["status", "blueservice", "-o", "json"])
        .expect_code(0)
        .json()["verdict"]
        .clone()
}

#[test]
fn promote_to_a_scaled_down_colour_moves_traffic_or_fails_never_claims_success() {
    let sb = settled_scenario("classic");
    run_against(&sb, PROMOTE).expect_code(0);
    assert_eq!(replicas(&sb, "bluedeploy"), Some(0));
    sb.clear_requests();
    run_against(&sb, &["promote", "blueservice", "--to", "blue", "--yes"])
        .expect_code(5)
        .stderr_has(&["0 replicas", "kubectl bluegreen rollback blueservice"]);
    assert_no_mutation(&sb);
    assert_eq!(selected(&sb, "blueservice", "app"), "green");
    // The Service already selects green: that, and only that, is "nothing to do".
    run_against(&sb, &["promote", "blueservice", "--to", "green", "--yes"])
        .expect_code(0)
        .stdout_has(&["already"]);
    // The other way round, after going back.
    run_against(
        &sb,
        &[
            "rollback",
            "blueservice",
            "--yes",
            "--scale-down-delay",
            "0s",
        ],
    )
    .expect_code(0);
    assert_eq!(selected(&sb, "blueservice", "app"), "blue");
    assert_eq!(replicas(&sb, "greendeploy"), Some(0));
    run_against(&sb, &["promote", "blueservice", "--to", "green", "--yes"]).expect_code(5);
    assert_eq!(selected(&sb, "blueservice", "app"), "blue");
}

#[test]
fn a_new_image_in_the_scaled_down_colour_is_a_new_version_not_the_one_it_replaced() {
    let sb = settled_scenario("classic");
    run_against(&sb, PROMOTE).expect_code(0);
    kubectl_ok(
        &sb,
        &["set", "image", "deploy/bluedeploy", "web=nginx:blue-v2"],
    );
    wait_settled(&sb);
    let v = verdict(&sb);
    let summary = v["summary"].as_str().unwrap_or_default();
    assert!(!summary.contains("version it replaced"), "{v:#}");
    assert_eq!(v["safe"], false, "{v:#}");
    run_against(&sb, &["promote", "blueservice", "--yes"])
        .expect_code(5)
        .stderr_has(&[
            "blue runs a new version (nginx:blue-v2)",
            "kubectl scale deployment/bluedeploy --replicas=3",
        ]);
    assert_eq!(selected(&sb, "blueservice", "app"), "green");
    // The command it names, then promote, moves traffic to the new version.
    kubectl_ok(&sb, &["scale", "deployment/bluedeploy", "--replicas=3"]);
    run_against(
        &sb,
        &[
            "promote",
            "blueservice",
            "--yes",
            "--wait",
            "--cleanup",
            "none",
        ],
    )
    .expect_code(0);
    assert_eq!(selected(&sb, "blueservice", "app"), "blue");
}

#[test]
fn after_cleanup_delete_status_says_deleted_not_the_version_it_replaced() {
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

#[test]
fn a_scaled_down_colour_deleted_later_is_re_created_with_the_count_it_served_with() {
    let sb = settled_scenario("classic");
    run_against(&sb, PROMOTE).expect_code(0);
    run_against(
        &sb,
        &["cleanup", "blueservice", "--cleanup", "delete", "--yes"],
    )
    .expect_code(0);
    assert_eq!(replicas(&sb, "bluedeploy"), None);
    let saved = journal(&sb, "blueservice", "saved-deployment").expect("saved");
    let saved: serde_json::Value = serde_json::from_str(&saved).expect("JSON");
    assert_eq!(saved["spec"]["replicas"], 3, "{saved:#}");
    run_against(
        &sb,
        &[
            "rollback",
            "blueservice",
            "--yes",
            "--timeout",
            "60s",
            "--scale-down-delay",
            "0s",
        ],
    )
    .expect_code(0);
    assert_eq!(replicas(&sb, "bluedeploy"), Some(3));
    assert_eq!(selected(&sb, "blueservice", "app"), "blue");
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

const BLUESERVICE_FILE: &str = r#"
apiVersion: v1
kind: Service
metadata: {name: blueservice, namespace: default}
spec:
  type: ClusterIP
  selector: {app: blue}
  ports: [{port: 80, targetPort: 8080, protocol: TCP}]
"#;

#[test]
fn a_service_put_back_on_a_deleted_colour_is_an_outage_rollback_repairs() {
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
    // The pipeline applies the Service's file again: production selects the deleted blue.
    apply(&sb, BLUESERVICE_FILE);
    assert_eq!(selected(&sb, "blueservice", "app"), "blue");
    let doc = run_against(&sb, &["status", "blueservice", "-o", "json"])
        .expect_code(0)
        .json();
    let notes = doc["verdict"]["notes"].to_string();
    assert!(notes.contains("no ready endpoints"), "{:#}", doc["verdict"]);
    run_against(
        &sb,
        &["rollback", "blueservice", "--yes", "--timeout", "60s"],
    )
    .expect_code(0)
    .stdout_has(&["re-created Deployment bluedeploy"]);
    assert_eq!(replicas(&sb, "bluedeploy"), Some(3));
    eventually(Duration::from_secs(20), "blue serves again", || {
        serving_pods(&sb, "blue") == 3
    });
}

#[test]
fn the_promote_that_ends_such_an_outage_keeps_the_saved_old_version() {
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
    apply(&sb, BLUESERVICE_FILE);
    // promote moves production to green, which serves: the outage ends ...
    run_against(
        &sb,
        &["promote", "blueservice", "--yes", "--cleanup", "none"],
    )
    .expect_code(0);
    assert_eq!(selected(&sb, "blueservice", "app"), "green");
    // ... and blue's manifest is still in the journal: the old version is not lost.
    assert!(journal(&sb, "blueservice", "saved-deployment").is_some());
    run_against(
        &sb,
        &[
            "rollback",
            "blueservice",
            "--yes",
            "--timeout",
            "60s",
            "--cleanup",
            "none",
        ],
    )
    .expect_code(0);
    assert_eq!(selected(&sb, "blueservice", "app"), "blue");
    assert_eq!(replicas(&sb, "bluedeploy"), Some(3));
}

#[test]
fn status_names_a_journal_that_no_longer_matches_the_cluster() {
    let sb = settled_scenario("classic");
    run_against(&sb, PROMOTE).expect_code(0);
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
