//! The settable authorization policy: 403 outside it, worded like the real server, and
//! SelfSubjectAccessReviews answered from the same policy.

use crate::common;

use sandbox::{Policy, PolicyRule};
use serde_json::json;

async fn can_i(client: &kube::Client, verb: &str, resource: &str, sub: &str, ns: &str) -> bool {
    let review = json!({
        "apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview",
        "spec": {"resourceAttributes": {"verb": verb, "resource": resource, "subresource": sub, "namespace": ns,
                 "group": if resource == "deployments" { "apps" } else { "" }}}
    });
    let a = common::post(
        client,
        "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews",
        &review,
    )
    .await;
    assert_eq!(a.status, 201, "{}", a.text);
    assert_eq!(a.json["kind"], "SelfSubjectAccessReview");
    a.json["status"]["allowed"].as_bool().unwrap()
}

#[tokio::test]
async fn policy_forbids_and_reviews_agree() {
    let sb = common::start();
    let client = common::client(&sb).await;
    common::create_deployment(&client).await;
    assert!(
        can_i(&client, "delete", "deployments", "", "default").await,
        "allow-all by default"
    );

    sb.set_policy(Policy::Rules(vec![
        PolicyRule::new(&["get", "list", "watch"], &["deployments", "services"])
            .in_namespaces(&["default"]),
        PolicyRule::new(&["patch"], &["deployments/scale"]).in_namespaces(&["default"]),
    ]));
    let a = common::get(&client, "/apis/apps/v1/namespaces/default/deployments/web").await;
    assert_eq!(a.status, 200);
    let a = common::call(
        &client,
        "PATCH",
        "/apis/apps/v1/namespaces/default/deployments/web",
        Some("application/merge-patch+json"),
        r#"{"spec":{"replicas":1}}"#,
    )
    .await;
    assert_eq!(a.status, 403);
    assert_eq!(a.json["reason"], "Forbidden");
    assert_eq!(
        a.json["message"],
        "deployments.apps \"web\" is forbidden: User \"sandbox-admin\" cannot patch resource \"deployments\" in API group \"apps\" in the namespace \"default\""
    );
    let a = common::call(
        &client,
        "PATCH",
        "/apis/apps/v1/namespaces/default/deployments/web/scale",
        Some("application/merge-patch+json"),
        r#"{"spec":{"replicas":1}}"#,
    )
    .await;
    assert_eq!(a.status, 200, "{}", a.text);
    let a = common::get(&client, "/apis/apps/v1/namespaces/staging/deployments").await;
    assert_eq!(a.status, 403);
    assert!(
        a.json["message"]
            .as_str()
            .unwrap()
            .ends_with("in the namespace \"staging\"")
    );
    let a = common::get(&client, "/apis/apps/v1/deployments").await;
    assert_eq!(a.status, 403);
    assert!(
        a.json["message"]
            .as_str()
            .unwrap()
            .ends_with("at the cluster scope")
    );

    assert!(can_i(&client, "get", "deployments", "", "default").await);
    assert!(!can_i(&client, "get", "deployments", "", "staging").await);
    assert!(!can_i(&client, "patch", "deployments", "", "default").await);
    assert!(can_i(&client, "patch", "deployments", "scale", "default").await);
    assert!(!can_i(&client, "patch", "services", "", "default").await);

    sb.set_policy(Policy::AllowAll);
    assert!(can_i(&client, "patch", "services", "", "default").await);
}
