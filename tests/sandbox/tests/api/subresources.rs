//! The `scale` subresource (autoscaling/v1 Scale) and the `status` subresource.

use crate::common;

use sandbox::resources::DEPLOYMENTS;
use serde_json::json;

const WEB: &str = "/apis/apps/v1/namespaces/default/deployments/web";

#[tokio::test]
async fn scale_get_put_patch() {
    let sb = common::start();
    let client = common::client(&sb).await;
    common::create_deployment(&client).await;
    let a = common::get(&client, &format!("{WEB}/scale")).await;
    assert_eq!(a.status, 200);
    assert_eq!(a.json["kind"], "Scale");
    assert_eq!(a.json["apiVersion"], "autoscaling/v1");
    assert_eq!(a.json["spec"]["replicas"], 2);
    assert_eq!(a.json["status"]["selector"], "app=web");

    let mut scale = a.json.clone();
    scale["spec"]["replicas"] = json!(4);
    let a = common::call(
        &client,
        "PUT",
        &format!("{WEB}/scale"),
        Some("application/json"),
        &scale.to_string(),
    )
    .await;
    assert_eq!(a.status, 200, "{}", a.text);
    assert_eq!(a.json["spec"]["replicas"], 4);
    // The same Scale again carries a stale resourceVersion.
    let a = common::call(
        &client,
        "PUT",
        &format!("{WEB}/scale"),
        Some("application/json"),
        &scale.to_string(),
    )
    .await;
    assert_eq!(a.status, 409);

    let a = common::call(
        &client,
        "PATCH",
        &format!("{WEB}/scale"),
        Some("application/merge-patch+json"),
        r#"{"spec":{"replicas":1}}"#,
    )
    .await;
    assert_eq!(a.status, 200, "{}", a.text);
    let stored = sb.store().get(&DEPLOYMENTS, "default", "web").unwrap();
    assert_eq!(stored["spec"]["replicas"], 1);
    assert_eq!(stored["metadata"]["generation"], 3);
}

#[tokio::test]
async fn status_subresource_changes_only_status() {
    let sb = common::start();
    let client = common::client(&sb).await;
    common::create_deployment(&client).await;
    let a = common::call(
        &client,
        "PATCH",
        &format!("{WEB}/status"),
        Some("application/merge-patch+json"),
        r#"{"spec":{"replicas":9},"status":{"readyReplicas":2}}"#,
    )
    .await;
    assert_eq!(a.status, 200, "{}", a.text);
    assert_eq!(a.json["status"]["readyReplicas"], 2);
    assert_eq!(
        a.json["spec"]["replicas"], 2,
        "spec is not changed through status"
    );

    // And the main resource does not change status.
    let a = common::call(
        &client,
        "PATCH",
        WEB,
        Some("application/merge-patch+json"),
        r#"{"status":{"readyReplicas":0}}"#,
    )
    .await;
    assert_eq!(a.json["status"]["readyReplicas"], 2);
}
