//! Releases that used to report success while leaving production without service: the old
//! colour cleaned up after the new one stopped serving, another entry point emptied or deleted,
//! a named port the new pods lack, stray pods and a much smaller new colour.

mod common;
mod release_support;

use std::time::Duration;

use common::*;
use release_support::*;
use sandbox::{Options, Sandbox};

/// A pair like the manual procedure's, with extra documents, at `speed`.
fn pair(speed: f64, blue_replicas: u32, green: &str, extra: &str) -> Sandbox {
    let sb = Sandbox::start(Options::default().speed(speed)).expect("the sandbox starts");
    let manifest = format!(
        r#"
apiVersion: apps/v1
kind: Deployment
metadata: {{name: bluedeploy}}
spec:
  replicas: {blue_replicas}
  selector: {{matchLabels: {{app: blue}}}}
  template:
    metadata: {{labels: {{app: blue}}}}
    spec:
      containers:
      - name: web
        image: nginx:blue
        ports: [{{name: http, containerPort: 8080}}]
---
apiVersion: v1
kind: Service
metadata: {{name: blueservice}}
spec:
  selector: {{app: blue}}
  ports: [{{name: web, port: 80, targetPort: http}}]
---
apiVersion: v1
kind: Service
metadata: {{name: greenservice}}
spec:
  selector: {{app: green}}
  ports: [{{name: web, port: 80, targetPort: http}}]
---
{green}
{extra}
"#
    );
    sb.load_yaml(&manifest).expect("the pair loads");
    // Waited for through the plugin, not the sandbox: a pod that lacks a named port never
    // appears in that port's endpoints.
    wait_for_json(
        &sb,
        &["status", "blueservice"],
        Duration::from_secs(30),
        |doc| {
            doc["colours"].as_array().is_some_and(|colours| {
                colours.iter().all(|c| {
                    c["deployment"]["rolloutComplete"] == true
                        && c["deployment"]["ready"] == c["deployment"]["desired"]
                })
            })
        },
    );
    sb.clear_requests();
    sb
}

/// Green's Deployment: `replicas`, its container port named `port`, template annotations.
fn green(replicas: u32, port: &str, annotations: &str) -> String {
    format!(
        r#"apiVersion: apps/v1
kind: Deployment
metadata: {{name: greendeploy}}
spec:
  replicas: {replicas}
  selector: {{matchLabels: {{app: green}}}}
  template:
    metadata:
      labels: {{app: green}}
      annotations: {{{annotations}}}
    spec:
      containers:
      - name: web
        image: nginx:green
        ports: [{{name: {port}, containerPort: 8080}}]
"#
    )
}

fn status_json(sb: &Sandbox) -> serde_json::Value {
    run_against(sb, &["status", "blueservice", "-o", "json"])
        .expect_code(0)
        .json()
}

fn blocker_codes(doc: &serde_json::Value) -> Vec<String> {
    doc["verdict"]["blockers"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|b| b["code"].as_str().map(str::to_string))
        .collect()
}

/// Ready addresses of the production Service's EndpointSlices.
fn ready_endpoints(sb: &Sandbox) -> usize {
    let (slices, _) = sb
        .store()
        .list(&sandbox::resources::ENDPOINTSLICES, Some("default"), |s| {
            s["metadata"]["labels"]["kubernetes.io/service-name"] == "blueservice"
        });
    slices
        .iter()
        .flat_map(|s| s["endpoints"].as_array().cloned().unwrap_or_default())
        .filter(|e| e["conditions"]["ready"].as_bool().unwrap_or(true))
        .count()
}

#[test]
fn green_turning_unready_during_the_delay_puts_traffic_back_and_keeps_blue() {
    // Green is Ready, then unready 6 s later (60 s at speed 10): inside the grace period.
    let sb = pair(
        10.0,
        3,
        &green(
            3,
            "http",
            r#""sandbox.bluegreen.dev/unready-after-ms": "60000""#,
        ),
        "",
    );
    let run = run_against(
        &sb,
        &[
            "promote",
            "blueservice",
            "--yes",
            "--scale-down-delay",
            "30s",
        ],
    );
    run.expect_code(6)
        .stderr_has(&["no longer serves", "put back on blue"]);
    assert_eq!(selected(&sb, "blueservice", "app"), "blue");
    assert_eq!(replicas(&sb, "bluedeploy"), Some(3), "blue was not touched");
    assert!(journal(&sb, "blueservice", "last-failure").is_some());
    eventually(Duration::from_secs(20), "blue serves again", || {
        ready_endpoints(&sb) == 3
    });
}

#[test]
fn a_later_cleanup_while_the_live_colour_serves_nothing_stops_with_exit_10() {
    let sb = pair(
        10.0,
        3,
        &green(
            3,
            "http",
            r#""sandbox.bluegreen.dev/unready-after-ms": "60000""#,
        ),
        "",
    );
    run_against(
        &sb,
        &["promote", "blueservice", "--yes", "--cleanup", "none"],
    )
    .expect_code(0);
    assert_eq!(selected(&sb, "blueservice", "app"), "green");
    eventually(Duration::from_secs(30), "green turns unready", || {
        ready_endpoints(&sb) == 0
    });
    sb.clear_requests();
    let run = run_against(
        &sb,
        &[
            "cleanup",
            "blueservice",
            "--yes",
            "--cleanup",
            "scale-down",
            "--scale-down-delay",
            "0s",
        ],
    );
    run.expect_code(10).stderr_has(&[
        "cleanup of blue stopped",
        "kubectl bluegreen rollback blueservice",
    ]);
    assert_eq!(replicas(&sb, "bluedeploy"), Some(3), "blue was not touched");
    assert_eq!(selected(&sb, "blueservice", "app"), "green");
}

const PUBLIC: &str = r#"---
apiVersion: v1
kind: Service
metadata: {name: public}
spec:
  type: LoadBalancer
  selector: {app: blue}
  ports: [{name: web, port: 80, targetPort: http}]
"#;

#[test]
fn another_entry_point_on_the_live_colour_is_never_emptied_or_deleted() {
    let sb = pair(20.0, 3, &green(3, "http", ""), PUBLIC);
    let doc = status_json(&sb);
    let public = doc["otherServices"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|o| o["name"] == "public")
        .cloned()
        .expect("public is listed");
    assert_eq!(public["entryPoint"], true, "{public:#}");
    assert_eq!(public["serviceType"], "LoadBalancer");
    assert!(
        doc["colours"][0]["testServices"]
            .as_array()
            .is_some_and(|t| t.is_empty()),
        "public is not blue's test Service: {:#}",
        doc["colours"][0]
    );
    assert!(
        blocker_codes(&doc).contains(&"emptiesServices".to_string()),
        "{:#}",
        doc["verdict"]
    );

    for cleanup in ["scale-down", "delete"] {
        run_against(
            &sb,
            &["promote", "blueservice", "--yes", "--cleanup", cleanup],
        )
        .expect_code(5)
        .stderr_has(&["public", "--allow empty-services"]);
        assert_no_mutation(&sb);
    }
    let ip_before = service(&sb, "public").expect("public")["spec"]["clusterIP"].clone();
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
            "--allow",
            "empty-services",
        ],
    )
    .expect_code(0);
    let public = service(&sb, "public").expect("public is never deleted");
    assert_eq!(public["spec"]["clusterIP"], ip_before);
    assert_eq!(
        replicas(&sb, "bluedeploy"),
        None,
        "blue was deleted, as asked"
    );
    assert!(
        service(&sb, "greenservice").is_none(),
        "the test Service was deleted"
    );

    run_against(
        &sb,
        &["rollback", "blueservice", "--yes", "--cleanup", "none"],
    )
    .expect_code(0);
    let public = service(&sb, "public").expect("public");
    assert_eq!(public["spec"]["clusterIP"], ip_before, "never re-created");
    assert_eq!(selected(&sb, "blueservice", "app"), "blue");
}

#[test]
fn a_named_port_the_new_pods_lack_is_not_safe_even_forced() {
    let sb = pair(20.0, 3, &green(3, "web-http", ""), "");
    let doc = status_json(&sb);
    assert_eq!(doc["verdict"]["safe"], false, "{:#}", doc["verdict"]);
    assert!(blocker_codes(&doc).contains(&"portMissing".to_string()));
    assert_eq!(
        doc["colours"][1]["missingPorts"],
        serde_json::json!(["web (80 → http)"])
    );
    run_against(&sb, &["promote", "blueservice", "--yes", "--force"])
        .expect_code(5)
        .stderr_has(&["expose no container port", "web (80 → http)"]);
    assert_no_mutation(&sb);
}

#[test]
fn a_much_smaller_new_colour_is_refused_unless_accepted() {
    let sb = pair(20.0, 8, &green(2, "http", ""), "");
    let doc = status_json(&sb);
    assert_eq!(doc["verdict"]["safe"], false);
    assert!(blocker_codes(&doc).contains(&"capacity".to_string()));
    run_against(&sb, &["promote", "blueservice", "--yes"])
        .expect_code(5)
        .stderr_has(&[
            "2 ready pod(s) while blue serves with 8",
            "--allow capacity",
        ]);
    assert_no_mutation(&sb);
    run_against(
        &sb,
        &[
            "promote",
            "blueservice",
            "--yes",
            "--cleanup",
            "none",
            "--allow",
            "capacity",
        ],
    )
    .expect_code(0);
    assert_eq!(selected(&sb, "blueservice", "app"), "green");
}

#[test]
fn a_stray_pod_with_the_new_colours_labels_is_named_and_refused() {
    let stray = r#"---
apiVersion: v1
kind: Pod
metadata: {name: experiment, labels: {app: green}}
spec:
  containers: [{name: web, image: nginx:experiment, ports: [{name: http, containerPort: 8080}]}]
"#;
    let sb = pair(20.0, 3, &green(3, "http", ""), stray);
    let doc = status_json(&sb);
    assert_eq!(
        doc["colours"][1]["strays"],
        serde_json::json!(["experiment"])
    );
    assert_eq!(doc["verdict"]["safe"], false);
    assert!(blocker_codes(&doc).contains(&"strayPods".to_string()));
    run_against(&sb, &["promote", "blueservice", "--yes"])
        .expect_code(5)
        .stderr_has(&["experiment", "--allow stray-pods"]);
    assert_no_mutation(&sb);
}

#[test]
fn another_entry_point_can_move_along_and_back() {
    let sb = pair(20.0, 3, &green(3, "http", ""), PUBLIC);
    run_against(
        &sb,
        &[
            "promote",
            "blueservice",
            "--dry-run",
            "--also-flip",
            "public",
        ],
    )
    .expect_code(0)
    .stdout_has(&[
        "flip public along: app=blue → app=green",
        "PATCH /api/v1/namespaces/default/services/public",
    ]);
    run_against(
        &sb,
        &["promote", "blueservice", "--yes", "--also-flip", "nosuch"],
    )
    .expect_code(5)
    .stderr_has(&["--also-flip nosuch"]);
    assert_no_mutation(&sb);
    run_against(
        &sb,
        &[
            "promote",
            "blueservice",
            "--yes",
            "--also-flip",
            "public",
            "--scale-down-delay",
            "0s",
        ],
    )
    .expect_code(0)
    .stdout_has(&[
        "flipped public: app=blue → app=green",
        "verified: public's endpoints",
    ]);
    assert_eq!(selected(&sb, "blueservice", "app"), "green");
    assert_eq!(selected(&sb, "public", "app"), "green");
    assert_eq!(replicas(&sb, "bluedeploy"), Some(0));
    assert_eq!(
        journal(&sb, "blueservice", "moved-services").as_deref(),
        Some("[\"public\"]")
    );
    // Rollback moves it back without being told.
    run_against(
        &sb,
        &["rollback", "blueservice", "--yes", "--cleanup", "none"],
    )
    .expect_code(0)
    .stdout_has(&["flipped public: app=green → app=blue"]);
    assert_eq!(selected(&sb, "blueservice", "app"), "blue");
    assert_eq!(selected(&sb, "public", "app"), "blue");
}
