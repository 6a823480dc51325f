//! Errors are `Status` objects with the real server's code, reason and details.

use crate::common;

use sandbox::{FaultAction, FaultRule};
use serde_json::json;

#[tokio::test]
async fn each_error_code() {
    let sb = common::start();
    let client = common::client(&sb).await;

    // 400: a body that is not JSON.
    let a = common::call(
        &client,
        "POST",
        "/api/v1/namespaces/default/pods",
        Some("application/json"),
        "{",
    )
    .await;
    assert_eq!(
        (a.status, a.json["reason"].as_str()),
        (400, Some("BadRequest"))
    );

    // 404: an unknown object, and an unknown path.
    let a = common::get(&client, "/api/v1/namespaces/default/pods/nope").await;
    assert_eq!(
        (a.status, a.json["reason"].as_str()),
        (404, Some("NotFound"))
    );
    assert_eq!(a.json["details"]["kind"], "pods");
    assert_eq!(a.json["details"]["name"], "nope");
    let a = common::post(
        &client,
        "/apis/batch/v1/namespaces/default/jobs",
        &json!({}),
    )
    .await;
    assert_eq!(
        a.status, 404,
        "an unserved group-version is not found, whatever the method"
    );
    let a = common::get(&client, "/apis/widgets.example.com/v1/widgets").await;
    assert_eq!(a.status, 404);
    assert_eq!(
        a.json["message"],
        "the server could not find the requested resource"
    );

    // 404: creating into a namespace that does not exist.
    let a = common::post(
        &client,
        "/api/v1/namespaces/nowhere/pods",
        &common::pod("p", json!({})),
    )
    .await;
    assert_eq!(a.status, 404);
    assert_eq!(a.json["message"], "namespaces \"nowhere\" not found");

    // 405: a verb the resource does not have.
    let a = common::get(
        &client,
        "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews",
    )
    .await;
    assert_eq!(
        (a.status, a.json["reason"].as_str()),
        (405, Some("MethodNotAllowed"))
    );

    // 409 is covered by api_conflict; 410 by api_watch and api_pagination.

    // 415: an unknown body type.
    let a = common::call(
        &client,
        "POST",
        "/api/v1/namespaces/default/pods",
        Some("application/vnd.kubernetes.protobuf"),
        "x",
    )
    .await;
    assert_eq!(a.status, 415);

    // 422: invalid with field causes.
    let bad = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
        "spec": {"replicas": -1, "selector": {"matchLabels": {"app": "web"}},
                 "template": {"metadata": {"labels": {"app": "other"}}, "spec": {"containers": []}}}});
    let a = common::post(
        &client,
        "/apis/apps/v1/namespaces/default/deployments",
        &bad,
    )
    .await;
    assert_eq!(
        (a.status, a.json["reason"].as_str()),
        (422, Some("Invalid"))
    );
    let fields: Vec<&str> = a.json["details"]["causes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["field"].as_str().unwrap())
        .collect();
    assert!(fields.contains(&"spec.replicas"), "{fields:?}");
    assert!(
        fields.contains(&"spec.template.metadata.labels"),
        "{fields:?}"
    );
    assert!(
        fields.contains(&"spec.template.spec.containers"),
        "{fields:?}"
    );
    assert_eq!(a.json["details"]["kind"], "Deployment");

    // 429 with Retry-After, and 500, injected.
    sb.faults().add(
        FaultRule::new(FaultAction::Fail(429))
            .verb("list")
            .resource("pods"),
    );
    let a = common::get(&client, "/api/v1/namespaces/default/pods").await;
    assert_eq!(
        (a.status, a.json["reason"].as_str()),
        (429, Some("TooManyRequests"))
    );
    assert_eq!(a.header("retry-after"), Some("1"));
    assert_eq!(a.json["details"]["retryAfterSeconds"], 1);
    sb.faults()
        .add(FaultRule::new(FaultAction::Fail(500)).resource("pods"));
    let a = common::get(&client, "/api/v1/namespaces/default/pods").await;
    assert_eq!(
        (a.status, a.json["reason"].as_str()),
        (500, Some("InternalError"))
    );
    assert_eq!(
        common::get(&client, "/api/v1/namespaces/default/pods")
            .await
            .status,
        200
    );

    // A default kube-rs client waits Retry-After and retries a 429 by itself.
    let retrying = common::default_client(&sb).await;
    sb.clear_requests();
    sb.faults().add(
        FaultRule::new(FaultAction::Fail(429))
            .verb("list")
            .resource("pods"),
    );
    assert_eq!(
        common::get(&retrying, "/api/v1/namespaces/default/pods")
            .await
            .status,
        200
    );
    let statuses: Vec<u16> = sb.requests().iter().map(|r| r.status).collect();
    assert_eq!(statuses, [429, 200]);

    assert_eq!(a.json["kind"], "Status");
    assert_eq!(a.json["apiVersion"], "v1");
    assert_eq!(a.json["status"], "Failure");
}
