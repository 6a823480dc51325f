//! `--dry-run` prints the exact changing requests: for each command and cleanup policy, the
//! requests it prints equal, one for one, the changing requests the real run then sends to the
//! sandbox (method, path and body; values only known while it runs are `<placeholders>`).

use crate::common::*;
use serde_json::Value;

/// One request as `--dry-run` prints it or the sandbox logged it.
#[derive(Debug)]
struct Sent {
    method: String,
    path: String,
    body: Value,
}

/// The changing requests a `--dry-run` printed.
fn printed(stdout: &str) -> Vec<Sent> {
    let section = stdout
        .split_once("Requests:\n")
        .map(|(_, rest)| rest)
        .unwrap_or_else(|| panic!("no requests printed:\n{stdout}"));
    section
        .lines()
        .map(str::trim)
        .take_while(|l| !l.is_empty())
        .filter(|l| !l.starts_with('('))
        .map(|l| {
            let (method, rest) = l.split_once(' ').expect("a method");
            let (path, rest) = rest.split_once(" (").expect("a path");
            let (_, body) = rest.split_once(") ").expect("a content type");
            Sent {
                method: method.to_string(),
                path: path.to_string(),
                body: serde_json::from_str(body)
                    .unwrap_or_else(|e| panic!("the body of {l} is not JSON: {e}")),
            }
        })
        .collect()
}

/// The changing requests the sandbox received.
fn logged(sb: &Sandbox) -> Vec<Sent> {
    sb.requests()
        .into_iter()
        .filter(|r| r.is_mutating())
        .map(|r| Sent {
            body: serde_json::from_str(&r.body).unwrap_or_else(|e| {
                panic!("{} {}: body not JSON ({e}): {}", r.method, r.path, r.body)
            }),
            method: r.method,
            path: r.path,
        })
        .collect()
}

/// Whether `text` fits `pattern`, where each `<...>` of the pattern stands for any text.
fn fits(pattern: &str, text: &str) -> bool {
    let mut literals = Vec::new();
    let mut rest = pattern;
    while let Some(open) = rest.find('<') {
        let Some(close) = rest[open..].find('>') else {
            break;
        };
        literals.push(&rest[..open]);
        rest = &rest[open + close + 1..];
    }
    if literals.is_empty() {
        return pattern == text;
    }
    literals.push(rest);
    let (first, last) = (literals[0], literals[literals.len() - 1]);
    if !text.starts_with(first) || !text[first.len()..].ends_with(last) {
        return false;
    }
    let mut at = first.len();
    let end = text.len() - last.len();
    for middle in &literals[1..literals.len() - 1] {
        match text[at..end].find(middle) {
            Some(i) => at += i + middle.len(),
            None => return false,
        }
    }
    true
}

/// Whether a logged body is the printed one, placeholders aside.
fn same(printed: &Value, sent: &Value) -> bool {
    match (printed, sent) {
        (Value::String(p), Value::String(s)) => fits(p, s),
        (Value::String(p), _) => p.starts_with('<') && p.ends_with('>') && fits(p, ""),
        (Value::Object(p), Value::Object(s)) => {
            p.len() == s.len()
                && p.iter()
                    .all(|(k, v)| s.get(k).is_some_and(|sv| same(v, sv)))
        }
        (Value::Array(p), Value::Array(s)) => {
            p.len() == s.len() && p.iter().zip(s).all(|(a, b)| same(a, b))
        }
        (p, s) => p == s,
    }
}

/// Runs `args` with `--dry-run`, then for real, and compares the printed requests with the
/// logged ones. Returns how many there were.
#[track_caller]
fn dry_run_matches(sb: &Sandbox, args: &[&str]) -> usize {
    sb.clear_requests();
    let dry: Vec<&str> = args.iter().copied().chain(["--dry-run"]).collect();
    let run = run_against(sb, &dry);
    run.expect_code(0);
    assert_no_mutation(sb);
    let printed = printed(&run.stdout);
    sb.clear_requests();
    let real: Vec<&str> = args.iter().copied().chain(["--yes"]).collect();
    run_against(sb, &real).expect_code(0);
    let logged = logged(sb);
    let show = |list: &[Sent]| {
        list.iter()
            .map(|s| format!("{} {} {}", s.method, s.path, s.body))
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert_eq!(
        printed.len(),
        logged.len(),
        "{args:?}\n--- printed ---\n{}\n--- sent ---\n{}",
        show(&printed),
        show(&logged)
    );
    for (p, s) in printed.iter().zip(&logged) {
        assert!(
            p.method == s.method && p.path == s.path && same(&p.body, &s.body),
            "{args:?}: printed\n  {} {} {}\nsent\n  {} {} {}",
            p.method,
            p.path,
            p.body,
            s.method,
            s.path,
            s.body
        );
    }
    printed.len()
}

fn promote(policy: &str) -> Vec<&str> {
    vec![
        "promote",
        "blueservice",
        "--cleanup",
        policy,
        "--scale-down-delay",
        "0s",
    ]
}

#[test]
fn promote_prints_what_it_sends_with_each_cleanup_policy() {
    for (policy, count) in [("scale-down", 7), ("delete", 8), ("none", 3)] {
        let sb = settled_scenario("classic");
        assert_eq!(dry_run_matches(&sb, &promote(policy)), count, "{policy}");
    }
}

#[test]
fn rollback_after_a_scale_down_prints_what_it_sends() {
    let sb = settled_scenario("classic");
    dry_run_matches(&sb, &promote("scale-down"));
    let rollback = ["rollback", "blueservice", "--cleanup", "none"];
    // Scale up, flip, Event, nothing pending.
    assert_eq!(dry_run_matches(&sb, &rollback), 4);
}

#[test]
fn rollback_after_a_delete_prints_what_it_sends() {
    let sb = settled_scenario("classic");
    dry_run_matches(&sb, &promote("delete"));
    let rollback = [
        "rollback",
        "blueservice",
        "--cleanup",
        "delete",
        "--scale-down-delay",
        "0s",
    ];
    // Re-create the Deployment and the test Service, flip, pending, Event, then save and
    // delete the other colour, nothing pending, Event.
    assert_eq!(dry_run_matches(&sb, &rollback), 9);
}

#[test]
fn cleanup_prints_what_it_sends() {
    let sb = settled_scenario("classic");
    dry_run_matches(&sb, &promote("none"));
    assert_eq!(dry_run_matches(&sb, &["cleanup", "blueservice"]), 4);
}

#[test]
fn deploy_prints_what_it_sends() {
    let sb = settled_scenario("classic");
    dry_run_matches(&sb, &promote("delete"));
    let deploy = ["deploy", "blueservice", "--image", "nginx:v3"];
    // Re-create the Deployment and a test Service, record the deploy, Event.
    assert_eq!(dry_run_matches(&sb, &deploy), 4);
}
