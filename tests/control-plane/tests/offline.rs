//! Checks that need no control plane: the pins, the Stage file, the error when nothing is built.

#[test]
fn pins_are_read_from_versions_env() {
    for name in ["KUBERNETES", "ETCD", "KWOK"] {
        let v = control_plane::pinned_version(name).unwrap_or_default();
        assert!(
            v.starts_with('v') && v.matches('.').count() == 2,
            "{name}: {v:?}"
        );
    }
    assert_eq!(
        control_plane::kubernetes_version(),
        control_plane::pinned_version("KUBERNETES").unwrap_or_default()
    );
}

#[test]
fn stages_cover_nodes_and_every_behaviour_annotation() {
    let docs: Vec<serde_yaml::Value> = serde_yaml::Deserializer::from_str(control_plane::STAGES)
        .map(|d| serde::Deserialize::deserialize(d).expect("a YAML document"))
        .collect();
    let kinds: Vec<(&str, &str)> = docs
        .iter()
        .map(|d| {
            (
                d["spec"]["resourceRef"]["kind"]
                    .as_str()
                    .unwrap_or_default(),
                d["metadata"]["name"].as_str().unwrap_or_default(),
            )
        })
        .collect();
    assert!(
        docs.iter()
            .all(|d| d["kind"] == "Stage" && d["apiVersion"] == "kwok.x-k8s.io/v1alpha1")
    );
    assert!(kinds.iter().any(|(k, _)| *k == "Node"), "{kinds:?}");
    for annotation in [
        "ready-after-ms",
        "never-ready",
        "crash-loop",
        "unready-after-ms",
        "terminate-after-ms",
    ] {
        assert!(
            control_plane::STAGES.contains(&format!("sandbox.bluegreen.dev/{annotation}")),
            "no stage reads {annotation}"
        );
    }
}

#[test]
fn not_built_error_says_how_to_build() {
    let e = control_plane::Error::NotBuilt {
        dir: "/nowhere/bin".into(),
        reason: "missing etcd".into(),
    };
    let msg = e.to_string();
    assert!(
        msg.contains("tests/control-plane/build.sh") && msg.contains("missing etcd"),
        "{msg}"
    );
}
