//! The command line the release workflow runs: `pack` for each platform, then
//! `krew-manifest` over everything packed.

use std::path::Path;
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_bluegreen-release");

const CURRENT: &str = "\
# an old comment
apiVersion: krew.googlecontainertools.github.com/v1alpha2
kind: Plugin
metadata:
  name: bluegreen
spec:
  version: v0.0.1
  homepage: https://example.com/bluegreen
  shortDescription: Safe, reversible blue/green releases
  description: |
    Blue/green releases on plain Kubernetes.
  platforms: []
";

fn run(args: &[&str], dir: &Path) -> Output {
    Command::new(BIN)
        .args(args)
        .current_dir(dir)
        .env("SOURCE_DATE_EPOCH", "1700000000")
        .output()
        .expect("the tool runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn pack_every_platform_then_write_the_manifest() {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let root = dir.path();
    std::fs::write(root.join("LICENSE"), "license text").expect("write");
    std::fs::write(root.join("kubectl-bluegreen"), "unix binary").expect("write");
    std::fs::write(root.join("kubectl-bluegreen.exe"), "windows binary").expect("write");
    std::fs::write(root.join("krew-manifest.yaml"), CURRENT).expect("write");

    for (os, arch) in [
        ("linux", "amd64"),
        ("linux", "arm64"),
        ("darwin", "amd64"),
        ("darwin", "arm64"),
        ("windows", "amd64"),
    ] {
        let exe = if os == "windows" {
            "kubectl-bluegreen.exe"
        } else {
            "kubectl-bluegreen"
        };
        let out = run(
            &[
                "pack",
                "--version",
                "v1.2.3",
                "--os",
                os,
                "--arch",
                arch,
                "--exe",
                exe,
                "--file",
                "LICENSE",
            ],
            root,
        );
        assert!(out.status.success(), "{}", text(&out.stderr));
        let ext = if os == "windows" { "zip" } else { "tar.gz" };
        let name = format!("kubectl-bluegreen-v1.2.3-{os}-{arch}.{ext}");
        assert!(text(&out.stdout).contains(&name), "{}", text(&out.stdout));
        assert!(root.join("dist").join(format!("{name}.sha256")).is_file());
    }

    let mut args: Vec<String> = [
        "krew-manifest",
        "--version",
        "v1.2.3",
        "--base-url",
        "https://example.com/releases/v1.2.3/",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let mut archives: Vec<String> = std::fs::read_dir(root.join("dist"))
        .expect("dist")
        .map(|e| format!("dist/{}", e.expect("entry").file_name().to_string_lossy()))
        .collect();
    archives.sort();
    args.extend(archives);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = run(&args, root);
    assert!(out.status.success(), "{}", text(&out.stderr));

    let written = std::fs::read_to_string(root.join("krew-manifest.yaml")).expect("read");
    assert!(!written.contains("an old comment"));
    assert!(written.contains("  version: v1.2.3\n"), "{written}");
    assert!(written.contains(
        "      uri: https://example.com/releases/v1.2.3/kubectl-bluegreen-v1.2.3-windows-amd64.zip\n"
    ));
    assert!(
        written.contains("      bin: kubectl-bluegreen.exe\n"),
        "{written}"
    );
    assert!(written.contains("    Blue/green releases on plain Kubernetes.\n"));
    assert_eq!(written.matches("    - selector:").count(), 5);

    // --stdout prints the same text and leaves the file alone.
    let mut printed_args = args.clone();
    printed_args.push("--stdout");
    let printed = run(&printed_args, root);
    assert!(printed.status.success(), "{}", text(&printed.stderr));
    assert_eq!(text(&printed.stdout), written);
}

#[test]
fn mistakes_exit_non_zero_with_a_message() {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let root = dir.path();
    std::fs::write(root.join("kubectl-bluegreen"), "binary").expect("write");
    let wrong_os = run(
        &[
            "pack",
            "--version",
            "v1.0.0",
            "--os",
            "plan9",
            "--arch",
            "amd64",
            "--exe",
            "kubectl-bluegreen",
        ],
        root,
    );
    assert!(!wrong_os.status.success());
    assert!(text(&wrong_os.stderr).contains("plan9/amd64 is not a release platform"));

    let missing = run(
        &[
            "krew-manifest",
            "--version",
            "v1.0.0",
            "--base-url",
            "https://example.com",
            "nothing.tar.gz",
        ],
        root,
    );
    assert!(!missing.status.success());
    assert!(
        text(&missing.stderr).starts_with("error: "),
        "{}",
        text(&missing.stderr)
    );
}

#[test]
fn one_local_archive_makes_a_manifest_only_when_allowed() {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let root = dir.path();
    std::fs::write(root.join("LICENSE"), "license text").expect("write");
    std::fs::write(root.join("kubectl-bluegreen"), "binary").expect("write");
    std::fs::write(root.join("krew-manifest.yaml"), CURRENT).expect("write");
    let out = run(
        &[
            "pack",
            "--version",
            "v0.3.0",
            "--os",
            "linux",
            "--arch",
            "amd64",
            "--exe",
            "kubectl-bluegreen",
            "--file",
            "LICENSE",
        ],
        root,
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let archive = "dist/kubectl-bluegreen-v0.3.0-linux-amd64.tar.gz";
    let base = [
        "krew-manifest",
        "--version",
        "v0.3.0",
        "--base-url",
        "https://x",
        "--stdout",
    ];

    let strict = run(&[&base[..], &[archive]].concat(), root);
    assert!(!strict.status.success());
    assert!(
        text(&strict.stderr).contains("missing: kubectl-bluegreen-v0.3.0-linux-arm64.tar.gz"),
        "{}",
        text(&strict.stderr)
    );

    let partial = run(&[&base[..], &["--allow-missing", archive]].concat(), root);
    assert!(partial.status.success(), "{}", text(&partial.stderr));
    let manifest = text(&partial.stdout);
    assert_eq!(manifest.matches("    - selector:").count(), 1, "{manifest}");
    assert!(
        manifest.contains("          os: linux\n          arch: amd64\n"),
        "{manifest}"
    );
}
