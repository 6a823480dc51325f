//! Label selector operators and field selectors, over HTTP.

use crate::common;

use serde_json::json;

async fn names(client: &kube::Client, query: &str) -> Vec<String> {
    let a = common::get(client, &format!("/api/v1/namespaces/default/pods?{query}")).await;
    assert_eq!(a.status, 200, "{query}: {}", a.text);
    let mut v: Vec<String> = a.json["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["metadata"]["name"].as_str().unwrap().to_string())
        .collect();
    v.sort();
    v
}

fn enc(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

#[tokio::test]
async fn every_label_operator() {
    let sb = common::start();
    let client = common::client(&sb).await;
    for (name, labels) in [
        ("blue-1", json!({"app": "blue", "tier": "web"})),
        ("green-1", json!({"app": "green", "tier": "web"})),
        ("db-1", json!({"app": "db"})),
    ] {
        let a = common::post(
            &client,
            "/api/v1/namespaces/default/pods",
            &common::pod(name, labels),
        )
        .await;
        assert_eq!(a.status, 201, "{}", a.text);
    }
    let cases: &[(&str, &[&str])] = &[
        ("app=blue", &["blue-1"]),
        ("app==blue", &["blue-1"]),
        ("app!=blue", &["db-1", "green-1"]),
        ("app in (blue,green)", &["blue-1", "green-1"]),
        ("app notin (blue,green)", &["db-1"]),
        ("tier", &["blue-1", "green-1"]),
        ("!tier", &["db-1"]),
        ("tier=web,app!=green", &["blue-1"]),
    ];
    for (sel, want) in cases {
        assert_eq!(
            names(&client, &format!("labelSelector={}", enc(sel))).await,
            *want,
            "{sel}"
        );
    }
    assert_eq!(
        names(&client, "fieldSelector=metadata.name%3Ddb-1").await,
        ["db-1"]
    );
    assert_eq!(
        names(&client, "fieldSelector=metadata.name%21%3Ddb-1").await,
        ["blue-1", "green-1"]
    );
    assert_eq!(
        names(
            &client,
            "fieldSelector=metadata.namespace%3Ddefault&labelSelector=app%3Dgreen"
        )
        .await,
        ["green-1"]
    );

    let bad = common::get(
        &client,
        &format!(
            "/api/v1/namespaces/default/pods?labelSelector={}",
            enc("app in blue")
        ),
    )
    .await;
    assert_eq!(bad.status, 400);
    assert_eq!(bad.json["reason"], "BadRequest");
    let bad = common::get(
        &client,
        "/api/v1/namespaces/default/pods?fieldSelector=spec.foo%3Dx",
    )
    .await;
    assert_eq!(bad.status, 400);
    assert!(bad.text.contains("field label not supported"));
}

#[tokio::test]
async fn all_namespaces_list_and_namespace_field_selector() {
    let sb = common::start();
    let client = common::client(&sb).await;
    for ns in ["default", "staging"] {
        let a = common::post(
            &client,
            &format!("/api/v1/namespaces/{ns}/pods"),
            &common::pod("p", json!({"app": "x"})),
        )
        .await;
        assert_eq!(a.status, 201, "{}", a.text);
    }
    let all = common::get(&client, "/api/v1/pods").await;
    assert_eq!(all.json["items"].as_array().unwrap().len(), 2);
    let staging = common::get(
        &client,
        "/api/v1/pods?fieldSelector=metadata.namespace%3Dstaging",
    )
    .await;
    let items = staging.json["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["metadata"]["namespace"], "staging");
    // List items carry no kind, as from a real server; the list does.
    assert_eq!(all.json["kind"], "PodList");
    assert!(items[0].get("kind").is_none());
}
