//! Watch streams: newline-delimited JSON events (ADDED, MODIFIED, DELETED, BOOKMARK,
//! ERROR), resumable from a resourceVersion, filtered by namespace and selectors.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures::{SinkExt, StreamExt};
use http_body_util::{BodyExt, StreamBody};
use hyper::Response;
use hyper::body::Frame;
use hyper::header::{CONTENT_TYPE, HeaderValue};
use serde_json::{Value, json};
use tokio::sync::broadcast::error::RecvError;

use super::rest::{partial_metadata, selectors};
use super::{ApiRequest, Body, Output, State, error};
use crate::error::ApiError;
use crate::resources::ResourceType;
use crate::selector::{FieldSelector, LabelSelector};
use crate::server::route::ResourceRoute;
use crate::store::{Event, EventType};
use crate::table;

/// How often a watch that asked for bookmarks gets one while idle. The real server sends
/// them about once a minute; sooner keeps tests short and is allowed by the contract.
const BOOKMARK_INTERVAL: Duration = Duration::from_secs(1);

/// When a client gives no `timeoutSeconds`, the real server picks 30 to 60 minutes.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(1800);

/// What a watch sends, apart from where it starts.
struct Filter {
    rt: &'static ResourceType,
    namespace: Option<String>,
    labels: LabelSelector,
    fields: FieldSelector,
}

impl Filter {
    fn matches(&self, obj: &Value) -> bool {
        self.labels.matches_object(obj) && self.fields.matches(obj)
    }

    /// The event a client of this watch sees for a store event, if any: an object that
    /// stops matching is DELETED for it, one that starts matching is ADDED.
    fn translate(&self, e: &Event) -> Option<EventType> {
        if !std::ptr::eq(e.resource, self.rt) {
            return None;
        }
        if let Some(ns) = &self.namespace
            && e.namespace() != ns
        {
            return None;
        }
        let now = self.matches(&e.object);
        let before = e.old.as_deref().is_some_and(|o| self.matches(o));
        match e.kind {
            EventType::Added => now.then_some(EventType::Added),
            EventType::Deleted => {
                (before || (e.old.is_none() && now)).then_some(EventType::Deleted)
            }
            EventType::Modified => match (before, now) {
                (true, true) => Some(EventType::Modified),
                (false, true) => Some(EventType::Added),
                (true, false) => Some(EventType::Deleted),
                (false, false) => None,
            },
        }
    }
}

pub async fn watch(state: &Arc<State>, req: &ApiRequest, res: &ResourceRoute) -> Response<Body> {
    match start(state, req, res) {
        Ok(r) => r,
        Err(e) => error(&e),
    }
}

fn start(
    state: &Arc<State>,
    req: &ApiRequest,
    res: &ResourceRoute,
) -> Result<Response<Body>, ApiError> {
    let rt = res.rt;
    let (labels, mut fields) = selectors(req, rt)?;
    if let Some(name) = &res.name {
        // `/watch/.../{name}`: the legacy single-object watch.
        fields =
            FieldSelector::parse(&format!("metadata.name={name}"), &["metadata.name"])?.and(fields);
    }
    let filter = Filter {
        rt,
        namespace: if rt.namespaced {
            res.namespace.clone()
        } else {
            None
        },
        labels,
        fields,
    };
    let from_rv = match req.param("resourceVersion") {
        None | Some("") => None,
        Some(v) => Some(
            v.parse::<u64>()
                .map_err(|_| ApiError::bad_request(format!("invalid resource version: {v:?}")))?,
        ),
    };
    let timeout = match req.param("timeoutSeconds") {
        None | Some("") => DEFAULT_TIMEOUT,
        Some(t) => match t.parse::<u64>() {
            // Zero means "the server's default", as in the real server.
            Ok(0) => DEFAULT_TIMEOUT,
            Ok(secs) => Duration::from_secs(secs),
            Err(_) => {
                return Err(ApiError::bad_request(format!(
                    "invalid timeoutSeconds: {t:?}"
                )));
            }
        },
    };
    let bookmarks = matches!(req.param("allowWatchBookmarks"), Some("true" | "1"));
    let initial_events = matches!(req.param("sendInitialEvents"), Some("true" | "1"));
    if initial_events && !bookmarks {
        return Err(ApiError::invalid(
            "meta.k8s.io",
            "ListOptions",
            "",
            vec![(
                "allowWatchBookmarks".into(),
                "Required value: allowWatchBookmarks must be set to true when sendInitialEvents is specified".into(),
            )],
        ));
    }
    let output = match req.output() {
        o @ (Output::Table(_) | Output::Metadata(_)) => o,
        _ => Output::Json,
    };
    let include = match req.param("includeObject") {
        Some("None") => table::Include::None,
        Some("Object") => table::Include::Object,
        _ => table::Include::Metadata,
    };
    let start_rv = if initial_events { None } else { from_rv };

    let (mut tx, rx) = futures::channel::mpsc::channel::<Bytes>(64);
    let encode = move |kind: &str, obj: &Value| -> Bytes {
        let object = match (output, kind) {
            (_, "ERROR" | "BOOKMARK") => obj.clone(),
            (Output::Table(v), _) => table::table(rt, &[obj], v, include, json!({})),
            (Output::Metadata(v), _) => partial_metadata(obj, v),
            _ => obj.clone(),
        };
        let mut line =
            serde_json::to_vec(&json!({"type": kind, "object": object})).unwrap_or_default();
        line.push(b'\n');
        Bytes::from(line)
    };

    match state
        .store
        .watch_at(rt, filter.namespace.as_deref(), start_rv)
    {
        Err(e) => {
            // The real server answers an expired resourceVersion with 200 and one ERROR event.
            let line = encode("ERROR", &e.to_status());
            tokio::spawn(async move {
                let _ = tx.send(line).await;
            });
        }
        Ok((backlog, mut events, mut progress)) => {
            let mut drops = state.faults.watch_drops();
            tokio::spawn(async move {
                let deadline = tokio::time::sleep(timeout);
                tokio::pin!(deadline);
                for e in &backlog {
                    let kind = if e.old.is_none() && e.kind == EventType::Added {
                        filter.matches(&e.object).then_some(EventType::Added)
                    } else {
                        filter.translate(e)
                    };
                    if let Some(kind) = kind
                        && tx.send(encode(kind.as_str(), &e.object)).await.is_err()
                    {
                        return;
                    }
                    progress = progress.max(e.rv);
                }
                if initial_events {
                    let mut bm = bookmark(rt, progress);
                    bm["metadata"]["annotations"] = json!({"k8s.io/initial-events-end": "true"});
                    if tx.send(encode("BOOKMARK", &bm)).await.is_err() {
                        return;
                    }
                }
                let mut ticker = tokio::time::interval(BOOKMARK_INTERVAL);
                ticker.tick().await;
                loop {
                    tokio::select! {
                        _ = &mut deadline => break,
                        _ = drops.changed() => return,
                        _ = ticker.tick(), if bookmarks => {
                            if tx.send(encode("BOOKMARK", &bookmark(rt, progress))).await.is_err() {
                                return;
                            }
                        }
                        received = events.recv() => match received {
                            Ok(e) => {
                                if e.rv <= progress {
                                    continue;
                                }
                                progress = e.rv;
                                if let Some(kind) = filter.translate(&e)
                                    && tx.send(encode(kind.as_str(), &e.object)).await.is_err()
                                {
                                    return;
                                }
                            }
                            // A watcher too slow to keep up is closed; the client re-watches.
                            Err(RecvError::Lagged(_)) | Err(RecvError::Closed) => return,
                        },
                    }
                }
                if bookmarks {
                    let _ = tx.send(encode("BOOKMARK", &bookmark(rt, progress))).await;
                }
            });
        }
    }

    let stream = rx.map(|b| Ok::<_, std::convert::Infallible>(Frame::data(b)));
    let mut r = Response::new(StreamBody::new(stream).boxed_unsync());
    let ct = match output {
        Output::Json => "application/json".to_string(),
        o => o.content_type(false),
    };
    if let Ok(v) = HeaderValue::from_str(&ct) {
        r.headers_mut().insert(CONTENT_TYPE, v);
    }
    Ok(r)
}

/// A BOOKMARK object: only the kind and the resourceVersion the watch has reached.
fn bookmark(rt: &ResourceType, rv: u64) -> Value {
    json!({
        "kind": rt.kind,
        "apiVersion": rt.api_version(),
        "metadata": {"resourceVersion": rv.to_string(), "creationTimestamp": null},
    })
}
