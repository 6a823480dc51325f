//! Optimistic concurrency and uniqueness: a PUT with a stale resourceVersion is 409
//! Conflict; creating an existing name is 409 AlreadyExists; generateName makes names.

use crate::common;

use serde_json::json;

const PATH: &str = "/apis/apps/v1/namespaces/default/deployments";

#[tokio::test]
async fn stale_put_is_conflict() {
    let sb = common::start();
    let client = common::client(&sb).await;
    let created = common::create_deployment(&client).await;

    let mut first = created.clone();
    first["spec"]["replicas"] = json!(3);
    let a = common::call(
        &client,
        "PUT",
        &format!("{PATH}/web"),
        Some("application/json"),
        &first.to_string(),
    )
    .await;
    assert_eq!(a.status, 200, "{}", a.text);
    assert_ne!(
        a.json["metadata"]["resourceVersion"],
        created["metadata"]["resourceVersion"]
    );

    // The same resourceVersion again is stale now.
    let mut second = created.clone();
    second["spec"]["replicas"] = json!(4);
    let a = common::call(
        &client,
        "PUT",
        &format!("{PATH}/web"),
        Some("application/json"),
        &second.to_string(),
    )
    .await;
    assert_eq!(a.status, 409);
    assert_eq!(a.json["reason"], "Conflict");
    assert_eq!(a.json["details"]["name"], "web");
    assert_eq!(a.json["details"]["group"], "apps");
    assert!(
        a.json["message"]
            .as_str()
            .unwrap()
            .contains("the object has been modified")
    );
    let stored = sb
        .store()
        .get(&sandbox::resources::DEPLOYMENTS, "default", "web")
        .unwrap();
    assert_eq!(stored["spec"]["replicas"], 3);
}

#[tokio::test]
async fn create_twice_is_already_exists_and_generate_name_is_unique() {
    let sb = common::start();
    let client = common::client(&sb).await;
    common::create_deployment(&client).await;
    let obj: serde_json::Value = serde_yaml::from_str(common::DEPLOYMENT).unwrap();
    let a = common::post(&client, PATH, &obj).await;
    assert_eq!(a.status, 409);
    assert_eq!(a.json["reason"], "AlreadyExists");
    assert_eq!(a.json["message"], "deployments.apps \"web\" already exists");

    let mut names = Vec::new();
    for _ in 0..2 {
        let pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"generateName": "job-"},
            "spec": {"containers": [{"name": "c", "image": "busybox:1"}]}});
        let a = common::post(&client, "/api/v1/namespaces/default/pods", &pod).await;
        assert_eq!(a.status, 201, "{}", a.text);
        let name = a.json["metadata"]["name"].as_str().unwrap().to_string();
        assert!(name.starts_with("job-") && name.len() == 9, "{name}");
        names.push(name);
    }
    assert_ne!(names[0], names[1]);

    // A long prefix (a ReplicaSet of a Deployment with a long name) is cut to 58 characters.
    let long = format!("{}-", "a".repeat(240));
    let pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"generateName": long},
        "spec": {"containers": [{"name": "c", "image": "busybox:1"}]}});
    let a = common::post(&client, "/api/v1/namespaces/default/pods", &pod).await;
    assert_eq!(a.status, 201, "{}", a.text);
    let name = a.json["metadata"]["name"].as_str().unwrap().to_string();
    assert_eq!(name.len(), 63, "{name}");
    assert!(name.starts_with(&"a".repeat(58)), "{name}");
}

#[tokio::test]
async fn resource_versions_increase_and_generation_follows_spec() {
    let sb = common::start();
    let client = common::client(&sb).await;
    let created = common::create_deployment(&client).await;
    let rv0: u64 = created["metadata"]["resourceVersion"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(created["metadata"]["generation"], 1);

    let label = common::call(
        &client,
        "PATCH",
        &format!("{PATH}/web"),
        Some("application/merge-patch+json"),
        r#"{"metadata":{"labels":{"x":"y"}}}"#,
    )
    .await;
    let rv1: u64 = label.json["metadata"]["resourceVersion"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(rv1 > rv0);
    assert_eq!(
        label.json["metadata"]["generation"], 1,
        "metadata changes keep the generation"
    );

    let spec = common::call(
        &client,
        "PATCH",
        &format!("{PATH}/web"),
        Some("application/merge-patch+json"),
        r#"{"spec":{"replicas":7}}"#,
    )
    .await;
    let rv2: u64 = spec.json["metadata"]["resourceVersion"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(rv2 > rv1);
    assert_eq!(spec.json["metadata"]["generation"], 2);
}
