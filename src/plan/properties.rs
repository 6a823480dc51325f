//! Property tests of the planning core: for arbitrary pair snapshots (any readiness of either
//! colour, any journal an earlier release could have left, any options), a plan
//!
//! - never deletes or scales down the colour that is live when the step runs,
//! - never flips to a colour with unready pods unless `--force` was given (or the plan first
//!   waits until that colour is fully available),
//! - never produces a selector that matches no Deployment.
//!
//! Snapshots are built from the same classic fixture the table-driven plan tests use and then
//! varied field by field, so they stay plain values of the snapshot type.

use std::collections::BTreeMap;

use proptest::prelude::*;

use crate::pair::snapshot::{DeploymentSummary, HpaSummary, PodSummary, Role, Snapshot};
use crate::plan::readiness::readiness_blockers;
use crate::plan::tests::{classic_snapshot, options};
use crate::plan::{CleanupPolicy, Operation, Options, Outcome, Plan, ReleaseCommand, colour};

/// One generated Deployment.
#[derive(Debug, Clone)]
struct DeploymentGen {
    desired: i32,
    current: i32,
    updated: i32,
    ready: i32,
    available: i32,
    generation_lag: bool,
    deadline_exceeded: bool,
    same_image: bool,
}

/// One generated pod.
#[derive(Debug, Clone)]
struct PodGen {
    ready: bool,
    terminating: bool,
    crash_looping: bool,
    restarts: u32,
    restarted_recently: bool,
}

/// One generated colour.
#[derive(Debug, Clone)]
struct ColourGen {
    deployment: Option<DeploymentGen>,
    pods: Vec<PodGen>,
    test_service: bool,
    hpa_min: Option<i32>,
}

/// What an earlier release may have left in the journal.
#[derive(Debug, Clone)]
struct JournalGen {
    /// 0 or 1: a colour of the pair; 2: a value that is no colour of it.
    previous: Option<usize>,
    action: Option<&'static str>,
    step: Option<&'static str>,
    policy: Option<&'static str>,
    scaled_down: Option<(usize, i32)>,
    saved_deployment: Option<usize>,
    cleanup_after_future: bool,
}

/// Generated command options.
#[derive(Debug, Clone)]
struct OptionsGen {
    command: ReleaseCommand,
    policy: Option<CleanupPolicy>,
    force: bool,
    to: Option<usize>,
    delay_given: bool,
}

fn deployment_gen() -> impl Strategy<Value = DeploymentGen> {
    (
        0..4i32,
        0..5i32,
        0..4i32,
        0..4i32,
        0..4i32,
        any::<bool>(),
        prop::bool::weighted(0.1),
        prop::bool::weighted(0.2),
    )
        .prop_map(
            |(desired, current, updated, ready, available, lag, deadline, same)| DeploymentGen {
                desired,
                current,
                updated,
                ready,
                available,
                generation_lag: lag,
                deadline_exceeded: deadline,
                same_image: same,
            },
        )
}

fn pod_gen() -> impl Strategy<Value = PodGen> {
    (
        prop::bool::weighted(0.8),
        prop::bool::weighted(0.1),
        prop::bool::weighted(0.1),
        0..3u32,
        any::<bool>(),
    )
        .prop_map(
            |(ready, terminating, crash_looping, restarts, recent)| PodGen {
                ready,
                terminating,
                crash_looping,
                restarts,
                restarted_recently: recent,
            },
        )
}

fn colour_gen() -> impl Strategy<Value = ColourGen> {
    (
        prop::option::weighted(0.75, deployment_gen()),
        prop::collection::vec(pod_gen(), 0..5),
        any::<bool>(),
        prop::option::weighted(0.2, 1..4i32),
    )
        .prop_map(|(deployment, pods, test_service, hpa_min)| ColourGen {
            deployment,
            pods,
            test_service,
            hpa_min,
        })
}

fn journal_gen() -> impl Strategy<Value = JournalGen> {
    (
        prop::option::weighted(0.7, 0..3usize),
        prop::option::of(prop::sample::select(vec!["promote", "rollback", "revert"])),
        prop::option::weighted(0.4, prop::sample::select(vec!["verify", "cleanup"])),
        // Unreadable values are refused before any plan (see `journal`'s tests).
        prop::option::of(prop::sample::select(vec!["scale-down", "delete", "none"])),
        prop::option::of((0..2usize, -1..5i32)),
        prop::option::weighted(0.6, 0..2usize),
        any::<bool>(),
    )
        .prop_map(
            |(previous, action, step, policy, scaled_down, saved_deployment, future)| JournalGen {
                previous,
                action,
                step,
                policy,
                scaled_down,
                saved_deployment,
                cleanup_after_future: future,
            },
        )
}

fn options_gen() -> impl Strategy<Value = OptionsGen> {
    (
        prop::sample::select(vec![
            ReleaseCommand::Promote,
            ReleaseCommand::Rollback,
            ReleaseCommand::Cleanup,
        ]),
        prop::option::of(prop::sample::select(vec![
            CleanupPolicy::ScaleDown,
            CleanupPolicy::Delete,
            CleanupPolicy::None,
        ])),
        prop::bool::weighted(0.3),
        prop::option::weighted(0.2, 0..3usize),
        any::<bool>(),
    )
        .prop_map(|(command, policy, force, to, delay_given)| OptionsGen {
            command,
            policy,
            force,
            to,
            delay_given,
        })
}

/// The colour names: the pair's two, and one that is neither.
const NAMES: [&str; 3] = ["blue", "green", "purple"];

fn snapshot_of(live: usize, colours: &[ColourGen; 2], journal: &JournalGen) -> Snapshot {
    let mut s = classic_snapshot();
    let label = s.service.colour_label.clone();
    s.live_colour = NAMES[live].to_string();
    s.idle_colour = NAMES[1 - live].to_string();
    s.service.selector.insert(label, NAMES[live].to_string());
    s.other_services.clear();
    for (index, generated) in colours.iter().enumerate() {
        let name = NAMES[index];
        let state = &mut s.colours[index];
        state.role = if index == live {
            Role::Live
        } else {
            Role::Idle
        };
        state.deployment = generated.deployment.as_ref().map(|d| DeploymentSummary {
            container_ports: Vec::new(),
            name: format!("{name}deploy"),
            images: vec![if d.same_image {
                "nginx:same".to_string()
            } else {
                format!("nginx:{name}")
            }],
            desired: d.desired,
            current: d.current,
            updated: d.updated,
            ready: d.ready,
            available: d.available,
            generation: 2,
            observed_generation: if d.generation_lag { 1 } else { 2 },
            paused: false,
            progress_deadline_exceeded: d.deadline_exceeded,
            rollout_complete: !d.generation_lag
                && !d.deadline_exceeded
                && d.updated == d.desired
                && d.available == d.desired
                && d.current == d.updated,
        });
        let template = state.pods.first().cloned();
        state.pods = generated
            .pods
            .iter()
            .enumerate()
            .filter_map(|(i, p)| {
                let mut pod: PodSummary = template.clone()?;
                pod.name = format!("{name}-{i}");
                pod.ready = p.ready && !p.crash_looping;
                pod.terminating = p.terminating;
                pod.status = if p.crash_looping {
                    "CrashLoopBackOff".to_string()
                } else if p.terminating {
                    "Terminating".to_string()
                } else {
                    "Running".to_string()
                };
                pod.restarts = p.restarts;
                pod.last_restart = (p.restarts > 0).then(|| {
                    if p.restarted_recently {
                        "2026-01-01T11:59:00Z".parse().expect("a timestamp")
                    } else {
                        "2025-12-31T11:59:00Z".parse().expect("a timestamp")
                    }
                });
                Some(pod)
            })
            .collect();
        state.test_services = if generated.test_service {
            vec![format!("{name}service")]
        } else {
            Vec::new()
        };
        state.hpas = generated
            .hpa_min
            .filter(|_| state.deployment.is_some())
            .map(|min| HpaSummary {
                name: format!("{name}-hpa"),
                min_replicas: min,
                max_replicas: 10,
                current_replicas: None,
                desired_replicas: None,
            })
            .into_iter()
            .collect();
    }

    let mut entries: BTreeMap<String, String> = BTreeMap::new();
    let mut set = |k: &str, v: String| {
        entries.insert(k.to_string(), v);
    };
    if let Some(previous) = journal.previous {
        set("previous-colour", NAMES[previous].to_string());
        set(
            "previous-images",
            format!("[\"nginx:{}\"]", NAMES[previous]),
        );
        set("flipped-at", "2026-01-01T11:00:00Z".to_string());
    }
    if let Some(action) = journal.action {
        set("action", action.to_string());
    }
    if let Some(step) = journal.step {
        set("step", step.to_string());
    }
    if let Some(policy) = journal.policy {
        set("cleanup-policy", policy.to_string());
    }
    if let Some((index, replicas)) = journal.scaled_down {
        set("scaled-down-deployment", format!("{}deploy", NAMES[index]));
        set("scaled-down-replicas", replicas.to_string());
    }
    if let Some(index) = journal.saved_deployment {
        let name = NAMES[index];
        set(
            "saved-deployment",
            serde_json::json!({
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "metadata": {"name": format!("{name}deploy")},
                "spec": {"template": {"spec": {"containers": [{"name": "app", "image": "nginx:old"}]}}}
            })
            .to_string(),
        );
    }
    set(
        "cleanup-after",
        if journal.cleanup_after_future {
            "2026-01-01T12:00:20Z".to_string()
        } else {
            "2026-01-01T11:00:30Z".to_string()
        },
    );
    s.service.journal = entries;
    s.same_template = colours
        .iter()
        .all(|c| c.deployment.as_ref().is_some_and(|d| d.same_image));
    s
}

fn options_of(generated: &OptionsGen) -> Options {
    let mut o = options(generated.command);
    o.policy = generated.policy;
    o.force = generated.force;
    o.to = generated.to.map(|i| NAMES[i].to_string());
    o.delay_given = generated.delay_given;
    o
}

/// Checks the three safety properties of one plan; returns what is wrong, if anything.
fn violations(snapshot: &Snapshot, options: &Options, plan: &Plan) -> Vec<String> {
    let mut wrong = Vec::new();
    let flip_at = plan
        .steps
        .iter()
        .position(|s| matches!(s.action, Operation::Flip { .. }));
    // The colour live when the plan ends; every step after the flip runs with it live.
    let live_after = plan.target.as_str();
    if flip_at.is_none() && live_after != snapshot.live_colour {
        wrong.push(format!(
            "a plan without a flip ends with {live_after} live, but {} is",
            snapshot.live_colour
        ));
    }
    let live_deployment = colour(snapshot, live_after)
        .and_then(|c| c.deployment.as_ref())
        .map(|d| d.name.clone());
    for (index, step) in plan.steps.iter().enumerate() {
        let (verb, touched, deployment) = match &step.action {
            Operation::ScaleDown {
                colour, deployment, ..
            } => ("scales down", colour, Some(deployment)),
            Operation::Delete {
                colour, deployment, ..
            } => ("deletes", colour, deployment.as_ref()),
            _ => continue,
        };
        let live_then = match flip_at {
            Some(f) if index > f => live_after,
            _ => snapshot.live_colour.as_str(),
        };
        if touched == live_then || touched == live_after {
            wrong.push(format!("step {index} {verb} the live colour {touched}"));
        }
        if deployment.is_some() && deployment == live_deployment.as_ref() {
            wrong.push(format!(
                "step {index} {verb} {deployment:?}, the live colour's Deployment"
            ));
        }
    }
    if let Some(f) = flip_at {
        let Operation::Flip {
            to,
            colour_label,
            selector_before,
            selector_after,
            ..
        } = &plan.steps[f].action
        else {
            unreachable!("position found a flip");
        };
        let before = &plan.steps[..f];
        let prepared = |wanted: fn(&Operation, &str) -> bool| {
            before.iter().any(|s| wanted(&s.action, to.as_str()))
        };
        let waited =
            prepared(|a, to| matches!(a, Operation::WaitAvailable { colour, .. } if colour == to));
        let brought_back = prepared(
            |a, to| matches!(a, Operation::Recreate { colour, .. } | Operation::ScaleUp { colour, .. } if colour == to),
        );
        match colour(snapshot, to) {
            None => wrong.push(format!("flips to {to}, which is not a colour of the pair")),
            Some(target) => {
                if !options.force
                    && !waited
                    && !readiness_blockers(target, snapshot.observed_at).is_empty()
                {
                    wrong.push(format!(
                        "flips to {to} without --force although it is not ready: {:?}",
                        readiness_blockers(target, snapshot.observed_at)
                    ));
                }
                if *selector_after != target.selector {
                    wrong.push(format!(
                        "the new selector {selector_after:?} is not {to}'s selector {:?}",
                        target.selector
                    ));
                }
                let runs = target.deployment.as_ref().is_some_and(|d| d.desired > 0);
                if !runs && !brought_back {
                    wrong.push(format!(
                        "the new selector {selector_after:?} matches no running Deployment ({to} has {:?})",
                        target.deployment.as_ref().map(|d| d.desired)
                    ));
                }
            }
        }
        let mut only_colour = selector_before.clone();
        only_colour.insert(colour_label.clone(), to.clone());
        if *selector_after != only_colour || selector_after.is_empty() {
            wrong.push(format!(
                "the flip changes more than the colour key: {selector_before:?} → {selector_after:?}"
            ));
        }
    }
    if !options.force && !plan.forced.is_empty() {
        wrong.push(format!("skipped checks without --force: {:?}", plan.forced));
    }
    wrong
}

fn pair() -> impl Strategy<Value = (usize, [ColourGen; 2], JournalGen, OptionsGen)> {
    (
        0..2usize,
        colour_gen(),
        colour_gen(),
        journal_gen(),
        options_gen(),
    )
        .prop_map(|(live, a, b, j, o)| (live, [a, b], j, o))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn plans_keep_the_live_colour_and_flip_only_to_something_ready(
        (live, colours, journal, generated) in pair()
    ) {
        let snapshot = snapshot_of(live, &colours, &journal);
        let options = options_of(&generated);
        let outcome = crate::plan::plan(&snapshot, &options);
        if let Outcome::Proceed(plan) = &outcome {
            let wrong = violations(&snapshot, &options, plan);
            prop_assert!(wrong.is_empty(), "{wrong:#?}\nplan: {plan:#?}");
        }
    }
}

/// The generators reach every kind of outcome and every step, so the properties above are not
/// checked only on refusals.
#[test]
fn the_generated_snapshots_reach_every_kind_of_plan() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    let mut seen: BTreeMap<&'static str, usize> = BTreeMap::new();
    for _ in 0..2000 {
        let (live, colours, journal, generated) = pair()
            .new_tree(&mut runner)
            .expect("a generated pair")
            .current();
        let outcome = crate::plan::plan(
            &snapshot_of(live, &colours, &journal),
            &options_of(&generated),
        );
        let kind = match &outcome {
            Outcome::Proceed(_) => "proceed",
            Outcome::Nothing { .. } => "nothing",
            Outcome::Refused(_) => "refused",
        };
        *seen.entry(kind).or_default() += 1;
        for action in crate::plan::tests::actions(&outcome) {
            *seen.entry(action).or_default() += 1;
        }
        if let Outcome::Proceed(plan) = &outcome
            && !plan.forced.is_empty()
        {
            *seen.entry("forced flip").or_default() += 1;
        }
    }
    for wanted in [
        "proceed",
        "nothing",
        "refused",
        "flip",
        "scale-down",
        "delete",
        "scale-up",
        "recreate",
        "wait-available",
        "forced flip",
    ] {
        assert!(
            seen.get(wanted).copied().unwrap_or(0) > 10,
            "{wanted} is rarely or never generated: {seen:?}"
        );
    }
}
