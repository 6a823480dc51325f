//! The plan of `rollback`: bring back the colour the journal records as previously live (scale
//! it up to its remembered size, or re-create what `--cleanup delete` removed), wait until it is
//! fully available, flip back, verify, clean up the colour it left.

use crate::pair::journal::{FlipAction, Journal};
use crate::pair::snapshot::{ColourState, DeploymentSummary, Snapshot};
use crate::plan::promote::verify_and_clean;
use crate::plan::promote::{flip_others, service_names};
use crate::plan::readiness::{Blocker, sentences};
use crate::plan::{
    CleanupPolicy, Operation, Options, Outcome, Plan, Refusal, ReleaseCommand, colour,
    common_notes, flip_step, moved_services, new_plan, readiness, step, traffic_checks,
};

/// Plans `rollback`.
pub fn plan(snapshot: &Snapshot, options: &Options) -> Outcome {
    let journal = Journal::of(snapshot);
    let service = snapshot.service.name.as_str();
    let live = snapshot.live_colour.as_str();
    let idle = snapshot.idle_colour.as_str();
    let Some(previous) = journal.previous_colour() else {
        return Outcome::Refused(Refusal {
            reason: format!(
                "{service}'s journal records no earlier flip, so there is nothing to roll back to"
            ),
            blockers: Vec::new(),
            hint: Some(format!(
                "to move traffic to {idle}, use: kubectl bluegreen promote {service}"
            )),
        });
    };
    if previous == live {
        if let Some(restore) = restore_live(snapshot, &journal) {
            return restore;
        }
        return Outcome::Nothing {
            message: format!("{service} already sends traffic to {live}; nothing to roll back"),
        };
    }
    if previous != idle {
        return Outcome::Refused(Refusal {
            reason: format!(
                "{service}'s journal names {previous:?} as the previous colour, which is not a colour of this pair"
            ),
            blockers: Vec::new(),
            hint: Some("check --label and --colors".to_string()),
        });
    }
    if journal.action() == Some(FlipAction::Rollback) && journal.step().is_none() {
        let when = journal
            .flipped_at()
            .map(|t| format!(" at {t}"))
            .unwrap_or_default();
        return Outcome::Nothing {
            message: format!(
                "already rolled back: {service} went back to {live}{when}; nothing to do. \
                 To move traffic to {idle} again: kubectl bluegreen promote {service}"
            ),
        };
    }
    if journal.action() == Some(FlipAction::Rollback)
        && let Some(resumed) = super::promote::resume(snapshot, options, &journal)
    {
        return resumed;
    }

    let Some(target) = colour(snapshot, previous) else {
        return Outcome::Refused(Refusal {
            reason: format!("{previous} is not a colour of {service}"),
            blockers: Vec::new(),
            hint: None,
        });
    };
    let mut plan = new_plan(snapshot, ReleaseCommand::Rollback, previous);
    let images_now: Option<Vec<String>> = match &target.deployment {
        None => {
            let Some(saved) = journal.saved_deployment() else {
                return Outcome::Refused(Refusal {
                    reason: format!(
                        "{previous} has no Deployment and {service}'s journal saved none to re-create"
                    ),
                    blockers: vec![Blocker::Missing {
                        colour: previous.to_string(),
                    }],
                    hint: Some(format!(
                        "re-deploy {previous} by hand, then promote {service}"
                    )),
                });
            };
            let name = saved["metadata"]["name"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            let services: Vec<String> = journal
                .saved_services()
                .iter()
                .filter_map(|s| s["metadata"]["name"].as_str().map(str::to_string))
                .collect();
            let what = if services.is_empty() {
                format!("Deployment {name}")
            } else {
                format!("Deployment {name} and test Service {}", services.join(", "))
            };
            step(
                &mut plan,
                Operation::Recreate {
                    deployment: name.clone(),
                    colour: previous.to_string(),
                    services,
                },
                format!("re-create {what} from the manifests saved by --cleanup delete"),
            );
            step(
                &mut plan,
                Operation::WaitAvailable {
                    deployment: name,
                    colour: previous.to_string(),
                },
                "traffic moves only to a fully available Deployment",
            );
            Some(images_of(&saved))
        }
        Some(d) => {
            recreate_missing_services(&mut plan, snapshot, &journal, previous);
            prepare_existing(&mut plan, snapshot, options, &journal, target, d, previous)
        }
    };
    if let (Some(now), Some(then)) = (&images_now, journal.previous_images())
        && *now != then
    {
        plan.notes.push(format!(
            "{previous}'s Deployment was changed since the promotion: it now runs {} (it ran {} then); rollback goes to what the Deployment is now",
            now.join(", "),
            then.join(", ")
        ));
    }

    if target.deployment.is_some() {
        match traffic_checks(snapshot, target, options, false) {
            Ok(notes) => plan.notes.extend(notes),
            Err(refusal) => return Outcome::Refused(refusal),
        }
    }

    let policy = options.policy.unwrap_or(CleanupPolicy::ScaleDown);
    let moved = match moved_services(snapshot, options, live, previous) {
        Ok(moved) => moved,
        Err(refusal) => return Outcome::Refused(refusal),
    };
    let flip = flip_step(snapshot, options, previous, policy, &service_names(&moved));
    let label = snapshot.service.colour_label.as_str();
    step(
        &mut plan,
        flip,
        format!(
            "move traffic back: {label}: {live} → {label}: {previous} in one request, only if {service} is unchanged since it was read"
        ),
    );
    flip_others(&mut plan, &moved);
    verify_and_clean(
        &mut plan,
        snapshot,
        options,
        previous,
        live,
        policy,
        "RolledBack",
    );
    common_notes(&mut plan, snapshot);
    Outcome::Proceed(plan)
}

/// The Service selects the colour an earlier cleanup deleted or scaled down (its selector was
/// put back by hand, or by a tool that re-applies its file): production has no pods. Rollback
/// brings that colour back from the journal, without moving traffic.
fn restore_live(snapshot: &Snapshot, journal: &Journal) -> Option<Outcome> {
    let live = snapshot.live_colour.as_str();
    let service = snapshot.service.name.as_str();
    let state = colour(snapshot, live)?;
    let mut plan = new_plan(snapshot, ReleaseCommand::Rollback, live);
    match &state.deployment {
        None => {
            let saved = journal.saved_deployment()?;
            let label = &snapshot.service.colour_label;
            if saved["spec"]["template"]["metadata"]["labels"][label].as_str() != Some(live) {
                return None;
            }
            let name = saved["metadata"]["name"].as_str()?.to_string();
            let services: Vec<String> = journal
                .saved_services()
                .iter()
                .filter_map(|s| s["metadata"]["name"].as_str().map(str::to_string))
                .collect();
            step(
                &mut plan,
                Operation::Recreate {
                    deployment: name.clone(),
                    colour: live.to_string(),
                    services,
                },
                format!(
                    "{service} selects {live}, whose Deployment was deleted: re-create {name} from the manifest the journal saved"
                ),
            );
            step(
                &mut plan,
                Operation::WaitAvailable {
                    deployment: name,
                    colour: live.to_string(),
                },
                "production is back once it is fully available",
            );
        }
        Some(d) if d.desired == 0 => {
            let replicas = journal
                .scaled_down_replicas(&d.name)
                .unwrap_or(1)
                .max(state.hpas.iter().map(|h| h.min_replicas).max().unwrap_or(1));
            step(
                &mut plan,
                Operation::ScaleUp {
                    deployment: d.name.clone(),
                    colour: live.to_string(),
                    replicas,
                },
                format!(
                    "{service} selects {live}, whose Deployment is at 0 replicas: scale it back to {replicas}"
                ),
            );
            step(
                &mut plan,
                Operation::WaitAvailable {
                    deployment: d.name.clone(),
                    colour: live.to_string(),
                },
                "production is back once it is fully available",
            );
        }
        Some(_) => return None,
    }
    plan.notes.push(format!(
        "{service} selects {live}, which has no pods: production is down until {live} is back"
    ));
    step(
        &mut plan,
        Operation::MarkDone,
        "nothing is left in progress",
    );
    step(
        &mut plan,
        Operation::Event {
            reason: "Restored".into(),
            message: format!("{service}: {live} brought back"),
        },
        "record the restore on the Service",
    );
    Some(Outcome::Proceed(plan))
}

/// Test Services that `--cleanup delete` saved and that are gone although their colour's
/// Deployment is back (a rollback stopped between re-creating the two): re-created before the
/// flip, whose journal no longer holds their manifests.
fn recreate_missing_services(
    plan: &mut Plan,
    snapshot: &Snapshot,
    journal: &Journal,
    previous: &str,
) {
    let exists = |name: &str| {
        name == snapshot.service.name
            || snapshot
                .colours
                .iter()
                .any(|c| c.test_services.iter().any(|s| s == name))
            || snapshot.other_services.iter().any(|o| o.name == name)
    };
    let missing: Vec<String> = journal
        .saved_services()
        .iter()
        .filter_map(|s| s["metadata"]["name"].as_str().map(str::to_string))
        .filter(|name| !exists(name))
        .collect();
    if missing.is_empty() {
        return;
    }
    step(
        plan,
        Operation::RecreateServices {
            colour: previous.to_string(),
            services: missing.clone(),
        },
        format!(
            "test Service {} was deleted by --cleanup delete and is not back yet: re-create it from the journal",
            missing.join(", ")
        ),
    );
}

/// The steps that bring back an existing Deployment of `previous`: scale it up if it is at 0,
/// wait until it is fully available. Returns its images.
fn prepare_existing(
    plan: &mut Plan,
    snapshot: &Snapshot,
    options: &Options,
    journal: &Journal,
    target: &ColourState,
    d: &DeploymentSummary,
    previous: &str,
) -> Option<Vec<String>> {
    match d {
        d if d.desired == 0 => {
            let remembered = journal.scaled_down_replicas(&d.name);
            let hpa_min = target.hpas.iter().map(|h| h.min_replicas).max();
            let replicas = remembered.unwrap_or(1).max(hpa_min.unwrap_or(1));
            let why = match (remembered, hpa_min) {
                (Some(r), Some(m)) if m > r => format!(
                    "restore the replica count; the journal remembers {r}, raised to HorizontalPodAutoscaler's minimum {m}"
                ),
                (Some(r), Some(_)) => format!(
                    "restore the remembered replica count {r}, which also re-enables its HorizontalPodAutoscaler"
                ),
                (Some(r), None) => format!("restore the remembered replica count {r}"),
                (None, Some(m)) => format!(
                    "no replica count remembered; scale to HorizontalPodAutoscaler's minimum {m}"
                ),
                (None, None) => "no replica count remembered; scale to 1 replica".to_string(),
            };
            step(
                plan,
                Operation::ScaleUp {
                    deployment: d.name.clone(),
                    colour: previous.to_string(),
                    replicas,
                },
                why,
            );
            step(
                plan,
                Operation::WaitAvailable {
                    deployment: d.name.clone(),
                    colour: previous.to_string(),
                },
                "traffic moves only to a fully available Deployment",
            );
            // Its pod template changed while it was scaled down: what comes back never
            // served, so nothing says its pods will become ready. Rollback still tries (and
            // flips only to a fully available Deployment); the verdict does not call it safe.
            if let Some(recorded) = journal.get(crate::pair::journal::PREVIOUS_TEMPLATE)
                && let Some(now) = crate::plan::template_digest(snapshot, previous)
                && recorded != now
            {
                plan.waits_for.push(Blocker::ChangedSinceServed {
                    deployment: d.name.clone(),
                });
            }
            Some(d.images.clone())
        }
        d => {
            let problems = readiness(snapshot, target);
            if !problems.is_empty() {
                if options.force {
                    plan.forced = problems.iter().map(ToString::to_string).collect();
                } else {
                    step(
                        plan,
                        Operation::WaitAvailable {
                            deployment: d.name.clone(),
                            colour: previous.to_string(),
                        },
                        format!(
                            "{previous} is not fully available yet ({}); traffic moves only to a fully available Deployment",
                            sentences(&problems)
                        ),
                    );
                    plan.waits_for = problems;
                }
            }
            Some(d.images.clone())
        }
    }
}

/// Container images of a saved Deployment manifest.
fn images_of(manifest: &serde_json::Value) -> Vec<String> {
    manifest["spec"]["template"]["spec"]["containers"]
        .as_array()
        .map(|cs| {
            cs.iter()
                .filter_map(|c| c["image"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::tests::{actions, classic_snapshot, options};
    use crate::plan::{Outcome, plan as decide};

    /// Green live after a promote from blue with the given cleanup done to blue.
    fn promoted(s: &mut Snapshot, extra: &[(&str, &str)]) {
        s.service.selector.insert("app".into(), "green".into());
        s.live_colour = "green".into();
        s.idle_colour = "blue".into();
        s.colours[0].role = crate::pair::snapshot::Role::Idle;
        s.colours[1].role = crate::pair::snapshot::Role::Live;
        for (k, v) in [
            ("previous-colour", "blue"),
            ("action", "promote"),
            ("previous-images", "[\"nginx:blue\"]"),
            ("flipped-at", "2026-01-01T11:00:00Z"),
        ]
        .iter()
        .chain(extra)
        {
            s.service.journal.insert(k.to_string(), v.to_string());
        }
    }

    fn scaled_down(s: &mut Snapshot) {
        promoted(
            s,
            &[
                ("scaled-down-deployment", "bluedeploy"),
                ("scaled-down-replicas", "3"),
            ],
        );
        if let Some(d) = s.colours[0].deployment.as_mut() {
            d.desired = 0;
            d.ready = 0;
            d.available = 0;
            d.current = 0;
            d.updated = 0;
        }
        s.colours[0].pods.clear();
    }

    const BACK: &[&str] = &[
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
    fn rollback_table() {
        type Case = (
            &'static str,
            fn(&mut Snapshot),
            Result<Vec<&'static str>, &'static str>,
        );
        let cases: Vec<Case> = vec![
            (
                "never promoted",
                |_| {},
                Err("refused:nothing to roll back to"),
            ),
            (
                "old colour still running",
                |s| promoted(s, &[]),
                Ok(BACK.to_vec()),
            ),
            (
                "old colour scaled down",
                scaled_down,
                Ok([&["scale-up", "wait-available"][..], BACK].concat()),
            ),
            (
                "old colour deleted and saved",
                |s| {
                    promoted(
                        s,
                        &[(
                            "saved-deployment",
                            r#"{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"bluedeploy"},"spec":{"template":{"spec":{"containers":[{"name":"app","image":"nginx:blue"}]}}}}"#,
                        )],
                    );
                    s.colours[0].deployment = None;
                    s.colours[0].pods.clear();
                },
                Ok([&["recreate", "wait-available"][..], BACK].concat()),
            ),
            (
                "old colour re-created, its test Service not yet",
                |s| {
                    promoted(
                        s,
                        &[(
                            "saved-services",
                            r#"[{"apiVersion":"v1","kind":"Service","metadata":{"name":"greenservice"},"spec":{"selector":{"app":"green"}}}]"#,
                        )],
                    );
                    s.colours[1].test_services.clear();
                },
                Ok([&["recreate-services"][..], BACK].concat()),
            ),
            (
                "saved test Service already back",
                |s| {
                    promoted(
                        s,
                        &[(
                            "saved-services",
                            r#"[{"apiVersion":"v1","kind":"Service","metadata":{"name":"greenservice"},"spec":{"selector":{"app":"green"}}}]"#,
                        )],
                    );
                },
                Ok(BACK.to_vec()),
            ),
            (
                "old colour deleted, nothing saved",
                |s| {
                    promoted(s, &[]);
                    s.colours[0].deployment = None;
                },
                Err("refused:journal saved none"),
            ),
            (
                "already rolled back",
                |s| {
                    promoted(s, &[("action", "rollback")]);
                },
                Err("nothing:already rolled back"),
            ),
            (
                "an interrupted rollback is resumed",
                |s| {
                    promoted(s, &[("action", "rollback"), ("step", "verify")]);
                },
                Ok(vec![
                    "verify",
                    "mark-cleanup",
                    "event",
                    "delay",
                    "scale-down",
                    "mark-done",
                    "event",
                ]),
            ),
            (
                "an interrupted promote is rolled back",
                |s| promoted(s, &[("step", "verify")]),
                Ok(BACK.to_vec()),
            ),
        ];
        for (name, mutate, expect) in cases {
            let mut s = classic_snapshot();
            mutate(&mut s);
            let outcome = decide(&s, &options(ReleaseCommand::Rollback));
            match (expect, &outcome) {
                (Ok(steps), Outcome::Proceed(_)) => assert_eq!(actions(&outcome), steps, "{name}"),
                (Err(text), Outcome::Refused(r)) if text.starts_with("refused:") => {
                    assert!(r.reason.contains(&text[8..]), "{name}: {}", r.reason)
                }
                (Err(text), Outcome::Nothing { message }) if text.starts_with("nothing:") => {
                    assert!(message.contains(&text[8..]), "{name}: {message}")
                }
                (expect, _) => panic!("{name}: expected {expect:?}, got {outcome:?}"),
            }
        }
    }

    #[test]
    fn scale_up_restores_the_count_at_least_the_hpa_minimum() {
        let mut s = classic_snapshot();
        scaled_down(&mut s);
        s.colours[0].hpas.push(crate::pair::snapshot::HpaSummary {
            name: "blue-hpa".into(),
            min_replicas: 5,
            max_replicas: 10,
            current_replicas: None,
            desired_replicas: None,
        });
        let Outcome::Proceed(plan) = decide(&s, &options(ReleaseCommand::Rollback)) else {
            panic!("expected a plan");
        };
        let Operation::ScaleUp { replicas, .. } = &plan.steps[0].action else {
            panic!("expected a scale-up first");
        };
        assert_eq!(*replicas, 5);
        assert!(plan.steps[0].reason.contains("minimum 5"));
    }

    #[test]
    fn an_edited_old_deployment_is_announced() {
        let mut s = classic_snapshot();
        promoted(&mut s, &[]);
        if let Some(d) = s.colours[0].deployment.as_mut() {
            d.images = vec!["nginx:blue-hotfix".into()];
        }
        let Outcome::Proceed(plan) = decide(&s, &options(ReleaseCommand::Rollback)) else {
            panic!("expected a plan");
        };
        assert!(
            plan.notes
                .iter()
                .any(|n| n.contains("now runs nginx:blue-hotfix") && n.contains("ran nginx:blue")),
            "{:?}",
            plan.notes
        );
        let Some(Operation::Flip { to, journal, .. }) = plan.flip() else {
            panic!("expected a flip");
        };
        assert_eq!(to, "blue");
        assert_eq!(
            journal.get("action").cloned().flatten().as_deref(),
            Some("rollback")
        );
        assert_eq!(
            journal.get("previous-colour").cloned().flatten().as_deref(),
            Some("green")
        );
    }
}
