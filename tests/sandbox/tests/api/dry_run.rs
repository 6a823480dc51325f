//! `dryRun=All` on every mutation: validated and answered, nothing stored.

use crate::common;

use sandbox::resources::DEPLOYMENTS;
use serde_json::json;

const PATH: &str = "/apis/apps/v1/namespaces/default/deployments";

#[tokio::test]
async fn dry_run_changes_nothing() {
    let sb = common::start();
    let client = common::client(&sb).await;
    let obj: serde_json::Value = serde_yaml::from_str(common::DEPLOYMENT).unwrap();

    let a = common::post(&client, &format!("{PATH}?dryRun=All"), &obj).await;
    assert_eq!(a.status, 201, "{}", a.text);
    assert_eq!(a.json["metadata"]["name"], "web");
    assert!(sb.store().get(&DEPLOYMENTS, "default", "web").is_none());

    let created = common::create_deployment(&client).await;
    let rv = sb.store().current_rv();

    let mut changed = created.clone();
    changed["spec"]["replicas"] = json!(9);
    let a = common::call(
        &client,
        "PUT",
        &format!("{PATH}/web?dryRun=All"),
        Some("application/json"),
        &changed.to_string(),
    )
    .await;
    assert_eq!(a.status, 200);
    assert_eq!(a.json["spec"]["replicas"], 9);

    let a = common::call(
        &client,
        "PATCH",
        &format!("{PATH}/web?dryRun=All"),
        Some("application/merge-patch+json"),
        r#"{"spec":{"replicas":8}}"#,
    )
    .await;
    assert_eq!(a.status, 200);
    assert_eq!(a.json["spec"]["replicas"], 8);

    let a = common::call(
        &client,
        "DELETE",
        &format!("{PATH}/web?dryRun=All"),
        None,
        "",
    )
    .await;
    assert_eq!(a.status, 200);
    let a = common::call(
        &client,
        "DELETE",
        &format!("{PATH}/web"),
        Some("application/json"),
        r#"{"dryRun":["All"]}"#,
    )
    .await;
    assert_eq!(a.status, 200);

    let stored = sb
        .store()
        .get(&DEPLOYMENTS, "default", "web")
        .expect("still there");
    assert_eq!(stored["spec"]["replicas"], 2);
    assert_eq!(sb.store().current_rv(), rv, "no resourceVersion was used");

    // Dry runs still validate.
    let mut invalid = obj.clone();
    invalid["metadata"]["name"] = json!("Bad_Name");
    let a = common::post(&client, &format!("{PATH}?dryRun=All"), &invalid).await;
    assert_eq!(a.status, 422);
    let a = common::post(&client, &format!("{PATH}?dryRun=Some"), &obj).await;
    assert_eq!(a.status, 400);

    let log = sb.requests();
    let dry: Vec<_> = log.iter().filter(|r| r.is_dry_run()).collect();
    assert_eq!(dry.len(), 7);
    assert!(dry.iter().all(|r| r.is_mutating()));
}
