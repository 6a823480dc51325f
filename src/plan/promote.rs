//! The plan of `promote`: move traffic to the idle colour, verify, clean up the colour it left.
//!
//! "Already promoted" is defined from the journal, because the target of `promote` is always the
//! idle colour: when the last flip was a promote away from the idle colour, nothing is in
//! progress, and the idle colour still runs the images it ran then (or is scaled down or
//! deleted), promoting again would only undo that release, so `promote` says so and exits 0.
//! Once a new version is deployed into the idle colour (its images differ), `promote` moves
//! traffic to it as usual. Without a journal (a pair flipped by hand) nothing says which colour
//! is newer; `--to COLOUR` names the colour that must end up live, and promote does nothing
//! when the Service already selects it.

use crate::pair::journal::{FlipAction, Journal, Step};
use crate::pair::snapshot::{DeploymentSummary, Snapshot};
use crate::plan::readiness::{Blocker, readiness_blockers, sentences};
use crate::plan::{
    CleanupPolicy, Operation, Options, Outcome, Plan, Refusal, ReleaseCommand, cleanup_steps,
    colour, common_notes, flip_step, moved_services, new_plan, readiness, step, traffic_checks,
};

/// The names of the Services `moved` flips.
pub(crate) fn service_names(moved: &[Operation]) -> Vec<String> {
    moved
        .iter()
        .filter_map(|a| match a {
            Operation::FlipService { service, .. } => Some(service.clone()),
            _ => None,
        })
        .collect()
}

/// The flips of the other Services, right after the production Service's.
pub(crate) fn flip_others(plan: &mut Plan, moved: &[Operation]) {
    for action in moved {
        if let Operation::FlipService {
            service,
            from,
            to,
            colour_label,
            resource_version,
        } = action
        {
            step(
                plan,
                action.clone(),
                format!(
                    "move {service} along: {colour_label}: {from} → {colour_label}: {to}, only if it is unchanged since it was read (resourceVersion {})",
                    resource_version.as_deref().unwrap_or("unknown")
                ),
            );
        }
    }
}

/// Plans `promote`.
pub fn plan(snapshot: &Snapshot, options: &Options) -> Outcome {
    let journal = Journal::of(snapshot);
    let live = snapshot.live_colour.as_str();
    let idle = snapshot.idle_colour.as_str();
    let service = snapshot.service.name.as_str();
    if let Some(to) = options.to.as_deref() {
        if to != live && to != idle {
            return Outcome::Refused(Refusal {
                reason: format!("--to {to}: {to} is not a colour of {service} ({live}, {idle})"),
                blockers: Vec::new(),
                hint: Some("name one of the pair's colours, or change --colors".to_string()),
            });
        }
        if to == live && journal.step().is_none() {
            return Outcome::Nothing {
                message: format!(
                    "already promoted: {service} already sends traffic to {live}; nothing to do"
                ),
            };
        }
    }
    if let Some(resumed) = resume(snapshot, options, &journal) {
        return resumed;
    }
    let Some(target) = colour(snapshot, idle) else {
        return Outcome::Refused(Refusal {
            reason: format!("{idle} is not a colour of {service}"),
            blockers: Vec::new(),
            hint: None,
        });
    };

    // `--to` the idle colour asks for traffic to move there: never "already promoted".
    let asked_for_idle = options.to.as_deref() == Some(idle);
    if !asked_for_idle && let Some(state) = already_promoted(snapshot, &journal) {
        let when = journal
            .flipped_at()
            .map(|t| format!(" at {t}"))
            .unwrap_or_default();
        return Outcome::Nothing {
            message: format!(
                "already promoted: {service} sends traffic to {live} (promoted from {idle}{when}); \
                 {state}; nothing to do. The way back: kubectl bluegreen rollback {service}"
            ),
        };
    }

    let fatal: Vec<Blocker> = readiness_blockers(target, snapshot.observed_at)
        .into_iter()
        .filter(|b| matches!(b, Blocker::Missing { .. } | Blocker::ZeroReplicas { .. }))
        .collect();
    if !fatal.is_empty() {
        // Even --force never points the Service at nothing.
        let hint = match &target.deployment {
            // The last promote scaled it down: rollback brings it back, to the count it had.
            Some(d) if journal.previous_colour() == Some(idle) && !new_version(&journal, d) => {
                format!(
                    "{idle} is the colour the last promote left: `kubectl bluegreen rollback {service}` scales it back up and moves traffic to it"
                )
            }
            Some(d) => {
                let replicas = journal
                    .scaled_down_replicas(&d.name)
                    .or_else(|| {
                        colour(snapshot, live)
                            .and_then(|l| l.deployment.as_ref())
                            .map(|l| l.desired)
                    })
                    .filter(|r| *r > 0)
                    .unwrap_or(1);
                format!(
                    "scale it up first: `kubectl scale deployment/{} --replicas={replicas}`, then `kubectl bluegreen promote {service} --wait`",
                    d.name
                )
            }
            None => format!(
                "deploy the new version as {idle}'s Deployment (pods labelled {}) with at least one replica",
                crate::pair::discover::selector_text(&target.selector)
            ),
        };
        let what = match &target.deployment {
            Some(d) if new_version(&journal, d) && journal.previous_colour() == Some(idle) => {
                format!(
                    "{idle} runs a new version ({}) but {}",
                    d.images.join(", "),
                    sentences(&fatal)
                )
            }
            _ => sentences(&fatal),
        };
        return Outcome::Refused(Refusal {
            reason: format!("cannot promote {service} to {idle}: {what}"),
            blockers: fatal,
            hint: Some(hint),
        });
    }
    let mut plan = new_plan(snapshot, ReleaseCommand::Promote, idle);
    if snapshot.same_template {
        let deployment = |c: &str| {
            colour(snapshot, c)
                .and_then(|s| s.deployment.as_ref())
                .map(|d| d.name.clone())
                .unwrap_or_default()
        };
        let same = format!(
            "{} ({idle}) runs the same pod template as {} ({live}), apart from the colour label",
            deployment(idle),
            deployment(live)
        );
        if !options.force {
            return Outcome::Refused(Refusal {
                reason: format!(
                    "nothing new to promote: {same}; promoting would move {service}'s traffic without changing the version"
                ),
                blockers: Vec::new(),
                hint: Some(format!(
                    "deploy the new version into {idle} first, or pass --force to move traffic anyway"
                )),
            });
        }
        plan.forced
            .push(format!("{same}: traffic moves to the same version"));
    }
    let problems = readiness(snapshot, target);
    if !problems.is_empty() {
        if !options.force {
            return Outcome::Refused(Refusal {
                reason: match problems.as_slice() {
                    [one] => format!("{idle} is not ready to take {service}'s traffic: {one}"),
                    _ => format!("{idle} is not ready to take {service}'s traffic:"),
                },
                blockers: problems,
                hint: Some(
                    "wait for it with --wait (up to --timeout), or pass --force to skip the readiness checks"
                        .to_string(),
                ),
            });
        }
        plan.forced.extend(problems.iter().map(ToString::to_string));
    }
    match traffic_checks(snapshot, target, options, true) {
        Ok(notes) => plan.notes.extend(notes),
        Err(refusal) => return Outcome::Refused(refusal),
    }

    let policy = options.policy.unwrap_or(CleanupPolicy::ScaleDown);
    let moved = match moved_services(snapshot, options, live, idle) {
        Ok(moved) => moved,
        Err(refusal) => return Outcome::Refused(refusal),
    };
    let flip = flip_step(snapshot, options, idle, policy, &service_names(&moved));
    let reason = match &flip {
        Operation::Flip {
            colour_label,
            resource_version,
            ..
        } => format!(
            "move traffic: {colour_label}: {live} → {colour_label}: {idle} in one request, only if {service} is unchanged since it was read (resourceVersion {})",
            resource_version.as_deref().unwrap_or("unknown")
        ),
        _ => String::new(),
    };
    step(&mut plan, flip, reason);
    flip_others(&mut plan, &moved);
    verify_and_clean(&mut plan, snapshot, options, idle, live, policy, "Promoted");
    common_notes(&mut plan, snapshot);
    for test in &target.test_services {
        plan.notes.push(format!(
            "test Service {test} selects {idle}, which becomes the live colour"
        ));
    }
    Outcome::Proceed(plan)
}

/// Verification, the event and the cleanup of `previous`, as promote and rollback do them.
pub(crate) fn verify_and_clean(
    plan: &mut Plan,
    snapshot: &Snapshot,
    options: &Options,
    to: &str,
    previous: &str,
    policy: CleanupPolicy,
    event: &str,
) {
    let service = &snapshot.service.name;
    step(
        plan,
        Operation::Verify {
            colour: to.to_string(),
            previous: previous.to_string(),
        },
        format!(
            "wait until {service}'s EndpointSlices hold {to}'s ready pods and none of {previous}'s; if not within --timeout, flip back to {previous} automatically"
        ),
    );
    let others: Vec<String> = plan
        .steps
        .iter()
        .filter_map(|s| match &s.action {
            Operation::FlipService { service, .. } => Some(service.clone()),
            _ => None,
        })
        .collect();
    for other in others {
        step(
            plan,
            Operation::VerifyService {
                service: other.clone(),
                colour: to.to_string(),
                previous: previous.to_string(),
            },
            format!(
                "the same for {other}; if not within --timeout, flip {other} and {service} back to {previous}"
            ),
        );
    }
    if policy != CleanupPolicy::None {
        step(
            plan,
            Operation::MarkCleanupPending {
                colour: previous.to_string(),
                policy,
                delay: options.delay,
            },
            "record the pending cleanup, so an interrupted wait is finished by `cleanup`",
        );
    }
    step(
        plan,
        Operation::Event {
            reason: event.to_string(),
            message: format!("{service}: {previous} → {to}"),
        },
        "record the release on the Service",
    );
    cleanup_steps(plan, snapshot, previous, policy, options.delay);
}

/// When the last promote already moved traffic away from the idle colour and the idle colour
/// is still the version it replaced (running, scaled down or deleted), what the idle colour is
/// now; `None` when a promote would do something (a new version was deployed into it).
fn already_promoted(snapshot: &Snapshot, journal: &Journal) -> Option<String> {
    let idle = snapshot.idle_colour.as_str();
    if journal.action() != Some(FlipAction::Promote)
        || journal.previous_colour() != Some(idle)
        || journal.step().is_some()
    {
        return None;
    }
    let state = colour(snapshot, idle)?;
    match &state.deployment {
        None => Some(match journal.saved_deployment() {
            Some(_) => format!(
                "{idle} was deleted by its cleanup (saved in the journal: rollback re-creates it)"
            ),
            None => format!("{idle} has no Deployment"),
        }),
        Some(d) if new_version(journal, d) => None,
        Some(d) if d.desired == 0 => Some(format!(
            "{idle} ({}) is scaled down and still the version it replaced",
            d.name
        )),
        Some(_) => Some(format!("{idle} still runs the version it replaced")),
    }
}

/// Whether `deployment` runs other images than the journal recorded for the colour traffic
/// left at the last flip: a new version was deployed into it since.
pub(crate) fn new_version(journal: &Journal, deployment: &DeploymentSummary) -> bool {
    journal
        .previous_images()
        .is_some_and(|images| images != deployment.images)
}

/// Finishing an interrupted promote or rollback: the journal says a step is in progress.
pub(crate) fn resume(snapshot: &Snapshot, options: &Options, journal: &Journal) -> Option<Outcome> {
    let step_in_progress = journal.step()?;
    let live = snapshot.live_colour.as_str();
    let previous = journal.previous_colour()?;
    if previous == live {
        // The flip was undone by someone; nothing of that release is left to finish.
        return None;
    }
    let action = journal.action().unwrap_or(FlipAction::Promote);
    let when = journal
        .flipped_at()
        .map_or_else(|| "an unknown time".to_string(), |t| t.to_string());
    let policy = options
        .policy
        .or(journal.cleanup_policy)
        .unwrap_or(CleanupPolicy::ScaleDown);
    let mut plan = new_plan(snapshot, options.command, live);
    let event = if action == FlipAction::Rollback {
        "RolledBack"
    } else {
        "Promoted"
    };
    match step_in_progress {
        Step::Verify => {
            plan.notes.push(format!(
                "resuming the {action} of {when} ({previous} → {live}): it was interrupted before the endpoints were verified"
            ));
            verify_and_clean(&mut plan, snapshot, options, live, previous, policy, event);
        }
        Step::Cleanup => {
            plan.notes.push(format!(
                "resuming the {action} of {when} ({previous} → {live}): traffic moved and was verified; the cleanup of {previous} is pending"
            ));
            let remaining = remaining_delay(journal, options);
            cleanup_steps(&mut plan, snapshot, previous, policy, remaining);
        }
    }
    common_notes(&mut plan, snapshot);
    Some(Outcome::Proceed(plan))
}

/// What is left of the delay recorded at the flip, unless `--scale-down-delay` was given.
pub(crate) fn remaining_delay(journal: &Journal, options: &Options) -> std::time::Duration {
    if options.delay_given {
        return options.delay;
    }
    let now = options.now;
    journal
        .cleanup_after()
        .map(|after| after.as_millisecond() - now.as_millisecond())
        .filter(|ms| *ms > 0)
        .map_or(std::time::Duration::ZERO, |ms| {
            std::time::Duration::from_millis(ms as u64)
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::tests::{actions, classic_snapshot, options};
    use crate::plan::{Outcome, plan as decide};

    type Case = (&'static str, fn(&mut Snapshot), Expect);

    #[derive(Debug)]
    enum Expect {
        Steps(&'static [&'static str]),
        Refused(&'static str),
        Nothing(&'static str),
    }

    fn green(s: &mut Snapshot) -> &mut crate::pair::snapshot::ColourState {
        &mut s.colours[1]
    }

    fn journal(s: &mut Snapshot, entries: &[(&str, &str)]) {
        for (k, v) in entries {
            s.service.journal.insert(k.to_string(), v.to_string());
        }
    }

    /// Blue live after a promote from green, which still runs `nginx:green`.
    fn promoted_from_green(s: &mut Snapshot) {
        s.service.selector.insert("app".into(), "blue".into());
        journal(
            s,
            &[
                ("previous-colour", "green"),
                ("action", "promote"),
                ("flipped-at", "2026-01-01T11:00:00Z"),
                ("previous-images", "[\"nginx:green\"]"),
            ],
        );
    }

    const FULL: &[&str] = &[
        "flip",
        "verify",
        "mark-cleanup",
        "event",
        "delay",
        "scale-down",
        "mark-done",
        "event",
    ];

    #[test]
    fn promote_table() {
        let cases: Vec<Case> = vec![
            ("green ready", |_| {}, Expect::Steps(FULL)),
            (
                "green not ready",
                |s| {
                    if let Some(d) = green(s).deployment.as_mut() {
                        d.ready = 1;
                        d.available = 1;
                    }
                    for p in green(s).pods.iter_mut().skip(1) {
                        p.ready = false;
                    }
                },
                Expect::Refused("not ready"),
            ),
            (
                "green missing",
                |s| {
                    green(s).deployment = None;
                    green(s).pods.clear();
                },
                Expect::Refused("has no Deployment"),
            ),
            (
                "green at 0 replicas",
                |s| {
                    if let Some(d) = green(s).deployment.as_mut() {
                        d.desired = 0;
                    }
                },
                Expect::Refused("0 replicas"),
            ),
            (
                "generation not observed",
                |s| {
                    if let Some(d) = green(s).deployment.as_mut() {
                        d.generation = 2;
                    }
                },
                Expect::Refused("generation 2 not yet observed"),
            ),
            (
                "updated below desired",
                |s| {
                    if let Some(d) = green(s).deployment.as_mut() {
                        d.updated = 2;
                    }
                },
                Expect::Refused("2/3"),
            ),
            (
                "crash-looping pod",
                |s| {
                    let p = &mut green(s).pods[0];
                    p.status = "CrashLoopBackOff".into();
                    p.restarts = 5;
                },
                Expect::Refused("CrashLoopBackOff"),
            ),
            (
                "already promoted",
                promoted_from_green,
                Expect::Nothing("already promoted"),
            ),
            (
                "already promoted, old colour scaled down",
                |s| {
                    promoted_from_green(s);
                    if let Some(d) = green(s).deployment.as_mut() {
                        d.desired = 0;
                    }
                },
                Expect::Nothing("already promoted"),
            ),
            (
                "a new version deployed into the idle colour after a promote",
                |s| {
                    promoted_from_green(s);
                    if let Some(d) = green(s).deployment.as_mut() {
                        d.images = vec!["nginx:green-2".into()];
                    }
                },
                Expect::Steps(FULL),
            ),
            (
                "after a rollback, promoting again is allowed",
                |s| {
                    promoted_from_green(s);
                    journal(s, &[("action", "rollback")]);
                },
                Expect::Steps(FULL),
            ),
            (
                "interrupted during verification",
                |s| {
                    promoted_from_green(s);
                    journal(s, &[("step", "verify"), ("cleanup-policy", "delete")]);
                },
                Expect::Steps(&[
                    "verify",
                    "mark-cleanup",
                    "event",
                    "delay",
                    "delete",
                    "mark-done",
                    "event",
                ]),
            ),
            (
                "interrupted while the cleanup delay ran",
                |s| {
                    promoted_from_green(s);
                    journal(
                        s,
                        &[
                            ("step", "cleanup"),
                            ("cleanup-policy", "scale-down"),
                            ("cleanup-after", "2026-01-01T12:00:10Z"),
                        ],
                    );
                },
                Expect::Steps(&["delay", "scale-down", "mark-done", "event"]),
            ),
            (
                "interrupted after the delay, before scaling",
                |s| {
                    promoted_from_green(s);
                    journal(
                        s,
                        &[
                            ("step", "cleanup"),
                            ("cleanup-policy", "scale-down"),
                            ("cleanup-after", "2026-01-01T11:00:30Z"),
                        ],
                    );
                },
                Expect::Steps(&["scale-down", "mark-done", "event"]),
            ),
            (
                "interrupted after scaling, before the journal said done",
                |s| {
                    promoted_from_green(s);
                    journal(
                        s,
                        &[
                            ("step", "cleanup"),
                            ("cleanup-policy", "scale-down"),
                            ("scaled-down-deployment", "greendeploy"),
                            ("scaled-down-replicas", "3"),
                        ],
                    );
                    if let Some(d) = green(s).deployment.as_mut() {
                        d.desired = 0;
                    }
                },
                Expect::Steps(&["mark-done"]),
            ),
            (
                "a step left over from a flip someone undid is ignored",
                |s| {
                    journal(
                        s,
                        &[
                            ("previous-colour", "blue"),
                            ("step", "verify"),
                            ("action", "promote"),
                        ],
                    );
                },
                Expect::Steps(FULL),
            ),
        ];
        for (name, mutate, expect) in cases {
            let mut s = classic_snapshot();
            mutate(&mut s);
            let outcome = decide(&s, &options(ReleaseCommand::Promote));
            match (&expect, &outcome) {
                (Expect::Steps(want), Outcome::Proceed(_)) => {
                    assert_eq!(actions(&outcome), *want, "{name}");
                }
                (Expect::Refused(text), Outcome::Refused(r)) => {
                    assert!(r.reason.contains(text), "{name}: {}", r.reason);
                    assert_eq!(outcome.exit_code(), 5, "{name}");
                }
                (Expect::Nothing(text), Outcome::Nothing { message }) => {
                    assert!(message.contains(text), "{name}: {message}");
                    assert_eq!(outcome.exit_code(), 0, "{name}");
                }
                _ => panic!("{name}: expected {expect:?}, got {outcome:?}"),
            }
        }
    }

    #[test]
    fn to_names_the_colour_that_must_end_up_live() {
        let s = classic_snapshot();
        let mut o = options(ReleaseCommand::Promote);
        o.to = Some("blue".into());
        assert!(
            matches!(decide(&s, &o), Outcome::Nothing { message } if message.contains("already sends traffic to blue"))
        );
        o.to = Some("green".into());
        assert_eq!(actions(&decide(&s, &o)), FULL);
        o.to = Some("purple".into());
        assert!(matches!(decide(&s, &o), Outcome::Refused(_)));
    }

    #[test]
    fn the_flip_changes_only_the_colour_key_and_writes_the_journal() {
        let mut s = classic_snapshot();
        s.service.selector.insert("tier".into(), "web".into());
        s.service.resource_version = Some("17".into());
        let Outcome::Proceed(plan) = decide(&s, &options(ReleaseCommand::Promote)) else {
            panic!("expected a plan");
        };
        let Some(Operation::Flip {
            selector_before,
            selector_after,
            resource_version,
            journal,
            ..
        }) = plan.flip()
        else {
            panic!("expected a flip");
        };
        assert_eq!(selector_before.get("tier"), Some(&"web".to_string()));
        assert_eq!(selector_after.get("tier"), Some(&"web".to_string()));
        assert_eq!(selector_after.get("app"), Some(&"green".to_string()));
        assert_eq!(resource_version.as_deref(), Some("17"));
        let get = |k: &str| journal.get(k).cloned().flatten();
        assert_eq!(get("previous-colour").as_deref(), Some("blue"));
        assert_eq!(get("previous-deployment").as_deref(), Some("bluedeploy"));
        assert_eq!(get("previous-images").as_deref(), Some("[\"nginx:blue\"]"));
        assert_eq!(get("step").as_deref(), Some("verify"));
        assert_eq!(get("action").as_deref(), Some("promote"));
        assert_eq!(get("cleanup-policy").as_deref(), Some("scale-down"));
        assert_eq!(get("flipped-at").as_deref(), Some("2026-01-01T12:00:00Z"));
    }

    #[test]
    fn force_skips_readiness_loudly_but_never_flips_to_nothing() {
        let mut s = classic_snapshot();
        for p in &mut green(&mut s).pods {
            p.ready = false;
        }
        let mut o = options(ReleaseCommand::Promote);
        o.force = true;
        let Outcome::Proceed(plan) = decide(&s, &o) else {
            panic!("--force should plan");
        };
        assert!(
            plan.forced.iter().any(|f| f.contains("not ready")),
            "{:?}",
            plan.forced
        );
        let mut s = classic_snapshot();
        green(&mut s).deployment = None;
        assert!(matches!(decide(&s, &o), Outcome::Refused(_)));
    }

    #[test]
    fn the_same_template_in_both_colours_is_refused_unless_forced() {
        let mut s = classic_snapshot();
        s.same_template = true;
        let o = options(ReleaseCommand::Promote);
        let Outcome::Refused(refusal) = decide(&s, &o) else {
            panic!("expected a refusal");
        };
        assert!(
            refusal
                .reason
                .contains("greendeploy (green) runs the same pod template as bluedeploy (blue)"),
            "{refusal:?}"
        );
        let mut o = options(ReleaseCommand::Promote);
        o.force = true;
        let Outcome::Proceed(plan) = decide(&s, &o) else {
            panic!("--force should plan");
        };
        assert!(
            plan.forced.iter().any(|f| f.contains("same version")),
            "{:?}",
            plan.forced
        );
    }

    #[test]
    fn cleanup_policies_shape_the_plan() {
        let s = classic_snapshot();
        let mut o = options(ReleaseCommand::Promote);
        o.policy = Some(CleanupPolicy::None);
        assert_eq!(
            actions(&decide(&s, &o)),
            ["flip", "verify", "event", "mark-done"]
        );
        o.policy = Some(CleanupPolicy::Delete);
        let outcome = decide(&s, &o);
        assert_eq!(
            actions(&outcome),
            [
                "flip",
                "verify",
                "mark-cleanup",
                "event",
                "delay",
                "delete",
                "mark-done",
                "event"
            ]
        );
        o.delay = std::time::Duration::ZERO;
        assert!(!actions(&decide(&s, &o)).contains(&"delay"));
    }

    #[test]
    fn scaling_an_autoscaled_colour_to_zero_says_it_disables_the_hpa() {
        let mut s = classic_snapshot();
        s.colours[0].hpas.push(crate::pair::snapshot::HpaSummary {
            name: "blue-hpa".into(),
            min_replicas: 2,
            max_replicas: 5,
            current_replicas: None,
            desired_replicas: None,
        });
        let Outcome::Proceed(plan) = decide(&s, &options(ReleaseCommand::Promote)) else {
            panic!("expected a plan");
        };
        let scale = plan
            .steps
            .iter()
            .find(|st| matches!(st.action, Operation::ScaleDown { .. }))
            .expect("a scale-down step");
        assert!(
            scale
                .reason
                .contains("disables HorizontalPodAutoscaler blue-hpa")
        );
    }
}
