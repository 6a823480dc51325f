//! The two back-ends an expectation runs against: the sandbox, and the real control plane of
//! `tests/control-plane` (kube-apiserver, controller-manager, scheduler, kwok). The real one is
//! started once per test binary, by the first test that needs it, and stopped when the last of
//! them is done; each test works in a namespace of its own there.

#![allow(dead_code)]
// The store's closures return `ApiError`, a whole `Status` object, as in the library.
#![allow(clippy::result_large_err)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use control_plane::ControlPlane;
use sandbox::Sandbox;
use serde_json::Value;

/// Why the real-server variants are ignored by default.
pub const IGNORE: &str =
    "real control plane: tests/control-plane/build.sh, then cargo test -- --include-ignored";

struct Shared {
    cp: Option<Arc<ControlPlane>>,
    /// Why the first start failed: later tests fail at once with it.
    failed: Option<String>,
    done: usize,
}

static SHARED: Mutex<Shared> = Mutex::new(Shared {
    cp: None,
    failed: None,
    done: 0,
});

/// A test's hold on the shared control plane; the last of `total` holds to go stops it. (A
/// filtered run that leaves some of them out stops it when the binary exits, leaving its
/// temporary directory behind.)
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

/// The control plane shared by the `total` real-server tests of this binary.
pub fn control_plane(total: usize) -> Hold {
    let mut s = SHARED.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(e) = &s.failed {
        panic!("cannot start the control plane (as for an earlier test): {e}");
    }
    if s.cp.is_none() {
        match ControlPlane::start() {
            Ok(cp) => {
                eprintln!(
                    "control plane {} ready in {:.1} s, data in {}",
                    cp.version(),
                    cp.startup_time().as_secs_f64(),
                    cp.data_dir().display()
                );
                s.cp = Some(Arc::new(cp));
            }
            Err(e) => {
                s.failed = Some(e.to_string());
                drop(s);
                panic!("cannot start the control plane: {e}");
            }
        }
    }
    Hold {
        cp: s.cp.clone().unwrap_or_else(|| unreachable!()),
        total,
    }
}

/// Where a versioned kubectl build is: beside the dispatcher `dpkg -L kubectl` lists, else the
/// Google Cloud SDK's usual directory.
pub fn kubectl_build(version: &str) -> Option<PathBuf> {
    let name = format!("kubectl.{version}");
    let listed = Command::new("dpkg")
        .args(["-L", "kubectl"])
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default();
    listed
        .lines()
        .map(PathBuf::from)
        .find(|p| p.file_name().is_some_and(|f| f == name.as_str()))
        .or_else(|| Some(Path::new("/usr/lib/google-cloud-sdk/bin").join(&name)))
        .filter(|p| p.is_file())
}

pub enum Backend {
    Sandbox(Box<Sandbox>),
    Real(Hold),
}

/// One back-end, seen from one test: its namespace and a kubeconfig whose current context
/// points at it.
pub struct Target {
    pub backend: Backend,
    ns: String,
    kubeconfig: PathBuf,
    dir: tempfile::TempDir,
}

impl Target {
    pub fn sandbox(sb: Sandbox) -> Target {
        let kubeconfig = sb.kubeconfig_path().to_path_buf();
        Target {
            backend: Backend::Sandbox(Box::new(sb)),
            ns: "default".into(),
            kubeconfig,
            dir: tempfile::tempdir().expect("a temporary directory"),
        }
    }

    /// The shared control plane (one of `total` tests using it), with a new namespace `ns`.
    pub fn real(ns: &str, total: usize) -> Target {
        let hold = control_plane(total);
        let dir = tempfile::tempdir().expect("a temporary directory");
        let kubeconfig = dir.path().join("admin.kubeconfig");
        write_kubeconfig(hold.cp.kubeconfig_path(), &kubeconfig, ns);
        let t = Target {
            backend: Backend::Real(hold),
            ns: ns.to_string(),
            kubeconfig,
            dir,
        };
        t.kubectl(&["create", "namespace", ns]);
        // Pods need the namespace's default ServiceAccount, which a controller creates.
        t.eventually(
            Duration::from_secs(60),
            "the default ServiceAccount",
            || {
                t.try_kubectl(&["get", "serviceaccount", "default"])
                    .map(|_| ())
            },
        );
        t
    }

    pub fn is_real(&self) -> bool {
        matches!(self.backend, Backend::Real(_))
    }

    pub fn sandbox_handle(&self) -> Option<&Sandbox> {
        match &self.backend {
            Backend::Sandbox(sb) => Some(sb),
            Backend::Real(_) => None,
        }
    }

    pub fn control_plane(&self) -> Option<&ControlPlane> {
        match &self.backend {
            Backend::Sandbox(_) => None,
            Backend::Real(h) => Some(&h.cp),
        }
    }

    /// The namespace the test works in (`default` in the sandbox).
    pub fn ns(&self) -> &str {
        &self.ns
    }

    /// The admin kubeconfig; its current context's namespace is [`Target::ns`].
    pub fn kubeconfig(&self) -> &Path {
        &self.kubeconfig
    }

    /// A name for something cluster-wide (a namespace), unique per test on the shared server.
    pub fn unique(&self, name: &str) -> String {
        if self.is_real() {
            format!("{}-{name}", self.ns)
        } else {
            name.to_string()
        }
    }

    /// The prefix of node names.
    pub fn node_prefix(&self) -> &'static str {
        if self.is_real() {
            "kwok-node-"
        } else {
            "sandbox-node-"
        }
    }

    /// A kubeconfig for a user who may only get and list pods in [`Target::ns`] (and create
    /// SelfSubjectAccessReviews), and that user's name.
    pub fn restricted_user(&self) -> (PathBuf, &'static str) {
        match &self.backend {
            Backend::Sandbox(sb) => {
                sb.set_policy(sandbox::Policy::Rules(vec![
                    sandbox::PolicyRule::new(&["get", "list"], &["pods"])
                        .in_namespaces(&[self.ns.as_str()]),
                    sandbox::PolicyRule::new(&["create"], &["selfsubjectaccessreviews"]),
                ]));
                (self.kubeconfig.clone(), "sandbox-admin")
            }
            Backend::Real(h) => {
                self.kubectl(&[
                    "create",
                    "role",
                    "pod-reader",
                    "--verb=get,list",
                    "--resource=pods",
                ]);
                self.kubectl(&[
                    "create",
                    "rolebinding",
                    "pod-reader",
                    "--role=pod-reader",
                    &format!("--user={}", control_plane::DEVELOPER_CERT_CN),
                ]);
                let path = self.dir.path().join("developer.kubeconfig");
                write_kubeconfig(h.cp.user_kubeconfig_path(), &path, &self.ns);
                (path, control_plane::DEVELOPER_CERT_CN)
            }
        }
    }

    fn kubectl_command(&self, args: &[&str]) -> Command {
        let bin = kubectl_build("1.33").unwrap_or_else(|| PathBuf::from("kubectl"));
        let mut c = Command::new(bin);
        c.arg("--kubeconfig")
            .arg(&self.kubeconfig)
            .arg("--cache-dir")
            .arg(self.dir.path().join("cache"))
            .args(args)
            .env("HOME", self.dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        c
    }

    /// `kubectl ARGS` as admin: stdout, or stderr as the error.
    pub fn try_kubectl(&self, args: &[&str]) -> Result<String, String> {
        let out = self
            .kubectl_command(args)
            .output()
            .map_err(|e| format!("kubectl: {e}"))?;
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).into_owned())
        } else {
            Err(format!(
                "kubectl {} failed: {}",
                args.join(" "),
                String::from_utf8_lossy(&out.stderr)
            ))
        }
    }

    pub fn kubectl(&self, args: &[&str]) -> String {
        self.try_kubectl(args).unwrap_or_else(|e| panic!("{e}"))
    }

    /// `kubectl ARGS` with `input` on stdin.
    pub fn kubectl_stdin(&self, args: &[&str], input: &str) -> Result<String, String> {
        let mut child = self
            .kubectl_command(args)
            .stdin(Stdio::piped())
            .spawn()
            .map_err(|e| format!("kubectl: {e}"))?;
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(input.as_bytes())
            .expect("kubectl reads stdin");
        let out = child.wait_with_output().expect("kubectl output");
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).into_owned())
        } else {
            Err(String::from_utf8_lossy(&out.stderr).into_owned())
        }
    }

    /// Creates every object of a manifest in [`Target::ns`].
    pub fn load(&self, yaml: &str) {
        match &self.backend {
            Backend::Sandbox(sb) => {
                sb.load_yaml(yaml).expect("manifests load");
            }
            Backend::Real(_) => {
                self.kubectl_stdin(&["create", "-f", "-"], yaml)
                    .unwrap_or_else(|e| panic!("kubectl create: {e}"));
            }
        }
    }

    /// Waits until the controllers are done: every Deployment rolled out with all its pods
    /// Ready, no pod terminating, every Service's EndpointSlices listing its ready pods.
    pub fn settle(&self) {
        match &self.backend {
            Backend::Sandbox(sb) => sb
                .wait_settled(Duration::from_secs(30))
                .expect("the controllers settle"),
            Backend::Real(_) => self.eventually(Duration::from_secs(90), "settled", || {
                self.unsettled().map_or(Ok(()), Err)
            }),
        }
    }

    /// What is not settled yet, if anything.
    fn unsettled(&self) -> Option<String> {
        let list = |kind: &str| -> Vec<Value> {
            self.try_kubectl(&["get", kind, "-o", "json"])
                .ok()
                .and_then(|s| serde_json::from_str::<Value>(&s).ok())
                .and_then(|v| v["items"].as_array().cloned())
                .unwrap_or_default()
        };
        let pods = list("pods");
        let mut wanted = 0;
        for d in list("deployments") {
            let (spec, status) = (&d["spec"], &d["status"]);
            let n = spec["replicas"].as_i64().unwrap_or(1);
            wanted += n;
            let counts = [
                "replicas",
                "updatedReplicas",
                "readyReplicas",
                "availableReplicas",
            ]
            .map(|f| status[f].as_i64().unwrap_or(0));
            if status["observedGeneration"] != d["metadata"]["generation"]
                || counts.iter().any(|c| *c != n)
            {
                return Some(format!("deployment {} at {status}", d["metadata"]["name"]));
            }
        }
        if pods
            .iter()
            .any(|p| !p["metadata"]["deletionTimestamp"].is_null())
        {
            return Some("a pod is terminating".into());
        }
        if pods.len() as i64 != wanted {
            return Some(format!("{} pods for {wanted} replicas", pods.len()));
        }
        let slices = list("endpointslices");
        for svc in list("services") {
            let Some(sel) = svc["spec"]["selector"].as_object() else {
                continue;
            };
            let name = &svc["metadata"]["name"];
            let ready = pods
                .iter()
                .filter(|p| {
                    sel.iter().all(|(k, v)| &p["metadata"]["labels"][k] == v) && pod_ready(p)
                })
                .count();
            let listed = slices
                .iter()
                .filter(|s| &s["metadata"]["labels"]["kubernetes.io/service-name"] == name)
                .flat_map(|s| s["endpoints"].as_array().cloned().unwrap_or_default())
                .filter(|e| e["conditions"]["ready"] == true)
                .count();
            if ready != listed {
                return Some(format!(
                    "service {name}: {listed} of {ready} ready pods listed"
                ));
            }
        }
        None
    }

    /// The object `kind/name` in [`Target::ns`] (`kind` as kubectl names it, e.g.
    /// `deployment`), as the server has it.
    pub fn get(&self, kind: &str, name: &str) -> Option<Value> {
        self.get_in(kind, &self.ns, name)
    }

    pub fn get_in(&self, kind: &str, ns: &str, name: &str) -> Option<Value> {
        match &self.backend {
            Backend::Sandbox(sb) => {
                let rt = sandbox_type(kind);
                let ns = if rt.namespaced { ns } else { "" };
                sb.store().get(rt, ns, name).map(|v| (*v).clone())
            }
            Backend::Real(_) => {
                let mut args = vec!["get", kind, name, "-o", "json"];
                if kind != "namespace" {
                    args.extend(["-n", ns]);
                }
                let out = self.try_kubectl(&args).ok()?;
                serde_json::from_str(&out).ok()
            }
        }
    }

    /// The pods in [`Target::ns`].
    pub fn pods(&self) -> Vec<Value> {
        match &self.backend {
            Backend::Sandbox(sb) => sb
                .store()
                .list(&sandbox::resources::PODS, Some(&self.ns), |_| true)
                .0
                .iter()
                .map(|p| (**p).clone())
                .collect(),
            Backend::Real(_) => {
                let out = self.kubectl(&["get", "pods", "-o", "json"]);
                let v: Value = serde_json::from_str(&out).expect("a pod list");
                v["items"].as_array().cloned().unwrap_or_default()
            }
        }
    }

    /// Changes an object around kubectl: through the store in the sandbox, by a read and a
    /// replace (retried on conflicts) on the real server.
    pub fn change(&self, kind: &str, name: &str, f: impl Fn(&mut Value)) {
        match &self.backend {
            Backend::Sandbox(sb) => {
                sb.store()
                    .update_with(
                        sandbox_type(kind),
                        &self.ns,
                        name,
                        sandbox::store::UpdateOpts::default(),
                        |old| {
                            let mut v = old.clone();
                            f(&mut v);
                            Ok(v)
                        },
                    )
                    .expect("a change");
            }
            Backend::Real(_) => self.eventually(Duration::from_secs(30), "a change", || {
                let mut v = self.get(kind, name).ok_or("gone")?;
                f(&mut v);
                self.kubectl_stdin(&["replace", "-f", "-"], &v.to_string())
                    .map(|_| ())
            }),
        }
    }

    /// Polls `f` every 200 ms until it succeeds, or panics after `timeout`.
    pub fn eventually<T>(
        &self,
        timeout: Duration,
        what: &str,
        mut f: impl FnMut() -> Result<T, String>,
    ) -> T {
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
}

pub fn pod_ready(p: &Value) -> bool {
    p["status"]["conditions"]
        .as_array()
        .and_then(|cs| cs.iter().find(|c| c["type"] == "Ready"))
        .is_some_and(|c| c["status"] == "True")
}

fn sandbox_type(kind: &str) -> &'static sandbox::resources::ResourceType {
    use sandbox::resources as r;
    match kind {
        "deployment" | "deploy" => &r::DEPLOYMENTS,
        "service" | "svc" => &r::SERVICES,
        "pod" => &r::PODS,
        "namespace" => &r::NAMESPACES,
        "hpa" | "horizontalpodautoscaler" => &r::HORIZONTALPODAUTOSCALERS,
        "replicaset" => &r::REPLICASETS,
        other => panic!("no sandbox type for {other}"),
    }
}

/// Copies a kubeconfig, with the namespace of its current context set to `ns`.
fn write_kubeconfig(from: &Path, to: &Path, ns: &str) {
    let text = std::fs::read_to_string(from).expect("the control plane's kubeconfig");
    let mut v: serde_yaml::Value = serde_yaml::from_str(&text).expect("a kubeconfig");
    let current = v["current-context"].as_str().unwrap_or("").to_string();
    if let Some(contexts) = v["contexts"].as_sequence_mut() {
        for c in contexts {
            if c["name"].as_str() == Some(current.as_str()) {
                c["context"]["namespace"] = serde_yaml::Value::from(ns);
            }
        }
    }
    std::fs::write(to, serde_yaml::to_string(&v).expect("YAML")).expect("a kubeconfig file");
}
