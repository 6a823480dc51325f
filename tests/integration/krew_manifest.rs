//! `krew-manifest.yaml` must be valid by krew's own rules and match the crate.

use crate::krew_rules;

use crate::krew_rules::is_semver;
use serde_json::Value;

fn manifest() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/krew-manifest.yaml");
    let text = std::fs::read_to_string(path).expect("krew-manifest.yaml is readable");
    krew_rules::parse(&text)
}

#[test]
fn header_and_metadata() {
    krew_rules::header_and_metadata(&manifest());
}

#[test]
fn version_is_v_prefixed_semver_equal_to_the_crate() {
    krew_rules::version_is_v_prefixed_semver_equal_to_the_crate(&manifest());
}

#[test]
fn descriptions_and_homepage() {
    krew_rules::descriptions_and_homepage(&manifest());
}

#[test]
fn platforms_cover_the_release_targets_without_overlap() {
    krew_rules::platforms_cover_the_release_targets_without_overlap(&manifest());
}

#[test]
fn semver_check_rejects_bad_versions() {
    for bad in ["1.0", "01.0.0", "1.0.x", ""] {
        assert!(!is_semver(bad), "{bad}");
    }
    for good in ["0.1.0", "1.2.3-rc.1", "10.0.0"] {
        assert!(is_semver(good), "{good}");
    }
}
