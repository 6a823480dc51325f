//! Releases that used to report success while leaving production without service: another
//! entry point on the live colour emptied or deleted, a named port the new pods lack, much less
//! capacity, a stray pod, green turning unready during the scale-down delay, and a later
//! cleanup while the live colour serves nothing.

use std::time::Duration;

use super::pair::*;
use crate::backends::*;
use crate::both_backends;

const PUBLIC: &str = r#"---
apiVersion: v1
kind: Service
metadata: {name: public}
spec:
  type: LoadBalancer
  selector: {app: blue}
  ports: [{name: web, port: 80, targetPort: http}]
"#;

fn another_load_balancer_on_blue_is_never_emptied(c: &dyn Cluster) {
    Pair {
        extra: PUBLIC,
        ..Pair::default()
    }
    .load(c);
    let doc = status_json(c);
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
    let before = Snapshot::take(c);
    for cleanup in ["scale-down", "delete"] {
        c.bluegreen(&promote(&["--cleanup", cleanup]))
            .expect_code(5)
            .stderr_has(&["public", "--allow empty-services"]);
    }
    before.assert_unchanged(c);
    assert_eq!(selected(c, "blueservice", "app"), "blue");

    // Accepted, blue and its test Service are deleted; public never is.
    let cluster_ip = |c: &dyn Cluster| {
        c.get_json("services", "public")
            .expect("public is never deleted")["spec"]["clusterIP"]
            .clone()
    };
    let ip_before = cluster_ip(c);
    c.bluegreen(&promote(&[
        "--cleanup",
        "delete",
        "--allow",
        "empty-services",
    ]))
    .expect_code(0);
    assert_eq!(cluster_ip(c), ip_before);
    assert_eq!(
        replicas(c, "bluedeploy"),
        None,
        "blue was deleted, as asked"
    );
    assert!(
        c.get_json("services", "greenservice").is_none(),
        "the test Service was deleted"
    );
    c.bluegreen(&rollback(&["--cleanup", "none"]))
        .expect_code(0);
    assert_eq!(cluster_ip(c), ip_before, "never re-created");
    assert_eq!(selected(c, "blueservice", "app"), "blue");
}

fn another_load_balancer_moves_along_and_back(c: &dyn Cluster) {
    Pair {
        extra: PUBLIC,
        ..Pair::default()
    }
    .load(c);
    let before = Snapshot::take(c);
    let patch = format!("PATCH /api/v1/namespaces/{}/services/public", c.namespace());
    c.bluegreen(&[
        "promote",
        "blueservice",
        "--dry-run",
        "--also-flip",
        "public",
    ])
    .expect_code(0)
    .stdout_has(&["flip public along: app=blue → app=green", &patch]);
    c.bluegreen(&promote(&["--also-flip", "nosuch"]))
        .expect_code(5)
        .stderr_has(&["--also-flip nosuch"]);
    before.assert_unchanged(c);
    c.bluegreen(&promote(&["--also-flip", "public"]))
        .expect_code(0)
        .stdout_has(&[
            "flipped public: app=blue → app=green",
            "verified: public's endpoints",
        ]);
    assert_eq!(selected(c, "blueservice", "app"), "green");
    assert_eq!(selected(c, "public", "app"), "green");
    assert_eq!(replicas(c, "bluedeploy"), Some(0));
    assert_eq!(
        journal(c, "blueservice", "moved-services").as_deref(),
        Some("[\"public\"]")
    );
    eventually(Duration::from_secs(30), "public serves green", || {
        ready_endpoints(c, "public") == 3
    });
    c.bluegreen(&rollback(&["--cleanup", "none"]))
        .expect_code(0)
        .stdout_has(&["flipped public: app=green → app=blue"]);
    assert_eq!(selected(c, "blueservice", "app"), "blue");
    assert_eq!(selected(c, "public", "app"), "blue");
    assert_eq!(replicas(c, "bluedeploy"), Some(3));
}

fn a_named_port_green_lacks_is_not_safe_even_forced(c: &dyn Cluster) {
    let pair = Pair {
        green_port: "web-http",
        ..Pair::default()
    };
    c.load_yaml(&pair.manifest());
    wait_rolled_out(c);
    let doc = status_json(c);
    assert_eq!(doc["verdict"]["safe"], false, "{:#}", doc["verdict"]);
    assert!(
        blocker_codes(&doc).contains(&"portMissing".to_string()),
        "{:#}",
        doc["verdict"]
    );
    assert_eq!(
        doc["colours"][1]["missingPorts"],
        serde_json::json!(["web (80 → http)"])
    );
    let before = Snapshot::take(c);
    c.bluegreen(&promote(&["--force"]))
        .expect_code(5)
        .stderr_has(&["expose no container port", "web (80 → http)"]);
    before.assert_unchanged(c);
}

fn much_less_capacity_is_refused(c: &dyn Cluster) {
    Pair {
        blue_replicas: 8,
        green_replicas: 2,
        ..Pair::default()
    }
    .load(c);
    let doc = status_json(c);
    assert_eq!(doc["verdict"]["safe"], false);
    assert!(blocker_codes(&doc).contains(&"capacity".to_string()));
    let before = Snapshot::take(c);
    c.bluegreen(&promote(&[])).expect_code(5).stderr_has(&[
        "2 ready pod(s) while blue serves with 8",
        "--allow capacity",
    ]);
    before.assert_unchanged(c);
    c.bluegreen(&promote(&["--cleanup", "none", "--allow", "capacity"]))
        .expect_code(0);
    assert_eq!(selected(c, "blueservice", "app"), "green");
}

const STRAY: &str = r#"---
apiVersion: v1
kind: Pod
metadata: {name: experiment, labels: {app: green}}
spec:
  containers: [{name: web, image: nginx:experiment, ports: [{name: http, containerPort: 8080}]}]
"#;

fn a_stray_pod_with_greens_labels_is_refused(c: &dyn Cluster) {
    Pair {
        extra: STRAY,
        ..Pair::default()
    }
    .load(c);
    let doc = status_json(c);
    assert_eq!(
        doc["colours"][1]["strays"],
        serde_json::json!(["experiment"])
    );
    assert_eq!(doc["verdict"]["safe"], false);
    assert!(blocker_codes(&doc).contains(&"strayPods".to_string()));
    let before = Snapshot::take(c);
    c.bluegreen(&promote(&[]))
        .expect_code(5)
        .stderr_has(&["experiment", "--allow stray-pods"]);
    before.assert_unchanged(c);
}

/// The pair with green Ready, then unready 10 s (wall-clock) later: inside a 30 s grace period.
fn green_unready_after_10s(c: &dyn Cluster) {
    green_unready_after(c, 10_000);
}

/// As [`green_unready_after_10s`], after `wall_ms`.
fn green_unready_after(c: &dyn Cluster, wall_ms: u64) {
    let unready = c.cluster_ms(wall_ms);
    Pair {
        green_annotations: format!(r#""sandbox.bluegreen.dev/unready-after-ms": "{unready}""#),
        ..Pair::default()
    }
    .load(c);
}

const PROMOTE_30S: &[&str] = &[
    "promote",
    "blueservice",
    "--yes",
    "--scale-down-delay",
    "30s",
];

/// Blue is never touched once green stops serving during the delay, and production is served
/// again: by the promote putting traffic back (green stopped serving all at once, exit 6), or
/// by the instant `rollback` the error names (green's pods stopped one after the other, so the
/// cleanup stopped at the first one, exit 10).
fn green_turning_unready_during_the_delay_leaves_blue_untouched(c: &dyn Cluster) {
    green_unready_after_10s(c);
    let run = c.bluegreen(PROMOTE_30S);
    assert_eq!(
        replicas(c, "bluedeploy"),
        Some(3),
        "blue was not touched: {run:?}"
    );
    match run.code {
        6 => {
            run.stderr_has(&["no longer serves", "put back on blue"]);
        }
        10 => {
            run.stderr_has(&[
                "cleanup of blue stopped",
                "kubectl bluegreen rollback blueservice",
            ]);
            assert_eq!(selected(c, "blueservice", "app"), "green");
            c.bluegreen(&rollback(&["--cleanup", "none"]))
                .expect_code(0);
        }
        _ => panic!("promote exits 6 or 10: {run:?}"),
    }
    assert_eq!(selected(c, "blueservice", "app"), "blue");
    eventually(Duration::from_secs(30), "blue serves again", || {
        ready_endpoints(c, "blueservice") == 3
    });
}

/// When every green pod stops serving during the delay while blue is fully available, the
/// promote puts traffic back (exit 6) — also when the pods stop one after the other.
fn green_turning_unready_during_the_delay_puts_traffic_back(c: &dyn Cluster) {
    green_unready_after_10s(c);
    c.bluegreen(PROMOTE_30S)
        .expect_code(6)
        .stderr_has(&["no longer serves", "put back on blue"]);
    assert_eq!(selected(c, "blueservice", "app"), "blue");
    assert_eq!(replicas(c, "bluedeploy"), Some(3), "blue was not touched");
    assert!(journal(c, "blueservice", "last-failure").is_some());
    eventually(Duration::from_secs(30), "blue serves again", || {
        ready_endpoints(c, "blueservice") == 3
    });
}

/// Once green serves nothing, a cleanup of blue asked for later stops before touching it
/// (exit 10) and names the rollback.
fn a_later_cleanup_while_the_live_colour_serves_nothing_stops_with_exit_10(c: &dyn Cluster) {
    // Long enough for a loaded real control plane to settle and the promote to verify first.
    green_unready_after(c, 25_000);
    c.bluegreen(&promote(&["--cleanup", "none"])).expect_code(0);
    assert_eq!(selected(c, "blueservice", "app"), "green");
    eventually(Duration::from_secs(60), "green turns unready", || {
        ready_endpoints(c, "blueservice") == 0
    });
    c.bluegreen(&[
        "cleanup",
        "blueservice",
        "--yes",
        "--cleanup",
        "scale-down",
        "--scale-down-delay",
        "0s",
    ])
    .expect_code(10)
    .stderr_has(&[
        "cleanup of blue stopped",
        "kubectl bluegreen rollback blueservice",
    ]);
    assert_eq!(replicas(c, "bluedeploy"), Some(3), "blue was not touched");
    assert_eq!(selected(c, "blueservice", "app"), "green");
}

both_backends!(
    a_later_cleanup_while_the_live_colour_serves_nothing_stops_with_exit_10,
    another_load_balancer_on_blue_is_never_emptied,
    another_load_balancer_moves_along_and_back,
    a_named_port_green_lacks_is_not_safe_even_forced,
    much_less_capacity_is_refused,
    a_stray_pod_with_greens_labels_is_refused,
    green_turning_unready_during_the_delay_leaves_blue_untouched,
);

both_backends!(green_turning_unready_during_the_delay_puts_traffic_back,);
