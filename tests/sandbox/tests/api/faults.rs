//! Fault injection and the request log.

use crate::common;

use std::time::{Duration, Instant};

use sandbox::{FaultAction, FaultRule};

const SVC: &str = "/api/v1/namespaces/default/services/web";

fn service() -> serde_json::Value {
    serde_json::json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"},
        "spec": {"selector": {"app": "blue"}, "ports": [{"port": 80}]}})
}

#[tokio::test]
async fn failing_rules_match_verb_resource_name_and_run_out() {
    let sb = common::start();
    let client = common::client(&sb).await;
    common::post(&client, "/api/v1/namespaces/default/services", &service()).await;
    sb.faults().add(
        FaultRule::new(FaultAction::Fail(503))
            .verb("patch")
            .resource("services")
            .name("web")
            .namespace("default")
            .times(2),
    );
    let patch = || {
        common::call(
            &client,
            "PATCH",
            SVC,
            Some("application/merge-patch+json"),
            r#"{"spec":{"selector":{"app":"green"}}}"#,
        )
    };
    assert_eq!(
        common::get(&client, SVC).await.status,
        200,
        "other verbs are untouched"
    );
    let a = patch().await;
    assert_eq!(
        (a.status, a.json["reason"].as_str()),
        (503, Some("ServiceUnavailable"))
    );
    assert_eq!(patch().await.status, 503);
    assert_eq!(patch().await.status, 200);
    assert_eq!(sb.faults().pending(), 0);
}

#[tokio::test]
async fn hang_delays_and_latency_slows_every_request() {
    let sb = common::start();
    let client = common::client(&sb).await;
    sb.faults()
        .add(FaultRule::new(FaultAction::Hang(Duration::from_millis(400))).verb("list"));
    let t = Instant::now();
    let a = common::get(&client, "/api/v1/namespaces/default/pods").await;
    assert_eq!(a.status, 200, "a hung request is then answered");
    assert!(t.elapsed() >= Duration::from_millis(400));

    sb.faults().set_latency(Duration::from_millis(150));
    let t = Instant::now();
    common::get(&client, "/api/v1/namespaces").await;
    assert!(t.elapsed() >= Duration::from_millis(150));
    sb.faults().clear();
    assert_eq!(sb.faults().latency(), Duration::ZERO);
}

#[tokio::test]
async fn skip_lets_the_first_matches_through_and_release_ends_the_hangs() {
    let sb = common::start();
    let client = common::client(&sb).await;
    common::post(&client, "/api/v1/namespaces/default/services", &service()).await;
    // The third PATCH of the Service hangs (much longer than the test) until released.
    sb.faults().add(
        FaultRule::new(FaultAction::Hang(Duration::from_secs(600)))
            .verb("patch")
            .resource("services")
            .name("web")
            .skip(2),
    );
    let patch = |colour: &'static str| {
        let client = client.clone();
        async move {
            common::call(
                &client,
                "PATCH",
                SVC,
                Some("application/merge-patch+json"),
                &format!(r#"{{"spec":{{"selector":{{"app":"{colour}"}}}}}}"#),
            )
            .await
        }
    };
    assert_eq!(patch("green").await.status, 200);
    assert_eq!(patch("blue").await.status, 200);
    let held = tokio::spawn(patch("green"));
    let t = Instant::now();
    while !sb
        .requests()
        .iter()
        .any(|r| r.method == "PATCH" && r.status == 0)
    {
        assert!(
            t.elapsed() < Duration::from_secs(10),
            "the third PATCH arrives"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(
        common::get(&client, SVC).await.json["spec"]["selector"]["app"],
        "blue",
        "the held PATCH is not applied while it hangs"
    );
    sb.faults().release_hangs();
    let answered = tokio::time::timeout(Duration::from_secs(10), held)
        .await
        .expect("released at once")
        .expect("the task");
    assert_eq!(answered.status, 200, "then handled normally");
    assert_eq!(
        common::get(&client, SVC).await.json["spec"]["selector"]["app"],
        "green"
    );
    assert_eq!(sb.faults().pending(), 0);
}

#[tokio::test]
async fn close_drops_the_connection() {
    let sb = common::start();
    let client = common::client(&sb).await;
    sb.faults()
        .add(FaultRule::new(FaultAction::Close).resource("pods"));
    let req = http::Request::builder()
        .uri("/api/v1/namespaces/default/pods")
        .body(kube::client::Body::from(Vec::new()))
        .unwrap();
    assert!(client.send(req).await.is_err(), "no answer");
    assert_eq!(
        common::get(&client, "/api/v1/namespaces/default/pods")
            .await
            .status,
        200
    );
    assert_eq!(sb.requests()[0].status, 0, "a closed request has no status");
}

#[tokio::test]
async fn a_lost_answer_still_makes_the_change() {
    let sb = common::start();
    let client = common::client(&sb).await;
    common::post(&client, "/api/v1/namespaces/default/services", &service()).await;
    sb.faults().add(
        FaultRule::new(FaultAction::LoseAnswer)
            .verb("patch")
            .resource("services"),
    );
    let req = http::Request::builder()
        .method("PATCH")
        .uri(SVC)
        .header("content-type", "application/merge-patch+json")
        .body(kube::client::Body::from(
            br#"{"spec":{"selector":{"app":"green"}}}"#.to_vec(),
        ))
        .unwrap();
    assert!(client.send(req).await.is_err(), "no answer");
    let stored = common::get(&client, SVC).await;
    assert_eq!(
        stored.json["spec"]["selector"]["app"], "green",
        "the change was made: {}",
        stored.json
    );
    assert_eq!(sb.faults().pending(), 0);
}

#[tokio::test]
async fn request_log_records_what_was_sent() {
    let sb = common::start();
    let client = common::client(&sb).await;
    common::post(&client, "/api/v1/namespaces/default/services", &service()).await;
    sb.clear_requests();
    common::get(&client, &format!("{SVC}?x=1")).await;
    common::call(
        &client,
        "PATCH",
        SVC,
        Some("application/merge-patch+json"),
        r#"{"spec":{"selector":{"app":"green"}}}"#,
    )
    .await;
    let log = sb.requests();
    assert_eq!(log.len(), 2);
    assert_eq!(
        (
            log[0].method.as_str(),
            log[0].path.as_str(),
            log[0].query.as_str()
        ),
        ("GET", SVC, "x=1")
    );
    assert!(!log[0].is_mutating());
    let mutations: Vec<_> = log.iter().filter(|r| r.is_mutating()).collect();
    assert_eq!(mutations.len(), 1);
    assert_eq!(
        mutations[0].content_type.as_deref(),
        Some("application/merge-patch+json")
    );
    assert_eq!(
        mutations[0].body,
        r#"{"spec":{"selector":{"app":"green"}}}"#
    );
    assert_eq!(mutations[0].status, 200);
}

#[tokio::test]
async fn gone_expires_a_watch_with_one_error_event_and_answers_410_otherwise() {
    let sb = common::start();
    let client = common::client(&sb).await;
    common::post(&client, "/api/v1/namespaces/default/services", &service()).await;
    sb.faults().add(
        FaultRule::new(FaultAction::Gone)
            .resource("services")
            .times(2),
    );
    let watch = common::get(&client, "/api/v1/namespaces/default/services?watch=true").await;
    assert_eq!(watch.status, 200, "a watch is answered, then ends");
    let events: Vec<serde_json::Value> = watch
        .text
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON event a line"))
        .collect();
    assert_eq!(events.len(), 1, "{}", watch.text);
    assert_eq!(events[0]["type"], "ERROR");
    assert_eq!(
        (
            events[0]["object"]["code"].as_u64(),
            events[0]["object"]["reason"].as_str()
        ),
        (Some(410), Some("Expired"))
    );
    let get = common::get(&client, SVC).await;
    assert_eq!(
        (get.status, get.json["reason"].as_str()),
        (410, Some("Expired"))
    );
    assert_eq!(sb.faults().pending(), 0);
    assert_eq!(common::get(&client, SVC).await.status, 200, "used up");
}
