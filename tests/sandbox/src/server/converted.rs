//! Types served through a conversion, as the real server serves one stored type in several
//! versions: `events.k8s.io/v1` Events (stored as core/v1 Events) and `autoscaling/v1`
//! HorizontalPodAutoscalers (stored as autoscaling/v2). Requests are converted to the stored
//! type, handled as such, and the answers converted back (objects, lists and watch events;
//! Tables and Status objects pass through).

use bytes::Bytes;
use http_body_util::BodyExt;
use hyper::Response;
use hyper::body::Frame;
use serde_json::{Map, Value};

use super::route::ResourceRoute;
use super::{ApiRequest, Body, State, error, full};
use crate::error::{ApiError, ApiResult};
use crate::resources::{self, ResourceType};

/// The conversions.
#[derive(Clone, Copy)]
enum Conversion {
    EventsV1,
    HpaV1,
}

impl Conversion {
    fn of(rt: &ResourceType) -> Option<Conversion> {
        if std::ptr::eq(rt, &resources::EVENTS_V1) {
            Some(Conversion::EventsV1)
        } else if std::ptr::eq(rt, &resources::HORIZONTALPODAUTOSCALERS_V1) {
            Some(Conversion::HpaV1)
        } else {
            None
        }
    }

    fn kind(self) -> &'static str {
        match self {
            Conversion::EventsV1 => "Event",
            Conversion::HpaV1 => "HorizontalPodAutoscaler",
        }
    }

    fn api_version(self) -> &'static str {
        match self {
            Conversion::EventsV1 => API_VERSION,
            Conversion::HpaV1 => "autoscaling/v1",
        }
    }

    fn to_served(self, obj: Value) -> Value {
        match self {
            Conversion::EventsV1 => to_v1(obj),
            Conversion::HpaV1 => hpa_to_v1(obj),
        }
    }

    fn to_stored(self, obj: Value) -> Value {
        match self {
            Conversion::EventsV1 => to_core(obj),
            Conversion::HpaV1 => hpa_to_v2(obj),
        }
    }

    fn stored_path(self, path: &str) -> String {
        match self {
            Conversion::EventsV1 => core_path(path),
            Conversion::HpaV1 => path.to_string(),
        }
    }
}

/// An `autoscaling/v2` HorizontalPodAutoscaler in `autoscaling/v1` terms: the CPU
/// utilization target and current value; other metrics, behavior and conditions are not
/// shown (the real server keeps them in annotations).
pub fn hpa_to_v1(mut obj: Value) -> Value {
    if obj.get("apiVersion").is_some() {
        obj["apiVersion"] = Value::from("autoscaling/v1");
    }
    if let Some(spec) = obj.get_mut("spec").and_then(Value::as_object_mut) {
        let cpu = spec
            .get("metrics")
            .and_then(Value::as_array)
            .and_then(|ms| ms.iter().find(|m| m["resource"]["name"] == "cpu"))
            .and_then(|m| m["resource"]["target"]["averageUtilization"].as_i64());
        spec.remove("metrics");
        spec.remove("behavior");
        if let Some(cpu) = cpu {
            spec.insert("targetCPUUtilizationPercentage".into(), Value::from(cpu));
        }
    }
    if let Some(status) = obj.get_mut("status").and_then(Value::as_object_mut) {
        let cpu = status
            .get("currentMetrics")
            .and_then(Value::as_array)
            .and_then(|ms| ms.iter().find(|m| m["resource"]["name"] == "cpu"))
            .and_then(|m| m["resource"]["current"]["averageUtilization"].as_i64());
        status.remove("currentMetrics");
        status.remove("conditions");
        if let Some(cpu) = cpu {
            status.insert("currentCPUUtilizationPercentage".into(), Value::from(cpu));
        }
    }
    obj
}

/// An `autoscaling/v1` HorizontalPodAutoscaler (or patch) in `autoscaling/v2` terms.
pub fn hpa_to_v2(mut obj: Value) -> Value {
    if obj.get("apiVersion").is_some() {
        obj["apiVersion"] = Value::from("autoscaling/v2");
    }
    if let Some(spec) = obj.get_mut("spec").and_then(Value::as_object_mut)
        && let Some(cpu) = spec.remove("targetCPUUtilizationPercentage")
    {
        let metrics = if cpu.is_null() {
            Value::Null
        } else {
            serde_json::json!([{"type": "Resource", "resource": {"name": "cpu",
                "target": {"type": "Utilization", "averageUtilization": cpu}}}])
        };
        spec.insert("metrics".into(), metrics);
    }
    if let Some(status) = obj.get_mut("status").and_then(Value::as_object_mut)
        && let Some(cpu) = status.remove("currentCPUUtilizationPercentage")
    {
        status.insert(
            "currentMetrics".into(),
            serde_json::json!([{"type": "Resource", "resource": {"name": "cpu",
                "current": {"averageUtilization": cpu}}}]),
        );
    }
    obj
}

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
fn stored_body(conv: Conversion, req: &ApiRequest, verb: &str) -> ApiResult<Bytes> {
    if !matches!(verb, "create" | "update" | "patch") || req.body.is_empty() {
        return Ok(req.body.clone());
    }
    let ct = req.content_type().unwrap_or("application/json");
    let parsed: Value = if ct.starts_with("application/vnd.kubernetes.protobuf") {
        super::protobuf::object(&req.body).ok_or_else(|| ApiError::unsupported_body_type(ct))?
    } else if ct.starts_with("application/apply-patch+yaml") {
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
                            op[field] = Value::from(conv.stored_path(p));
                        }
                    }
                    op
                })
                .collect(),
        ),
        other => conv.to_stored(other),
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

/// Converts a whole answer (an object or a list of the converted kind); anything else is
/// returned as is.
fn convert_answer(conv: Conversion, v: Value) -> Value {
    let kind = v["kind"].as_str().unwrap_or("");
    if kind == conv.kind() {
        return conv.to_served(v);
    }
    if kind == format!("{}List", conv.kind()) {
        let mut list = v;
        list["apiVersion"] = Value::from(conv.api_version());
        if let Some(items) = list["items"].as_array_mut() {
            for item in items.iter_mut() {
                *item = conv.to_served(std::mem::take(item));
            }
        }
        return list;
    }
    v
}

pub async fn handle(
    state: &std::sync::Arc<State>,
    req: &ApiRequest,
    res: &ResourceRoute,
    verb: &str,
) -> Response<Body> {
    let (Some(conv), Some(stored_rt)) = (Conversion::of(res.rt), resources::stored_as(res.rt))
    else {
        return error(&ApiError::path_not_found());
    };
    let body = match stored_body(conv, req, verb) {
        Ok(b) => b,
        Err(e) => return error(&e),
    };
    let mut headers = req.headers.clone();
    if req
        .content_type()
        .is_some_and(|ct| ct.starts_with("application/vnd.kubernetes.protobuf"))
    {
        // The converted body is JSON.
        headers.insert(
            hyper::header::CONTENT_TYPE,
            hyper::header::HeaderValue::from_static("application/json"),
        );
    }
    let core_req = ApiRequest {
        method: req.method.clone(),
        path: req.path.clone(),
        query: req.query.clone(),
        headers,
        body,
        warnings: std::sync::Mutex::new(Vec::new()),
    };
    let core_res = ResourceRoute {
        rt: stored_rt,
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
        let body = body.map_frame(move |frame| match frame.into_data() {
            Ok(line) => Frame::data(convert_watch_line(conv, &line)),
            Err(other) => other,
        });
        return Response::from_parts(parts, body.boxed_unsync());
    }
    let bytes = match body.collect().await {
        Ok(c) => c.to_bytes(),
        Err(never) => match never {},
    };
    let converted = match serde_json::from_slice::<Value>(&bytes) {
        Ok(v) => serde_json::to_vec(&convert_answer(conv, v)).unwrap_or_default(),
        Err(_) => bytes.to_vec(),
    };
    Response::from_parts(parts, full(converted))
}

/// One watch event line with its object converted.
fn convert_watch_line(conv: Conversion, line: &Bytes) -> Bytes {
    let Ok(mut event) = serde_json::from_slice::<Value>(line) else {
        return line.clone();
    };
    let object = std::mem::take(&mut event["object"]);
    event["object"] = if event["type"] == "BOOKMARK" {
        let mut b = object;
        b["apiVersion"] = Value::from(conv.api_version());
        b
    } else {
        convert_answer(conv, object)
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

    #[test]
    fn hpa_cpu_target_converts_both_ways() {
        let v1 = json!({"apiVersion": "autoscaling/v1", "kind": "HorizontalPodAutoscaler",
            "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "web"}, "minReplicas": 2,
                     "maxReplicas": 5, "targetCPUUtilizationPercentage": 80}});
        let v2 = hpa_to_v2(v1.clone());
        assert_eq!(v2["apiVersion"], "autoscaling/v2");
        assert_eq!(
            v2["spec"]["metrics"][0]["resource"]["target"]["averageUtilization"],
            80
        );
        assert!(v2["spec"].get("targetCPUUtilizationPercentage").is_none());
        assert_eq!(hpa_to_v1(v2), v1);
    }
}
