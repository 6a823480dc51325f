//! A typed kube-rs client, configured from the written kubeconfig, works against the sandbox:
//! get, list, watch, patch, replace, and a stale replace is a 409 Conflict.

use crate::common;

use std::time::Duration;

use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Service;
use kube::api::{Api, ListParams, Patch, PatchParams, PostParams, WatchEvent, WatchParams};
use serde_json::json;

#[tokio::test]
async fn typed_get_list_watch_patch_replace() {
    let sb = common::start();
    sb.load_yaml(common::DEPLOYMENT).unwrap();
    let client = common::client(&sb).await;
    let deploys: Api<Deployment> = Api::namespaced(client.clone(), "default");

    let d = deploys.get("web").await.unwrap();
    assert_eq!(d.spec.as_ref().unwrap().replicas, Some(2));

    let list = deploys
        .list(&ListParams::default().labels("app=web"))
        .await
        .unwrap();
    assert_eq!(list.items.len(), 1);
    assert!(list.metadata.resource_version.is_some());

    let rv = list.metadata.resource_version.clone().unwrap();
    let mut stream = deploys
        .watch(&WatchParams::default().timeout(10), &rv)
        .await
        .unwrap()
        .boxed();

    let patched = deploys
        .patch(
            "web",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"replicas": 5}})),
        )
        .await
        .unwrap();
    assert_eq!(patched.spec.as_ref().unwrap().replicas, Some(5));
    assert_eq!(patched.metadata.generation, Some(2));

    let event = tokio::time::timeout(Duration::from_secs(5), stream.try_next())
        .await
        .expect("an event in time")
        .unwrap()
        .expect("the stream is open");
    match event {
        WatchEvent::Modified(d) => assert_eq!(d.spec.unwrap().replicas, Some(5)),
        other => panic!("expected MODIFIED, got {other:?}"),
    }

    // Replace with the current object works; replacing with the old one is a conflict.
    let mut current = deploys.get("web").await.unwrap();
    current.spec.as_mut().unwrap().replicas = Some(1);
    let replaced = deploys
        .replace("web", &PostParams::default(), &current)
        .await
        .unwrap();
    assert_eq!(replaced.spec.unwrap().replicas, Some(1));
    let err = deploys
        .replace("web", &PostParams::default(), &d)
        .await
        .unwrap_err();
    match err {
        kube::Error::Api(s) => {
            assert_eq!(s.code, 409);
            assert_eq!(s.reason, "Conflict");
        }
        other => panic!("expected a 409, got {other:?}"),
    }
}

#[tokio::test]
async fn runtime_watcher_sees_a_selector_flip() {
    let sb = common::start();
    sb.load_yaml(
        r#"
apiVersion: v1
kind: Service
metadata: {name: web, namespace: default}
spec:
  selector: {app: blue}
  ports: [{port: 80}]
"#,
    )
    .unwrap();
    let client = common::client(&sb).await;
    let services: Api<Service> = Api::namespaced(client, "default");
    let svc = services.get("web").await.unwrap();
    let ip = svc.spec.as_ref().unwrap().cluster_ip.clone();
    assert!(
        ip.is_some_and(|ip| ip.starts_with("10.96.")),
        "a cluster IP is allocated"
    );

    let flipped =
        kube::runtime::wait::await_condition(services.clone(), "web", |s: Option<&Service>| {
            s.and_then(|s| s.spec.as_ref())
                .and_then(|s| s.selector.as_ref())
                .is_some_and(|sel| sel.get("app").map(String::as_str) == Some("green"))
        });
    services
        .patch(
            "web",
            &PatchParams::default(),
            &Patch::Strategic(json!({"spec": {"selector": {"app": "green"}}})),
        )
        .await
        .unwrap();
    tokio::time::timeout(Duration::from_secs(10), flipped)
        .await
        .expect("the condition is seen in time")
        .unwrap();
}

#[tokio::test]
async fn streaming_list_watcher_gets_initial_events_then_changes() {
    use kube::runtime::watcher::{self, Event, watcher};
    let sb = common::start();
    sb.load_yaml(common::DEPLOYMENT).unwrap();
    let client = common::client(&sb).await;
    let deploys: Api<Deployment> = Api::namespaced(client, "default");
    // `sendInitialEvents=true`: the current objects, then a bookmark marking their end.
    let mut stream = watcher(
        deploys.clone(),
        watcher::Config::default().streaming_lists(),
    )
    .boxed();
    let mut seen = Vec::new();
    loop {
        let e = tokio::time::timeout(Duration::from_secs(5), stream.try_next())
            .await
            .expect("events in time")
            .unwrap()
            .expect("the stream is open");
        match e {
            Event::Init => {}
            Event::InitApply(d) => seen.push(d.metadata.name.unwrap_or_default()),
            Event::InitDone => break,
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(seen, ["web"]);
    deploys
        .patch(
            "web",
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"labels": {"x": "y"}}})),
        )
        .await
        .unwrap();
    let e = tokio::time::timeout(Duration::from_secs(5), stream.try_next())
        .await
        .expect("an event in time")
        .unwrap()
        .expect("the stream is open");
    match e {
        Event::Apply(d) => assert_eq!(d.metadata.labels.unwrap()["x"], "y"),
        other => panic!("expected Apply, got {other:?}"),
    }
}
