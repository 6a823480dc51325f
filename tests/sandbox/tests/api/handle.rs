//! The handle the plugin's tests use: scenarios loaded and settled, endpoint controls, and
//! the selector flip as a client sees it over HTTP.

use crate::common;

use std::time::{Duration, Instant};

use serde_json::Value;

const SLICES: &str = "/apis/discovery.k8s.io/v1/namespaces/default/endpointslices?labelSelector=kubernetes.io%2Fservice-name%3Dblueservice";

async fn slice_ips(client: &kube::Client) -> Vec<String> {
    let a = common::get(client, SLICES).await;
    let mut ips: Vec<String> = a.json["items"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|s| s["endpoints"].as_array().cloned().unwrap_or_default())
        .flat_map(|e| e["addresses"].as_array().cloned().unwrap_or_default())
        .filter_map(|a| a.as_str().map(str::to_string))
        .collect();
    ips.sort();
    ips
}

async fn pod_ips(client: &kube::Client, app: &str) -> Vec<String> {
    let a = common::get(
        client,
        &format!("/api/v1/namespaces/default/pods?labelSelector=app%3D{app}"),
    )
    .await;
    let mut ips: Vec<String> = a.json["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p: &Value| p["status"]["podIP"].as_str().map(str::to_string))
        .collect();
    ips.sort();
    ips
}

async fn eventually(client: &kube::Client, want: &[String], within: Duration) -> bool {
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        if slice_ips(client).await == want {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    false
}

#[tokio::test]
async fn classic_scenario_and_the_selector_flip() {
    let sb = sandbox::Sandbox::start(sandbox::Options::default().speed(20.0).scenario("classic"))
        .unwrap();
    let client = common::client(&sb).await;
    let blue = pod_ips(&client, "blue").await;
    let green = pod_ips(&client, "green").await;
    assert_eq!((blue.len(), green.len()), (3, 3), "settled on return");
    assert_eq!(slice_ips(&client).await, blue);

    let a = common::call(
        &client,
        "PATCH",
        "/api/v1/namespaces/default/services/blueservice",
        Some("application/strategic-merge-patch+json"),
        r#"{"spec":{"selector":{"app":"green"}}}"#,
    )
    .await;
    assert_eq!(a.status, 200);
    assert!(
        eventually(&client, &green, Duration::from_secs(5)).await,
        "the slice follows the selector"
    );
}

#[tokio::test]
async fn paused_endpoints_do_not_follow_until_resumed() {
    let sb = sandbox::Sandbox::start(sandbox::Options::default().speed(20.0).scenario("classic"))
        .unwrap();
    let client = common::client(&sb).await;
    let blue = pod_ips(&client, "blue").await;
    let green = pod_ips(&client, "green").await;
    sb.pause_endpoints(true);
    assert!(sb.controller_config().endpoints_paused);
    common::call(
        &client,
        "PATCH",
        "/api/v1/namespaces/default/services/blueservice",
        Some("application/merge-patch+json"),
        r#"{"spec":{"selector":{"app":"green"}}}"#,
    )
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(slice_ips(&client).await, blue, "frozen while paused");
    sb.set_endpoint_delay(Duration::from_millis(10));
    sb.pause_endpoints(false);
    assert!(eventually(&client, &green, Duration::from_secs(5)).await);
}
