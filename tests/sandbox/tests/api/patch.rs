//! The patch types: merge, JSON (with `test`), strategic (keyed lists and directives),
//! server-side apply (create and merge), and 415 for anything else.

use crate::common;

use serde_json::json;

const WEB: &str = "/apis/apps/v1/namespaces/default/deployments/web";

async fn patch(client: &kube::Client, ct: &str, body: &str) -> common::Answer {
    common::call(client, "PATCH", WEB, Some(ct), body).await
}

#[tokio::test]
async fn merge_patch_replaces_lists_and_deletes_with_null() {
    let sb = common::start();
    let client = common::client(&sb).await;
    common::create_deployment(&client).await;
    let a = patch(&client, "application/merge-patch+json",
        r#"{"metadata":{"labels":{"tier":null}},"spec":{"template":{"spec":{"containers":[{"name":"other","image":"x:1"}]}}}}"#).await;
    assert_eq!(a.status, 200, "{}", a.text);
    assert_eq!(a.json["metadata"]["labels"], json!({"app": "web"}));
    let containers = a.json["spec"]["template"]["spec"]["containers"]
        .as_array()
        .unwrap();
    assert_eq!(containers.len(), 1);
    assert_eq!(containers[0]["name"], "other");
}

#[tokio::test]
async fn json_patch_with_test() {
    let sb = common::start();
    let client = common::client(&sb).await;
    common::create_deployment(&client).await;
    let ok = patch(&client, "application/json-patch+json",
        r#"[{"op":"test","path":"/spec/replicas","value":2},{"op":"replace","path":"/spec/replicas","value":4},{"op":"add","path":"/metadata/labels/x","value":"y"}]"#).await;
    assert_eq!(ok.status, 200, "{}", ok.text);
    assert_eq!(ok.json["spec"]["replicas"], 4);
    assert_eq!(ok.json["metadata"]["labels"]["x"], "y");

    let failed = patch(&client, "application/json-patch+json",
        r#"[{"op":"test","path":"/spec/replicas","value":2},{"op":"replace","path":"/spec/replicas","value":9}]"#).await;
    assert_eq!(failed.status, 422);
    let stored = sb
        .store()
        .get(&sandbox::resources::DEPLOYMENTS, "default", "web")
        .unwrap();
    assert_eq!(
        stored["spec"]["replicas"], 4,
        "a failed test changes nothing"
    );
    assert_eq!(
        patch(&client, "application/json-patch+json", "{not json")
            .await
            .status,
        400
    );
}

#[tokio::test]
async fn strategic_merge_patch_merges_containers_by_name() {
    let sb = common::start();
    let client = common::client(&sb).await;
    common::create_deployment(&client).await;
    let a = patch(&client, "application/strategic-merge-patch+json",
        r#"{"spec":{"template":{"spec":{"containers":[{"name":"sidecar","image":"envoy:1"},{"name":"web","image":"nginx:2"}]}}}}"#).await;
    assert_eq!(a.status, 200, "{}", a.text);
    let c = &a.json["spec"]["template"]["spec"]["containers"];
    assert_eq!(c.as_array().unwrap().len(), 2);
    assert_eq!(c[0]["name"], "web");
    assert_eq!(c[0]["image"], "nginx:2");
    assert_eq!(
        c[0]["ports"][0]["containerPort"], 80,
        "fields the patch omits are kept"
    );
    assert_eq!(c[1]["name"], "sidecar");

    // As kubectl apply sends it: an order directive and a deletion.
    let a = patch(&client, "application/strategic-merge-patch+json",
        r#"{"spec":{"template":{"spec":{"$setElementOrder/containers":[{"name":"web"}],"containers":[{"$patch":"delete","name":"sidecar"}]}}}}"#).await;
    assert_eq!(a.status, 200, "{}", a.text);
    let c = a.json["spec"]["template"]["spec"]["containers"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(c.len(), 1);
    assert_eq!(c[0]["name"], "web");
}

#[tokio::test]
async fn server_side_apply_creates_then_merges() {
    let sb = common::start();
    let client = common::client(&sb).await;
    let applied = serde_json::to_string(
        &serde_yaml::from_str::<serde_json::Value>(common::DEPLOYMENT).unwrap(),
    )
    .unwrap();
    let path = format!("{WEB}?fieldManager=test&force=true");
    let a = common::call(
        &client,
        "PATCH",
        &path,
        Some("application/apply-patch+yaml"),
        &applied,
    )
    .await;
    assert_eq!(a.status, 201, "{}", a.text);

    // The same manager without the tier label and with other replicas: the label goes.
    let second = applied
        .replace(",\"tier\":\"frontend\"", "")
        .replace("\"tier\":\"frontend\",", "")
        .replace("\"replicas\":2", "\"replicas\":6");
    assert!(
        !second.contains("tier") && second.contains("\"replicas\":6"),
        "{second}"
    );
    let a = common::call(
        &client,
        "PATCH",
        &path,
        Some("application/apply-patch+yaml"),
        &second,
    )
    .await;
    assert_eq!(a.status, 200, "{}", a.text);
    assert_eq!(a.json["spec"]["replicas"], 6);
    assert_eq!(
        a.json["metadata"]["labels"],
        serde_json::json!({"app": "web"})
    );

    // Another manager applying one field leaves the rest alone.
    let yaml =
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  replicas: 1\n";
    let other = format!("{WEB}?fieldManager=other");
    let a = common::call(
        &client,
        "PATCH",
        &other,
        Some("application/apply-patch+yaml"),
        yaml,
    )
    .await;
    assert_eq!(a.status, 200, "{}", a.text);
    assert_eq!(a.json["spec"]["replicas"], 1);
    assert_eq!(
        a.json["spec"]["template"]["spec"]["containers"][0]["image"],
        "nginx:1"
    );

    let no_manager = common::call(
        &client,
        "PATCH",
        WEB,
        Some("application/apply-patch+yaml"),
        yaml,
    )
    .await;
    assert_eq!(no_manager.status, 422);
}

#[tokio::test]
async fn unknown_patch_type_is_415_and_missing_object_404() {
    let sb = common::start();
    let client = common::client(&sb).await;
    let a = patch(&client, "application/json", "{}").await;
    assert_eq!(a.status, 415);
    assert_eq!(a.json["reason"], "UnsupportedMediaType");
    let a = patch(&client, "application/merge-patch+json", r#"{"spec":{}}"#).await;
    assert_eq!(a.status, 404);
    assert_eq!(a.json["message"], "deployments.apps \"web\" not found");
}
