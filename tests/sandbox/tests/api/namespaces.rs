//! Namespace deletion: Terminating, no new content, contents removed, then gone.

use crate::common;

use std::time::{Duration, Instant};

use serde_json::json;

#[tokio::test]
async fn deleting_a_namespace_removes_its_contents_first() {
    let sb = common::start();
    let client = common::client(&sb).await;
    let a = common::post(
        &client,
        "/api/v1/namespaces",
        &json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team-a"}}),
    )
    .await;
    assert_eq!(a.status, 201, "{}", a.text);
    assert_eq!(a.json["status"]["phase"], "Active");
    for name in ["p1", "p2"] {
        let a = common::post(
            &client,
            "/api/v1/namespaces/team-a/pods",
            &common::pod(name, json!({})),
        )
        .await;
        assert_eq!(a.status, 201);
    }

    let a = common::call(&client, "DELETE", "/api/v1/namespaces/team-a", None, "").await;
    assert_eq!(a.status, 200, "{}", a.text);
    assert_eq!(a.json["status"]["phase"], "Terminating");
    assert!(a.json["metadata"]["deletionTimestamp"].is_string());

    let a = common::post(
        &client,
        "/api/v1/namespaces/team-a/pods",
        &common::pod("p3", json!({})),
    )
    .await;
    assert!(
        a.status == 403 || a.status == 404,
        "no new content while terminating (or already gone): {}",
        a.text
    );
    if a.status == 403 {
        assert!(
            a.json["message"]
                .as_str()
                .unwrap()
                .contains("because it is being terminated")
        );
    }

    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let ns = common::get(&client, "/api/v1/namespaces/team-a").await;
        if ns.status == 404 {
            break;
        }
        assert!(Instant::now() < deadline, "the namespace goes");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let pods = common::get(&client, "/api/v1/namespaces/team-a/pods").await;
    assert_eq!(pods.json["items"], json!([]));
}

#[tokio::test]
async fn dry_run_namespace_delete_changes_nothing() {
    let sb = common::start();
    let client = common::client(&sb).await;
    let a = common::call(
        &client,
        "DELETE",
        "/api/v1/namespaces/staging?dryRun=All",
        None,
        "",
    )
    .await;
    assert_eq!(a.status, 200);
    let ns = common::get(&client, "/api/v1/namespaces/staging").await;
    assert_eq!(ns.json["status"]["phase"], "Active");
}
