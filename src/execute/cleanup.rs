//! Cleaning up the colour traffic left: scale it down or save and delete it, and bring it back
//! for rollback. Each change is recorded in the journal before it is made.

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Service;
use serde_json::Value;

use crate::error::{Error, Result};
use crate::execute::Executor;
use crate::pair::discover::service_selector;
use crate::pair::journal::{self, Journal};
use crate::plan::requests::{Found, FoundForDelete, Kind, Request, RunTime};
use crate::plan::{Operation, Plan};

impl Executor<'_> {
    /// The Service as it is now, checked not to select `colour`: the live colour is never
    /// scaled down or deleted, even if someone flipped the Service since the plan was made.
    pub(super) async fn guard_not_live(&mut self, colour_name: &str) -> Result<()> {
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

    /// Scales the old colour's Deployment to 0, remembering its replica count first.
    pub(super) async fn scale_down(
        &mut self,
        plan: &Plan,
        action: &Operation,
        deployment: &str,
        colour_name: &str,
    ) -> Result<()> {
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
        let at = RunTime {
            replicas: Some(replicas),
            ..RunTime::default()
        };
        self.send_all(plan, action, &at).await?;
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

    /// Saves the old colour's Deployment and test Services into the journal, then deletes them.
    pub(super) async fn delete(
        &mut self,
        plan: &Plan,
        action: &Operation,
        deployment: Option<&str>,
        colour_name: &str,
        services: &[String],
    ) -> Result<()> {
        let mut found = FoundForDelete::default();
        if let Some(d) = deployment
            && let Some(current) = self.conn.get_opt::<Deployment>(d).await?
        {
            found.deployment = Some(Found {
                name: d.to_string(),
                uid: current.metadata.uid.clone(),
                manifest: manifest_of(&current, "apps/v1", "Deployment")?,
            });
        }
        for s in services {
            if s == &self.snapshot.service.name {
                continue;
            }
            if let Some(current) = self.conn.get_opt::<Service>(s).await? {
                found.services.push(Found {
                    name: s.clone(),
                    uid: current.metadata.uid.clone(),
                    manifest: manifest_of(&current, "v1", "Service")?,
                });
            }
        }
        let at = RunTime {
            found: Some(found.clone()),
            ..RunTime::default()
        };
        self.send_all(plan, action, &at).await?;
        let dry = if self.dry_run {
            " (server dry run)"
        } else {
            ""
        };
        if let Some(d) = &found.deployment {
            self.record(format!(
                "deleted Deployment {} ({colour_name}); its manifest is saved in the journal{dry}",
                d.name
            ));
        }
        for s in &found.services {
            self.record(format!(
                "deleted test Service {}; its manifest is saved in the journal{dry}",
                s.name
            ));
        }
        Ok(())
    }

    /// Re-creates what `--cleanup delete` removed, from the journal.
    pub(super) async fn recreate(&mut self, plan: &Plan, action: &Operation) -> Result<()> {
        if let Operation::Recreate { deployment, .. } = action
            && Journal::of(self.snapshot).saved_deployment().is_none()
        {
            return Err(Error::Refused {
                reason: format!("the journal holds no saved manifest of {deployment}"),
                hint: None,
            });
        }
        let dry = if self.dry_run {
            " (server dry run)"
        } else {
            ""
        };
        for request in self.requests_of(plan, action, &RunTime::default()) {
            let created = self.send(&request).await?;
            let (what, name) = match &request {
                Request::Create {
                    kind: Kind::Deployment,
                    name,
                    ..
                } => ("Deployment", name),
                Request::Create { name, .. } => ("test Service", name),
                _ => continue,
            };
            self.record(if created {
                format!("re-created {what} {name} from the journal{dry}")
            } else {
                let what = what.trim_start_matches("test ");
                format!("{what} {name} already exists; kept as it is")
            });
        }
        Ok(())
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
