//! Unknown fields: dropped with a warning by default, rejected with `fieldValidation=Strict`,
//! dropped silently with `Ignore` — never stored.

use crate::common;

use serde_json::json;

const SVCS: &str = "/api/v1/namespaces/default/services";

fn service(name: &str) -> serde_json::Value {
    json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": name},
        "spec": {"selector": {"app": "web"}, "selectr": {"app": "typo"}, "ports": [{"port": 80, "prot": "TCP"}]}})
}

#[tokio::test]
async fn unknown_fields_are_dropped_warned_or_rejected() {
    let sb = common::start();
    let client = common::client(&sb).await;

    let a = common::post(&client, SVCS, &service("warned")).await;
    assert_eq!(a.status, 201, "{}", a.text);
    let warnings: Vec<&str> = a
        .headers
        .get_all("warning")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect();
    assert_eq!(
        warnings,
        [
            "299 - \"unknown field \\\"spec.selectr\\\"\"",
            "299 - \"unknown field \\\"spec.ports[0].prot\\\"\""
        ]
    );
    assert!(a.json["spec"].get("selectr").is_none());
    let stored = sb
        .store()
        .get(&sandbox::resources::SERVICES, "default", "warned")
        .unwrap();
    assert!(stored["spec"].get("selectr").is_none(), "never stored");

    let a = common::post(
        &client,
        &format!("{SVCS}?fieldValidation=Strict"),
        &service("strict"),
    )
    .await;
    assert_eq!(a.status, 400);
    assert_eq!(
        a.json["message"],
        "Service in version \"v1\" cannot be handled as a Service: strict decoding error: unknown field \"spec.selectr\", unknown field \"spec.ports[0].prot\""
    );
    assert!(
        sb.store()
            .get(&sandbox::resources::SERVICES, "default", "strict")
            .is_none()
    );

    let a = common::post(
        &client,
        &format!("{SVCS}?fieldValidation=Ignore"),
        &service("ignored"),
    )
    .await;
    assert_eq!(a.status, 201);
    assert!(a.headers.get("warning").is_none());

    let a = common::call(
        &client,
        "PATCH",
        &format!("{SVCS}/warned?fieldValidation=Strict"),
        Some("application/merge-patch+json"),
        r#"{"spec":{"selectorr":{"app":"x"}}}"#,
    )
    .await;
    assert_eq!(a.status, 400, "{}", a.text);
    let a = common::call(
        &client,
        "PATCH",
        &format!("{SVCS}/warned"),
        Some("application/merge-patch+json"),
        r#"{"spec":{"selectorr":{"app":"x"}}}"#,
    )
    .await;
    assert_eq!(a.status, 200);
    assert_eq!(
        a.header("warning"),
        Some("299 - \"unknown field \\\"spec.selectorr\\\"\"")
    );
    let a = common::call(
        &client,
        "PATCH",
        &format!("{SVCS}/warned?fieldValidation=Bogus"),
        Some("application/merge-patch+json"),
        "{}",
    )
    .await;
    assert_eq!(a.status, 400);
}
