//! Deciding what promote, rollback and cleanup will do: pure functions of a [`Snapshot`] and the
//! command's options. The result is either the ordered steps, each with its reason, or nothing to
//! do, or a refusal with its reason. The confirmation prompt, `--dry-run` and the executor all
//! work from this one value.

pub mod cleanup;
pub mod deploy;
pub mod describe;
pub mod promote;
#[cfg(test)]
mod properties;
pub mod readiness;
pub mod requests;
pub mod rollback;

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Serialize;

use crate::error::{EXIT_OK, EXIT_PRECONDITION};
use crate::pair::journal::{self, Changes, Journal};
use crate::pair::owners;
use crate::pair::snapshot::{ColourState, Snapshot};
use crate::plan::readiness::Blocker;

pub use crate::cluster::access::Permission;

/// The default `--scale-down-delay`.
pub const DEFAULT_DELAY: Duration = Duration::from_secs(30);

/// Which command is planned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum ReleaseCommand {
    /// Move traffic to the idle colour.
    Promote,
    /// Move traffic back to the colour the journal records as previously live.
    Rollback,
    /// Apply the cleanup policy to the idle colour.
    Cleanup,
    /// Put a new version on the idle colour.
    Deploy,
}

impl std::fmt::Display for ReleaseCommand {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ReleaseCommand::Promote => "promote",
            ReleaseCommand::Rollback => "rollback",
            ReleaseCommand::Cleanup => "cleanup",
            ReleaseCommand::Deploy => "deploy",
        })
    }
}

pub use crate::pair::journal::CleanupPolicy;

/// The options a plan depends on.
#[derive(Debug, Clone)]
pub struct Options {
    /// The command.
    pub command: ReleaseCommand,
    /// `--cleanup`; `None` means the default (scale-down), or for `cleanup` what the journal
    /// says is pending.
    pub policy: Option<CleanupPolicy>,
    /// `--scale-down-delay` (default 30s).
    pub delay: Duration,
    /// Whether `--scale-down-delay` was given: then it replaces what is left of a delay
    /// recorded by an interrupted release.
    pub delay_given: bool,
    /// `--force`: skip the readiness checks.
    pub force: bool,
    /// `promote --to COLOUR`: the colour that must end up live (then "already promoted" means
    /// the Service selects it now).
    pub to: Option<String>,
    /// The time the plan is made (journal timestamps, remaining delays).
    pub now: jiff::Timestamp,
    /// Risks accepted with `--allow`.
    pub allow: Allowed,
    /// `--also-flip`: other Services whose colour moves with the production Service's.
    pub also_flip: Vec<String>,
    /// `deploy --image`: the new version's images.
    pub images: Vec<deploy::ImageSpec>,
    /// `deploy --no-wait`: do not wait for the rollout.
    pub no_wait: bool,
}

/// Risks a release refuses unless the user accepts them (`--allow`). Unlike readiness, which
/// `--force` skips, each is named on its own.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Allowed {
    /// The new colour has less than half the pods production serves with now.
    pub capacity: bool,
    /// Pods not owned by the colour's Deployment match its labels.
    pub stray_pods: bool,
    /// The cleanup leaves other Services with no endpoints.
    pub empty_services: bool,
    /// The cleanup removes the colour another tool's next apply puts the selector back to.
    pub owner_revert: bool,
}

/// One risk, as `--allow` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Risk {
    /// Move traffic to a colour with less than half the ready pods production serves with now
    Capacity,
    /// Move traffic to a colour whose labels also match pods its Deployment does not own
    StrayPods,
    /// Clean up a colour that other Services (another entry point) still select, leaving them empty
    EmptyServices,
    /// Clean up the colour another tool (kubectl apply, Helm, Argo CD, Flux) puts the selector back to at its next apply
    OwnerRevert,
}

impl Allowed {
    /// The risks named on the command line.
    pub fn of(risks: &[Risk]) -> Allowed {
        Allowed {
            capacity: risks.contains(&Risk::Capacity),
            stray_pods: risks.contains(&Risk::StrayPods),
            empty_services: risks.contains(&Risk::EmptyServices),
            owner_revert: risks.contains(&Risk::OwnerRevert),
        }
    }
}

/// Below this share of the pods production serves with now, promote refuses a colour unless
/// `--allow capacity`; below all of them, it warns.
pub const CAPACITY_REFUSE_BELOW: f64 = 0.5;

/// The decision.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase", tag = "outcome")]
pub enum Outcome {
    /// Do these steps.
    Proceed(Plan),
    /// Nothing to do (exit 0), and why.
    Nothing {
        /// What the user should know.
        message: String,
    },
    /// Refused, and why.
    Refused(Refusal),
}

/// Why a command will not run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Refusal {
    /// The sentence shown to people.
    pub reason: String,
    /// Each blocking reason.
    pub blockers: Vec<Blocker>,
    /// What to do about it.
    pub hint: Option<String>,
}

impl Outcome {
    /// The exit code this outcome ends with if nothing fails while executing it.
    pub fn exit_code(&self) -> u8 {
        match self {
            Outcome::Proceed(_) | Outcome::Nothing { .. } => EXIT_OK,
            Outcome::Refused(_) => EXIT_PRECONDITION,
        }
    }
}

/// The ordered steps of a command.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Plan {
    /// The command.
    pub command: ReleaseCommand,
    /// The production Service.
    pub service: String,
    /// Its namespace.
    pub namespace: String,
    /// The colour traffic is on now.
    pub live: String,
    /// The colour traffic will be on afterwards.
    pub target: String,
    /// The steps, in order.
    pub steps: Vec<Step>,
    /// What the user should know (HPAs, other Services, edited Deployments, resumed work).
    pub notes: Vec<String>,
    /// Checks `--force` skipped; shown loudly.
    pub forced: Vec<String>,
    /// Readiness problems of the target that the plan waits out before it flips (rollback to
    /// an old colour that is running but not fully available); if they last beyond
    /// `--timeout`, the command stops before moving traffic.
    pub waits_for: Vec<Blocker>,
}

impl Plan {
    /// The flip, if the plan moves traffic.
    pub fn flip(&self) -> Option<&Operation> {
        self.steps
            .iter()
            .map(|s| &s.action)
            .find(|a| matches!(a, Operation::Flip { .. }))
    }

    /// Every request the plan may make that needs a permission, deduplicated, in order: for
    /// each step what it reads, then the changing requests it sends
    /// ([`requests::of`]). `journal` is what the plan was made from.
    pub fn permissions(&self, journal: &Journal) -> Vec<Permission> {
        let mut out: Vec<Permission> = Vec::new();
        let mut add = |p: Permission| {
            if !out.contains(&p) {
                out.push(p);
            }
        };
        let service = self.service.as_str();
        let core = |verb: &str, resource: &str, name: Option<&str>| {
            Permission::new(verb, "", resource, None, name)
        };
        let apps = |verb: &str, name: Option<&str>| {
            Permission::new(verb, "apps", "deployments", None, name)
        };
        let slices =
            |verb: &str| Permission::new(verb, "discovery.k8s.io", "endpointslices", None, None);
        let hpas = || {
            Permission::new(
                "list",
                "autoscaling",
                "horizontalpodautoscalers",
                None,
                None,
            )
        };
        for step in &self.steps {
            match &step.action {
                Operation::VerifyService { .. } => {
                    add(core("list", "pods", None));
                    add(slices("list"));
                    add(slices("watch"));
                }
                Operation::Verify { .. } => {
                    add(slices("list"));
                    add(slices("watch"));
                    add(core("list", "pods", None));
                    // A colleague flipping the Service meanwhile ends the wait with a conflict.
                    add(core("list", "services", None));
                    add(core("watch", "services", None));
                }
                // The count restored must be one its HorizontalPodAutoscaler accepts.
                Operation::ScaleUp { .. } => add(hpas()),
                Operation::ScaleDown { deployment, .. } => {
                    // Scaling to 0 turns off an autoscaler the plan must be able to see.
                    add(hpas());
                    // The live colour must still serve: its pods and the Service's slices.
                    add(core("list", "pods", None));
                    add(slices("list"));
                    // Re-read the Service (never the live colour) and the Deployment (its
                    // replica count), then record the count and scale.
                    add(core("get", "services", Some(service)));
                    add(apps("get", Some(deployment)));
                }
                Operation::WaitAvailable { deployment, .. } => {
                    add(apps("get", Some(deployment)));
                    add(apps("watch", None));
                    add(core("list", "pods", None));
                    add(core("watch", "pods", None));
                }
                Operation::Delete {
                    deployment,
                    services,
                    ..
                } => {
                    // An autoscaler of the deleted Deployment is left without a target.
                    add(hpas());
                    add(core("list", "pods", None));
                    add(slices("list"));
                    add(core("get", "services", Some(service)));
                    if let Some(d) = deployment {
                        add(apps("get", Some(d)));
                    }
                    for s in services {
                        add(core("get", "services", Some(s)));
                    }
                }
                Operation::Delay { .. } => {
                    // The grace period ends early if the live colour stops serving...
                    add(core("list", "pods", None));
                    add(slices("list"));
                    add(slices("watch"));
                    // ...or with a conflict if the Service is flipped.
                    add(core("list", "services", None));
                    add(core("watch", "services", None));
                }
                _ => {}
            }
            for request in requests::of(self, journal, &step.action, &requests::RunTime::default())
            {
                add(request.permission());
            }
        }
        out
    }
}

/// One step and why it is there.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Step {
    /// What is done.
    pub action: Operation,
    /// Why.
    pub reason: String,
}

/// What a step does.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase", tag = "type")]
pub enum Operation {
    /// Scale a scaled-down Deployment back up.
    ScaleUp {
        /// The Deployment.
        deployment: String,
        /// Its colour.
        colour: String,
        /// The replica count to restore.
        replicas: i32,
    },
    /// Re-create what `--cleanup delete` removed, from the journal.
    Recreate {
        /// The Deployment.
        deployment: String,
        /// Its colour.
        colour: String,
        /// The test Services.
        services: Vec<String>,
    },
    /// Re-create test Services that `--cleanup delete` removed, from the journal, when their
    /// colour's Deployment exists again (a rollback stopped between the two re-creations).
    RecreateServices {
        /// Their colour.
        colour: String,
        /// The test Services.
        services: Vec<String>,
    },
    /// Wait until a Deployment is fully available.
    WaitAvailable {
        /// The Deployment.
        deployment: String,
        /// Its colour.
        colour: String,
    },
    /// Change the colour in the production Service's selector, with a resourceVersion
    /// precondition, and write the journal in the same request.
    Flip {
        /// The colour traffic leaves.
        from: String,
        /// The colour traffic reaches.
        to: String,
        /// The selector key changed.
        colour_label: String,
        /// The whole selector before.
        selector_before: BTreeMap<String, String>,
        /// The whole selector after.
        selector_after: BTreeMap<String, String>,
        /// The resourceVersion the Service must still have.
        resource_version: Option<String>,
        /// Journal changes written with the flip.
        journal: Changes,
        /// Journal changes that undo them (written by an automatic flip back).
        undo: Changes,
    },
    /// Create the idle colour's Deployment (copied from the live colour's by `deploy`).
    CreateDeployment {
        /// Its name.
        deployment: String,
        /// Its colour.
        colour: String,
        /// The manifest sent.
        manifest: serde_json::Value,
    },
    /// Change the idle colour's Deployment (new images; replicas back from 0), by a strategic
    /// merge patch that names each container.
    PatchDeployment {
        /// The Deployment.
        deployment: String,
        /// Its colour.
        colour: String,
        /// The patch sent.
        patch: serde_json::Value,
    },
    /// Record in the journal what `deploy` put on a colour.
    RecordDeploy {
        /// The colour.
        colour: String,
        /// `container=image`, comma-separated.
        images: String,
    },
    /// Create a test Service for the idle colour.
    CreateService {
        /// Its name.
        service: String,
        /// Its colour.
        colour: String,
        /// The manifest sent.
        manifest: serde_json::Value,
    },
    /// Change the colour of another Service's selector along with the production Service's
    /// (`--also-flip`, or moving back what the last flip moved), with its own resourceVersion
    /// precondition.
    FlipService {
        /// The Service.
        service: String,
        /// The colour it leaves.
        from: String,
        /// The colour it reaches.
        to: String,
        /// The selector key changed.
        colour_label: String,
        /// The resourceVersion it must still have.
        resource_version: Option<String>,
    },
    /// Wait until another flipped Service's EndpointSlices hold the new colour's ready pods and
    /// none of the old colour's; flip everything back if not in time.
    VerifyService {
        /// The Service.
        service: String,
        /// The colour that must be in the endpoints.
        colour: String,
        /// The colour that must be gone from them.
        previous: String,
    },
    /// Wait until the Service's EndpointSlices hold the new colour's ready pods and none of
    /// the old colour's; flip back if that does not happen in time.
    Verify {
        /// The colour that must be in the endpoints.
        colour: String,
        /// The colour that must be gone from them.
        previous: String,
    },
    /// Record in the journal that the cleanup of `colour` is pending.
    MarkCleanupPending {
        /// The colour to clean up.
        colour: String,
        /// The policy.
        policy: CleanupPolicy,
        /// How long after now it may run.
        delay: Duration,
    },
    /// Wait before touching the old colour.
    Delay {
        /// How long.
        duration: Duration,
    },
    /// Scale the old colour's Deployment to 0, remembering its replica count.
    ScaleDown {
        /// The Deployment.
        deployment: String,
        /// Its colour.
        colour: String,
        /// Its replica count now (written to the journal first).
        replicas: i32,
    },
    /// Save the old colour's Deployment and test Services into the journal, then delete them.
    Delete {
        /// The Deployment, if it still exists.
        deployment: Option<String>,
        /// Its colour.
        colour: String,
        /// The test Services.
        services: Vec<String>,
    },
    /// Record in the journal that nothing is in progress.
    MarkDone,
    /// Record a Kubernetes Event on the production Service.
    Event {
        /// `Promoted`, `RolledBack` or `CleanedUp`.
        reason: String,
        /// from → to.
        message: String,
    },
}

/// Decides what `options.command` will do to the pair in `snapshot`.
pub fn plan(snapshot: &Snapshot, options: &Options) -> Outcome {
    let journal = Journal::of(snapshot);
    if !journal.unreadable.is_empty() {
        return Outcome::Refused(unreadable_journal(&snapshot.service.name, &journal));
    }
    if let Some(tool) = &snapshot.service.managed_by {
        return Outcome::Refused(Refusal {
            reason: format!(
                "{} is managed by {tool}; {} will not change it",
                snapshot.service.name, "kubectl-bluegreen"
            ),
            blockers: vec![Blocker::ManagedElsewhere {
                service: snapshot.service.name.clone(),
                tool: tool.clone(),
            }],
            hint: Some(format!(
                "release through {tool}, or remove its annotations if it no longer manages {}",
                snapshot.service.name
            )),
        });
    }
    let outcome = match options.command {
        ReleaseCommand::Promote => promote::plan(snapshot, options),
        ReleaseCommand::Rollback => rollback::plan(snapshot, options),
        ReleaseCommand::Cleanup => cleanup::plan(snapshot, options),
        ReleaseCommand::Deploy => return deploy::plan(snapshot, options),
    };
    guard_other_services(snapshot, options, outcome)
}

/// The refusal of a journal with values this plugin cannot read: what they say decides what
/// the next step is, so no command guesses.
fn unreadable_journal(service: &str, journal: &Journal) -> Refusal {
    let values: Vec<String> = journal.unreadable.iter().map(ToString::to_string).collect();
    let first = &journal.unreadable[0];
    Refusal {
        reason: format!(
            "{service}'s journal holds {} this plugin cannot read: {}",
            if values.len() == 1 {
                "a value"
            } else {
                "values"
            },
            values.join("; ")
        ),
        blockers: Vec::new(),
        hint: Some(format!(
            "see `kubectl bluegreen status {service}`, then correct the value (kubectl annotate service {service} --overwrite {}{}=...) or remove it",
            crate::pair::JOURNAL_PREFIX,
            first.key
        )),
    }
}

/// Refuses a plan whose cleanup would leave another Service with no endpoints, unless the user
/// accepted it.
fn guard_other_services(snapshot: &Snapshot, options: &Options, outcome: Outcome) -> Outcome {
    let Outcome::Proceed(mut plan) = outcome else {
        return outcome;
    };
    let cleaned: Vec<String> = plan
        .steps
        .iter()
        .filter_map(|s| match &s.action {
            Operation::ScaleDown { colour, .. } | Operation::Delete { colour, .. } => {
                Some(colour.clone())
            }
            _ => None,
        })
        .collect();
    let moved: Vec<String> = plan
        .steps
        .iter()
        .filter_map(|s| match &s.action {
            Operation::FlipService { service, .. } => Some(service.clone()),
            _ => None,
        })
        .collect();
    // Before the flip the Service matches its owner's source; after a flip the journal names
    // the colour it was in sync with.
    let in_sync = if plan.flip().is_some() {
        snapshot.live_colour.clone()
    } else {
        Journal::of(snapshot)
            .previous_colour()
            .unwrap_or(&snapshot.live_colour)
            .to_string()
    };
    let label = &snapshot.service.colour_label;
    for owner in &snapshot.service.owners {
        plan.notes.push(match owners::colour_put_back(owner, label, &in_sync) {
            Some(back) => format!(
                "{} is also written by {}: its next apply puts the selector back to {label}={back}; make {} select the colour you release",
                snapshot.service.name, owner.name, owner.source
            ),
            None => format!(
                "{} is also written by {}, whose record has no {label} key: its next apply leaves the colour as it is",
                snapshot.service.name, owner.name
            ),
        });
    }
    for colour_name in &cleaned {
        let reverting: Vec<&owners::Owner> = snapshot
            .service
            .owners
            .iter()
            .filter(|o| {
                owners::colour_put_back(o, label, &in_sync).as_deref() == Some(colour_name.as_str())
            })
            .collect();
        if reverting.is_empty() {
            continue;
        }
        let who: Vec<String> = reverting.iter().map(|o| o.name.clone()).collect();
        let blocker = Blocker::OwnerRevert {
            colour: colour_name.clone(),
            owners: who.clone(),
        };
        if options.allow.owner_revert {
            plan.forced
                .push(format!("{blocker} (accepted with --allow owner-revert)"));
            continue;
        }
        let sources: Vec<String> = reverting.iter().map(|o| o.source.clone()).collect();
        return Outcome::Refused(Refusal {
            reason: format!("{} {}: {blocker}", plan.command, snapshot.service.name),
            blockers: vec![blocker],
            hint: Some(format!(
                "update {} to select {label}={} first (then its next apply agrees with this release), keep {colour_name} running with --cleanup none, or accept it with --allow owner-revert",
                sources.join(" and "),
                plan.target
            )),
        });
    }
    for colour_name in cleaned {
        let mut services = emptied_services(snapshot, &colour_name);
        services.retain(|s| !moved.contains(s));
        if services.is_empty() {
            continue;
        }
        let blocker = Blocker::EmptiesServices {
            colour: colour_name.clone(),
            services: services.clone(),
        };
        if options.allow.empty_services {
            plan.forced
                .push(format!("{blocker} (accepted with --allow empty-services)"));
            continue;
        }
        let name = &snapshot.service.name;
        return Outcome::Refused(Refusal {
            reason: format!(
                "{} {name} would leave another way into production without service: {blocker}",
                plan.command
            ),
            blockers: vec![blocker],
            hint: Some(format!(
                "move {} along with --also-flip {}, keep {colour_name} running with --cleanup none, or accept it with --allow empty-services",
                if services.len() == 1 { "it" } else { "them" },
                services.join(",")
            )),
        });
    }
    Outcome::Proceed(plan)
}

/// Other Services (not the production one, not a test Service) that select only
/// `colour_name`'s pods: cleaning that colour up leaves them with no endpoints.
pub(crate) fn emptied_services(snapshot: &Snapshot, colour_name: &str) -> Vec<String> {
    snapshot
        .other_services
        .iter()
        .filter(|o| o.selects.len() == 1 && o.selects[0] == colour_name)
        .map(|o| o.name.clone())
        .collect()
}

/// Checks of the colour about to take traffic that are not about readiness, so `--force` does
/// not skip them: a named port its pods lack is never skipped (that port would point at
/// nothing), stray pods and a much smaller capacity only with `--allow`. `Err` is the refusal;
/// `Ok` carries what to note.
pub(crate) fn traffic_checks(
    snapshot: &Snapshot,
    target: &ColourState,
    options: &Options,
    check_capacity: bool,
) -> std::result::Result<Vec<String>, Refusal> {
    let service = &snapshot.service.name;
    let colour_name = &target.colour;
    if !target.missing_ports.is_empty() {
        let blocker = Blocker::PortMissing {
            colour: colour_name.clone(),
            ports: target.missing_ports.clone(),
        };
        return Err(Refusal {
            reason: format!("cannot move {service}'s traffic to {colour_name}: {blocker}"),
            blockers: vec![blocker],
            hint: Some(format!(
                "name the container port as {service}'s targetPort names it in {colour_name}'s pod template (even --force does not skip this)"
            )),
        });
    }
    let mut notes = Vec::new();
    let mut refused = Vec::new();
    if !target.strays.is_empty() {
        let blocker = Blocker::StrayPods {
            colour: colour_name.clone(),
            pods: target.strays.clone(),
        };
        if options.allow.stray_pods {
            notes.push(format!("{blocker} (accepted with --allow stray-pods)"));
        } else {
            refused.push((blocker, "stray-pods"));
        }
    }
    if check_capacity {
        let live = colour(snapshot, &snapshot.live_colour);
        let serving = live.map_or(0, |l| {
            let min = l.hpas.iter().map(|h| h.min_replicas.max(0) as usize).max();
            l.serving_pods().max(min.unwrap_or(0))
        });
        let ready = target.serving_pods();
        if serving > 0 && ready < serving {
            let blocker = Blocker::Capacity {
                colour: colour_name.clone(),
                ready,
                live: snapshot.live_colour.clone(),
                serving,
            };
            if (ready as f64) < serving as f64 * CAPACITY_REFUSE_BELOW {
                if options.force {
                    // Capacity counts ready pods: skipping readiness skips it too.
                    notes.push(format!("{blocker} (not checked: --force)"));
                } else if options.allow.capacity {
                    notes.push(format!("{blocker} (accepted with --allow capacity)"));
                } else {
                    refused.push((blocker, "capacity"));
                }
            } else {
                notes.push(format!(
                    "{colour_name} has {ready} ready pod(s) while {} serves with {serving}: it takes all the traffic with fewer pods",
                    snapshot.live_colour
                ));
            }
        }
    }
    if refused.is_empty() {
        return Ok(notes);
    }
    let allow: Vec<&str> = refused.iter().map(|(_, r)| *r).collect();
    let blockers: Vec<Blocker> = refused.into_iter().map(|(b, _)| b).collect();
    Err(Refusal {
        reason: format!(
            "moving {service}'s traffic to {colour_name} is not safe: {}",
            readiness::sentences(&blockers)
        ),
        blockers,
        hint: Some(format!(
            "fix it (scale {colour_name} up, remove or relabel the stray pods), or accept it with --allow {}",
            allow.join(",")
        )),
    })
}

/// The state of one colour in the snapshot.
pub(crate) fn colour<'a>(snapshot: &'a Snapshot, name: &str) -> Option<&'a ColourState> {
    snapshot.colours.iter().find(|c| c.colour == name)
}

/// A plan skeleton.
pub(crate) fn new_plan(snapshot: &Snapshot, command: ReleaseCommand, target: &str) -> Plan {
    Plan {
        command,
        service: snapshot.service.name.clone(),
        namespace: snapshot.service.namespace.clone(),
        live: snapshot.live_colour.clone(),
        target: target.to_string(),
        steps: Vec::new(),
        notes: Vec::new(),
        forced: Vec::new(),
        waits_for: Vec::new(),
    }
}

/// Pushes a step.
pub(crate) fn step(plan: &mut Plan, action: Operation, reason: impl Into<String>) {
    plan.steps.push(Step {
        action,
        reason: reason.into(),
    });
}

/// The flip from the live colour to `to`, with the journal it writes.
pub(crate) fn flip_step(
    snapshot: &Snapshot,
    options: &Options,
    to: &str,
    policy: CleanupPolicy,
    moved: &[String],
) -> Operation {
    let from = snapshot.live_colour.clone();
    let label = snapshot.service.colour_label.clone();
    let mut after = snapshot.service.selector.clone();
    after.insert(label.clone(), to.to_string());
    let previous = colour(snapshot, &from);
    let previous_deployment = previous.and_then(|c| c.deployment.as_ref());
    let mut changes = Changes::new();
    let set = |changes: &mut Changes, k: &str, v: String| {
        changes.insert(k.to_string(), Some(v));
    };
    set(&mut changes, journal::PREVIOUS_COLOUR, from.clone());
    set(
        &mut changes,
        journal::PREVIOUS_SELECTOR,
        serde_json::to_string(&snapshot.service.selector).unwrap_or_default(),
    );
    match template_digest(snapshot, &from) {
        Some(digest) => set(&mut changes, journal::PREVIOUS_TEMPLATE, digest),
        None => {
            changes.insert(journal::PREVIOUS_TEMPLATE.into(), None);
        }
    }
    match previous_deployment {
        Some(d) => {
            set(&mut changes, journal::PREVIOUS_DEPLOYMENT, d.name.clone());
            set(
                &mut changes,
                journal::PREVIOUS_IMAGES,
                serde_json::to_string(&d.images).unwrap_or_default(),
            );
        }
        None => {
            changes.insert(journal::PREVIOUS_DEPLOYMENT.into(), None);
            changes.insert(journal::PREVIOUS_IMAGES.into(), None);
        }
    }
    set(&mut changes, journal::FLIPPED_AT, options.now.to_string());
    // Only promote and rollback flip.
    let action = match options.command {
        ReleaseCommand::Rollback => journal::FlipAction::Rollback,
        _ => journal::FlipAction::Promote,
    };
    set(&mut changes, journal::ACTION, action.to_string());
    set(
        &mut changes,
        journal::STEP,
        journal::Step::Verify.to_string(),
    );
    set(&mut changes, journal::CLEANUP_POLICY, policy.to_string());
    // Which Services with a colour's exact selector are test Services and which are other
    // entry points: after the flip the colours swap roles, these Services do not.
    let tests: Vec<&String> = snapshot
        .colours
        .iter()
        .flat_map(|c| c.test_services.iter())
        .collect();
    let entry_points: Vec<&String> = snapshot
        .other_services
        .iter()
        .filter(|o| o.entry_point)
        .map(|o| &o.name)
        .collect();
    set(
        &mut changes,
        journal::TEST_SERVICES,
        serde_json::to_string(&tests).unwrap_or_default(),
    );
    set(
        &mut changes,
        journal::ENTRY_POINTS,
        serde_json::to_string(&entry_points).unwrap_or_default(),
    );
    set(&mut changes, journal::COLOUR_LABEL, label.clone());
    set(
        &mut changes,
        journal::COLOURS,
        serde_json::to_string(
            &snapshot
                .colours
                .iter()
                .map(|c| c.colour.as_str())
                .collect::<Vec<_>>(),
        )
        .unwrap_or_default(),
    );
    if moved.is_empty() {
        changes.insert(journal::MOVED_SERVICES.into(), None);
    } else {
        set(
            &mut changes,
            journal::MOVED_SERVICES,
            serde_json::to_string(moved).unwrap_or_default(),
        );
    }
    // What an earlier cleanup saved is kept while it still describes something missing: a
    // colour that was deleted and not re-created, a Deployment still scaled down. Dropping it
    // then would lose the old version for good.
    let current_journal = Journal::of(snapshot);
    let saved_still_needed = current_journal.saved_deployment().is_some_and(|saved| {
        let colour_name = saved["spec"]["template"]["metadata"]["labels"][&label]
            .as_str()
            .map(str::to_string);
        colour_name.is_some_and(|c| colour(snapshot, &c).is_some_and(|s| s.deployment.is_none()))
    });
    let scaled_still_needed = current_journal
        .get(journal::SCALED_DOWN_DEPLOYMENT)
        .is_some_and(|name| {
            snapshot.colours.iter().any(|c| {
                c.deployment
                    .as_ref()
                    .is_some_and(|d| d.name == name && d.desired == 0)
            })
        });
    let mut cleared = vec![journal::CLEANUP_AFTER, journal::LAST_FAILURE];
    if !scaled_still_needed {
        cleared.extend([
            journal::SCALED_DOWN_DEPLOYMENT,
            journal::SCALED_DOWN_REPLICAS,
        ]);
    }
    if !saved_still_needed {
        cleared.extend([journal::SAVED_DEPLOYMENT, journal::SAVED_SERVICES]);
    }
    for key in cleared {
        changes.insert(key.to_string(), None);
    }
    // Only write what changes: removing a key that is not there is noise in the request.
    let current = Journal::of(snapshot);
    changes.retain(|k, v| v.is_some() || current.entries.contains_key(k));
    let undo = journal::undo_of(&current, &changes);
    Operation::Flip {
        from,
        to: to.to_string(),
        colour_label: label,
        selector_before: snapshot.service.selector.clone(),
        selector_after: after,
        resource_version: snapshot.service.resource_version.clone(),
        journal: changes,
        undo,
    }
}

/// A digest of `colour_name`'s pod template (without the `pod-template-hash` label the
/// ReplicaSet adds): equal digests, same template. FNV-1a over the template's JSON, whose object
/// keys serde_json keeps sorted, so it is the same on every machine and every version.
pub(crate) fn template_digest(snapshot: &Snapshot, colour_name: &str) -> Option<String> {
    let mut template = snapshot.manifests.get(colour_name)?["spec"]["template"].clone();
    if let Some(labels) = template["metadata"]["labels"].as_object_mut() {
        labels.remove("pod-template-hash");
    }
    let text = serde_json::to_string(&template).ok()?;
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in text.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    Some(format!("{hash:016x}"))
}

/// The cleanup steps for the colour traffic left (`colour`), after `delay`.
pub(crate) fn cleanup_steps(
    plan: &mut Plan,
    snapshot: &Snapshot,
    colour_name: &str,
    policy: CleanupPolicy,
    delay: Duration,
) {
    let state = colour(snapshot, colour_name);
    let deployment = state.and_then(|c| c.deployment.as_ref());
    let services = services_to_delete(snapshot, colour_name);
    match policy {
        CleanupPolicy::None => {
            step(
                plan,
                Operation::MarkDone,
                format!("--cleanup none: {colour_name} keeps running for an instant rollback"),
            );
            return;
        }
        CleanupPolicy::ScaleDown if deployment.is_none_or(|d| d.desired == 0) => {
            step(
                plan,
                Operation::MarkDone,
                format!("{colour_name} has no running Deployment: nothing to scale down"),
            );
            return;
        }
        CleanupPolicy::Delete if deployment.is_none() && services.is_empty() => {
            step(
                plan,
                Operation::MarkDone,
                format!("{colour_name} has no Deployment or test Service left: nothing to delete"),
            );
            return;
        }
        _ => {}
    }
    if !delay.is_zero() {
        step(
            plan,
            Operation::Delay { duration: delay },
            "kube-proxy on every node needs time to stop sending new connections to the old pods",
        );
    }
    match policy {
        CleanupPolicy::ScaleDown => {
            if let Some(d) = deployment {
                let mut reason = format!(
                    "free {colour_name}'s resources; its replica count {} is remembered for rollback",
                    d.desired
                );
                if let Some(hpa) = state.and_then(|c| c.hpas.first()) {
                    reason.push_str(&format!(
                        "; this disables HorizontalPodAutoscaler {} (Kubernetes treats 0 replicas as autoscaling off) until rollback scales it back to at least {}",
                        hpa.name, hpa.min_replicas
                    ));
                }
                step(
                    plan,
                    Operation::ScaleDown {
                        deployment: d.name.clone(),
                        colour: colour_name.to_string(),
                        replicas: d.desired,
                    },
                    reason,
                );
            }
        }
        CleanupPolicy::Delete => {
            for kept in kept_load_balancers(snapshot) {
                plan.notes.push(format!(
                    "test Service {kept} is of type LoadBalancer: it is kept (deleting it releases its external address); delete it yourself with `kubectl delete service {kept}` if you mean to"
                ));
            }
            let mut what = Vec::new();
            if let Some(d) = deployment {
                what.push(format!("Deployment {}", d.name));
            }
            for s in &services {
                what.push(format!("test Service {s}"));
            }
            step(
                plan,
                Operation::Delete {
                    deployment: deployment.map(|d| d.name.clone()),
                    colour: colour_name.to_string(),
                    services,
                },
                format!(
                    "--cleanup delete: {} saved into the journal (so rollback can re-create them), then deleted",
                    what.join(" and ")
                ),
            );
        }
        CleanupPolicy::None => {}
    }
    step(plan, Operation::MarkDone, "the release is complete");
    step(
        plan,
        Operation::Event {
            reason: "CleanedUp".into(),
            message: format!("{colour_name} {} ({policy})", plan_cleanup_word(policy)),
        },
        "record the cleanup on the Service",
    );
}

fn plan_cleanup_word(policy: CleanupPolicy) -> &'static str {
    match policy {
        CleanupPolicy::ScaleDown => "scaled down",
        CleanupPolicy::Delete => "deleted",
        CleanupPolicy::None => "kept",
    }
}

/// The test Services `--cleanup delete` removes when `colour_name` is cleaned up: those of the
/// old colour, and, as the manual procedure does, those of the other colour, whose pods now
/// serve through the production Service (they are saved in the journal and re-created by
/// rollback). Never the production Service.
pub(crate) fn services_to_delete(snapshot: &Snapshot, colour_name: &str) -> Vec<String> {
    let mut services: Vec<String> = Vec::new();
    let old = snapshot.colours.iter().filter(|c| c.colour == colour_name);
    let other = snapshot.colours.iter().filter(|c| c.colour != colour_name);
    for state in old.chain(other) {
        for s in &state.test_services {
            if *s != snapshot.service.name
                && !services.contains(s)
                && !is_load_balancer(snapshot, s)
            {
                services.push(s.clone());
            }
        }
    }
    services
}

/// Test Services of type LoadBalancer: deleting one releases its external address, so a
/// cleanup keeps it and says so; only the user deletes it, by name.
pub(crate) fn kept_load_balancers(snapshot: &Snapshot) -> Vec<String> {
    let mut kept: Vec<String> = snapshot
        .colours
        .iter()
        .flat_map(|c| c.test_services.iter())
        .filter(|s| is_load_balancer(snapshot, s))
        .cloned()
        .collect();
    kept.dedup();
    kept
}

fn is_load_balancer(snapshot: &Snapshot, service: &str) -> bool {
    snapshot
        .service_types
        .get(service)
        .is_some_and(|t| t == "LoadBalancer")
}

/// Readiness problems of `target`.
pub(crate) fn readiness(snapshot: &Snapshot, target: &ColourState) -> Vec<Blocker> {
    readiness::readiness_blockers(target, snapshot.observed_at)
}

/// The notes every plan that moves traffic shows.
pub(crate) fn common_notes(plan: &mut Plan, snapshot: &Snapshot) {
    plan.notes.extend(pair_notes(snapshot));
}

/// What is worth knowing about the pair whatever the command, and changes nothing: test
/// Services of the live colour, autoscalers, other Services selecting the pods. Plans and
/// `status`'s verdict both show these, in these words.
pub(crate) fn pair_notes(snapshot: &Snapshot) -> Vec<String> {
    let mut notes = Vec::new();
    for state in &snapshot.colours {
        if state.colour == snapshot.live_colour {
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

/// The other Services a flip from `from` to `to` moves along: those named with `--also-flip`,
/// and, when going back to the colour a flip left, those that flip moved. Each must select
/// `from` by the colour key. `Err` is the refusal.
pub(crate) fn moved_services(
    snapshot: &Snapshot,
    options: &Options,
    from: &str,
    to: &str,
) -> std::result::Result<Vec<Operation>, Refusal> {
    let label = &snapshot.service.colour_label;
    let journal = Journal::of(snapshot);
    let mut names: Vec<String> = options.also_flip.clone();
    if journal.previous_colour() == Some(to) {
        let recorded = journal
            .get(journal::MOVED_SERVICES)
            .and_then(|v| serde_json::from_str::<Vec<String>>(v).ok())
            .unwrap_or_default();
        for name in recorded {
            let still = snapshot
                .other_services
                .iter()
                .any(|o| o.name == name && o.selector.get(label).map(String::as_str) == Some(from));
            if still && !names.contains(&name) {
                names.push(name);
            }
        }
    }
    let mut actions = Vec::new();
    for name in names {
        if name == snapshot.service.name {
            continue;
        }
        let found = snapshot.other_services.iter().find(|o| o.name == name);
        match found {
            Some(o) if o.selector.get(label).map(String::as_str) == Some(from) => {
                actions.push(Operation::FlipService {
                    service: name.clone(),
                    from: from.to_string(),
                    to: to.to_string(),
                    colour_label: label.clone(),
                    resource_version: o.resource_version.clone(),
                });
            }
            _ => {
                return Err(Refusal {
                    reason: format!(
                        "--also-flip {name}: {name} is not a Service of this namespace whose selector picks {from} by {label}={from}"
                    ),
                    blockers: Vec::new(),
                    hint: Some(format!(
                        "name Services that select {from}'s pods with the key {label}; `kubectl bluegreen status {}` lists them",
                        snapshot.service.name
                    )),
                });
            }
        }
    }
    Ok(actions)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::pair::snapshot::tests::{classic, now};
    use crate::pair::snapshot::{Snapshot, build};

    pub fn classic_snapshot() -> Snapshot {
        let (identity, objects) = classic();
        build(&identity, "default", &objects, now()).expect("a snapshot")
    }

    pub fn options(command: ReleaseCommand) -> Options {
        Options {
            command,
            policy: None,
            delay: Duration::from_secs(30),
            delay_given: false,
            force: false,
            to: None,
            now: now(),
            allow: Allowed::default(),
            also_flip: Vec::new(),
            images: Vec::new(),
            no_wait: false,
        }
    }

    pub fn actions(outcome: &Outcome) -> Vec<&'static str> {
        let Outcome::Proceed(plan) = outcome else {
            return Vec::new();
        };
        plan.steps
            .iter()
            .map(|s| match s.action {
                Operation::ScaleUp { .. } => "scale-up",
                Operation::Recreate { .. } => "recreate",
                Operation::RecreateServices { .. } => "recreate-services",
                Operation::WaitAvailable { .. } => "wait-available",
                Operation::Flip { .. } => "flip",
                Operation::FlipService { .. } => "flip-service",
                Operation::CreateDeployment { .. } => "create-deployment",
                Operation::PatchDeployment { .. } => "patch-deployment",
                Operation::CreateService { .. } => "create-service",
                Operation::RecordDeploy { .. } => "record-deploy",
                Operation::VerifyService { .. } => "verify-service",
                Operation::Verify { .. } => "verify",
                Operation::MarkCleanupPending { .. } => "mark-cleanup",
                Operation::Delay { .. } => "delay",
                Operation::ScaleDown { .. } => "scale-down",
                Operation::Delete { .. } => "delete",
                Operation::MarkDone => "mark-done",
                Operation::Event { .. } => "event",
            })
            .collect()
    }

    #[test]
    fn a_managed_service_is_refused_whatever_the_command() {
        for command in [
            ReleaseCommand::Promote,
            ReleaseCommand::Rollback,
            ReleaseCommand::Cleanup,
        ] {
            let mut s = classic_snapshot();
            s.service.managed_by = Some("Argo Rollouts".into());
            let outcome = plan(&s, &options(command));
            let Outcome::Refused(refusal) = &outcome else {
                panic!("{command}: expected a refusal, got {outcome:?}");
            };
            assert!(refusal.reason.contains("Argo Rollouts"), "{refusal:?}");
            assert_eq!(outcome.exit_code(), 5);
        }
    }

    #[test]
    fn permissions_cover_every_mutation_of_a_promote() {
        let s = classic_snapshot();
        let mut o = options(ReleaseCommand::Promote);
        o.policy = Some(CleanupPolicy::Delete);
        let Outcome::Proceed(p) = plan(&s, &o) else {
            panic!("expected a plan");
        };
        let shown: Vec<String> = p
            .permissions(&Journal::of(&s))
            .iter()
            .map(ToString::to_string)
            .collect();
        for wanted in [
            "patch services blueservice",
            "watch endpointslices.discovery.k8s.io",
            "delete deployments.apps bluedeploy",
            "create events",
        ] {
            assert!(shown.iter().any(|s| s == wanted), "{wanted} in {shown:?}");
        }
        let mut o = options(ReleaseCommand::Promote);
        o.policy = Some(CleanupPolicy::ScaleDown);
        let Outcome::Proceed(p) = plan(&s, &o) else {
            panic!("expected a plan");
        };
        let shown: Vec<String> = p
            .permissions(&Journal::of(&s))
            .iter()
            .map(ToString::to_string)
            .collect();
        assert!(shown.contains(&"patch deployments.apps/scale bluedeploy".to_string()));
        assert!(!shown.iter().any(|s| s.starts_with("delete")));
    }
}

/// The safety checks beyond readiness: other entry points, ports, stray pods, capacity.
#[cfg(test)]
mod safety_tests {
    use super::tests::{actions, options};
    use super::*;
    use crate::cluster::read::{PairObjects, SlimPod};
    use crate::pair::discover::Identity;
    use crate::pair::discover::tests::service;
    use crate::pair::snapshot::build;
    use crate::pair::snapshot::tests::{classic, now, owned_by, pod};
    use k8s_openapi::api::core::v1::{ContainerPort, ServicePort};
    use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

    fn snapshot_of(change: impl FnOnce(&mut Identity, &mut PairObjects)) -> Snapshot {
        let (mut identity, mut objects) = classic();
        change(&mut identity, &mut objects);
        build(&identity, "default", &objects, now()).expect("a snapshot")
    }

    fn load_balancer(name: &str, colour: &str) -> k8s_openapi::api::core::v1::Service {
        let mut s = service(name, &[("app", colour)]);
        if let Some(spec) = s.spec.as_mut() {
            spec.type_ = Some("LoadBalancer".into());
        }
        s
    }

    fn refusal(outcome: &Outcome) -> &Refusal {
        match outcome {
            Outcome::Refused(r) => r,
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    #[test]
    fn another_service_with_the_live_selector_is_an_entry_point_not_a_test_service() {
        let s = snapshot_of(|_, o| o.services.push(load_balancer("public", "blue")));
        assert!(s.colours[0].test_services.is_empty(), "{:?}", s.colours[0]);
        let public = s
            .other_services
            .iter()
            .find(|o| o.name == "public")
            .expect("listed");
        assert!(public.entry_point);
        assert_eq!(public.service_type, "LoadBalancer");
        assert_eq!(public.selects, vec!["blue".to_string()]);
    }

    #[test]
    fn a_cleanup_that_would_empty_another_entry_point_is_refused_unless_accepted() {
        let s = snapshot_of(|_, o| o.services.push(load_balancer("public", "blue")));
        for policy in [CleanupPolicy::ScaleDown, CleanupPolicy::Delete] {
            let mut o = options(ReleaseCommand::Promote);
            o.policy = Some(policy);
            let outcome = plan(&s, &o);
            let r = refusal(&outcome);
            assert_eq!(r.blockers[0].code(), "emptiesServices", "{policy}");
            assert!(r.reason.contains("public"), "{}", r.reason);
            o.allow.empty_services = true;
            let Outcome::Proceed(p) = plan(&s, &o) else {
                panic!("accepted: expected a plan");
            };
            assert!(
                p.forced.iter().any(|f| f.contains("public")),
                "{:?}",
                p.forced
            );
            if let Some(Step {
                action: Operation::Delete { services, .. },
                ..
            }) = p
                .steps
                .iter()
                .find(|s| matches!(s.action, Operation::Delete { .. }))
            {
                assert!(!services.contains(&"public".to_string()), "never deleted");
            }
        }
        let mut o = options(ReleaseCommand::Promote);
        o.policy = Some(CleanupPolicy::None);
        assert!(matches!(plan(&s, &o), Outcome::Proceed(_)));
    }

    #[test]
    fn after_the_flip_the_journal_keeps_each_service_in_its_role() {
        let s = snapshot_of(|_, o| o.services.push(load_balancer("public", "blue")));
        let mut o = options(ReleaseCommand::Promote);
        o.policy = Some(CleanupPolicy::None);
        let Outcome::Proceed(p) = plan(&s, &o) else {
            panic!("a plan");
        };
        let Some(Operation::Flip { journal, .. }) = p.flip() else {
            panic!("a flip");
        };
        assert_eq!(
            journal.get("test-services").cloned().flatten().as_deref(),
            Some("[\"greenservice\"]")
        );
        assert_eq!(
            journal.get("entry-points").cloned().flatten().as_deref(),
            Some("[\"public\"]")
        );
        // Green is live now: greenservice selects it and stays a test Service; public selects
        // the idle blue and stays an entry point.
        let after = snapshot_of(|identity, o| {
            identity.live = 1;
            identity.selector.insert("app".into(), "green".into());
            o.services.push(load_balancer("public", "blue"));
            let annotations = o
                .service
                .metadata
                .annotations
                .get_or_insert_with(Default::default);
            for (k, v) in journal {
                if let Some(v) = v {
                    annotations.insert(format!("{}{k}", crate::pair::JOURNAL_PREFIX), v.clone());
                }
            }
        });
        assert_eq!(
            after.colours[1].test_services,
            vec!["greenservice".to_string()]
        );
        assert!(after.colours[0].test_services.is_empty());
        assert!(
            after
                .other_services
                .iter()
                .any(|o| o.name == "public" && o.entry_point)
        );
        let mut o = options(ReleaseCommand::Cleanup);
        o.policy = Some(CleanupPolicy::ScaleDown);
        assert_eq!(
            refusal(&plan(&after, &o)).blockers[0].code(),
            "emptiesServices"
        );
    }

    #[test]
    fn a_load_balancer_test_service_is_never_deleted_by_a_cleanup() {
        let s = snapshot_of(|_, o| {
            o.services
                .retain(|s| s.metadata.name.as_deref() != Some("greenservice"));
            o.services.push(load_balancer("green-preview", "green"));
        });
        assert_eq!(
            s.colours[1].test_services,
            vec!["green-preview".to_string()]
        );
        let mut o = options(ReleaseCommand::Promote);
        o.policy = Some(CleanupPolicy::Delete);
        let Outcome::Proceed(p) = plan(&s, &o) else {
            panic!("a plan");
        };
        let deleted: Vec<&String> = p
            .steps
            .iter()
            .filter_map(|s| match &s.action {
                Operation::Delete { services, .. } => Some(services),
                _ => None,
            })
            .flatten()
            .collect();
        assert!(deleted.is_empty(), "{deleted:?}");
        assert!(
            p.notes
                .iter()
                .any(|n| n.contains("green-preview") && n.contains("LoadBalancer"))
        );
    }

    fn named_port(s: &mut k8s_openapi::api::core::v1::Service, target: &str) {
        if let Some(spec) = s.spec.as_mut() {
            spec.ports = Some(vec![ServicePort {
                name: Some("web".into()),
                port: 80,
                target_port: Some(IntOrString::String(target.into())),
                ..Default::default()
            }]);
        }
    }

    fn declare(d: &mut k8s_openapi::api::apps::v1::Deployment, name: &str) {
        if let Some(c) = d
            .spec
            .as_mut()
            .and_then(|s| s.template.spec.as_mut())
            .and_then(|p| p.containers.first_mut())
        {
            c.ports = Some(vec![ContainerPort {
                name: Some(name.into()),
                container_port: 8080,
                ..Default::default()
            }]);
        }
    }

    #[test]
    fn a_colour_lacking_the_named_target_port_is_never_promoted_even_forced() {
        let s = snapshot_of(|_, o| {
            named_port(&mut o.service, "http");
            declare(&mut o.deployments[0], "http");
            declare(&mut o.deployments[1], "web-http");
        });
        assert_eq!(
            s.colours[1].missing_ports,
            vec!["web (80 → http)".to_string()]
        );
        assert!(s.colours[0].missing_ports.is_empty());
        let mut o = options(ReleaseCommand::Promote);
        o.force = true;
        let outcome = plan(&s, &o);
        assert_eq!(refusal(&outcome).blockers[0].code(), "portMissing");
        let verdict = crate::verdict::decide(&s);
        assert!(!verdict.safe, "{verdict:?}");
        // Declared under the right name: fine. A numbered targetPort needs no declaration.
        let s = snapshot_of(|_, o| {
            named_port(&mut o.service, "http");
            declare(&mut o.deployments[1], "http");
        });
        assert!(s.colours[1].missing_ports.is_empty());
        assert_eq!(
            actions(&plan(&s, &options(ReleaseCommand::Promote)))[0],
            "flip"
        );
    }

    #[test]
    fn stray_pods_with_the_new_colours_labels_are_named_and_refused_unless_accepted() {
        let s = snapshot_of(|_, o| {
            let stray = pod(
                "experiment",
                &[("app", "green"), ("tier", "web")],
                "10.0.9.9",
                true,
            );
            o.pods[1].push(SlimPod::from(&stray));
        });
        assert_eq!(s.colours[1].strays, vec!["experiment".to_string()]);
        let outcome = plan(&s, &options(ReleaseCommand::Promote));
        let r = refusal(&outcome);
        assert_eq!(r.blockers[0].code(), "strayPods");
        assert!(r.reason.contains("experiment"), "{}", r.reason);
        assert!(!crate::verdict::decide(&s).safe);
        let mut o = options(ReleaseCommand::Promote);
        o.allow.stray_pods = true;
        let Outcome::Proceed(p) = plan(&s, &o) else {
            panic!("accepted: a plan");
        };
        assert!(p.notes.iter().any(|n| n.contains("experiment")));
    }

    #[test]
    fn much_less_capacity_than_production_serves_with_is_refused_less_is_noted() {
        let grow_blue = |o: &mut PairObjects, n: usize| {
            for i in 4..=n {
                let p = pod(
                    &format!("blue-{i}"),
                    &[("app", "blue"), ("tier", "web")],
                    &format!("10.0.0.{i}"),
                    true,
                );
                o.pods[0].push(SlimPod::from(&owned_by(p, "bluedeploy")));
            }
        };
        // 8 serving against 3 ready: under half.
        let s = snapshot_of(|_, o| grow_blue(o, 8));
        let outcome = plan(&s, &options(ReleaseCommand::Promote));
        let r = refusal(&outcome);
        assert_eq!(r.blockers[0].code(), "capacity");
        assert!(
            r.reason.contains("3 ready pod(s) while blue serves with 8"),
            "{}",
            r.reason
        );
        let mut o = options(ReleaseCommand::Promote);
        o.allow.capacity = true;
        assert!(matches!(plan(&s, &o), Outcome::Proceed(_)));
        // 5 against 3: a note, no refusal.
        let s = snapshot_of(|_, o| grow_blue(o, 5));
        let Outcome::Proceed(p) = plan(&s, &options(ReleaseCommand::Promote)) else {
            panic!("a plan");
        };
        assert!(
            p.notes.iter().any(|n| n.contains("fewer pods")),
            "{:?}",
            p.notes
        );
    }
}
