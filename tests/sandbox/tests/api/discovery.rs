//! Discovery (legacy and aggregated), /version, OpenAPI v3, and Table responses.

use crate::common;

use serde_json::json;

const TABLE: &str = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json";

#[tokio::test]
async fn version_and_legacy_discovery() {
    let sb = common::start();
    let client = common::client(&sb).await;
    let v = common::get(&client, "/version").await;
    assert_eq!(v.json["major"], "1");
    assert!(v.json["gitVersion"].as_str().unwrap().starts_with("v1.33."));
    let info = client.apiserver_version().await.unwrap();
    assert_eq!(info.minor, "33");

    let groups = client.list_api_groups().await.unwrap();
    let names: Vec<&str> = groups.groups.iter().map(|g| g.name.as_str()).collect();
    for g in [
        "apps",
        "discovery.k8s.io",
        "authorization.k8s.io",
        "autoscaling",
    ] {
        assert!(names.contains(&g), "{g}");
    }
    let core = client.list_core_api_resources("v1").await.unwrap();
    let pods = core.resources.iter().find(|r| r.name == "pods").unwrap();
    assert!(pods.namespaced);
    assert_eq!(pods.short_names.as_deref(), Some(&["po".to_string()][..]));
    assert!(core.resources.iter().any(|r| r.name == "pods/status"));
    let apps = client.list_api_group_resources("apps/v1").await.unwrap();
    let deploy = apps
        .resources
        .iter()
        .find(|r| r.name == "deployments")
        .unwrap();
    assert_eq!(deploy.categories.as_deref(), Some(&["all".to_string()][..]));
    assert!(deploy.verbs.contains(&"patch".to_string()));
    assert_eq!(common::get(&client, "/healthz").await.text, "ok");
}

#[tokio::test]
async fn aggregated_discovery_echoes_the_negotiated_type() {
    let sb = common::start();
    let client = common::client(&sb).await;
    for v in ["v2", "v2beta1"] {
        let accept = format!(
            "application/json;g=apidiscovery.k8s.io;v={v};as=APIGroupDiscoveryList,application/json"
        );
        let a = common::call_with(&client, "GET", "/apis", None, Some(&accept), "").await;
        assert_eq!(a.status, 200);
        assert_eq!(
            a.header("content-type"),
            Some(
                format!("application/json;g=apidiscovery.k8s.io;v={v};as=APIGroupDiscoveryList")
                    .as_str()
            )
        );
        assert_eq!(a.json["kind"], "APIGroupDiscoveryList");
        let apps = a.json["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["metadata"]["name"] == "apps")
            .unwrap();
        let deploy = apps["versions"][0]["resources"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["resource"] == "deployments")
            .unwrap();
        let scale = deploy["subresources"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["subresource"] == "scale")
            .unwrap();
        assert_eq!(
            scale["responseKind"],
            json!({"group": "autoscaling", "version": "v1", "kind": "Scale"})
        );
    }
    // kube-rs' own aggregated discovery client understands it.
    let core = client.list_core_api_versions_aggregated().await.unwrap();
    assert_eq!(core.items.len(), 1);
    let plain = common::get(&client, "/apis").await;
    assert_eq!(plain.json["kind"], "APIGroupList");
}

#[tokio::test]
async fn openapi_v3_declares_field_validation() {
    let sb = common::start();
    let client = common::client(&sb).await;
    let index = common::get(&client, "/openapi/v3").await;
    let url = index.json["paths"]["apis/apps/v1"]["serverRelativeURL"]
        .as_str()
        .unwrap()
        .to_string();
    let doc = common::get(&client, &url).await;
    assert_eq!(doc.status, 200);
    let patch =
        &doc.json["paths"]["/apis/apps/v1/namespaces/{namespace}/deployments/{name}"]["patch"];
    assert_eq!(
        patch["x-kubernetes-group-version-kind"]["kind"],
        "Deployment"
    );
    assert!(
        patch["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["name"] == "fieldValidation")
    );
    assert_eq!(
        common::get(&client, "/openapi/v3/apis/nope/v1")
            .await
            .status,
        404
    );
}

#[tokio::test]
async fn tables_have_the_real_columns() {
    let sb = common::start();
    let client = common::client(&sb).await;
    common::create_deployment(&client).await;
    let a = common::call_with(
        &client,
        "GET",
        "/apis/apps/v1/namespaces/default/deployments",
        None,
        Some(TABLE),
        "",
    )
    .await;
    assert_eq!(a.status, 200);
    assert_eq!(
        a.header("content-type"),
        Some("application/json;as=Table;v=v1;g=meta.k8s.io")
    );
    assert_eq!(a.json["kind"], "Table");
    let cols: Vec<&str> = a.json["columnDefinitions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["priority"] == 0)
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(cols, ["Name", "Ready", "Up-to-date", "Available", "Age"]);
    let row = &a.json["rows"][0];
    assert_eq!(row["cells"][0], "web");
    assert_eq!(row["cells"][1], "0/2");
    assert_eq!(row["object"]["kind"], "PartialObjectMetadata");
    assert!(a.json["metadata"]["resourceVersion"].is_string());

    let a = common::call_with(
        &client,
        "GET",
        "/apis/apps/v1/namespaces/default/deployments/web?includeObject=Object",
        None,
        Some(TABLE),
        "",
    )
    .await;
    assert_eq!(a.json["rows"].as_array().unwrap().len(), 1);
    assert_eq!(a.json["rows"][0]["object"]["kind"], "Deployment");
    assert_eq!(a.json["rows"][0]["object"]["spec"]["replicas"], 2);

    let svc = json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"}, "spec": {"selector": {"app": "web"}, "ports": [{"port": 80}]}});
    common::post(&client, "/api/v1/namespaces/default/services", &svc).await;
    let a = common::call_with(
        &client,
        "GET",
        "/api/v1/namespaces/default/services",
        None,
        Some(TABLE),
        "",
    )
    .await;
    let cells = &a.json["rows"][0]["cells"];
    assert_eq!(cells[1], "ClusterIP");
    assert!(cells[2].as_str().unwrap().starts_with("10.96."));
    assert_eq!(cells[4], "80/TCP");

    let a = common::call_with(
        &client,
        "GET",
        "/api/v1/namespaces/default/pods",
        None,
        Some("application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1"),
        "",
    )
    .await;
    assert_eq!(a.json["kind"], "PartialObjectMetadataList");
}
