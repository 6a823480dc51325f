//! The journal: what promote, rollback and cleanup need to know later, kept as annotations
//! under [`JOURNAL_PREFIX`] on the production Service, so any machine, any later day, reads the
//! same story.
//!
//! | key (after `bluegreen.dev/`) | value |
//! |---|---|
//! | `previous-colour` | the colour that was live before the last flip (what `rollback` returns to) |
//! | `previous-selector` | the Service's whole selector before the last flip (JSON object) |
//! | `previous-deployment` | the Deployment of `previous-colour` at the flip |
//! | `previous-images` | that Deployment's container images at the flip (JSON array) |
//! | `flipped-at` | when the last flip happened (RFC 3339) |
//! | `action` | the command that made the last flip: `promote` or `rollback` |
//! | `step` | the step in progress: `verify` (flipped, endpoints not yet verified) or `cleanup` (verified, cleanup of the previous colour pending); absent when nothing is in progress |
//! | `cleanup-policy` | the cleanup policy chosen for the previous colour: `scale-down`, `delete` or `none` |
//! | `cleanup-after` | the earliest time the pending cleanup may run (flip time + `--scale-down-delay`, RFC 3339) |
//! | `scaled-down-deployment` | the Deployment the last cleanup scaled to 0 |
//! | `scaled-down-replicas` | its replica count before that (what `rollback` restores) |
//! | `saved-deployment` | the manifest of the Deployment `--cleanup delete` removed (JSON) |
//! | `saved-services` | the manifests of the test Services it removed (JSON array) |
//! | `last-failure` | why the last flip was undone (verification failed), with the time |
//! | `test-services` | the Services with a colour's exact selector that were test Services at the last flip (JSON array) |
//! | `entry-points` | the Services with a colour's exact selector that were other ways into production at the last flip (JSON array) |
//! | `previous-template` | a digest of `previous-deployment`'s pod template at the flip: a scaled-down colour whose template changed since is not known to become ready |
//! | `last-deploy` | what the last `deploy` put on which colour, and when: `<time> <colour>: <container>=<image>,...` |
//! | `colour-label` | the selector key that carries the colour, recorded at every flip: later commands use it without `--label` |
//! | `colours` | the two colour values (JSON array, `--colors` order), recorded at every flip: later commands use them without `--colors` |
//! | `moved-services` | the other Services the last flip moved along with the production Service (`--also-flip`; JSON array): rollback moves them back |
//!
//! Every write is one merge patch on the Service; a flip writes the journal in the same request
//! that changes the selector.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use crate::pair::JOURNAL_PREFIX;
use crate::pair::snapshot::Snapshot;

/// `previous-colour`.
pub const PREVIOUS_COLOUR: &str = "previous-colour";
/// `previous-selector`.
pub const PREVIOUS_SELECTOR: &str = "previous-selector";
/// `previous-deployment`.
pub const PREVIOUS_DEPLOYMENT: &str = "previous-deployment";
/// `previous-images`.
pub const PREVIOUS_IMAGES: &str = "previous-images";
/// `flipped-at`.
pub const FLIPPED_AT: &str = "flipped-at";
/// `action`.
pub const ACTION: &str = "action";
/// `step`.
pub const STEP: &str = "step";
/// `cleanup-policy`.
pub const CLEANUP_POLICY: &str = "cleanup-policy";
/// `cleanup-after`.
pub const CLEANUP_AFTER: &str = "cleanup-after";
/// `scaled-down-deployment`.
pub const SCALED_DOWN_DEPLOYMENT: &str = "scaled-down-deployment";
/// `scaled-down-replicas`.
pub const SCALED_DOWN_REPLICAS: &str = "scaled-down-replicas";
/// `saved-deployment`.
pub const SAVED_DEPLOYMENT: &str = "saved-deployment";
/// `saved-services`.
pub const SAVED_SERVICES: &str = "saved-services";
/// `last-failure`.
pub const LAST_FAILURE: &str = "last-failure";
/// `test-services`.
pub const TEST_SERVICES: &str = "test-services";
/// `entry-points`.
pub const ENTRY_POINTS: &str = "entry-points";
/// `moved-services`.
pub const MOVED_SERVICES: &str = "moved-services";
/// `previous-template`.
pub const PREVIOUS_TEMPLATE: &str = "previous-template";
/// `last-deploy`.
pub const LAST_DEPLOY: &str = "last-deploy";
/// `colour-label`.
pub const COLOUR_LABEL: &str = "colour-label";
/// `colours`.
pub const COLOURS: &str = "colours";

/// Every key this plugin writes.
pub const KEYS: &[&str] = &[
    PREVIOUS_COLOUR,
    PREVIOUS_SELECTOR,
    PREVIOUS_DEPLOYMENT,
    PREVIOUS_IMAGES,
    FLIPPED_AT,
    ACTION,
    STEP,
    CLEANUP_POLICY,
    CLEANUP_AFTER,
    SCALED_DOWN_DEPLOYMENT,
    SCALED_DOWN_REPLICAS,
    SAVED_DEPLOYMENT,
    SAVED_SERVICES,
    LAST_FAILURE,
    TEST_SERVICES,
    ENTRY_POINTS,
    MOVED_SERVICES,
    COLOUR_LABEL,
    COLOURS,
    LAST_DEPLOY,
    PREVIOUS_TEMPLATE,
];

/// `step` while a flip waits for its endpoints.
pub const STEP_VERIFY: &str = "verify";
/// `step` while the cleanup of the previous colour is pending.
pub const STEP_CLEANUP: &str = "cleanup";

/// Changes to the journal: `Some` sets a key, `None` removes it. Keys without prefix.
pub type Changes = BTreeMap<String, Option<String>>;

/// What the journal says, decoded from a snapshot's annotations.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Journal {
    /// The raw entries, without prefix.
    pub entries: BTreeMap<String, String>,
}

impl Journal {
    /// The journal of a snapshot.
    pub fn of(snapshot: &Snapshot) -> Journal {
        Journal {
            entries: snapshot.service.journal.clone(),
        }
    }

    /// One entry.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.entries
            .get(key)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    /// The colour that was live before the last flip.
    pub fn previous_colour(&self) -> Option<&str> {
        self.get(PREVIOUS_COLOUR)
    }

    /// The step in progress, if any.
    pub fn step(&self) -> Option<&str> {
        self.get(STEP)
    }

    /// The command that made the last flip.
    pub fn action(&self) -> Option<&str> {
        self.get(ACTION)
    }

    /// The previous colour's images at the flip.
    pub fn previous_images(&self) -> Option<Vec<String>> {
        self.get(PREVIOUS_IMAGES)
            .and_then(|v| serde_json::from_str(v).ok())
    }

    /// The replica count remembered for `deployment`, if the last scale-down was of it.
    pub fn scaled_down_replicas(&self, deployment: &str) -> Option<i32> {
        if self.get(SCALED_DOWN_DEPLOYMENT) != Some(deployment) {
            return None;
        }
        self.get(SCALED_DOWN_REPLICAS)
            .and_then(|v| v.parse::<i32>().ok())
            .filter(|r| *r > 0)
    }

    /// The saved Deployment manifest, if `--cleanup delete` removed one.
    pub fn saved_deployment(&self) -> Option<Value> {
        self.get(SAVED_DEPLOYMENT)
            .and_then(|v| serde_json::from_str::<Value>(v).ok())
            .filter(Value::is_object)
    }

    /// The saved test Service manifests.
    pub fn saved_services(&self) -> Vec<Value> {
        self.get(SAVED_SERVICES)
            .and_then(|v| serde_json::from_str::<Vec<Value>>(v).ok())
            .unwrap_or_default()
    }

    /// When the pending cleanup may run.
    pub fn cleanup_after(&self) -> Option<jiff::Timestamp> {
        self.get(CLEANUP_AFTER).and_then(|v| v.parse().ok())
    }

    /// When the last flip happened.
    pub fn flipped_at(&self) -> Option<&str> {
        self.get(FLIPPED_AT)
    }
}

/// The `metadata.annotations` object of a merge patch applying `changes` (removals as `null`).
pub fn annotations_patch(changes: &Changes) -> Value {
    let mut map = Map::new();
    for (key, value) in changes {
        let full = format!("{JOURNAL_PREFIX}{key}");
        map.insert(
            full,
            value
                .as_ref()
                .map_or(Value::Null, |v| Value::String(v.clone())),
        );
    }
    Value::Object(map)
}

/// A merge patch that changes only the journal.
pub fn journal_patch(changes: &Changes) -> Value {
    json!({"metadata": {"annotations": annotations_patch(changes)}})
}

/// Journal entries as a merge patch that carries `resource_version` (when known) as a
/// precondition: the server applies it only to the Service as it was last seen.
pub fn journal_patch_at(resource_version: Option<&str>, changes: &Changes) -> Value {
    let mut patch = journal_patch(changes);
    if let Some(rv) = resource_version {
        patch["metadata"]["resourceVersion"] = Value::String(rv.to_string());
    }
    patch
}

/// The flip: one merge patch that sets the colour key, writes the journal and carries the
/// Service's resourceVersion, which the API server treats as a precondition (409 Conflict when
/// the Service changed since it was read).
pub fn flip_patch(
    resource_version: Option<&str>,
    colour_label: &str,
    colour: &str,
    changes: &Changes,
) -> Value {
    let mut metadata = Map::new();
    if let Some(rv) = resource_version {
        metadata.insert("resourceVersion".into(), Value::String(rv.to_string()));
    }
    metadata.insert("annotations".into(), annotations_patch(changes));
    json!({
        "metadata": Value::Object(metadata),
        "spec": {"selector": {colour_label: colour}},
    })
}

/// The journal as it is before a flip, for the keys `changes` touches: what a flip-back restores.
pub fn undo_of(journal: &Journal, changes: &Changes) -> Changes {
    changes
        .keys()
        .map(|k| (k.clone(), journal.entries.get(k).cloned()))
        .collect()
}

/// A manifest fit to be saved and re-created later: no status, uid, resourceVersion,
/// managedFields, creation time, generation or owner references.
pub fn strip_for_saving(mut object: Value) -> Value {
    if let Some(obj) = object.as_object_mut() {
        obj.remove("status");
        if let Some(meta) = obj.get_mut("metadata").and_then(Value::as_object_mut) {
            for key in [
                "uid",
                "resourceVersion",
                "managedFields",
                "creationTimestamp",
                "generation",
                "selfLink",
                "deletionTimestamp",
                "deletionGracePeriodSeconds",
                "ownerReferences",
            ] {
                meta.remove(key);
            }
            if let Some(annotations) = meta.get_mut("annotations").and_then(Value::as_object_mut) {
                annotations.remove("deployment.kubernetes.io/revision");
                annotations.remove("kubectl.kubernetes.io/last-applied-configuration");
                if annotations.is_empty() {
                    meta.remove("annotations");
                }
            }
        }
        // A Service's cluster IPs are allocated by the server; a re-created one gets new ones.
        let is_deployment = obj.get("kind").and_then(Value::as_str) == Some("Deployment");
        if let Some(spec) = obj.get_mut("spec").and_then(Value::as_object_mut)
            && !is_deployment
            && !spec.contains_key("template")
        {
            spec.remove("clusterIP");
            spec.remove("clusterIPs");
        }
    }
    object
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_flip_carries_the_precondition_the_selector_and_the_journal() {
        let mut changes = Changes::new();
        changes.insert(PREVIOUS_COLOUR.into(), Some("blue".into()));
        changes.insert(SAVED_DEPLOYMENT.into(), None);
        let patch = flip_patch(Some("42"), "app", "green", &changes);
        assert_eq!(
            patch,
            json!({
                "metadata": {
                    "resourceVersion": "42",
                    "annotations": {
                        "bluegreen.dev/previous-colour": "blue",
                        "bluegreen.dev/saved-deployment": null,
                    }
                },
                "spec": {"selector": {"app": "green"}}
            })
        );
    }

    #[test]
    fn undo_restores_only_the_touched_keys() {
        let journal = Journal {
            entries: [("previous-colour".to_string(), "green".to_string())].into(),
        };
        let mut changes = Changes::new();
        changes.insert(PREVIOUS_COLOUR.into(), Some("blue".into()));
        changes.insert(STEP.into(), Some(STEP_VERIFY.into()));
        let undo = undo_of(&journal, &changes);
        assert_eq!(undo.get(PREVIOUS_COLOUR), Some(&Some("green".to_string())));
        assert_eq!(undo.get(STEP), Some(&None));
        assert_eq!(undo.len(), 2);
    }

    #[test]
    fn saved_manifests_lose_server_fields() {
        let deployment = json!({
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {
                "name": "bluedeploy",
                "uid": "u",
                "resourceVersion": "7",
                "generation": 3,
                "managedFields": [],
                "annotations": {"deployment.kubernetes.io/revision": "2"},
                "labels": {"app": "blue"}
            },
            "spec": {"replicas": 3, "template": {"metadata": {"labels": {"app": "blue"}}}},
            "status": {"replicas": 3}
        });
        let saved = strip_for_saving(deployment);
        assert_eq!(
            saved,
            json!({
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "metadata": {"name": "bluedeploy", "labels": {"app": "blue"}},
                "spec": {"replicas": 3, "template": {"metadata": {"labels": {"app": "blue"}}}}
            })
        );
        let service = json!({
            "metadata": {"name": "greenservice", "uid": "u"},
            "spec": {"clusterIP": "10.96.0.5", "clusterIPs": ["10.96.0.5"], "selector": {"app": "green"}, "ports": [{"port": 80}]}
        });
        let saved = strip_for_saving(service);
        assert_eq!(
            saved["spec"],
            json!({"selector": {"app": "green"}, "ports": [{"port": 80}]})
        );
    }

    #[test]
    fn remembered_replicas_belong_to_one_deployment() {
        let journal = Journal {
            entries: [
                (SCALED_DOWN_DEPLOYMENT.to_string(), "bluedeploy".to_string()),
                (SCALED_DOWN_REPLICAS.to_string(), "3".to_string()),
            ]
            .into(),
        };
        assert_eq!(journal.scaled_down_replicas("bluedeploy"), Some(3));
        assert_eq!(journal.scaled_down_replicas("greendeploy"), None);
    }
}
