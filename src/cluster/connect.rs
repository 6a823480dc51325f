//! Builds the API client exactly as kubectl would find the cluster.
//!
//! Order: `--kubeconfig PATH`, else every file in `KUBECONFIG` (merged: the first file to set a
//! value wins; missing files are skipped, as kubectl does), else `~/.kube/config`, else the
//! in-cluster service account. `--context` picks the context (default: the current one); the
//! namespace is `-n`, else the context's, else `default`.

use std::error::Error as StdError;
use std::path::{Path, PathBuf};
use std::time::Duration;

use http::HeaderValue;
use http::header::USER_AGENT;
use hyper_timeout::TimeoutConnector;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use kube::client::ConfigExt;
use kube::client::retry::RetryPolicy;
use kube::config::{KubeConfigOptions, Kubeconfig, KubeconfigError};
use kube::{Client, Config};
use tower::retry::RetryLayer;
use tower::{BoxError, ServiceBuilder};

use crate::cluster::credentials::{CredentialErrorLayer, CredentialSource};
use crate::cluster::request_log::RequestLogLayer;
use crate::error::{Error, Result};

/// What the user asked for on the command line.
#[derive(Debug, Clone, Default)]
pub(crate) struct ConnectOptions {
    /// `--kubeconfig`.
    pub kubeconfig: Option<PathBuf>,
    /// `--context`.
    pub context: Option<String>,
    /// `-n/--namespace`.
    pub namespace: Option<String>,
    /// `--request-timeout`; `None` means no limit.
    pub request_timeout: Option<Duration>,
}

/// Where the plugin acts: shown on every screen.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Target {
    /// The kubeconfig context (`in-cluster` when running in a pod).
    pub context: String,
    /// The cluster's name in the kubeconfig.
    pub cluster: String,
    /// The API server URL.
    pub server: String,
    /// The namespace of the pair.
    pub namespace: String,
}

/// A ready client and where it points.
#[derive(Clone)]
pub(crate) struct Connection {
    /// The client; every request goes through the request log.
    pub client: Client,
    /// Context, cluster, server and namespace.
    pub target: Target,
    /// `--request-timeout`, applied to each call.
    pub request_timeout: Option<Duration>,
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection")
            .field("target", &self.target)
            .field("request_timeout", &self.request_timeout)
            .finish_non_exhaustive()
    }
}

/// Where the configuration came from.
enum Source {
    Kubeconfig {
        config: Box<Kubeconfig>,
        files: Vec<PathBuf>,
    },
    InCluster,
}

/// Finds the configuration, picks the context and namespace and builds the client. Does not
/// contact the server.
pub(crate) async fn connect(options: &ConnectOptions) -> Result<Connection> {
    let (mut config, target) = match load_source(options)? {
        Source::Kubeconfig { config, files } => from_kubeconfig(*config, &files, options).await?,
        Source::InCluster => from_in_cluster(options)?,
    };
    // Each call is bounded as a whole by `Connection::call`; a read timeout on the connection
    // would also cut the long-lived watch streams of `--watch`, so only connecting is bounded
    // here.
    if let Some(timeout) = options.request_timeout {
        config.connect_timeout = Some(timeout);
        config.write_timeout = Some(timeout);
    }
    config.headers.push((USER_AGENT, user_agent()));

    // Building the client runs the exec credential plugin, if the user has one; its failures
    // are told without what it printed (see `credentials`).
    let credentials = CredentialSource::of(&config.auth_info);
    let client =
        build_client(config, credentials.clone()).map_err(|e| match credentials.describe(&e) {
            Some(reason) => Error::Credentials {
                context: target.context.clone(),
                reason,
            },
            None => Error::InvalidContext {
                context: target.context.clone(),
                reason: chain_text(&e),
            },
        })?;
    tracing::info!(
        target: crate::cluster::request_log::TARGET,
        "context {} (cluster {}, server {}), namespace {}",
        target.context,
        target.cluster,
        target.server,
        target.namespace
    );
    Ok(Connection {
        client,
        target,
        request_timeout: options.request_timeout,
    })
}

/// The client, with the HTTP stack `kube::client::ClientBuilder::try_from` builds (TLS from
/// the configuration, verified as it says; connect, read and write timeouts; the client's
/// retry of 429, 503 and 504; credentials, exec plugins included; extra headers), except that
/// every connection sets `TCP_NODELAY`, as kubectl's does. Without it, a small write could wait
/// for the acknowledgement of the previous one, which the server may delay by 40 ms (Nagle's
/// algorithm meeting delayed ACKs): against a real API server the slowest of `status`'s
/// concurrent lists took 43–51 ms instead of a few (docs/performance.md). Left out of the
/// library's stack: its debug-level tracing spans of each HTTP request (the request log layer
/// reports requests) and the expiry of an exec plugin's client certificate (`Client::valid_until`,
/// which nothing here reads). With a proxy in the configuration the library's own builder
/// decides.
fn build_client(config: Config, credentials: CredentialSource) -> kube::Result<Client> {
    if config.proxy_url.is_some() {
        return Ok(kube::client::ClientBuilder::try_from(config)?
            .with_layer(&CredentialErrorLayer::new(credentials))
            .with_layer(&RequestLogLayer)
            .build());
    }
    let mut http = HttpConnector::new();
    http.enforce_http(false);
    http.set_nodelay(true);
    let https = config.rustls_https_connector_with_connector(http)?;
    let mut connector = TimeoutConnector::new(https);
    connector.set_connect_timeout(config.connect_timeout);
    connector.set_read_timeout(config.read_timeout);
    connector.set_write_timeout(config.write_timeout);
    connector.set_reset_reader_on_write(config.reset_reader_on_write);
    let http_client: hyper_util::client::legacy::Client<_, kube::client::Body> =
        hyper_util::client::legacy::Builder::new(TokioExecutor::new()).build(connector);
    let retry = config
        .default_retry
        .then(|| RetryLayer::new(RetryPolicy::server_retry()));
    let service = ServiceBuilder::new()
        .layer(config.base_uri_layer())
        .option_layer(retry)
        .option_layer(config.auth_layer()?)
        .layer(config.extra_headers_layer()?)
        .map_err(BoxError::from)
        .service(http_client);
    Ok(
        kube::client::ClientBuilder::new(service, config.default_namespace.clone())
            .with_layer(&CredentialErrorLayer::new(credentials))
            .with_layer(&RequestLogLayer)
            .build(),
    )
}

fn user_agent() -> HeaderValue {
    HeaderValue::from_static(concat!("kubectl-bluegreen/", env!("CARGO_PKG_VERSION")))
}

fn load_source(options: &ConnectOptions) -> Result<Source> {
    if let Some(path) = &options.kubeconfig {
        if !path.exists() {
            return Err(Error::KubeconfigMissing {
                paths: vec![path.clone()],
            });
        }
        let config = read_file(path)?;
        return Ok(Source::Kubeconfig {
            config: Box::new(config),
            files: vec![path.clone()],
        });
    }

    let mut tried = Vec::new();
    if let Some(list) = std::env::var_os("KUBECONFIG") {
        let paths: Vec<PathBuf> = std::env::split_paths(&list)
            .filter(|p| !p.as_os_str().is_empty())
            .collect();
        if !paths.is_empty() {
            let existing: Vec<PathBuf> = paths.iter().filter(|p| p.exists()).cloned().collect();
            for skipped in paths.iter().filter(|p| !p.exists()) {
                tracing::debug!(file = %skipped.display(), "KUBECONFIG lists a missing file; skipped");
            }
            if !existing.is_empty() {
                let mut merged = Kubeconfig::default();
                for path in &existing {
                    merged =
                        merged
                            .merge(read_file(path)?)
                            .map_err(|e| Error::KubeconfigInvalid {
                                path: path.clone(),
                                reason: describe_kubeconfig_error(&e),
                            })?;
                }
                return Ok(Source::Kubeconfig {
                    config: Box::new(merged),
                    files: existing,
                });
            }
            // KUBECONFIG is set: kubectl does not fall back to ~/.kube/config then.
            return in_cluster_or(paths);
        }
    }

    if let Some(default) = default_kubeconfig_path() {
        if default.exists() {
            let config = read_file(&default)?;
            return Ok(Source::Kubeconfig {
                config: Box::new(config),
                files: vec![default],
            });
        }
        tried.push(default);
    }
    in_cluster_or(tried)
}

/// The merged kubeconfig the options resolve to (same search as [`connect`]); `None` when the
/// plugin would use the in-cluster service account.
pub(crate) fn kubeconfig(options: &ConnectOptions) -> Result<Option<Kubeconfig>> {
    match load_source(options)? {
        Source::Kubeconfig { config, .. } => Ok(Some(*config)),
        Source::InCluster => Ok(None),
    }
}

fn in_cluster_or(tried: Vec<PathBuf>) -> Result<Source> {
    if std::env::var_os("KUBERNETES_SERVICE_HOST").is_some() {
        Ok(Source::InCluster)
    } else {
        Err(Error::NoConfiguration { tried })
    }
}

fn default_kubeconfig_path() -> Option<PathBuf> {
    let home = std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .or_else(|| std::env::var_os("USERPROFILE").filter(|h| !h.is_empty()))?;
    Some(PathBuf::from(home).join(".kube").join("config"))
}

fn read_file(path: &Path) -> Result<Kubeconfig> {
    Kubeconfig::read_from(path).map_err(|e| match &e {
        KubeconfigError::ReadConfig(io, _) if io.kind() == std::io::ErrorKind::NotFound => {
            Error::KubeconfigMissing {
                paths: vec![path.to_path_buf()],
            }
        }
        _ => Error::KubeconfigInvalid {
            path: path.to_path_buf(),
            reason: describe_kubeconfig_error(&e),
        },
    })
}

/// A kubeconfig error in words that never quote the file's content (it may hold tokens).
fn describe_kubeconfig_error(e: &KubeconfigError) -> String {
    match e {
        KubeconfigError::ReadConfig(io, _) => format!("cannot read it: {io}"),
        KubeconfigError::Parse(parse) => {
            // The parser's message can quote the offending line; keep only where it is.
            let text = parse.to_string();
            match find_location(&text) {
                Some(location) => format!("it is not valid kubeconfig YAML ({location})"),
                None => "it is not valid kubeconfig YAML".to_string(),
            }
        }
        KubeconfigError::KindMismatch | KubeconfigError::ApiVersionMismatch => {
            format!("it cannot be merged with the other KUBECONFIG files: {e}")
        }
        other => other.to_string(),
    }
}

/// Extracts "line N column M" from a parser message.
fn find_location(text: &str) -> Option<String> {
    let lower = text.to_ascii_lowercase();
    let start = lower.find("line ")?;
    let digits = |s: &str| -> Option<String> {
        let n: String = s.chars().take_while(char::is_ascii_digit).collect();
        (!n.is_empty()).then_some(n)
    };
    let line = digits(&lower[start + 5..])?;
    let column = lower[start..]
        .find("column ")
        .and_then(|c| digits(&lower[start + c + 7..]));
    Some(match column {
        Some(column) => format!("line {line}, column {column}"),
        None => format!("line {line}"),
    })
}

fn files_text(files: &[PathBuf]) -> String {
    files
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

async fn from_kubeconfig(
    kubeconfig: Kubeconfig,
    files: &[PathBuf],
    options: &ConnectOptions,
) -> Result<(Config, Target)> {
    let source_files = files_text(files);
    tracing::info!(
        target: crate::cluster::request_log::TARGET,
        "kubeconfig {source_files}"
    );
    let available: Vec<String> = kubeconfig.contexts.iter().map(|c| c.name.clone()).collect();
    let context_name = match options
        .context
        .clone()
        .or_else(|| kubeconfig.current_context.clone())
        .filter(|c| !c.is_empty())
    {
        Some(name) => name,
        None => {
            return Err(Error::NoCurrentContext {
                source_files,
                available,
            });
        }
    };
    let Some(context) = kubeconfig
        .contexts
        .iter()
        .find(|c| c.name == context_name)
        .and_then(|c| c.context.clone())
    else {
        return Err(Error::UnknownContext {
            context: context_name,
            source_files,
            available,
        });
    };
    let cluster = kubeconfig
        .clusters
        .iter()
        .find(|c| c.name == context.cluster)
        .and_then(|c| c.cluster.clone());
    let Some(cluster) = cluster else {
        return Err(Error::IncompleteContext {
            context: context_name,
            source_files,
            kind: "cluster",
            name: context.cluster,
        });
    };
    if let Some(user) = &context.user
        && !user.is_empty()
        && !kubeconfig.auth_infos.iter().any(|u| &u.name == user)
    {
        return Err(Error::IncompleteContext {
            context: context_name,
            source_files,
            kind: "user",
            name: user.clone(),
        });
    }
    let Some(server) = cluster.server.clone().filter(|s| !s.is_empty()) else {
        return Err(Error::InvalidContext {
            context: context_name,
            reason: format!(
                "cluster {:?} has no server URL in kubeconfig {source_files}",
                context.cluster
            ),
        });
    };

    let kube_options = KubeConfigOptions {
        context: Some(context_name.clone()),
        cluster: None,
        user: None,
    };
    let mut config = Config::from_custom_kubeconfig(kubeconfig, &kube_options)
        .await
        .map_err(|e| Error::InvalidContext {
            context: context_name.clone(),
            reason: describe_kubeconfig_error(&e),
        })?;
    let namespace = options
        .namespace
        .clone()
        .or_else(|| context.namespace.clone())
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| "default".to_string());
    config.default_namespace = namespace.clone();
    let target = Target {
        context: context_name,
        cluster: context.cluster.clone(),
        server,
        namespace,
    };
    Ok((config, target))
}

fn from_in_cluster(options: &ConnectOptions) -> Result<(Config, Target)> {
    if let Some(context) = &options.context {
        return Err(Error::UnknownContext {
            context: context.clone(),
            source_files: "(none: running with the in-cluster service account)".to_string(),
            available: Vec::new(),
        });
    }
    let mut config = Config::incluster().map_err(|e| Error::InCluster {
        reason: chain_text(&e),
    })?;
    let namespace = options
        .namespace
        .clone()
        .unwrap_or_else(|| config.default_namespace.clone());
    config.default_namespace = namespace.clone();
    let target = Target {
        context: "in-cluster".to_string(),
        cluster: "in-cluster".to_string(),
        server: config.cluster_url.to_string(),
        namespace,
    };
    Ok((config, target))
}

/// An error and its causes on one line, e.g. `a: b: c`, without repeating a cause already
/// included in its parent's message.
pub(crate) fn chain_text(e: &(dyn StdError + 'static)) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        let part = cause.to_string();
        if !text.contains(&part) {
            text.push_str(": ");
            text.push_str(&part);
        }
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parser_locations_are_kept_without_content() {
        assert_eq!(
            find_location("invalid type at line 4 column 7: token: abc").as_deref(),
            Some("line 4, column 7")
        );
        assert_eq!(find_location("error: line 12").as_deref(), Some("line 12"));
        assert_eq!(find_location("nothing here"), None);
    }

    #[test]
    fn user_agent_names_the_plugin_and_version() {
        let ua = user_agent();
        let text = ua.to_str().unwrap_or_default();
        assert!(text.starts_with("kubectl-bluegreen/"), "{text}");
    }
}
