//! Whether a colour may take the production Service's traffic now: the readiness checks that
//! promote refuses on, rollback waits out, and `status` reports as its verdict's blockers.

use std::fmt;

use serde::Serialize;

use crate::pair::snapshot::{ColourState, PodSummary};

/// A restart this recent counts as "restarting" even when the pod is Ready again.
pub const RECENT_RESTART_SECONDS: i64 = 600;

/// Why moving traffic to a colour is not safe now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
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
    /// The colour's pods do not expose a port the production Service targets by name: that
    /// port would have no endpoint once traffic moves.
    PortMissing {
        /// The colour.
        colour: String,
        /// The Service ports concerned, e.g. `http (80 → http)`.
        ports: Vec<String>,
    },
    /// Pods the colour's selector matches that its Deployment does not own would take a share
    /// of production's traffic.
    StrayPods {
        /// The colour.
        colour: String,
        /// The pods.
        pods: Vec<String>,
    },
    /// The colour would serve with far fewer pods than production has now.
    Capacity {
        /// The colour taking traffic.
        colour: String,
        /// Its pods that can serve.
        ready: usize,
        /// The colour serving now.
        live: String,
        /// What production serves with now (its serving pods, at least its autoscaler's minimum).
        serving: usize,
    },
    /// A scaled-down colour's pod template changed since it last served: whether its pods will
    /// become ready is unknown until they run.
    ChangedSinceServed {
        /// The Deployment.
        deployment: String,
    },
    /// Another tool's next apply puts the selector back to the colour a cleanup removes.
    OwnerRevert {
        /// The colour cleaned up.
        colour: String,
        /// Who puts it back.
        owners: Vec<String>,
    },
    /// Cleaning up a colour would leave other Services that select only its pods with no
    /// endpoints.
    EmptiesServices {
        /// The colour cleaned up.
        colour: String,
        /// The Services.
        services: Vec<String>,
    },
}

impl Blocker {
    /// Whether waiting can clear it (pods becoming ready, a rollout finishing, a Deployment
    /// being created or scaled by whoever deploys), which is what `promote --wait` waits for;
    /// the others (an owner, another Service, strays, a missing port) need someone to act.
    pub fn waitable(&self) -> bool {
        matches!(
            self,
            Blocker::Missing { .. }
                | Blocker::ZeroReplicas { .. }
                | Blocker::RolloutInProgress { .. }
                | Blocker::Restarting { .. }
                | Blocker::NotReady { .. }
                | Blocker::Capacity { .. }
                | Blocker::ChangedSinceServed { .. }
        )
    }

    /// A stable identifier for scripts.
    pub fn code(&self) -> &'static str {
        match self {
            Blocker::ManagedElsewhere { .. } => "managedElsewhere",
            Blocker::Missing { .. } => "colourMissing",
            Blocker::ZeroReplicas { .. } => "zeroReplicas",
            Blocker::RolloutInProgress { .. } => "rolloutInProgress",
            Blocker::Restarting { .. } => "restarting",
            Blocker::NotReady { .. } => "notReady",
            Blocker::PortMissing { .. } => "portMissing",
            Blocker::StrayPods { .. } => "strayPods",
            Blocker::Capacity { .. } => "capacity",
            Blocker::EmptiesServices { .. } => "emptiesServices",
            Blocker::OwnerRevert { .. } => "ownerRevert",
            Blocker::ChangedSinceServed { .. } => "changedSinceServed",
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
            Blocker::PortMissing { colour, ports } => write!(
                f,
                "{colour}'s pods expose no container port for Service port {}: it would have no endpoint",
                ports.join(", ")
            ),
            Blocker::StrayPods { colour, pods } => write!(
                f,
                "{} not part of {colour}'s Deployment but matching its labels would take a share of the traffic: {}",
                if pods.len() == 1 { "a pod" } else { "pods" },
                pods.join(", ")
            ),
            Blocker::Capacity {
                colour,
                ready,
                live,
                serving,
            } => write!(
                f,
                "{colour} has {ready} ready pod(s) while {live} serves with {serving}: less than half the capacity"
            ),
            Blocker::ChangedSinceServed { deployment } => write!(
                f,
                "{deployment}'s pod template changed while it was scaled down: its pods have not been seen ready since"
            ),
            Blocker::OwnerRevert { colour, owners } => write!(
                f,
                "{} puts the selector back to {colour} at its next apply, and the cleanup removes {colour}'s pods: production would then select nothing",
                owners.join(" and ")
            ),
            Blocker::EmptiesServices { colour, services } => write!(
                f,
                "cleaning up {colour} would leave {} with no endpoints ({} only {colour}'s pods)",
                services.join(", "),
                if services.len() == 1 {
                    "it selects"
                } else {
                    "they select"
                }
            ),
        }
    }
}

/// Why traffic must not move to `target` now; empty when it may. `observed_at` is the
/// snapshot's time (RFC 3339), against which restarts count as recent.
pub fn readiness_blockers(target: &ColourState, observed_at: jiff::Timestamp) -> Vec<Blocker> {
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
    let mut crash_looping: Vec<&PodSummary> = Vec::new();
    let mut restarting: Vec<&PodSummary> = Vec::new();
    for pod in &target.pods {
        let is_crash_looping = pod.status == "CrashLoopBackOff";
        let restarted_recently = pod.restarts > 0
            && pod
                .last_restart
                .is_some_and(|t| observed_at.as_second() - t.as_second() < RECENT_RESTART_SECONDS);
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

/// Blockers as one sentence.
pub fn sentences(blockers: &[Blocker]) -> String {
    blockers
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}
