//! Concurrency: two `promote`s of the same pair at once, `promote` racing a `kubectl patch` of
//! the Service, and `promote` racing `rollback`. The races are made real by holding the
//! processes at the flip in the sandbox and letting them go together: the flip's
//! resourceVersion precondition decides, exactly one flips, and the other stops with the
//! conflict code (7) having changed nothing.

use std::process::{Child, Output};
use std::time::{Duration, Instant};

use crate::both_backends::pair;
use crate::common::*;
use crate::release_support::*;
use sandbox::{FaultAction, FaultRule};

/// Exit code of a conflict with a concurrent change.
const CONFLICT: i32 = 7;

/// Holds the next `n` PATCHes of the production Service until [`Sandbox::faults`]'
/// `release_hangs`.
fn hold_flips(sb: &Sandbox, n: usize) {
    sb.faults().add(
        FaultRule::new(FaultAction::Hang(Duration::from_secs(120)))
            .verb("patch")
            .resource("services")
            .name("blueservice")
            .times(n),
    );
}

/// PATCHes of the production Service waiting in the sandbox now.
fn held_flips(sb: &Sandbox) -> usize {
    sb.requests()
        .iter()
        .filter(|r| {
            r.method == "PATCH"
                && r.status == 0
                && r.path == "/api/v1/namespaces/default/services/blueservice"
        })
        .count()
}

/// Waits until `n` flips are held; fails (showing what the processes printed) if one of them
/// ends first or it takes too long.
fn wait_held(sb: &Sandbox, n: usize, children: &mut [&mut Child]) {
    let started = Instant::now();
    while held_flips(sb) < n {
        for child in children.iter_mut() {
            if let Ok(Some(status)) = child.try_wait() {
                panic!("a process ended ({status}) before reaching the flip");
            }
        }
        assert!(
            started.elapsed() < Duration::from_secs(90),
            "{n} flips were not held within 90s"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

struct Ended {
    code: i32,
    stdout: String,
    stderr: String,
}

fn ended(output: Output) -> Ended {
    Ended {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

impl std::fmt::Debug for Ended {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "exit {}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

/// The one that flipped and the one that got the conflict, in that order.
fn winner_and_loser(a: Ended, b: Ended) -> (Ended, Ended) {
    let (winner, loser) = match (a.code, b.code) {
        (0, CONFLICT) => (a, b),
        (CONFLICT, 0) => (b, a),
        _ => panic!("expected one success and one conflict:\n{a:?}\n{b:?}"),
    };
    assert!(
        loser
            .stderr
            .contains("was changed by someone else since it was read"),
        "{loser:?}"
    );
    assert!(
        loser.stderr.contains("nothing was changed by this command"),
        "{loser:?}"
    );
    (winner, loser)
}

/// The mutating requests the sandbox answered with success (the loser's refused flip is a 409).
fn stored_flips(sb: &Sandbox) -> usize {
    sb.requests()
        .iter()
        .filter(|r| {
            r.method == "PATCH"
                && r.path == "/api/v1/namespaces/default/services/blueservice"
                && r.status == 200
                && r.body.contains("\"selector\"")
        })
        .count()
}

#[test]
fn two_promotes_at_once_flip_exactly_once_and_the_other_reports_the_conflict() {
    let sb = settled_scenario("classic");
    hold_flips(&sb, 2);
    let home = tempfile::tempdir().expect("a temporary HOME");
    let args = [
        "promote",
        "blueservice",
        "--yes",
        "--scale-down-delay",
        "0",
        "--timeout",
        "60s",
    ];
    let mut a = spawn_against(&sb, home.path(), &args);
    let mut b = spawn_against(&sb, home.path(), &args);
    // Both read the pair at the same resourceVersion and now wait at the flip.
    wait_held(&sb, 2, &mut [&mut a, &mut b]);
    sb.faults().release_hangs();
    let a = ended(a.wait_with_output().expect("promote ends"));
    let b = ended(b.wait_with_output().expect("promote ends"));
    let (winner, loser) = winner_and_loser(a, b);
    assert!(
        winner
            .stdout
            .contains("Promoted blueservice: blue → green."),
        "{winner:?}"
    );
    assert!(
        !loser.stdout.contains("Done before the error"),
        "the loser did nothing: {loser:?}"
    );
    assert_eq!(stored_flips(&sb), 1, "exactly one flip was stored");
    assert_eq!(selected(&sb, "blueservice", "app"), "green");
    assert_eq!(
        journal(&sb, "blueservice", "previous-colour").as_deref(),
        Some("blue")
    );
    assert_eq!(journal(&sb, "blueservice", "step"), None);
    assert_eq!(
        journal(&sb, "blueservice", "scaled-down-replicas").as_deref(),
        Some("3")
    );
    assert_eq!(replicas(&sb, "bluedeploy"), Some(0));
    assert_eq!(serving_pods(&sb, "green"), 3);
    let promoted = events_on(&sb, "blueservice")
        .iter()
        .filter(|(reason, _)| reason == "Promoted")
        .count();
    assert_eq!(promoted, 1, "one release, one Promoted event");
    // Running it again now has nothing to do.
    run_against(&sb, &["promote", "blueservice", "--yes"])
        .expect_code(0)
        .stdout_has(&["already promoted"]);
}

#[test]
fn a_kubectl_patch_during_promote_is_not_overwritten() {
    let Some(kubectl) = kubectl() else {
        return;
    };
    let sb = settled_scenario("classic");
    hold_flips(&sb, 1);
    let home = tempfile::tempdir().expect("a temporary HOME");
    let mut promote = spawn_against(
        &sb,
        home.path(),
        &[
            "promote",
            "blueservice",
            "--yes",
            "--scale-down-delay",
            "0",
            "--timeout",
            "60s",
        ],
    );
    wait_held(&sb, 1, &mut [&mut promote]);
    // A colleague changes the Service while the promote waits at its flip (the hold is used
    // up, so kubectl's PATCH goes straight through).
    let kubeconfig = sb.kubeconfig_path().display().to_string();
    let patch = std::process::Command::new(&kubectl)
        .env("HOME", home.path())
        .args([
            "--kubeconfig",
            &kubeconfig,
            "patch",
            "service",
            "blueservice",
            "--type",
            "merge",
            "-p",
            r#"{"metadata":{"annotations":{"team.example.com/owner":"payments"}},"spec":{"sessionAffinity":"ClientIP"}}"#,
        ])
        .output()
        .expect("kubectl runs");
    assert!(
        patch.status.success(),
        "kubectl patch: {}",
        String::from_utf8_lossy(&patch.stderr)
    );
    sb.faults().release_hangs();
    let promote = ended(promote.wait_with_output().expect("promote ends"));
    assert_eq!(promote.code, CONFLICT, "{promote:?}");
    assert!(
        promote
            .stderr
            .contains("was changed by someone else since it was read"),
        "{promote:?}"
    );
    // Nothing of kubectl's change was lost, and nothing of the promote was written.
    let stored = service(&sb, "blueservice").expect("the Service");
    assert_eq!(
        stored["metadata"]["annotations"]["team.example.com/owner"],
        "payments"
    );
    assert_eq!(stored["spec"]["sessionAffinity"], "ClientIP");
    assert_eq!(selected(&sb, "blueservice", "app"), "blue");
    assert_eq!(journal(&sb, "blueservice", "previous-colour"), None);
    assert_eq!(journal(&sb, "blueservice", "step"), None);
    assert_eq!(replicas(&sb, "bluedeploy"), Some(3));

    // Run again, it reads the new version of the Service and goes through, keeping the change.
    run_against(&sb, &pair::promote(&["--timeout", "60s"])).expect_code(0);
    let stored = service(&sb, "blueservice").expect("the Service");
    assert_eq!(selected(&sb, "blueservice", "app"), "green");
    assert_eq!(
        stored["metadata"]["annotations"]["team.example.com/owner"],
        "payments"
    );
    assert_eq!(stored["spec"]["sessionAffinity"], "ClientIP");
}

/// The consistent end state of a pair: the Service selects a colour with ready pods, the
/// journal agrees with the selector (its previous colour is the other one, nothing is in
/// progress), and every colour's replicas are either running or remembered.
#[track_caller]
fn consistent(sb: &Sandbox) {
    let live = selected(sb, "blueservice", "app");
    let other = if live == "blue" { "green" } else { "blue" };
    assert!(
        serving_pods(sb, &live) > 0,
        "{live} is selected but has no ready pod"
    );
    assert_eq!(
        replicas(sb, &format!("{live}deploy")),
        Some(3),
        "the live colour runs all its replicas"
    );
    assert_eq!(
        journal(sb, "blueservice", "previous-colour").as_deref(),
        Some(other),
        "the journal's previous colour is the one not selected"
    );
    assert_eq!(journal(sb, "blueservice", "step"), None);
    let other_deployment = format!("{other}deploy");
    match replicas(sb, &other_deployment) {
        Some(0) => assert_eq!(
            journal(sb, "blueservice", "scaled-down-replicas").as_deref(),
            Some("3"),
            "{other_deployment} is at 0 with its count remembered"
        ),
        Some(r) => assert_eq!(r, 3, "{other_deployment} kept its replicas"),
        None => panic!("{other_deployment} disappeared"),
    }
    // A promote the journal records can be undone: rollback brings back the other colour
    // with all its replicas. (After a rollback, the journal's step back is a promote of the
    // next version.)
    if journal(sb, "blueservice", "action").as_deref() != Some("promote") {
        return;
    }
    run_against(
        sb,
        &[
            "rollback",
            "blueservice",
            "--yes",
            "--cleanup",
            "none",
            "--timeout",
            "60s",
        ],
    )
    .expect_code(0);
    assert_eq!(selected(sb, "blueservice", "app"), other);
    assert_eq!(replicas(sb, &other_deployment), Some(3));
    assert_eq!(serving_pods(sb, other), 3);
}

/// Green live after a promote that kept blue running, then a new version deployed into blue:
/// `promote` (to the new version) and `rollback` (to the previous colour) both move traffic to
/// blue.
#[allow(clippy::result_large_err)] // the sandbox's store API returns whole Status objects
fn promoted_then_new_blue(sb: &Sandbox) {
    run_against(
        sb,
        &[
            "promote",
            "blueservice",
            "--yes",
            "--cleanup",
            "none",
            "--timeout",
            "60s",
        ],
    )
    .expect_code(0);
    sb.store()
        .update_with(
            &sandbox::resources::DEPLOYMENTS,
            "default",
            "bluedeploy",
            sandbox::store::UpdateOpts::default(),
            |old| {
                let mut new = old.clone();
                new["spec"]["template"]["spec"]["containers"][0]["image"] =
                    serde_json::json!("nginx:blue-2");
                Ok(new)
            },
        )
        .expect("the new version is deployed into blue");
    wait_settled(sb);
    sb.clear_requests();
}

#[test]
fn promote_and_rollback_held_at_the_flip_together_end_consistent() {
    let sb = settled_scenario("classic");
    promoted_then_new_blue(&sb);
    hold_flips(&sb, 2);
    let home = tempfile::tempdir().expect("a temporary HOME");
    let mut promote = spawn_against(
        &sb,
        home.path(),
        &[
            "promote",
            "blueservice",
            "--yes",
            "--scale-down-delay",
            "0",
            "--timeout",
            "60s",
        ],
    );
    let mut rollback = spawn_against(
        &sb,
        home.path(),
        &[
            "rollback",
            "blueservice",
            "--yes",
            "--scale-down-delay",
            "0",
            "--timeout",
            "60s",
        ],
    );
    wait_held(&sb, 2, &mut [&mut promote, &mut rollback]);
    sb.faults().release_hangs();
    let p = ended(promote.wait_with_output().expect("promote ends"));
    let r = ended(rollback.wait_with_output().expect("rollback ends"));
    let winner_was_promote = p.code == 0;
    let (winner, _) = winner_and_loser(p, r);
    assert_eq!(stored_flips(&sb), 1, "exactly one flip was stored");
    assert_eq!(selected(&sb, "blueservice", "app"), "blue");
    assert_eq!(
        journal(&sb, "blueservice", "action").as_deref(),
        Some(if winner_was_promote {
            "promote"
        } else {
            "rollback"
        }),
        "the journal names the command that flipped: {winner:?}"
    );
    assert_eq!(replicas(&sb, "greendeploy"), Some(0));
    consistent(&sb);
}

#[test]
fn a_rollback_during_promote_verification_wins_and_the_promote_does_not_undo_it() {
    let sb = settled_scenario("classic");
    // The endpoints stand still: the promote flips, then waits in verification.
    sb.pause_endpoints(true);
    let home = tempfile::tempdir().expect("a temporary HOME");
    let mut promote = spawn_against(
        &sb,
        home.path(),
        &[
            "promote",
            "blueservice",
            "--yes",
            "--scale-down-delay",
            "0",
            "--timeout",
            "120s",
        ],
    );
    let promote_started = Instant::now();
    let started = Instant::now();
    while journal(&sb, "blueservice", "step").as_deref() != Some("verify") {
        if let Ok(Some(status)) = promote.try_wait() {
            panic!("promote ended ({status}) before verifying");
        }
        assert!(started.elapsed() < Duration::from_secs(60), "no flip");
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(selected(&sb, "blueservice", "app"), "green");
    // A colleague rolls back while the promote still waits for the endpoints.
    let mut rollback = spawn_against(
        &sb,
        home.path(),
        &[
            "rollback",
            "blueservice",
            "--yes",
            "--scale-down-delay",
            "0",
            "--timeout",
            "60s",
        ],
    );
    let started = Instant::now();
    while selected(&sb, "blueservice", "app") != "blue" {
        if let Ok(Some(status)) = rollback.try_wait() {
            let r = ended(rollback.wait_with_output().expect("rollback ends"));
            panic!("rollback ended ({status}) before flipping back: {r:?}");
        }
        assert!(started.elapsed() < Duration::from_secs(60), "no flip back");
        std::thread::sleep(Duration::from_millis(20));
    }
    sb.pause_endpoints(false);
    let r = ended(rollback.wait_with_output().expect("rollback ends"));
    let p = ended(promote.wait_with_output().expect("promote ends"));
    assert_eq!(r.code, 0, "{r:?}");
    assert!(
        r.stdout.contains("Rolled back blueservice: green → blue."),
        "{r:?}"
    );
    // The promote sees the Service flipped under it and stops at once (not after its
    // --timeout), without flipping over the rollback.
    assert_eq!(p.code, CONFLICT, "{p:?}");
    assert!(
        p.stderr.contains(
            "blueservice was flipped from green to blue by someone else while its endpoints were being verified"
        ) && p.stderr.contains("does NOT flip it back"),
        "{p:?}"
    );
    assert!(
        promote_started.elapsed() < Duration::from_secs(90),
        "the promote stopped before its timeout"
    );
    assert_eq!(selected(&sb, "blueservice", "app"), "blue");
    assert_eq!(
        journal(&sb, "blueservice", "action").as_deref(),
        Some("rollback")
    );
    assert_eq!(replicas(&sb, "bluedeploy"), Some(3));
    consistent(&sb);
}

#[test]
fn a_promote_started_after_another_flipped_finishes_that_release_without_a_second_flip() {
    let sb = settled_scenario("classic");
    // The endpoints stand still: the first promote flips, then waits in verification.
    sb.pause_endpoints(true);
    let home = tempfile::tempdir().expect("a temporary HOME");
    let args = [
        "promote",
        "blueservice",
        "--yes",
        "--scale-down-delay",
        "0",
        "--timeout",
        "60s",
    ];
    let mut first = spawn_against(&sb, home.path(), &args);
    let started = Instant::now();
    while journal(&sb, "blueservice", "step").as_deref() != Some("verify") {
        if let Ok(Some(status)) = first.try_wait() {
            panic!("promote ended ({status}) before verifying");
        }
        assert!(started.elapsed() < Duration::from_secs(60), "no flip");
        std::thread::sleep(Duration::from_millis(20));
    }
    // The second reads the pair after the flip: the journal says the release is verifying.
    let mut second = spawn_against(&sb, home.path(), &args);
    let watches = || {
        sb.requests()
            .iter()
            .filter(|r| r.path.ends_with("/endpointslices") && r.query_param("watch").is_some())
            .count()
    };
    let started = Instant::now();
    while watches() < 2 {
        if let Ok(Some(status)) = second.try_wait() {
            let s = ended(second.wait_with_output().expect("promote ends"));
            panic!("the second promote ended ({status}) before verifying: {s:?}");
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the second promote does not verify"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    sb.pause_endpoints(false);
    let first = ended(first.wait_with_output().expect("promote ends"));
    let second = ended(second.wait_with_output().expect("promote ends"));
    assert_eq!(first.code, 0, "{first:?}");
    assert!(
        first.stdout.contains("Promoted blueservice: blue → green."),
        "{first:?}"
    );
    // It finishes the same release: verification and cleanup, no flip of its own.
    assert_eq!(second.code, 0, "{second:?}");
    assert!(
        second.stdout.contains("resuming the promote of"),
        "{second:?}"
    );
    assert!(!second.stdout.contains("flipped blueservice"), "{second:?}");
    assert_eq!(stored_flips(&sb), 1, "exactly one flip was stored");
    assert_eq!(selected(&sb, "blueservice", "app"), "green");
    assert_eq!(replicas(&sb, "bluedeploy"), Some(0));
    assert_eq!(
        journal(&sb, "blueservice", "scaled-down-replicas").as_deref(),
        Some("3"),
        "the count remembered is blue's real one, not the 0 one of them left"
    );
    consistent(&sb);
}

#[test]
fn a_rollback_during_the_grace_period_stops_the_waiting_promote_at_once() {
    let sb = settled_scenario("classic");
    let home = tempfile::tempdir().expect("a temporary HOME");
    let mut promote = spawn_against(
        &sb,
        home.path(),
        &[
            "promote",
            "blueservice",
            "--yes",
            "--scale-down-delay",
            "600s",
            "--timeout",
            "60s",
        ],
    );
    let started = Instant::now();
    while journal(&sb, "blueservice", "step").as_deref() != Some("cleanup") {
        if let Ok(Some(status)) = promote.try_wait() {
            panic!("promote ended ({status}) before its grace period");
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "no grace period"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    run_against(&sb, &pair::rollback(&["--cleanup", "none"])).expect_code(0);
    let rolled_back = Instant::now();
    let p = ended(promote.wait_with_output().expect("promote ends"));
    assert!(
        rolled_back.elapsed() < Duration::from_secs(60),
        "the promote stopped long before its 600s wait was over"
    );
    assert_eq!(p.code, CONFLICT, "{p:?}");
    assert!(
        p.stderr
            .contains("blueservice was flipped from green to blue by someone else")
            && p.stderr.contains("blue is live and will not be touched"),
        "{p:?}"
    );
    assert_eq!(selected(&sb, "blueservice", "app"), "blue");
    assert_eq!(replicas(&sb, "bluedeploy"), Some(3));
    assert_eq!(replicas(&sb, "greendeploy"), Some(3), "--cleanup none");
    assert_eq!(
        journal(&sb, "blueservice", "action").as_deref(),
        Some("rollback")
    );
    consistent(&sb);
}

#[test]
fn two_rollbacks_at_once_flip_exactly_once() {
    let sb = settled_scenario("classic");
    run_against(&sb, &pair::promote(&["--timeout", "60s"])).expect_code(0);
    assert_eq!(replicas(&sb, "bluedeploy"), Some(0));
    wait_settled(&sb);
    sb.clear_requests();
    hold_flips(&sb, 2);
    let home = tempfile::tempdir().expect("a temporary HOME");
    let args = [
        "rollback",
        "blueservice",
        "--yes",
        "--scale-down-delay",
        "0",
        "--timeout",
        "60s",
    ];
    let mut a = spawn_against(&sb, home.path(), &args);
    let mut b = spawn_against(&sb, home.path(), &args);
    // Both scale blue back up (the same count: idempotent), wait for it, and reach the flip.
    wait_held(&sb, 2, &mut [&mut a, &mut b]);
    sb.faults().release_hangs();
    let a = ended(a.wait_with_output().expect("rollback ends"));
    let b = ended(b.wait_with_output().expect("rollback ends"));
    let (winner, _) = winner_and_loser(a, b);
    assert!(
        winner
            .stdout
            .contains("Rolled back blueservice: green → blue."),
        "{winner:?}"
    );
    assert_eq!(stored_flips(&sb), 1, "exactly one flip was stored");
    assert_eq!(selected(&sb, "blueservice", "app"), "blue");
    assert_eq!(replicas(&sb, "bluedeploy"), Some(3), "the remembered count");
    assert_eq!(replicas(&sb, "greendeploy"), Some(0));
    consistent(&sb);
}
