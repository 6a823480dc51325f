//! `status` of the classic pair.

use super::pair::{classic, status_json};
use crate::backends::{Cluster, run_of};
use crate::both_backends;

fn status_of_the_classic_pair(c: &dyn Cluster) {
    classic(c);
    let doc = status_json(c);
    assert_eq!(doc["kind"], "PairStatus", "{doc:#}");
    assert_eq!(doc["service"]["name"], "blueservice");
    assert_eq!(doc["service"]["namespace"], c.namespace());
    assert_eq!(doc["target"]["namespace"], c.namespace());
    assert_eq!(doc["liveColour"], "blue", "{doc:#}");
    assert_eq!(doc["idleColour"], "green", "{doc:#}");
    assert_eq!(doc["verdict"]["safe"], true, "{:#}", doc["verdict"]);
    assert_eq!(doc["verdict"]["action"], "promote");
    assert_eq!(
        doc["verdict"]["nextCommand"],
        "kubectl bluegreen promote blueservice"
    );
    for colour in doc["colours"].as_array().expect("colours") {
        assert_eq!(colour["deployment"]["ready"], 3, "{colour:#}");
        assert_eq!(colour["deployment"]["rolloutComplete"], true, "{colour:#}");
    }
    c.bluegreen(&["status", "blueservice"])
        .expect_code(0)
        .stdout_has(&[
            "BLUE  ● live",
            "promote would move blueservice from blue to green: safe",
        ]);
}

/// The cluster named by `KUBECONFIG` (no `--kubeconfig`), as a user runs it.
fn status_through_the_kubeconfig_variable(c: &dyn Cluster) {
    classic(c);
    let home = tempfile::tempdir().expect("a temporary HOME");
    let output = crate::common::command(home.path())
        .args(["status", "blueservice", "-o", "json"])
        .env("KUBECONFIG", c.kubeconfig_path())
        .output()
        .expect("the plugin runs");
    let doc = run_of(output).expect_code(0).json();
    assert_eq!(doc["kind"], "PairStatus");
    assert_eq!(doc["service"]["name"], "blueservice");
    assert_eq!(doc["service"]["namespace"], c.namespace());
}

both_backends!(
    status_of_the_classic_pair,
    status_through_the_kubeconfig_variable
);
