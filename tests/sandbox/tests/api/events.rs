//! `events.k8s.io/v1` Events are the core/v1 Events in another shape, as on a real server:
//! kube-rs' event recorder writes them, kubectl and core clients read them.

use crate::common;

use std::time::Duration;

use k8s_openapi::api::core::v1::ObjectReference;
use kube::runtime::events::{Event, EventType, Recorder, Reporter};
use serde_json::json;

#[tokio::test]
async fn recorder_events_are_core_events_too() {
    let sb = common::start();
    let client = common::client(&sb).await;
    let reporter = Reporter {
        controller: "kubectl-bluegreen".into(),
        instance: None,
    };
    let recorder = Recorder::new(client.clone(), reporter);
    let regarding = ObjectReference {
        api_version: Some("v1".into()),
        kind: Some("Service".into()),
        name: Some("web".into()),
        namespace: Some("default".into()),
        ..ObjectReference::default()
    };
    let event = Event {
        type_: EventType::Normal,
        reason: "Promoted".into(),
        note: Some("web now selects green".into()),
        action: "Promote".into(),
        secondary: None,
    };
    recorder.publish(&event, &regarding).await.unwrap();
    // The same event again is a patch of the first (its series grows).
    recorder.publish(&event, &regarding).await.unwrap();

    let core = common::get(&client, "/api/v1/namespaces/default/events").await;
    let items = core.json["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{}", core.text);
    assert_eq!(items[0]["message"], "web now selects green");
    assert_eq!(items[0]["involvedObject"]["name"], "web");
    assert_eq!(items[0]["reportingComponent"], "kubectl-bluegreen");
    assert_eq!(items[0]["series"]["count"], 2);

    let v1 = common::get(&client, "/apis/events.k8s.io/v1/namespaces/default/events").await;
    assert_eq!(v1.json["apiVersion"], "events.k8s.io/v1");
    let item = &v1.json["items"][0];
    assert_eq!(item["note"], "web now selects green");
    assert_eq!(item["regarding"]["kind"], "Service");
    assert!(item.get("message").is_none());

    let name = item["metadata"]["name"].as_str().unwrap().to_string();
    let one = common::get(
        &client,
        &format!("/apis/events.k8s.io/v1/namespaces/default/events/{name}"),
    )
    .await;
    assert_eq!(
        (one.json["kind"].as_str(), one.json["apiVersion"].as_str()),
        (Some("Event"), Some("events.k8s.io/v1"))
    );

    // Watching in either group sees the same change, each in its own shape.
    let (_, mut w) = common::watch(
        &client,
        "/apis/events.k8s.io/v1/namespaces/default/events?watch=true",
    )
    .await;
    let added = w.next(Duration::from_secs(3)).await.unwrap();
    assert_eq!(added["object"]["note"], "web now selects green");
    common::call(
        &client,
        "PATCH",
        &format!("/api/v1/namespaces/default/events/{name}"),
        Some("application/merge-patch+json"),
        &json!({"message": "changed"}).to_string(),
    )
    .await;
    let modified = w.next(Duration::from_secs(3)).await.unwrap();
    assert_eq!(modified["type"], "MODIFIED");
    assert_eq!(modified["object"]["note"], "changed");
}
