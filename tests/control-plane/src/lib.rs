//! A real Kubernetes control plane for tests: etcd, kube-apiserver, kube-controller-manager,
//! kube-scheduler and kwok (which plays the kubelets of three fake nodes), built from pinned Go
//! modules by `tests/control-plane/build.sh` and run as plain processes on 127.0.0.1.
//!
//! ```no_run
//! let cp = control_plane::ControlPlane::start()?;
//! let out = cp.kubectl().args(["get", "nodes"]).output()?;
//! assert!(out.status.success());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Everything lives in a temporary directory and stops when the handle is dropped. The servers
//! also stop when the test process dies without dropping it (panic=abort, SIGKILL): each runs
//! under a supervisor that watches a pipe only the test process holds (see `process.rs`).
//!
//! Pods behave according to the same `sandbox.bluegreen.dev/*` annotations as in the in-memory
//! sandbox, through kwok Stages ([`STAGES`]); see the README for the mapping.

mod kubeconfig;
mod pki;
mod process;
pub mod proxy;
mod start;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

pub use kubeconfig::{ADMIN_USER, CLUSTER, CONTEXT, DEVELOPER_USER, STAGING_CONTEXT};
pub use pki::{ADMIN_USER as ADMIN_CERT_CN, DEVELOPER_USER as DEVELOPER_CERT_CN};

pub use proxy::{FaultAction, FaultRule, Proxy, ProxyRequest};

use process::Server;

/// The pinned versions file that `build.sh` reads (bash syntax).
pub const VERSIONS_ENV: &str = include_str!("../versions.env");
/// The kwok Stage configuration that turns the behaviour annotations into pod status.
pub const STAGES: &str = include_str!("stages.yaml");
/// The environment variable naming the build output directory (its `bin/` holds the binaries);
/// default `<repo>/target/control-plane`. `build.sh` honours it too.
pub const DIR_ENV: &str = "BLUEGREEN_CONTROL_PLANE_DIR";
/// Set to `1` to make [`ControlPlane::start`] run `build.sh` when the binaries are missing or
/// were built from other pins.
pub const BUILD_ENV: &str = "BLUEGREEN_BUILD_CONTROL_PLANE";
/// How long [`ControlPlane::start`] waits, in all, for the control plane to be ready.
pub const START_TIMEOUT: Duration = Duration::from_secs(120);

/// How often [`ControlPlane::start`] tries when a port it picked was taken meanwhile.
const START_ATTEMPTS: u32 = 3;

/// The binaries `build.sh` produces.
pub const BINARIES: [&str; 5] = [
    "etcd",
    "kube-apiserver",
    "kube-controller-manager",
    "kube-scheduler",
    "kwok",
];

/// Why the control plane could not be started.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Binaries missing or built from other pins.
    #[error(
        "the control-plane binaries are not built: {reason} (in {}). Run `tests/control-plane/build.sh` (needs Go 1.26), or set {BUILD_ENV}=1 to build them on demand",
        dir.display()
    )]
    NotBuilt { dir: PathBuf, reason: String },
    /// `build.sh` failed (with [`BUILD_ENV`] set).
    #[error("tests/control-plane/build.sh failed: {0}")]
    Build(String),
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot generate the control plane's certificates: {0}")]
    Pki(String),
    #[error("cannot start {component}: {message}")]
    Spawn {
        component: &'static str,
        message: String,
    },
    /// A server exited during start-up.
    #[error("{component} exited during start-up ({status}); last lines of {}:\n{log_tail}", log.display())]
    Exited {
        component: &'static str,
        status: String,
        log: PathBuf,
        log_tail: String,
    },
    /// A readiness condition was not met in time.
    #[error("timed out after {}s waiting for {what}; last error: {last_error}; last lines of {}:\n{log_tail}", waited.as_secs(), log.display())]
    Timeout {
        what: String,
        waited: Duration,
        last_error: String,
        log: PathBuf,
        log_tail: String,
    },
    /// A client request failed in a way retrying does not fix.
    #[error("{0}")]
    Client(String),
}

impl Error {
    pub(crate) fn io(path: &Path, source: std::io::Error) -> Error {
        Error::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}

/// The pinned version of `name` (`KUBERNETES`, `ETCD`, `KWOK`) from [`VERSIONS_ENV`].
pub fn pinned_version(name: &str) -> Option<&'static str> {
    let key = format!("{name}_VERSION=");
    VERSIONS_ENV
        .lines()
        .find_map(|l| l.trim().strip_prefix(key.as_str()))
        .map(str::trim)
}

/// The pinned Kubernetes version, e.g. `v1.35.4`: what `/version` reports.
pub fn kubernetes_version() -> &'static str {
    pinned_version("KUBERNETES").unwrap_or("unknown")
}

fn repo_root() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    std::fs::canonicalize(&root).unwrap_or(root)
}

/// The build output directory: `$BLUEGREEN_CONTROL_PLANE_DIR`, else `<repo>/target/control-plane`.
pub fn build_dir() -> PathBuf {
    match std::env::var_os(DIR_ENV) {
        Some(d) if !d.is_empty() => PathBuf::from(d),
        _ => repo_root().join("target/control-plane"),
    }
}

/// Where the binaries are: `build_dir()/bin`.
pub fn bin_dir() -> PathBuf {
    build_dir().join("bin")
}

/// Checks that every binary is there and that the stamp matches the pins.
fn check_built() -> Result<PathBuf, Error> {
    let dir = bin_dir();
    let missing: Vec<&str> = BINARIES
        .iter()
        .copied()
        .filter(|b| !dir.join(b).is_file())
        .collect();
    if !missing.is_empty() {
        return Err(Error::NotBuilt {
            dir,
            reason: format!("missing {}", missing.join(", ")),
        });
    }
    let stamp = std::fs::read_to_string(build_dir().join("stamp")).unwrap_or_default();
    for (name, key) in [
        ("KUBERNETES", "kubernetes"),
        ("ETCD", "etcd"),
        ("KWOK", "kwok"),
    ] {
        let want = pinned_version(name).unwrap_or_default();
        let line = format!("{key}={want}");
        if !stamp.lines().any(|l| l == line) {
            return Err(Error::NotBuilt {
                dir,
                reason: format!("built from other pins than versions.env ({key} {want} wanted)"),
            });
        }
    }
    Ok(dir)
}

/// Finds the binaries, building them first when [`BUILD_ENV`] is `1`.
pub fn ensure_built() -> Result<PathBuf, Error> {
    match check_built() {
        Ok(dir) => Ok(dir),
        Err(e) if std::env::var(BUILD_ENV).as_deref() == Ok("1") => {
            let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("build.sh");
            let status = Command::new("bash").arg(&script).status().map_err(|io| {
                Error::Build(format!(
                    "cannot run bash {}: {io} (before: {e})",
                    script.display()
                ))
            })?;
            if !status.success() {
                return Err(Error::Build(format!("{status}")));
            }
            check_built()
        }
        Err(e) => Err(e),
    }
}

/// A running control plane. Dropping it stops every process and removes its directory.
pub struct ControlPlane {
    // Stopped explicitly in `Drop`, before `dir` goes.
    servers: Vec<Server>,
    kubeconfig: PathBuf,
    user_kubeconfig: PathBuf,
    server_url: String,
    version: String,
    ca_pem: String,
    startup: Duration,
    dir: tempfile::TempDir,
}

impl ControlPlane {
    /// Starts etcd, kube-apiserver, kube-controller-manager, kube-scheduler and kwok on free
    /// ports of 127.0.0.1, creates namespace `staging` and three fake nodes, and returns once the
    /// API server is ready, the `default` ServiceAccount exists and the nodes are Ready. Waits
    /// at most [`START_TIMEOUT`]; on failure the error names the component and quotes the end
    /// of its log. Synchronous; may be called from inside a tokio runtime (the waiting runs
    /// on a thread of its own).
    pub fn start() -> Result<ControlPlane, Error> {
        let bin = ensure_built()?;
        let t0 = Instant::now();
        let mut attempt = 1;
        loop {
            let bin = bin.clone();
            let handle = std::thread::Builder::new()
                .name("control-plane-start".into())
                .spawn(move || start::start(&bin))
                .map_err(|e| Error::Spawn {
                    component: "start thread",
                    message: e.to_string(),
                })?;
            let result = handle
                .join()
                .map_err(|_| Error::Client("the start-up thread panicked".into()))?;
            match result {
                Ok(mut cp) => {
                    cp.startup = t0.elapsed();
                    return Ok(cp);
                }
                // A free port picked for a server was taken by another process before the
                // server bound it: start again with new ports.
                Err(Error::Exited { ref log_tail, .. })
                    if attempt < START_ATTEMPTS && log_tail.contains("address already in use") =>
                {
                    attempt += 1;
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Admin kubeconfig (user [`ADMIN_USER`], certificate in group `system:masters`); contexts
    /// [`CONTEXT`] (current, namespace `default`) and [`STAGING_CONTEXT`] (namespace `staging`).
    pub fn kubeconfig_path(&self) -> &Path {
        &self.kubeconfig
    }

    /// Kubeconfig of the non-admin user [`DEVELOPER_USER`] (certificate CN `developer`, no
    /// group: RBAC allows it only what every authenticated user may do). Same contexts.
    pub fn user_kubeconfig_path(&self) -> &Path {
        &self.user_kubeconfig
    }

    /// `https://127.0.0.1:PORT`.
    pub fn server_url(&self) -> &str {
        &self.server_url
    }

    /// The `gitVersion` the API server reported at start-up, e.g. `v1.35.4`.
    pub fn version(&self) -> &str {
        &self.version
    }

    /// The cluster CA certificate (PEM).
    pub fn ca_pem(&self) -> &str {
        &self.ca_pem
    }

    /// The temporary directory with data, certificates, kubeconfigs and `logs/<component>.log`.
    pub fn data_dir(&self) -> &Path {
        self.dir.path()
    }

    /// How long [`ControlPlane::start`] took.
    pub fn startup_time(&self) -> Duration {
        self.startup
    }

    /// The log file of `component` (`etcd`, `kube-apiserver`, `kube-controller-manager`,
    /// `kube-scheduler`, `kwok`).
    pub fn log_path(&self, component: &str) -> PathBuf {
        self.dir
            .path()
            .join("logs")
            .join(format!("{component}.log"))
    }

    /// A fault-injecting proxy in front of this control plane's API server (see [`proxy`]).
    pub fn proxy(&self) -> Result<Proxy, Error> {
        Proxy::start(self)
    }

    /// `kubectl` (from PATH) with `KUBECONFIG` set to the admin kubeconfig.
    pub fn kubectl(&self) -> Command {
        let mut c = Command::new("kubectl");
        c.env("KUBECONFIG", &self.kubeconfig);
        c
    }

    /// `kubectl` (from PATH) with `KUBECONFIG` set to the non-admin user's kubeconfig.
    pub fn user_kubectl(&self) -> Command {
        let mut c = Command::new("kubectl");
        c.env("KUBECONFIG", &self.user_kubeconfig);
        c
    }
}

impl Drop for ControlPlane {
    fn drop(&mut self) {
        stop_all(&mut self.servers);
    }
}

/// Stops servers: the last started first told, all waited for within one bounded deadline.
pub(crate) fn stop_all(servers: &mut Vec<Server>) {
    for s in servers.iter_mut().rev() {
        s.request_stop();
    }
    let deadline = Instant::now() + Duration::from_secs(8);
    for s in servers.iter_mut().rev() {
        s.wait_stopped(deadline);
    }
    servers.clear();
}

/// Writes a file readable only by its owner.
pub(crate) fn write_private(path: &Path, text: &str) -> Result<(), Error> {
    std::fs::write(path, text).map_err(|e| Error::io(path, e))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600));
    }
    Ok(())
}
