//! krew's rules for a plugin manifest, as far as this plugin's releases need them. Shared by
//! the test of the committed `krew-manifest.yaml` (`krew_manifest`) and the test of the generated
//! one (`release_manifest`).

use std::collections::HashSet;

use serde_json::Value;

/// Parses a manifest's text.
#[track_caller]
pub fn parse(text: &str) -> Value {
    match serde_yaml::from_str(text) {
        Ok(value) => value,
        Err(e) => panic!("the manifest is not YAML: {e}\n{text}"),
    }
}

pub fn is_semver(v: &str) -> bool {
    let (core, _pre) = v.split_once('-').unwrap_or((v, ""));
    let parts: Vec<&str> = core.split('.').collect();
    parts.len() == 3
        && parts.iter().all(|p| {
            !p.is_empty()
                && p.bytes().all(|b| b.is_ascii_digit())
                && (p.len() == 1 || !p.starts_with('0'))
        })
}

/// Every rule below.
#[track_caller]
pub fn check_all(m: &Value) {
    header_and_metadata(m);
    version_is_v_prefixed_semver_equal_to_the_crate(m);
    descriptions_and_homepage(m);
    platforms_cover_the_release_targets_without_overlap(m);
}

#[track_caller]
pub fn header_and_metadata(m: &Value) {
    assert_eq!(
        m["apiVersion"],
        "krew.googlecontainertools.github.com/v1alpha2"
    );
    assert_eq!(m["kind"], "Plugin");
    assert_eq!(m["metadata"]["name"], "bluegreen");
}

#[track_caller]
pub fn version_is_v_prefixed_semver_equal_to_the_crate(m: &Value) {
    let version = m["spec"]["version"].as_str().expect("spec.version");
    let bare = version.strip_prefix('v').expect("version starts with v");
    assert!(is_semver(bare), "{version} is not semver");
    assert_eq!(bare, env!("CARGO_PKG_VERSION"));
}

#[track_caller]
pub fn descriptions_and_homepage(m: &Value) {
    let short = m["spec"]["shortDescription"]
        .as_str()
        .expect("shortDescription");
    assert!(!short.trim().is_empty());
    assert!(!short.contains('\n'), "shortDescription is one line");
    assert!(short.len() <= 80, "shortDescription is short");
    let description = m["spec"]["description"].as_str().expect("description");
    assert!(description.trim().len() > short.len());
    let homepage = m["spec"]["homepage"].as_str().expect("homepage");
    assert!(homepage.starts_with("https://"));
}

#[track_caller]
pub fn platforms_cover_the_release_targets_without_overlap(m: &Value) {
    let platforms = m["spec"]["platforms"].as_array().expect("platforms");
    let mut seen = HashSet::new();
    for p in platforms {
        let labels = p["selector"]["matchLabels"]
            .as_object()
            .expect("selector.matchLabels");
        assert!(!labels.is_empty(), "empty selector matches everything");
        let os = labels["os"].as_str().expect("os label");
        let arch = labels["arch"].as_str().expect("arch label");
        assert!(
            seen.insert((os.to_string(), arch.to_string())),
            "two platforms select {os}/{arch}"
        );

        let uri = p["uri"].as_str().expect("uri");
        assert!(uri.starts_with("https://"), "{uri}");
        let windows = os == "windows";
        if windows {
            assert!(uri.ends_with(".zip"), "{uri}");
        } else {
            assert!(uri.ends_with(".tar.gz"), "{uri}");
        }
        assert!(
            uri.contains(&format!("{os}-{arch}")),
            "{uri} names {os}-{arch}"
        );
        assert!(
            uri.contains(m["spec"]["version"].as_str().unwrap_or("?")),
            "{uri} names the version"
        );

        let sha = p["sha256"].as_str().expect("sha256");
        assert_eq!(sha.len(), 64, "{sha}");
        assert!(
            sha.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)),
            "sha256 is lowercase hex: {sha}"
        );

        let bin = p["bin"].as_str().expect("bin");
        let want = if windows {
            "kubectl-bluegreen.exe"
        } else {
            "kubectl-bluegreen"
        };
        assert_eq!(bin, want);

        let files = p["files"].as_array().expect("files");
        let froms: Vec<&str> = files.iter().filter_map(|f| f["from"].as_str()).collect();
        assert!(froms.contains(&"LICENSE"), "files include LICENSE");
        assert!(froms.contains(&bin), "files include the binary");
        for f in files {
            let to = f["to"].as_str().expect("files[].to");
            assert!(!to.contains(".."), "files[].to stays in the plugin dir");
        }
    }
    let want: HashSet<(String, String)> = [
        ("linux", "amd64"),
        ("linux", "arm64"),
        ("darwin", "amd64"),
        ("darwin", "arm64"),
        ("windows", "amd64"),
    ]
    .iter()
    .map(|(o, a)| (o.to_string(), a.to_string()))
    .collect();
    assert_eq!(seen, want);
}
