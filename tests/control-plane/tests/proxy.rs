//! The fault-injecting proxy in front of the real API server: requests go through with TLS
//! verified on both sides, watches stream, and each fault does what it says.

mod common;

use std::io::{BufRead as _, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use control_plane::{FaultAction, FaultRule, Proxy};

/// Tests in this file that use the shared control plane.
const TESTS: usize = 3;

fn kubectl(proxy: &Proxy, args: &[&str]) -> std::process::Output {
    Command::new("kubectl")
        .env("KUBECONFIG", proxy.kubeconfig_path())
        .args(["--request-timeout", "3s"])
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("kubectl runs")
}

fn configmap(cp: &control_plane::ControlPlane, ns: &str, name: &str) -> bool {
    cp.kubectl()
        .args(["get", "configmap", name, "-n", ns, "-o", "name"])
        .output()
        .expect("kubectl runs")
        .status
        .success()
}

fn wait_until(limit: Duration, what: &str, mut check: impl FnMut() -> bool) {
    common::eventually(limit, what, || {
        if check() {
            Ok(())
        } else {
            Err(what.to_string())
        }
    });
}

#[test]
#[ignore = "real control plane: tests/control-plane/run-tests.sh runs them"]
fn requests_pass_through_and_faults_apply_to_the_matching_one() {
    let hold = common::control_plane(TESTS);
    let cp = &hold.cp;
    let ns = "proxy-faults";
    common::create_namespace(cp, ns);
    let proxy = cp.proxy().expect("the proxy starts");
    assert!(proxy.url().starts_with("https://127.0.0.1:"));

    // Plain pass-through, TLS verified against the control plane's CA.
    let out = kubectl(&proxy, &["get", "namespace", ns, "-o", "name"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "namespace/proxy-faults"
    );
    let logged = proxy.requests();
    let get = logged
        .iter()
        .find(|r| r.target.verb == "get" && r.target.resource.as_deref() == Some("namespaces"))
        .expect("the GET is logged");
    assert_eq!(get.path, format!("/api/v1/namespaces/{ns}"));
    assert_eq!(get.status, 200);

    // A 500 on the second create of configmaps only: the first goes through.
    proxy.add(
        FaultRule::new(FaultAction::Fail(500))
            .verb("create")
            .resource("configmaps")
            .namespace(ns)
            .skip(1),
    );
    let create = |name: &str| kubectl(&proxy, &["create", "configmap", name, "-n", ns]);
    assert!(create("first").status.success());
    let failed = create("second");
    assert!(!failed.status.success());
    assert!(
        String::from_utf8_lossy(&failed.stderr).contains("InternalError")
            || String::from_utf8_lossy(&failed.stderr).contains("internal error"),
        "{}",
        String::from_utf8_lossy(&failed.stderr)
    );
    assert!(
        !configmap(cp, ns, "second"),
        "a failed request never reaches the server"
    );
    assert_eq!(proxy.pending(), 0);

    // 429 carries Retry-After.
    proxy.add(
        FaultRule::new(FaultAction::Fail(429))
            .verb("get")
            .name("first"),
    );
    let out = kubectl(&proxy, &["get", "configmap", "first", "-n", ns, "-v=8"]);
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(log.contains("429"), "{log}");
    assert!(log.to_ascii_lowercase().contains("retry-after: 1"), "{log}");

    // A closed connection: no answer, nothing made.
    proxy.add(
        FaultRule::new(FaultAction::Close)
            .verb("create")
            .resource("configmaps"),
    );
    assert!(!create("closed").status.success());
    assert!(!configmap(cp, ns, "closed"));

    // An answer lost: the change is made, the client gets no answer.
    proxy.add(
        FaultRule::new(FaultAction::LoseAnswer)
            .verb("create")
            .resource("configmaps"),
    );
    assert!(!create("lost").status.success());
    assert!(
        configmap(cp, ns, "lost"),
        "the change was made before the answer was lost"
    );
    let lost = proxy
        .requests()
        .into_iter()
        .find(|r| r.body.contains("lost"))
        .expect("the lost create is logged");
    assert_eq!(lost.status, 0);
    assert_eq!(lost.fault, Some(FaultAction::LoseAnswer));

    // A hang longer than the client's timeout; the request never lands when the client left.
    proxy.add(
        FaultRule::new(FaultAction::Hang(Duration::from_secs(600)))
            .verb("create")
            .resource("configmaps"),
    );
    let started = Instant::now();
    let hung = kubectl(&proxy, &["create", "configmap", "hung", "-n", ns]);
    assert!(!hung.status.success());
    assert!(started.elapsed() >= Duration::from_secs(3));
    proxy.release_hangs();
    std::thread::sleep(Duration::from_millis(300));
    assert!(!configmap(cp, ns, "hung"));

    // A hang until released: the request goes on when released.
    proxy.add(
        FaultRule::new(FaultAction::Hang(Duration::from_secs(600)))
            .verb("create")
            .resource("configmaps"),
    );
    let child = Command::new("kubectl")
        .env("KUBECONFIG", proxy.kubeconfig_path())
        .args(["create", "configmap", "released", "-n", ns])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("kubectl starts");
    wait_until(Duration::from_secs(20), "the create hangs", || {
        proxy
            .requests()
            .iter()
            .any(|r| r.body.contains("released") && r.status == 0)
    });
    assert!(!configmap(cp, ns, "released"));
    proxy.release_hangs();
    let out = child.wait_with_output().expect("kubectl ends");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(configmap(cp, ns, "released"));
}

#[test]
#[ignore = "real control plane: tests/control-plane/run-tests.sh runs them"]
fn watches_stream_through_the_proxy_and_end_when_dropped_or_gone() {
    let hold = common::control_plane(TESTS);
    let cp = &hold.cp;
    let ns = "proxy-watch";
    common::create_namespace(cp, ns);
    let proxy = cp.proxy().expect("the proxy starts");

    let mut watch = Command::new("kubectl")
        .env("KUBECONFIG", proxy.kubeconfig_path())
        .args([
            "get",
            "configmaps",
            "-n",
            ns,
            "--watch",
            "-o",
            "custom-columns=NAME:.metadata.name",
            "--no-headers",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("kubectl starts");
    let stdout = watch.stdout.take().expect("stdout");
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    wait_until(Duration::from_secs(20), "the watch is open", || {
        proxy
            .requests()
            .iter()
            .any(|r| r.target.verb == "watch" && r.status == 200)
    });
    // An event made after the watch opened arrives through the proxy while it stays open.
    let made = cp
        .kubectl()
        .args(["create", "configmap", "streamed", "-n", ns])
        .output()
        .expect("kubectl runs");
    assert!(made.status.success());
    // (The list before the watch prints the namespace's root CA ConfigMap first.)
    let streamed = std::iter::from_fn(|| rx.recv_timeout(Duration::from_secs(20)).ok())
        .any(|line| line.trim() == "streamed");
    assert!(streamed, "the event is streamed");

    // Dropping the watches ends the response; kubectl --watch then exits.
    proxy.drop_watches();
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(s) = watch.try_wait().expect("try_wait") {
            break s;
        }
        assert!(
            Instant::now() < deadline,
            "the watch did not end when dropped"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    let _ = status;

    // A watch meeting Gone gets a 410 ERROR event as its first line.
    proxy.add(
        FaultRule::new(FaultAction::Gone)
            .verb("watch")
            .resource("configmaps"),
    );
    let out = Command::new("kubectl")
        .env("KUBECONFIG", proxy.kubeconfig_path())
        .args([
            "get",
            "--raw",
            &format!("/api/v1/namespaces/{ns}/configmaps?watch=true&resourceVersion=1"),
        ])
        .output()
        .expect("kubectl runs");
    let text = String::from_utf8_lossy(&out.stdout);
    let event: serde_json::Value =
        serde_json::from_str(text.lines().next().unwrap_or_default()).expect("an event");
    assert_eq!(event["type"], "ERROR");
    assert_eq!(event["object"]["code"], 410);
    assert_eq!(event["object"]["reason"], "Expired");
}

#[test]
#[ignore = "real control plane: tests/control-plane/run-tests.sh runs them"]
fn the_developer_stays_the_developer_through_the_proxy() {
    let hold = common::control_plane(TESTS);
    let cp = &hold.cp;
    let ns = "proxy-rbac";
    common::create_namespace(cp, ns);
    let proxy = cp.proxy().expect("the proxy starts");
    let dir = tempfile::tempdir().expect("a temporary directory");
    let developer = dir.path().join("developer.kubeconfig");
    proxy
        .write_kubeconfig(cp.user_kubeconfig_path(), &developer)
        .expect("the developer's kubeconfig through the proxy");
    let as_developer = |args: &[&str]| {
        Command::new("kubectl")
            .env("KUBECONFIG", &developer)
            .args(args)
            .output()
            .expect("kubectl runs")
    };
    let who = as_developer(&[
        "auth",
        "whoami",
        "-o",
        "jsonpath={.status.userInfo.username}",
    ]);
    assert_eq!(
        String::from_utf8_lossy(&who.stdout).trim(),
        control_plane::DEVELOPER_CERT_CN,
        "{}",
        String::from_utf8_lossy(&who.stderr)
    );
    let denied = as_developer(&["get", "pods", "-n", ns]);
    assert!(!denied.status.success());
    assert!(
        String::from_utf8_lossy(&denied.stderr).contains("forbidden"),
        "{}",
        String::from_utf8_lossy(&denied.stderr)
    );
    // The admin's kubeconfig through the proxy is the admin.
    let allowed = kubectl(&proxy, &["get", "pods", "-n", ns]);
    assert!(
        allowed.status.success(),
        "{}",
        String::from_utf8_lossy(&allowed.stderr)
    );
}
