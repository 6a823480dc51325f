//! `--help` teaches by example on every command, and `--version` says which build this is.

mod common;

use std::process::Command;

use clap::CommandFactory;
use common::*;
use kubectl_bluegreen::cli::Cli;

#[test]
fn every_subcommand_help_has_examples_that_use_it() {
    let root = Cli::command();
    let names: Vec<String> = root
        .get_subcommands()
        .filter(|s| !s.is_hide_set())
        .map(|s| s.get_name().to_string())
        .collect();
    assert!(names.contains(&"status".to_string()), "{names:?}");
    assert!(names.contains(&"completion".to_string()), "{names:?}");
    for name in &names {
        for flag in ["-h", "--help"] {
            let run = run(&[name, flag]);
            run.expect_code(0).stdout_has(&["Examples:"]);
            let examples = run.stdout.split("Examples:").nth(1).unwrap_or_default();
            assert!(
                examples
                    .lines()
                    .any(|l| l.trim_start().starts_with("kubectl")
                        && l.contains(&format!(" {name} "))),
                "`{name} {flag}` has no example command using it:\n{}",
                run.stdout
            );
        }
    }
    run(&["--help"])
        .expect_code(0)
        .stdout_has(&["Examples:", "Exit codes:"]);
}

/// The commit the build script should have found: this checkout's HEAD, when there is git.
fn head_commit() -> Option<String> {
    let output = Command::new("git")
        .args(["-C", env!("CARGO_MANIFEST_DIR"), "rev-parse", "HEAD"])
        .output()
        .ok()?;
    let text = String::from_utf8(output.stdout).ok()?;
    let commit = text.trim();
    (output.status.success() && commit.len() >= 12).then(|| commit[..12].to_string())
}

#[test]
fn version_names_the_release_and_the_commit() {
    let run = run(&["--version"]);
    run.expect_code(0);
    let line = run.stdout.trim_end();
    let prefix = format!("kubectl-bluegreen {} (commit ", env!("CARGO_PKG_VERSION"));
    let commit = line
        .strip_prefix(&prefix)
        .and_then(|rest| rest.strip_suffix(')'))
        .unwrap_or_else(|| panic!("unexpected --version output: {line:?}"));
    assert!(
        commit == "unknown"
            || (commit.len() == 12 && commit.bytes().all(|b| b.is_ascii_hexdigit())),
        "{commit:?}"
    );
    if let Some(head) = head_commit() {
        assert_eq!(commit, head, "built from this checkout's HEAD");
    }
    assert_eq!(
        self::run(&["-V"]).stdout,
        run.stdout,
        "-V and --version agree"
    );
}
