//! The blue/green pair the scenarios start from, loaded into either back-end, and the plugin
//! commands they run.

use std::process::Output;

use serde_json::Value;

use crate::backends::{Cluster, event_reasons, journal};

/// Options of a pair: blue `bluedeploy` (app=blue, nginx:blue) behind the production Service
/// `blueservice`, green `greendeploy` (app=green, nginx:green) behind the test Service
/// `greenservice`; containers name their port 8080 `http` and the Services target it by name.
pub struct Pair<'a> {
    pub blue_replicas: u32,
    pub green_replicas: u32,
    /// The name of green's container port (`http` unless a test wants it missing).
    pub green_port: &'a str,
    /// Annotations of green's pod template, as YAML map entries (`"k": "v"`).
    pub green_annotations: String,
    /// Extra documents.
    pub extra: &'a str,
}

impl Default for Pair<'_> {
    fn default() -> Self {
        Pair {
            blue_replicas: 3,
            green_replicas: 3,
            green_port: "http",
            green_annotations: String::new(),
            extra: "",
        }
    }
}

/// The production Service's manifest, as a pipeline's file would hold it.
pub const BLUESERVICE: &str = r#"apiVersion: v1
kind: Service
metadata: {name: blueservice}
spec:
  type: ClusterIP
  selector: {app: blue}
  ports: [{name: web, port: 80, targetPort: http, protocol: TCP}]
"#;

impl Pair<'_> {
    pub fn manifest(&self) -> String {
        format!(
            r#"apiVersion: apps/v1
kind: Deployment
metadata: {{name: bluedeploy, labels: {{app: blue}}}}
spec:
  replicas: {blue}
  selector: {{matchLabels: {{app: blue}}}}
  template:
    metadata: {{labels: {{app: blue}}}}
    spec:
      containers:
      - name: web
        image: nginx:blue
        ports: [{{name: http, containerPort: 8080, protocol: TCP}}]
---
{BLUESERVICE}---
apiVersion: apps/v1
kind: Deployment
metadata: {{name: greendeploy, labels: {{app: green}}}}
spec:
  replicas: {green}
  selector: {{matchLabels: {{app: green}}}}
  template:
    metadata:
      labels: {{app: green}}
      annotations: {{{annotations}}}
    spec:
      containers:
      - name: web
        image: nginx:green
        ports: [{{name: {port}, containerPort: 8080, protocol: TCP}}]
---
apiVersion: v1
kind: Service
metadata: {{name: greenservice}}
spec:
  selector: {{app: green}}
  ports: [{{name: web, port: 80, targetPort: http, protocol: TCP}}]
{extra}"#,
            blue = self.blue_replicas,
            green = self.green_replicas,
            annotations = self.green_annotations,
            port = self.green_port,
            extra = self.extra,
        )
    }

    /// Loads the pair and waits until it has settled.
    pub fn load(&self, c: &dyn Cluster) {
        c.load_yaml(&self.manifest());
        c.wait_settled();
    }
}

/// Waits, through the plugin's `status`, until both colours are rolled out with every pod
/// Ready: for pairs whose endpoints never "settle" (a pod that lacks a named port is in none
/// of that port's endpoints).
#[track_caller]
pub fn wait_rolled_out(c: &dyn Cluster) {
    crate::backends::eventually(
        std::time::Duration::from_secs(60),
        "both colours ready",
        || {
            let run = c.bluegreen(&["status", "blueservice", "-o", "json"]);
            run.code == 0
                && run.json()["colours"].as_array().is_some_and(|colours| {
                    colours.iter().all(|c| {
                        c["deployment"]["rolloutComplete"] == true
                            && c["deployment"]["ready"] == c["deployment"]["desired"]
                    })
                })
        },
    );
}

/// The classic pair, settled.
pub fn classic(c: &dyn Cluster) {
    Pair::default().load(c);
}

/// `promote blueservice --yes --scale-down-delay 0s` followed by `extra`.
pub fn promote<'a>(extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec![
        "promote",
        "blueservice",
        "--yes",
        "--scale-down-delay",
        "0s",
    ];
    args.extend_from_slice(extra);
    args
}

/// `rollback blueservice --yes --scale-down-delay 0s --timeout 60s` followed by `extra`.
pub fn rollback<'a>(extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec![
        "rollback",
        "blueservice",
        "--yes",
        "--scale-down-delay",
        "0s",
        "--timeout",
        "60s",
    ];
    args.extend_from_slice(extra);
    args
}

/// `status blueservice -o json`.
#[track_caller]
pub fn status_json(c: &dyn Cluster) -> Value {
    c.bluegreen(&["status", "blueservice", "-o", "json"])
        .expect_code(0)
        .json()
}

/// The codes of the verdict's blockers.
pub fn blocker_codes(doc: &Value) -> Vec<String> {
    doc["verdict"]["blockers"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|b| b["code"].as_str().map(str::to_string))
        .collect()
}

/// A promote interrupted (SIGINT) during its grace period: the journal says `step: cleanup`.
pub fn promote_interrupted_during_cleanup(c: &dyn Cluster) -> Output {
    crate::release_support::promote_interrupted_when(c.kubeconfig_path(), || {
        journal(c, "blueservice", "step").as_deref() == Some("cleanup")
            && event_reasons(c, "blueservice")
                .iter()
                .any(|r| r == "Promoted")
    })
}
