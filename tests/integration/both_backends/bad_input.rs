//! The bad-input catalogue's rows that need a cluster with objects in it (a missing Service, a
//! selector without a colour, ambiguous Deployments, a pair in the middle of a release, …),
//! and the whole promotes of its unusual rows, on both back-ends. The rows themselves are in
//! `bad_input_catalogue.rs`; `tests/bad_input.rs` runs those that need no cluster.

use std::time::Duration;

use super::bad_input_catalogue::*;
use crate::backends::{self, Cluster, Snapshot};
use crate::both_backends;

/// The catalogue's rows whose fixture is a cluster with objects.
fn cluster_rows() -> Vec<&'static Row> {
    CATALOGUE
        .iter()
        .filter(|r| matches!(r.fixture, Fixture::Objects(..)))
        .collect()
}

/// Runs one row against `c`; returns what is wrong with it.
fn check(c: &dyn Cluster, row: &Row) -> Vec<String> {
    let Fixture::Objects(scenario, yaml) = row.fixture else {
        return vec!["not a row with objects".into()];
    };
    let mut manifest = match scenario {
        None => String::new(),
        Some("classic") => super::pair::Pair::default().manifest(),
        Some(other) => return vec![format!("no pair for the sandbox scenario {other:?}")],
    };
    if !yaml.is_empty() {
        if !manifest.is_empty() {
            manifest.push_str("\n---\n");
        }
        manifest.push_str(yaml);
    }
    c.load_yaml(&manifest);
    c.wait_settled();
    let before = Snapshot::take(c);
    let namespace = c.namespace().to_string();
    let mut wrong = Vec::new();
    for expect in row.runs {
        let got = c.bluegreen(expect.args);
        wrong.extend(judge(
            &format!("{}: {}", c.backend(), row.case),
            expect,
            &got,
            // The catalogue names the sandbox's namespace; the real back-end's is the test's.
            |fragment| {
                fragment.replace(
                    "namespace \"default\"",
                    &format!("namespace \"{namespace}\""),
                )
            },
        ));
    }
    let unchanged = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        before.assert_unchanged(c);
    }));
    if let Err(e) = unchanged {
        let text = e
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_default();
        wrong.push(format!(
            "{}: {}: something changed: {text}",
            c.backend(),
            row.case
        ));
    }
    wrong
}

/// Runs the rows `jobs` at a time, each on a cluster of its own, and fails with every row
/// that went wrong.
fn run_rows(jobs: usize, make: &(dyn Fn(&str) -> Box<dyn Cluster> + Sync)) {
    let rows = cluster_rows();
    assert!(rows.len() >= 15, "only {} rows with a cluster", rows.len());
    let next = std::sync::Mutex::new(0usize);
    let results = std::sync::Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..jobs {
            scope.spawn(|| {
                loop {
                    let i = {
                        let mut n = next.lock().unwrap_or_else(|e| e.into_inner());
                        *n += 1;
                        *n - 1
                    };
                    let Some(row) = rows.get(i) else { return };
                    let wrong = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                        let c = make(row.case);
                        check(&*c, row)
                    }))
                    .unwrap_or_else(|e| {
                        vec![format!(
                            "{}: the check panicked: {}",
                            row.case,
                            e.downcast_ref::<String>().cloned().unwrap_or_default()
                        )]
                    });
                    results
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .push((row.case, wrong));
                }
            });
        }
    });
    let results = results.into_inner().unwrap_or_else(|e| e.into_inner());
    let runs: usize = rows.iter().map(|r| r.runs.len()).sum();
    let failed: Vec<String> = results
        .iter()
        .filter(|(_, wrong)| !wrong.is_empty())
        .map(|(case, wrong)| format!("## {case}\n{}", wrong.join("\n")))
        .collect();
    eprintln!(
        "bad-input catalogue with a cluster: {} rows, {runs} runs, {} rows failed",
        rows.len(),
        failed.len()
    );
    assert_eq!(results.len(), rows.len());
    assert!(failed.is_empty(), "{}", failed.join("\n\n"));
}

mod the_catalogue_rows_with_a_cluster {
    #[test]
    fn sandbox() {
        super::run_rows(2, &|_| Box::new(crate::backends::sandbox()));
    }

    #[test]
    #[ignore = "real control plane: tests/control-plane/build.sh, then cargo test -- --include-ignored"]
    fn real() {
        super::run_rows(4, &|case| Box::new(crate::backends::real(case)));
    }
}

/// `status -o json` until `done` holds.
fn status_until(
    c: &dyn Cluster,
    args: &[&str],
    done: impl Fn(&serde_json::Value) -> bool,
) -> serde_json::Value {
    let mut all = vec!["status"];
    all.extend(args);
    all.extend(["-o", "json"]);
    let mut last = serde_json::Value::Null;
    backends::eventually(Duration::from_secs(30), "the status wanted", || {
        let run = c.bluegreen(&all);
        if run.code != 0 {
            return false;
        }
        last = run.json();
        done(&last)
    });
    last
}

/// The headless row's promote for real: the selector flip moves a headless Service's
/// EndpointSlices (what its DNS name answers) as it does any other Service's.
fn a_headless_service_is_promoted_like_any_other(c: &dyn Cluster) {
    c.load_yaml(HEADLESS);
    c.wait_settled();
    c.bluegreen(&["promote", "headless", "--yes", "--scale-down-delay", "0"])
        .expect_code(0)
        .stdout_has(&["Promoted headless: blue → green."]);
    let doc = status_until(c, &["headless"], |doc| doc["liveColour"] == "green");
    assert_eq!(doc["service"]["selector"]["app"], "green");
}

/// The unusual names through a whole promote: a prefixed colour key, long values and names.
fn unusual_names_go_through_a_whole_promote(c: &dyn Cluster) {
    c.load_yaml(UNUSUAL);
    c.wait_settled();
    let args = [
        "--label",
        "bluegreen.example.com/track",
        "--colors",
        UNUSUAL_COLOURS,
    ];
    let mut promote = vec![
        "promote",
        UNUSUAL_SERVICE,
        "--yes",
        "--scale-down-delay",
        "0",
    ];
    promote.extend(args);
    c.bluegreen(&promote).expect_code(0);
    let mut status = vec![UNUSUAL_SERVICE];
    status.extend(args);
    let doc = status_until(c, &status, |doc| {
        doc["liveColour"]
            .as_str()
            .is_some_and(|c| c.starts_with("v1.2.4"))
    });
    assert_eq!(
        doc["service"]["selector"]["app.kubernetes.io/name"], "web",
        "only the colour key changes: {doc:#}"
    );
}

both_backends!(
    a_headless_service_is_promoted_like_any_other,
    unusual_names_go_through_a_whole_promote,
);
