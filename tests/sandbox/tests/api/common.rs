//! Helpers shared by the API tests: a client built from the sandbox's kubeconfig, and raw
//! requests that return the status, headers and body whatever the status is.

#![allow(dead_code)]

use std::time::Duration;

use http_body_util::BodyExt;
use kube::client::Body;
use kube::config::{KubeConfigOptions, Kubeconfig};
use sandbox::Sandbox;
use serde_json::Value;

pub const DEPLOYMENT: &str = r#"
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: default
  labels: {app: web, tier: frontend}
spec:
  replicas: 2
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: web
        image: nginx:1
        ports:
        - containerPort: 80
"#;

/// A bare API server (no controllers), so that only the requests a test makes change
/// anything.
pub fn start() -> Sandbox {
    Sandbox::start(sandbox::Options::default().without_controllers()).expect("the sandbox starts")
}

/// A sandbox with its controllers running fast.
pub fn start_with_controllers() -> Sandbox {
    Sandbox::start(sandbox::Options::default().speed(20.0)).expect("the sandbox starts")
}

pub async fn config(sb: &Sandbox) -> kube::Config {
    let kc = Kubeconfig::read_from(sb.kubeconfig_path()).expect("the kubeconfig is readable");
    kube::Config::from_custom_kubeconfig(kc, &KubeConfigOptions::default())
        .await
        .expect("the kubeconfig is valid")
}

/// A client that reports every status as it came (kube-rs retries 429, 503 and 504 by
/// default; these tests look at the first answer).
pub async fn client(sb: &Sandbox) -> kube::Client {
    let mut cfg = config(sb).await;
    cfg.default_retry = false;
    kube::Client::try_from(cfg).expect("a client")
}

/// A client as kube-rs builds it by default (retrying transient failures).
pub async fn default_client(sb: &Sandbox) -> kube::Client {
    kube::Client::try_from(config(sb).await).expect("a client")
}

/// An answer: status, headers, body as JSON (Null when not JSON) and as text.
pub struct Answer {
    pub status: u16,
    pub headers: http::HeaderMap,
    pub json: Value,
    pub text: String,
}

impl Answer {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

pub async fn call(
    client: &kube::Client,
    method: &str,
    path: &str,
    content_type: Option<&str>,
    body: &str,
) -> Answer {
    call_with(client, method, path, content_type, None, body).await
}

pub async fn call_with(
    client: &kube::Client,
    method: &str,
    path: &str,
    content_type: Option<&str>,
    accept: Option<&str>,
    body: &str,
) -> Answer {
    let mut req = http::Request::builder().method(method).uri(path);
    if let Some(ct) = content_type {
        req = req.header("content-type", ct);
    }
    if let Some(a) = accept {
        req = req.header("accept", a);
    }
    let req = req
        .body(Body::from(body.as_bytes().to_vec()))
        .expect("a request");
    let resp = client.send(req).await.expect("the server answers");
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let bytes = resp.into_body().collect().await.expect("a body").to_bytes();
    let text = String::from_utf8_lossy(&bytes).into_owned();
    Answer {
        status,
        headers,
        json: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        text,
    }
}

pub async fn get(client: &kube::Client, path: &str) -> Answer {
    call(client, "GET", path, None, "").await
}

pub async fn post(client: &kube::Client, path: &str, body: &Value) -> Answer {
    call(
        client,
        "POST",
        path,
        Some("application/json"),
        &body.to_string(),
    )
    .await
}

/// A watch stream read line by line.
pub struct WatchStream {
    body: Body,
    buf: Vec<u8>,
}

pub async fn watch(client: &kube::Client, path: &str) -> (u16, WatchStream) {
    let req = http::Request::builder()
        .method("GET")
        .uri(path)
        .body(Body::from(Vec::new()))
        .expect("a request");
    let resp = client.send(req).await.expect("the server answers");
    (
        resp.status().as_u16(),
        WatchStream {
            body: resp.into_body(),
            buf: Vec::new(),
        },
    )
}

impl WatchStream {
    /// The next event, `None` when the stream ended or nothing came within `wait`.
    pub async fn next(&mut self, wait: Duration) -> Option<Value> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            if let Some(i) = self.buf.iter().position(|b| *b == b'\n') {
                let line: Vec<u8> = self.buf.drain(..=i).collect();
                return serde_json::from_slice(&line).ok();
            }
            let frame = tokio::time::timeout_at(deadline, self.body.frame()).await;
            match frame {
                Ok(Some(Ok(f))) => {
                    if let Ok(data) = f.into_data() {
                        self.buf.extend_from_slice(&data);
                    }
                }
                _ => return None,
            }
        }
    }

    /// Events until the stream is quiet for `quiet`.
    pub async fn drain(&mut self, quiet: Duration) -> Vec<Value> {
        let mut out = Vec::new();
        while let Some(e) = self.next(quiet).await {
            out.push(e);
        }
        out
    }

    /// Whether the stream has ended (as opposed to being idle) within `wait`.
    pub async fn ended(&mut self, wait: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            match tokio::time::timeout_at(deadline, self.body.frame()).await {
                Ok(None) | Ok(Some(Err(_))) => return true,
                Ok(Some(Ok(_))) => continue,
                Err(_) => return false,
            }
        }
    }
}

/// Creates the `web` Deployment through the API and returns it.
pub async fn create_deployment(client: &kube::Client) -> Value {
    let obj: Value = serde_yaml::from_str(DEPLOYMENT).expect("yaml");
    let a = post(client, "/apis/apps/v1/namespaces/default/deployments", &obj).await;
    assert_eq!(a.status, 201, "{}", a.text);
    a.json
}

pub fn pod(name: &str, labels: Value) -> Value {
    serde_json::json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "labels": labels},
        "spec": {"containers": [{"name": "c", "image": "busybox:1"}]}
    })
}
