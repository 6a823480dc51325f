//! The old colour is cleaned up only while the live colour serves: checked right before the
//! scale-down or deletion and watched throughout the grace period before it. See
//! docs/release-commands.md, "Cleanup only while the new colour serves".

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Service;
use k8s_openapi::api::discovery::v1::EndpointSlice;

use crate::error::{Error, Result};
use crate::execute::Executor;
use crate::execute::watch::{self, Expectation, Tally};
use crate::pair::snapshot::deployment_summary;
use crate::plan::{Plan, colour};

impl Executor<'_> {
    /// What the live colour must keep serving for `old` to be cleaned up: on every port of the
    /// Service, as many ready addresses as verification saw in this run, or, when this run did
    /// not verify (a later `cleanup`), as many as the live Deployment wants.
    pub(super) async fn serving_expectation(&self, live: &str, old: &str) -> Result<Expectation> {
        let ports = self
            .snapshot
            .service
            .ports
            .iter()
            .map(|p| p.name.clone())
            .collect();
        let mut expect = watch::expectation(
            self.conn,
            live,
            old,
            &self.selector_of(live),
            &self.selector_of(old),
            ports,
        )
        .await?;
        expect.ready_needed = match self.verified_serving {
            Some(seen) => seen,
            None => colour(self.snapshot, live)
                .and_then(|c| c.deployment.as_ref())
                .map_or(1, |d| d.desired.max(1) as usize),
        };
        // The old colour's addresses still in the slices do not matter here.
        Ok(expect)
    }

    /// Checks, right before `old` is scaled down or deleted, that the live colour still serves.
    pub(super) async fn guard_live_serves(&mut self, plan: &Plan, old: &str) -> Result<()> {
        if self.dry_run {
            return Ok(());
        }
        let live = self.live_now(old);
        let expect = self.serving_expectation(&live, old).await?;
        let slices = self
            .conn
            .list::<EndpointSlice>(Some(&format!(
                "kubernetes.io/service-name={}",
                self.snapshot.service.name
            )))
            .await?;
        let tally = expect.tally(slices.iter());
        if tally.new_ready >= expect.ready_needed.max(1) {
            return Ok(());
        }
        Err(self.hold_cleanup(plan, &expect, &tally).await)
    }

    /// The colour the Service selected when last read (never `old`: [`Self::guard_not_live`]
    /// runs first).
    pub(super) fn live_now(&self, old: &str) -> String {
        let label = &self.snapshot.service.colour_label;
        self.service
            .as_ref()
            .and_then(|s| {
                crate::pair::discover::service_selector(s)
                    .get(label)
                    .cloned()
            })
            .or_else(|| self.flipped_to.clone())
            .unwrap_or_else(|| {
                if self.snapshot.live_colour == old {
                    self.snapshot.idle_colour.clone()
                } else {
                    self.snapshot.live_colour.clone()
                }
            })
    }

    /// The live colour stopped serving as verified before the cleanup: stop without touching
    /// the old colour. When this run moved the traffic and the old colour is still fully
    /// available, traffic goes back to it as a failed verification would put it back: on a real
    /// cluster pods turn unready one after another, so waiting for "none left" would wait into
    /// an outage. Otherwise (a later `cleanup`, or the old colour no longer fully available)
    /// the Service is left as it is.
    pub(super) async fn hold_cleanup(
        &mut self,
        plan: &Plan,
        expect: &Expectation,
        tally: &Tally,
    ) -> Error {
        let service = self.snapshot.service.name.clone();
        let live = expect.colour.clone();
        let old = expect.previous.clone();
        // The endpoints may have moved because someone else flipped the Service (a colleague's
        // rollback): then this is their release now, and nothing here touches it.
        let label = self.snapshot.service.colour_label.clone();
        if let Ok(Some(current)) = self.conn.get_opt::<Service>(&service).await {
            let now = crate::pair::discover::service_selector(&current)
                .get(&label)
                .cloned()
                .unwrap_or_default();
            if now != live {
                self.progress
                    .done("stopped waiting: the Service was flipped by someone else");
                let waiting = format!(
                    "during the wait before the cleanup; {now} is live and will not be touched"
                );
                return super::moved_by_someone_else(&service, &live, &now, &waiting);
            }
        }
        let detail = format!(
            "{live} no longer serves as it did when verified: {}",
            expect.describe(&service, tally)
        );
        self.progress
            .done(&format!("not cleaning up {old}: {detail}"));
        if self.flipped_to.as_deref() == Some(live.as_str())
            && plan.flip().is_some()
            && self.fully_available(&old).await
        {
            return match self.flip_back(plan, &live, &old, detail).await {
                Ok(()) => Error::Internal("flip back reported success".into()),
                Err(e) => e,
            };
        }
        self.event(
            "Warning",
            "CleanupHeld",
            &format!("{service}: {old} not cleaned up: {detail}"),
        )
        .await;
        Error::CleanupHeld {
            service,
            live,
            old,
            detail,
        }
    }

    /// Whether `colour_name`'s Deployment is fully available now. Deliberately not the
    /// readiness test of the plan and the waits ([`crate::plan::readiness`]): this only
    /// decides, once the colour just verified has stopped serving, whether going back beats
    /// staying, and a colour that served until a moment ago with every replica available does,
    /// even if one of its pods restarted in the last minutes.
    async fn fully_available(&self, colour_name: &str) -> bool {
        let Some(name) = colour(self.snapshot, colour_name)
            .and_then(|c| c.deployment.as_ref())
            .map(|d| d.name.clone())
        else {
            return false;
        };
        match self.conn.get_opt::<Deployment>(&name).await {
            Ok(Some(d)) => {
                let d = deployment_summary(&d);
                d.desired > 0 && d.rollout_complete && d.ready >= d.desired
            }
            _ => false,
        }
    }
}
