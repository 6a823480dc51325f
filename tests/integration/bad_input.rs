//! The bad-input catalogue: one row per way the input can be wrong (or merely unusual), each
//! run through the built binary — `status`, and `promote --yes` where the row is about the pair.
//! Every row asserts a clear message, the documented exit code, no panic, and that the sandbox
//! received no request that changes anything. The README's "When the input is wrong" table is
//! this catalogue; a test keeps the two in sync.
//!
//! The rows live in `integration/both_backends/bad_input_catalogue.rs`. The rows that need a
//! cluster with objects in it (the pair's) run in `integration/both_backends/bad_input.rs`,
//! against the sandbox and the real control plane; this file runs the rest.

use std::path::{Path, PathBuf};

use crate::both_backends::bad_input_catalogue::*;
use crate::common::*;

/// Runs one row; returns what is wrong with it.
fn check(row: &Row) -> Vec<String> {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let (sandbox, kubeconfig): (Option<Sandbox>, Option<PathBuf>) = match row.fixture {
        Fixture::Nothing => (None, None),
        Fixture::KubeconfigText(text) => {
            let path = dir.path().join("kubeconfig");
            std::fs::write(&path, text).expect("write the kubeconfig");
            (None, Some(path))
        }
        Fixture::Objects(..) => unreachable!("rows with objects run in both_backends"),
        Fixture::Kubeconfig(edit) => {
            let sb = settled_scenario("classic");
            let text = std::fs::read_to_string(sb.kubeconfig_path()).expect("the kubeconfig");
            let mut config: serde_yaml::Value = serde_yaml::from_str(&text).expect("YAML");
            edit(&sb, dir.path(), &mut config);
            let path = dir.path().join("kubeconfig");
            std::fs::write(&path, serde_yaml::to_string(&config).expect("YAML"))
                .expect("write the kubeconfig");
            sb.clear_requests();
            (Some(sb), Some(path))
        }
    };
    let mut wrong = Vec::new();
    for expect in row.runs {
        let mut args: Vec<&str> = expect.args.to_vec();
        let path_text = kubeconfig.as_ref().map(|p| p.display().to_string());
        if let Some(path) = &path_text
            && !args.contains(&"--kubeconfig")
        {
            args.extend(["--kubeconfig", path]);
        }
        let got = crate::common::run(&args);
        let label = row.case.to_string();
        let shown = shown(&label, expect, &got);
        wrong.extend(judge(&label, expect, &got, str::to_string));
        for secret in ["TOPSECRET", "expired-token-0000"] {
            if got.stderr.contains(secret) || got.stdout.contains(secret) {
                wrong.push(format!("a credential from the kubeconfig leaked; {shown}"));
            }
        }
        if let Some(sb) = &sandbox {
            if got.stdout.contains(sb.token()) || got.stderr.contains(sb.token()) {
                wrong.push(format!("the token leaked; {shown}"));
            }
            let mutating: Vec<String> = sb
                .requests()
                .iter()
                .filter(|r| r.is_mutating())
                .map(|r| format!("{} {}", r.method, r.path))
                .collect();
            if !mutating.is_empty() {
                wrong.push(format!(
                    "mutating requests were sent: {mutating:?}; {shown}"
                ));
            }
            if expect.code == 2 && !sb.requests().is_empty() {
                wrong.push(format!("a usage error sent requests; {shown}"));
            }
        }
    }
    wrong
}

#[test]
fn the_bad_input_catalogue() {
    let here: Vec<&Row> = CATALOGUE
        .iter()
        .filter(|r| !matches!(r.fixture, Fixture::Objects(..)))
        .collect();
    let results: Vec<(&str, Vec<String>)> = std::thread::scope(|scope| {
        // Two rows at a time: each starts a sandbox and runs the binary.
        let mut results = Vec::new();
        for chunk in here.chunks(2) {
            let handles: Vec<_> = chunk
                .iter()
                .map(|row| (row.case, scope.spawn(move || check(row))))
                .collect();
            for (case, handle) in handles {
                let wrong = handle
                    .join()
                    .unwrap_or_else(|_| vec!["the check itself panicked".to_string()]);
                results.push((case, wrong));
            }
        }
        results
    });
    let runs: usize = CATALOGUE
        .iter()
        .filter(|r| !matches!(r.fixture, Fixture::Objects(..)))
        .map(|r| r.runs.len())
        .sum();
    let failed: Vec<String> = results
        .iter()
        .filter(|(_, wrong)| !wrong.is_empty())
        .map(|(case, wrong)| format!("## {case}\n{}", wrong.join("\n")))
        .collect();
    eprintln!(
        "bad-input catalogue without a cluster: {} rows, {runs} runs, {} rows failed",
        results.len(),
        failed.len()
    );
    assert!(failed.is_empty(), "{}", failed.join("\n\n"));
}

/// The codes of a row as the README's table shows them.
fn codes(row: &Row) -> String {
    let mut shown: Vec<String> = Vec::new();
    for expect in row.runs {
        let command = expect.args[0];
        let entry = if row.runs.iter().all(|e| e.code == expect.code) {
            expect.code.to_string()
        } else {
            format!("{} (`{command}`)", expect.code)
        };
        if !shown.contains(&entry) {
            shown.push(entry);
        }
    }
    shown.join(", ")
}

#[test]
fn the_readme_lists_the_catalogue() {
    let readme = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md"))
        .expect("README.md");
    let section = readme
        .split("## When the input is wrong")
        .nth(1)
        .expect("a README section \"When the input is wrong\"");
    let section = section.split("\n## ").next().unwrap_or(section);
    let table: Vec<&str> = section
        .lines()
        .filter(|l| l.starts_with("| ") && !l.starts_with("| case"))
        .collect();
    let wanted: Vec<String> = CATALOGUE
        .iter()
        .map(|row| format!("| {} | {} | {} |", row.case, row.readme, codes(row)))
        .collect();
    assert_eq!(
        table,
        wanted.iter().map(String::as_str).collect::<Vec<_>>(),
        "the README's table must list the catalogue's rows, in order:\n{}",
        wanted.join("\n")
    );
}
