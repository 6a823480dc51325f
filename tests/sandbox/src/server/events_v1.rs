//! `events.k8s.io/v1` Events. The real server stores one kind of Event and serves it in both
//! groups; so does the sandbox: requests are converted to core/v1 Events, handled as such,
//! and the answers converted back (objects, lists and watch events; Tables and Status
//! objects pass through).

use bytes::Bytes;
use http_body_util::BodyExt;
use hyper::Response;
use hyper::body::Frame;
use serde_json::{Map, Value};

use super::route::ResourceRoute;
use super::{ApiRequest, Body, State, error, full};
use crate::error::{ApiError, ApiResult};
use crate::resources;

/// `events.k8s.io/v1` field ↔ core/v1 field.
const RENAMES: &[(&str, &str)] = &[
    ("regarding", "involvedObject"),
    ("note", "message"),
    ("reportingController", "reportingComponent"),
    ("deprecatedSource", "source"),
    ("deprecatedFirstTimestamp", "firstTimestamp"),
    ("deprecatedLastTimestamp", "lastTimestamp"),
    ("deprecatedCount", "count"),
];

const API_VERSION: &str = "events.k8s.io/v1";

fn rename(obj: &mut Value, to_core: bool, api_version: &str) {
    let Some(map) = obj.as_object_mut() else {
        return;
    };
    let mut renamed = Map::new();
    for (k, v) in std::mem::take(map) {
        let key = RENAMES
            .iter()
            .find(|(v1, core)| if to_core { v1 == &k } else { core == &k })
            .map(|(v1, core)| if to_core { *core } else { *v1 })
            .unwrap_or(&k)
            .to_string();
        renamed.insert(key, v);
    }
    if renamed.contains_key("apiVersion") {
        renamed.insert("apiVersion".into(), Value::from(api_version));
    }
    *map = renamed;
}

/// A core/v1 Event as an `events.k8s.io/v1` one.
pub fn to_v1(mut obj: Value) -> Value {
    rename(&mut obj, false, API_VERSION);
    obj
}

/// An `events.k8s.io/v1` Event as a core/v1 one.
pub fn to_core(mut obj: Value) -> Value {
    rename(&mut obj, true, "v1");
    obj
}

/// The request body in core/v1 terms: objects and merge-style patches have their fields
/// renamed, JSON patches their paths.
fn core_body(req: &ApiRequest, verb: &str) -> ApiResult<Bytes> {
    if !matches!(verb, "create" | "update" | "patch") || req.body.is_empty() {
        return Ok(req.body.clone());
    }
    let ct = req.content_type().unwrap_or("application/json");
    let parsed: Value = if ct.starts_with("application/apply-patch+yaml") {
        serde_yaml::from_slice(&req.body)
            .map_err(|e| ApiError::bad_request(format!("error decoding YAML: {e}")))?
    } else {
        serde_json::from_slice(&req.body)
            .map_err(|e| ApiError::bad_request(format!("error decoding the body: {e}")))?
    };
    let converted = match parsed {
        Value::Array(ops) => Value::Array(
            ops.into_iter()
                .map(|mut op| {
                    for field in ["path", "from"] {
                        if let Some(p) = op[field].as_str() {
                            op[field] = Value::from(core_path(p));
                        }
                    }
                    op
                })
                .collect(),
        ),
        other => to_core(other),
    };
    Ok(Bytes::from(
        serde_json::to_vec(&converted).unwrap_or_default(),
    ))
}

fn core_path(path: &str) -> String {
    let rest = path.strip_prefix('/').unwrap_or(path);
    let (first, tail) = rest.split_once('/').map_or((rest, ""), |(f, t)| (f, t));
    let first = RENAMES
        .iter()
        .find(|(v1, _)| *v1 == first)
        .map_or(first, |(_, core)| *core);
    if tail.is_empty() {
        format!("/{first}")
    } else {
        format!("/{first}/{tail}")
    }
}

/// Converts a whole answer (an Event or an EventList); anything else is returned as is.
fn convert_answer(v: Value) -> Value {
    match v["kind"].as_str() {
        Some("Event") => to_v1(v),
        Some("EventList") => {
            let mut list = v;
            list["apiVersion"] = Value::from(API_VERSION);
            if let Some(items) = list["items"].as_array_mut() {
                for item in items.iter_mut() {
                    *item = to_v1(std::mem::take(item));
                }
            }
            list
        }
        _ => v,
    }
}

pub async fn handle(
    state: &std::sync::Arc<State>,
    req: &ApiRequest,
    res: &ResourceRoute,
    verb: &str,
) -> Response<Body> {
    let body = match core_body(req, verb) {
        Ok(b) => b,
        Err(e) => return error(&e),
    };
    let core_req = ApiRequest {
        method: req.method.clone(),
        path: req.path.clone(),
        query: req.query.clone(),
        headers: req.headers.clone(),
        body,
        warnings: std::sync::Mutex::new(Vec::new()),
    };
    let core_res = ResourceRoute {
        rt: &resources::EVENTS,
        namespace: res.namespace.clone(),
        name: res.name.clone(),
        subresource: res.subresource.clone(),
        watch_path: res.watch_path,
    };
    let response = super::rest::handle(state, &core_req, &core_res, verb).await;
    for w in core_req
        .warnings
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .drain(..)
    {
        req.warn(w);
    }
    let (parts, body) = response.into_parts();
    if verb == "watch" {
        let body = body.map_frame(|frame| match frame.into_data() {
            Ok(line) => Frame::data(convert_watch_line(&line)),
            Err(other) => other,
        });
        return Response::from_parts(parts, body.boxed_unsync());
    }
    let bytes = match body.collect().await {
        Ok(c) => c.to_bytes(),
        Err(never) => match never {},
    };
    let converted = match serde_json::from_slice::<Value>(&bytes) {
        Ok(v) => serde_json::to_vec(&convert_answer(v)).unwrap_or_default(),
        Err(_) => bytes.to_vec(),
    };
    Response::from_parts(parts, full(converted))
}

/// One watch event line with its object converted.
fn convert_watch_line(line: &Bytes) -> Bytes {
    let Ok(mut event) = serde_json::from_slice::<Value>(line) else {
        return line.clone();
    };
    let object = std::mem::take(&mut event["object"]);
    event["object"] = if event["type"] == "BOOKMARK" {
        let mut b = object;
        b["apiVersion"] = Value::from(API_VERSION);
        b
    } else {
        convert_answer(object)
    };
    let mut out = serde_json::to_vec(&event).unwrap_or_default();
    out.push(b'\n');
    Bytes::from(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn fields_and_paths_convert_both_ways() {
        let v1 = json!({"apiVersion": "events.k8s.io/v1", "kind": "Event", "note": "hi",
            "regarding": {"kind": "Pod", "name": "p"}, "reason": "Started", "deprecatedCount": 2});
        let core = to_core(v1.clone());
        assert_eq!(core["apiVersion"], "v1");
        assert_eq!(core["message"], "hi");
        assert_eq!(core["involvedObject"]["name"], "p");
        assert_eq!(core["count"], 2);
        assert_eq!(to_v1(core), v1);
        assert_eq!(core_path("/note"), "/message");
        assert_eq!(core_path("/regarding/name"), "/involvedObject/name");
        assert_eq!(core_path("/reason"), "/reason");
    }
}
