//! Delete: preconditions, propagation policies as far as the store goes (finalizers), the
//! answer (Status or object), and delete collection.

use crate::common;

use sandbox::resources::{DEPLOYMENTS, PODS};
use serde_json::json;

const PATH: &str = "/apis/apps/v1/namespaces/default/deployments";

#[tokio::test]
async fn preconditions_must_match() {
    let sb = common::start();
    let client = common::client(&sb).await;
    let created = common::create_deployment(&client).await;
    let uid = created["metadata"]["uid"].as_str().unwrap();
    let rv = created["metadata"]["resourceVersion"].as_str().unwrap();

    let wrong_uid = json!({"preconditions": {"uid": "00000000-0000-4000-8000-000000000000"}});
    let a = common::call(
        &client,
        "DELETE",
        &format!("{PATH}/web"),
        Some("application/json"),
        &wrong_uid.to_string(),
    )
    .await;
    assert_eq!(a.status, 409);
    // In the real server's words, which name the kind.
    assert_eq!(
        a.json["message"],
        format!(
            "Operation cannot be fulfilled on Deployment.apps \"web\": the UID in the precondition (00000000-0000-4000-8000-000000000000) does not match the UID in record ({uid}). The object might have been deleted and then recreated"
        )
    );
    assert_eq!(
        a.json["details"],
        json!({"name": "web", "group": "apps", "kind": "Deployment"})
    );

    let wrong_rv = json!({"preconditions": {"resourceVersion": "1"}});
    let a = common::call(
        &client,
        "DELETE",
        &format!("{PATH}/web"),
        Some("application/json"),
        &wrong_rv.to_string(),
    )
    .await;
    assert_eq!(a.status, 409);
    assert!(sb.store().get(&DEPLOYMENTS, "default", "web").is_some());

    let right = json!({"preconditions": {"uid": uid, "resourceVersion": rv}, "propagationPolicy": "Background"});
    let a = common::call(
        &client,
        "DELETE",
        &format!("{PATH}/web"),
        Some("application/json"),
        &right.to_string(),
    )
    .await;
    assert_eq!(a.status, 200, "{}", a.text);
    // Deployments answer with a success Status naming the object.
    assert_eq!(a.json["kind"], "Status");
    assert_eq!(a.json["status"], "Success");
    assert_eq!(a.json["details"]["uid"], uid);
    assert!(sb.store().get(&DEPLOYMENTS, "default", "web").is_none());
    let a = common::call(&client, "DELETE", &format!("{PATH}/web"), None, "").await;
    assert_eq!(a.status, 404);
}

#[tokio::test]
async fn foreground_and_orphan_leave_a_finalizer() {
    let sb = common::start();
    let client = common::client(&sb).await;
    common::create_deployment(&client).await;
    let a = common::call(
        &client,
        "DELETE",
        &format!("{PATH}/web?propagationPolicy=Foreground"),
        None,
        "",
    )
    .await;
    assert_eq!(a.status, 200, "{}", a.text);
    assert!(a.json["metadata"]["deletionTimestamp"].is_string());
    assert_eq!(
        a.json["metadata"]["finalizers"],
        json!(["foregroundDeletion"])
    );
    let stored = sb
        .store()
        .get(&DEPLOYMENTS, "default", "web")
        .expect("kept until dependents are gone");
    assert!(stored["metadata"]["deletionTimestamp"].is_string());

    let a = common::call(
        &client,
        "DELETE",
        &format!("{PATH}/web?propagationPolicy=Sideways"),
        None,
        "",
    )
    .await;
    assert_eq!(a.status, 422);
}

#[tokio::test]
async fn pods_answer_with_the_object_and_collections_delete_by_selector() {
    let sb = common::start();
    let client = common::client(&sb).await;
    for (n, app) in [("a", "x"), ("b", "x"), ("c", "y")] {
        common::post(
            &client,
            "/api/v1/namespaces/default/pods",
            &common::pod(n, json!({"app": app})),
        )
        .await;
    }
    let a = common::call(
        &client,
        "DELETE",
        "/api/v1/namespaces/default/pods/c?gracePeriodSeconds=0",
        None,
        "",
    )
    .await;
    assert_eq!(a.status, 200);
    assert_eq!(a.json["kind"], "Pod");
    let a = common::call(
        &client,
        "DELETE",
        "/api/v1/namespaces/default/pods?labelSelector=app%3Dx",
        None,
        "",
    )
    .await;
    assert_eq!(a.status, 200, "{}", a.text);
    assert_eq!(a.json["kind"], "PodList");
    assert_eq!(a.json["items"].as_array().unwrap().len(), 2);
    assert!(
        sb.store()
            .list(&PODS, Some("default"), |_| true)
            .0
            .is_empty()
    );
}
