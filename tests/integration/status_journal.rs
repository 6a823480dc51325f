//! `status`'s verdict through a real sequence of releases against the sandbox: after each
//! promote cleanup policy, after a rollback, and after an interrupted promote, the verdict says
//! what `promote`, `rollback` or `cleanup` then actually do.

use std::time::Duration;

use crate::common::*;
use crate::release_support::*;
use kubectl_bluegreen::schema::{NextCommand, Verdict};

/// The verdict of `status -o json`, deserialised into the documented schema.
#[track_caller]
fn verdict(sb: &Sandbox) -> Verdict {
    let doc = run_against(sb, &["status", "blueservice", "-o", "json"])
        .expect_code(0)
        .json();
    match serde_json::from_value(doc["verdict"].clone()) {
        Ok(v) => v,
        Err(e) => panic!("the verdict does not follow the schema: {e}\n{doc:#}"),
    }
}

/// The verdict line of the table.
#[track_caller]
fn verdict_line(sb: &Sandbox) -> String {
    let run = run_against(sb, &["status", "blueservice"]);
    run.expect_code(0);
    run.stdout
        .lines()
        .find(|l| l.starts_with("Verdict: "))
        .unwrap_or_else(|| panic!("no verdict line:\n{}", run.stdout))
        .to_string()
}

#[track_caller]
fn promote(sb: &Sandbox, extra: &[&str]) -> Run {
    let mut args = vec!["promote", "blueservice", "--yes"];
    args.extend(extra);
    run_against(sb, &args)
}

#[track_caller]
fn rollback(sb: &Sandbox, extra: &[&str]) -> Run {
    let mut args = vec!["rollback", "blueservice", "--yes", "--timeout", "60s"];
    args.extend(extra);
    run_against(sb, &args)
}

/// Waits until blue is live again and every colour has settled.
fn blue_live_and_settled(sb: &Sandbox) {
    wait_for_json(
        sb,
        &["status", "blueservice"],
        Duration::from_secs(20),
        |d| d["liveColour"] == "blue" && settled(d),
    );
}

#[test]
fn after_promote_with_cleanup_delete_rollback_re_creates_from_the_journal() {
    let sb = settled_scenario("classic");
    promote(&sb, &["--cleanup", "delete", "--scale-down-delay", "200ms"]).expect_code(0);
    assert_eq!(replicas(&sb, "bluedeploy"), None);

    assert_eq!(
        verdict_line(&sb),
        "Verdict: released: blueservice sends traffic to green; the way back: rollback to blue \
         (re-creating Deployment bluedeploy and test Service greenservice from the journal first) is safe"
    );
    let v = verdict(&sb);
    assert_eq!(v.action, NextCommand::Rollback);
    assert_eq!((v.from.as_str(), v.to.as_str()), ("green", "blue"));
    assert!(v.safe, "{v:?}");
    assert!(v.blockers.is_empty(), "{v:?}");
    assert_eq!(v.interrupted_step, None);
    assert_eq!(
        v.next_command.as_deref(),
        Some("kubectl bluegreen rollback blueservice")
    );
    assert!(
        v.notes
            .iter()
            .any(|n| n.starts_with("promote: already promoted")),
        "{:?}",
        v.notes
    );
    // What promote says agrees.
    promote(&sb, &[])
        .expect_code(0)
        .stdout_has(&["already promoted"]);

    rollback(&sb, &["--scale-down-delay", "0"])
        .expect_code(0)
        .stdout_has(&["re-created Deployment bluedeploy from the journal"]);
    blue_live_and_settled(&sb);
    assert_eq!(replicas(&sb, "greendeploy"), Some(0));

    // After the rollback the next move is a promote, which green at 0 replicas blocks.
    assert_eq!(
        verdict_line(&sb),
        "Verdict: promote would move blueservice from blue to green: not safe: greendeploy has 0 replicas"
    );
    let v = verdict(&sb);
    assert_eq!(v.action, NextCommand::Promote);
    assert_eq!((v.from.as_str(), v.to.as_str()), ("blue", "green"));
    assert!(!v.safe);
    let codes: Vec<&str> = v.blockers.iter().map(|b| b.code.as_str()).collect();
    assert_eq!(codes, ["zeroReplicas"]);
    assert_eq!(v.next_command, None);
    assert!(
        v.notes
            .iter()
            .any(|n| n.starts_with("rollback: already rolled back")),
        "{:?}",
        v.notes
    );
    // And the commands agree: promote refuses for that reason, rollback has nothing to do.
    promote(&sb, &[])
        .expect_code(5)
        .stderr_has(&["greendeploy has 0 replicas"]);
    rollback(&sb, &[])
        .expect_code(0)
        .stdout_has(&["already rolled back"]);
}

#[test]
fn after_the_default_scale_down_rollback_scales_the_old_colour_back() {
    let sb = settled_scenario("classic");
    promote(&sb, &["--scale-down-delay", "1s"]).expect_code(0);
    assert_eq!(replicas(&sb, "bluedeploy"), Some(0));

    assert_eq!(
        verdict_line(&sb),
        "Verdict: released: blueservice sends traffic to green; the way back: rollback to blue \
         (scaling bluedeploy back to 3 replicas first) is safe"
    );
    let v = verdict(&sb);
    assert_eq!(v.action, NextCommand::Rollback);
    assert!(v.safe, "{v:?}");
    assert!(v.blockers.is_empty(), "{v:?}");
    assert_eq!(
        v.next_command.as_deref(),
        Some("kubectl bluegreen rollback blueservice")
    );
    run_against(&sb, &["rollback", "blueservice", "--dry-run"])
        .expect_code(0)
        .stdout_has(&["scale bluedeploy (blue) up to 3 replicas"]);

    rollback(&sb, &["--cleanup", "none"]).expect_code(0);
    blue_live_and_settled(&sb);
    assert_eq!(
        verdict_line(&sb),
        "Verdict: promote would move blueservice from blue to green: safe"
    );
    let v = verdict(&sb);
    assert_eq!(v.action, NextCommand::Promote);
    assert!(v.safe, "{v:?}");
    assert_eq!(
        v.next_command.as_deref(),
        Some("kubectl bluegreen promote blueservice")
    );
    run_against(&sb, &["promote", "blueservice", "--dry-run"])
        .expect_code(0)
        .stdout_has(&["Plan: promote blueservice from blue to green"]);
}

#[test]
fn after_promote_with_cleanup_none_rollback_flips_back_at_once() {
    let sb = settled_scenario("classic");
    promote(&sb, &["--cleanup", "none"]).expect_code(0);
    assert_eq!(replicas(&sb, "bluedeploy"), Some(3));

    assert_eq!(
        verdict_line(&sb),
        "Verdict: released: blueservice sends traffic to green; the way back: rollback to blue is safe"
    );
    let v = verdict(&sb);
    assert_eq!(v.action, NextCommand::Rollback);
    assert_eq!((v.from.as_str(), v.to.as_str()), ("green", "blue"));
    assert!(v.safe, "{v:?}");

    rollback(&sb, &["--cleanup", "none"])
        .expect_code(0)
        .stdout_has(&["Rolled back blueservice: green → blue."]);
    blue_live_and_settled(&sb);
    let v = verdict(&sb);
    assert_eq!(v.action, NextCommand::Promote);
    assert_eq!((v.from.as_str(), v.to.as_str()), ("blue", "green"));
    assert!(v.safe, "{v:?}");
    assert_eq!(
        v.summary,
        "promote would move blueservice from blue to green: safe"
    );
}

#[test]
fn an_interrupted_promote_is_explained_and_cleanup_finishes_it() {
    let sb = settled_scenario("classic");
    let output = promote_interrupted_during_cleanup(&sb);
    assert_eq!(
        output.status.code(),
        Some(130),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );

    let line = verdict_line(&sb);
    for fragment in [
        "Verdict: promote interrupted during cleanup: `kubectl bluegreen cleanup blueservice` finishes it (wait ",
        "then scale bluedeploy (blue) down from 3 to 0 replicas",
        "): safe; or `kubectl bluegreen rollback blueservice` would move blueservice back from green to blue: safe",
    ] {
        assert!(line.contains(fragment), "{fragment:?} in {line}");
    }
    let v = verdict(&sb);
    assert_eq!(v.action, NextCommand::Promote);
    assert_eq!((v.from.as_str(), v.to.as_str()), ("blue", "green"));
    assert!(v.safe, "{v:?}");
    assert_eq!(v.interrupted_step.as_deref(), Some("cleanup"));
    assert_eq!(
        v.next_command.as_deref(),
        Some("kubectl bluegreen cleanup blueservice")
    );

    run_against(
        &sb,
        &["cleanup", "blueservice", "--yes", "--scale-down-delay", "0"],
    )
    .expect_code(0)
    .stdout_has(&["scaled bluedeploy (blue) to 0 replicas; 3 remembered for rollback"]);

    let v = verdict(&sb);
    assert_eq!(v.interrupted_step, None);
    assert_eq!(v.action, NextCommand::Rollback);
    assert_eq!(
        v.summary,
        "released: blueservice sends traffic to green; the way back: rollback to blue \
         (scaling bluedeploy back to 3 replicas first) is safe"
    );
}
