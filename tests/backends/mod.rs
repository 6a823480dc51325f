//! Two back-ends for one suite: the in-memory sandbox (`tests/sandbox`) and a real control plane
//! (`tests/control-plane`: kube-apiserver, etcd, the controllers, the scheduler and kwok).
//!
//! A scenario is written once against [`Cluster`] and run against both. On the real back-end
//! one control plane is shared by every test of the binary (started by the first test that asks
//! for it, stopped when the process ends) and each test gets a namespace of its own, named in
//! the context of a kubeconfig copy, so tests run in parallel without seeing each other's
//! objects. On the sandbox each test gets a sandbox of its own (namespace `default`).

#![allow(dead_code)] // each scenario uses its own subset

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::common::{self, Run};

/// Sandbox speed: cluster delays are divided by it.
pub const SANDBOX_SPEED: f64 = 20.0;

/// How long [`Cluster::wait_settled`] waits before failing.
pub const SETTLE_LIMIT: Duration = Duration::from_secs(60);

/// Why the real back-end's tests are ignored by default.
pub const REAL_IGNORED: &str =
    "real control plane: tests/control-plane/build.sh, then cargo test -- --include-ignored";

/// A cluster a scenario runs against.
pub trait Cluster: Sync {
    /// `sandbox` or `real`, for messages.
    fn backend(&self) -> &'static str;

    /// The admin kubeconfig whose current context names [`Cluster::namespace`].
    fn kubeconfig_path(&self) -> &Path;

    /// The namespace the test's objects live in.
    fn namespace(&self) -> &str;

    /// Creates every document of a manifest in the test's namespace (documents name none).
    fn load_yaml(&self, text: &str);

    /// Reads one object (`kind` is a plural: `deployments`, `services`, …); `None` when missing.
    fn get_json(&self, kind: &str, name: &str) -> Option<Value>;

    /// Lists the objects of a kind in the test's namespace.
    fn list_json(&self, kind: &str) -> Vec<Value>;

    /// Waits until every Deployment is rolled out as far as it can be, no pod is terminating
    /// and every Service's EndpointSlices hold its ready pods; fails after [`SETTLE_LIMIT`].
    fn wait_settled(&self);

    /// A kubeconfig for a non-admin user allowed exactly `role` (a namespaced Role manifest)
    /// in the test's namespace. On the sandbox the policy applies to its only user, so admin
    /// reads must go through [`Cluster::get_json`]/[`Cluster::list_json`] (the store) after it.
    fn user_kubeconfig(&self, role: &str) -> PathBuf;

    /// Milliseconds of cluster time (for `sandbox.bluegreen.dev/*-ms` annotations) that last
    /// `wall_ms` of wall-clock time on this back-end.
    fn cluster_ms(&self, wall_ms: u64) -> u64;

    /// Whether the back-end logs requests, so that "nothing was sent that changes anything"
    /// can be checked directly (the sandbox). Elsewhere [`Snapshot`] compares object versions.
    fn assert_no_mutation(&self);

    /// Forgets the requests logged so far (the sandbox), so that [`Cluster::assert_no_mutation`]
    /// looks only at what follows.
    fn forget_requests(&self) {}

    /// The real kubectl (admin) against the cluster, in the test's namespace.
    fn kubectl(&self, args: &[&str]) -> Output {
        Command::new("kubectl")
            .arg("--kubeconfig")
            .arg(self.kubeconfig_path())
            .args(args)
            .stdin(Stdio::null())
            .output()
            .expect("kubectl runs")
    }

    /// [`Cluster::kubectl`], failing the test when it fails.
    #[track_caller]
    fn kubectl_ok(&self, args: &[&str]) -> String {
        let out = self.kubectl(args);
        assert!(
            out.status.success(),
            "{}: kubectl {args:?}: {}",
            self.backend(),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// `kubectl apply -f -` of a manifest (as a pipeline that applies its files again does).
    #[track_caller]
    fn kubectl_apply(&self, text: &str) {
        self.kubectl_stdin("apply", text);
    }

    /// `kubectl create -f -`: objects made as the sandbox's loader makes them, without the
    /// last-applied record that would make `kubectl apply` their owner.
    #[track_caller]
    fn kubectl_create(&self, text: &str) {
        self.kubectl_stdin("create", text);
    }

    /// `kubectl VERB -f -` of a manifest.
    #[track_caller]
    fn kubectl_stdin(&self, verb: &str, text: &str) {
        let mut child = Command::new("kubectl")
            .arg("--kubeconfig")
            .arg(self.kubeconfig_path())
            .args([verb, "-f", "-"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("kubectl runs");
        if let Some(mut stdin) = child.stdin.take() {
            stdin
                .write_all(text.as_bytes())
                .expect("the manifest is written");
        }
        let out = child.wait_with_output().expect("kubectl ends");
        assert!(
            out.status.success(),
            "{}: kubectl apply: {}",
            self.backend(),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Runs the plugin with `args` and `--kubeconfig` of this cluster.
    fn bluegreen(&self, args: &[&str]) -> Run {
        self.bluegreen_as(self.kubeconfig_path(), args)
    }

    /// Runs the plugin with `args` and the kubeconfig `kubeconfig`.
    fn bluegreen_as(&self, kubeconfig: &Path, args: &[&str]) -> Run {
        let home = tempfile::tempdir().expect("a temporary HOME");
        let output = common::command(home.path())
            .args(args)
            .arg("--kubeconfig")
            .arg(kubeconfig)
            .stdin(Stdio::null())
            .output()
            .expect("the plugin runs");
        run_of(output)
    }

    /// Starts the plugin in the background with stdout and stderr piped.
    fn spawn_bluegreen(&self, home: &Path, args: &[&str]) -> Child {
        common::command(home)
            .args(args)
            .arg("--kubeconfig")
            .arg(self.kubeconfig_path())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the plugin starts")
    }
}

/// What a finished process printed, as a [`Run`].
pub fn run_of(output: Output) -> Run {
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

// ---------------------------------------------------------------------------------------------
// Sandbox

/// The in-memory sandbox: one per test, namespace `default`.
pub struct SandboxCluster {
    sb: sandbox::Sandbox,
}

/// A sandbox for one test, at [`SANDBOX_SPEED`].
pub fn sandbox() -> SandboxCluster {
    let sb = sandbox::Sandbox::start(sandbox::Options::default().speed(SANDBOX_SPEED))
        .unwrap_or_else(|e| panic!("the sandbox does not start: {e}"));
    SandboxCluster { sb }
}

fn sandbox_resource(kind: &str) -> &'static sandbox::resources::ResourceType {
    use sandbox::resources as r;
    match kind {
        "deployments" => &r::DEPLOYMENTS,
        "services" => &r::SERVICES,
        "pods" => &r::PODS,
        "endpointslices" => &r::ENDPOINTSLICES,
        "events" => &r::EVENTS,
        "replicasets" => &r::REPLICASETS,
        "endpoints" => &r::ENDPOINTS,
        _ => panic!("no sandbox resource {kind}"),
    }
}

impl SandboxCluster {
    /// The sandbox itself, for what only it offers (request log, faults).
    pub fn sandbox(&self) -> &sandbox::Sandbox {
        &self.sb
    }
}

impl Cluster for SandboxCluster {
    fn backend(&self) -> &'static str {
        "sandbox"
    }

    fn kubeconfig_path(&self) -> &Path {
        self.sb.kubeconfig_path()
    }

    fn namespace(&self) -> &str {
        "default"
    }

    fn load_yaml(&self, text: &str) {
        self.sb
            .load_yaml(text)
            .unwrap_or_else(|e| panic!("sandbox: the manifest does not load: {e}\n{text}"));
    }

    fn get_json(&self, kind: &str, name: &str) -> Option<Value> {
        self.sb
            .store()
            .get(sandbox_resource(kind), "default", name)
            .map(|o| (*o).clone())
    }

    fn list_json(&self, kind: &str) -> Vec<Value> {
        let (items, _) = self
            .sb
            .store()
            .list(sandbox_resource(kind), Some("default"), |_| true);
        items.iter().map(|o| (**o).clone()).collect()
    }

    fn wait_settled(&self) {
        if let Err(e) = self.sb.wait_settled(SETTLE_LIMIT) {
            panic!("sandbox: {e}");
        }
    }

    fn user_kubeconfig(&self, role: &str) -> PathBuf {
        let doc: serde_yaml::Value = serde_yaml::from_str(role).expect("the Role is YAML");
        let mut rules = Vec::new();
        for rule in doc["rules"].as_sequence().expect("rules") {
            let verbs: Vec<&str> = rule["verbs"]
                .as_sequence()
                .expect("verbs")
                .iter()
                .filter_map(|v| v.as_str())
                .collect();
            let resources: Vec<&str> = rule["resources"]
                .as_sequence()
                .expect("resources")
                .iter()
                .filter_map(|v| v.as_str())
                .collect();
            rules.push(sandbox::PolicyRule::new(&verbs, &resources).in_namespaces(&["default"]));
        }
        self.sb.set_policy(sandbox::Policy::Rules(rules));
        self.sb.kubeconfig_path().to_path_buf()
    }

    fn cluster_ms(&self, wall_ms: u64) -> u64 {
        (wall_ms as f64 * SANDBOX_SPEED) as u64
    }

    fn assert_no_mutation(&self) {
        common::assert_no_mutation(&self.sb);
    }

    fn forget_requests(&self) {
        self.sb.clear_requests();
    }
}

// ---------------------------------------------------------------------------------------------
// Real control plane

/// What the shared control plane gives each test.
struct Shared {
    plane: control_plane::ControlPlane,
    /// Held until the process ends: then the reaper sees its stdin close and removes the
    /// plane's directory (a static is never dropped, so the plane's own `Drop` never runs).
    _reaper: Option<std::process::ChildStdin>,
}

/// Starts `sh` waiting on a pipe only this process holds; when the pipe closes (the test
/// process ended, however), it waits for the servers' supervisors to stop them and removes
/// `dir`.
fn reaper(dir: &Path) -> Option<std::process::ChildStdin> {
    let mut child = Command::new("sh")
        .args([
            "-c",
            "cat >/dev/null; sleep 10; rm -rf -- \"$0\"",
            &dir.display().to_string(),
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    child.stdin.take()
}

/// The control plane shared by the tests of this binary (started by the first caller).
pub fn real_plane() -> &'static control_plane::ControlPlane {
    plane()
}

static PLANE: OnceLock<Result<Shared, String>> = OnceLock::new();
static NAMESPACES: AtomicUsize = AtomicUsize::new(0);

fn plane() -> &'static control_plane::ControlPlane {
    let shared = PLANE.get_or_init(|| {
        control_plane::ControlPlane::start()
            .map(|plane| {
                eprintln!(
                    "control plane {} started in {:.1?} ({})",
                    plane.version(),
                    plane.startup_time(),
                    plane.data_dir().display()
                );
                let reaper = reaper(plane.data_dir());
                Shared {
                    plane,
                    _reaper: reaper,
                }
            })
            .map_err(|e| e.to_string())
    });
    match shared {
        Ok(s) => &s.plane,
        Err(e) => panic!("the control plane does not start: {e}"),
    }
}

/// One test's namespace on the shared real control plane.
pub struct RealCluster {
    namespace: String,
    dir: tempfile::TempDir,
    kubeconfig: PathBuf,
}

/// A namespace of its own on the shared control plane, for the test `test`.
pub fn real(test: &str) -> RealCluster {
    let plane = plane();
    let n = NAMESPACES.fetch_add(1, Ordering::SeqCst);
    let mut namespace: String = test
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    namespace.truncate(50);
    let namespace = format!("{}-{n}", namespace.trim_matches('-'));
    let dir = tempfile::tempdir().expect("a temporary directory");
    let kubeconfig = dir.path().join("kubeconfig");
    write_kubeconfig(plane.kubeconfig_path(), &kubeconfig, &namespace);
    let out = plane
        .kubectl()
        .args(["create", "namespace", &namespace])
        .output()
        .expect("kubectl runs");
    assert!(
        out.status.success(),
        "kubectl create namespace {namespace}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Pods need the namespace's `default` ServiceAccount (admission refuses them without).
    let cluster = RealCluster {
        namespace,
        dir,
        kubeconfig,
    };
    eventually(
        Duration::from_secs(60),
        "the default ServiceAccount exists",
        || {
            cluster
                .kubectl(&["get", "serviceaccount", "default", "-o", "name"])
                .status
                .success()
        },
    );
    cluster
}

/// Copies a kubeconfig with its current context's namespace set to `namespace`.
fn write_kubeconfig(from: &Path, to: &Path, namespace: &str) {
    let text = std::fs::read_to_string(from).expect("the control plane's kubeconfig");
    let mut doc: serde_yaml::Value = serde_yaml::from_str(&text).expect("kubeconfig YAML");
    let current = doc["current-context"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    for context in doc["contexts"].as_sequence_mut().expect("contexts") {
        if context["name"].as_str() == Some(current.as_str()) {
            context["context"]["namespace"] = serde_yaml::Value::from(namespace);
        }
    }
    std::fs::write(to, serde_yaml::to_string(&doc).expect("YAML")).expect("write the kubeconfig");
}

impl RealCluster {
    /// A fault-injecting proxy in front of the shared control plane, and a kubeconfig of this
    /// test's namespace that goes through it (as the admin).
    pub fn proxy(&self) -> (control_plane::Proxy, PathBuf) {
        let proxy = plane()
            .proxy()
            .unwrap_or_else(|e| panic!("the fault proxy does not start: {e}"));
        let path = self.dir.path().join(format!(
            "proxy-{}.kubeconfig",
            proxy.url().rsplit(':').next().unwrap_or_default()
        ));
        proxy
            .write_kubeconfig(&self.kubeconfig, &path)
            .unwrap_or_else(|e| panic!("the proxy's kubeconfig: {e}"));
        (proxy, path)
    }

    fn items(&self, args: &[&str]) -> Vec<Value> {
        let text = self.kubectl_ok(args);
        let doc: Value = serde_json::from_str(&text).expect("kubectl prints JSON");
        doc["items"].as_array().cloned().unwrap_or_default()
    }

    /// What is not settled yet, `None` when everything is.
    fn unsettled(&self) -> Option<String> {
        // One kubectl for the four kinds: many tests poll at once, and each kubectl costs.
        let all = self.items(&[
            "get",
            "deployments,pods,services,endpointslices",
            "-o",
            "json",
        ]);
        let of = |kind: &str| -> Vec<Value> {
            all.iter().filter(|o| o["kind"] == kind).cloned().collect()
        };
        let deployments = of("Deployment");
        let pods = of("Pod");
        let services = of("Service");
        let slices = of("EndpointSlice");
        for p in &pods {
            let name = p["metadata"]["name"].as_str().unwrap_or_default();
            if !p["metadata"]["deletionTimestamp"].is_null() {
                return Some(format!("pod {name} is terminating"));
            }
            if p["status"]["phase"] != "Running" || p["status"]["podIP"].is_null() {
                return Some(format!("pod {name} is not running with an IP"));
            }
            if !pod_ready(p) && !stuck(p) {
                return Some(format!("pod {name} is not Ready"));
            }
        }
        for d in &deployments {
            let name = d["metadata"]["name"].as_str().unwrap_or_default();
            let want = d["spec"]["replicas"].as_i64().unwrap_or(1);
            let s = &d["status"];
            let n = |k: &str| s[k].as_i64().unwrap_or(0);
            if s["observedGeneration"].as_i64() < d["metadata"]["generation"].as_i64() {
                return Some(format!("deployment {name}: generation not observed"));
            }
            if n("replicas") != want || n("updatedReplicas") != want {
                return Some(format!("deployment {name}: {s}"));
            }
            let selector = &d["spec"]["selector"]["matchLabels"];
            let stuck_pods = pods.iter().any(|p| selects(selector, p) && stuck(p));
            if !stuck_pods && (n("readyReplicas") != want || n("availableReplicas") != want) {
                return Some(format!("deployment {name}: {s}"));
            }
            // This Deployment's pods only: owned by its ReplicaSet (`NAME-HASH`), not a bare
            // pod or another Deployment's whose labels it also selects.
            let mine = pods
                .iter()
                .filter(|p| {
                    let hash = p["metadata"]["labels"]["pod-template-hash"]
                        .as_str()
                        .unwrap_or_default();
                    let replica_set = format!("{name}-{hash}");
                    selects(selector, p)
                        && p["metadata"]["ownerReferences"]
                            .as_array()
                            .is_some_and(|o| o.iter().any(|r| r["name"] == replica_set.as_str()))
                })
                .count() as i64;
            if mine != want {
                return Some(format!("deployment {name}: {mine} pods, {want} wanted"));
            }
        }
        for svc in &services {
            let name = svc["metadata"]["name"].as_str().unwrap_or_default();
            let selector = &svc["spec"]["selector"];
            if !selector.is_object() {
                continue;
            }
            let mut want: Vec<&str> = pods
                .iter()
                .filter(|p| selects(selector, p) && pod_ready(p))
                .filter_map(|p| p["metadata"]["name"].as_str())
                .collect();
            let mut have: Vec<&str> = slices
                .iter()
                .filter(|s| s["metadata"]["labels"]["kubernetes.io/service-name"] == name)
                .flat_map(|s| s["endpoints"].as_array().into_iter().flatten())
                .filter(|e| e["conditions"]["ready"] != false)
                .filter_map(|e| e["targetRef"]["name"].as_str())
                .collect();
            want.sort();
            have.sort();
            if want != have {
                return Some(format!(
                    "service {name}: ready endpoints {have:?}, ready pods {want:?}"
                ));
            }
        }
        None
    }
}

impl Drop for RealCluster {
    fn drop(&mut self) {
        // Nothing waits for it: the namespace's pods stop taking the controllers' time.
        let _ = Command::new("kubectl")
            .arg("--kubeconfig")
            .arg(&self.kubeconfig)
            .args(["delete", "namespace", &self.namespace, "--wait=false"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

impl Cluster for RealCluster {
    fn backend(&self) -> &'static str {
        "real"
    }

    fn kubeconfig_path(&self) -> &Path {
        &self.kubeconfig
    }

    fn namespace(&self) -> &str {
        &self.namespace
    }

    fn load_yaml(&self, text: &str) {
        self.kubectl_create(text);
    }

    fn get_json(&self, kind: &str, name: &str) -> Option<Value> {
        let text = self.kubectl_ok(&["get", kind, name, "-o", "json", "--ignore-not-found"]);
        if text.trim().is_empty() {
            None
        } else {
            Some(serde_json::from_str(&text).expect("kubectl prints JSON"))
        }
    }

    fn list_json(&self, kind: &str) -> Vec<Value> {
        self.items(&["get", kind, "-o", "json"])
    }

    fn wait_settled(&self) {
        let started = Instant::now();
        loop {
            match self.unsettled() {
                None => return,
                Some(what) if started.elapsed() > SETTLE_LIMIT => {
                    panic!("real: not settled within {SETTLE_LIMIT:?}: {what}")
                }
                Some(_) => std::thread::sleep(Duration::from_millis(250)),
            }
        }
    }

    fn user_kubeconfig(&self, role: &str) -> PathBuf {
        let mut doc: serde_yaml::Value = serde_yaml::from_str(role).expect("the Role is YAML");
        doc["metadata"]["namespace"] = serde_yaml::Value::from(self.namespace.as_str());
        let name = doc["metadata"]["name"]
            .as_str()
            .expect("a name")
            .to_string();
        let binding = format!(
            "apiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata: {{name: {name}, namespace: {ns}}}\n\
             roleRef: {{apiGroup: rbac.authorization.k8s.io, kind: Role, name: {name}}}\n\
             subjects: [{{apiGroup: rbac.authorization.k8s.io, kind: User, name: {user}}}]\n",
            ns = self.namespace,
            user = control_plane::DEVELOPER_USER,
        );
        let manifest = format!(
            "{}---\n{binding}",
            serde_yaml::to_string(&doc).expect("YAML")
        );
        self.kubectl_apply(&manifest);
        let path = self.dir.path().join("user-kubeconfig");
        write_kubeconfig(plane().user_kubeconfig_path(), &path, &self.namespace);
        path
    }

    fn cluster_ms(&self, wall_ms: u64) -> u64 {
        wall_ms
    }

    fn assert_no_mutation(&self) {
        // No request log here: scenarios compare a [`Snapshot`] instead.
    }
}

// ---------------------------------------------------------------------------------------------
// Helpers on either back-end

/// Waits until `check` holds, or fails after `limit`.
#[track_caller]
pub fn eventually(limit: Duration, what: &str, mut check: impl FnMut() -> bool) {
    let started = Instant::now();
    while !check() {
        if started.elapsed() > limit {
            panic!("not reached within {limit:?}: {what}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Whether a pod's Ready condition is True and it is not terminating.
pub fn pod_ready(pod: &Value) -> bool {
    pod["metadata"]["deletionTimestamp"].is_null()
        && pod["status"]["conditions"].as_array().is_some_and(|cs| {
            cs.iter()
                .any(|c| c["type"] == "Ready" && c["status"] == "True")
        })
}

/// A pod that stays unready on purpose (the behaviour annotations).
fn stuck(pod: &Value) -> bool {
    let a = &pod["metadata"]["annotations"];
    let key = |k: &str| a[format!("sandbox.bluegreen.dev/{k}")].as_str();
    key("never-ready") == Some("true")
        || key("crash-loop") == Some("true")
        || key("unready-after-ms").is_some()
        || key("ready-after-ms")
            .and_then(|v| v.parse::<u64>().ok())
            .is_some_and(|ms| ms > 1000)
}

/// Whether every label of `selector` (a map) is on the pod.
fn selects(selector: &Value, pod: &Value) -> bool {
    selector.as_object().is_some_and(|m| {
        !m.is_empty()
            && m.iter()
                .all(|(k, v)| &pod["metadata"]["labels"][k.as_str()] == v)
    })
}

/// A Deployment's `spec.replicas`, `None` when it does not exist.
pub fn replicas(c: &dyn Cluster, name: &str) -> Option<i64> {
    c.get_json("deployments", name)
        .map(|d| d["spec"]["replicas"].as_i64().unwrap_or(1))
}

/// The value of `key` in a Service's selector ("" when missing).
pub fn selected(c: &dyn Cluster, service: &str, key: &str) -> String {
    c.get_json("services", service)
        .and_then(|s| s["spec"]["selector"][key].as_str().map(str::to_string))
        .unwrap_or_default()
}

/// One journal entry (`bluegreen.dev/KEY`) of a Service.
pub fn journal(c: &dyn Cluster, service: &str, key: &str) -> Option<String> {
    c.get_json("services", service).and_then(|s| {
        s["metadata"]["annotations"][format!("bluegreen.dev/{key}")]
            .as_str()
            .map(str::to_string)
    })
}

/// The reasons of the Events recorded on a Service.
pub fn event_reasons(c: &dyn Cluster, service: &str) -> Vec<String> {
    c.list_json("events")
        .iter()
        .filter(|e| {
            e["involvedObject"]["kind"] == "Service" && e["involvedObject"]["name"] == service
        })
        .filter_map(|e| e["reason"].as_str().map(str::to_string))
        .collect()
}

/// Pods of a colour (label `app`) that are Ready and not terminating.
pub fn serving_pods(c: &dyn Cluster, app: &str) -> usize {
    c.list_json("pods")
        .iter()
        .filter(|p| p["metadata"]["labels"]["app"] == app && pod_ready(p))
        .count()
}

/// Ready addresses in a Service's EndpointSlices.
pub fn ready_endpoints(c: &dyn Cluster, service: &str) -> usize {
    c.list_json("endpointslices")
        .iter()
        .filter(|s| s["metadata"]["labels"]["kubernetes.io/service-name"] == service)
        .flat_map(|s| s["endpoints"].as_array().cloned().unwrap_or_default())
        .filter(|e| e["conditions"]["ready"] != false)
        .count()
}

/// Versions of the Services and Deployments of the namespace: what a change would move
/// (Services' resourceVersion; Deployments' generation, which status updates leave alone).
#[derive(Debug, PartialEq, Eq)]
pub struct Snapshot(Vec<(String, String)>);

impl Snapshot {
    /// The versions now; on the sandbox the request log starts again here.
    pub fn take(c: &dyn Cluster) -> Snapshot {
        let snapshot = Snapshot::read(c);
        c.forget_requests();
        snapshot
    }

    fn read(c: &dyn Cluster) -> Snapshot {
        let mut v = Vec::new();
        for s in c.list_json("services") {
            v.push((
                format!("service {}", s["metadata"]["name"]),
                s["metadata"]["resourceVersion"].to_string(),
            ));
        }
        for d in c.list_json("deployments") {
            v.push((
                format!("deployment {}", d["metadata"]["name"]),
                d["metadata"]["generation"].to_string(),
            ));
        }
        v.sort();
        Snapshot(v)
    }

    /// Fails when anything changed since, and on the sandbox also when a request that changes
    /// anything was sent.
    #[track_caller]
    pub fn assert_unchanged(&self, c: &dyn Cluster) {
        c.assert_no_mutation();
        assert_eq!(
            &Snapshot::read(c),
            self,
            "{}: the Services and Deployments changed",
            c.backend()
        );
    }
}

/// Generates, for each scenario `fn NAME(c: &dyn Cluster)`, a module `NAME` with the tests
/// `sandbox` and `real` (the latter ignored unless `--include-ignored`).
#[macro_export]
macro_rules! both_backends {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[test]
                fn sandbox() {
                    let c = $crate::backends::sandbox();
                    super::$name(&c);
                }

                #[test]
                #[ignore = "real control plane: tests/control-plane/build.sh, then cargo test -- --include-ignored"]
                fn real() {
                    let c = $crate::backends::real(stringify!($name));
                    super::$name(&c);
                }
            }
        )*
    };
}
