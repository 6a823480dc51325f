//! A journal value the plugin cannot read: `status` shows it with its key and raw value (table
//! and JSON), and the release commands stop with a clear message and exit 5, changing nothing.

use crate::common::*;
use crate::release_support::*;
use sandbox::resources::SERVICES;
use sandbox::store::UpdateOpts;

/// Sets one journal annotation on blueservice, behind the plugin's back.
#[allow(clippy::result_large_err)] // the sandbox store's own error type
fn set_journal(sb: &Sandbox, key: &str, value: &str) {
    sb.store()
        .update_with(
            &SERVICES,
            "default",
            "blueservice",
            UpdateOpts::default(),
            |old| {
                let mut new = (*old).clone();
                new["metadata"]["annotations"][format!("bluegreen.dev/{key}")] =
                    serde_json::Value::String(value.to_string());
                Ok(new)
            },
        )
        .expect("the annotation is set");
}

#[test]
fn an_unreadable_step_is_shown_by_status_and_stops_every_release_command() {
    let sb = settled_scenario("classic");
    run_against(
        &sb,
        &["promote", "blueservice", "--yes", "--cleanup", "none"],
    )
    .expect_code(0);
    set_journal(&sb, "step", "verifying");
    assert_eq!(
        journal(&sb, "blueservice", "step").as_deref(),
        Some("verifying")
    );

    let table = run_against(&sb, &["status", "blueservice"]);
    table
        .expect_code(0)
        .stdout_has(&["step: verifying  (unreadable: not verify or cleanup)"]);
    let doc = run_against(&sb, &["status", "blueservice", "-o", "json"])
        .expect_code(0)
        .json();
    assert_eq!(doc["service"]["journal"]["step"], "verifying", "{doc:#}");
    assert_eq!(
        doc["service"]["unreadableJournal"],
        serde_json::json!([{"key": "step", "value": "verifying", "expected": "verify or cleanup"}]),
        "{doc:#}"
    );

    sb.clear_requests();
    for args in [
        &["promote", "blueservice", "--yes"][..],
        &["rollback", "blueservice", "--yes"],
        &["cleanup", "blueservice", "--yes"],
        &["deploy", "blueservice", "--image", "nginx:v3", "--yes"],
    ] {
        run_against(&sb, args).expect_code(5).stderr_has(&[
            "blueservice's journal holds a value this plugin cannot read: bluegreen.dev/step=\"verifying\" is not verify or cleanup",
            "kubectl annotate service blueservice --overwrite bluegreen.dev/step=",
        ]);
    }
    assert_no_mutation(&sb);
    assert_eq!(selected(&sb, "blueservice", "app"), "green");
}

#[test]
fn an_unreadable_time_is_shown_and_stops_a_release_command() {
    let sb = settled_scenario("classic");
    run_against(
        &sb,
        &["promote", "blueservice", "--yes", "--cleanup", "none"],
    )
    .expect_code(0);
    set_journal(&sb, "flipped-at", "last tuesday");
    let doc = run_against(&sb, &["status", "blueservice", "-o", "json"])
        .expect_code(0)
        .json();
    assert_eq!(
        doc["service"]["unreadableJournal"][0]["value"], "last tuesday",
        "{doc:#}"
    );
    sb.clear_requests();
    run_against(&sb, &["rollback", "blueservice", "--yes"])
        .expect_code(5)
        .stderr_has(&["bluegreen.dev/flipped-at=\"last tuesday\" is not a time (RFC 3339)"]);
    assert_no_mutation(&sb);
}

#[test]
fn a_readable_journal_adds_nothing_to_the_status_document() {
    let sb = settled_scenario("classic");
    run_against(
        &sb,
        &["promote", "blueservice", "--yes", "--cleanup", "none"],
    )
    .expect_code(0);
    let doc = run_against(&sb, &["status", "blueservice", "-o", "json"])
        .expect_code(0)
        .json();
    assert_eq!(doc["service"]["journal"]["action"], "promote");
    assert!(doc["service"].get("unreadableJournal").is_none(), "{doc:#}");
}
