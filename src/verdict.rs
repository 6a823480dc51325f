//! What the next command would do right now, and whether it is safe: the one-line answer of
//! `status`. Nothing is decided here: the verdict is read off the plans that `promote`,
//! `rollback` and `cleanup` would make from the same snapshot ([`plan::plan`]), so `status` and
//! the commands cannot disagree. This module only turns those plans into the documented fields.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::pair::journal::{self, FlipAction, Journal, Step};
use crate::pair::snapshot::{EndpointState, Role, Snapshot};
use crate::plan::describe::describe;
use crate::plan::{self, Outcome, Plan, ReleaseCommand};

pub use crate::plan::readiness::{Blocker, RECENT_RESTART_SECONDS, readiness_blockers};

/// Journal annotation (without prefix) naming the colour that was live before the last flip.
pub const JOURNAL_PREVIOUS_COLOUR: &str = journal::PREVIOUS_COLOUR;

/// The command the verdict is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum NextCommand {
    /// Move traffic to the idle colour (the new version).
    Promote,
    /// Move traffic back to the colour recorded as previously live.
    Rollback,
}

impl fmt::Display for NextCommand {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            NextCommand::Promote => "promote",
            NextCommand::Rollback => "rollback",
        })
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

impl From<&Blocker> for Reason {
    fn from(blocker: &Blocker) -> Reason {
        Reason {
            code: blocker.code().to_string(),
            message: blocker.to_string(),
        }
    }
}

/// The code of a refusal that names no more specific blocker.
pub const REFUSED: &str = "refused";

/// The one-line answer of `status`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Verdict {
    /// The command the verdict is about: `promote`, unless promote has nothing to do (the last
    /// promote already moved traffic off the idle colour), then `rollback`; for an interrupted
    /// release, the command that was interrupted.
    pub action: NextCommand,
    /// The production Service.
    pub service: String,
    /// The colour traffic would leave (for an interrupted release: the colour it left).
    pub from: String,
    /// The colour traffic would reach (for an interrupted release: the colour it reached).
    pub to: String,
    /// Whether it is safe now: the command would go ahead.
    pub safe: bool,
    /// Why not, if not.
    pub blockers: Vec<Reason>,
    /// Things worth knowing that do not block.
    pub notes: Vec<String>,
    /// The whole verdict in one sentence.
    pub summary: String,
    /// The journal's step of an interrupted promote or rollback (`verify` or `cleanup`).
    #[serde(default)]
    pub interrupted_step: Option<String>,
    /// The command line that does what the summary says first; none when it is not safe.
    #[serde(default)]
    pub next_command: Option<String>,
    /// What is wrong with production right now, if anything: no ready endpoint, or a selector
    /// put back (by another tool or by hand) after the last release. `status --check` exits 11
    /// when it is set.
    #[serde(default)]
    pub production_problem: Option<String>,
}

/// Decides the verdict from a snapshot, through the plans of the release commands.
pub fn decide(snapshot: &Snapshot) -> Verdict {
    let mut verdict = decide_moves(snapshot);
    verdict.production_problem = production_problem(snapshot, &verdict);
    if let Some(problem) = &verdict.production_problem {
        verdict.notes.insert(0, problem.clone());
    }
    verdict
}

/// What is wrong with production now, with the command that restores it.
fn production_problem(snapshot: &Snapshot, verdict: &Verdict) -> Option<String> {
    let journal = Journal::of(snapshot);
    let service = &snapshot.service.name;
    let live = &snapshot.live_colour;
    let label = &snapshot.service.colour_label;
    let fix = verdict
        .next_command
        .as_ref()
        .map(|c| format!("; `{c}` restores service"))
        .unwrap_or_default();
    let reverted = match (journal.previous_colour(), journal.action(), journal.step()) {
        (Some(previous), Some(action), None)
            if previous == live.as_str() && action != FlipAction::Revert =>
        {
            let by: Vec<&str> = snapshot
                .service
                .owners
                .iter()
                .map(|o| o.name.as_str())
                .collect();
            let by = if by.is_empty() {
                " (by hand, or by a tool this plugin cannot see)".to_string()
            } else {
                format!(" (its owner: {})", by.join(", "))
            };
            Some(format!(
                "{service}'s selector was put back to {label}={live}{by} after the {action} of {} moved it to {}",
                journal
                    .flipped_at()
                    .map_or_else(|| "an unknown time".to_string(), |t| t.to_string()),
                snapshot.idle_colour
            ))
        }
        _ => None,
    };
    let ready = snapshot.endpoints.iter().filter(|e| e.ready).count();
    match (ready, reverted) {
        (0, Some(r)) => Some(format!("OUTAGE: {r}, and {live} has no ready pods{fix}")),
        (0, None) => Some(format!(
            "OUTAGE: {service} selects {label}={live} and has no ready endpoint{fix}"
        )),
        (_, Some(r)) => Some(format!("DRIFT: {r}")),
        _ => None,
    }
}

/// The release move the verdict is about.
fn decide_moves(snapshot: &Snapshot) -> Verdict {
    let journal = Journal::of(snapshot);
    let planned = |command| plan::plan(snapshot, &options(snapshot, command));
    let promote = planned(ReleaseCommand::Promote);
    let mut notes = notes(snapshot);
    // A promote that would flip nothing is finishing an interrupted release.
    if let Outcome::Proceed(finish) = &promote
        && finish.flip().is_none()
    {
        return interrupted(
            snapshot,
            &journal,
            finish,
            &planned(ReleaseCommand::Rollback),
            notes,
        );
    }
    let released = matches!(promote, Outcome::Nothing { .. });
    let (action, outcome) = match promote {
        Outcome::Nothing { message } => {
            notes.insert(0, format!("promote: {message}"));
            (NextCommand::Rollback, planned(ReleaseCommand::Rollback))
        }
        promote => {
            if let Outcome::Nothing { message } = planned(ReleaseCommand::Rollback) {
                notes.insert(0, format!("rollback: {message}"));
            }
            (NextCommand::Promote, promote)
        }
    };
    let service = snapshot.service.name.clone();
    let from = snapshot.live_colour.clone();
    let to = match &outcome {
        Outcome::Proceed(p) => p.target.clone(),
        _ => snapshot.idle_colour.clone(),
    };
    let restores =
        matches!(&outcome, Outcome::Proceed(p) if p.flip().is_none() && p.target == from);
    let movement = match action {
        NextCommand::Promote => format!("promote would move {service} from {from} to {to}"),
        NextCommand::Rollback if restores => {
            format!("{service} selects {from}, which has no pods: rollback would bring {from} back")
        }
        // Right after a release, the headline is its state; rollback is the way back.
        NextCommand::Rollback if released => {
            format!("released: {service} sends traffic to {from}; the way back: rollback to {to}")
        }
        NextCommand::Rollback => format!("rollback would move {service} back from {from} to {to}"),
    };
    let judged = judge(&outcome);
    let summary = match &outcome {
        Outcome::Nothing { message } => message.clone(),
        Outcome::Proceed(p) if released && !restores => {
            format!("{movement}{} is {}", preparation(p), judged.text)
        }
        Outcome::Proceed(p) => format!("{movement}{}: {}", preparation(p), judged.text),
        Outcome::Refused(_) if released => format!("{movement} is {}", judged.text),
        Outcome::Refused(_) => format!("{movement}: {}", judged.text),
    };
    Verdict {
        next_command: judged
            .safe
            .then(|| format!("kubectl bluegreen {action} {service}")),
        action,
        service,
        from,
        to,
        safe: judged.safe,
        blockers: judged.blockers,
        notes,
        summary,
        interrupted_step: None,
        production_problem: None,
    }
}

/// The options the release commands use when given no flags, at the time of the snapshot.
fn options(snapshot: &Snapshot, command: ReleaseCommand) -> plan::Options {
    plan::Options {
        command,
        policy: None,
        delay: plan::DEFAULT_DELAY,
        delay_given: false,
        force: false,
        to: None,
        now: snapshot.observed_at,
        allow: plan::Allowed::default(),
        also_flip: Vec::new(),
        images: Vec::new(),
        no_wait: false,
    }
}

/// Whether an outcome is safe, why not, and the words for it.
struct Judged {
    safe: bool,
    blockers: Vec<Reason>,
    text: String,
}

fn judge(outcome: &Outcome) -> Judged {
    match outcome {
        Outcome::Proceed(p) => judge_plan(p),
        Outcome::Refused(r) if r.blockers.is_empty() => judged(
            false,
            vec![Reason {
                code: REFUSED.to_string(),
                message: r.reason.clone(),
            }],
        ),
        Outcome::Refused(r) => judged(false, r.blockers.iter().map(Reason::from).collect()),
        Outcome::Nothing { .. } => judged(false, Vec::new()),
    }
}

/// A plan goes ahead; it is safe unless it has to wait for its target to become ready.
fn judge_plan(plan: &Plan) -> Judged {
    judged(true, plan.waits_for.iter().map(Reason::from).collect())
}

fn judged(goes_ahead: bool, blockers: Vec<Reason>) -> Judged {
    let safe = goes_ahead && blockers.is_empty();
    let text = if safe {
        "safe".to_string()
    } else {
        let why: Vec<&str> = blockers.iter().map(|b| b.message.as_str()).collect();
        format!("not safe: {}", why.join("; "))
    };
    Judged {
        safe,
        blockers,
        text,
    }
}

/// What a plan does to the target colour before it flips, as a parenthesis.
fn preparation(plan: &Plan) -> String {
    let mut waits = None;
    for step in &plan.steps {
        match &step.action {
            plan::Operation::ScaleUp {
                deployment,
                replicas,
                ..
            } => return format!(" (scaling {deployment} back to {replicas} replicas first)"),
            plan::Operation::Recreate {
                deployment,
                services,
                ..
            } => {
                let mut what = format!("Deployment {deployment}");
                if !services.is_empty() {
                    what.push_str(&format!(" and test Service {}", services.join(", ")));
                }
                return format!(" (re-creating {what} from the journal first)");
            }
            plan::Operation::WaitAvailable { deployment, .. } => {
                waits = Some(format!(" (once {deployment} is fully available)"));
            }
            plan::Operation::Flip { .. } => break,
            _ => {}
        }
    }
    waits.unwrap_or_default()
}

/// The verdict while the journal says a promote or rollback stopped half-way: what finishes it,
/// and what rollback would do instead.
fn interrupted(
    snapshot: &Snapshot,
    journal: &Journal,
    finish: &Plan,
    rollback: &Outcome,
    notes: Vec<String>,
) -> Verdict {
    let service = snapshot.service.name.clone();
    let step = journal.step().map(|s| s.to_string()).unwrap_or_default();
    let action = match journal.action() {
        Some(FlipAction::Rollback) => NextCommand::Rollback,
        _ => NextCommand::Promote,
    };
    let during = match journal.step() {
        Some(Step::Verify) => "verification",
        _ => step.as_str(),
    };
    let remaining: Vec<String> = finish
        .steps
        .iter()
        .filter(|s| {
            !matches!(
                s.action,
                plan::Operation::MarkCleanupPending { .. }
                    | plan::Operation::MarkDone
                    | plan::Operation::Event { .. }
            )
        })
        .map(|s| describe(&service, &s.action))
        .collect();
    let remaining = if remaining.is_empty() {
        "only the journal is left to update".to_string()
    } else {
        remaining.join(", then ")
    };
    let next = format!("kubectl bluegreen cleanup {service}");
    let judged = judge_plan(finish);
    let mut summary = format!(
        "{action} interrupted during {during}: `{next}` finishes it ({remaining}): {}",
        judged.text
    );
    match rollback {
        Outcome::Proceed(back) if back.flip().is_some() => summary.push_str(&format!(
            "; or `kubectl bluegreen rollback {service}` would move {service} back from {} to {}{}: {}",
            back.live,
            back.target,
            preparation(back),
            judge(rollback).text
        )),
        Outcome::Refused(r) => {
            summary.push_str(&format!("; rollback is not possible: {}", r.reason));
        }
        _ => {}
    }
    Verdict {
        action,
        from: journal
            .previous_colour()
            .unwrap_or(&snapshot.idle_colour)
            .to_string(),
        to: snapshot.live_colour.clone(),
        service,
        safe: judged.safe,
        blockers: judged.blockers,
        notes,
        summary,
        interrupted_step: Some(step),
        production_problem: None,
        next_command: judged.safe.then_some(next),
    }
}

/// Where the journal no longer matches the cluster (someone changed things by hand since the
/// last release): the cluster is what counts, the journal only explains how it got there.
fn journal_drift(snapshot: &Snapshot) -> Vec<String> {
    let journal = Journal::of(snapshot);
    let mut drift = Vec::new();
    let label = &snapshot.service.colour_label;
    if let Some(name) = journal.get(journal::SCALED_DOWN_DEPLOYMENT) {
        let running = snapshot
            .colours
            .iter()
            .filter_map(|c| c.deployment.as_ref())
            .find(|d| d.name == name && d.desired > 0);
        if let Some(d) = running {
            drift.push(format!(
                "the journal records {name} scaled down to 0, but it runs {} replica(s) now (changed by hand)",
                d.desired
            ));
        }
    }
    if let Some(saved) = journal.saved_deployment() {
        let colour_name = saved["spec"]["template"]["metadata"]["labels"][label]
            .as_str()
            .unwrap_or_default();
        let name = saved["metadata"]["name"].as_str().unwrap_or_default();
        if let Some(d) = snapshot
            .colours
            .iter()
            .find(|c| c.colour == colour_name)
            .and_then(|c| c.deployment.as_ref())
        {
            drift.push(format!(
                "the journal holds the manifest of the deleted {name}, but {colour_name} has a Deployment again ({}): the one in the cluster is what counts",
                d.name
            ));
        }
    }
    if let (Some(previous), Some(images)) = (journal.previous_colour(), journal.previous_images())
        && let Some(d) = snapshot
            .colours
            .iter()
            .find(|c| c.colour == previous)
            .and_then(|c| c.deployment.as_ref())
        && d.images != images
    {
        drift.push(format!(
            "{previous} runs {} now; at the last flip it ran {}: a new version was deployed into it",
            d.images.join(", "),
            images.join(", ")
        ));
    }
    drift
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
    notes.extend(journal_drift(snapshot));
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
        }
    }
    notes.extend(plan::pair_notes(snapshot));
    notes
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pair::snapshot::ColourState;
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
                    pod.last_restart = Some("2026-01-01T11:58:00Z".parse().expect("a timestamp"));
                },
                false,
                &["restarting"],
            ),
            (
                "old restart of a ready pod",
                |s| {
                    let pod = &mut green(s).pods[0];
                    pod.restarts = 1;
                    pod.last_restart = Some("2026-01-01T10:00:00Z".parse().expect("a timestamp"));
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
            assert_eq!(verdict.action, NextCommand::Promote, "{name}");
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

    /// Green live after a promote from blue; `extra` adds journal entries.
    fn promoted(s: &mut Snapshot, extra: &[(&str, &str)]) {
        s.service.selector.insert("app".into(), "green".into());
        s.live_colour = "green".into();
        s.idle_colour = "blue".into();
        s.colours[0].role = Role::Idle;
        s.colours[1].role = Role::Live;
        let base = [
            ("previous-colour", "blue"),
            ("action", "promote"),
            ("previous-images", "[\"nginx:blue\"]"),
            ("flipped-at", "2026-01-01T11:00:00Z"),
        ];
        for (k, v) in base.iter().chain(extra) {
            s.service.journal.insert(k.to_string(), v.to_string());
        }
    }

    /// Blue live again after a rollback from green; `extra` adds journal entries.
    fn rolled_back(s: &mut Snapshot, extra: &[(&str, &str)]) {
        let base = [
            ("previous-colour", "green"),
            ("action", "rollback"),
            ("previous-images", "[\"nginx:green\"]"),
            ("flipped-at", "2026-01-01T11:30:00Z"),
        ];
        for (k, v) in base.iter().chain(extra) {
            s.service.journal.insert(k.to_string(), v.to_string());
        }
    }

    fn scale_to_zero(state: &mut ColourState) {
        if let Some(d) = state.deployment.as_mut() {
            d.desired = 0;
            d.current = 0;
            d.updated = 0;
            d.ready = 0;
            d.available = 0;
        }
        state.pods.clear();
    }

    const SAVED_BLUE: &str = r#"{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"bluedeploy"},"spec":{"replicas":3,"template":{"spec":{"containers":[{"name":"web","image":"nginx:blue"}]}}}}"#;

    struct Expect {
        action: NextCommand,
        safe: bool,
        codes: &'static [&'static str],
        interrupted: Option<&'static str>,
        next: Option<&'static str>,
        /// Fragments of the summary, in order.
        summary: &'static [&'static str],
        /// A fragment one of the notes must contain.
        note: Option<&'static str>,
    }

    #[test]
    fn the_verdict_reads_the_journal_in_every_state() {
        type JournalCase = (&'static str, fn(&mut Snapshot), Expect);
        let cases: Vec<JournalCase> = vec![
            (
                "fresh pair",
                |_| {},
                Expect {
                    action: NextCommand::Promote,
                    safe: true,
                    codes: &[],
                    interrupted: None,
                    next: Some("kubectl bluegreen promote blueservice"),
                    summary: &["promote would move blueservice from blue to green: safe"],
                    note: None,
                },
            ),
            (
                "after promote --cleanup none",
                |s| promoted(s, &[("cleanup-policy", "none")]),
                Expect {
                    action: NextCommand::Rollback,
                    safe: true,
                    codes: &[],
                    interrupted: None,
                    next: Some("kubectl bluegreen rollback blueservice"),
                    summary: &[
                        "released: blueservice sends traffic to green; the way back: rollback to blue is safe",
                    ],
                    note: Some("promote: already promoted"),
                },
            ),
            (
                "after promote with the default scale-down",
                |s| {
                    promoted(
                        s,
                        &[
                            ("cleanup-policy", "scale-down"),
                            ("scaled-down-deployment", "bluedeploy"),
                            ("scaled-down-replicas", "3"),
                        ],
                    );
                    scale_to_zero(&mut s.colours[0]);
                },
                Expect {
                    action: NextCommand::Rollback,
                    safe: true,
                    codes: &[],
                    interrupted: None,
                    next: Some("kubectl bluegreen rollback blueservice"),
                    summary: &[
                        "released: blueservice sends traffic to green; the way back: rollback to blue (scaling bluedeploy back to 3 replicas first) is safe",
                    ],
                    note: Some("promote: already promoted"),
                },
            ),
            (
                "after promote --cleanup delete",
                |s| {
                    promoted(
                        s,
                        &[
                            ("cleanup-policy", "delete"),
                            ("saved-deployment", SAVED_BLUE),
                            (
                                "saved-services",
                                r#"[{"metadata":{"name":"greenservice"}}]"#,
                            ),
                        ],
                    );
                    s.colours[0].deployment = None;
                    s.colours[0].pods.clear();
                },
                Expect {
                    action: NextCommand::Rollback,
                    safe: true,
                    codes: &[],
                    interrupted: None,
                    next: Some("kubectl bluegreen rollback blueservice"),
                    summary: &[
                        "released: blueservice sends traffic to green; the way back: rollback to blue (re-creating Deployment bluedeploy and test Service greenservice from the journal first) is safe",
                    ],
                    note: Some("blue has no Deployment"),
                },
            ),
            (
                "old colour deleted and nothing saved",
                |s| {
                    promoted(s, &[]);
                    s.colours[0].deployment = None;
                    s.colours[0].pods.clear();
                },
                Expect {
                    action: NextCommand::Rollback,
                    safe: false,
                    codes: &["colourMissing"],
                    interrupted: None,
                    next: None,
                    summary: &[
                        "released: blueservice sends traffic to green; the way back: rollback to blue is not safe: blue has no Deployment",
                    ],
                    note: None,
                },
            ),
            (
                "after promote --cleanup none, the old colour not ready",
                |s| {
                    promoted(s, &[("cleanup-policy", "none")]);
                    if let Some(d) = s.colours[0].deployment.as_mut() {
                        d.ready = 1;
                        d.available = 1;
                    }
                    for p in s.colours[0].pods.iter_mut().skip(1) {
                        p.ready = false;
                    }
                },
                Expect {
                    action: NextCommand::Rollback,
                    safe: false,
                    codes: &["notReady"],
                    interrupted: None,
                    next: None,
                    summary: &[
                        "released: blueservice sends traffic to green; the way back: rollback to blue (once bluedeploy is fully available) is not safe: blue is not ready (1/3 pods ready)",
                    ],
                    note: None,
                },
            ),
            (
                "a new version deployed into the idle colour after a promote",
                |s| {
                    promoted(s, &[("cleanup-policy", "none")]);
                    if let Some(d) = s.colours[0].deployment.as_mut() {
                        d.images = vec!["nginx:blue-2".into()];
                    }
                },
                Expect {
                    action: NextCommand::Promote,
                    safe: true,
                    codes: &[],
                    interrupted: None,
                    next: Some("kubectl bluegreen promote blueservice"),
                    summary: &["promote would move blueservice from green to blue: safe"],
                    note: None,
                },
            ),
            (
                "after a rollback that scaled the new colour down",
                |s| {
                    rolled_back(
                        s,
                        &[
                            ("scaled-down-deployment", "greendeploy"),
                            ("scaled-down-replicas", "3"),
                        ],
                    );
                    scale_to_zero(&mut s.colours[1]);
                },
                Expect {
                    action: NextCommand::Promote,
                    safe: false,
                    codes: &["zeroReplicas"],
                    interrupted: None,
                    next: None,
                    summary: &[
                        "promote would move blueservice from blue to green: not safe: greendeploy has 0 replicas",
                    ],
                    note: Some("rollback: already rolled back"),
                },
            ),
            (
                "after a rollback that kept the new colour running",
                |s| rolled_back(s, &[("cleanup-policy", "none")]),
                Expect {
                    action: NextCommand::Promote,
                    safe: true,
                    codes: &[],
                    interrupted: None,
                    next: Some("kubectl bluegreen promote blueservice"),
                    summary: &["promote would move blueservice from blue to green: safe"],
                    note: Some("rollback: already rolled back"),
                },
            ),
            (
                "promote interrupted during verification",
                |s| promoted(s, &[("step", "verify"), ("cleanup-policy", "scale-down")]),
                Expect {
                    action: NextCommand::Promote,
                    safe: true,
                    codes: &[],
                    interrupted: Some("verify"),
                    next: Some("kubectl bluegreen cleanup blueservice"),
                    summary: &[
                        "promote interrupted during verification: `kubectl bluegreen cleanup blueservice` finishes it (verify blueservice's endpoints hold green's ready pods and none of blue's, then wait 30s, then scale bluedeploy (blue) down",
                        "): safe; or `kubectl bluegreen rollback blueservice` would move blueservice back from green to blue: safe",
                    ],
                    note: None,
                },
            ),
            (
                "promote interrupted during cleanup",
                |s| {
                    promoted(
                        s,
                        &[
                            ("step", "cleanup"),
                            ("cleanup-policy", "delete"),
                            ("cleanup-after", "2026-01-01T12:00:10Z"),
                        ],
                    )
                },
                Expect {
                    action: NextCommand::Promote,
                    safe: true,
                    codes: &[],
                    interrupted: Some("cleanup"),
                    next: Some("kubectl bluegreen cleanup blueservice"),
                    summary: &[
                        "promote interrupted during cleanup: `kubectl bluegreen cleanup blueservice` finishes it (wait 10s, then save into the journal and delete Deployment bluedeploy",
                        "; or `kubectl bluegreen rollback blueservice` would move blueservice back from green to blue: safe",
                    ],
                    note: None,
                },
            ),
            (
                "promote interrupted after the old colour was scaled down",
                |s| {
                    promoted(
                        s,
                        &[
                            ("step", "cleanup"),
                            ("cleanup-policy", "scale-down"),
                            ("scaled-down-deployment", "bluedeploy"),
                            ("scaled-down-replicas", "3"),
                        ],
                    );
                    scale_to_zero(&mut s.colours[0]);
                },
                Expect {
                    action: NextCommand::Promote,
                    safe: true,
                    codes: &[],
                    interrupted: Some("cleanup"),
                    next: Some("kubectl bluegreen cleanup blueservice"),
                    summary: &[
                        "finishes it (only the journal is left to update): safe",
                        "would move blueservice back from green to blue (scaling bluedeploy back to 3 replicas first): safe",
                    ],
                    note: None,
                },
            ),
            (
                "rollback interrupted during verification",
                |s| rolled_back(s, &[("step", "verify"), ("cleanup-policy", "none")]),
                Expect {
                    action: NextCommand::Rollback,
                    safe: true,
                    codes: &[],
                    interrupted: Some("verify"),
                    next: Some("kubectl bluegreen cleanup blueservice"),
                    summary: &[
                        "rollback interrupted during verification: `kubectl bluegreen cleanup blueservice` finishes it (verify blueservice's endpoints hold blue's ready pods and none of green's): safe",
                    ],
                    note: None,
                },
            ),
            (
                "managed Service",
                |s| {
                    promoted(s, &[]);
                    s.service.managed_by = Some("Argo Rollouts".into());
                },
                Expect {
                    action: NextCommand::Promote,
                    safe: false,
                    codes: &["managedElsewhere"],
                    interrupted: None,
                    next: None,
                    summary: &[
                        "promote would move blueservice from green to blue: not safe: blueservice is managed by Argo Rollouts",
                    ],
                    note: None,
                },
            ),
            (
                "green not ready",
                |s| {
                    if let Some(d) = green(s).deployment.as_mut() {
                        d.ready = 0;
                        d.available = 0;
                    }
                    for p in &mut green(s).pods {
                        p.ready = false;
                    }
                },
                Expect {
                    action: NextCommand::Promote,
                    safe: false,
                    codes: &["notReady"],
                    interrupted: None,
                    next: None,
                    summary: &[
                        "promote would move blueservice from blue to green: not safe: green is not ready (0/3 pods ready)",
                    ],
                    note: None,
                },
            ),
        ];
        for (name, change, want) in cases {
            let mut snapshot = classic_snapshot();
            change(&mut snapshot);
            let v = decide(&snapshot);
            assert_eq!(v.action, want.action, "{name}: {}", v.summary);
            assert_eq!(v.safe, want.safe, "{name}: {}", v.summary);
            let codes: Vec<&str> = v.blockers.iter().map(|b| b.code.as_str()).collect();
            assert_eq!(codes, want.codes, "{name}: {}", v.summary);
            assert_eq!(
                v.interrupted_step.as_deref(),
                want.interrupted,
                "{name}: {}",
                v.summary
            );
            assert_eq!(v.next_command.as_deref(), want.next, "{name}");
            let mut rest = v.summary.as_str();
            for fragment in want.summary {
                let Some(at) = rest.find(fragment) else {
                    panic!("{name}: {fragment:?} (in order) in {:?}", v.summary);
                };
                rest = &rest[at + fragment.len()..];
            }
            if let Some(note) = want.note {
                assert!(
                    v.notes.iter().any(|n| n.contains(note)),
                    "{name}: {note:?} in {:?}",
                    v.notes
                );
            }
            agrees_with_the_commands(name, &snapshot, &v);
        }
    }

    /// What the verdict promises is what the named command plans: safe means the command goes
    /// ahead, and moves traffic unless it is finishing an interrupted release.
    fn agrees_with_the_commands(name: &str, snapshot: &Snapshot, v: &Verdict) {
        let command = match (&v.interrupted_step, v.action) {
            (Some(_), _) => ReleaseCommand::Cleanup,
            (None, NextCommand::Promote) => ReleaseCommand::Promote,
            (None, NextCommand::Rollback) => ReleaseCommand::Rollback,
        };
        let outcome = plan::plan(snapshot, &options(snapshot, command));
        match &outcome {
            Outcome::Proceed(p) if v.safe => {
                assert!(p.waits_for.is_empty(), "{name}");
                assert_eq!(p.flip().is_some(), v.interrupted_step.is_none(), "{name}");
                if let Some(plan::Operation::Flip { from, to, .. }) = p.flip() {
                    assert_eq!((from, to), (&v.from, &v.to), "{name}");
                }
            }
            Outcome::Proceed(p) => assert!(!p.waits_for.is_empty(), "{name}: {outcome:?}"),
            Outcome::Refused(_) => assert!(!v.safe, "{name}"),
            Outcome::Nothing { .. } => {
                panic!("{name}: the verdict names a command with nothing to do")
            }
        }
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
