//! `promote` through the built binary against the sandbox: the manual procedure end to end,
//! each cleanup policy, `--wait`, zero downtime and containment. Its refusal of a green that is
//! not ready or crash-loops, on either back-end, is `both_backends::release`.

use std::time::Duration;

use crate::both_backends::pair::promote;
use crate::common::*;
use crate::release_support::*;

/// The manual procedure of docs/design.md, as one command per step: status, promote with
/// `--cleanup delete`, status, rollback, status.
#[test]
fn manual_procedure_end_to_end() {
    let sb = settled_scenario("classic");
    let recorder = EndpointRecorder::start(&sb, "blueservice");

    run_against(&sb, &["status", "blueservice"])
        .expect_code(0)
        .stdout_has(&["promote would move blueservice from blue to green: safe"]);

    let promote = run_against(
        &sb,
        &[
            "promote",
            "blueservice",
            "--yes",
            "--cleanup",
            "delete",
            "--scale-down-delay",
            "200ms",
        ],
    );
    promote.expect_code(0).stdout_has(&[
        "Plan: promote blueservice from blue to green",
        "in context sandbox",
        "namespace default",
        "selector: app=blue → app=green",
        "Promoted blueservice: blue → green.",
        "deleted Deployment bluedeploy (blue)",
        "deleted test Service greenservice",
    ]);
    assert_eq!(selected(&sb, "blueservice", "app"), "green");
    assert_eq!(
        replicas(&sb, "bluedeploy"),
        None,
        "the old Deployment is gone"
    );
    assert!(
        service(&sb, "greenservice").is_none(),
        "the test Service is gone"
    );
    assert!(journal(&sb, "blueservice", "saved-deployment").is_some());
    assert_eq!(
        journal(&sb, "blueservice", "step"),
        None,
        "nothing in progress"
    );

    let doc = run_against(&sb, &["status", "blueservice", "-o", "json"])
        .expect_code(0)
        .json();
    assert_eq!(doc["liveColour"], "green", "{doc:#}");
    let blue = &doc["colours"][0];
    assert!(blue["deployment"].is_null(), "{blue:#}");
    assert_eq!(doc["colours"][1]["testServices"], serde_json::json!([]));

    let rollback = run_against(
        &sb,
        &[
            "rollback",
            "blueservice",
            "--yes",
            "--scale-down-delay",
            "200ms",
        ],
    );
    rollback.expect_code(0).stdout_has(&[
        "Plan: rollback blueservice from green to blue",
        "re-created Deployment bluedeploy from the journal",
        "re-created test Service greenservice from the journal",
        "Rolled back blueservice: green → blue.",
    ]);
    assert_eq!(selected(&sb, "blueservice", "app"), "blue");
    assert_eq!(serving_pods(&sb, "blue"), 3, "blue pods are back and ready");
    let doc = wait_for_json(
        &sb,
        &["status", "blueservice"],
        Duration::from_secs(20),
        |d| d["liveColour"] == "blue" && settled(d),
    );
    assert_eq!(doc["colours"][0]["deployment"]["ready"], 3, "{doc:#}");

    let reasons: Vec<String> = events_on(&sb, "blueservice")
        .into_iter()
        .map(|(r, m)| format!("{r}: {m}"))
        .collect();
    for wanted in [
        "Promoted: blueservice: blue → green",
        "RolledBack: blueservice: green → blue",
        "CleanedUp: blue deleted (delete)",
    ] {
        assert!(
            reasons.iter().any(|r| r == wanted),
            "{wanted} in {reasons:?}"
        );
    }

    // Zero downtime: every state the endpoints went through had ready addresses, all of pods
    // that were Ready at that moment.
    let states = recorder.states();
    assert!(states.len() >= 2, "the endpoints moved: {states:?}");
    for state in &states {
        assert!(
            state.ready > 0,
            "a moment without ready endpoints: {states:?}"
        );
        assert!(
            state.unready_pods.is_empty(),
            "an unready pod held as ready: {state:?}"
        );
    }

    // Containment: only the pair's objects, pods' reads, EndpointSlices, Events, autoscaler
    // reads and access reviews.
    for request in sb.requests() {
        let path = request.path.as_str();
        let allowed_read = request.method == "GET"
            && [
                "/api/v1/namespaces/default/services",
                "/api/v1/namespaces/default/pods",
                "/apis/apps/v1/namespaces/default/deployments",
                "/apis/discovery.k8s.io/v1/namespaces/default/endpointslices",
                "/apis/autoscaling/v2/namespaces/default/horizontalpodautoscalers",
            ]
            .iter()
            .any(|p| path == *p || path.starts_with(&format!("{p}/")));
        let pair_object = [
            "/api/v1/namespaces/default/services/blueservice",
            "/api/v1/namespaces/default/services/greenservice",
            "/apis/apps/v1/namespaces/default/deployments/bluedeploy",
            "/apis/apps/v1/namespaces/default/deployments/greendeploy",
        ]
        .iter()
        .any(|p| path == *p || path.starts_with(&format!("{p}/")));
        let creation = request.method == "POST"
            && [
                "/api/v1/namespaces/default/events",
                "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews",
                "/apis/apps/v1/namespaces/default/deployments",
                "/api/v1/namespaces/default/services",
            ]
            .contains(&path);
        assert!(
            allowed_read || pair_object || creation,
            "outside the pair: {} {path}",
            request.method
        );
        if request.is_mutating() && request.method != "POST" {
            assert!(
                pair_object,
                "a change outside the pair: {} {path}",
                request.method
            );
        }
    }
}

#[test]
fn default_policy_scales_down_after_the_delay_and_rollback_restores_the_count() {
    let sb = settled_scenario("classic");
    let run = run_against(
        &sb,
        &[
            "promote",
            "blueservice",
            "--yes",
            "--scale-down-delay",
            "1s",
        ],
    );
    run.expect_code(0)
        .stdout_has(&["scaled bluedeploy (blue) to 0 replicas; 3 remembered for rollback"])
        .stderr_has(&["before cleaning up the old colour"]);
    assert_eq!(replicas(&sb, "bluedeploy"), Some(0));
    assert_eq!(
        journal(&sb, "blueservice", "scaled-down-replicas").as_deref(),
        Some("3")
    );
    // The scale-down came after the flip was verified and after the delay.
    let writes: Vec<String> = sb
        .requests()
        .into_iter()
        .filter(|r| r.is_mutating())
        .map(|r| format!("{} {}", r.method, r.path))
        .collect();
    let flip = writes
        .iter()
        .position(|w| w.ends_with("/services/blueservice"));
    let scale = writes.iter().position(|w| w.ends_with("/bluedeploy/scale"));
    assert!(flip < scale && flip.is_some(), "{writes:?}");

    run_against(
        &sb,
        &[
            "rollback",
            "blueservice",
            "--yes",
            "--scale-down-delay",
            "0",
        ],
    )
    .expect_code(0)
    .stdout_has(&["scaled bluedeploy to 3 replicas"]);
    assert_eq!(replicas(&sb, "bluedeploy"), Some(3));
    assert_eq!(replicas(&sb, "greendeploy"), Some(0));
    assert_eq!(selected(&sb, "blueservice", "app"), "blue");
}

#[test]
fn wait_succeeds_when_green_becomes_ready_during_the_wait() {
    let sb = start(Some("green-slow"));
    let run = run_against(
        &sb,
        &promote(&["--wait", "--timeout", "60s", "--cleanup", "none"]),
    );
    run.expect_code(0)
        .stderr_has(&["waiting for green to become ready", "green is ready"])
        .stdout_has(&["Promoted blueservice: blue → green."]);
    assert_eq!(selected(&sb, "blueservice", "app"), "green");
    assert_eq!(
        replicas(&sb, "bluedeploy"),
        Some(3),
        "--cleanup none keeps blue"
    );
}

#[test]
fn endpoints_that_never_move_are_flipped_back() {
    let sb = settled_scenario("classic");
    sb.pause_endpoints(true);
    let run = run_against(&sb, &["promote", "blueservice", "--yes", "--timeout", "2s"]);
    run.expect_code(6).stderr_has(&[
        "verification failed",
        "traffic was put back on blue",
        "0/3 ready green",
    ]);
    assert_eq!(selected(&sb, "blueservice", "app"), "blue");
    assert_eq!(
        replicas(&sb, "bluedeploy"),
        Some(3),
        "nothing was cleaned up"
    );
    assert_eq!(journal(&sb, "blueservice", "step"), None);
    assert_eq!(journal(&sb, "blueservice", "previous-colour"), None);
    assert!(
        journal(&sb, "blueservice", "last-failure").is_some_and(|f| f.contains("put back on blue"))
    );
    let reasons: Vec<String> = events_on(&sb, "blueservice")
        .into_iter()
        .map(|(r, _)| r)
        .collect();
    assert_eq!(reasons, ["FlipReverted"]);
}

#[test]
fn promote_to_the_colour_already_live_does_nothing() {
    let sb = settled_scenario("promoted");
    run_against(&sb, &["promote", "blueservice", "--to", "green", "--yes"])
        .expect_code(0)
        .stdout_has(&["already promoted: blueservice already sends traffic to green"]);
    assert_no_mutation(&sb);
}

#[test]
fn wait_gives_up_at_the_timeout_without_changing_anything() {
    let sb = settled_scenario("green-not-ready");
    run_against(
        &sb,
        &[
            "promote",
            "blueservice",
            "--yes",
            "--wait",
            "--timeout",
            "1s",
        ],
    )
    .expect_code(5)
    .stderr_has(&["gave up waiting for green", "green is not ready"]);
    assert_no_mutation(&sb);
}

#[test]
fn force_says_what_it_skipped_and_verification_still_puts_traffic_back() {
    let sb = settled_scenario("green-not-ready");
    run_against(
        &sb,
        &[
            "promote",
            "blueservice",
            "--yes",
            "--force",
            "--timeout",
            "2s",
        ],
    )
    .expect_code(6)
    .stdout_has(&["--force skips these failed readiness checks:"])
    .stderr_has(&[
        "WARNING: --force: moving traffic although these readiness checks failed",
        "traffic was put back on blue",
    ]);
    assert_eq!(selected(&sb, "blueservice", "app"), "blue");
    assert_eq!(replicas(&sb, "bluedeploy"), Some(3));
}

/// A pair whose green pods take 60 s (cluster time) to become Ready and stay Terminating (and
/// Ready) for 10 minutes once deleted.
const SLOW_GREEN: &str = "
apiVersion: apps/v1
kind: Deployment
metadata: {name: bluedeploy, namespace: default}
spec:
  replicas: 3
  selector: {matchLabels: {app: blue}}
  template:
    metadata: {labels: {app: blue}}
    spec: {containers: [{name: web, image: nginx:blue, ports: [{containerPort: 8080}]}]}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: greendeploy, namespace: default}
spec:
  replicas: 3
  selector: {matchLabels: {app: green}}
  template:
    metadata:
      labels: {app: green}
      annotations:
        sandbox.bluegreen.dev/ready-after-ms: '60000'
        sandbox.bluegreen.dev/terminate-after-ms: '600000'
    spec: {containers: [{name: web, image: nginx:green, ports: [{containerPort: 8080}]}]}
---
apiVersion: v1
kind: Service
metadata: {name: blueservice, namespace: default}
spec:
  selector: {app: blue}
  ports: [{port: 80, targetPort: 8080}]
";

#[test]
fn ready_but_terminating_pods_are_not_serving_capacity() {
    let sb = start(None);
    sb.load_yaml(SLOW_GREEN).expect("the pair");
    eventually(Duration::from_secs(30), "green is ready", || {
        serving_pods(&sb, "green") == 3 && serving_pods(&sb, "blue") == 3
    });
    wait_settled(&sb);
    // One green pod is deleted: it stays Ready while it terminates, and its replacement is not
    // Ready for a while.
    let (pods, _) = sb
        .store()
        .list(&sandbox::resources::PODS, Some("default"), |p| {
            p["metadata"]["labels"]["app"] == "green"
        });
    let victim = pods[0]["metadata"]["name"]
        .as_str()
        .expect("a pod name")
        .to_string();
    let kubeconfig = sb.kubeconfig_path().display().to_string();
    let deleted = std::process::Command::new("kubectl")
        .args([
            "--kubeconfig",
            &kubeconfig,
            "delete",
            "pod",
            &victim,
            "--wait=false",
        ])
        .output()
        .expect("kubectl runs");
    assert!(deleted.status.success(), "{deleted:?}");
    let terminating_and_ready = || {
        sb.store()
            .get(&sandbox::resources::PODS, "default", &victim)
            .is_some_and(|p| {
                !p["metadata"]["deletionTimestamp"].is_null()
                    && p["status"]["conditions"].as_array().is_some_and(|cs| {
                        cs.iter()
                            .any(|c| c["type"] == "Ready" && c["status"] == "True")
                    })
            })
    };
    assert!(
        terminating_and_ready(),
        "the deleted pod is Ready and terminating"
    );
    sb.clear_requests();
    run_against(&sb, &["promote", "blueservice", "--yes"])
        .expect_code(5)
        .stderr_has(&["green is not ready"]);
    assert_no_mutation(&sb);
    assert!(
        terminating_and_ready(),
        "the refusal happened inside the window"
    );
}
