//! The README's release Role, bound to a user that has nothing else.

use std::path::Path;

use super::pair::*;
use crate::backends::*;
use crate::both_backends;

/// The README's Role `name`, as shown there (YAML).
fn readme_role(name: &str) -> String {
    let readme = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md"))
        .expect("README.md");
    readme
        .split("```yaml")
        .skip(1)
        .filter_map(|block| block.split("```").next())
        .find(|block| block.contains(&format!("name: {name}\n")))
        .unwrap_or_else(|| panic!("the README shows no Role {name}"))
        .to_string()
}

/// The Role without `verb` on `resource` (core group).
fn without(role: &str, verb: &str, resource: &str) -> String {
    let mut doc: serde_yaml::Value = serde_yaml::from_str(role).expect("the Role is YAML");
    let mut removed = false;
    for rule in doc["rules"].as_sequence_mut().expect("rules") {
        let names = |key: &str| -> Vec<String> {
            rule[key]
                .as_sequence()
                .into_iter()
                .flatten()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect()
        };
        if names("apiGroups") == [""] && names("resources") == [resource] {
            let verbs: Vec<serde_yaml::Value> = names("verbs")
                .into_iter()
                .filter(|v| v != verb)
                .map(serde_yaml::Value::from)
                .collect();
            removed = verbs.len() < names("verbs").len();
            rule["verbs"] = serde_yaml::Value::Sequence(verbs);
        }
    }
    assert!(removed, "the Role grants {verb} {resource}");
    serde_yaml::to_string(&doc).expect("YAML")
}

fn the_readme_release_role_runs_promote_and_rollback(c: &dyn Cluster) {
    classic(c);
    let user = c.user_kubeconfig(&readme_role("bluegreen-release"));
    c.bluegreen_as(&user, &["status", "blueservice"])
        .expect_code(0)
        .stdout_has(&["safe"]);
    c.bluegreen_as(&user, &promote(&["--cleanup", "delete"]))
        .expect_code(0)
        .stdout_has(&["Promoted blueservice: blue → green."]);
    assert_eq!(selected(c, "blueservice", "app"), "green");
    assert_eq!(replicas(c, "bluedeploy"), None);
    c.bluegreen_as(&user, &rollback(&[]))
        .expect_code(0)
        .stdout_has(&["re-created Deployment bluedeploy from the journal"]);
    assert_eq!(selected(c, "blueservice", "app"), "blue");
    assert_eq!(replicas(c, "bluedeploy"), Some(3));
    assert_eq!(replicas(c, "greendeploy"), Some(0));
}

fn without_patch_on_services_promote_stops_before_any_change(c: &dyn Cluster) {
    classic(c);
    let role = without(&readme_role("bluegreen-release"), "patch", "services");
    let user = c.user_kubeconfig(&role);
    let before = Snapshot::take(c);
    c.bluegreen_as(&user, &promote(&[]))
        .expect_code(9)
        .stderr_has(&["patch services"]);
    before.assert_unchanged(c);
    assert_eq!(selected(c, "blueservice", "app"), "blue");
}

both_backends!(
    the_readme_release_role_runs_promote_and_rollback,
    without_patch_on_services_promote_stops_before_any_change,
);
