//! Writes `krew-manifest.yaml` from the release archives.
//!
//! The descriptive part (plugin name, homepage, descriptions) is kept from the current manifest;
//! the version and every platform are regenerated: `uri` from the base URL and the archive's
//! name, `sha256` from the archive's bytes (and checked against its `.sha256` file when there is
//! one), `bin` and `files` from the archive's content. The text keeps the layout of the
//! committed manifest, and is read back before it is returned to make sure it says what was
//! meant.
//!
//! Before a release, [`pending`] prepares the manifest for the new version from no archive
//! (zero checksums), so that the committed manifest always names the crate's version.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_yaml::Value;

use crate::archive;
use crate::platform::{self, ALL, Platform};
use crate::{Error, Result};

pub use crate::platform::LICENSE;

/// The part of the manifest that describes the plugin rather than a release.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// `metadata.name`: what users type after `kubectl`.
    pub name: String,
    /// `spec.homepage`.
    pub homepage: String,
    /// `spec.shortDescription`: one line.
    pub short_description: String,
    /// `spec.description`: a paragraph.
    pub description: String,
}

/// One platform's entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Which platform.
    pub platform: Platform,
    /// Where krew downloads the archive.
    pub uri: String,
    /// The archive's SHA-256.
    pub sha256: String,
    /// The executable krew links as `kubectl-<name>`.
    pub bin: String,
    /// Every file of the archive, copied to the plugin's folder.
    pub files: Vec<String>,
}

fn text_at<'a>(doc: &'a Value, path: &[&str]) -> Option<&'a str> {
    let mut value = doc;
    for key in path {
        value = value.get(*key)?;
    }
    value.as_str()
}

/// Reads the descriptive part of an existing manifest.
pub fn header_from(text: &str) -> Result<Header> {
    let doc: Value = serde_yaml::from_str(text)
        .map_err(|e| Error::Invalid(format!("the current manifest is not YAML: {e}")))?;
    let field = |path: &[&str]| {
        text_at(&doc, path)
            .map(str::to_string)
            .filter(|s| !s.trim().is_empty())
            .ok_or_else(|| {
                Error::Invalid(format!("the current manifest has no {}", path.join(".")))
            })
    };
    Ok(Header {
        name: field(&["metadata", "name"])?,
        homepage: field(&["spec", "homepage"])?,
        short_description: field(&["spec", "shortDescription"])?,
        description: field(&["spec", "description"])?,
    })
}

/// Which platforms a manifest must cover.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Coverage {
    /// Every platform of [`ALL`]: a release.
    All,
    /// Those with an archive: for trying an archive built locally with krew.
    Given,
}

/// Reads each archive and makes its platform entry. `paths` may include `.sha256` files: they
/// are used to check their archive, which must be given too (its content decides `bin` and
/// `files`). No platform may be given twice; with [`Coverage::All`], none may be missing.
pub fn entries(
    version: &str,
    base_url: &str,
    paths: &[PathBuf],
    coverage: Coverage,
) -> Result<Vec<Entry>> {
    if !platform::is_release_version(version) {
        return Err(Error::Invalid(format!(
            "{version:?} is not a release version like v1.2.3"
        )));
    }
    if !base_url.starts_with("https://") {
        return Err(Error::Invalid(format!(
            "the base URL must be https:// (krew downloads from it): {base_url}"
        )));
    }
    let base = base_url.trim_end_matches('/');
    let is_checksum = |p: &Path| p.extension().is_some_and(|e| e == "sha256");

    let mut by_platform: BTreeMap<Platform, Entry> = BTreeMap::new();
    for path in paths.iter().filter(|p| !is_checksum(p)) {
        let name = file_name(path)?;
        let (archive_version, platform) = Platform::from_archive_name(name)?;
        if archive_version != version {
            return Err(Error::Invalid(format!(
                "{name} is for {archive_version}, not {version}"
            )));
        }
        let sha256 = archive::sha256_file(path)?;
        let checksum_file = archive::checksum_path(path);
        if checksum_file.exists() {
            let recorded = archive::recorded_sha256(&checksum_file)?;
            if recorded != sha256 {
                return Err(Error::Invalid(format!(
                    "{name}: its SHA-256 is {sha256}, but {} says {recorded}",
                    checksum_file.display()
                )));
            }
        }
        let files = archive::entries(path)?;
        let bin = platform.plugin_bin();
        for needed in [bin.as_str(), LICENSE] {
            if !files.iter().any(|f| f == needed) {
                return Err(Error::Invalid(format!(
                    "{name} lacks {needed} (it holds: {})",
                    files.join(", ")
                )));
            }
        }
        if let Some(nested) = files.iter().find(|f| f.contains('/') || f.contains('\\')) {
            return Err(Error::Invalid(format!(
                "{name} holds {nested} in a folder; release archives are flat"
            )));
        }
        let entry = Entry {
            platform,
            uri: format!("{base}/{name}"),
            sha256,
            bin,
            files,
        };
        if by_platform.insert(platform, entry).is_some() {
            return Err(Error::Invalid(format!("two archives are for {platform}")));
        }
    }
    for path in paths.iter().filter(|p| is_checksum(p)) {
        let archive_path = path.with_extension("");
        if !paths.contains(&archive_path) {
            return Err(Error::Invalid(format!(
                "{} is given without its archive {}: bin and files come from the archive's content",
                path.display(),
                archive_path.display()
            )));
        }
    }
    let missing: Vec<String> = ALL
        .iter()
        .filter(|p| !by_platform.contains_key(p))
        .map(|p| p.archive_name(version))
        .collect();
    if by_platform.is_empty() {
        return Err(Error::Invalid("no release archive was given".to_string()));
    }
    if coverage == Coverage::All && !missing.is_empty() {
        return Err(Error::Invalid(format!(
            "a release covers every krew platform; missing: {}",
            missing.join(", ")
        )));
    }
    // In the manifest's order.
    Ok(ALL.iter().filter_map(|p| by_platform.remove(p)).collect())
}

fn file_name(path: &Path) -> Result<&str> {
    path.file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| Error::Invalid(format!("{} has no usable file name", path.display())))
}

/// The manifest for `version` from the current manifest's text and the archives.
pub fn generate(
    version: &str,
    base_url: &str,
    current_manifest: &str,
    archives: &[PathBuf],
    coverage: Coverage,
) -> Result<String> {
    let header = header_from(current_manifest)?;
    let entries = entries(version, base_url, archives, coverage)?;
    let text = render(&header, version, &entries);
    check_reads_back(&text, &header, version, &entries)?;
    Ok(text)
}

/// The checksum of a platform whose archive is not published yet.
pub const PENDING_SHA256: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The manifest prepared for a new version before its release: every platform lists the
/// release layout ([`Platform::release_files`]), its `uri` names the new version's archive, and
/// its checksum is zeros until the release workflow regenerates the file from the archives.
pub fn pending(version: &str, base_url: &str, current_manifest: &str) -> Result<String> {
    if !platform::is_release_version(version) {
        return Err(Error::Invalid(format!(
            "{version:?} is not a release version like v1.2.3"
        )));
    }
    let header = header_from(current_manifest)?;
    let base = base_url.trim_end_matches('/');
    let entries: Vec<Entry> = ALL
        .iter()
        .map(|platform| Entry {
            platform: *platform,
            uri: format!("{base}/{}", platform.archive_name(version)),
            sha256: PENDING_SHA256.to_string(),
            bin: platform.plugin_bin(),
            files: platform.release_files(),
        })
        .collect();
    let text = render(&header, version, &entries);
    check_reads_back(&text, &header, version, &entries)?;
    Ok(text)
}

/// The manifest's text, in the committed file's layout.
pub fn render(header: &Header, version: &str, entries: &[Entry]) -> String {
    let mut out = String::new();
    let mut line = |text: String| {
        out.push_str(&text);
        out.push('\n');
    };
    let pending = !entries.is_empty() && entries.iter().all(|e| e.sha256 == PENDING_SHA256);
    if pending {
        line(format!(
            "# Manifest for the krew plugin index, prepared for {version}: the checksums are zeros"
        ));
        line(
            "# until the release workflow regenerates this file from the published archives".into(),
        );
        line("# (`cargo run -p bluegreen-release -- krew-manifest`, tools/release).".into());
    } else {
        line(format!(
            "# Manifest for the krew plugin index, generated for {version} from the release archives"
        ));
        line(
            "# by `cargo run -p bluegreen-release -- krew-manifest` (tools/release). Regenerate it;"
                .into(),
        );
        line("# the platforms are not edited by hand.".into());
    }
    line("apiVersion: krew.googlecontainertools.github.com/v1alpha2".into());
    line("kind: Plugin".into());
    line("metadata:".into());
    line(format!("  name: {}", scalar(&header.name)));
    line("spec:".into());
    line(format!("  version: {}", scalar(version)));
    line(format!("  homepage: {}", scalar(&header.homepage)));
    line(format!(
        "  shortDescription: {}",
        scalar(&header.short_description)
    ));
    let chomp = if header.description.ends_with('\n') {
        "|"
    } else {
        "|-"
    };
    line(format!("  description: {chomp}"));
    for text in header.description.trim_end_matches('\n').lines() {
        if text.is_empty() {
            line(String::new());
        } else {
            line(format!("    {text}"));
        }
    }
    line("  platforms:".into());
    for entry in entries {
        line("    - selector:".into());
        line("        matchLabels:".into());
        line(format!("          os: {}", entry.platform.os));
        line(format!("          arch: {}", entry.platform.arch));
        line(format!("      uri: {}", scalar(&entry.uri)));
        line(format!("      sha256: \"{}\"", entry.sha256));
        line(format!("      bin: {}", scalar(&entry.bin)));
        line("      files:".into());
        for file in &entry.files {
            line(format!("        - from: {}", scalar(file)));
            line("          to: .".into());
        }
    }
    out
}

/// A YAML scalar: plain when that cannot be misread, double-quoted otherwise.
fn scalar(text: &str) -> String {
    let plain_chars = text.chars().all(|c| {
        c.is_ascii_alphanumeric()
            || matches!(c, ' ' | '.' | '/' | '-' | '_' | ',' | ':' | '+' | '(' | ')')
    });
    let starts_well = text.chars().next().is_some_and(|c| c.is_ascii_alphabetic());
    let reserved = matches!(
        text.to_ascii_lowercase().as_str(),
        "true" | "false" | "yes" | "no" | "on" | "off" | "null" | "y" | "n"
    );
    if plain_chars
        && starts_well
        && !reserved
        && !text.contains(": ")
        && !text.ends_with(':')
        && !text.ends_with(' ')
    {
        text.to_string()
    } else {
        let escaped: String = text
            .chars()
            .flat_map(|c| match c {
                '"' => vec!['\\', '"'],
                '\\' => vec!['\\', '\\'],
                '\n' => vec!['\\', 'n'],
                '\t' => vec!['\\', 't'],
                c => vec![c],
            })
            .collect();
        format!("\"{escaped}\"")
    }
}

/// Parses the text back and compares it with what it was made from.
fn check_reads_back(text: &str, header: &Header, version: &str, entries: &[Entry]) -> Result<()> {
    let fail = |what: &str| {
        Err(Error::Invalid(format!(
            "the generated manifest does not read back as written ({what})"
        )))
    };
    let doc: Value = match serde_yaml::from_str(text) {
        Ok(doc) => doc,
        Err(e) => return fail(&e.to_string()),
    };
    if header_from(text)? != *header {
        return fail("descriptions");
    }
    if text_at(&doc, &["spec", "version"]) != Some(version) {
        return fail("version");
    }
    let Some(platforms) = doc
        .get("spec")
        .and_then(|s| s.get("platforms"))
        .and_then(Value::as_sequence)
    else {
        return fail("platforms");
    };
    if platforms.len() != entries.len() {
        return fail("number of platforms");
    }
    for (read, entry) in platforms.iter().zip(entries) {
        let files: Vec<&str> = read
            .get("files")
            .and_then(Value::as_sequence)
            .map(|files| files.iter().filter_map(|f| text_at(f, &["from"])).collect())
            .unwrap_or_default();
        let same = text_at(read, &["selector", "matchLabels", "os"]) == Some(entry.platform.os)
            && text_at(read, &["selector", "matchLabels", "arch"]) == Some(entry.platform.arch)
            && text_at(read, &["uri"]) == Some(entry.uri.as_str())
            && text_at(read, &["sha256"]) == Some(entry.sha256.as_str())
            && text_at(read, &["bin"]) == Some(entry.bin.as_str())
            && files == entry.files;
        if !same {
            return fail(&entry.platform.to_string());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const CURRENT: &str = "\
apiVersion: krew.googlecontainertools.github.com/v1alpha2
kind: Plugin
metadata:
  name: bluegreen
spec:
  version: v0.0.1
  homepage: https://example.com/bluegreen
  shortDescription: Safe, reversible releases
  description: |
    First line.
    Second: with a colon.
  platforms: []
";

    #[test]
    fn the_header_is_kept_word_for_word() {
        let header = header_from(CURRENT).expect("reads");
        assert_eq!(header.name, "bluegreen");
        assert_eq!(header.description, "First line.\nSecond: with a colon.\n");
        let text = render(&header, "v1.0.0", &[]);
        assert_eq!(header_from(&text).expect("reads back"), header);
        assert!(
            text.contains("  description: |\n    First line.\n"),
            "{text}"
        );
    }

    #[test]
    fn a_pending_manifest_lists_the_release_layout_with_zero_checksums() {
        let text = pending("v0.2.0", "https://dl/v0.2.0/", CURRENT).expect("prepares");
        assert!(text.starts_with("# Manifest for the krew plugin index, prepared for v0.2.0"));
        assert_eq!(text.matches(PENDING_SHA256).count(), 5, "{text}");
        assert!(
            text.contains("uri: https://dl/v0.2.0/kubectl-bluegreen-v0.2.0-darwin-arm64.tar.gz\n")
        );
        assert!(
            text.contains("        - from: kubectl_complete-bluegreen.exe\n"),
            "{text}"
        );
        assert_eq!(
            header_from(&text).expect("reads"),
            header_from(CURRENT).expect("reads")
        );
        assert!(pending("0.2.0", "https://dl", CURRENT).is_err());
    }

    #[test]
    fn scalars_are_quoted_only_when_needed() {
        assert_eq!(scalar("kubectl-bluegreen"), "kubectl-bluegreen");
        assert_eq!(
            scalar("https://a.b/c-v1.0.0.tar.gz"),
            "https://a.b/c-v1.0.0.tar.gz"
        );
        assert_eq!(scalar("Safe, reversible"), "Safe, reversible");
        assert_eq!(scalar("yes"), "\"yes\"");
        assert_eq!(scalar("a: b"), "\"a: b\"");
        assert_eq!(scalar("1.0"), "\"1.0\"");
        assert_eq!(scalar("say \"hi\""), "\"say \\\"hi\\\"\"");
        for text in [
            "yes",
            "a: b",
            "1.0",
            "say \"hi\"",
            "# not a comment",
            "x #y",
        ] {
            let doc: Value = serde_yaml::from_str(&format!("k: {}", scalar(text))).expect("yaml");
            assert_eq!(doc["k"].as_str(), Some(text));
        }
    }

    #[test]
    fn inputs_are_checked() {
        let dir = tempfile::tempdir().expect("a temporary folder");
        let none: Vec<PathBuf> = Vec::new();
        let err = entries("v0.1.0", "https://x", &none, Coverage::All).expect_err("no archive");
        assert!(err.to_string().contains("no release archive"), "{err}");
        assert!(entries("0.1.0", "https://x", &none, Coverage::All).is_err());
        assert!(entries("v0.1.0", "http://x", &none, Coverage::All).is_err());
        let lone = dir
            .path()
            .join("kubectl-bluegreen-v0.1.0-linux-amd64.tar.gz.sha256");
        std::fs::write(&lone, format!("{}  x\n", "0".repeat(64))).expect("write");
        let err = entries("v0.1.0", "https://x", &[lone], Coverage::Given)
            .expect_err("needs the archive");
        assert!(err.to_string().contains("without its archive"), "{err}");
    }
}
