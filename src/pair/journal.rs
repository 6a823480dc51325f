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
//! | `action` | the command that made the last flip: `promote` or `rollback`, or `revert` when a failed verification put traffic back while finishing an interrupted release (the flip back is a flip of its own) |
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
//!
//! [`Journal::decode`] reads the annotations once into typed values. A value it cannot read
//! (an unknown `action`, `step` or `cleanup-policy`, a time that is not RFC 3339, a count or
//! JSON that does not parse) is never replaced by a default: `status` shows it with its key
//! and raw value, and the release commands refuse to run (exit 5) until it is fixed or removed.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::pair::snapshot::Snapshot;

/// Prefix of the annotations this plugin keeps on the production Service (its journal).
pub const JOURNAL_PREFIX: &str = "bluegreen.dev/";

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

/// Changes to the journal: `Some` sets a key, `None` removes it. Keys without prefix.
pub type Changes = BTreeMap<String, Option<String>>;

/// `action`: the command that made the last flip.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlipAction {
    /// `promote`.
    Promote,
    /// `rollback`.
    Rollback,
    /// `revert`: a failed verification put traffic back while finishing an interrupted
    /// release.
    Revert,
}

impl FlipAction {
    /// The journal spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            FlipAction::Promote => "promote",
            FlipAction::Rollback => "rollback",
            FlipAction::Revert => "revert",
        }
    }
}

impl std::fmt::Display for FlipAction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `step`: the step in progress.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Flipped, endpoints not yet verified.
    Verify,
    /// Verified, cleanup of the previous colour pending.
    Cleanup,
}

impl Step {
    /// The journal spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Step::Verify => "verify",
            Step::Cleanup => "cleanup",
        }
    }
}

impl std::fmt::Display for Step {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What happens to the colour traffic left.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum CleanupPolicy {
    /// Scale its Deployment to 0 after the delay, remembering the replica count.
    ScaleDown,
    /// Save its Deployment and test Service(s) into the journal, then delete them.
    Delete,
    /// Leave it running, for an instant rollback.
    None,
}

impl CleanupPolicy {
    /// The journal spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            CleanupPolicy::ScaleDown => "scale-down",
            CleanupPolicy::Delete => "delete",
            CleanupPolicy::None => "none",
        }
    }

    /// Reads the journal spelling.
    pub fn parse(value: &str) -> Option<CleanupPolicy> {
        match value {
            "scale-down" => Some(CleanupPolicy::ScaleDown),
            "delete" => Some(CleanupPolicy::Delete),
            "none" => Some(CleanupPolicy::None),
            _ => None,
        }
    }
}

impl std::fmt::Display for CleanupPolicy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A journal value this plugin cannot read: the key, the value as stored, and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Unreadable {
    /// The key, without prefix.
    pub key: String,
    /// The value as stored.
    pub value: String,
    /// What it should be.
    pub expected: String,
}

impl std::fmt::Display for Unreadable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{JOURNAL_PREFIX}{}={:?} is not {}",
            self.key, self.value, self.expected
        )
    }
}

/// What the journal says, decoded once from a snapshot's annotations. A value that cannot be
/// read is in [`Journal::unreadable`] and reads as absent; the release commands refuse to
/// work on such a journal (see [`Journal::unreadable`]), `status` shows it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Journal {
    /// The raw entries, without prefix.
    pub entries: BTreeMap<String, String>,
    /// `action`.
    pub action: Option<FlipAction>,
    /// `step`.
    pub step: Option<Step>,
    /// `cleanup-policy`.
    pub cleanup_policy: Option<CleanupPolicy>,
    /// `flipped-at`.
    pub flipped_at: Option<jiff::Timestamp>,
    /// `cleanup-after`.
    pub cleanup_after: Option<jiff::Timestamp>,
    /// `scaled-down-replicas`.
    scaled_down_replicas: Option<i32>,
    /// `previous-images`.
    previous_images: Option<Vec<String>>,
    /// `saved-deployment`.
    saved_deployment: Option<Value>,
    /// `saved-services`.
    saved_services: Vec<Value>,
    /// The values that could not be read.
    pub unreadable: Vec<Unreadable>,
}

impl Journal {
    /// The journal of a snapshot.
    pub fn of(snapshot: &Snapshot) -> Journal {
        Journal::decode(&snapshot.service.journal)
    }

    /// Decodes the entries (keys without prefix). An empty value is an absent one.
    pub fn decode(entries: &BTreeMap<String, String>) -> Journal {
        let mut unreadable = Vec::new();
        let mut read = |key: &str, expected: &str, parse: &dyn Fn(&str) -> bool| {
            let value = entries.get(key).filter(|v| !v.is_empty())?;
            if parse(value) {
                Some(value.as_str())
            } else {
                unreadable.push(Unreadable {
                    key: key.to_string(),
                    value: value.clone(),
                    expected: expected.to_string(),
                });
                None
            }
        };
        let action = read(ACTION, "promote, rollback or revert", &|v| {
            action_of(v).is_some()
        })
        .and_then(action_of);
        let step = read(STEP, "verify or cleanup", &|v| step_of(v).is_some()).and_then(step_of);
        let cleanup_policy = read(CLEANUP_POLICY, "scale-down, delete or none", &|v| {
            CleanupPolicy::parse(v).is_some()
        })
        .and_then(CleanupPolicy::parse);
        let time = |v: &str| v.parse::<jiff::Timestamp>().ok();
        let rfc3339 = "a time (RFC 3339)";
        let flipped_at = read(FLIPPED_AT, rfc3339, &|v| time(v).is_some()).and_then(time);
        let cleanup_after = read(CLEANUP_AFTER, rfc3339, &|v| time(v).is_some()).and_then(time);
        let count = |v: &str| v.parse::<i32>().ok();
        let scaled_down_replicas = read(SCALED_DOWN_REPLICAS, "a replica count", &|v| {
            count(v).is_some()
        })
        .and_then(count);
        let images = |v: &str| serde_json::from_str::<Vec<String>>(v).ok();
        let previous_images = read(PREVIOUS_IMAGES, "a JSON array of images", &|v| {
            images(v).is_some()
        })
        .and_then(images);
        let object = |v: &str| {
            serde_json::from_str::<Value>(v)
                .ok()
                .filter(Value::is_object)
        };
        let saved_deployment = read(SAVED_DEPLOYMENT, "a JSON manifest", &|v| {
            object(v).is_some()
        })
        .and_then(object);
        let manifests = |v: &str| serde_json::from_str::<Vec<Value>>(v).ok();
        let saved_services = read(SAVED_SERVICES, "a JSON array of manifests", &|v| {
            manifests(v).is_some()
        })
        .and_then(manifests)
        .unwrap_or_default();
        Journal {
            entries: entries.clone(),
            action,
            step,
            cleanup_policy,
            flipped_at,
            cleanup_after,
            scaled_down_replicas,
            previous_images,
            saved_deployment,
            saved_services,
            unreadable,
        }
    }

    /// One entry, as stored.
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
    pub fn step(&self) -> Option<Step> {
        self.step
    }

    /// The command that made the last flip.
    pub fn action(&self) -> Option<FlipAction> {
        self.action
    }

    /// The previous colour's images at the flip.
    pub fn previous_images(&self) -> Option<Vec<String>> {
        self.previous_images.clone()
    }

    /// The replica count remembered for `deployment`, if the last scale-down was of it.
    pub fn scaled_down_replicas(&self, deployment: &str) -> Option<i32> {
        if self.get(SCALED_DOWN_DEPLOYMENT) != Some(deployment) {
            return None;
        }
        self.scaled_down_replicas.filter(|r| *r > 0)
    }

    /// The saved Deployment manifest, if `--cleanup delete` removed one.
    pub fn saved_deployment(&self) -> Option<Value> {
        self.saved_deployment.clone()
    }

    /// The saved test Service manifests.
    pub fn saved_services(&self) -> Vec<Value> {
        self.saved_services.clone()
    }

    /// When the pending cleanup may run.
    pub fn cleanup_after(&self) -> Option<jiff::Timestamp> {
        self.cleanup_after
    }

    /// When the last flip happened.
    pub fn flipped_at(&self) -> Option<jiff::Timestamp> {
        self.flipped_at
    }
}

fn action_of(value: &str) -> Option<FlipAction> {
    match value {
        "promote" => Some(FlipAction::Promote),
        "rollback" => Some(FlipAction::Rollback),
        "revert" => Some(FlipAction::Revert),
        _ => None,
    }
}

fn step_of(value: &str) -> Option<Step> {
    match value {
        "verify" => Some(Step::Verify),
        "cleanup" => Some(Step::Cleanup),
        _ => None,
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
        let journal =
            Journal::decode(&[("previous-colour".to_string(), "green".to_string())].into());
        let mut changes = Changes::new();
        changes.insert(PREVIOUS_COLOUR.into(), Some("blue".into()));
        changes.insert(STEP.into(), Some(Step::Verify.to_string()));
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

    /// The annotations as a promote with `--cleanup scale-down` writes them, interrupted
    /// during the grace period after a `deploy` and a scale-down by an earlier release.
    fn written_by_a_promote() -> BTreeMap<String, String> {
        [
            ("action", "promote"),
            ("cleanup-after", "2026-11-27T16:17:40.651732902Z"),
            ("cleanup-policy", "scale-down"),
            ("colour-label", "app"),
            ("colours", r#"["blue","green"]"#),
            ("entry-points", "[]"),
            ("flipped-at", "2026-11-27T16:17:10.651732902Z"),
            ("last-deploy", "2026-11-27T16:10:02.5Z green: web=nginx:v2"),
            ("previous-colour", "blue"),
            ("previous-deployment", "bluedeploy"),
            ("previous-images", r#"["nginx:blue"]"#),
            ("previous-selector", r#"{"app":"blue"}"#),
            ("previous-template", "6562f074ba3aee59"),
            ("scaled-down-deployment", "greendeploy"),
            ("scaled-down-replicas", "3"),
            ("saved-deployment", r#"{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"reddeploy"},"spec":{"replicas":2}}"#),
            ("saved-services", r#"[{"apiVersion":"v1","kind":"Service","metadata":{"name":"redservice"}}]"#),
            ("step", "cleanup"),
            ("test-services", r#"["greenservice"]"#),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
    }

    #[test]
    fn a_journal_written_by_the_previous_format_reads_into_typed_values() {
        let journal = Journal::decode(&written_by_a_promote());
        assert_eq!(journal.unreadable, Vec::new());
        assert_eq!(journal.action(), Some(FlipAction::Promote));
        assert_eq!(journal.step(), Some(Step::Cleanup));
        assert_eq!(journal.cleanup_policy, Some(CleanupPolicy::ScaleDown));
        let flipped = journal.flipped_at().expect("flipped-at");
        // Shown exactly as written.
        assert_eq!(flipped.to_string(), "2026-11-27T16:17:10.651732902Z");
        assert_eq!(
            journal
                .cleanup_after()
                .map(|t| t.as_millisecond() - flipped.as_millisecond()),
            Some(30_000)
        );
        assert_eq!(journal.previous_colour(), Some("blue"));
        assert_eq!(
            journal.previous_images(),
            Some(vec!["nginx:blue".to_string()])
        );
        assert_eq!(journal.scaled_down_replicas("greendeploy"), Some(3));
        assert_eq!(
            journal
                .saved_deployment()
                .map(|d| d["metadata"]["name"].clone()),
            Some(json!("reddeploy"))
        );
        assert_eq!(journal.saved_services().len(), 1);
        // `revert` is read too.
        let mut entries = written_by_a_promote();
        entries.insert(ACTION.into(), "revert".into());
        entries.remove(STEP);
        let journal = Journal::decode(&entries);
        assert_eq!(journal.action(), Some(FlipAction::Revert));
        assert_eq!(journal.step(), None);
        assert!(journal.unreadable.is_empty());
    }

    #[test]
    fn the_values_a_flip_writes_read_back_as_written() {
        for action in [
            FlipAction::Promote,
            FlipAction::Rollback,
            FlipAction::Revert,
        ] {
            let j = Journal::decode(&[(ACTION.to_string(), action.to_string())].into());
            assert_eq!(j.action(), Some(action));
        }
        for step in [Step::Verify, Step::Cleanup] {
            let j = Journal::decode(&[(STEP.to_string(), step.to_string())].into());
            assert_eq!(j.step(), Some(step));
        }
        for policy in [
            CleanupPolicy::ScaleDown,
            CleanupPolicy::Delete,
            CleanupPolicy::None,
        ] {
            let j = Journal::decode(&[(CLEANUP_POLICY.to_string(), policy.to_string())].into());
            assert_eq!(j.cleanup_policy, Some(policy));
        }
    }

    /// One unreadable value of each kind: it is reported with its key and raw value, and
    /// reads as absent rather than as a default.
    #[test]
    fn an_unreadable_value_of_each_kind_is_reported_never_defaulted() {
        let cases: &[(&str, &str, &str)] = &[
            (ACTION, "promoted", "promote, rollback or revert"),
            (STEP, "verifying", "verify or cleanup"),
            (CLEANUP_POLICY, "scaledown", "scale-down, delete or none"),
            (FLIPPED_AT, "yesterday", "a time (RFC 3339)"),
            (CLEANUP_AFTER, "2026-13-45T99:00:00Z", "a time (RFC 3339)"),
            (SCALED_DOWN_REPLICAS, "three", "a replica count"),
            (PREVIOUS_IMAGES, "nginx:blue", "a JSON array of images"),
            (SAVED_DEPLOYMENT, "{\"truncated\":", "a JSON manifest"),
            (SAVED_SERVICES, "{}", "a JSON array of manifests"),
        ];
        for (key, value, expected) in cases {
            let mut entries = written_by_a_promote();
            entries.insert(key.to_string(), value.to_string());
            let journal = Journal::decode(&entries);
            assert_eq!(
                journal.unreadable,
                vec![Unreadable {
                    key: key.to_string(),
                    value: value.to_string(),
                    expected: expected.to_string(),
                }],
                "{key}"
            );
            let shown = journal.unreadable[0].to_string();
            assert!(
                shown.contains(&format!("bluegreen.dev/{key}={value:?}")),
                "{shown}"
            );
            // The other values still read.
            assert_eq!(journal.previous_colour(), Some("blue"), "{key}");
        }
        let broken = |key: &str, value: &str| {
            let mut entries = written_by_a_promote();
            entries.insert(key.to_string(), value.to_string());
            Journal::decode(&entries)
        };
        assert_eq!(broken(ACTION, "promoted").action(), None);
        assert_eq!(broken(STEP, "verifying").step(), None);
        assert_eq!(broken(CLEANUP_POLICY, "x").cleanup_policy, None);
        assert_eq!(broken(FLIPPED_AT, "yesterday").flipped_at(), None);
        assert_eq!(broken(CLEANUP_AFTER, "soon").cleanup_after(), None);
    }

    #[test]
    fn remembered_replicas_belong_to_one_deployment() {
        let journal = Journal::decode(
            &[
                (SCALED_DOWN_DEPLOYMENT.to_string(), "bluedeploy".to_string()),
                (SCALED_DOWN_REPLICAS.to_string(), "3".to_string()),
            ]
            .into(),
        );
        assert_eq!(journal.scaled_down_replicas("bluedeploy"), Some(3));
        assert_eq!(journal.scaled_down_replicas("greendeploy"), None);
    }
}
