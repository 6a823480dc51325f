//! Watches: resume from a resourceVersion, 410 Gone after compaction, bookmarks, selector
//! transitions, timeouts and the legacy `/watch/` path.

use crate::common;

use std::time::Duration;

use serde_json::json;

const PODS: &str = "/api/v1/namespaces/default/pods";
const WAIT: Duration = Duration::from_secs(3);

#[tokio::test]
async fn resume_from_resource_version() {
    let sb = common::start();
    let client = common::client(&sb).await;
    let a = common::post(&client, PODS, &common::pod("a", json!({"app": "x"}))).await;
    let rv_a = a.json["metadata"]["resourceVersion"]
        .as_str()
        .unwrap()
        .to_string();
    common::post(&client, PODS, &common::pod("b", json!({"app": "x"}))).await;
    common::call(&client, "DELETE", &format!("{PODS}/a"), None, "").await;

    let (status, mut w) = common::watch(
        &client,
        &format!("{PODS}?watch=true&resourceVersion={rv_a}"),
    )
    .await;
    assert_eq!(status, 200);
    let events = w.drain(Duration::from_millis(300)).await;
    let summary: Vec<(String, String)> = events
        .iter()
        .map(|e| {
            (
                e["type"].as_str().unwrap().to_string(),
                e["object"]["metadata"]["name"]
                    .as_str()
                    .unwrap()
                    .to_string(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [("ADDED".into(), "b".into()), ("DELETED".into(), "a".into())]
    );

    // Without a resourceVersion: the current state as ADDED, then changes.
    let (_, mut w) = common::watch(&client, &format!("{PODS}?watch=1")).await;
    let first = w.next(WAIT).await.unwrap();
    assert_eq!(
        (
            first["type"].as_str(),
            first["object"]["metadata"]["name"].as_str()
        ),
        (Some("ADDED"), Some("b"))
    );
    common::call(
        &client,
        "PATCH",
        &format!("{PODS}/b"),
        Some("application/merge-patch+json"),
        r#"{"metadata":{"labels":{"v":"2"}}}"#,
    )
    .await;
    let next = w.next(WAIT).await.unwrap();
    assert_eq!(next["type"], "MODIFIED");
    assert_eq!(next["object"]["metadata"]["labels"]["v"], "2");
}

#[tokio::test]
async fn compacted_resource_version_is_410_error_event() {
    let sb = common::start();
    let client = common::client(&sb).await;
    let a = common::post(&client, PODS, &common::pod("a", json!({}))).await;
    let rv = a.json["metadata"]["resourceVersion"]
        .as_str()
        .unwrap()
        .to_string();
    common::post(&client, PODS, &common::pod("b", json!({}))).await;
    sb.store().compact();
    let (status, mut w) =
        common::watch(&client, &format!("{PODS}?watch=true&resourceVersion={rv}")).await;
    assert_eq!(
        status, 200,
        "the real server answers 200 and an ERROR event"
    );
    let e = w.next(WAIT).await.unwrap();
    assert_eq!(e["type"], "ERROR");
    assert_eq!(e["object"]["code"], 410);
    assert_eq!(e["object"]["reason"], "Expired");
    assert!(w.ended(WAIT).await);
}

#[tokio::test]
async fn selector_transitions_and_bookmarks() {
    let sb = common::start();
    let client = common::client(&sb).await;
    common::post(&client, PODS, &common::pod("a", json!({"app": "blue"}))).await;
    let rv = sb.store().current_rv();
    let (_, mut w) = common::watch(
        &client,
        &format!("{PODS}?watch=true&labelSelector=app%3Dblue&allowWatchBookmarks=true&resourceVersion={rv}"),
    )
    .await;
    // Leaving the selection is a DELETED for this watch, coming back an ADDED.
    for (app, want) in [("green", "DELETED"), ("blue", "ADDED")] {
        common::call(
            &client,
            "PATCH",
            &format!("{PODS}/a"),
            Some("application/merge-patch+json"),
            &json!({"metadata": {"labels": {"app": app}}}).to_string(),
        )
        .await;
        let e = w.next(WAIT).await.unwrap();
        assert_eq!(e["type"], want, "{app}");
    }
    // Pods of other selections are not seen; an idle watch gets a bookmark.
    common::post(
        &client,
        PODS,
        &common::pod("other", json!({"app": "green"})),
    )
    .await;
    let e = w.next(WAIT).await.unwrap();
    assert_eq!(e["type"], "BOOKMARK");
    assert_eq!(e["object"]["kind"], "Pod");
    let bookmark_rv: u64 = e["object"]["metadata"]["resourceVersion"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(bookmark_rv >= rv);
}

#[tokio::test]
async fn timeout_ends_the_stream_and_legacy_watch_path_works() {
    let sb = common::start();
    let client = common::client(&sb).await;
    common::post(&client, PODS, &common::pod("a", json!({}))).await;
    common::post(&client, PODS, &common::pod("b", json!({}))).await;
    let (_, mut w) = common::watch(
        &client,
        "/api/v1/watch/namespaces/default/pods/b?timeoutSeconds=1",
    )
    .await;
    let e = w.next(WAIT).await.unwrap();
    assert_eq!(e["object"]["metadata"]["name"], "b");
    assert!(w.ended(WAIT).await, "timeoutSeconds ends the watch");
}

#[tokio::test]
async fn drop_watches_ends_open_streams() {
    let sb = common::start();
    let client = common::client(&sb).await;
    let (_, mut w) = common::watch(&client, &format!("{PODS}?watch=true")).await;
    assert!(!w.ended(Duration::from_millis(200)).await);
    sb.faults().drop_watches();
    assert!(w.ended(WAIT).await);
}
