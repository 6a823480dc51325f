//! Shared by the real-control-plane tests: one control plane per test binary, kubectl helpers
//! and bounded polling.

#![allow(dead_code)]

use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use control_plane::ControlPlane;

/// Why the tests are ignored by default.
pub const IGNORE: &str = "real control plane: tests/control-plane/run-tests.sh runs them";

struct Shared {
    cp: Option<Arc<ControlPlane>>,
    /// Why the first start failed: later tests fail at once with it instead of trying again.
    failed: Option<String>,
    done: usize,
}

static SHARED: Mutex<Shared> = Mutex::new(Shared {
    cp: None,
    failed: None,
    done: 0,
});

/// A test's hold on the control plane shared by the tests of one binary. It is started by the
/// first test and dropped (stopping every process, removing its directory) when the last of
/// `total` tests lets go.
pub struct Hold {
    pub cp: Arc<ControlPlane>,
    total: usize,
}

impl Drop for Hold {
    fn drop(&mut self) {
        let mut s = SHARED.lock().unwrap_or_else(|e| e.into_inner());
        s.done += 1;
        if s.done >= self.total {
            s.cp = None;
        }
    }
}

/// The shared control plane; `total` is the number of tests in the binary that use it.
pub fn control_plane(total: usize) -> Hold {
    let mut s = SHARED.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(e) = &s.failed {
        panic!("cannot start the control plane (as for an earlier test): {e}");
    }
    if s.cp.is_none() {
        let cp = match ControlPlane::start() {
            Ok(cp) => cp,
            Err(e) => {
                s.failed = Some(e.to_string());
                drop(s);
                panic!("cannot start the control plane: {e}");
            }
        };
        eprintln!(
            "control plane {} ({}) ready in {:.1} s, data in {}",
            cp.version(),
            cp.server_url(),
            cp.startup_time().as_secs_f64(),
            cp.data_dir().display()
        );
        s.cp = Some(Arc::new(cp));
    }
    Hold {
        cp: s.cp.clone().unwrap_or_else(|| unreachable!()),
        total,
    }
}

/// Runs a command; its stdout, or a panic with its stderr.
pub fn run(mut cmd: Command) -> String {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e} (is kubectl on PATH?)"));
    if !out.status.success() {
        panic!(
            "{cmd:?} failed ({}):\n{}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `kubectl ARGS` as admin; stdout.
pub fn kubectl(cp: &ControlPlane, args: &[&str]) -> String {
    let mut c = cp.kubectl();
    c.args(args);
    run(c)
}

/// `kubectl apply -f -` with `yaml` on stdin, as admin.
pub fn apply(cp: &ControlPlane, namespace: &str, yaml: &str) {
    use std::io::Write;
    let mut child = cp
        .kubectl()
        .args(["apply", "-n", namespace, "-f", "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("kubectl on PATH");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(yaml.as_bytes())
        .expect("write manifest");
    let out = child.wait_with_output().expect("kubectl apply");
    assert!(
        out.status.success(),
        "kubectl apply failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

pub fn create_namespace(cp: &ControlPlane, name: &str) {
    kubectl(cp, &["create", "namespace", name]);
}

/// Polls `f` every 200 ms until it returns `Some`, or panics after `timeout` with `what` and
/// the last value seen by `describe`.
pub fn eventually<T>(timeout: Duration, what: &str, mut f: impl FnMut() -> Result<T, String>) -> T {
    let start = Instant::now();
    loop {
        let last = match f() {
            Ok(v) => return v,
            Err(e) => e,
        };
        if start.elapsed() > timeout {
            panic!("timed out after {timeout:?} waiting for {what}; last: {last}");
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// A Deployment with one container and the given pod-template annotations.
pub fn deployment(name: &str, replicas: u32, annotations: &[(&str, &str)]) -> String {
    let mut ann = String::new();
    for (k, v) in annotations {
        ann.push_str(&format!("        {k}: \"{v}\"\n"));
    }
    let ann = if ann.is_empty() {
        String::new()
    } else {
        format!("      annotations:\n{ann}")
    };
    format!(
        r#"apiVersion: apps/v1
kind: Deployment
metadata:
  name: {name}
spec:
  replicas: {replicas}
  selector:
    matchLabels:
      app: {name}
  template:
    metadata:
      labels:
        app: {name}
{ann}    spec:
      containers:
      - name: app
        image: registry.example/app:1
        ports:
        - containerPort: 8080
"#
    )
}

/// The pods of `app=<name>` as JSON items.
pub fn pods(cp: &ControlPlane, namespace: &str, app: &str) -> Vec<serde_json::Value> {
    let out = kubectl(
        cp,
        &[
            "get",
            "pods",
            "-n",
            namespace,
            "-l",
            &format!("app={app}"),
            "-o",
            "json",
        ],
    );
    let v: serde_json::Value = serde_json::from_str(&out).expect("pod list JSON");
    v["items"].as_array().cloned().unwrap_or_default()
}

/// The status of a pod's `Ready` condition (`"True"`, `"False"`, or empty).
pub fn ready(pod: &serde_json::Value) -> String {
    pod["status"]["conditions"]
        .as_array()
        .and_then(|cs| cs.iter().find(|c| c["type"] == "Ready"))
        .and_then(|c| c["status"].as_str())
        .unwrap_or("")
        .to_string()
}
