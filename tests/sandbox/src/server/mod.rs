//! The HTTPS API server: TLS, authentication, the request log, faults and authorization
//! in front of the REST handlers, discovery and OpenAPI.

mod converted;
mod namespaces;
mod negotiate;
mod protobuf;
mod rest;
pub mod route;
mod watch;

use std::convert::Infallible;
use std::sync::{Arc, RwLock};

use bytes::Bytes;
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::header::{CONTENT_TYPE, HeaderValue};
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::{TokioExecutor, TokioIo};
use serde_json::Value;
use tokio::net::TcpListener;

use crate::error::ApiError;
use crate::faults::{FaultAction, FaultRequest, Faults};
use crate::rbac::{self, Attributes, Policy};
use crate::requestlog::{LoggedRequest, RequestLog};
use crate::store::Store;
use crate::{discovery, openapi};

pub use negotiate::Output;
use route::Route;

/// Response bodies: whole documents, or a watch stream.
pub type Body = UnsyncBoxBody<Bytes, Infallible>;

/// The largest request body accepted (the real server's limit is 3 MiB).
const MAX_BODY: usize = 3 * 1024 * 1024;

/// Everything a request handler may need.
pub struct State {
    pub store: Arc<Store>,
    pub token: String,
    pub log: Arc<RequestLog>,
    pub faults: Arc<Faults>,
    pub policy: Arc<RwLock<Policy>>,
    /// Server-side apply: the configuration each field manager last applied to each object
    /// (by uid and manager), to remove what a manager stops applying.
    pub applied: std::sync::Mutex<std::collections::HashMap<String, Value>>,
}

/// Returned by a handler to close the connection without an answer (a fault).
#[derive(Debug)]
pub struct CloseConnection;

impl std::fmt::Display for CloseConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection closed by an injected fault")
    }
}

impl std::error::Error for CloseConnection {}

/// Accepts TLS connections on `listener` until the runtime stops.
pub async fn serve(listener: TcpListener, tls: Arc<rustls::ServerConfig>, state: Arc<State>) {
    let acceptor = tokio_rustls::TlsAcceptor::from(tls);
    loop {
        let Ok((tcp, _)) = listener.accept().await else {
            continue;
        };
        // As Go's servers (kube-apiserver) do: no response waits behind a delayed ACK.
        let _ = tcp.set_nodelay(true);
        let acceptor = acceptor.clone();
        let state = state.clone();
        tokio::spawn(async move {
            let Ok(tls) = acceptor.accept(tcp).await else {
                return;
            };
            let service = hyper::service::service_fn(move |req| handle(state.clone(), req));
            let builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
            // Connection errors (a client going away mid-watch) end only that connection.
            let _ = builder
                .serve_connection_with_upgrades(TokioIo::new(tls), service)
                .await;
        });
    }
}

/// One request, as read before it is handled.
pub struct ApiRequest {
    pub method: hyper::Method,
    pub path: String,
    pub query: Vec<(String, String)>,
    pub headers: hyper::HeaderMap,
    pub body: Bytes,
    /// `Warning` headers to answer with.
    pub warnings: std::sync::Mutex<Vec<String>>,
}

impl ApiRequest {
    /// The first value of a query parameter.
    pub fn param(&self, key: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub fn content_type(&self) -> Option<&str> {
        self.header("content-type")
    }

    /// Adds a `Warning: 299` header to the answer.
    pub fn warn(&self, message: String) {
        self.warnings
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(message);
    }

    pub fn output(&self) -> Output {
        negotiate::negotiate(self.header("accept").unwrap_or(""))
    }
}

async fn handle(
    state: Arc<State>,
    req: Request<Incoming>,
) -> Result<Response<Body>, CloseConnection> {
    let (parts, body) = req.into_parts();
    let path = parts.uri.path().to_string();
    let raw_query = parts.uri.query().unwrap_or("").to_string();
    let content_type = parts
        .headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let body = match Limited::new(body, MAX_BODY).collect().await {
        Ok(b) => Ok(b.to_bytes()),
        Err(e) => Err(e),
    };
    let id = state.log.start(LoggedRequest {
        method: parts.method.to_string(),
        path: path.clone(),
        query: raw_query.clone(),
        content_type,
        body: body
            .as_ref()
            .map(|b| String::from_utf8_lossy(b).into_owned())
            .unwrap_or_default(),
        status: 0,
    });
    let latency = state.faults.latency();
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    let response = match body {
        Err(_) => Ok(error(&ApiError::new(
            413,
            "RequestEntityTooLarge",
            "Request entity too large: limit is 3145728",
        ))),
        Ok(body) => {
            let req = ApiRequest {
                method: parts.method,
                path,
                query: url::form_urlencoded::parse(raw_query.as_bytes())
                    .into_owned()
                    .collect(),
                headers: parts.headers,
                body,
                warnings: std::sync::Mutex::new(Vec::new()),
            };
            let mut response = respond(&state, &req).await;
            if let Ok(r) = &mut response {
                let warnings = req.warnings.lock().unwrap_or_else(|e| e.into_inner());
                for w in warnings.iter() {
                    // The warning text is quoted; quotes inside it are escaped.
                    let value =
                        format!("299 - \"{}\"", w.replace('\\', "\\\\").replace('"', "\\\""));
                    if let Ok(v) = HeaderValue::from_str(&value) {
                        r.headers_mut().append("warning", v);
                    }
                }
            }
            response
        }
    };
    if let Ok(r) = &response {
        state.log.finish(id, r.status().as_u16());
    }
    response
}

async fn respond(state: &Arc<State>, req: &ApiRequest) -> Result<Response<Body>, CloseConnection> {
    let authorized = req
        .header("authorization")
        .and_then(|h| h.strip_prefix("Bearer "))
        .is_some_and(|t| t.trim() == state.token);
    if !authorized {
        return Ok(error(&ApiError::unauthorized()));
    }
    let route = route::parse(&req.path);
    let Route::Resource(res) = route else {
        return Ok(non_resource(req, route));
    };

    let watch_param = matches!(req.param("watch"), Some("true" | "1"));
    let Some(verb) = route::verb(&req.method, &res, watch_param) else {
        return Ok(error(&ApiError::method_not_allowed(format!(
            "the server does not allow this method on the requested resource ({} {})",
            req.method, req.path
        ))));
    };
    let target = FaultRequest {
        verb,
        resource: res.rt.plural,
        subresource: res.subresource.as_deref(),
        name: res.name.as_deref(),
        namespace: res.namespace.as_deref(),
    };
    let lose_answer = match state.faults.take(&target) {
        None => false,
        Some(FaultAction::Close) => return Err(CloseConnection),
        Some(FaultAction::Hang(d)) => {
            state.faults.hang(d).await;
            false
        }
        Some(FaultAction::Fail(code)) => return Ok(error(&ApiError::for_code(code))),
        Some(FaultAction::LoseAnswer) => true,
        Some(FaultAction::Gone) => return Ok(gone(verb == "watch")),
    };
    let response = authorize_and_handle(state, req, &res, verb).await;
    if lose_answer {
        // Handled, and then the connection is gone before the answer is written.
        return Err(CloseConnection);
    }
    Ok(response)
}

/// An injected expiry: a watch gets 200 and one `ERROR` event with a 410 `Expired` Status (as
/// when its resourceVersion has been compacted), any other request a 410 `Expired` answer.
fn gone(watch: bool) -> Response<Body> {
    let e = ApiError::gone("too old resource version: injected expiry");
    if !watch {
        return error(&e);
    }
    let mut line =
        serde_json::to_vec(&serde_json::json!({"type": "ERROR", "object": e.to_status()}))
            .unwrap_or_default();
    line.push(b'\n');
    let mut r = Response::new(full(line));
    r.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    r
}

async fn authorize_and_handle(
    state: &Arc<State>,
    req: &ApiRequest,
    res: &route::ResourceRoute,
    verb: &'static str,
) -> Response<Body> {
    // Asking what one may do is always allowed, as in every real cluster.
    let is_review = std::ptr::eq(res.rt, &crate::resources::SELFSUBJECTACCESSREVIEWS);
    let full_resource = match &res.subresource {
        Some(s) => format!("{}/{}", res.rt.plural, s),
        None => res.rt.plural.to_string(),
    };
    let attrs = Attributes {
        verb,
        resource: res.rt.plural,
        subresource: res.subresource.as_deref(),
        namespace: res.namespace.as_deref(),
    };
    let allowed = is_review || policy(state).allows(&attrs);
    if !allowed {
        return error(&ApiError::forbidden(
            rbac::USER,
            verb,
            res.rt.group,
            &full_resource,
            res.namespace.as_deref(),
            res.name.as_deref(),
        ));
    }
    if crate::resources::is_converted(res.rt) {
        return converted::handle(state, req, res, verb).await;
    }
    rest::handle(state, req, res, verb).await
}

/// The current authorization policy.
pub fn policy(state: &State) -> Policy {
    state
        .policy
        .read()
        .map(|p| p.clone())
        .unwrap_or_else(|e| e.into_inner().clone())
}

fn non_resource(req: &ApiRequest, route: Route) -> Response<Body> {
    if matches!(route, Route::NotFound) {
        return error(&ApiError::path_not_found());
    }
    if req.method != hyper::Method::GET && req.method != hyper::Method::HEAD {
        return error(&ApiError::method_not_allowed(format!(
            "the server does not allow this method on the requested resource ({} {})",
            req.method, req.path
        )));
    }
    let output = req.output();
    match route {
        Route::Version => json(200, &discovery::version()),
        Route::Health => text(200, "ok"),
        Route::LegacyVersions => match output {
            Output::Discovery(v) => typed(200, &discovery::aggregated(true, v), output),
            _ => json(200, &discovery::legacy_versions()),
        },
        Route::Groups => match output {
            Output::Discovery(v) => typed(200, &discovery::aggregated(false, v), output),
            _ => json(200, &discovery::groups()),
        },
        Route::Group(g) => match discovery::group(&g) {
            Some(doc) => json(200, &doc),
            None => error(&ApiError::path_not_found()),
        },
        Route::Resources { group, version } => match discovery::resource_list(&group, &version) {
            Some(doc) => json(200, &doc),
            None => error(&ApiError::path_not_found()),
        },
        Route::OpenApiV2 => {
            let accept = req.header("accept").unwrap_or("");
            if accept.contains("protobuf") {
                // An empty message is a valid, empty `openapi_v2.Document`: kubectl then has
                // no schema to validate against and skips client-side validation.
                let mut r = Response::new(full(Vec::new()));
                r.headers_mut().insert(
                    CONTENT_TYPE,
                    HeaderValue::from_static(
                        "application/com.github.proto-openapi.spec.v2.v1.0+protobuf",
                    ),
                );
                r
            } else {
                json(200, &openapi::v2())
            }
        }
        Route::OpenApiIndex => json(200, &openapi::index()),
        Route::OpenApiDoc(path) => match openapi::document(&path) {
            Some(doc) => json(200, &doc),
            None => error(&ApiError::path_not_found()),
        },
        Route::Resource(_) | Route::NotFound => error(&ApiError::path_not_found()),
    }
}

/// A JSON response.
pub fn json(code: u16, v: &Value) -> Response<Body> {
    typed(code, v, Output::Json)
}

/// A JSON response in a negotiated representation (its `Content-Type` echoes it).
pub fn typed(code: u16, v: &Value, output: Output) -> Response<Body> {
    let list = v["kind"].as_str().is_some_and(|k| k.ends_with("List"));
    let body = serde_json::to_vec(v).unwrap_or_default();
    let mut r = Response::new(full(body));
    *r.status_mut() = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    if let Ok(ct) = HeaderValue::from_str(&output.content_type(list)) {
        r.headers_mut().insert(CONTENT_TYPE, ct);
    }
    r
}

fn text(code: u16, s: &str) -> Response<Body> {
    let mut r = Response::new(full(s.as_bytes().to_vec()));
    *r.status_mut() = StatusCode::from_u16(code).unwrap_or(StatusCode::OK);
    r.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    r
}

/// An error as a `Status` object, with `Retry-After` when it has one.
pub fn error(e: &ApiError) -> Response<Body> {
    let mut r = json(e.code, &e.to_status());
    if let Some(secs) = e.retry_after
        && let Ok(v) = HeaderValue::from_str(&secs.to_string())
    {
        r.headers_mut().insert("retry-after", v);
    }
    r
}

pub fn full(body: Vec<u8>) -> Body {
    Full::new(Bytes::from(body)).boxed_unsync()
}
