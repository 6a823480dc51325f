//! What `promote` (or `rollback`) would do right now, and whether it is safe: a pure function
//! of the snapshot, shown by `status` and reused as the precondition check of the release
//! commands.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::pair::snapshot::{ColourState, EndpointState, Role, Snapshot};

/// A restart this recent counts as "restarting" even when the pod is Ready again.
pub const RECENT_RESTART_SECONDS: i64 = 600;

/// Journal annotation (without prefix) naming the colour that was live before the last flip.
pub const JOURNAL_PREVIOUS_COLOUR: &str = "previous-colour";

/// The move the next command would make.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Action {
    /// Move traffic to the idle colour (the new version).
    Promote,
    /// Move traffic back to the colour recorded as previously live.
    Rollback,
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Action::Promote => "promote",
            Action::Rollback => "rollback",
        })
    }
}

/// Why moving traffic to a colour is not safe now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Blocker {
    /// Another tool manages the production Service's selector.
    ManagedElsewhere {
        /// The Service.
        service: String,
        /// The tool.
        tool: String,
    },
    /// The target colour has no Deployment.
    Missing {
        /// The colour.
        colour: String,
    },
    /// The target Deployment is scaled to zero.
    ZeroReplicas {
        /// The Deployment.
        deployment: String,
    },
    /// The target Deployment's rollout has not finished.
    RolloutInProgress {
        /// The Deployment.
        deployment: String,
        /// What is still in progress.
        detail: String,
    },
    /// Target pods are crash-looping or restarted recently.
    Restarting {
        /// The colour.
        colour: String,
        /// The pods concerned.
        pods: Vec<String>,
        /// How they are (e.g. `CrashLoopBackOff`, `restarting`).
        status: String,
        /// The highest restart count among them.
        restarts: u32,
    },
    /// Fewer pods can serve than the Deployment wants.
    NotReady {
        /// The colour.
        colour: String,
        /// Pods Ready and not terminating.
        serving: usize,
        /// Replicas wanted.
        desired: i32,
    },
}

impl Blocker {
    /// A stable identifier for scripts.
    pub fn code(&self) -> &'static str {
        match self {
            Blocker::ManagedElsewhere { .. } => "managedElsewhere",
            Blocker::Missing { .. } => "colourMissing",
            Blocker::ZeroReplicas { .. } => "zeroReplicas",
            Blocker::RolloutInProgress { .. } => "rolloutInProgress",
            Blocker::Restarting { .. } => "restarting",
            Blocker::NotReady { .. } => "notReady",
        }
    }
}

impl fmt::Display for Blocker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Blocker::ManagedElsewhere { service, tool } => {
                write!(
                    f,
                    "{service} is managed by {tool}; this plugin will not change it"
                )
            }
            Blocker::Missing { colour } => write!(f, "{colour} has no Deployment"),
            Blocker::ZeroReplicas { deployment } => write!(f, "{deployment} has 0 replicas"),
            Blocker::RolloutInProgress { deployment, detail } => {
                write!(f, "{deployment}'s rollout is not complete ({detail})")
            }
            Blocker::Restarting {
                colour,
                pods,
                status,
                restarts,
            } => match pods.as_slice() {
                [pod] => write!(f, "pod {pod} is {status} ({restarts} restarts)"),
                _ => write!(
                    f,
                    "{} {colour} pods are {status} (up to {restarts} restarts)",
                    pods.len()
                ),
            },
            Blocker::NotReady {
                colour,
                serving,
                desired,
            } => write!(f, "{colour} is not ready ({serving}/{desired} pods ready)"),
        }
    }
}

/// One reason in the verdict, as scripts see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Reason {
    /// Stable identifier, e.g. `notReady`.
    pub code: String,
    /// The sentence shown to people.
    pub message: String,
}

/// The one-line answer of `status`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Verdict {
    /// What the next command would do.
    pub action: Action,
    /// The production Service.
    pub service: String,
    /// The colour traffic would leave.
    pub from: String,
    /// The colour traffic would reach.
    pub to: String,
    /// Whether it is safe now.
    pub safe: bool,
    /// Why not, if not.
    pub blockers: Vec<Reason>,
    /// Things worth knowing that do not block.
    pub notes: Vec<String>,
    /// The whole verdict in one sentence.
    pub summary: String,
}

/// Decides the verdict from a snapshot.
pub fn decide(snapshot: &Snapshot) -> Verdict {
    let service = snapshot.service.name.clone();
    let from = snapshot.live_colour.clone();
    let to = snapshot.idle_colour.clone();
    let action = match snapshot.service.journal.get(JOURNAL_PREVIOUS_COLOUR) {
        Some(previous) if *previous == to => Action::Rollback,
        _ => Action::Promote,
    };
    let mut blockers = Vec::new();
    if let Some(tool) = &snapshot.service.managed_by {
        blockers.push(Blocker::ManagedElsewhere {
            service: service.clone(),
            tool: tool.clone(),
        });
    }
    if let Some(target) = colour(snapshot, &to) {
        blockers.extend(readiness_blockers(target, &snapshot.observed_at));
    }
    let notes = notes(snapshot);
    let safe = blockers.is_empty();
    let movement = match action {
        Action::Promote => format!("promote would move {service} from {from} to {to}"),
        Action::Rollback => format!("rollback would move {service} back from {from} to {to}"),
    };
    let summary = if safe {
        format!("{movement}: safe")
    } else {
        let why: Vec<String> = blockers.iter().map(ToString::to_string).collect();
        format!("{movement}: not safe: {}", why.join("; "))
    };
    Verdict {
        action,
        service,
        from,
        to,
        safe,
        blockers: blockers
            .iter()
            .map(|b| Reason {
                code: b.code().to_string(),
                message: b.to_string(),
            })
            .collect(),
        notes,
        summary,
    }
}

fn colour<'a>(snapshot: &'a Snapshot, name: &str) -> Option<&'a ColourState> {
    snapshot.colours.iter().find(|c| c.colour == name)
}

/// Why traffic must not move to `target` now; empty when it may. `observed_at` is the
/// snapshot's time (RFC 3339), against which restarts count as recent.
pub fn readiness_blockers(target: &ColourState, observed_at: &str) -> Vec<Blocker> {
    let Some(deployment) = &target.deployment else {
        return vec![Blocker::Missing {
            colour: target.colour.clone(),
        }];
    };
    if deployment.desired == 0 {
        return vec![Blocker::ZeroReplicas {
            deployment: deployment.name.clone(),
        }];
    }
    let mut blockers = Vec::new();
    let in_progress = if deployment.observed_generation < deployment.generation {
        Some(format!(
            "generation {} not yet observed, at {}",
            deployment.generation, deployment.observed_generation
        ))
    } else if deployment.progress_deadline_exceeded {
        Some("progress deadline exceeded".to_string())
    } else if deployment.updated < deployment.desired {
        Some(format!(
            "{}/{} replicas updated",
            deployment.updated, deployment.desired
        ))
    } else if deployment.current > deployment.updated {
        Some(format!(
            "{} old replicas still running",
            deployment.current - deployment.updated
        ))
    } else {
        None
    };
    if let Some(detail) = in_progress {
        blockers.push(Blocker::RolloutInProgress {
            deployment: deployment.name.clone(),
            detail,
        });
    }
    let now = observed_at.parse::<jiff::Timestamp>().ok();
    let mut crash_looping: Vec<&crate::pair::snapshot::PodSummary> = Vec::new();
    let mut restarting: Vec<&crate::pair::snapshot::PodSummary> = Vec::new();
    for pod in &target.pods {
        let is_crash_looping = pod.status == "CrashLoopBackOff";
        let restarted_recently = pod.restarts > 0
            && match (now, pod.last_restart.as_deref()) {
                (Some(now), Some(last)) => last
                    .parse::<jiff::Timestamp>()
                    .is_ok_and(|t| now.as_second() - t.as_second() < RECENT_RESTART_SECONDS),
                _ => false,
            };
        if is_crash_looping {
            crash_looping.push(pod);
        } else if restarted_recently {
            restarting.push(pod);
        }
    }
    for (pods, status) in [
        (crash_looping, "CrashLoopBackOff"),
        (restarting, "restarting"),
    ] {
        if !pods.is_empty() {
            blockers.push(Blocker::Restarting {
                colour: target.colour.clone(),
                pods: pods.iter().map(|p| p.name.clone()).collect(),
                status: status.to_string(),
                restarts: pods.iter().map(|p| p.restarts).max().unwrap_or(0),
            });
        }
    }
    let serving = target.serving_pods();
    let desired = deployment.desired;
    if (serving as i64) < i64::from(desired)
        || deployment.ready < desired
        || deployment.available < desired
    {
        blockers.push(Blocker::NotReady {
            colour: target.colour.clone(),
            serving: serving.min(deployment.ready.max(0) as usize),
            desired,
        });
    }
    blockers
}

fn notes(snapshot: &Snapshot) -> Vec<String> {
    let mut notes = Vec::new();
    let service = &snapshot.service.name;
    let ready_endpoints = snapshot.endpoints.iter().filter(|e| e.ready).count();
    if ready_endpoints == 0 {
        notes.push(format!(
            "{service} has no ready endpoints right now: its traffic is failing"
        ));
    }
    let idle_held = snapshot
        .endpoints
        .iter()
        .filter(|e| e.ready && e.colour.as_deref() == Some(snapshot.idle_colour.as_str()))
        .count();
    if idle_held > 0 {
        notes.push(format!(
            "{service}'s endpoints still hold {idle_held} {} pod(s): a switch is propagating",
            snapshot.idle_colour
        ));
    }
    for state in &snapshot.colours {
        if state.deployment.is_none() {
            notes.push(format!("{} has no Deployment", state.colour));
        }
        if state.role == Role::Live {
            let not_serving = state
                .pods
                .iter()
                .filter(|p| p.in_service != EndpointState::Ready && !p.terminating)
                .count();
            if not_serving > 0 && state.deployment.is_some() {
                notes.push(format!(
                    "{not_serving} live {} pod(s) are not in {service}'s ready endpoints",
                    state.colour
                ));
            }
            for test in &state.test_services {
                notes.push(format!(
                    "test Service {test} points at the live colour {}",
                    state.colour
                ));
            }
        }
        for hpa in &state.hpas {
            notes.push(format!(
                "HorizontalPodAutoscaler {} scales {} ({}..{} replicas)",
                hpa.name,
                state
                    .deployment
                    .as_ref()
                    .map_or(state.colour.as_str(), |d| d.name.as_str()),
                hpa.min_replicas,
                hpa.max_replicas
            ));
        }
    }
    for other in &snapshot.other_services {
        notes.push(format!(
            "Service {} also selects {} pods and will not be changed",
            other.name,
            other.selects.join(" and ")
        ));
    }
    notes
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pair::snapshot::tests::{classic, now};
    use crate::pair::snapshot::{Snapshot, build};

    fn classic_snapshot() -> Snapshot {
        let (identity, objects) = classic();
        build(&identity, "default", &objects, now()).expect("a snapshot")
    }

    fn green(s: &mut Snapshot) -> &mut ColourState {
        &mut s.colours[1]
    }

    type Case = (
        &'static str,
        fn(&mut Snapshot),
        bool,
        &'static [&'static str],
    );

    #[test]
    fn verdict_table() {
        let cases: Vec<Case> = vec![
            ("green ready", |_| {}, true, &[]),
            (
                "green missing",
                |s| {
                    green(s).deployment = None;
                    green(s).pods.clear();
                },
                false,
                &["colourMissing"],
            ),
            (
                "green scaled to zero",
                |s| {
                    if let Some(d) = green(s).deployment.as_mut() {
                        d.desired = 0;
                    }
                },
                false,
                &["zeroReplicas"],
            ),
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
                false,
                &["notReady"],
            ),
            (
                "generation not observed",
                |s| {
                    if let Some(d) = green(s).deployment.as_mut() {
                        d.generation = 2;
                    }
                },
                false,
                &["rolloutInProgress"],
            ),
            (
                "updated below desired",
                |s| {
                    if let Some(d) = green(s).deployment.as_mut() {
                        d.updated = 1;
                    }
                },
                false,
                &["rolloutInProgress"],
            ),
            (
                "crash-looping pod",
                |s| {
                    let pod = &mut green(s).pods[0];
                    pod.status = "CrashLoopBackOff".into();
                    pod.ready = false;
                    pod.restarts = 5;
                    if let Some(d) = green(s).deployment.as_mut() {
                        d.ready = 2;
                        d.available = 2;
                    }
                },
                false,
                &["restarting", "notReady"],
            ),
            (
                "recent restart of a ready pod",
                |s| {
                    let pod = &mut green(s).pods[0];
                    pod.restarts = 1;
                    pod.last_restart = Some("2026-01-01T11:58:00Z".into());
                },
                false,
                &["restarting"],
            ),
            (
                "old restart of a ready pod",
                |s| {
                    let pod = &mut green(s).pods[0];
                    pod.restarts = 1;
                    pod.last_restart = Some("2026-01-01T10:00:00Z".into());
                },
                true,
                &[],
            ),
            (
                "ready but terminating pods are not capacity",
                |s| {
                    for p in green(s).pods.iter_mut().take(2) {
                        p.terminating = true;
                    }
                },
                false,
                &["notReady"],
            ),
            (
                "managed by Argo Rollouts",
                |s| s.service.managed_by = Some("Argo Rollouts".into()),
                false,
                &["managedElsewhere"],
            ),
        ];
        for (name, change, safe, codes) in cases {
            let mut snapshot = classic_snapshot();
            change(&mut snapshot);
            let verdict = decide(&snapshot);
            assert_eq!(verdict.safe, safe, "{name}: {}", verdict.summary);
            let got: Vec<&str> = verdict.blockers.iter().map(|b| b.code.as_str()).collect();
            assert_eq!(got, codes.to_vec(), "{name}: {}", verdict.summary);
            assert_eq!(verdict.action, Action::Promote, "{name}");
        }
    }

    #[test]
    fn the_summary_says_what_would_happen() {
        let verdict = decide(&classic_snapshot());
        assert_eq!(
            verdict.summary,
            "promote would move blueservice from blue to green: safe"
        );
        let mut not_ready = classic_snapshot();
        if let Some(d) = not_ready.colours[1].deployment.as_mut() {
            d.ready = 0;
            d.available = 0;
        }
        for p in &mut not_ready.colours[1].pods {
            p.ready = false;
        }
        assert_eq!(
            decide(&not_ready).summary,
            "promote would move blueservice from blue to green: not safe: green is not ready (0/3 pods ready)"
        );
    }

    #[test]
    fn a_recorded_previous_colour_makes_it_a_rollback() {
        let mut snapshot = classic_snapshot();
        snapshot
            .service
            .journal
            .insert(JOURNAL_PREVIOUS_COLOUR.into(), "green".into());
        let verdict = decide(&snapshot);
        assert_eq!(verdict.action, Action::Rollback);
        assert!(
            verdict
                .summary
                .starts_with("rollback would move blueservice back from blue to green")
        );
    }

    #[test]
    fn notes_mention_other_services_and_failing_traffic() {
        let mut snapshot = classic_snapshot();
        snapshot.endpoints.clear();
        let verdict = decide(&snapshot);
        assert!(
            verdict
                .notes
                .iter()
                .any(|n| n.contains("no ready endpoints"))
        );
        assert!(
            verdict
                .notes
                .iter()
                .any(|n| n.contains("Service metrics also selects blue and green pods"))
        );
    }
}
