//! Embeds the git commit the binary is built from, for `--version`.
//!
//! Sources, in order: the `BLUEGREEN_GIT_COMMIT` environment variable (for packagers who build
//! from a source tarball but know the commit), the git checkout this crate is the top of, the
//! `.cargo_vcs_info.json` that `cargo package` writes into crates.io tarballs, else `unknown`.
//! Nothing here may fail the build: a missing git is normal outside a checkout.

use std::path::{Path, PathBuf};
use std::process::Command;

const VAR: &str = "BLUEGREEN_GIT_COMMIT";
const SHORT: usize = 12;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed={VAR}");
    let dir = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_default());

    let commit = std::env::var(VAR)
        .ok()
        .filter(|c| is_commit(c))
        .or_else(|| from_git(&dir))
        .or_else(|| from_vcs_info(&dir))
        .map(|c| c.chars().take(SHORT).collect::<String>())
        .unwrap_or_else(|| "unknown".to_string());
    println!("cargo:rustc-env={VAR}={commit}");
}

fn is_commit(text: &str) -> bool {
    text.len() >= 7 && text.bytes().all(|b| b.is_ascii_hexdigit())
}

fn git(dir: &Path, args: &[&str]) -> Option<String> {
    let output = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .output()
        .ok()?;
    if !output.status.success() {
        return None;
    }
    let text = String::from_utf8(output.stdout).ok()?;
    Some(text.trim().to_string())
}

/// The commit of the checkout whose top is this crate, and the files to watch so that a new
/// commit rebuilds. A tarball unpacked inside some other repository must not take its commit.
fn from_git(dir: &Path) -> Option<String> {
    let top = git(dir, &["rev-parse", "--show-toplevel"])?;
    let same = |a: &Path, b: &Path| match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    };
    if !same(Path::new(&top), dir) {
        return None;
    }
    let commit = git(dir, &["rev-parse", "HEAD"]).filter(|c| is_commit(c))?;
    // HEAD names the branch; the branch's ref file (or packed-refs) holds the commit.
    // A missing watched file would rerun this script on every build: watch only what exists.
    let mut watched = Vec::new();
    if let Some(git_dir) = git(dir, &["rev-parse", "--absolute-git-dir"]) {
        watched.push(Path::new(&git_dir).join("HEAD"));
    }
    if let Some(common) = git(
        dir,
        &["rev-parse", "--path-format=absolute", "--git-common-dir"],
    ) {
        watched.push(Path::new(&common).join("packed-refs"));
        if let Some(head_ref) = git(dir, &["symbolic-ref", "-q", "HEAD"]) {
            watched.push(Path::new(&common).join(head_ref));
        }
    }
    for path in watched.iter().filter(|p| p.exists()) {
        println!("cargo:rerun-if-changed={}", path.display());
    }
    Some(commit)
}

/// `cargo package` records the commit as `{"git": {"sha1": "..."}}`.
fn from_vcs_info(dir: &Path) -> Option<String> {
    let text = std::fs::read_to_string(dir.join(".cargo_vcs_info.json")).ok()?;
    let at = text.find("\"sha1\"")?;
    let rest = &text[at + "\"sha1\"".len()..];
    let start = rest.find('"')? + 1;
    let end = start + rest[start..].find('"')?;
    Some(rest[start..end].to_string()).filter(|c| is_commit(c))
}
