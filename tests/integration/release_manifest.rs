//! The release flow, locally: pack the linux/amd64 archive from the binaries built for this test,
//! generate the krew manifest from the archives, and check that the manifest says what the
//! archives hold (checksum, `bin`, `files`) and passes the same krew rules as the committed one.
//! The archives are read back here with the codecs directly, not through the generator's code.

use crate::krew_rules;

use std::collections::BTreeMap;
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use bluegreen_release::archive::{self, Input};
use bluegreen_release::manifest::{self, Coverage};
use bluegreen_release::platform::{ALL, Platform};
use serde_json::Value;
use sha2::{Digest, Sha256};

const PLUGIN: &str = env!("CARGO_BIN_EXE_kubectl-bluegreen");
const COMPLETER: &str = env!("CARGO_BIN_EXE_kubectl_complete-bluegreen");
const BASE_URL: &str = "https://github.com/kubectl-bluegreen/kubectl-bluegreen/releases/download";

fn version() -> String {
    format!("v{}", env!("CARGO_PKG_VERSION"))
}

fn repo_file(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(name)
}

fn exe(path: impl Into<PathBuf>) -> Input {
    Input {
        path: path.into(),
        executable: true,
    }
}

fn license() -> Input {
    Input {
        path: repo_file("LICENSE"),
        executable: false,
    }
}

/// Packs every platform into `dist`: linux/amd64 from the real binaries; the others, which
/// cannot be built here, from small stand-ins with the right names.
fn pack_release(work: &Path, dist: &Path) -> BTreeMap<Platform, PathBuf> {
    let mut archives = BTreeMap::new();
    for platform in ALL {
        let inputs = if platform == ALL[0] {
            vec![exe(PLUGIN), exe(COMPLETER), license()]
        } else {
            let dir = work.join(platform.to_string());
            std::fs::create_dir_all(&dir).expect("a folder");
            let suffix = if platform.is_windows() { ".exe" } else { "" };
            let mut inputs = Vec::new();
            for name in ["kubectl-bluegreen", "kubectl_complete-bluegreen"] {
                let path = dir.join(format!("{name}{suffix}"));
                std::fs::write(&path, format!("stand-in {name} for {platform}")).expect("write");
                inputs.push(exe(path));
            }
            inputs.push(license());
            inputs
        };
        let packed = match archive::pack(&version(), platform, &inputs, dist) {
            Ok(packed) => packed,
            Err(e) => panic!("packing {platform}: {e}"),
        };
        archives.insert(platform, packed.archive);
    }
    archives
}

fn sha256_hex(path: &Path) -> String {
    let mut file = File::open(path).expect("the archive opens");
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; 1 << 20];
    loop {
        let n = file.read(&mut buffer).expect("the archive reads");
        if n == 0 {
            break;
        }
        hasher.update(&buffer[..n]);
    }
    hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// (name, mode) of each entry of a .tar.gz, in order.
fn tar_entries(path: &Path) -> Vec<(String, u32)> {
    let file = File::open(path).expect("the archive opens");
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(file));
    archive
        .entries()
        .expect("a tar stream")
        .map(|entry| {
            let entry = entry.expect("an entry");
            let name = entry.path().expect("a path").display().to_string();
            (name, entry.header().mode().expect("a mode"))
        })
        .collect()
}

fn zip_entries(path: &Path) -> Vec<String> {
    let file = File::open(path).expect("the archive opens");
    let mut archive = zip::ZipArchive::new(file).expect("a zip file");
    (0..archive.len())
        .map(|i| {
            let entry = archive.by_index(i).expect("an entry");
            entry.name().expect("a name").into_owned()
        })
        .collect()
}

fn platform_entry<'a>(m: &'a Value, os: &str, arch: &str) -> &'a Value {
    m["spec"]["platforms"]
        .as_array()
        .expect("platforms")
        .iter()
        .find(|p| {
            p["selector"]["matchLabels"]["os"] == os && p["selector"]["matchLabels"]["arch"] == arch
        })
        .unwrap_or_else(|| panic!("no {os}/{arch} platform"))
}

fn froms(platform: &Value) -> Vec<String> {
    platform["files"]
        .as_array()
        .expect("files")
        .iter()
        .map(|f| {
            assert_eq!(f["to"], ".", "{f}");
            f["from"].as_str().expect("from").to_string()
        })
        .collect()
}

#[test]
fn the_generated_manifest_matches_the_archives() {
    let work = tempfile::tempdir().expect("a temporary folder");
    let dist = work.path().join("dist");
    let archives = pack_release(work.path(), &dist);
    let version = version();
    let base_url = format!("{BASE_URL}/{version}");

    // As the workflow calls it: every file of dist/, archives and .sha256 files.
    let mut inputs: Vec<PathBuf> = std::fs::read_dir(&dist)
        .expect("dist lists")
        .map(|e| e.expect("an entry").path())
        .collect();
    inputs.sort();
    assert_eq!(
        inputs.len(),
        10,
        "five archives and their checksums: {inputs:?}"
    );
    let current = std::fs::read_to_string(repo_file("krew-manifest.yaml")).expect("the manifest");
    let text = match manifest::generate(&version, &base_url, &current, &inputs, Coverage::All) {
        Ok(text) => text,
        Err(e) => panic!("generating the manifest: {e}"),
    };
    let generated = krew_rules::parse(&text);
    krew_rules::check_all(&generated);

    // The linux archive, built from this test's binaries.
    let linux = &archives[&ALL[0]];
    let entry = platform_entry(&generated, "linux", "amd64");
    let linux_sha = sha256_hex(linux);
    assert_eq!(entry["sha256"], linux_sha.as_str());
    let name = linux.file_name().and_then(|n| n.to_str()).expect("a name");
    assert_eq!(entry["uri"], format!("{base_url}/{name}").as_str());
    let content = tar_entries(linux);
    let names: Vec<String> = content.iter().map(|(n, _)| n.clone()).collect();
    assert_eq!(
        names,
        ["kubectl-bluegreen", "kubectl_complete-bluegreen", "LICENSE"]
    );
    assert_eq!(names, ALL[0].release_files(), "the release layout");
    assert_eq!(froms(entry), names, "files are the archive's content");
    assert_eq!(entry["bin"], "kubectl-bluegreen");
    let modes: BTreeMap<String, u32> = content.into_iter().collect();
    assert_eq!(
        modes["kubectl-bluegreen"] & 0o777,
        0o755,
        "the binary is executable"
    );
    assert_eq!(modes["LICENSE"] & 0o777, 0o644);
    let sha_file = std::fs::read_to_string(archive::checksum_path(linux)).expect("the .sha256");
    assert_eq!(sha_file, format!("{linux_sha}  {name}\n"));

    // The stand-in archives too, the Windows zip included.
    for (platform, path) in archives.iter().filter(|(p, _)| **p != ALL[0]) {
        let entry = platform_entry(&generated, platform.os, platform.arch);
        assert_eq!(entry["sha256"], sha256_hex(path).as_str(), "{platform}");
        let names = if platform.is_windows() {
            zip_entries(path)
        } else {
            tar_entries(path).into_iter().map(|(n, _)| n).collect()
        };
        assert_eq!(froms(entry), names, "{platform}");
        assert!(names.contains(&entry["bin"].as_str().unwrap_or("?").to_string()));
    }

    // The descriptions are the committed manifest's, word for word, and the committed
    // manifest already lists what the archives hold.
    let committed = krew_rules::parse(&current);
    for platform in ALL {
        let entry = platform_entry(&committed, platform.os, platform.arch);
        assert_eq!(
            froms(entry),
            platform.release_files(),
            "committed {platform}"
        );
    }
    for key in ["homepage", "shortDescription", "description"] {
        assert_eq!(generated["spec"][key], committed["spec"][key], "{key}");
    }
}

#[test]
fn a_checksum_file_that_disagrees_stops_the_generation() {
    let work = tempfile::tempdir().expect("a temporary folder");
    let dist = work.path().join("dist");
    let inputs: Vec<Input> = vec![exe(work.path().join("kubectl-bluegreen")), license()];
    std::fs::write(&inputs[0].path, "stand-in").expect("write");
    let mut all = Vec::new();
    for platform in ALL {
        let mut these = inputs.clone();
        if platform.is_windows() {
            let path = work.path().join("kubectl-bluegreen.exe");
            std::fs::write(&path, "stand-in").expect("write");
            these[0] = exe(path);
        }
        let packed = archive::pack(&version(), platform, &these, &dist).expect("packs");
        all.push(packed.archive);
        all.push(packed.checksum_file);
    }
    let current = std::fs::read_to_string(repo_file("krew-manifest.yaml")).expect("the manifest");
    let base_url = format!("{BASE_URL}/{}", version());
    assert!(manifest::generate(&version(), &base_url, &current, &all, Coverage::All).is_ok());

    std::fs::write(&all[1], format!("{}  tampered\n", "ab".repeat(32))).expect("write");
    let err = manifest::generate(&version(), &base_url, &current, &all, Coverage::All)
        .expect_err("refused");
    assert!(err.to_string().contains("says"), "{err}");

    let other_version = manifest::generate("v9.9.9", &base_url, &current, &all[2..], Coverage::All);
    assert!(
        other_version.is_err(),
        "archives of another version are refused"
    );
}

#[test]
fn the_release_workflow_builds_and_packs_every_platform() {
    let path = repo_file(".github/workflows/release.yml");
    let text = std::fs::read_to_string(&path).expect("the release workflow");
    let workflow: serde_yaml::Value = serde_yaml::from_str(&text).expect("the workflow is YAML");

    let tags = &workflow["on"]["push"]["tags"];
    assert_eq!(tags[0].as_str(), Some("v*"), "runs on v* tags");

    let include = workflow["jobs"]["build"]["strategy"]["matrix"]["include"]
        .as_sequence()
        .expect("a build matrix");
    let mut built: Vec<(String, String)> = include
        .iter()
        .map(|row| {
            let field = |k: &str| row[k].as_str().expect("os and arch").to_string();
            (field("os"), field("arch"))
        })
        .collect();
    built.sort();
    let mut wanted: Vec<(String, String)> = ALL
        .iter()
        .map(|p| (p.os.to_string(), p.arch.to_string()))
        .collect();
    wanted.sort();
    assert_eq!(
        built, wanted,
        "the matrix builds exactly the krew platforms"
    );

    for fragment in [
        "--bin kubectl-bluegreen --bin kubectl_complete-bluegreen",
        "-p bluegreen-release -- pack",
        "--exe \"$out/kubectl_complete-bluegreen$suffix\"",
        "--file LICENSE",
        "-p bluegreen-release -- krew-manifest",
        "sha256sum --check",
        "--test integration krew_manifest::",
        "dist/*.sha256 krew-manifest.yaml",
    ] {
        assert!(text.contains(fragment), "the workflow lacks {fragment:?}");
    }
}
