//! Carrying out a plan: the only code that changes the cluster. Each step is one or a few
//! requests; every journal write happens before the change it makes possible to finish or undo,
//! so an interruption anywhere leaves a state that `status` explains and the next command
//! completes.

mod cleanup;
pub(crate) mod requests;
mod serving;
mod verify;
pub(crate) mod watch;

use std::collections::BTreeMap;
use std::time::Duration;

use k8s_openapi::api::core::v1::Service;

use crate::cluster::Connection;
use crate::duration::humanize;
use crate::error::{Error, Result};
use crate::pair::discover::{selector_text, service_selector};
use crate::pair::journal::{self, Changes, JOURNAL_PREFIX, Journal};
use crate::pair::snapshot::Snapshot;
use crate::plan::readiness::{Blocker, sentences};
use crate::plan::requests::{self as planned, EventContext, Kind, Request, RunTime};
use crate::plan::{Operation, Plan, colour};
use crate::progress::{Deadline, Progress};

/// How often a journal write is tried again on top of someone else's unrelated change to the
/// Service before giving up with a conflict.
const JOURNAL_CONFLICT_RETRIES: u32 = 5;

/// Runs a plan's steps in order.
pub(crate) struct Executor<'a> {
    /// Where.
    pub conn: &'a Connection,
    /// The snapshot the plan was made from.
    pub snapshot: &'a Snapshot,
    /// `--dry-run=server`: send the changes with `dryRun=All`, skip the waits.
    pub dry_run: bool,
    /// `--timeout` for waits and verification; `None` means no limit.
    pub timeout: Option<Duration>,
    /// Progress on stderr.
    pub progress: Progress,
    /// What was done, one line each, for the final summary.
    pub done: Vec<String>,
    /// The production Service as last written or read.
    service: Option<Service>,
    /// The colour this run's flip moved traffic to.
    flipped_to: Option<String>,
    /// How many ready addresses of the new colour this run's verification saw on every port.
    verified_serving: Option<usize>,
    /// Other Services this run flipped (`--also-flip`): name, colour left, colour key.
    moved: Vec<(String, String, String)>,
}

impl<'a> Executor<'a> {
    /// An executor for `snapshot`'s pair.
    pub(crate) fn new(
        conn: &'a Connection,
        snapshot: &'a Snapshot,
        dry_run: bool,
        timeout: Option<Duration>,
    ) -> Executor<'a> {
        Executor {
            conn,
            snapshot,
            dry_run,
            timeout,
            progress: Progress::new(),
            done: Vec::new(),
            service: None,
            flipped_to: None,
            verified_serving: None,
            moved: Vec::new(),
        }
    }

    fn name(&self) -> &str {
        &self.snapshot.service.name
    }

    fn selector_of(&self, colour_name: &str) -> String {
        selector_text(&self.selector_map(colour_name))
    }

    /// The label selector of `colour_name`'s pods.
    fn selector_map(&self, colour_name: &str) -> BTreeMap<String, String> {
        match colour(self.snapshot, colour_name) {
            Some(c) => c.selector.clone(),
            None => {
                let mut s = self.snapshot.service.selector.clone();
                s.insert(
                    self.snapshot.service.colour_label.clone(),
                    colour_name.to_string(),
                );
                s
            }
        }
    }

    fn record(&mut self, line: String) {
        self.progress.say(&line);
        self.done.push(line);
    }

    /// Runs every step of `plan`.
    pub(crate) async fn run(&mut self, plan: &Plan) -> Result<()> {
        for step in &plan.steps {
            self.step(plan, &step.action).await?;
        }
        Ok(())
    }

    async fn step(&mut self, plan: &Plan, action: &Operation) -> Result<()> {
        let dry = if self.dry_run {
            " (server dry run)"
        } else {
            ""
        };
        match action {
            Operation::ScaleUp {
                deployment,
                replicas,
                ..
            } => {
                self.send_all(plan, action, &RunTime::default()).await?;
                self.record(format!("scaled {deployment} to {replicas} replicas{dry}"));
            }
            Operation::Recreate { .. } | Operation::RecreateServices { .. } => {
                self.recreate(plan, action).await?;
            }
            Operation::WaitAvailable {
                deployment, colour, ..
            } => {
                if self.dry_run {
                    return Ok(());
                }
                let selector = self.selector_map(colour);
                let deadline = Deadline::after(self.timeout);
                let conn = self.conn;
                let readiness = async || -> Result<(Vec<Blocker>, Option<String>)> {
                    let blockers =
                        watch::colour_readiness(conn, colour, deployment, &selector).await?;
                    let why = (!blockers.is_empty()).then(|| sentences(&blockers));
                    Ok((blockers, why))
                };
                let first = readiness().await?;
                let mut changes =
                    crate::cluster::watch::pair_changes(conn, &selector_text(&selector));
                let outcome = watch::until_ready(
                    &mut changes,
                    colour,
                    first,
                    deadline,
                    &mut self.progress,
                    readiness,
                )
                .await?;
                if let Err(blockers) = outcome {
                    return Err(Error::Refused {
                        reason: format!(
                            "{deployment} did not become fully available in time ({}); traffic was not moved: {} still selects {}",
                            sentences(&blockers),
                            self.name(),
                            self.snapshot.live_colour
                        ),
                        hint: Some(format!(
                            "{deployment} was left as it is now; fix it and run the command again, or raise --timeout"
                        )),
                    });
                }
            }
            Operation::Flip {
                from,
                to,
                colour_label,
                ..
            } => {
                let at = RunTime {
                    now: Some(jiff::Timestamp::now()),
                    ..RunTime::default()
                };
                self.send_all(plan, action, &at).await?;
                self.flipped_to = Some(to.clone());
                self.record(format!(
                    "flipped {}: {colour_label}={from} → {colour_label}={to}{dry}",
                    self.name()
                ));
            }
            Operation::CreateDeployment { deployment, .. } => {
                let created = self.send_all(plan, action, &RunTime::default()).await?;
                self.record(if created {
                    format!("created Deployment {deployment}{dry}")
                } else {
                    format!("Deployment {deployment} already exists; kept as it is")
                });
            }
            Operation::PatchDeployment { deployment, .. } => {
                self.send_all(plan, action, &RunTime::default()).await?;
                self.record(format!(
                    "updated Deployment {deployment}: {}{dry}",
                    crate::plan::describe::describe(self.name(), action)
                        .split_once(": ")
                        .map_or("", |(_, what)| what)
                ));
            }
            Operation::RecordDeploy { .. }
            | Operation::MarkCleanupPending { .. }
            | Operation::MarkDone => {
                let at = RunTime {
                    now: Some(jiff::Timestamp::now()),
                    ..RunTime::default()
                };
                self.send_all(plan, action, &at).await?;
            }
            Operation::CreateService { service, .. } => {
                let created = self.send_all(plan, action, &RunTime::default()).await?;
                self.record(if created {
                    format!("created test Service {service}{dry}")
                } else {
                    format!("Service {service} already exists; kept as it is")
                });
            }
            Operation::FlipService {
                service,
                from,
                to,
                colour_label,
                ..
            } => {
                match self.send_all(plan, action, &RunTime::default()).await {
                    Ok(_) => {}
                    Err(e) if !self.dry_run => {
                        // The production Service already moved: put everything back.
                        let detail = format!("{service} could not be moved along ({e})");
                        return self.flip_back(plan, to, from, detail).await;
                    }
                    Err(e) => return Err(e),
                }
                self.moved
                    .push((service.clone(), from.clone(), colour_label.clone()));
                self.record(format!(
                    "flipped {service}: {colour_label}={from} → {colour_label}={to}{dry}"
                ));
            }
            Operation::Verify { colour, previous } => {
                if self.dry_run {
                    return Ok(());
                }
                self.verify(plan, colour, previous).await?;
            }
            Operation::VerifyService {
                service,
                colour,
                previous,
            } => {
                if self.dry_run {
                    return Ok(());
                }
                self.verify_other(plan, service, colour, previous).await?;
            }
            Operation::Delay { duration } => {
                if self.dry_run {
                    return Ok(());
                }
                // A colleague's rollback during the wait ends it at once: the colour about to
                // be cleaned up is live again.
                let conn = self.conn;
                let name = self.snapshot.service.name.clone();
                let label = self.snapshot.service.colour_label.clone();
                // The colour cleaned up after this wait; the live one must keep serving.
                let old = cleaned_colour(plan).unwrap_or_else(|| self.snapshot.idle_colour.clone());
                let live = self.live_now(&old);
                let expect = self.serving_expectation(&live, &old).await?;
                let dropped = tokio::select! {
                    () = self.delay(*duration) => None,
                    tally = watch::serving_dropped(conn, &name, &expect) => Some(tally),
                    now = watch::selector_moved_away(conn, &name, &label, &plan.target) => {
                        self.progress.done("stopped waiting: the Service was flipped by someone else");
                        let waiting = format!(
                            "during the wait before the cleanup; {now} is live and will not be touched"
                        );
                        return Err(moved_by_someone_else(&name, &plan.target, &now, &waiting));
                    }
                };
                if let Some(tally) = dropped {
                    return Err(self.hold_cleanup(plan, &expect, &tally).await);
                }
            }
            Operation::ScaleDown {
                deployment, colour, ..
            } => {
                self.guard_not_live(colour).await?;
                self.guard_live_serves(plan, colour).await?;
                self.scale_down(plan, action, deployment, colour).await?;
            }
            Operation::Delete {
                deployment,
                colour,
                services,
            } => {
                self.guard_not_live(colour).await?;
                self.guard_live_serves(plan, colour).await?;
                self.delete(plan, action, deployment.as_deref(), colour, services)
                    .await?;
            }
            Operation::Event { reason, .. } => {
                let Some(at) = self.event_context().await else {
                    return Ok(());
                };
                let at = RunTime {
                    event: Some(at),
                    ..RunTime::default()
                };
                if let Err(e) = self.send_all(plan, action, &at).await {
                    self.progress.say(&format!(
                        "warning: could not record the {reason} Event: {e}"
                    ));
                }
            }
        }
        Ok(())
    }

    /// The changing requests of `action`, with the run-time values `at`.
    pub(super) fn requests_of(
        &self,
        plan: &Plan,
        action: &Operation,
        at: &RunTime,
    ) -> Vec<Request> {
        planned::of(plan, &Journal::of(self.snapshot), action, at)
    }

    /// Sends every changing request of `action`; `false` when an object to create already
    /// existed (it is kept as it is).
    pub(super) async fn send_all(
        &mut self,
        plan: &Plan,
        action: &Operation,
        at: &RunTime,
    ) -> Result<bool> {
        let mut created = true;
        for request in self.requests_of(plan, action, at) {
            created &= self.send(&request).await?;
        }
        Ok(created)
    }

    /// Sends one changing request; `false` when an object to create already existed.
    pub(crate) async fn send(&mut self, request: &Request) -> Result<bool> {
        use k8s_openapi::api::apps::v1::Deployment;
        let dry_run = self.dry_run;
        match request {
            Request::Flip { service, patch } => {
                let written = requests::patch_service(self.conn, service, patch, dry_run).await?;
                if *service == self.snapshot.service.name {
                    self.service = Some(written);
                }
            }
            Request::Journal { changes, .. } => self.write_journal(changes).await?,
            Request::Scale {
                deployment,
                replicas,
            } => requests::scale(self.conn, deployment, *replicas, dry_run).await?,
            Request::PatchDeployment { deployment, patch } => {
                requests::patch_deployment(self.conn, deployment, patch, dry_run).await?;
            }
            Request::Create {
                kind: Kind::Deployment,
                manifest,
                ..
            } => return requests::create::<Deployment>(self.conn, manifest, dry_run).await,
            Request::Create {
                kind: Kind::Service,
                manifest,
                ..
            } => return requests::create::<Service>(self.conn, manifest, dry_run).await,
            Request::Delete {
                kind: Kind::Deployment,
                name,
                uid,
            } => requests::delete::<Deployment>(self.conn, name, uid.clone(), dry_run).await?,
            Request::Delete {
                kind: Kind::Service,
                name,
                uid,
            } => requests::delete::<Service>(self.conn, name, uid.clone(), dry_run).await?,
            Request::Event { event } => {
                requests::event(self.conn, self.name(), event, dry_run).await?;
            }
        }
        Ok(true)
    }

    /// Writes journal entries, guarded by the resourceVersion of the Service as this run last
    /// saw it: a copy sent again after a lost answer can land at most once, and a write never
    /// lands on a Service someone else flipped meanwhile. A change by someone else that leaves
    /// the selector as this run left it (an annotation, a label) is read and written on top of.
    async fn write_journal(&mut self, changes: &Changes) -> Result<()> {
        let name = self.snapshot.service.name.clone();
        let label = self.snapshot.service.colour_label.clone();
        let (expected, mut resource_version) = match &self.service {
            Some(s) => (
                service_selector(s).get(&label).cloned(),
                s.metadata.resource_version.clone(),
            ),
            None => (
                Some(self.snapshot.live_colour.clone()),
                self.snapshot.service.resource_version.clone(),
            ),
        };
        let mut conflicts = 0;
        loop {
            let patch = journal::journal_patch_at(resource_version.as_deref(), changes);
            match requests::patch_service(self.conn, &name, &patch, self.dry_run).await {
                Ok(written) => {
                    self.service = Some(written);
                    return Ok(());
                }
                Err(Error::Conflict { detail }) if conflicts < JOURNAL_CONFLICT_RETRIES => {
                    conflicts += 1;
                    let current = self.conn.get_opt::<Service>(&name).await?;
                    match current {
                        Some(s) if service_selector(&s).get(&label) == expected.as_ref() => {
                            resource_version = s.metadata.resource_version.clone();
                        }
                        Some(s) => {
                            let now = service_selector(&s).get(&label).cloned();
                            return Err(Error::Conflict {
                                detail: format!(
                                    "{name} was flipped by someone else while this command ran \
                                     ({label}={} now, {label}={} expected); this command stops \
                                     here and leaves it as it is. See `kubectl bluegreen status {name}`",
                                    now.as_deref().unwrap_or("<none>"),
                                    expected.as_deref().unwrap_or("<none>"),
                                ),
                            });
                        }
                        None => return Err(Error::Conflict { detail }),
                    }
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// The Service an Event is recorded on, as last written or read; `None` when it is gone.
    async fn event_context(&mut self) -> Option<EventContext> {
        let service = match &self.service {
            Some(s) => Some(s.clone()),
            None => self
                .conn
                .get_opt::<Service>(&self.snapshot.service.name)
                .await
                .ok()
                .flatten(),
        }?;
        let flipped_at = service
            .metadata
            .annotations
            .as_ref()
            .and_then(|a| a.get(&format!("{JOURNAL_PREFIX}{}", journal::FLIPPED_AT)))
            .and_then(|t| t.parse::<jiff::Timestamp>().ok());
        Some(EventContext {
            now: jiff::Timestamp::now(),
            uid: service.metadata.uid,
            resource_version: service.metadata.resource_version,
            flipped_at,
        })
    }

    /// Records an Event outside the plan's steps; a failure is reported but does not undo
    /// anything.
    async fn event(&mut self, kind: &str, reason: &str, message: &str) {
        let Some(at) = self.event_context().await else {
            return;
        };
        let request = planned::event(
            &self.conn.target.namespace,
            self.name(),
            kind,
            reason,
            message,
            Some(&at),
        );
        if let Err(e) = self.send(&request).await {
            self.progress.say(&format!(
                "warning: could not record the {reason} Event: {e}"
            ));
        }
    }

    async fn delay(&mut self, duration: Duration) {
        let name = self.snapshot.service.name.clone();
        let deadline = Deadline::after(Some(duration));
        let mut first = true;
        while let Some(left) = deadline.left().filter(|l| !l.is_zero()) {
            // A countdown off a terminal would be one log line per second.
            if first || self.progress.is_terminal() {
                self.progress.update(&format!(
                "waiting {} before cleaning up the old colour (kube-proxy on every node needs time to notice the switch); Ctrl-C is safe: `kubectl bluegreen cleanup {name}` finishes it",
                humanize(Duration::from_secs(left.as_millis().div_ceil(1000).max(1) as u64))
            ));
            }
            first = false;
            tokio::time::sleep(left.min(Duration::from_secs(1))).await;
        }
        self.progress
            .done(&format!("waited {} after the switch", humanize(duration)));
    }
}

/// The colour a plan cleans up, if it does.
fn cleaned_colour(plan: &Plan) -> Option<String> {
    plan.steps.iter().find_map(|s| match &s.action {
        Operation::ScaleDown { colour, .. } | Operation::Delete { colour, .. } => {
            Some(colour.clone())
        }
        _ => None,
    })
}

/// The error of a wait cut short because someone else flipped the Service.
pub(crate) fn moved_by_someone_else(name: &str, colour: &str, now: &str, waiting: &str) -> Error {
    let now = if now.is_empty() {
        "no colour".to_string()
    } else {
        now.to_string()
    };
    Error::Conflict {
        detail: format!(
            "{name} was flipped from {colour} to {now} by someone else {waiting}; this command stops here and does NOT flip it back. Check it with `kubectl bluegreen status {name}`"
        ),
    }
}
