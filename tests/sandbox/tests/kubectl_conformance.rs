//! The real kubectl against the sandbox: every command tests/sandbox/README.md lists, with the oldest and
//! the newest kubectl build installed beside the machine's `kubectl` dispatcher.
//!
//! Each expectation is a function over a target and runs twice per kubectl build: against the
//! sandbox (a sandbox of its own per test), and against the real control plane of
//! `tests/control-plane` (ignored by default; one control plane shared by the binary, a
//! namespace of its own per test), so that what is expected of the sandbox is shown to be what
//! a real server does. Where the outputs legitimately differ (node names, the user name, ages)
//! the assertions compare what matters. Every test has its own kubeconfig, HOME and discovery
//! cache, so nothing is shared with the user's own kubectl setup. When the kubectl builds are
//! missing the tests fail if `CI=true`, and otherwise say loudly that they did not run.

// The store's closures return `ApiError`, a whole `Status` object, as in the library.
#![allow(clippy::result_large_err)]

mod target;

use std::io::Write;
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use sandbox::{Options, Sandbox};
use serde_json::{Value, json};
use target::{Target, kubectl_build};

/// How long any one kubectl invocation may take.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(60);

const DEPLOYMENT: &str = r#"apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels: {app: web}
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
        image: nginx:1.0
        ports:
        - containerPort: 8080
"#;

const SERVICE: &str = r#"apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  selector: {app: web}
  ports:
  - port: 80
    targetPort: 8080
"#;

/// kubectl, pointed at one target, with a private HOME and cache.
struct Kubectl {
    bin: PathBuf,
    kubeconfig: PathBuf,
    home: tempfile::TempDir,
}

impl Kubectl {
    /// `None` (after saying so) when the build is missing outside CI.
    fn new(version: &str, t: &Target) -> Option<Kubectl> {
        let Some(bin) = kubectl_build(version) else {
            let msg = format!(
                "kubectl.{version} is not installed (looked in `dpkg -L kubectl` and /usr/lib/google-cloud-sdk/bin)"
            );
            if std::env::var("CI").as_deref() == Ok("true") {
                panic!("{msg}: the kubectl conformance tests cannot run");
            }
            eprintln!("SKIPPED (not run): {msg}");
            return None;
        };
        Some(Kubectl {
            bin,
            kubeconfig: t.kubeconfig().to_path_buf(),
            home: tempfile::tempdir().expect("a temporary HOME"),
        })
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(&self.bin);
        c.arg("--kubeconfig")
            .arg(&self.kubeconfig)
            .arg("--cache-dir")
            .arg(self.home.path().join("cache"))
            .args(args)
            .env_clear()
            .env("HOME", self.home.path())
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        c
    }

    fn run(&self, args: &[&str]) -> Run {
        let child = self.command(args).spawn().expect("kubectl starts");
        wait(child, args, COMMAND_TIMEOUT)
    }

    /// Runs with `-f -` content on stdin.
    fn run_stdin(&self, args: &[&str], input: &str) -> Run {
        let mut child = self
            .command(args)
            .stdin(Stdio::piped())
            .spawn()
            .expect("kubectl starts");
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(input.as_bytes())
            .expect("kubectl reads stdin");
        wait(child, args, COMMAND_TIMEOUT)
    }

    /// Asserts success and returns stdout.
    fn ok(&self, args: &[&str]) -> String {
        let r = self.run(args);
        r.assert_ok();
        r.stdout
    }

    fn file(&self, name: &str, content: &str) -> PathBuf {
        let p = self.home.path().join(name);
        std::fs::write(&p, content).expect("a manifest file");
        p
    }
}

struct Run {
    args: String,
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

impl Run {
    fn assert_ok(&self) {
        assert_eq!(
            self.code,
            Some(0),
            "kubectl {} failed\nstdout:\n{}\nstderr:\n{}",
            self.args,
            self.stdout,
            self.stderr
        );
    }
}

fn wait(mut child: Child, args: &[&str], timeout: Duration) -> Run {
    let deadline = Instant::now() + timeout;
    loop {
        match child.try_wait() {
            Ok(Some(_)) => break,
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(20)),
            _ => {
                let _ = child.kill();
                break;
            }
        }
    }
    let out: Output = child.wait_with_output().expect("kubectl output");
    Run {
        args: args.join(" "),
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// A sandbox with fast controllers.
fn sandbox() -> Sandbox {
    Sandbox::start(Options::default().speed(20.0)).expect("the sandbox starts")
}

/// Lines of a table output, split into columns.
fn rows(out: &str) -> Vec<Vec<String>> {
    out.lines()
        .map(|l| l.split_whitespace().map(str::to_string).collect())
        .collect()
}

fn load_web(t: &Target) {
    t.load(&format!(
        "{DEPLOYMENT}---
{SERVICE}"
    ));
    t.settle();
}

// ---- the commands -------------------------------------------------------------------------

fn get(t: &Target, version: &str) {
    let Some(k) = Kubectl::new(version, t) else {
        return;
    };
    load_web(t);

    let out = k.ok(&["get", "pods"]);
    let table = rows(&out);
    assert_eq!(
        table[0],
        ["NAME", "READY", "STATUS", "RESTARTS", "AGE"],
        "{out}"
    );
    assert_eq!(table.len(), 3, "{out}");
    for row in &table[1..] {
        assert!(row[0].starts_with("web-"), "{out}");
        assert_eq!(&row[1..4], ["1/1", "Running", "0"], "{out}");
    }

    let out = k.ok(&["get", "pods", "-o", "wide", "-l", "app=web"]);
    let header = out.lines().next().unwrap_or("");
    for col in ["IP", "NODE", "NOMINATED NODE", "READINESS GATES"] {
        assert!(header.contains(col), "{out}");
    }
    assert!(rows(&out)[1][5].starts_with("10."), "a pod IP: {out}");
    assert_eq!(k.ok(&["get", "pods", "-l", "app=nothing"]).trim(), "");

    let out = k.ok(&["get", "deploy,svc"]);
    assert!(
        out.contains("NAME                  READY   UP-TO-DATE   AVAILABLE   AGE"),
        "{out}"
    );
    assert!(
        out.contains("deployment.apps/web   2/2     2            2"),
        "{out}"
    );
    let svc_header = out.lines().find(|l| l.contains("CLUSTER-IP")).unwrap_or("");
    assert_eq!(
        svc_header.split_whitespace().collect::<Vec<_>>(),
        [
            "NAME",
            "TYPE",
            "CLUSTER-IP",
            "EXTERNAL-IP",
            "PORT(S)",
            "AGE"
        ]
    );
    assert!(out.contains("80/TCP"), "{out}");

    let json: Value =
        serde_json::from_str(&k.ok(&["get", "deploy", "web", "-o", "json"])).expect("JSON");
    assert_eq!(json["kind"], "Deployment");
    assert_eq!(json["spec"]["replicas"], 2);
    let list: Value = serde_json::from_str(&k.ok(&["get", "pods", "-o", "json"])).expect("JSON");
    assert_eq!(list["items"].as_array().map(Vec::len), Some(2));
    let yaml: Value =
        serde_yaml::from_str(&k.ok(&["get", "svc", "web", "-o", "yaml"])).expect("YAML");
    assert_eq!(yaml["spec"]["ports"][0]["targetPort"], 8080);

    let missing = k.run(&["get", "deploy", "nope"]);
    assert_eq!(missing.code, Some(1));
    assert!(
        missing
            .stderr
            .contains("deployments.apps \"nope\" not found"),
        "{}",
        missing.stderr
    );
}

fn get_watch(t: &Target, version: &str) {
    let Some(k) = Kubectl::new(version, t) else {
        return;
    };
    load_web(t);
    let mut child = k
        .command(&["get", "deploy", "--watch"])
        .spawn()
        .expect("kubectl starts");
    let lines = line_reader(child.stdout.take().expect("stdout"));
    let mut seen: Vec<String> = Vec::new();
    let mut read_until = |what: &str, done: &dyn Fn(&[String]) -> bool| {
        let deadline = Instant::now() + COMMAND_TIMEOUT;
        while !done(&seen) {
            let left = deadline.saturating_duration_since(Instant::now());
            match lines.recv_timeout(left) {
                Ok(line) => seen.push(line),
                Err(_) => panic!("kubectl get --watch never showed {what}: {seen:?}"),
            }
        }
    };
    // Change things only once the watch is running (its first row is printed).
    read_until("the initial row", &|s| {
        s.iter().any(|l| l.starts_with("web "))
    });
    t.change("deployment", "web", |d| d["spec"]["replicas"] = json!(3));
    t.load(&DEPLOYMENT.replace("name: web\n  labels", "name: web2\n  labels"));
    read_until("the change and the added object", &|s| {
        s.iter().filter(|l| l.starts_with("web ")).count() >= 2
            && s.iter().any(|l| l.starts_with("web2 "))
    });
    let _ = child.kill();
    let _ = child.wait();
    assert!(seen[0].starts_with("NAME"), "{seen:?}");
    assert!(
        seen.iter()
            .any(|l| l.starts_with("web ") && l.contains("/3")),
        "the new desired count: {seen:?}"
    );
}

/// The lines a child writes, as they come.
fn line_reader(out: std::process::ChildStdout) -> std::sync::mpsc::Receiver<String> {
    use std::io::BufRead;
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(out).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

fn describe(t: &Target, version: &str) {
    let Some(k) = Kubectl::new(version, t) else {
        return;
    };
    load_web(t);
    let out = squeeze(&k.ok(&["describe", "deployment", "web"]));
    for want in [
        "Name: web",
        "Selector: app=web",
        "Replicas: 2 desired | 2 updated | 2 total | 2 available | 0 unavailable",
        "StrategyType: RollingUpdate",
        "RollingUpdateStrategy: 25% max unavailable, 25% max surge",
        "Image: nginx:1.0",
        "NewReplicaSet: web-",
    ] {
        assert!(out.contains(want), "missing {want:?} in\n{out}");
    }
    let out = squeeze(&k.ok(&["describe", "service", "web"]));
    assert!(out.contains("TargetPort: 8080/TCP"), "{out}");
    assert!(
        out.lines()
            .any(|l| l.starts_with("Endpoints:") && l.contains(":8080")),
        "{out}"
    );
    let pod = rows(&k.ok(&["get", "pods", "-o", "name"]))[0][0].clone();
    let out = squeeze(&k.ok(&["describe", &pod]));
    for want in [
        "Status: Running",
        "Controlled By: ReplicaSet/web-",
        "Ready True",
    ] {
        assert!(out.contains(want), "missing {want:?} in\n{out}");
    }
    let node = format!("Node: {}", t.node_prefix());
    assert!(out.contains(&node), "missing {node:?} in\n{out}");
}

/// Each line with runs of spaces made one (column widths differ between kubectl versions).
fn squeeze(s: &str) -> String {
    s.lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect::<Vec<_>>()
        .join("\n")
}

fn create(t: &Target, version: &str) {
    let Some(k) = Kubectl::new(version, t) else {
        return;
    };
    let file = k.file("web.yaml", DEPLOYMENT);
    let path = file.to_str().unwrap_or_default();
    assert_eq!(
        k.ok(&["create", "-f", path]).trim(),
        "deployment.apps/web created"
    );
    assert!(t.get("deployment", "web").is_some());
    let again = k.run(&["create", "-f", path]);
    assert_eq!(again.code, Some(1));
    assert!(
        again.stderr.contains("AlreadyExists") && again.stderr.contains("already exists"),
        "{}",
        again.stderr
    );
    let r = k.run_stdin(&["create", "-f", "-"], SERVICE);
    r.assert_ok();
    assert_eq!(r.stdout.trim(), "service/web created");
    let invalid = k.run_stdin(
        &["create", "-f", "-"],
        &DEPLOYMENT
            .replace("replicas: 2", "replicas: -2")
            .replace("name: web\n  labels", "name: bad\n  labels"),
    );
    assert_eq!(invalid.code, Some(1));
    assert!(
        invalid.stderr.contains("is invalid") && invalid.stderr.contains("spec.replicas"),
        "{}",
        invalid.stderr
    );
    // kubectl validates strictly by default, through the server.
    let typo = k.run_stdin(
        &["create", "-f", "-"],
        &SERVICE
            .replace("name: web", "name: typo")
            .replace("selector:", "selectr:"),
    );
    assert_eq!(typo.code, Some(1));
    assert!(
        typo.stderr
            .contains("strict decoding error: unknown field \"spec.selectr\""),
        "{}",
        typo.stderr
    );
}

fn apply(t: &Target, version: &str) {
    let Some(k) = Kubectl::new(version, t) else {
        return;
    };
    let file = k.file("web.yaml", &format!("{DEPLOYMENT}---\n{SERVICE}"));
    let path = file.to_str().unwrap_or_default().to_string();
    let out = k.ok(&["apply", "-f", &path]);
    assert_eq!(
        out.lines().collect::<Vec<_>>(),
        ["deployment.apps/web created", "service/web created"]
    );
    let annotation = t.get("deployment", "web").expect("created")["metadata"]["annotations"]
        ["kubectl.kubernetes.io/last-applied-configuration"]
        .as_str()
        .map(str::to_string);
    assert!(annotation.is_some_and(|a| a.contains("nginx:1.0")));

    // Change the image and drop the port: the three-way merge removes what was removed.
    let changed = format!("{DEPLOYMENT}---\n{SERVICE}")
        .replace("nginx:1.0", "nginx:2.0")
        .replace("        ports:\n        - containerPort: 8080\n", "");
    std::fs::write(&file, changed).expect("rewrite");
    let out = k.ok(&["apply", "-f", &path]);
    assert_eq!(
        out.lines().collect::<Vec<_>>(),
        ["deployment.apps/web configured", "service/web unchanged"]
    );
    let d = t.get("deployment", "web").expect("still there");
    let c = &d["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(c["image"], "nginx:2.0");
    assert!(c.get("ports").is_none(), "the removed field is gone: {c}");
    assert_eq!(d["metadata"]["generation"], 2);
}

fn apply_server_side(t: &Target, version: &str) {
    let Some(k) = Kubectl::new(version, t) else {
        return;
    };
    let file = k.file("web.yaml", DEPLOYMENT);
    let path = file.to_str().unwrap_or_default().to_string();
    assert_eq!(
        k.ok(&["apply", "--server-side", "-f", &path]).trim(),
        "deployment.apps/web serverside-applied"
    );
    let changed = DEPLOYMENT
        .replace("replicas: 2", "replicas: 3")
        .replace("        ports:\n        - containerPort: 8080\n", "");
    std::fs::write(&file, changed).expect("rewrite");
    assert_eq!(
        k.ok(&["apply", "--server-side", "-f", &path]).trim(),
        "deployment.apps/web serverside-applied"
    );
    let d = t.get("deployment", "web").expect("applied");
    assert_eq!(d["spec"]["replicas"], 3);
    assert!(
        d["spec"]["template"]["spec"]["containers"][0]
            .get("ports")
            .is_none(),
        "the field no longer applied is gone"
    );
    // What kubectl sent (the sandbox logs requests; a real server's answers show the rest).
    if let Some(sb) = t.sandbox_handle() {
        assert!(sb.requests().iter().any(|r| r.content_type.as_deref()
            == Some("application/apply-patch+yaml")
            && r.query.contains("fieldManager=kubectl")));
    }
}

fn patch(t: &Target, version: &str) {
    let Some(k) = Kubectl::new(version, t) else {
        return;
    };
    load_web(t);
    assert_eq!(
        k.ok(&[
            "patch",
            "svc",
            "web",
            "--type",
            "merge",
            "-p",
            r#"{"spec":{"selector":{"app":"green"}}}"#
        ])
        .trim(),
        "service/web patched"
    );
    assert_eq!(
        t.get("service", "web").expect("svc")["spec"]["selector"],
        json!({"app": "green"})
    );
    assert_eq!(
        k.ok(&[
            "patch",
            "deploy",
            "web",
            "--type",
            "json",
            "-p",
            r#"[{"op":"replace","path":"/spec/replicas","value":3}]"#
        ])
        .trim(),
        "deployment.apps/web patched"
    );
    assert_eq!(
        k.ok(&[
            "patch",
            "deploy",
            "web",
            "--type",
            "strategic",
            "-p",
            r#"{"spec":{"template":{"spec":{"containers":[{"name":"web","image":"nginx:3.0"}]}}}}"#
        ])
        .trim(),
        "deployment.apps/web patched"
    );
    let d = t.get("deployment", "web").expect("deployment");
    assert_eq!(d["spec"]["replicas"], 3);
    let c = &d["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(c["image"], "nginx:3.0");
    assert_eq!(
        c["ports"][0]["containerPort"], 8080,
        "strategic merge keeps the other fields"
    );
    // A no-op patch says so (once the controllers stopped changing the status kubectl
    // compares).
    t.settle();
    let out = k.ok(&[
        "patch",
        "deploy",
        "web",
        "--type",
        "merge",
        "-p",
        r#"{"spec":{"replicas":3}}"#,
    ]);
    assert_eq!(out.trim(), "deployment.apps/web patched (no change)");
    let failed = k.run(&[
        "patch",
        "deploy",
        "web",
        "--type",
        "json",
        "-p",
        r#"[{"op":"test","path":"/spec/replicas","value":9}]"#,
    ]);
    assert_eq!(failed.code, Some(1), "{}", failed.stdout);
}

fn replace(t: &Target, version: &str) {
    let Some(k) = Kubectl::new(version, t) else {
        return;
    };
    load_web(t);
    let current = k.ok(&["get", "svc", "web", "-o", "yaml"]);
    let file = k.file("svc.yaml", &current.replace("app: web", "app: replaced"));
    let path = file.to_str().unwrap_or_default().to_string();
    assert_eq!(
        k.ok(&["replace", "-f", &path]).trim(),
        "service/web replaced"
    );
    assert_eq!(
        t.get("service", "web").expect("svc")["spec"]["selector"]["app"],
        "replaced"
    );
    // The same file again carries a stale resourceVersion.
    let stale = k.run(&["replace", "-f", &path]);
    assert_eq!(stale.code, Some(1));
    assert!(
        stale.stderr.contains("the object has been modified"),
        "{}",
        stale.stderr
    );
}

fn label(t: &Target, version: &str) {
    let Some(k) = Kubectl::new(version, t) else {
        return;
    };
    load_web(t);
    assert_eq!(
        k.ok(&["label", "deploy", "web", "release=blue"]).trim(),
        "deployment.apps/web labeled"
    );
    let again = k.run(&["label", "deploy", "web", "release=green"]);
    assert_eq!(again.code, Some(1), "changing a label needs --overwrite");
    assert_eq!(
        k.ok(&["label", "deploy", "web", "release=green", "--overwrite"])
            .trim(),
        "deployment.apps/web labeled"
    );
    assert_eq!(
        k.ok(&["label", "deploy", "web", "release-"]).trim(),
        "deployment.apps/web unlabeled"
    );
    let d = t.get("deployment", "web").expect("deployment");
    assert!(d["metadata"]["labels"].get("release").is_none());
    assert_eq!(
        k.ok(&["get", "deploy", "-l", "app=web", "-o", "name"])
            .trim(),
        "deployment.apps/web"
    );
}

fn scale(t: &Target, version: &str) {
    let Some(k) = Kubectl::new(version, t) else {
        return;
    };
    load_web(t);
    assert_eq!(
        k.ok(&["scale", "deploy", "web", "--replicas=4"]).trim(),
        "deployment.apps/web scaled"
    );
    if let Some(sb) = t.sandbox_handle() {
        assert!(
            sb.requests()
                .iter()
                .any(|r| r.path.ends_with("/deployments/web/scale")),
            "through the scale subresource"
        );
    }
    let r = k.run(&[
        "scale",
        "deploy",
        "web",
        "--replicas=1",
        "--current-replicas=2",
    ]);
    assert_eq!(r.code, Some(1), "a failed precondition: {}", r.stdout);
    t.settle();
    let out = k.ok(&["get", "deploy", "web"]);
    assert!(out.contains("4/4"), "{out}");
    assert_eq!(t.pods().len(), 4);
}

fn delete(t: &Target, version: &str) {
    let Some(k) = Kubectl::new(version, t) else {
        return;
    };
    load_web(t);
    // A running pod goes through graceful termination; kubectl waits until it is gone.
    let pod = t.pods()[0]["metadata"]["name"]
        .as_str()
        .unwrap_or("")
        .to_string();
    let r = k.run(&["delete", "pod", &pod, "--grace-period=1"]);
    r.assert_ok();
    assert!(
        t.get("pod", &pod).is_none(),
        "kubectl returned before the pod was gone"
    );
    assert_eq!(
        k.ok(&["delete", "deploy", "web"]).trim(),
        "deployment.apps \"web\" deleted"
    );
    assert!(t.get("deployment", "web").is_none());
    let missing = k.run(&["delete", "svc", "nope"]);
    assert_eq!(missing.code, Some(1));
    assert!(
        missing.stderr.contains("services \"nope\" not found"),
        "{}",
        missing.stderr
    );
    // A namespace goes with its contents; kubectl waits for it.
    let doomed = t.unique("doomed");
    k.ok(&["create", "namespace", &doomed]);
    k.ok(&[
        "create",
        "-n",
        &doomed,
        "-f",
        k.file("d.yaml", DEPLOYMENT).to_str().unwrap_or_default(),
    ]);
    let out = k.ok(&["delete", "namespace", &doomed]);
    assert_eq!(out.trim(), format!("namespace \"{doomed}\" deleted"));
    assert!(t.get("namespace", &doomed).is_none());
    assert!(t.get_in("deployment", &doomed, "web").is_none());
}

fn wait_available(t: &Target, version: &str) {
    let Some(k) = Kubectl::new(version, t) else {
        return;
    };
    t.load(DEPLOYMENT);
    let r = k.run(&[
        "wait",
        "--for=condition=Available",
        "deploy/web",
        "--timeout=30s",
    ]);
    r.assert_ok();
    assert_eq!(r.stdout.trim(), "deployment.apps/web condition met");
    // A condition that never comes times out.
    let r = k.run(&["wait", "--for=condition=Nope", "deploy/web", "--timeout=1s"]);
    assert_eq!(r.code, Some(1));
}

fn rollout_status(t: &Target, version: &str) {
    let Some(k) = Kubectl::new(version, t) else {
        return;
    };
    load_web(t);
    k.ok(&["set", "image", "deploy/web", "web=nginx:9.9"]);
    let r = k.run(&["rollout", "status", "deploy/web", "--timeout=60s"]);
    r.assert_ok();
    assert!(
        r.stdout
            .trim_end()
            .ends_with("deployment \"web\" successfully rolled out"),
        "{}",
        r.stdout
    );
    let d = t.get("deployment", "web").expect("deployment");
    assert_eq!(d["status"]["updatedReplicas"], 2);
    assert_eq!(
        d["status"]["observedGeneration"],
        d["metadata"]["generation"]
    );

    // A rollout that cannot finish (pods never ready) does not report success.
    t.change("deployment", "web", |d| {
        d["spec"]["template"]["metadata"]["annotations"] =
            json!({(sandbox::controllers::NEVER_READY): "true"});
    });
    let r = k.run(&["rollout", "status", "deploy/web", "--timeout=5s"]);
    assert_eq!(r.code, Some(1), "{}", r.stdout);
    assert!(
        r.stdout
            .contains("Waiting for deployment \"web\" rollout to finish"),
        "{}",
        r.stdout
    );
}

fn auth_can_i(t: &Target, version: &str) {
    let Some(k) = Kubectl::new(version, t) else {
        return;
    };
    // A user who may get and list pods in the test's namespace, and nothing else.
    let (kubeconfig, user) = t.restricted_user();
    let k = Kubectl { kubeconfig, ..k };
    assert_eq!(k.ok(&["auth", "can-i", "list", "pods"]).trim(), "yes");
    let no = k.run(&["auth", "can-i", "delete", "pods"]);
    assert_eq!(
        (no.code, no.stdout.trim()),
        (Some(1), "no"),
        "{}",
        no.stderr
    );
    let no = k.run(&["auth", "can-i", "list", "pods", "-n", "staging"]);
    assert_eq!(no.code, Some(1));
    let forbidden = k.run(&["get", "pods", "-n", "staging"]);
    assert_eq!(forbidden.code, Some(1));
    assert!(
        forbidden.stderr.contains(&format!(
            "pods is forbidden: User \"{user}\" cannot list resource \"pods\" in API group \"\" in the namespace \"staging\""
        )),
        "{}",
        forbidden.stderr
    );
}

/// Typed-client creates (kubectl 1.33 sends these bodies as protobuf): the stored object
/// has what kubectl's own client-side rendering of the same command has.
fn create_typed(t: &Target, version: &str) {
    let Some(k) = Kubectl::new(version, t) else {
        return;
    };
    let team = t.unique("team-a");
    let commands: [&[&str]; 3] = [
        &[
            "create",
            "deployment",
            "shop",
            "--image=nginx:1.25",
            "--replicas=3",
            "--port=8080",
        ],
        &["create", "service", "clusterip", "shop", "--tcp=80:8080"],
        &["create", "namespace", &team],
    ];
    for args in commands {
        let mut dry = args.to_vec();
        dry.extend(["--dry-run=client", "-o", "json"]);
        let want: Value = serde_json::from_str(&k.ok(&dry)).expect("kubectl renders JSON");
        let out = k.ok(args);
        assert!(out.trim().ends_with(" created"), "{out}");
        let kind = want["kind"].as_str().unwrap_or_default();
        let name = want["metadata"]["name"].as_str().unwrap_or_default();
        let got = t.get(&kind.to_lowercase(), name).expect("created");
        let mut labels = want["metadata"]["labels"].clone();
        if kind == "Namespace" {
            // The server labels every namespace with its name.
            labels = json!({"kubernetes.io/metadata.name": name});
        }
        assert_eq!(got["metadata"]["labels"], labels, "{args:?}");
        match kind {
            "Deployment" => {
                for field in ["replicas", "selector"] {
                    assert_eq!(got["spec"][field], want["spec"][field], "{field}");
                }
                let (g, w) = (
                    &got["spec"]["template"]["spec"]["containers"][0],
                    &want["spec"]["template"]["spec"]["containers"][0],
                );
                for field in ["name", "image"] {
                    assert_eq!(g[field], w[field], "container {field}");
                }
                // The server adds the default protocol.
                assert_eq!(
                    g["ports"][0]["containerPort"],
                    w["ports"][0]["containerPort"]
                );
            }
            "Service" => {
                for field in ["ports", "selector", "type"] {
                    assert_eq!(got["spec"][field], want["spec"][field], "{field}");
                }
            }
            _ => assert_eq!(got["status"]["phase"], "Active"),
        }
    }
}

fn autoscale(t: &Target, version: &str) {
    let Some(k) = Kubectl::new(version, t) else {
        return;
    };
    load_web(t);
    let out = k.ok(&[
        "autoscale",
        "deploy",
        "web",
        "--min=2",
        "--max=5",
        "--cpu-percent=80",
    ]);
    assert_eq!(
        out.trim(),
        "horizontalpodautoscaler.autoscaling/web autoscaled"
    );
    let table = rows(&k.ok(&["get", "hpa"]));
    assert_eq!(
        table[1][..7],
        [
            "web",
            "Deployment/web",
            "cpu:",
            "<unknown>/80%",
            "2",
            "5",
            "0"
        ],
        "{table:?}"
    );
    let hpa = t.get("hpa", "web").expect("stored");
    assert_eq!(hpa["apiVersion"], "autoscaling/v2");
    assert_eq!(
        hpa["spec"]["metrics"][0]["resource"]["target"]["averageUtilization"],
        80
    );
    let v1: Value = serde_json::from_str(&k.ok(&[
        "get",
        "--raw",
        &format!(
            "/apis/autoscaling/v1/namespaces/{}/horizontalpodautoscalers/web",
            t.ns()
        ),
    ]))
    .expect("JSON");
    assert_eq!(v1["apiVersion"], "autoscaling/v1");
    assert_eq!(v1["spec"]["targetCPUUtilizationPercentage"], 80);
}

/// Each expectation against a sandbox of its own, and (ignored by default) against the shared
/// real control plane in a namespace named after the test.
macro_rules! conformance {
    ($($name:ident),* $(,)?) => {
        /// The real-server tests in this binary: they share one control plane.
        const REAL_TESTS: usize = 2 * [$(stringify!($name)),*].len();

        macro_rules! per_version {
            ($module:ident, $version:literal) => {
                mod $module {
                    mod sandbox {
                        $(#[test] fn $name() {
                            super::super::$name(&super::super::sandbox_target(), $version)
                        })*
                    }
                    mod real {
                        $(#[test]
                        #[ignore = "real control plane: tests/control-plane/build.sh, then cargo test -- --include-ignored"]
                        fn $name() {
                            super::super::$name(
                                &super::super::real_target(stringify!($name), $version),
                                $version,
                            )
                        })*
                    }
                }
            };
        }
        per_version!(kubectl_1_27, "1.27");
        per_version!(kubectl_1_33, "1.33");
    };
}

fn sandbox_target() -> Target {
    Target::sandbox(sandbox())
}

/// The shared control plane, in namespace `<test>-<kubectl version>`.
fn real_target(test: &str, version: &str) -> Target {
    let ns = format!("{test}-{version}").replace(['_', '.'], "-");
    Target::real(&ns, REAL_TESTS)
}

conformance!(
    get,
    get_watch,
    describe,
    create,
    apply,
    apply_server_side,
    patch,
    replace,
    label,
    scale,
    delete,
    wait_available,
    rollout_status,
    auth_can_i,
    create_typed,
    autoscale,
);
