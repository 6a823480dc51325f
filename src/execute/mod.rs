//! Carrying out a plan: the only code that changes the cluster. Each step is one or a few
//! requests; every journal write happens before the change it makes possible to finish or undo,
//! so an interruption anywhere leaves a state that `status` explains and the next command
//! completes.

pub mod access;
pub mod requests;
pub mod watch;

use std::time::Duration;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Service;
use serde_json::Value;

use crate::cluster::Connection;
use crate::error::{Error, Result, humanize};
use crate::journal::{self, Changes, Journal};
use crate::pair::discover::{selector_text, service_selector};
use crate::pair::snapshot::Snapshot;
use crate::plan::{Action, Plan, colour};
use crate::progress::{Deadline, Progress};

/// Runs a plan's steps in order.
pub struct Executor<'a> {
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
}

impl<'a> Executor<'a> {
    /// An executor for `snapshot`'s pair.
    pub fn new(
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
        }
    }

    fn name(&self) -> &str {
        &self.snapshot.service.name
    }

    fn selector_of(&self, colour_name: &str) -> String {
        match colour(self.snapshot, colour_name) {
            Some(c) => selector_text(&c.selector),
            None => {
                let mut s = self.snapshot.service.selector.clone();
                s.insert(
                    self.snapshot.service.colour_label.clone(),
                    colour_name.to_string(),
                );
                selector_text(&s)
            }
        }
    }

    fn record(&mut self, line: String) {
        self.progress.say(&line);
        self.done.push(line);
    }

    /// Runs every step of `plan`.
    pub async fn run(&mut self, plan: &Plan) -> Result<()> {
        for step in &plan.steps {
            self.step(plan, &step.action).await?;
        }
        Ok(())
    }

    async fn step(&mut self, plan: &Plan, action: &Action) -> Result<()> {
        let dry = if self.dry_run {
            " (server dry run)"
        } else {
            ""
        };
        match action {
            Action::ScaleUp {
                deployment,
                replicas,
                ..
            } => {
                requests::scale(self.conn, deployment, *replicas, self.dry_run).await?;
                self.record(format!("scaled {deployment} to {replicas} replicas{dry}"));
            }
            Action::Recreate { deployment, .. } => self.recreate(deployment).await?,
            Action::WaitAvailable {
                deployment, colour, ..
            } => {
                if self.dry_run {
                    return Ok(());
                }
                let selector = self.selector_of(colour);
                let deadline = Deadline::after(self.timeout);
                let outcome = watch::deployment_available(
                    self.conn,
                    deployment,
                    &selector,
                    deadline,
                    &mut self.progress,
                )
                .await?;
                if let Err(state) = outcome {
                    return Err(Error::Refused {
                        reason: format!(
                            "{deployment} did not become fully available in time ({state}); traffic was not moved: {} still selects {}",
                            self.name(),
                            self.snapshot.live_colour
                        ),
                        hint: Some(format!(
                            "{deployment} was left as it is now; fix it and run the command again, or raise --timeout"
                        )),
                    });
                }
            }
            Action::Flip {
                from,
                to,
                colour_label,
                resource_version,
                journal,
                ..
            } => {
                let patch =
                    journal::flip_patch(resource_version.as_deref(), colour_label, to, journal);
                let written =
                    requests::patch_service(self.conn, self.name(), &patch, self.dry_run).await?;
                self.service = Some(written);
                self.flipped_to = Some(to.clone());
                self.record(format!(
                    "flipped {}: {colour_label}={from} → {colour_label}={to}{dry}",
                    self.name()
                ));
            }
            Action::Verify { colour, previous } => {
                if self.dry_run {
                    return Ok(());
                }
                self.verify(plan, colour, previous).await?;
            }
            Action::MarkCleanupPending { policy, delay, .. } => {
                let after = jiff::Timestamp::now()
                    + jiff::SignedDuration::try_from(*delay).unwrap_or_default();
                let mut changes = Changes::new();
                changes.insert(journal::STEP.into(), Some(journal::STEP_CLEANUP.into()));
                changes.insert(journal::CLEANUP_POLICY.into(), Some(policy.to_string()));
                changes.insert(journal::CLEANUP_AFTER.into(), Some(after.to_string()));
                self.write_journal(&changes).await?;
            }
            Action::Delay { duration } => {
                if self.dry_run {
                    return Ok(());
                }
                self.delay(*duration).await;
            }
            Action::ScaleDown {
                deployment, colour, ..
            } => self.scale_down(deployment, colour).await?,
            Action::Delete {
                deployment,
                colour,
                services,
            } => self.delete(deployment.as_deref(), colour, services).await?,
            Action::MarkDone => {
                let mut changes = Changes::new();
                changes.insert(journal::STEP.into(), None);
                changes.insert(journal::CLEANUP_AFTER.into(), None);
                self.write_journal(&changes).await?;
            }
            Action::Event { reason, message } => {
                self.event("Normal", reason, message).await;
            }
        }
        Ok(())
    }

    async fn write_journal(&mut self, changes: &Changes) -> Result<()> {
        let patch = journal::journal_patch(changes);
        let written =
            requests::patch_service(self.conn, &self.snapshot.service.name, &patch, self.dry_run)
                .await?;
        self.service = Some(written);
        Ok(())
    }

    /// Records an Event; a failure is reported but does not undo a finished release.
    async fn event(&mut self, kind: &str, reason: &str, message: &str) {
        let service = match &self.service {
            Some(s) => Some(s.clone()),
            None => self
                .conn
                .get_opt::<Service>(&self.snapshot.service.name)
                .await
                .ok()
                .flatten(),
        };
        let Some(service) = service else {
            return;
        };
        if let Err(e) =
            requests::event(self.conn, &service, kind, reason, message, self.dry_run).await
        {
            self.progress.say(&format!(
                "warning: could not record the {reason} Event: {e}"
            ));
        }
    }

    /// The Service as it is now, checked not to select `colour`: the live colour is never
    /// scaled down or deleted, even if someone flipped the Service since the plan was made.
    async fn guard_not_live(&mut self, colour_name: &str) -> Result<()> {
        let name = self.snapshot.service.name.clone();
        let label = self.snapshot.service.colour_label.clone();
        // A server dry run stored nothing: the colour its flip would have made live is the
        // one that counts.
        let live = match (&self.flipped_to, self.dry_run) {
            (Some(to), true) => Some(to.clone()),
            _ => {
                let Some(service) = self.conn.get_opt::<Service>(&name).await? else {
                    return Err(Error::Refused {
                        reason: format!(
                            "Service {name} disappeared; {colour_name} is left as it is"
                        ),
                        hint: None,
                    });
                };
                let live = service_selector(&service).get(&label).cloned();
                self.service = Some(service);
                live
            }
        };
        if live.as_deref() == Some(colour_name) {
            return Err(Error::Conflict {
                detail: format!(
                    "{name} selects {colour_name} again (changed by someone else); {colour_name} is live and will not be touched"
                ),
            });
        }
        Ok(())
    }

    async fn scale_down(&mut self, deployment: &str, colour_name: &str) -> Result<()> {
        self.guard_not_live(colour_name).await?;
        let Some(current) = self.conn.get_opt::<Deployment>(deployment).await? else {
            self.record(format!(
                "{deployment} no longer exists; nothing to scale down"
            ));
            return Ok(());
        };
        let replicas = current.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1);
        if replicas == 0 {
            self.record(format!("{deployment} is already at 0 replicas"));
            return Ok(());
        }
        // Remember the count before changing it, so an interruption in between loses nothing.
        let mut changes = Changes::new();
        changes.insert(
            journal::SCALED_DOWN_DEPLOYMENT.into(),
            Some(deployment.to_string()),
        );
        changes.insert(
            journal::SCALED_DOWN_REPLICAS.into(),
            Some(replicas.to_string()),
        );
        self.write_journal(&changes).await?;
        requests::scale(self.conn, deployment, 0, self.dry_run).await?;
        let dry = if self.dry_run {
            " (server dry run)"
        } else {
            ""
        };
        self.record(format!(
            "scaled {deployment} ({colour_name}) to 0 replicas; {replicas} remembered for rollback{dry}"
        ));
        Ok(())
    }

    async fn delete(
        &mut self,
        deployment: Option<&str>,
        colour_name: &str,
        services: &[String],
    ) -> Result<()> {
        self.guard_not_live(colour_name).await?;
        let found_deployment = match deployment {
            Some(d) => self.conn.get_opt::<Deployment>(d).await?,
            None => None,
        };
        let mut found_services = Vec::new();
        for s in services {
            if s == &self.snapshot.service.name {
                continue;
            }
            if let Some(found) = self.conn.get_opt::<Service>(s).await? {
                found_services.push(found);
            }
        }
        // Save first: rollback re-creates from the journal.
        let mut changes = Changes::new();
        if let Some(d) = &found_deployment {
            let manifest = manifest_of(d, "apps/v1", "Deployment")?;
            changes.insert(journal::SAVED_DEPLOYMENT.into(), Some(manifest.to_string()));
        }
        if !found_services.is_empty() {
            let journal = Journal::of(self.snapshot);
            let mut saved: Vec<Value> = journal
                .saved_services()
                .into_iter()
                .filter(|v| {
                    let name = v["metadata"]["name"].as_str().unwrap_or_default();
                    !found_services
                        .iter()
                        .any(|s| s.metadata.name.as_deref() == Some(name))
                })
                .collect();
            for s in &found_services {
                saved.push(manifest_of(s, "v1", "Service")?);
            }
            changes.insert(
                journal::SAVED_SERVICES.into(),
                Some(Value::Array(saved).to_string()),
            );
        }
        if !changes.is_empty() {
            self.write_journal(&changes).await?;
        }
        let dry = if self.dry_run {
            " (server dry run)"
        } else {
            ""
        };
        if let Some(d) = &found_deployment {
            let name = d.metadata.name.clone().unwrap_or_default();
            requests::delete::<Deployment>(self.conn, &name, d.metadata.uid.clone(), self.dry_run)
                .await?;
            self.record(format!(
                "deleted Deployment {name} ({colour_name}); its manifest is saved in the journal{dry}"
            ));
        }
        for s in &found_services {
            let name = s.metadata.name.clone().unwrap_or_default();
            requests::delete::<Service>(self.conn, &name, s.metadata.uid.clone(), self.dry_run)
                .await?;
            self.record(format!(
                "deleted test Service {name}; its manifest is saved in the journal{dry}"
            ));
        }
        Ok(())
    }

    async fn recreate(&mut self, deployment: &str) -> Result<()> {
        let journal = Journal::of(self.snapshot);
        let Some(mut manifest) = journal.saved_deployment() else {
            return Err(Error::Refused {
                reason: format!("the journal holds no saved manifest of {deployment}"),
                hint: None,
            });
        };
        manifest["metadata"]["namespace"] = Value::String(self.conn.target.namespace.clone());
        let dry = if self.dry_run {
            " (server dry run)"
        } else {
            ""
        };
        if requests::create::<Deployment>(self.conn, &manifest, self.dry_run).await? {
            self.record(format!(
                "re-created Deployment {deployment} from the journal{dry}"
            ));
        } else {
            self.record(format!(
                "Deployment {deployment} already exists; kept as it is"
            ));
        }
        for mut service in journal.saved_services() {
            service["metadata"]["namespace"] = Value::String(self.conn.target.namespace.clone());
            let name = service["metadata"]["name"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            if requests::create::<Service>(self.conn, &service, self.dry_run).await? {
                self.record(format!(
                    "re-created test Service {name} from the journal{dry}"
                ));
            } else {
                self.record(format!("Service {name} already exists; kept as it is"));
            }
        }
        Ok(())
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
                humanize(Duration::from_secs(left.as_secs().max(1)))
            ));
            }
            first = false;
            tokio::time::sleep(left.min(Duration::from_secs(1))).await;
        }
        self.progress
            .done(&format!("waited {} after the switch", humanize(duration)));
    }

    async fn verify(&mut self, plan: &Plan, colour_name: &str, previous: &str) -> Result<()> {
        let new_selector = self.selector_of(colour_name);
        let old_selector = self.selector_of(previous);
        let expect = watch::expectation(
            self.conn,
            colour_name,
            previous,
            &new_selector,
            &old_selector,
        )
        .await?;
        let deadline = Deadline::after(self.timeout);
        let name = self.snapshot.service.name.clone();
        match watch::endpoints_moved(self.conn, &name, &expect, deadline, &mut self.progress)
            .await?
        {
            Ok(()) => {
                self.done.push(format!(
                    "verified: {name}'s endpoints hold only {colour_name} pods"
                ));
                Ok(())
            }
            Err(detail) => self.flip_back(plan, colour_name, previous, detail).await,
        }
    }

    /// Verification failed: put traffic back on `previous`, only if the Service is still as we
    /// left it, and restore the journal.
    async fn flip_back(
        &mut self,
        plan: &Plan,
        colour_name: &str,
        previous: &str,
        detail: String,
    ) -> Result<()> {
        let name = self.snapshot.service.name.clone();
        let label = self.snapshot.service.colour_label.clone();
        let current = match &self.service {
            Some(s) => Some(s.clone()),
            None => self.conn.get_opt::<Service>(&name).await?,
        };
        let rv = current.and_then(|s| s.metadata.resource_version);
        let failure = format!(
            "{}: traffic to {colour_name} not verified ({detail}); put back on {previous}",
            jiff::Timestamp::now()
        );
        let mut changes = match plan.flip() {
            Some(Action::Flip { undo, .. }) => undo.clone(),
            _ => {
                // Finishing an interrupted release: the flip back is a flip of its own.
                let mut c = Changes::new();
                c.insert(
                    journal::PREVIOUS_COLOUR.into(),
                    Some(colour_name.to_string()),
                );
                c.insert(journal::ACTION.into(), Some("revert".into()));
                c.insert(journal::STEP.into(), None);
                c.insert(journal::CLEANUP_AFTER.into(), None);
                c
            }
        };
        changes.insert(journal::LAST_FAILURE.into(), Some(failure));
        let patch = journal::flip_patch(rv.as_deref(), &label, previous, &changes);
        match requests::patch_service(self.conn, &name, &patch, false).await {
            Ok(written) => {
                self.service = Some(written);
                self.progress.say(&format!(
                    "flipped {name} back: {label}={colour_name} → {label}={previous}"
                ));
                self.event(
                    "Warning",
                    "FlipReverted",
                    &format!("{name}: {colour_name} not verified ({detail}); back to {previous}"),
                )
                .await;
                Err(Error::VerificationFailed {
                    service: name,
                    back: previous.to_string(),
                    detail,
                })
            }
            Err(Error::Conflict { .. }) => Err(Error::Conflict {
                detail: format!(
                    "traffic to {colour_name} was not verified ({detail}), and {name} was changed by someone else meanwhile, so it was NOT flipped back; check it with `kubectl bluegreen status {name}`"
                ),
            }),
            Err(e) => Err(e),
        }
    }
}

/// An object as a manifest fit for the journal.
fn manifest_of<K: serde::Serialize>(object: &K, api_version: &str, kind: &str) -> Result<Value> {
    let mut value = serde_json::to_value(object)
        .map_err(|e| Error::Internal(format!("cannot encode a manifest: {e}")))?;
    value["apiVersion"] = Value::String(api_version.to_string());
    value["kind"] = Value::String(kind.to_string());
    if let Some(meta) = value.get_mut("metadata").and_then(Value::as_object_mut) {
        meta.remove("namespace");
    }
    Ok(journal::strip_for_saving(value))
}
