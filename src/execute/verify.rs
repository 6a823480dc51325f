//! After the flip: verifying the endpoints, and putting traffic back when they do not move.

use k8s_openapi::api::core::v1::Service;

use crate::error::{Error, Result};
use crate::execute::{Executor, watch};
use crate::pair::journal::{self, Changes};
use crate::plan::requests::flip;
use crate::plan::{Operation, Plan};
use crate::progress::Deadline;

impl Executor<'_> {
    /// Waits until the Service's EndpointSlices hold `colour_name`'s ready pods and none of
    /// `previous`'s; flips back when that does not happen within the timeout.
    pub(super) async fn verify(
        &mut self,
        plan: &Plan,
        colour_name: &str,
        previous: &str,
    ) -> Result<()> {
        let new_selector = self.selector_of(colour_name);
        let old_selector = self.selector_of(previous);
        let expect = watch::expectation(
            self.conn,
            colour_name,
            previous,
            &new_selector,
            &old_selector,
            self.snapshot
                .service
                .ports
                .iter()
                .map(|p| p.name.clone())
                .collect(),
        )
        .await?;
        let deadline = Deadline::after(self.timeout);
        let name = self.snapshot.service.name.clone();
        let label = self.snapshot.service.colour_label.clone();
        let verified = tokio::select! {
            outcome = watch::endpoints_moved(self.conn, &name, &expect, deadline, &mut self.progress) => outcome?,
            now = super::watch::selector_moved_away(self.conn, &name, &label, colour_name) => {
                return Err(super::moved_by_someone_else(&name, colour_name, &now, "while its endpoints were being verified"));
            }
        };
        match verified {
            Ok(()) => {
                self.verified_serving = Some(expect.ready_needed.max(1));
                self.done.push(format!(
                    "verified: {name}'s endpoints hold only {colour_name} pods"
                ));
                Ok(())
            }
            Err(detail) => self.flip_back(plan, colour_name, previous, detail).await,
        }
    }

    /// Waits until another Service this run flipped holds `colour_name`'s ready pods and none
    /// of `previous`'s; flips everything back when that does not happen in time.
    pub(super) async fn verify_other(
        &mut self,
        plan: &Plan,
        service: &str,
        colour_name: &str,
        previous: &str,
    ) -> Result<()> {
        let expect = watch::expectation(
            self.conn,
            colour_name,
            previous,
            &self.selector_of(colour_name),
            &self.selector_of(previous),
            Vec::new(),
        )
        .await?;
        let deadline = Deadline::after(self.timeout);
        match watch::endpoints_moved(self.conn, service, &expect, deadline, &mut self.progress)
            .await?
        {
            Ok(()) => {
                self.done.push(format!(
                    "verified: {service}'s endpoints hold only {colour_name} pods"
                ));
                Ok(())
            }
            Err(detail) => {
                self.flip_back(plan, colour_name, previous, format!("{service}: {detail}"))
                    .await
            }
        }
    }

    /// Puts back the other Services this run flipped, each only if unchanged since.
    async fn restore_moved(&mut self) {
        for (service, from, label) in std::mem::take(&mut self.moved) {
            let current = self.conn.get_opt::<Service>(&service).await.ok().flatten();
            let rv = current.and_then(|s| s.metadata.resource_version);
            let request = flip(&service, rv.as_deref(), &label, &from, &Changes::new());
            match self.send(&request).await {
                Ok(_) => self
                    .progress
                    .say(&format!("flipped {service} back to {label}={from}")),
                Err(e) => self.progress.say(&format!(
                    "warning: could not flip {service} back to {label}={from}: {e}"
                )),
            }
        }
    }

    /// Verification failed: put traffic back on `previous`, only if the Service is still as we
    /// left it, and restore the journal.
    pub(super) async fn flip_back(
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
            Some(Operation::Flip { undo, .. }) => undo.clone(),
            _ => {
                // Finishing an interrupted release: the flip back is a flip of its own.
                let mut c = Changes::new();
                c.insert(
                    journal::PREVIOUS_COLOUR.into(),
                    Some(colour_name.to_string()),
                );
                c.insert(
                    journal::ACTION.into(),
                    Some(journal::FlipAction::Revert.to_string()),
                );
                c.insert(journal::STEP.into(), None);
                c.insert(journal::CLEANUP_AFTER.into(), None);
                c
            }
        };
        changes.insert(journal::LAST_FAILURE.into(), Some(failure));
        self.restore_moved().await;
        match self
            .send(&flip(&name, rv.as_deref(), &label, previous, &changes))
            .await
        {
            Ok(_) => {
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
