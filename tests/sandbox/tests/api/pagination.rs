//! `limit`/`continue` pagination, and 410 for a continue token older than the compaction.

use crate::common;

use serde_json::json;

#[tokio::test]
async fn pages_cover_every_item_once() {
    let sb = common::start();
    let client = common::client(&sb).await;
    for i in 0..7 {
        let a = common::post(
            &client,
            "/api/v1/namespaces/default/pods",
            &common::pod(&format!("p{i}"), json!({"app": "x"})),
        )
        .await;
        assert_eq!(a.status, 201);
    }
    let mut seen = Vec::new();
    let mut token = String::new();
    let mut rvs = Vec::new();
    let mut pages = 0;
    loop {
        let q = if token.is_empty() {
            "limit=3".to_string()
        } else {
            format!("limit=3&continue={token}")
        };
        let a = common::get(&client, &format!("/api/v1/namespaces/default/pods?{q}")).await;
        assert_eq!(a.status, 200, "{}", a.text);
        pages += 1;
        rvs.push(a.json["metadata"]["resourceVersion"].clone());
        for p in a.json["items"].as_array().unwrap() {
            seen.push(p["metadata"]["name"].as_str().unwrap().to_string());
        }
        if pages == 1 {
            assert_eq!(a.json["metadata"]["remainingItemCount"], 4);
        }
        match a.json["metadata"]["continue"].as_str() {
            Some(t) if !t.is_empty() => token = t.to_string(),
            _ => break,
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(seen, ["p0", "p1", "p2", "p3", "p4", "p5", "p6"]);
    assert!(
        rvs.windows(2).all(|w| w[0] == w[1]),
        "every page reports the first page's resourceVersion"
    );
}

#[tokio::test]
async fn expired_continue_is_410() {
    let sb = common::start();
    let client = common::client(&sb).await;
    for i in 0..3 {
        common::post(
            &client,
            "/api/v1/namespaces/default/pods",
            &common::pod(&format!("p{i}"), json!({})),
        )
        .await;
    }
    let a = common::get(&client, "/api/v1/namespaces/default/pods?limit=1").await;
    let token = a.json["metadata"]["continue"].as_str().unwrap().to_string();
    common::post(
        &client,
        "/api/v1/namespaces/default/pods",
        &common::pod("later", json!({})),
    )
    .await;
    sb.store().compact();
    let a = common::get(
        &client,
        &format!("/api/v1/namespaces/default/pods?limit=1&continue={token}"),
    )
    .await;
    assert_eq!(a.status, 410);
    assert_eq!(a.json["reason"], "Expired");

    let bad = common::get(
        &client,
        "/api/v1/namespaces/default/pods?limit=1&continue=%21%21",
    )
    .await;
    assert_eq!(bad.status, 400);
}
