//! Cleaning up the colour traffic left: scale it down or save and delete it, and bring it back
//! for rollback. Each change is recorded in the journal before it is made.

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Service;
use serde_json::Value;

use crate::error::{Error, Result};
use crate::execute::{Executor, requests};
use crate::journal::{self, Changes, Journal};
use crate::pair::discover::service_selector;

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
    pub(super) async fn scale_down(&mut self, deployment: &str, colour_name: &str) -> Result<()> {
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

    /// Saves the old colour's Deployment and test Services into the journal, then deletes them.
    pub(super) async fn delete(
        &mut self,
        deployment: Option<&str>,
        colour_name: &str,
        services: &[String],
    ) -> Result<()> {
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
            let mut manifest = manifest_of(d, "apps/v1", "Deployment")?;
            // A colour an earlier cleanup scaled down is saved with the count it served with,
            // so a rollback re-creates it serving, not at 0.
            if manifest["spec"]["replicas"].as_i64().unwrap_or(1) == 0 {
                let name = d.metadata.name.clone().unwrap_or_default();
                if let Some(count) = Journal::of(self.snapshot).scaled_down_replicas(&name) {
                    manifest["spec"]["replicas"] = Value::from(count);
                }
            }
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

    /// Re-creates what `--cleanup delete` removed, from the journal.
    pub(super) async fn recreate(&mut self, deployment: &str) -> Result<()> {
        let journal = Journal::of(self.snapshot);
        let Some(mut manifest) = journal.saved_deployment() else {
            return Err(Error::Refused {
                reason: format!("the journal holds no saved manifest of {deployment}"),
                hint: None,
            });
        };
        manifest["metadata"]["namespace"] = Value::String(self.conn.target.namespace.clone());
        // Never re-created at 0 replicas (a manifest saved before counts were kept): the count
        // it had when it last served, else one pod.
        if manifest["spec"]["replicas"].as_i64() == Some(0) {
            let count = journal.scaled_down_replicas(deployment).unwrap_or(1);
            manifest["spec"]["replicas"] = Value::from(count);
        }
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
        let all: Vec<String> = journal
            .saved_services()
            .iter()
            .filter_map(|s| s["metadata"]["name"].as_str().map(str::to_string))
            .collect();
        self.recreate_services(&all).await
    }

    /// Re-creates the named test Services from the manifests the journal saved.
    pub(super) async fn recreate_services(&mut self, names: &[String]) -> Result<()> {
        let journal = Journal::of(self.snapshot);
        let dry = if self.dry_run {
            " (server dry run)"
        } else {
            ""
        };
        for mut service in journal.saved_services() {
            let name = service["metadata"]["name"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            if !names.contains(&name) {
                continue;
            }
            service["metadata"]["namespace"] = Value::String(self.conn.target.namespace.clone());
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
