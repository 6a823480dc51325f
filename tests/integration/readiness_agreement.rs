//! One definition of "ready to take traffic": with a crash-looping colour, the plan, `status`'s
//! verdict, rollback's wait and `promote --wait` all give the same reasons, and no wait ends
//! as "ready".

use std::time::Duration;

use crate::common::*;
use crate::release_support::*;
use serde_json::Value;

/// Exit code of a refusal.
const REFUSED: i32 = 5;

/// Pods of `app` whose container restarted at least `restarts` times.
fn restarted(sb: &sandbox::Sandbox, app: &str, restarts: i64) -> usize {
    let (pods, _) = sb
        .store()
        .list(&sandbox::resources::PODS, Some("default"), |p| {
            p["metadata"]["labels"]["app"] == app
                && p["status"]["containerStatuses"][0]["restartCount"]
                    .as_i64()
                    .is_some_and(|n| n >= restarts)
        });
    pods.len()
}

/// Changes `deployment`'s pod template so that its pods crash-loop.
#[allow(clippy::result_large_err)] // the sandbox's store API returns whole Status objects
fn make_crash_loop(sb: &sandbox::Sandbox, deployment: &str) {
    sb.store()
        .update_with(
            &sandbox::resources::DEPLOYMENTS,
            "default",
            deployment,
            sandbox::store::UpdateOpts::default(),
            |old| {
                let mut new = old.clone();
                new["spec"]["template"]["metadata"]["annotations"] =
                    serde_json::json!({ sandbox::controllers::CRASH_LOOP: "true" });
                Ok(new)
            },
        )
        .expect("change the pod template");
}

/// The verdict's blockers: (code, message).
fn blockers(doc: &Value) -> Vec<(String, String)> {
    doc["verdict"]["blockers"]
        .as_array()
        .map(|bs| {
            bs.iter()
                .map(|b| {
                    (
                        b["code"].as_str().unwrap_or_default().to_string(),
                        b["message"].as_str().unwrap_or_default().to_string(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

/// `text` with every number replaced: restart counts grow between two reads.
fn without_counts(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars() {
        if c.is_ascii_digit() {
            if !out.ends_with('#') {
                out.push('#');
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// Asserts `output` gives every one of the verdict's reasons.
#[track_caller]
fn gives_the_verdicts_reasons(what: &str, output: &str, reasons: &[(String, String)]) {
    assert!(!reasons.is_empty(), "the verdict gives reasons");
    let output = without_counts(output);
    for (code, message) in reasons {
        assert!(
            output.contains(&without_counts(message)),
            "{what} does not give the verdict's reason {code} ({message:?}):\n{output}"
        );
    }
}

/// The verdict once `colour`'s crash-looping shows in it.
fn crash_loop_verdict(sb: &sandbox::Sandbox) -> Value {
    let doc = wait_for_json(
        sb,
        &["status", "blueservice"],
        Duration::from_secs(30),
        |d| blockers(d).iter().any(|(code, _)| code == "restarting"),
    );
    assert_eq!(doc["verdict"]["safe"], false, "{doc:#}");
    assert!(doc["verdict"]["nextCommand"].is_null(), "{doc:#}");
    doc
}

#[test]
fn crash_looping_green_plan_verdict_and_promote_wait_agree() {
    let sb = start(Some("green-crashloop"));
    // Long back-offs: the pods stay in CrashLoopBackOff between two reads.
    eventually(
        Duration::from_secs(60),
        "green pods restart 4 times",
        || restarted(&sb, "green", 4) == 3,
    );
    let doc = crash_loop_verdict(&sb);
    assert_eq!(doc["verdict"]["action"], "promote");
    let reasons = blockers(&doc);
    let codes: Vec<&str> = reasons.iter().map(|(c, _)| c.as_str()).collect();
    assert!(codes.contains(&"notReady"), "{codes:?}");
    sb.clear_requests();

    let planned = run_against(&sb, &["promote", "blueservice", "--dry-run=client"]);
    planned.expect_code(REFUSED);
    gives_the_verdicts_reasons("promote's plan", &planned.stderr, &reasons);

    let waited = run_against(
        &sb,
        &[
            "promote",
            "blueservice",
            "--yes",
            "--wait",
            "--timeout",
            "2s",
        ],
    );
    waited.expect_code(REFUSED).stderr_has(&[
        "waiting for green to become ready",
        "gave up waiting for green",
    ]);
    assert!(
        !waited.stderr.contains("green is ready"),
        "the wait ended as ready: {}",
        waited.stderr
    );
    gives_the_verdicts_reasons("promote --wait", &waited.stderr, &reasons);
    assert_no_mutation(&sb);
    assert_eq!(selected(&sb, "blueservice", "app"), "blue");
}

#[test]
fn crash_looping_previous_colour_plan_verdict_and_rollback_wait_agree() {
    let sb = settled_scenario("classic");
    run_against(
        &sb,
        &["promote", "blueservice", "--yes", "--cleanup", "none"],
    )
    .expect_code(0);
    assert_eq!(selected(&sb, "blueservice", "app"), "green");
    // Blue, still running, gets a template whose pods crash-loop: its rollout cannot finish.
    make_crash_loop(&sb, "bluedeploy");
    eventually(
        Duration::from_secs(60),
        "a blue pod restarts 4 times",
        || restarted(&sb, "blue", 4) > 0,
    );
    let doc = crash_loop_verdict(&sb);
    assert_eq!(doc["verdict"]["action"], "rollback");
    let reasons = blockers(&doc);

    let planned = run_against(&sb, &["rollback", "blueservice", "--dry-run=client"]);
    planned
        .expect_code(0)
        .stdout_has(&["wait until bluedeploy (blue) is fully available"]);
    gives_the_verdicts_reasons("rollback's plan", &planned.stdout, &reasons);

    sb.clear_requests();
    let waited = run_against(
        &sb,
        &["rollback", "blueservice", "--yes", "--timeout", "2s"],
    );
    waited.expect_code(REFUSED).stderr_has(&[
        "waiting for blue to become ready",
        "gave up waiting for blue",
        "bluedeploy did not become fully available in time",
        "traffic was not moved",
    ]);
    assert!(
        !waited.stderr.contains("blue is ready"),
        "the wait ended as ready: {}",
        waited.stderr
    );
    gives_the_verdicts_reasons("rollback's wait", &waited.stderr, &reasons);
    assert_eq!(selected(&sb, "blueservice", "app"), "green");
    assert_eq!(replicas(&sb, "bluedeploy"), Some(3));
}
