//! Two promotes started at once: one release, one flip.

use super::pair::*;
use crate::backends::*;
use crate::both_backends;

fn two_promotes_at_once_flip_once(c: &dyn Cluster) {
    classic(c);
    let home = tempfile::tempdir().expect("a temporary HOME");
    let args = promote(&["--timeout", "60s"]);
    let a = c.spawn_bluegreen(home.path(), &args);
    let b = c.spawn_bluegreen(home.path(), &args);
    let a = run_of(a.wait_with_output().expect("promote ends"));
    let b = run_of(b.wait_with_output().expect("promote ends"));
    let flipped = |r: &crate::common::Run| r.stdout.contains("flipped blueservice");
    let (winner, other) = if flipped(&a) { (a, b) } else { (b, a) };
    winner
        .expect_code(0)
        .stdout_has(&["Promoted blueservice: blue → green."]);
    match other.code {
        7 => {
            other.stderr_has(&["nothing was changed by this command"]);
        }
        0 => assert!(
            !flipped(&other)
                && (other.stdout.contains("already promoted")
                    || other.stdout.contains("resuming the promote of")),
            "the other one did not flip: {other:?}"
        ),
        _ => {
            panic!("the other promote exits 7, or 0 without a flip: {other:?}\nwinner: {winner:?}")
        }
    }
    assert_eq!(selected(c, "blueservice", "app"), "green");
    assert_eq!(
        journal(c, "blueservice", "previous-colour").as_deref(),
        Some("blue")
    );
    assert_eq!(journal(c, "blueservice", "step"), None);
    assert_eq!(
        journal(c, "blueservice", "scaled-down-replicas").as_deref(),
        Some("3")
    );
    assert_eq!(replicas(c, "bluedeploy"), Some(0));
    let promoted = event_reasons(c, "blueservice")
        .iter()
        .filter(|r| *r == "Promoted")
        .count();
    assert_eq!(promoted, 1, "one release, one Promoted event");
}

both_backends!(two_promotes_at_once_flip_once);

/// A release finished twice (a second `promote` resuming one that is still running, after it
/// has verified) records its Promoted Event once: the Event is named after the flip.
fn a_promote_finished_twice_records_one_promoted_event(c: &dyn Cluster) {
    classic(c);
    c.bluegreen(&promote(&["--cleanup", "none"])).expect_code(0);
    let flipped_at = journal(c, "blueservice", "flipped-at").expect("the flip is recorded");
    // What a second promote sees while the first one is still verifying.
    let annotated = c.kubectl(&[
        "annotate",
        "service",
        "blueservice",
        "bluegreen.dev/step=verify",
        "--overwrite",
    ]);
    assert!(annotated.status.success(), "{annotated:?}");
    c.bluegreen(&promote(&["--cleanup", "none"]))
        .expect_code(0)
        .stdout_has(&["resuming the promote of"]);
    assert_eq!(
        journal(c, "blueservice", "flipped-at").as_deref(),
        Some(flipped_at.as_str()),
        "no second flip"
    );
    assert_eq!(journal(c, "blueservice", "step"), None);
    let promoted = event_reasons(c, "blueservice")
        .iter()
        .filter(|r| *r == "Promoted")
        .count();
    assert_eq!(promoted, 1, "one release, one Promoted event");
}

both_backends!(a_promote_finished_twice_records_one_promoted_event);
