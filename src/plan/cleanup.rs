//! The plan of `cleanup`: apply the cleanup policy to the idle colour now. It never touches the
//! live colour: the only colour it plans for is the idle one, and only when the journal shows
//! that traffic left it (otherwise the idle colour may be the next version waiting for its
//! promote, and `--force` is needed).

use crate::pair::journal::{FlipAction, Journal, Step};
use crate::pair::snapshot::Snapshot;
use crate::plan::promote::{remaining_delay, resume};
use crate::plan::{
    CleanupPolicy, Options, Outcome, Refusal, ReleaseCommand, cleanup_steps, colour, common_notes,
    new_plan,
};

/// Plans `cleanup`.
pub fn plan(snapshot: &Snapshot, options: &Options) -> Outcome {
    if !options.also_flip.is_empty() {
        return Outcome::Refused(Refusal {
            reason: "cleanup moves no traffic: --also-flip applies to promote and rollback"
                .to_string(),
            blockers: Vec::new(),
            hint: Some(format!(
                "run `kubectl bluegreen cleanup {}` without --also-flip",
                snapshot.service.name
            )),
        });
    }
    let journal = Journal::of(snapshot);
    let service = snapshot.service.name.as_str();
    let idle = snapshot.idle_colour.as_str();
    let live = snapshot.live_colour.as_str();

    // An interrupted release: finish it (verification first if the flip was not verified).
    if journal.step().is_some()
        && journal.previous_colour() == Some(idle)
        && let Some(resumed) = resume(snapshot, options, &journal)
    {
        return resumed;
    }

    if journal.previous_colour() != Some(idle) && !options.force {
        return Outcome::Refused(Refusal {
            reason: format!(
                "{idle} is not the colour traffic left: {service}'s journal records no flip from {idle} to {live}, so {idle} may be the next version waiting to be promoted"
            ),
            blockers: Vec::new(),
            hint: Some(format!(
                "promote it with: kubectl bluegreen promote {service}; or pass --force to clean up {idle} anyway"
            )),
        });
    }
    let policy = options
        .policy
        .or_else(|| {
            (journal.step() == Some(Step::Cleanup))
                .then_some(journal.cleanup_policy)
                .flatten()
        })
        .unwrap_or(CleanupPolicy::ScaleDown);
    let state = colour(snapshot, idle);
    let deployment = state.and_then(|c| c.deployment.as_ref());
    let services = crate::plan::services_to_delete(snapshot, idle).len();
    let nothing = match policy {
        CleanupPolicy::None => Some(format!("--cleanup none leaves {idle} as it is")),
        CleanupPolicy::ScaleDown if deployment.is_none_or(|d| d.desired == 0) => {
            Some(match deployment {
                Some(d) => format!(
                    "{idle} is already scaled down ({} at 0 replicas){}",
                    d.name,
                    journal
                        .scaled_down_replicas(&d.name)
                        .map(|r| if journal.action() == Some(FlipAction::Rollback) {
                            format!("; its {r} replicas are remembered")
                        } else {
                            format!("; rollback restores {r} replicas")
                        })
                        .unwrap_or_default()
                ),
                None => format!("{idle} has no Deployment"),
            })
        }
        CleanupPolicy::Delete if deployment.is_none() && services == 0 => Some(format!(
            "{idle} has no Deployment or test Service left to delete"
        )),
        _ => None,
    };
    if let Some(message) = nothing {
        return Outcome::Nothing {
            message: format!("nothing to clean up: {message}"),
        };
    }
    let mut plan = new_plan(snapshot, ReleaseCommand::Cleanup, live);
    let delay = remaining_delay(&journal, options);
    cleanup_steps(&mut plan, snapshot, idle, policy, delay);
    common_notes(&mut plan, snapshot);
    Outcome::Proceed(plan)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::tests::{actions, classic_snapshot, options};
    use crate::plan::{Operation, plan as decide};

    fn promoted_none(s: &mut Snapshot) {
        s.service.selector.insert("app".into(), "green".into());
        s.live_colour = "green".into();
        s.idle_colour = "blue".into();
        for (k, v) in [
            ("previous-colour", "blue"),
            ("action", "promote"),
            ("cleanup-policy", "none"),
        ] {
            s.service.journal.insert(k.into(), v.into());
        }
    }

    #[test]
    fn cleanup_after_promote_with_none_scales_the_old_colour_down_now() {
        let mut s = classic_snapshot();
        promoted_none(&mut s);
        let outcome = decide(&s, &options(ReleaseCommand::Cleanup));
        assert_eq!(actions(&outcome), ["scale-down", "mark-done", "event"]);
        let Outcome::Proceed(plan) = outcome else {
            unreachable!()
        };
        let Operation::ScaleDown { deployment, .. } = &plan.steps[0].action else {
            panic!("expected a scale-down");
        };
        assert_eq!(deployment, "bluedeploy", "only the idle colour is touched");
    }

    #[test]
    fn cleanup_with_delete_removes_the_deployment_and_its_test_services() {
        let mut s = classic_snapshot();
        promoted_none(&mut s);
        s.colours[0].test_services = vec!["blue-preview".into()];
        let mut o = options(ReleaseCommand::Cleanup);
        o.policy = Some(CleanupPolicy::Delete);
        let Outcome::Proceed(plan) = decide(&s, &o) else {
            panic!("expected a plan");
        };
        let Operation::Delete {
            deployment,
            services,
            ..
        } = &plan.steps[0].action
        else {
            panic!("expected a delete");
        };
        assert_eq!(deployment.as_deref(), Some("bluedeploy"));
        assert_eq!(
            services,
            &["blue-preview".to_string(), "greenservice".to_string()],
            "the old colour's test Service, then the one that pointed at the new colour"
        );
    }

    #[test]
    fn cleanup_refuses_a_colour_traffic_never_left() {
        let s = classic_snapshot();
        let outcome = decide(&s, &options(ReleaseCommand::Cleanup));
        let Outcome::Refused(r) = &outcome else {
            panic!("expected a refusal, got {outcome:?}");
        };
        assert!(r.reason.contains("green is not the colour traffic left"));
        let mut o = options(ReleaseCommand::Cleanup);
        o.force = true;
        let Outcome::Proceed(plan) = decide(&s, &o) else {
            panic!("--force should plan");
        };
        assert!(plan.steps.iter().all(|st| match &st.action {
            Operation::ScaleDown { deployment, .. } => deployment == "greendeploy",
            _ => true,
        }));
    }

    #[test]
    fn nothing_to_do_when_already_scaled_down() {
        let mut s = classic_snapshot();
        promoted_none(&mut s);
        if let Some(d) = s.colours[0].deployment.as_mut() {
            d.desired = 0;
        }
        let outcome = decide(&s, &options(ReleaseCommand::Cleanup));
        assert!(
            matches!(&outcome, Outcome::Nothing { message } if message.contains("already scaled down")),
            "{outcome:?}"
        );
    }

    #[test]
    fn a_pending_cleanup_waits_out_the_recorded_delay() {
        let mut s = classic_snapshot();
        promoted_none(&mut s);
        for (k, v) in [
            ("step", "cleanup"),
            ("cleanup-policy", "delete"),
            ("cleanup-after", "2026-01-01T12:00:05Z"),
        ] {
            s.service.journal.insert(k.into(), v.into());
        }
        let outcome = decide(&s, &options(ReleaseCommand::Cleanup));
        assert_eq!(actions(&outcome), ["delay", "delete", "mark-done", "event"]);
        let Outcome::Proceed(plan) = outcome else {
            unreachable!()
        };
        assert_eq!(
            plan.steps[0].action,
            Operation::Delay {
                duration: std::time::Duration::from_secs(5)
            }
        );
    }
}
