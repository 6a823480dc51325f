//! An in-memory Kubernetes API server with the controllers blue/green releases depend on.
//!
//! Test infrastructure and a demo, never part of the shipped plugin. Start one with
//! [`Sandbox::start`]; dropping the handle stops it.
//!
//! ```no_run
//! let sb = sandbox::Sandbox::start(sandbox::Options::default().scenario("classic")).unwrap();
//! println!("export KUBECONFIG={}", sb.kubeconfig_path().display());
//! ```

// `ApiError` mirrors a whole `Status` object; boxing it would only add noise to test code.
#![allow(clippy::result_large_err)]

pub mod clock;
pub mod controllers;
pub mod defaults;
pub mod discovery;
pub mod error;
pub mod faults;
pub mod fields;
pub mod kubeconfig;
pub mod openapi;
pub mod patch;
pub mod rbac;
pub mod requestlog;
pub mod resources;
pub mod scenarios;
pub mod selector;
pub mod server;
pub mod store;
pub mod table;
pub mod tls;
pub mod validate;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use serde_json::Value;

pub use self::faults::{FaultAction, FaultRule, Faults};
pub use clock::Clock;
pub use controllers::ControllerConfig;
pub use error::ApiError;
pub use rbac::{Policy, PolicyRule};
pub use requestlog::LoggedRequest;
pub use store::Store;

/// How to start a sandbox.
#[derive(Debug, Clone)]
pub struct Options {
    /// Clock speed: delays are divided by this (1.0 = real time).
    pub speed: f64,
    /// Endpoints/EndpointSlice propagation delay, in cluster time.
    pub endpoint_delay: Duration,
    /// Events kept for watch resumption; older resourceVersions get 410 Gone.
    pub history_limit: usize,
    /// Scenario to load at start.
    pub scenario: Option<String>,
    /// Where to write the kubeconfig; a temporary directory owned by the handle if `None`.
    pub kubeconfig_dir: Option<PathBuf>,
    /// Port to listen on (0 = a free one).
    pub port: u16,
    /// Exact kubeconfig file to write; overrides `kubeconfig_dir`.
    pub kubeconfig_file: Option<PathBuf>,
    /// Run the controllers (default). Without them the sandbox is a bare API server: nothing
    /// reacts to objects, which isolates API semantics in tests.
    pub controllers: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            speed: 1.0,
            endpoint_delay: Duration::from_millis(200),
            history_limit: 100_000,
            scenario: None,
            kubeconfig_dir: None,
            port: 0,
            kubeconfig_file: None,
            controllers: true,
        }
    }
}

impl Options {
    pub fn scenario(mut self, name: &str) -> Self {
        self.scenario = Some(name.to_string());
        self
    }
    pub fn speed(mut self, speed: f64) -> Self {
        self.speed = speed;
        self
    }
    pub fn port(mut self, port: u16) -> Self {
        self.port = port;
        self
    }
    pub fn kubeconfig_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.kubeconfig_file = Some(path.into());
        self
    }
    /// A bare API server: no controllers, no kubelet stand-in.
    pub fn without_controllers(mut self) -> Self {
        self.controllers = false;
        self
    }
    pub fn endpoint_delay(mut self, d: Duration) -> Self {
        self.endpoint_delay = d;
        self
    }
}

/// How long [`Sandbox::load_scenario`] waits for the controllers to settle.
const SETTLE_TIMEOUT: Duration = Duration::from_secs(120);

/// Namespaces every sandbox starts with.
pub const NAMESPACES: &[&str] = &["default", "kube-system", "kube-public", "staging"];

/// A running sandbox. Dropping it stops the server and its controllers.
pub struct Sandbox {
    store: Arc<Store>,
    clock: Clock,
    config: Arc<Mutex<ControllerConfig>>,
    kubeconfig_path: PathBuf,
    base_url: String,
    token: String,
    ca_pem: String,
    log: Arc<requestlog::RequestLog>,
    faults: Arc<Faults>,
    policy: Arc<RwLock<Policy>>,
    controllers: bool,
    _tempdir: Option<TempDir>,
    runtime: Option<tokio::runtime::Runtime>,
}

impl Sandbox {
    /// Starts a sandbox on 127.0.0.1 on its own runtime thread and returns once it serves.
    pub fn start(opts: Options) -> Result<Sandbox, String> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .thread_name("sandbox")
            .build()
            .map_err(|e| format!("cannot start the sandbox runtime: {e}"))?;
        let store = Store::new(opts.history_limit);
        for ns in NAMESPACES {
            store
                .create(
                    &resources::NAMESPACES,
                    "",
                    serde_json::json!({"metadata": {"name": ns}, "status": {"phase": "Active"}}),
                    store::CreateOpts {
                        dry_run: false,
                        keep_status: true,
                    },
                )
                .map_err(|e| e.to_string())?;
        }
        let clock = Clock::new(opts.speed);
        // The controllers own ControllerConfig and add settings to it over time.
        let config = Arc::new(Mutex::new(ControllerConfig {
            endpoint_delay: opts.endpoint_delay,
            ..ControllerConfig::default()
        }));
        let tls = tls::generate()?;
        let token = store::random_suffix(40);
        // Bound with std so that starting a sandbox from inside an async test works (no
        // `block_on` on the caller's thread).
        let listener = std::net::TcpListener::bind(("127.0.0.1", opts.port))
            .map_err(|e| format!("cannot listen on 127.0.0.1:{}: {e}", opts.port))?;
        listener
            .set_nonblocking(true)
            .map_err(|e| format!("cannot configure the listener: {e}"))?;
        let port = listener
            .local_addr()
            .map_err(|e| format!("cannot read the listening address: {e}"))?
            .port();
        let base_url = format!("https://127.0.0.1:{port}");
        let log = Arc::new(requestlog::RequestLog::default());
        let faults = Arc::new(Faults::default());
        let policy = Arc::new(RwLock::new(Policy::AllowAll));
        let state = Arc::new(server::State {
            store: store.clone(),
            token: token.clone(),
            log: log.clone(),
            faults: faults.clone(),
            policy: policy.clone(),
            applied: Mutex::new(std::collections::HashMap::new()),
        });
        {
            let _guard = runtime.enter();
            let listener = tokio::net::TcpListener::from_std(listener)
                .map_err(|e| format!("cannot listen: {e}"))?;
            tokio::spawn(server::serve(listener, tls.config.clone(), state));
            if opts.controllers {
                controllers::spawn(store.clone(), clock.clone(), config.clone());
            }
        }
        let (tempdir, dir) = match &opts.kubeconfig_dir {
            Some(d) => (None, d.clone()),
            None => {
                let t = TempDir::new()?;
                let p = t.path().to_path_buf();
                (Some(t), p)
            }
        };
        let kubeconfig_path = opts
            .kubeconfig_file
            .clone()
            .unwrap_or_else(|| dir.join("kubeconfig"));
        kubeconfig::write(&kubeconfig_path, &base_url, &tls.ca_pem, &token)?;
        let sb = Sandbox {
            store,
            clock,
            config,
            kubeconfig_path,
            base_url,
            token,
            ca_pem: tls.ca_pem,
            log,
            faults,
            policy,
            controllers: opts.controllers,
            _tempdir: tempdir,
            runtime: Some(runtime),
        };
        if let Some(name) = &opts.scenario {
            sb.load_scenario(name)?;
        }
        Ok(sb)
    }

    /// The kubeconfig file that reaches this sandbox.
    pub fn kubeconfig_path(&self) -> &Path {
        &self.kubeconfig_path
    }

    /// `https://127.0.0.1:{port}`.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The bearer token the server accepts.
    pub fn token(&self) -> &str {
        &self.token
    }

    /// The CA certificate (PEM) the server's certificate is signed by.
    pub fn ca_pem(&self) -> &str {
        &self.ca_pem
    }

    /// Every request received so far, in arrival order.
    pub fn requests(&self) -> Vec<LoggedRequest> {
        self.log.snapshot()
    }

    /// Forgets the requests received so far.
    pub fn clear_requests(&self) {
        self.log.clear()
    }

    /// The fault controls: failing, hanging or dropped requests, dropped watches, latency.
    pub fn faults(&self) -> &Faults {
        &self.faults
    }

    /// Replaces the authorization policy of the sandbox's token (default: allow all).
    pub fn set_policy(&self, policy: Policy) {
        match self.policy.write() {
            Ok(mut p) => *p = policy,
            Err(e) => *e.into_inner() = policy,
        }
    }

    pub fn store(&self) -> &Arc<Store> {
        &self.store
    }

    pub fn clock(&self) -> &Clock {
        &self.clock
    }

    /// Changes the Endpoints propagation delay (cluster time) while running.
    pub fn set_endpoint_delay(&self, d: Duration) {
        match self.config.lock() {
            Ok(mut c) => c.endpoint_delay = d,
            Err(e) => e.into_inner().endpoint_delay = d,
        }
    }

    /// Loads a built-in scenario (see [`scenarios::NAMES`]) and waits until the controllers
    /// have settled it (every Deployment rolled out as far as it can, Endpoints in sync).
    pub fn load_scenario(&self, name: &str) -> Result<(), String> {
        scenarios::load(&self.store, name)?;
        if !self.controllers {
            // Nothing would ever settle it.
            return Ok(());
        }
        self.wait_settled(SETTLE_TIMEOUT)
            .map_err(|e| format!("scenario {name:?}: {e}"))
    }

    /// Waits (wall-clock, at most `timeout`) until [`controllers::settled`] holds.
    pub fn wait_settled(&self, timeout: Duration) -> Result<(), String> {
        let deadline = std::time::Instant::now() + timeout;
        loop {
            if controllers::settled(&self.store) {
                return Ok(());
            }
            if std::time::Instant::now() >= deadline {
                return Err(format!(
                    "the controllers did not settle within {timeout:?} (wall-clock)"
                ));
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Freezes (`true`) or resumes Endpoints/EndpointSlice updates: pod and Service changes
    /// stop reaching the endpoints until resumed, as when the endpoints controller lags.
    pub fn pause_endpoints(&self, paused: bool) {
        match self.config.lock() {
            Ok(mut c) => c.endpoints_paused = paused,
            Err(e) => e.into_inner().endpoints_paused = paused,
        }
    }

    /// The controllers' settings (propagation delay, pause).
    pub fn controller_config(&self) -> ControllerConfig {
        match self.config.lock() {
            Ok(c) => c.clone(),
            Err(e) => e.into_inner().clone(),
        }
    }

    /// Creates every object of a YAML or JSON manifest (several documents allowed), in the
    /// namespace each names, else `default`.
    pub fn load_yaml(&self, text: &str) -> Result<Vec<Value>, String> {
        let mut created = Vec::new();
        for doc in serde_yaml::Deserializer::from_str(text) {
            let v: Value = serde::Deserialize::deserialize(doc).map_err(|e| e.to_string())?;
            if v.is_null() {
                continue;
            }
            let items = if v["kind"] == "List" {
                v["items"].as_array().cloned().unwrap_or_default()
            } else {
                vec![v]
            };
            for obj in items {
                let rt = resources::by_kind(
                    obj["apiVersion"].as_str().unwrap_or(""),
                    obj["kind"].as_str().unwrap_or(""),
                )
                .ok_or_else(|| format!("unsupported kind {} {}", obj["apiVersion"], obj["kind"]))?;
                let ns = obj["metadata"]["namespace"]
                    .as_str()
                    .unwrap_or("default")
                    .to_string();
                created.push(
                    self.store
                        .create(rt, &ns, obj, store::CreateOpts::default())
                        .map_err(|e| e.to_string())?,
                );
            }
        }
        Ok(created)
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_background();
        }
    }
}

/// A directory removed when dropped (kept tiny to avoid a dependency).
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> Result<TempDir, String> {
        let p = std::env::temp_dir().join(format!(
            "bluegreen-sandbox-{}-{}",
            std::process::id(),
            store::random_suffix(8)
        ));
        std::fs::create_dir_all(&p).map_err(|e| format!("cannot create {}: {e}", p.display()))?;
        Ok(TempDir(p))
    }
    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_handle_can_be_shared_between_threads() {
        fn shareable<T: Send + Sync>() {}
        shareable::<super::Sandbox>();
    }
}
