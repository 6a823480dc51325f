//! The start-up sequence: PKI, kubeconfigs, processes, and the bounded waits for readiness.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::{Namespace, Node, ServiceAccount};
use kube::api::{Api, PostParams};
use serde_json::json;

use crate::process::Server;
use crate::{ControlPlane, Error, START_TIMEOUT, kubeconfig, pki};

/// Pod network, split by the controller-manager into one /24 per node (kwok gives pods IPs
/// from their node's range).
pub(crate) const CLUSTER_CIDR: &str = "10.244.0.0/16";
/// Service network. Only used for ClusterIP allocation; nothing is ever sent there.
pub(crate) const SERVICE_CIDR: &str = "10.96.0.0/16";
/// The first address of the service network: the `kubernetes` Service's ClusterIP.
const SERVICE_IP: &str = "10.96.0.1";
/// Fake nodes created at start, each managed by kwok.
pub(crate) const NODES: [&str; 3] = ["kwok-node-1", "kwok-node-2", "kwok-node-3"];

/// Servers started so far, stopped if the start-up fails half-way.
struct Servers(Vec<Server>);

impl Drop for Servers {
    fn drop(&mut self) {
        crate::stop_all(&mut self.0);
    }
}

impl Servers {
    /// An error if any server has exited.
    fn check(&mut self) -> Result<(), Error> {
        for s in &mut self.0 {
            if let Some(status) = s.exited() {
                return Err(Error::Exited {
                    component: s.name,
                    status: status.to_string(),
                    log: s.log.clone(),
                    log_tail: s.log_tail(30),
                });
            }
        }
        Ok(())
    }

    fn log_of(&self, name: &str) -> (PathBuf, String) {
        self.0
            .iter()
            .find(|s| s.name == name)
            .map(|s| (s.log.clone(), s.log_tail(30)))
            .unwrap_or_default()
    }
}

fn free_port() -> Result<u16, Error> {
    let l = TcpListener::bind("127.0.0.1:0").map_err(|e| Error::io(Path::new("127.0.0.1:0"), e))?;
    l.local_addr()
        .map(|a| a.port())
        .map_err(|e| Error::io(Path::new("127.0.0.1:0"), e))
}

fn path_arg(flag: &str, p: &Path) -> String {
    format!("--{flag}={}", p.display())
}

/// Polls `check` every 100 ms until it returns `Ok(Some(_))`, a server exits, or the deadline
/// passes; `component` names the log quoted on timeout.
async fn wait_for<T, F, Fut>(
    servers: &mut Servers,
    deadline: Instant,
    started: Instant,
    what: &str,
    component: &str,
    mut check: F,
) -> Result<T, Error>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Option<T>, String>>,
{
    let mut last_error = String::from("(none)");
    loop {
        servers.check()?;
        match check().await {
            Ok(Some(v)) => return Ok(v),
            Ok(None) => {}
            Err(e) => last_error = e,
        }
        if Instant::now() >= deadline {
            let (log, log_tail) = servers.log_of(component);
            return Err(Error::Timeout {
                what: what.to_string(),
                waited: started.elapsed(),
                last_error,
                log,
                log_tail,
            });
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

pub(crate) fn start(bin: &Path) -> Result<ControlPlane, Error> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Client(format!("cannot build a tokio runtime: {e}")))?;
    rt.block_on(start_async(bin))
}

async fn start_async(bin: &Path) -> Result<ControlPlane, Error> {
    let started = Instant::now();
    let deadline = started + START_TIMEOUT;
    let dir = tempfile::Builder::new()
        .prefix("bluegreen-control-plane-")
        .tempdir()
        .map_err(|e| Error::io(&std::env::temp_dir(), e))?;
    let root = dir.path().to_path_buf();
    let logs = root.join("logs");
    std::fs::create_dir_all(&logs).map_err(|e| Error::io(&logs, e))?;

    let pki = pki::generate(&root.join("pki"), SERVICE_IP)?;
    let (etcd_client, etcd_peer, apiserver_port) = (free_port()?, free_port()?, free_port()?);
    let server_url = format!("https://127.0.0.1:{apiserver_port}");

    let kubeconfig = root.join("admin.kubeconfig");
    crate::write_private(
        &kubeconfig,
        &kubeconfig::render(
            &server_url,
            &pki.ca.cert_pem,
            kubeconfig::ADMIN_USER,
            &pki.admin.cert_pem,
            &pki.admin.key_pem,
        ),
    )?;
    let user_kubeconfig = root.join("developer.kubeconfig");
    crate::write_private(
        &user_kubeconfig,
        &kubeconfig::render(
            &server_url,
            &pki.ca.cert_pem,
            kubeconfig::DEVELOPER_USER,
            &pki.developer.cert_pem,
            &pki.developer.key_pem,
        ),
    )?;
    let stages = root.join("kwok-stages.yaml");
    crate::write_private(&stages, crate::STAGES)?;

    let mut servers = Servers(Vec::new());
    let log = |name: &str| logs.join(format!("{name}.log"));

    // etcd: plain HTTP on loopback, fsync off (the data dies with the test anyway).
    let etcd_url = format!("http://127.0.0.1:{etcd_client}");
    let peer_url = format!("http://127.0.0.1:{etcd_peer}");
    servers.0.push(Server::spawn(
        "etcd",
        &bin.join("etcd"),
        &[
            "--name=default".into(),
            path_arg("data-dir", &root.join("etcd")),
            format!("--listen-client-urls={etcd_url}"),
            format!("--advertise-client-urls={etcd_url}"),
            format!("--listen-peer-urls={peer_url}"),
            format!("--initial-advertise-peer-urls={peer_url}"),
            format!("--initial-cluster=default={peer_url}"),
            "--initial-cluster-state=new".into(),
            "--unsafe-no-fsync=true".into(),
            "--log-level=warn".into(),
        ],
        log("etcd"),
    )?);

    let sa_key = &pki.service_account_key_file;
    servers.0.push(Server::spawn(
        "kube-apiserver",
        &bin.join("kube-apiserver"),
        &[
            format!("--etcd-servers={etcd_url}"),
            "--bind-address=127.0.0.1".into(),
            "--advertise-address=127.0.0.1".into(),
            format!("--secure-port={apiserver_port}"),
            path_arg("cert-dir", &root.join("apiserver")),
            path_arg("tls-cert-file", &pki.apiserver.cert_file),
            path_arg("tls-private-key-file", &pki.apiserver.key_file),
            path_arg("client-ca-file", &pki.ca.cert_file),
            path_arg("service-account-key-file", &pki.service_account_pub_file),
            path_arg("service-account-signing-key-file", sa_key),
            "--service-account-issuer=https://kubernetes.default.svc.cluster.local".into(),
            format!("--service-cluster-ip-range={SERVICE_CIDR}"),
            "--authorization-mode=Node,RBAC".into(),
            // The `kubernetes` Service would point at 127.0.0.1, which Endpoints reject.
            "--endpoint-reconciler-type=none".into(),
            "--profiling=false".into(),
        ],
        log("kube-apiserver"),
    )?);

    let kc = kube::config::Kubeconfig::read_from(&kubeconfig)
        .map_err(|e| Error::Client(format!("cannot read {}: {e}", kubeconfig.display())))?;
    let config = kube::Config::from_custom_kubeconfig(kc, &Default::default())
        .await
        .map_err(|e| Error::Client(format!("cannot load {}: {e}", kubeconfig.display())))?;
    let client = kube::Client::try_from(config)
        .map_err(|e| Error::Client(format!("cannot build a client: {e}")))?;

    wait_for(
        &mut servers,
        deadline,
        started,
        "kube-apiserver /readyz",
        "kube-apiserver",
        || {
            let client = client.clone();
            async move {
                let req = http::Request::get("/readyz")
                    .body(Vec::new())
                    .map_err(|e| e.to_string())?;
                match client.request_text(req).await {
                    Ok(body) if body.trim() == "ok" => Ok(Some(())),
                    Ok(body) => Err(body),
                    Err(e) => Err(e.to_string()),
                }
            }
        },
    )
    .await?;

    let (kcm_port, scheduler_port, kwok_port) = (free_port()?, free_port()?, free_port()?);
    servers.0.push(Server::spawn(
        "kube-controller-manager",
        &bin.join("kube-controller-manager"),
        &[
            path_arg("kubeconfig", &kubeconfig),
            path_arg("authentication-kubeconfig", &kubeconfig),
            path_arg("authorization-kubeconfig", &kubeconfig),
            "--bind-address=127.0.0.1".into(),
            format!("--secure-port={kcm_port}"),
            "--controllers=*".into(),
            "--use-service-account-credentials=true".into(),
            path_arg("root-ca-file", &pki.ca.cert_file),
            path_arg("service-account-private-key-file", sa_key),
            format!("--cluster-cidr={CLUSTER_CIDR}"),
            "--allocate-node-cidrs=true".into(),
            "--node-cidr-mask-size=24".into(),
            format!("--service-cluster-ip-range={SERVICE_CIDR}"),
            "--leader-elect=false".into(),
            "--cluster-name=bluegreen".into(),
            "--profiling=false".into(),
        ],
        log("kube-controller-manager"),
    )?);
    servers.0.push(Server::spawn(
        "kube-scheduler",
        &bin.join("kube-scheduler"),
        &[
            path_arg("kubeconfig", &kubeconfig),
            path_arg("authentication-kubeconfig", &kubeconfig),
            path_arg("authorization-kubeconfig", &kubeconfig),
            "--bind-address=127.0.0.1".into(),
            format!("--secure-port={scheduler_port}"),
            "--leader-elect=false".into(),
            "--profiling=false".into(),
        ],
        log("kube-scheduler"),
    )?);
    servers.0.push(Server::spawn(
        "kwok",
        &bin.join("kwok"),
        &[
            path_arg("kubeconfig", &kubeconfig),
            path_arg("config", &stages),
            "--manage-all-nodes=false".into(),
            "--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake".into(),
            format!("--server-address=127.0.0.1:{kwok_port}"),
            "--node-ip=127.0.0.1".into(),
            "--node-lease-duration-seconds=40".into(),
        ],
        log("kwok"),
    )?);

    // Namespace `staging` (as in the sandbox) and the fake nodes.
    let namespaces: Api<Namespace> = Api::all(client.clone());
    let ns: Namespace = serde_json::from_value(json!({"metadata": {"name": "staging"}}))
        .map_err(|e| Error::Client(e.to_string()))?;
    create(&namespaces, &ns).await?;
    let nodes: Api<Node> = Api::all(client.clone());
    for name in NODES {
        let node: Node =
            serde_json::from_value(fake_node(name)).map_err(|e| Error::Client(e.to_string()))?;
        create(&nodes, &node).await?;
    }

    wait_for(
        &mut servers,
        deadline,
        started,
        "the `default` ServiceAccount in namespace `default`",
        "kube-controller-manager",
        || {
            let sas: Api<ServiceAccount> = Api::namespaced(client.clone(), "default");
            async move {
                match sas.get_opt("default").await {
                    Ok(found) => Ok(found.map(|_| ())),
                    Err(e) => Err(e.to_string()),
                }
            }
        },
    )
    .await?;

    wait_for(
        &mut servers,
        deadline,
        started,
        "the fake nodes to be Ready",
        "kwok",
        || {
            let nodes = nodes.clone();
            async move {
                let mut not_ready = Vec::new();
                for name in NODES {
                    let node = nodes.get(name).await.map_err(|e| e.to_string())?;
                    let ready = node
                        .status
                        .as_ref()
                        .and_then(|s| s.conditions.as_ref())
                        .is_some_and(|cs| {
                            cs.iter().any(|c| c.type_ == "Ready" && c.status == "True")
                        });
                    let cidr = node
                        .spec
                        .as_ref()
                        .and_then(|s| s.pod_cidr.as_ref())
                        .is_some();
                    if !ready || !cidr {
                        not_ready.push(format!("{name} (ready: {ready}, podCIDR: {cidr})"));
                    }
                }
                if not_ready.is_empty() {
                    Ok(Some(()))
                } else {
                    Err(format!("not ready: {}", not_ready.join(", ")))
                }
            }
        },
    )
    .await?;

    let version = client
        .apiserver_version()
        .await
        .map_err(|e| Error::Client(format!("GET /version: {e}")))?
        .git_version;

    let servers = std::mem::take(&mut servers.0);
    Ok(ControlPlane {
        servers,
        kubeconfig,
        user_kubeconfig,
        server_url,
        version,
        ca_pem: pki.ca.cert_pem.clone(),
        startup: started.elapsed(),
        dir,
    })
}

/// Creates an object; "already exists" is fine.
async fn create<K>(api: &Api<K>, obj: &K) -> Result<(), Error>
where
    K: kube::Resource + Clone + serde::de::DeserializeOwned + serde::Serialize + std::fmt::Debug,
{
    match api.create(&PostParams::default(), obj).await {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(s)) if s.code == 409 => Ok(()),
        Err(e) => Err(Error::Client(format!(
            "creating {:?}: {e}",
            obj.meta().name
        ))),
    }
}

/// A Node object for kwok to manage (its annotation selector is `kwok.x-k8s.io/node=fake`).
fn fake_node(name: &str) -> serde_json::Value {
    let resources = json!({"cpu": "32", "memory": "256Gi", "pods": "110"});
    json!({
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": name,
            "annotations": {"kwok.x-k8s.io/node": "fake", "node.alpha.kubernetes.io/ttl": "0"},
            "labels": {
                "kubernetes.io/hostname": name,
                "kubernetes.io/os": "linux",
                "kubernetes.io/arch": "amd64",
                "type": "kwok",
            },
        },
        "status": {"allocatable": resources, "capacity": resources},
    })
}
