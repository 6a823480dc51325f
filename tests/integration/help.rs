//! `--help` teaches by example on every command, and `--version` says which build this is.

use std::process::Command;

use crate::common::*;
use clap::CommandFactory;
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

/// `--help` of `command` as printed at `columns` wide (clap reads COLUMNS when stdout is not a
/// terminal).
fn help_at(command: &[&str], columns: &str) -> String {
    let home = tempfile::tempdir().expect("a temporary HOME");
    let mut args = command.to_vec();
    args.push("--help");
    let run = run_in(home.path(), &args, &[("COLUMNS", columns)]);
    run.expect_code(0);
    run.stdout
}

/// The description under `flag` in a long help: the indented lines after the flag's own line,
/// joined, up to the next flag.
fn flag_text(help: &str, flag: &str) -> String {
    let mut lines = help.lines().skip_while(|l| {
        let t = l.trim_start();
        !(t.starts_with(flag) && t[flag.len()..].starts_with([' ', '\n', '[', '.', ',']))
            && t != flag
    });
    assert!(lines.next().is_some(), "{flag} is not in the help:\n{help}");
    lines
        .take_while(|l| !l.trim_start().starts_with('-') && !l.ends_with(':'))
        .map(str::trim)
        .collect::<Vec<_>>()
        .join(" ")
}

#[test]
fn each_release_command_describes_its_flags_as_they_act_in_it() {
    let promote = help_at(&["promote"], "100");
    let rollback = help_at(&["rollback"], "100");
    let cleanup = help_at(&["cleanup"], "100");

    // --timeout: --wait is promote's.
    assert!(flag_text(&promote, "--timeout").contains("--wait"));
    assert!(promote.contains("--wait"));
    assert!(!rollback.contains("--wait"), "{rollback}");
    assert!(!cleanup.contains("--wait"), "{cleanup}");
    assert!(flag_text(&rollback, "--timeout").contains("previous colour"));
    assert!(flag_text(&cleanup, "--timeout").contains("interrupted"));

    // --force: readiness checks in promote and rollback; in cleanup, a colour traffic never left.
    assert!(flag_text(&promote, "--force").contains("readiness checks"));
    assert!(flag_text(&rollback, "--force").contains("previous colour"));
    let force = flag_text(&cleanup, "--force");
    assert!(!force.contains("readiness"), "{force}");
    assert!(
        force.contains("journal records no move of traffic away from it"),
        "{force}"
    );

    // --cleanup and --scale-down-delay: cleanup's defaults are the pending ones.
    assert!(flag_text(&promote, "--cleanup").contains("[default: scale-down]"));
    assert!(flag_text(&cleanup, "--cleanup").contains("interrupted release recorded"));
    assert!(flag_text(&promote, "--scale-down-delay").contains("30s"));
    assert!(!flag_text(&cleanup, "--scale-down-delay").contains("30s"));

    // Each command's summary line is its own.
    assert!(rollback.starts_with("Move production traffic back"));
    assert!(cleanup.starts_with("Apply the cleanup policy"));
}

/// The example lines of a help text: from `Examples:` to the next unindented heading, with
/// backslash-continued lines joined.
fn examples(help: &str) -> Vec<String> {
    let section = help
        .split_once("\nExamples:\n")
        .map(|(_, rest)| rest)
        .unwrap_or_else(|| panic!("no Examples: section in\n{help}"));
    let mut lines = Vec::new();
    let mut continued: Option<String> = None;
    for line in section.lines() {
        if !line.is_empty() && !line.starts_with(' ') {
            break; // the next section, e.g. `Exit codes:`
        }
        let line = line.trim();
        let joined = match continued.take() {
            Some(start) => format!("{start} {line}"),
            None => line.to_string(),
        };
        match joined.strip_suffix('\\') {
            Some(start) => continued = Some(start.trim_end().to_string()),
            None if !joined.is_empty() => lines.push(joined),
            None => {}
        }
    }
    assert!(continued.is_none(), "an example ends with a backslash");
    lines
}

/// The plugin's arguments in an example command line: the words after `kubectl bluegreen` (or
/// `kubectl-bluegreen`), up to a pipe, a redirection, a comment or a closing parenthesis.
fn example_args(line: &str) -> Option<Vec<String>> {
    let start = ["kubectl bluegreen ", "kubectl-bluegreen "]
        .iter()
        .find_map(|p| line.find(p).map(|i| i + p.len()))?;
    let rest = &line[start..];
    let end = rest.find(['|', '>', '#', ')']).unwrap_or(rest.len());
    Some(rest[..end].split_whitespace().map(str::to_string).collect())
}

#[test]
fn every_example_is_a_whole_command_line_that_parses() {
    let root = Cli::command();
    let mut commands = vec![vec![]];
    for sub in root.get_subcommands().filter(|s| !s.is_hide_set()) {
        commands.push(vec![sub.get_name().to_string()]);
    }
    for command in &commands {
        let command: Vec<&str> = command.iter().map(String::as_str).collect();
        // 80 columns: a longer example line would wrap onto a line that is not shell.
        let help = help_at(&command, "80");
        let lines = examples(&help);
        assert!(!lines.is_empty(), "{command:?} has no examples");
        let mut parsed = 0;
        for line in &lines {
            let is_shell = line.starts_with('#')
                || line.starts_with("kubectl bluegreen ")
                || line.starts_with("kubectl-bluegreen ")
                || line.starts_with("source <(kubectl-bluegreen ");
            assert!(
                is_shell,
                "{command:?}: an example line that is neither a comment nor a command \
                 (wrapped?): {line:?}\n{help}"
            );
            if line.starts_with('#') {
                continue;
            }
            let args = example_args(line).expect("a plugin command");
            let mut argv = vec!["kubectl-bluegreen".to_string()];
            argv.extend(args);
            if let Err(e) = Cli::parse_args(&argv) {
                panic!("{command:?}: the example {line:?} does not parse: {e}");
            }
            parsed += 1;
        }
        assert!(parsed > 0, "{command:?}: no example command");
    }
}

#[test]
fn kubectl_verbosity_levels_are_accepted() {
    for args in [
        &["-v=6", "status", "--help"][..],
        &["--v=6", "status", "--help"],
        &["-v", "6", "status", "--help"],
        &["status", "--help", "-v=3"],
        &["status", "--help", "-vv"],
    ] {
        run(args).expect_code(0).stdout_has(&["Usage:"]);
    }
    for args in [
        &["-v=6", "status", "web"][..],
        &["status", "web", "-v", "6"],
    ] {
        let parsed =
            Cli::parse_args(std::iter::once("kubectl-bluegreen").chain(args.iter().copied()))
                .unwrap_or_else(|e| panic!("{args:?}: {e}"));
        assert_eq!(parsed.global.verbosity(), 2, "{args:?}");
    }
    let help = help_at(&["status"], "100");
    assert!(flag_text(&help, "-v, --verbose").contains("-v=N"), "{help}");
    // Without a cluster: the level is accepted and the error is about the configuration.
    let home = tempfile::tempdir().expect("a temporary HOME");
    let run = run_in(home.path(), &["status", "web", "-v=6"], &[]);
    assert_eq!(run.code, 3, "{run:?}");
    assert!(!run.stderr.contains("unexpected argument"), "{run:?}");
}
