//! A fault-injecting proxy in front of the real API server, with the fault vocabulary it shares
//! with the sandbox (the `bluegreen-faults` crate, `tests/faults`): rules match a request by verb, resource, name,
//! namespace and occurrence, and make it fail (500, 429 with `Retry-After`), hang, lose its
//! connection before or after the server acted, or (watches) answer 410 Gone; every open watch
//! can be cut; every request is logged.
//!
//! It serves TLS on a free loopback port with a certificate of the control plane's CA (clients
//! keep verifying the server), speaks HTTP/1.1, and forwards each request on a connection of
//! its own to kube-apiserver over TLS with the admin client certificate. A client presenting
//! the control plane's `developer` certificate reaches the API server as that user (the admin
//! impersonating it), so RBAC applies through the proxy as it does directly. Responses are streamed
//! frame by frame, so watches work through it.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use futures::SinkExt as _;
use http_body_util::{BodyExt as _, Full, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper_util::rt::TokioIo;
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};

use crate::Error;

pub use faults::{FaultAction, FaultRule};
use faults::{FaultRequest, FaultRules};

/// What a request is, as far as the rules care.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Target {
    /// Kubernetes verb (`get`, `list`, `watch`, `create`, …); the lower-cased method for
    /// requests that are not about a resource.
    pub verb: String,
    /// Plural resource with `/subresource`; `None` for non-resource paths (`/version`, …).
    pub resource: Option<String>,
    pub name: Option<String>,
    pub namespace: Option<String>,
}

impl Target {
    /// The request as the fault rules see it; `None` for non-resource paths, which no rule
    /// matches.
    fn fault_request(&self) -> Option<FaultRequest<'_>> {
        let full = self.resource.as_deref()?;
        let (resource, subresource) = match full.split_once('/') {
            Some((resource, sub)) => (resource, Some(sub)),
            None => (full, None),
        };
        Some(FaultRequest {
            verb: &self.verb,
            resource,
            subresource,
            name: self.name.as_deref(),
            namespace: self.namespace.as_deref(),
        })
    }
}

/// Parses an API path and method into a [`Target`].
pub fn target(method: &str, path: &str, query: &str) -> Target {
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    let rest: &[&str] = match segments.as_slice() {
        ["api", _version, rest @ ..] => rest,
        ["apis", _group, _version, rest @ ..] => rest,
        _ => &[],
    };
    let (watch_path, rest) = match rest {
        ["watch", rest @ ..] => (true, rest),
        _ => (false, rest),
    };
    let (namespace, rest) = match rest {
        ["namespaces", ns, rest @ ..] if !rest.is_empty() => (Some(ns.to_string()), rest),
        _ => (None, rest),
    };
    let (resource, name) = match rest {
        [] => (None, None),
        [plural] => (Some(plural.to_string()), None),
        [plural, name] => (Some(plural.to_string()), Some(name.to_string())),
        [plural, name, sub, ..] => (Some(format!("{plural}/{sub}")), Some(name.to_string())),
    };
    let watch_query = query
        .split('&')
        .any(|kv| kv == "watch=true" || kv == "watch=1");
    let verb = match (method, resource.is_some(), name.is_some()) {
        ("GET", true, _) if watch_path || watch_query => "watch",
        ("GET", true, true) => "get",
        ("GET", true, false) => "list",
        ("POST", true, _) => "create",
        ("PUT", true, _) => "update",
        ("PATCH", true, _) => "patch",
        ("DELETE", true, true) => "delete",
        ("DELETE", true, false) => "deletecollection",
        (m, _, _) => {
            return Target {
                verb: m.to_ascii_lowercase(),
                ..Target::default()
            };
        }
    };
    Target {
        verb: verb.to_string(),
        resource,
        name,
        namespace,
    }
}

/// One request as the proxy received it.
#[derive(Debug, Clone)]
pub struct ProxyRequest {
    pub method: String,
    pub path: String,
    /// The query string without `?` (may be empty).
    pub query: String,
    /// The request body (UTF-8, lossy).
    pub body: String,
    pub target: Target,
    /// The status passed back to the client; 0 while none was (yet), or when the connection
    /// was closed without one.
    pub status: u16,
    /// The fault the request met, if any.
    pub fault: Option<FaultAction>,
}

impl ProxyRequest {
    /// A query parameter's value (not percent-decoded).
    pub fn query_param(&self, key: &str) -> Option<String> {
        self.query.split('&').find_map(|kv| {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            (k == key).then(|| v.to_string())
        })
    }

    /// Whether the request changes something: POST, PUT, PATCH or DELETE, but not an access
    /// review (a POST that only asks).
    pub fn is_mutating(&self) -> bool {
        matches!(self.method.as_str(), "POST" | "PUT" | "PATCH" | "DELETE")
            && !self.path.ends_with("accessreviews")
            && !self.path.ends_with("rulesreviews")
    }

    /// The API group of the path (`apps`, `discovery.k8s.io`; empty for the core group).
    pub fn group(&self) -> &str {
        match self
            .path
            .trim_start_matches('/')
            .split('/')
            .collect::<Vec<_>>()[..]
        {
            ["apis", group, ..] => group,
            _ => "",
        }
    }
}

struct State {
    rules: FaultRules,
    log: Mutex<Vec<ProxyRequest>>,
    /// Bumped by [`Proxy::drop_watches`]: every open watch response ends.
    watch_generation: tokio::sync::watch::Sender<u64>,
    /// Bumped by [`Proxy::release_hangs`]: every hanging request goes on.
    hang_generation: tokio::sync::watch::Sender<u64>,
    upstream: SocketAddr,
    connector: tokio_rustls::TlsConnector,
    /// Client certificates (DER) the proxy knows, and the user each stands for; requests made
    /// with one reach the API server as the admin impersonating that user (no entry: admin).
    identities: Vec<(Vec<u8>, String)>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl State {
    fn take(&self, target: &Target) -> Option<FaultAction> {
        self.rules.take(&target.fault_request()?)
    }

    fn set_status(&self, index: usize, status: u16) {
        if let Some(r) = lock(&self.log).get_mut(index) {
            r.status = status;
        }
    }
}

/// A running proxy. Dropping it closes every connection through it.
pub struct Proxy {
    runtime: Option<tokio::runtime::Runtime>,
    state: Arc<State>,
    url: String,
    kubeconfig: PathBuf,
    _dir: tempfile::TempDir,
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;
type ProxyBody = http_body_util::combinators::BoxBody<Bytes, BoxError>;

fn full(status: u16, headers: &[(&str, &str)], body: String) -> hyper::Response<ProxyBody> {
    let mut response = hyper::Response::builder().status(status);
    for (k, v) in headers {
        response = response.header(*k, *v);
    }
    response
        .body(Full::new(Bytes::from(body)).map_err(|e| match e {}).boxed())
        .unwrap_or_else(|_| hyper::Response::new(ProxyBody::default()))
}

fn status_body(code: u16) -> String {
    let reason = match code {
        409 => "Conflict",
        410 => "Expired",
        429 => "TooManyRequests",
        500 => "InternalError",
        503 => "ServiceUnavailable",
        504 => "Timeout",
        _ => "Unknown",
    };
    serde_json::json!({
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": format!("injected by the fault proxy: {reason}"),
        "reason": reason,
        "code": code,
    })
    .to_string()
}

/// The connection is closed without an answer (hyper closes it when the service fails).
#[derive(Debug)]
struct CloseConnection;

impl std::fmt::Display for CloseConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection closed by the fault proxy")
    }
}

impl std::error::Error for CloseConnection {}

impl Proxy {
    /// Starts a proxy in front of `cp`'s API server.
    pub fn start(cp: &crate::ControlPlane) -> Result<Proxy, Error> {
        let pki = cp.data_dir().join("pki");
        let read = |name: &str| {
            let path = pki.join(name);
            std::fs::read_to_string(&path).map_err(|e| Error::io(&path, e))
        };
        let (ca_pem, ca_key, admin_cert, admin_key, developer_cert) = (
            read("ca.crt")?,
            read("ca.key")?,
            read("admin.crt")?,
            read("admin.key")?,
            read("developer.crt")?,
        );
        let upstream: SocketAddr = cp
            .server_url()
            .trim_start_matches("https://")
            .parse()
            .map_err(|e| Error::Client(format!("the API server URL {}: {e}", cp.server_url())))?;
        let tls = |e: rustls::Error| Error::Client(format!("proxy TLS configuration: {e}"));
        let pem = |e: rustls::pki_types::pem::Error| Error::Pki(format!("PEM: {e}"));
        let provider = Arc::new(rustls::crypto::ring::default_provider());

        let mut roots = rustls::RootCertStore::empty();
        for cert in CertificateDer::pem_slice_iter(ca_pem.as_bytes()) {
            roots.add(cert.map_err(pem)?).map_err(tls)?;
        }
        let roots = Arc::new(roots);
        let mut identities = Vec::new();
        for cert in CertificateDer::pem_slice_iter(developer_cert.as_bytes()) {
            identities.push((
                cert.map_err(pem)?.as_ref().to_vec(),
                crate::DEVELOPER_CERT_CN.to_string(),
            ));
        }
        let client_chain: Vec<CertificateDer<'static>> =
            CertificateDer::pem_slice_iter(admin_cert.as_bytes())
                .collect::<Result<_, _>>()
                .map_err(pem)?;
        let client_key = PrivateKeyDer::from_pem_slice(admin_key.as_bytes()).map_err(pem)?;
        let mut client = rustls::ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(tls)?
            .with_root_certificates(roots.clone())
            .with_client_auth_cert(client_chain, client_key)
            .map_err(tls)?;
        client.alpn_protocols = vec![b"http/1.1".to_vec()];

        let (cert_pem, key_pem) = crate::pki::loopback_serving_cert(&ca_key, "fault-proxy")?;
        let server_chain: Vec<CertificateDer<'static>> =
            CertificateDer::pem_slice_iter(cert_pem.as_bytes())
                .collect::<Result<_, _>>()
                .map_err(pem)?;
        let server_key = PrivateKeyDer::from_pem_slice(key_pem.as_bytes()).map_err(pem)?;
        // Client certificates are asked for, verified against the CA, and optional.
        let verifier =
            rustls::server::WebPkiClientVerifier::builder_with_provider(roots, provider.clone())
                .allow_unauthenticated()
                .build()
                .map_err(|e| Error::Client(format!("proxy client verifier: {e}")))?;
        let mut server = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(tls)?
            .with_client_cert_verifier(verifier)
            .with_single_cert(server_chain, server_key)
            .map_err(tls)?;
        server.alpn_protocols = vec![b"http/1.1".to_vec()];

        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("fault-proxy")
            .enable_all()
            .build()
            .map_err(|e| Error::Client(format!("cannot build a tokio runtime: {e}")))?;
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .map_err(|e| Error::Spawn {
                component: "fault proxy",
                message: format!("cannot bind 127.0.0.1: {e}"),
            })?;
        let port = listener
            .local_addr()
            .map_err(|e| Error::Client(format!("the proxy's address: {e}")))?
            .port();
        let url = format!("https://127.0.0.1:{port}");
        let state = Arc::new(State {
            rules: FaultRules::default(),
            log: Mutex::new(Vec::new()),
            watch_generation: tokio::sync::watch::Sender::new(0),
            hang_generation: tokio::sync::watch::Sender::new(0),
            upstream,
            connector: tokio_rustls::TlsConnector::from(Arc::new(client)),
            identities,
        });
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(server));
        runtime.spawn(accept_loop(listener, acceptor, state.clone()));

        let dir = tempfile::Builder::new()
            .prefix("bluegreen-fault-proxy-")
            .tempdir()
            .map_err(|e| Error::io(&std::env::temp_dir(), e))?;
        let kubeconfig = dir.path().join("kubeconfig");
        let proxy = Proxy {
            runtime: Some(runtime),
            state,
            url,
            kubeconfig: kubeconfig.clone(),
            _dir: dir,
        };
        proxy.write_kubeconfig(cp.kubeconfig_path(), &kubeconfig)?;
        Ok(proxy)
    }

    /// `https://127.0.0.1:PORT`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The admin kubeconfig of the control plane, pointing at the proxy.
    pub fn kubeconfig_path(&self) -> &Path {
        &self.kubeconfig
    }

    /// Copies a kubeconfig of the control plane (any user, context or namespace) with every
    /// cluster's server set to the proxy. Requests reach the API server as the kubeconfig's
    /// user: the admin, or the `developer` user.
    pub fn write_kubeconfig(&self, from: &Path, to: &Path) -> Result<(), Error> {
        let text = std::fs::read_to_string(from).map_err(|e| Error::io(from, e))?;
        let mut doc: serde_yaml::Value = serde_yaml::from_str(&text)
            .map_err(|e| Error::Client(format!("{}: {e}", from.display())))?;
        if let Some(clusters) = doc["clusters"].as_sequence_mut() {
            for c in clusters {
                c["cluster"]["server"] = serde_yaml::Value::from(self.url.as_str());
            }
        }
        let text = serde_yaml::to_string(&doc).map_err(|e| Error::Client(e.to_string()))?;
        crate::write_private(to, &text)
    }

    /// Adds a rule. Rules are tried in the order added; the first match applies.
    pub fn add(&self, rule: FaultRule) {
        self.state.rules.add(rule);
    }

    /// Removes every rule.
    pub fn clear(&self) {
        self.state.rules.clear();
    }

    /// The number of rules that still have requests to fault.
    pub fn pending(&self) -> usize {
        self.state.rules.pending()
    }

    /// Ends every open watch response now (as when the API server restarts or a load balancer
    /// cuts long requests): the response ends cleanly and the client must watch again.
    pub fn drop_watches(&self) {
        self.state.watch_generation.send_modify(|g| *g += 1);
    }

    /// Ends every [`FaultAction::Hang`] waiting now: those requests are forwarded at once.
    pub fn release_hangs(&self) {
        self.state.hang_generation.send_modify(|g| *g += 1);
    }

    /// Every request received so far, in the order received.
    pub fn requests(&self) -> Vec<ProxyRequest> {
        lock(&self.state.log).clone()
    }

    /// Forgets the requests logged so far.
    pub fn clear_requests(&self) {
        lock(&self.state.log).clear();
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_background();
        }
    }
}

async fn accept_loop(
    listener: tokio::net::TcpListener,
    acceptor: tokio_rustls::TlsAcceptor,
    state: Arc<State>,
) {
    loop {
        let Ok((tcp, _)) = listener.accept().await else {
            tokio::time::sleep(Duration::from_millis(10)).await;
            continue;
        };
        let acceptor = acceptor.clone();
        let state = state.clone();
        tokio::spawn(async move {
            let Ok(tls) = acceptor.accept(tcp).await else {
                return;
            };
            // Whom the client's certificate names, if the proxy knows it.
            let user = tls.get_ref().1.peer_certificates().and_then(|certs| {
                let leaf = certs.first()?;
                state
                    .identities
                    .iter()
                    .find(|(der, _)| der.as_slice() == leaf.as_ref())
                    .map(|(_, user)| user.clone())
            });
            let service =
                hyper::service::service_fn(move |req| handle(state.clone(), user.clone(), req));
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(tls), service)
                .await;
        });
    }
}

/// Headers that belong to one connection, not to the request or response.
const HOP_BY_HOP: [&str; 7] = [
    "connection",
    "keep-alive",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
];

async fn handle(
    state: Arc<State>,
    user: Option<String>,
    req: hyper::Request<Incoming>,
) -> Result<hyper::Response<ProxyBody>, CloseConnection> {
    let (parts, body) = req.into_parts();
    let body = body
        .collect()
        .await
        .map_err(|_| CloseConnection)?
        .to_bytes();
    let path = parts.uri.path().to_string();
    let query = parts.uri.query().unwrap_or_default().to_string();
    let method = parts.method.as_str().to_string();
    let target = target(&method, &path, &query);
    let fault = state.take(&target);
    let watch = target.verb == "watch";
    let index = {
        let mut log = lock(&state.log);
        log.push(ProxyRequest {
            method,
            path,
            query,
            body: String::from_utf8_lossy(&body).into_owned(),
            target,
            status: 0,
            fault: fault.clone(),
        });
        log.len() - 1
    };
    match fault {
        None => {}
        Some(FaultAction::Fail(code)) => {
            state.set_status(index, code);
            let mut headers = vec![("content-type", "application/json")];
            if code == 429 {
                headers.push(("retry-after", "1"));
            }
            return Ok(full(code, &headers, status_body(code)));
        }
        Some(FaultAction::Close) => return Err(CloseConnection),
        Some(FaultAction::Gone) if watch => {
            state.set_status(index, 200);
            let event = serde_json::json!({"type": "ERROR", "object": serde_json::from_str::<serde_json::Value>(&status_body(410)).unwrap_or_default()});
            return Ok(full(
                200,
                &[("content-type", "application/json")],
                format!("{event}\n"),
            ));
        }
        Some(FaultAction::Gone) => {
            state.set_status(index, 410);
            return Ok(full(
                410,
                &[("content-type", "application/json")],
                status_body(410),
            ));
        }
        Some(FaultAction::Hang(d)) => {
            let mut released = state.hang_generation.subscribe();
            released.mark_unchanged();
            tokio::select! {
                () = tokio::time::sleep(d) => {}
                _ = released.changed() => {}
            }
        }
        Some(FaultAction::LoseAnswer) => {
            // The change is made; the answer is read to its end and thrown away.
            if let Ok(response) = forward(&state, user.as_deref(), &parts, body).await {
                let _ = response.into_body().collect().await;
            }
            return Err(CloseConnection);
        }
    }
    let response = match forward(&state, user.as_deref(), &parts, body).await {
        Ok(r) => r,
        Err(_) => {
            state.set_status(index, 502);
            return Ok(full(
                502,
                &[("content-type", "application/json")],
                status_body(502),
            ));
        }
    };
    state.set_status(index, response.status().as_u16());
    let (mut head, mut upstream_body) = response.into_parts();
    for h in HOP_BY_HOP {
        head.headers.remove(h);
    }
    // Frames are passed on as they come; a watch also ends when the watches are dropped.
    let (mut tx, rx) = futures::channel::mpsc::channel::<Result<Frame<Bytes>, BoxError>>(16);
    let mut dropped = state.watch_generation.subscribe();
    dropped.mark_unchanged();
    tokio::spawn(async move {
        loop {
            let frame = tokio::select! {
                f = upstream_body.frame() => f,
                _ = dropped.changed(), if watch => return,
            };
            match frame {
                None => return,
                Some(Ok(f)) => {
                    if tx.send(Ok(f)).await.is_err() {
                        return;
                    }
                }
                Some(Err(e)) => {
                    let _ = tx.send(Err(Box::new(e))).await;
                    return;
                }
            }
        }
    });
    Ok(hyper::Response::from_parts(
        head,
        StreamBody::new(rx).boxed(),
    ))
}

/// Sends the request to the API server on a new connection and returns its answer (the body
/// still streaming).
async fn forward(
    state: &State,
    user: Option<&str>,
    parts: &http::request::Parts,
    body: Bytes,
) -> Result<hyper::Response<Incoming>, BoxError> {
    let tcp = tokio::net::TcpStream::connect(state.upstream).await?;
    let tls = state
        .connector
        .connect(ServerName::IpAddress(state.upstream.ip().into()), tcp)
        .await?;
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake::<_, Full<Bytes>>(TokioIo::new(tls)).await?;
    tokio::spawn(async move {
        let _ = connection.await;
    });
    let uri = parts
        .uri
        .path_and_query()
        .map(|p| p.as_str())
        .unwrap_or("/")
        .to_string();
    let mut request = hyper::Request::builder()
        .method(parts.method.clone())
        .uri(uri);
    for (k, v) in &parts.headers {
        let name = k.as_str();
        if HOP_BY_HOP.contains(&name)
            || name == "content-length"
            || name == "authorization"
            || name.starts_with("impersonate-")
        {
            continue;
        }
        request = request.header(k, v);
    }
    if let Some(user) = user {
        request = request.header("impersonate-user", user);
    }
    let request = request
        .header("content-length", body.len())
        .body(Full::new(body))?;
    Ok(sender.send_request(request).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_parse_into_verbs_resources_and_names() {
        let t = target("GET", "/api/v1/namespaces/ns/services/web", "");
        assert_eq!(
            (t.verb.as_str(), t.resource.as_deref(), t.name.as_deref()),
            ("get", Some("services"), Some("web"))
        );
        assert_eq!(t.namespace.as_deref(), Some("ns"));
        let t = target(
            "GET",
            "/apis/discovery.k8s.io/v1/namespaces/ns/endpointslices",
            "labelSelector=x&watch=true&resourceVersion=5",
        );
        assert_eq!(t.verb, "watch");
        assert_eq!(t.resource.as_deref(), Some("endpointslices"));
        let t = target(
            "PATCH",
            "/apis/apps/v1/namespaces/ns/deployments/blue/scale",
            "",
        );
        assert_eq!(
            (t.verb.as_str(), t.resource.as_deref(), t.name.as_deref()),
            ("patch", Some("deployments/scale"), Some("blue"))
        );
        let t = target("GET", "/api/v1/namespaces/ns", "");
        assert_eq!(
            (t.verb.as_str(), t.resource.as_deref(), t.name.as_deref()),
            ("get", Some("namespaces"), Some("ns"))
        );
        let t = target(
            "POST",
            "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews",
            "",
        );
        assert_eq!(t.verb, "create");
        assert_eq!(t.namespace, None);
        assert_eq!(target("GET", "/version", "").resource, None);
        assert_eq!(
            target("DELETE", "/api/v1/namespaces/ns/pods", "").verb,
            "deletecollection"
        );
    }

    #[test]
    fn rules_skip_then_apply_then_are_used_up() {
        let (tx, _) = tokio::sync::watch::channel(0);
        let state = State {
            rules: FaultRules::default(),
            log: Mutex::new(Vec::new()),
            watch_generation: tx.clone(),
            hang_generation: tx,
            upstream: "127.0.0.1:1".parse().expect("an address"),
            connector: tokio_rustls::TlsConnector::from(Arc::new(
                rustls::ClientConfig::builder_with_provider(Arc::new(
                    rustls::crypto::ring::default_provider(),
                ))
                .with_safe_default_protocol_versions()
                .expect("TLS versions")
                .with_root_certificates(rustls::RootCertStore::empty())
                .with_no_client_auth(),
            )),
            identities: Vec::new(),
        };
        state.rules.add(
            FaultRule::new(FaultAction::Fail(500))
                .verb("patch")
                .resource("services")
                .name("web")
                .skip(1),
        );
        let patch = target("PATCH", "/api/v1/namespaces/ns/services/web", "");
        let get = target("GET", "/api/v1/namespaces/ns/services/web", "");
        assert_eq!(state.take(&get), None);
        assert_eq!(state.take(&patch), None, "the first is let through");
        assert_eq!(state.take(&patch), Some(FaultAction::Fail(500)));
        assert_eq!(state.take(&patch), None, "used up");
        assert_eq!(state.rules.pending(), 0);

        // A rule for every request still leaves non-resource paths alone; subresources match
        // as `resource/subresource`.
        state.rules.add(FaultRule::new(FaultAction::Gone).times(2));
        state
            .rules
            .add(FaultRule::new(FaultAction::Close).resource("deployments/scale"));
        assert_eq!(state.take(&target("GET", "/version", "")), None);
        let scale = target(
            "PATCH",
            "/apis/apps/v1/namespaces/ns/deployments/blue/scale",
            "",
        );
        assert_eq!(state.take(&scale), Some(FaultAction::Gone));
        assert_eq!(state.take(&scale), Some(FaultAction::Gone));
        assert_eq!(state.take(&scale), Some(FaultAction::Close));
        assert_eq!(state.rules.pending(), 0);
    }
}
