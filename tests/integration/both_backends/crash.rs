//! A promote killed (SIGKILL) during its grace period is finished by `cleanup`.

use std::time::Duration;

use super::pair::*;
use crate::backends::*;
use crate::both_backends;

fn a_promote_killed_during_the_grace_period_is_finished_by_cleanup(c: &dyn Cluster) {
    classic(c);
    let home = tempfile::tempdir().expect("a temporary HOME");
    let mut child = c.spawn_bluegreen(
        home.path(),
        &[
            "promote",
            "blueservice",
            "--yes",
            "--scale-down-delay",
            "30s",
        ],
    );
    eventually(
        Duration::from_secs(60),
        "the journal says step: cleanup",
        || {
            if let Ok(Some(status)) = child.try_wait() {
                panic!("promote ended ({status}) before its cleanup");
            }
            journal(c, "blueservice", "step").as_deref() == Some("cleanup")
        },
    );
    child.kill().expect("the process is killed");
    let killed = child.wait().expect("the process is reaped");
    assert_eq!(killed.code(), None, "killed by a signal");
    assert_eq!(selected(c, "blueservice", "app"), "green");
    assert_eq!(
        replicas(c, "bluedeploy"),
        Some(3),
        "blue not cleaned up yet"
    );

    c.bluegreen(&[
        "cleanup",
        "blueservice",
        "--yes",
        "--scale-down-delay",
        "0s",
    ])
    .expect_code(0)
    .stdout_has(&["scaled bluedeploy (blue) to 0 replicas"]);
    assert_eq!(replicas(c, "bluedeploy"), Some(0));
    assert_eq!(
        journal(c, "blueservice", "step"),
        None,
        "the step is removed"
    );
    assert_eq!(journal(c, "blueservice", "cleanup-after"), None);
    assert_eq!(
        journal(c, "blueservice", "scaled-down-replicas").as_deref(),
        Some("3")
    );
    assert_eq!(selected(c, "blueservice", "app"), "green");
}

both_backends!(a_promote_killed_during_the_grace_period_is_finished_by_cleanup);
