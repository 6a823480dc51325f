//! The `-o json` / `-o yaml` document: a stable schema for scripts, documented in
//! `docs/status-output.md`. Fields are only ever added within one `apiVersion`.

use serde::{Deserialize, Serialize};

use crate::cluster::Target;
use crate::pair::Snapshot;
use crate::render::View;
use crate::verdict::Verdict;

/// The document's `apiVersion`.
pub(crate) const API_VERSION: &str = "bluegreen.dev/v1alpha1";
/// The document's `kind`.
pub(crate) const KIND: &str = "PairStatus";

/// What `status -o json` prints.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct StatusDocument {
    /// Always [`API_VERSION`].
    pub api_version: String,
    /// Always [`KIND`].
    pub kind: String,
    /// Where: context, cluster, server, namespace.
    pub target: Target,
    /// The pair.
    #[serde(flatten)]
    pub snapshot: Snapshot,
    /// What the next command would do, and whether it is safe.
    pub verdict: Verdict,
}

impl StatusDocument {
    /// The document for a view.
    pub(crate) fn new(view: &View<'_>) -> Self {
        StatusDocument {
            api_version: API_VERSION.to_string(),
            kind: KIND.to_string(),
            target: view.target.clone(),
            snapshot: view.snapshot.clone(),
            verdict: view.verdict.clone(),
        }
    }
}

/// Pretty JSON, with a final newline.
pub(crate) fn to_json(view: &View<'_>) -> Result<String, serde_json::Error> {
    let mut text = serde_json::to_string_pretty(&StatusDocument::new(view))?;
    text.push('\n');
    Ok(text)
}

/// YAML.
pub(crate) fn to_yaml(view: &View<'_>) -> Result<String, serde_yaml::Error> {
    serde_yaml::to_string(&StatusDocument::new(view))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pair::snapshot::build;
    use crate::pair::snapshot::tests::{classic, now};
    use crate::verdict::decide;

    #[test]
    fn the_document_round_trips_and_names_its_schema() {
        let (identity, objects) = classic();
        let snapshot = build(&identity, "default", &objects, now()).expect("a snapshot");
        let verdict = decide(&snapshot);
        let target = Target {
            context: "c".into(),
            cluster: "k".into(),
            server: "https://s".into(),
            namespace: "default".into(),
        };
        let view = View {
            target: &target,
            snapshot: &snapshot,
            verdict: &verdict,
        };
        let json = to_json(&view).expect("json");
        let value: serde_json::Value = serde_json::from_str(&json).expect("valid json");
        assert_eq!(value["apiVersion"], API_VERSION);
        assert_eq!(value["kind"], KIND);
        assert_eq!(value["liveColour"], "blue");
        assert_eq!(value["colours"][1]["deployment"]["name"], "greendeploy");
        assert_eq!(value["colours"][0]["pods"][0]["inService"], "ready");
        assert_eq!(value["verdict"]["safe"], true);
        let back: StatusDocument = serde_json::from_str(&json).expect("round trip");
        let mut expected = StatusDocument::new(&view);
        // Not part of the schema: what the plans need about Services the document lists anyway.
        expected.snapshot.service_types.clear();
        expected.snapshot.manifests.clear();
        expected.snapshot.service_manifest = serde_json::Value::Null;
        assert_eq!(back, expected);
        let yaml = to_yaml(&view).expect("yaml");
        let from_yaml: StatusDocument = serde_yaml::from_str(&yaml).expect("yaml round trip");
        assert_eq!(from_yaml, back);
    }
}
