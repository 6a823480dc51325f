//! The changing requests of each plan action, defined once: the executor sends them,
//! `--dry-run` prints them and the permission pre-flight asks for each. A request is a pure
//! function of the plan, the journal it was made from and the values only known while the plan
//! runs ([`RunTime`]); without those values the request carries placeholders (`<now>`,
//! `<resourceVersion>`, ...), which is what `--dry-run` shows.

use serde_json::{Value, json};

use crate::pair::journal::{self, Changes, Journal};
use crate::plan::{Operation, Permission, Plan};

/// The field manager this plugin writes as, and the component of its Events.
pub(crate) const FIELD_MANAGER: &str = "kubectl-bluegreen";
/// The content type of a JSON merge patch.
pub(crate) const MERGE_PATCH: &str = "application/merge-patch+json";
/// The content type of a strategic merge patch.
pub(crate) const STRATEGIC_MERGE_PATCH: &str = "application/strategic-merge-patch+json";
/// The placeholder of the production Service's resourceVersion as last written or read.
pub(crate) const RESOURCE_VERSION: &str = "<resourceVersion>";
/// The placeholder of the time a request is sent.
pub(crate) const NOW: &str = "<now>";
/// The placeholder of the flip a release Event belongs to (`flipped-at`, in nanoseconds).
pub(crate) const FLIPPED_AT: &str = "<flipped-at>";

/// An HTTP method of a changing request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Method {
    /// Create.
    Post,
    /// Patch.
    Patch,
    /// Delete.
    Delete,
}

impl Method {
    /// The HTTP spelling.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Method::Post => "POST",
            Method::Patch => "PATCH",
            Method::Delete => "DELETE",
        }
    }

    /// The RBAC verb.
    pub(crate) fn verb(self) -> &'static str {
        match self {
            Method::Post => "create",
            Method::Patch => "patch",
            Method::Delete => "delete",
        }
    }
}

/// The kinds of object a plan creates or deletes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// `apps/v1` Deployment.
    Deployment,
    /// `v1` Service.
    Service,
}

impl Kind {
    fn group(self) -> &'static str {
        match self {
            Kind::Deployment => "apps",
            Kind::Service => "",
        }
    }

    fn plural(self) -> &'static str {
        match self {
            Kind::Deployment => "deployments",
            Kind::Service => "services",
        }
    }

    fn collection(self, namespace: &str) -> String {
        match self {
            Kind::Deployment => format!("/apis/apps/v1/namespaces/{namespace}/deployments"),
            Kind::Service => format!("/api/v1/namespaces/{namespace}/services"),
        }
    }
}

/// One changing request.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Request {
    /// A merge patch on a Service that moves its colour (and, for the production Service,
    /// writes the journal in the same request), guarded by its resourceVersion.
    Flip {
        /// The Service.
        service: String,
        /// The merge patch.
        patch: Value,
    },
    /// A merge patch of the production Service's journal annotations, guarded by the
    /// resourceVersion of the Service as last written or read.
    Journal {
        /// The production Service.
        service: String,
        /// The precondition.
        resource_version: Option<String>,
        /// The entries set and removed.
        changes: Changes,
    },
    /// A merge patch of a Deployment's `scale` subresource.
    Scale {
        /// The Deployment.
        deployment: String,
        /// The replica count.
        replicas: i32,
    },
    /// A strategic merge patch of a Deployment.
    PatchDeployment {
        /// The Deployment.
        deployment: String,
        /// The patch.
        patch: Value,
    },
    /// Creates an object from a manifest.
    Create {
        /// Its kind.
        kind: Kind,
        /// Its name.
        name: String,
        /// The manifest sent.
        manifest: Value,
    },
    /// Deletes an object, only if it still has the uid it was read with.
    Delete {
        /// Its kind.
        kind: Kind,
        /// Its name.
        name: String,
        /// The uid precondition.
        uid: Option<String>,
    },
    /// Records a core/v1 Event on the production Service.
    Event {
        /// The Event sent.
        event: Value,
    },
}

impl Request {
    /// The HTTP method.
    pub(crate) fn method(&self) -> Method {
        match self {
            Request::Flip { .. }
            | Request::Journal { .. }
            | Request::Scale { .. }
            | Request::PatchDeployment { .. } => Method::Patch,
            Request::Create { .. } | Request::Event { .. } => Method::Post,
            Request::Delete { .. } => Method::Delete,
        }
    }

    /// The URL path, without the query.
    pub(crate) fn path(&self, namespace: &str) -> String {
        let service = |name: &str| format!("{}/{name}", Kind::Service.collection(namespace));
        let deployment = |name: &str| format!("{}/{name}", Kind::Deployment.collection(namespace));
        match self {
            Request::Flip { service: name, .. } | Request::Journal { service: name, .. } => {
                service(name)
            }
            Request::Scale { deployment: d, .. } => format!("{}/scale", deployment(d)),
            Request::PatchDeployment { deployment: d, .. } => deployment(d),
            Request::Create { kind, .. } => kind.collection(namespace),
            Request::Delete { kind, name, .. } => format!("{}/{name}", kind.collection(namespace)),
            Request::Event { .. } => format!("/api/v1/namespaces/{namespace}/events"),
        }
    }

    /// The content type of the body.
    pub(crate) fn content_type(&self) -> &'static str {
        match self {
            Request::Flip { .. } | Request::Journal { .. } | Request::Scale { .. } => MERGE_PATCH,
            Request::PatchDeployment { .. } => STRATEGIC_MERGE_PATCH,
            Request::Create { .. } | Request::Delete { .. } | Request::Event { .. } => {
                "application/json"
            }
        }
    }

    /// The body sent.
    pub(crate) fn body(&self) -> Value {
        match self {
            Request::Flip { patch, .. } | Request::PatchDeployment { patch, .. } => patch.clone(),
            Request::Journal {
                resource_version,
                changes,
                ..
            } => journal::journal_patch_at(resource_version.as_deref(), changes),
            Request::Scale { replicas, .. } => json!({"spec": {"replicas": replicas}}),
            Request::Create { manifest, .. } => manifest.clone(),
            Request::Delete { uid, .. } => {
                let mut body = json!({"propagationPolicy": "Background"});
                if let Some(uid) = uid {
                    body["preconditions"] = json!({"uid": uid});
                }
                body
            }
            Request::Event { event } => event.clone(),
        }
    }

    /// The permission the request needs.
    pub(crate) fn permission(&self) -> Permission {
        let verb = self.method().verb();
        match self {
            Request::Flip { service, .. } | Request::Journal { service, .. } => {
                Permission::new(verb, "", "services", None, Some(service))
            }
            Request::Scale { deployment, .. } => {
                Permission::new(verb, "apps", "deployments", Some("scale"), Some(deployment))
            }
            Request::PatchDeployment { deployment, .. } => {
                Permission::new(verb, "apps", "deployments", None, Some(deployment))
            }
            // A create names no existing object: RBAC checks it without a name.
            Request::Create { kind, .. } => {
                Permission::new(verb, kind.group(), kind.plural(), None, None)
            }
            Request::Delete { kind, name, .. } => {
                Permission::new(verb, kind.group(), kind.plural(), None, Some(name))
            }
            Request::Event { .. } => Permission::new(verb, "", "events", None, None),
        }
    }

    /// The request on one line: method, path, content type, body.
    pub(crate) fn line(&self, namespace: &str) -> String {
        format!(
            "{} {} ({}) {}",
            self.method().as_str(),
            self.path(namespace),
            self.content_type(),
            self.body()
        )
    }
}

/// An object read just before a cleanup deletes it: its name, uid and manifest fit to save.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Found {
    /// Its name.
    pub name: String,
    /// Its uid.
    pub uid: Option<String>,
    /// Its manifest, as the journal saves it.
    pub manifest: Value,
}

/// What a cleanup by deletion found just before deleting.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct FoundForDelete {
    /// The Deployment, if it still exists.
    pub deployment: Option<Found>,
    /// The test Services that still exist.
    pub services: Vec<Found>,
}

/// The Service an Event is recorded on, as last written or read, and when.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct EventContext {
    /// The time of the Event.
    pub now: jiff::Timestamp,
    /// The Service's uid.
    pub uid: Option<String>,
    /// The Service's resourceVersion.
    pub resource_version: Option<String>,
    /// The `flipped-at` of the Service's journal: the flip a release Event belongs to.
    pub flipped_at: Option<jiff::Timestamp>,
}

/// The values a plan's requests take while it runs. Each one left `None` is shown as a
/// placeholder (or, for a replica count, as the plan saw it).
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct RunTime {
    /// The time the request is sent (`last-deploy`, `cleanup-after`).
    pub now: Option<jiff::Timestamp>,
    /// The production Service's resourceVersion as last written or read (journal writes).
    pub resource_version: Option<String>,
    /// The replica count of the Deployment a scale-down reads just before (what the journal
    /// remembers).
    pub replicas: Option<i32>,
    /// What a cleanup by deletion read just before.
    pub found: Option<FoundForDelete>,
    /// The Service an Event is recorded on.
    pub event: Option<EventContext>,
}

/// A journal write of `changes` on `plan`'s Service.
fn journal_write(plan: &Plan, at: &RunTime, changes: Changes) -> Request {
    Request::Journal {
        service: plan.service.clone(),
        resource_version: Some(
            at.resource_version
                .clone()
                .unwrap_or_else(|| RESOURCE_VERSION.to_string()),
        ),
        changes,
    }
}

fn now_text(at: &RunTime) -> String {
    at.now.map_or_else(|| NOW.to_string(), |t| t.to_string())
}

/// The flip of a Service to `to`, with journal `changes`, guarded by `resource_version`.
pub(crate) fn flip(
    service: &str,
    resource_version: Option<&str>,
    colour_label: &str,
    to: &str,
    changes: &Changes,
) -> Request {
    Request::Flip {
        service: service.to_string(),
        patch: journal::flip_patch(resource_version, colour_label, to, changes),
    }
}

/// An Event of `kind` (`Normal`, `Warning`) on the production Service.
pub(crate) fn event(
    namespace: &str,
    service: &str,
    kind: &str,
    reason: &str,
    message: &str,
    at: Option<&EventContext>,
) -> Request {
    let text = |v: Option<&Option<String>>, placeholder: &str| match v {
        Some(Some(v)) => Value::String(v.clone()),
        Some(None) => Value::Null,
        None => Value::String(placeholder.to_string()),
    };
    let now = at.map_or_else(|| NOW.to_string(), |c| c.now.to_string());
    let mut event = json!({
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": event_metadata(namespace, service, reason, at),
        "involvedObject": {
            "apiVersion": "v1",
            "kind": "Service",
            "name": service,
            "namespace": namespace,
            "uid": text(at.map(|c| &c.uid), "<uid>"),
            "resourceVersion": text(at.map(|c| &c.resource_version), RESOURCE_VERSION),
        },
        "reason": reason,
        "message": message,
        "type": kind,
        "count": 1,
        "firstTimestamp": now,
        "lastTimestamp": now,
        "reportingComponent": FIELD_MANAGER,
        "source": {
            "component": FIELD_MANAGER,
            "host": hostname(),
        },
    });
    strip_nulls(&mut event);
    Request::Event { event }
}

/// The name and namespace of an Event. The Event that ends a release (`Promoted`, `RolledBack`) is named
/// after the flip it belongs to, so a release finished twice (a second `promote` resuming one
/// still running, or a copy sent again after a lost answer) records it once: the second create
/// meets 409 AlreadyExists. Other Events get a generated name.
fn event_metadata(
    namespace: &str,
    service: &str,
    reason: &str,
    at: Option<&EventContext>,
) -> Value {
    let generated = json!({"generateName": format!("{service}."), "namespace": namespace});
    if !matches!(reason, "Promoted" | "RolledBack") {
        return generated;
    }
    let flip = match at {
        None => Some(FLIPPED_AT.to_string()),
        Some(c) => c.flipped_at.map(|t| t.as_nanosecond().to_string()),
    };
    match flip {
        Some(flip) => json!({
            "name": format!("{service}.{}.{flip}", reason.to_lowercase()),
            "namespace": namespace,
        }),
        None => generated,
    }
}

/// The host Events come from.
fn hostname() -> Option<String> {
    std::env::var("HOSTNAME").ok().filter(|h| !h.is_empty())
}

/// Removes `null` fields, as a typed object leaves out the ones it does not have.
fn strip_nulls(value: &mut Value) {
    if let Some(map) = value.as_object_mut() {
        map.retain(|_, v| !v.is_null());
        map.values_mut().for_each(strip_nulls);
    }
}

/// The changing requests `action` of `plan` sends, in order; `journal` is what the plan was
/// made from (the manifests a rollback re-creates).
pub(crate) fn of(plan: &Plan, journal: &Journal, action: &Operation, at: &RunTime) -> Vec<Request> {
    let ns = plan.namespace.as_str();
    let with_namespace = |manifest: &Value| {
        let mut manifest = manifest.clone();
        manifest["metadata"]["namespace"] = Value::String(ns.to_string());
        manifest
    };
    let recreate_services = |names: &[String]| -> Vec<Request> {
        journal
            .saved_services()
            .iter()
            .filter_map(|s| {
                let name = s["metadata"]["name"].as_str()?;
                names.iter().any(|n| n == name).then(|| Request::Create {
                    kind: Kind::Service,
                    name: name.to_string(),
                    manifest: with_namespace(s),
                })
            })
            .collect()
    };
    match action {
        Operation::ScaleUp {
            deployment,
            replicas,
            ..
        } => vec![Request::Scale {
            deployment: deployment.clone(),
            replicas: *replicas,
        }],
        Operation::Recreate {
            deployment,
            services,
            ..
        } => {
            let mut out = Vec::new();
            if let Some(saved) = journal.saved_deployment() {
                let mut manifest = with_namespace(&saved);
                // Never re-created at 0 replicas (a manifest saved before counts were kept):
                // the count it had when it last served, else one pod.
                if manifest["spec"]["replicas"].as_i64() == Some(0) {
                    let count = journal.scaled_down_replicas(deployment).unwrap_or(1);
                    manifest["spec"]["replicas"] = Value::from(count);
                }
                out.push(Request::Create {
                    kind: Kind::Deployment,
                    name: deployment.clone(),
                    manifest,
                });
            }
            out.extend(recreate_services(services));
            out
        }
        Operation::RecreateServices { services, .. } => recreate_services(services),
        Operation::WaitAvailable { .. }
        | Operation::Verify { .. }
        | Operation::VerifyService { .. }
        | Operation::Delay { .. } => Vec::new(),
        Operation::Flip {
            to,
            colour_label,
            resource_version,
            journal: changes,
            ..
        } => {
            // The flip happens when it is sent, not when it was planned.
            let mut changes = changes.clone();
            if let Some(Some(when)) = changes.get_mut(journal::FLIPPED_AT) {
                *when = now_text(at);
            }
            vec![flip(
                &plan.service,
                resource_version.as_deref(),
                colour_label,
                to,
                &changes,
            )]
        }
        Operation::FlipService {
            service,
            to,
            colour_label,
            resource_version,
            ..
        } => vec![flip(
            service,
            resource_version.as_deref(),
            colour_label,
            to,
            &Changes::new(),
        )],
        Operation::CreateDeployment {
            deployment,
            manifest,
            ..
        } => vec![Request::Create {
            kind: Kind::Deployment,
            name: deployment.clone(),
            manifest: with_namespace(manifest),
        }],
        Operation::PatchDeployment {
            deployment, patch, ..
        } => vec![Request::PatchDeployment {
            deployment: deployment.clone(),
            patch: patch.clone(),
        }],
        Operation::CreateService {
            service, manifest, ..
        } => vec![Request::Create {
            kind: Kind::Service,
            name: service.clone(),
            manifest: with_namespace(manifest),
        }],
        Operation::RecordDeploy { colour, images } => {
            let mut changes = Changes::new();
            changes.insert(
                journal::LAST_DEPLOY.into(),
                Some(format!("{} {colour}: {images}", now_text(at))),
            );
            vec![journal_write(plan, at, changes)]
        }
        Operation::MarkCleanupPending { policy, delay, .. } => {
            let after = match at.now {
                Some(now) => {
                    (now + jiff::SignedDuration::try_from(*delay).unwrap_or_default()).to_string()
                }
                None => format!("<now + {}>", crate::duration::humanize(*delay)),
            };
            let mut changes = Changes::new();
            changes.insert(
                journal::STEP.into(),
                Some(journal::Step::Cleanup.to_string()),
            );
            changes.insert(journal::CLEANUP_POLICY.into(), Some(policy.to_string()));
            changes.insert(journal::CLEANUP_AFTER.into(), Some(after));
            vec![journal_write(plan, at, changes)]
        }
        Operation::ScaleDown {
            deployment,
            replicas,
            ..
        } => {
            // Remember the count before changing it, so an interruption in between loses
            // nothing.
            let count = at.replicas.unwrap_or(*replicas);
            let mut changes = Changes::new();
            changes.insert(
                journal::SCALED_DOWN_DEPLOYMENT.into(),
                Some(deployment.clone()),
            );
            changes.insert(
                journal::SCALED_DOWN_REPLICAS.into(),
                Some(count.to_string()),
            );
            vec![
                journal_write(plan, at, changes),
                Request::Scale {
                    deployment: deployment.clone(),
                    replicas: 0,
                },
            ]
        }
        Operation::Delete {
            deployment,
            services,
            ..
        } => {
            let found = at.found.clone().unwrap_or_else(|| FoundForDelete {
                deployment: deployment.as_ref().map(|d| Found {
                    name: d.clone(),
                    uid: Some("<uid>".into()),
                    manifest: Value::String(format!("<manifest of {d}>")),
                }),
                services: services
                    .iter()
                    .filter(|s| **s != plan.service)
                    .map(|s| Found {
                        name: s.clone(),
                        uid: Some("<uid>".into()),
                        manifest: Value::String(format!("<manifest of {s}>")),
                    })
                    .collect(),
            });
            delete_requests(plan, journal, at, &found)
        }
        Operation::MarkDone => {
            let mut changes = Changes::new();
            changes.insert(journal::STEP.into(), None);
            changes.insert(journal::CLEANUP_AFTER.into(), None);
            vec![journal_write(plan, at, changes)]
        }
        Operation::Event { reason, message } => vec![event(
            ns,
            &plan.service,
            "Normal",
            reason,
            message,
            at.event.as_ref(),
        )],
    }
}

/// Save first (rollback re-creates from the journal), then delete.
fn delete_requests(
    plan: &Plan,
    journal: &Journal,
    at: &RunTime,
    found: &FoundForDelete,
) -> Vec<Request> {
    let mut changes = Changes::new();
    if let Some(d) = &found.deployment {
        let mut manifest = d.manifest.clone();
        // A colour an earlier cleanup scaled down is saved with the count it served with, so a
        // rollback re-creates it serving, not at 0.
        if manifest["spec"]["replicas"].as_i64().unwrap_or(1) == 0
            && let Some(count) = journal.scaled_down_replicas(&d.name)
        {
            manifest["spec"]["replicas"] = Value::from(count);
        }
        changes.insert(journal::SAVED_DEPLOYMENT.into(), Some(text_of(&manifest)));
    }
    if !found.services.is_empty() {
        let mut saved: Vec<Value> = journal
            .saved_services()
            .into_iter()
            .filter(|v| {
                let name = v["metadata"]["name"].as_str().unwrap_or_default();
                !found.services.iter().any(|s| s.name == name)
            })
            .collect();
        saved.extend(found.services.iter().map(|s| s.manifest.clone()));
        let text = match saved.as_slice() {
            // Only placeholders: one placeholder for the whole array.
            all if all.iter().all(Value::is_string) => format!(
                "<[{}]>",
                all.iter()
                    .filter_map(Value::as_str)
                    .map(|s| s.trim_matches(['<', '>']))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            _ => Value::Array(saved).to_string(),
        };
        changes.insert(journal::SAVED_SERVICES.into(), Some(text));
    }
    let mut out = Vec::new();
    if !changes.is_empty() {
        out.push(journal_write(plan, at, changes));
    }
    if let Some(d) = &found.deployment {
        out.push(Request::Delete {
            kind: Kind::Deployment,
            name: d.name.clone(),
            uid: d.uid.clone(),
        });
    }
    for s in &found.services {
        out.push(Request::Delete {
            kind: Kind::Service,
            name: s.name.clone(),
            uid: s.uid.clone(),
        });
    }
    out
}

/// A manifest as the journal stores it: JSON text, or the placeholder itself.
fn text_of(manifest: &Value) -> String {
    match manifest {
        Value::String(placeholder) => placeholder.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::tests::{classic_snapshot, options};
    use crate::plan::{CleanupPolicy, Outcome, ReleaseCommand, plan as decide};

    fn promote_plan(policy: CleanupPolicy) -> (Plan, Journal) {
        let s = classic_snapshot();
        let mut o = options(ReleaseCommand::Promote);
        o.policy = Some(policy);
        let Outcome::Proceed(plan) = decide(&s, &o) else {
            panic!("expected a plan");
        };
        (plan, Journal::of(&s))
    }

    #[test]
    fn run_time_values_replace_the_placeholders() {
        let (plan, journal) = promote_plan(CleanupPolicy::ScaleDown);
        let pending = plan
            .steps
            .iter()
            .find(|s| matches!(s.action, Operation::MarkCleanupPending { .. }))
            .expect("a pending mark");
        let shown = of(&plan, &journal, &pending.action, &RunTime::default());
        assert!(
            shown[0].body().to_string().contains("<now + 30s>"),
            "{shown:?}"
        );
        assert!(shown[0].body().to_string().contains(RESOURCE_VERSION));
        let now: jiff::Timestamp = "2026-01-01T12:00:00Z".parse().expect("a time");
        let at = RunTime {
            now: Some(now),
            resource_version: Some("41".into()),
            ..RunTime::default()
        };
        let sent = of(&plan, &journal, &pending.action, &at);
        assert_eq!(
            sent[0].body(),
            json!({"metadata": {"resourceVersion": "41", "annotations": {
                "bluegreen.dev/step": "cleanup",
                "bluegreen.dev/cleanup-policy": "scale-down",
                "bluegreen.dev/cleanup-after": "2026-01-01T12:00:30Z",
            }}})
        );
        let down = plan
            .steps
            .iter()
            .find(|s| matches!(s.action, Operation::ScaleDown { .. }))
            .expect("a scale-down");
        let at = RunTime {
            replicas: Some(5),
            ..RunTime::default()
        };
        let sent = of(&plan, &journal, &down.action, &at);
        assert_eq!(
            sent[0].body()["metadata"]["annotations"]["bluegreen.dev/scaled-down-replicas"],
            "5"
        );
        assert_eq!(
            sent[1].line("default"),
            "PATCH /apis/apps/v1/namespaces/default/deployments/bluedeploy/scale (application/merge-patch+json) {\"spec\":{\"replicas\":0}}"
        );
    }

    #[test]
    fn permissions_follow_from_the_requests() {
        let (plan, journal) = promote_plan(CleanupPolicy::Delete);
        let shown: Vec<String> = plan
            .steps
            .iter()
            .flat_map(|s| of(&plan, &journal, &s.action, &RunTime::default()))
            .map(|r| r.permission().to_string())
            .collect();
        assert!(shown.contains(&"patch services blueservice".to_string()));
        assert!(shown.contains(&"delete deployments.apps bluedeploy".to_string()));
        assert!(shown.contains(&"create events".to_string()));
        let listed: Vec<String> = plan
            .permissions(&journal)
            .iter()
            .map(ToString::to_string)
            .collect();
        for p in &shown {
            assert!(listed.contains(p), "{p} in {listed:?}");
        }
    }
}
