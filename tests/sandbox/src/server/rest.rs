//! The REST verbs on resources: get, list, create, update, patch, delete and
//! deletecollection, the `status` and `scale` subresources, and SelfSubjectAccessReviews.

use std::sync::Arc;

use base64::Engine as _;
use hyper::Response;
use serde_json::{Value, json};

use super::{ApiRequest, Body, Output, State, error, typed};
use crate::error::{ApiError, ApiResult};
use crate::patch::{self, PatchType};
use crate::rbac::Attributes;
use crate::resources::{self, ResourceType};
use crate::selector::{FieldSelector, LabelSelector};
use crate::server::route::ResourceRoute;
use crate::store::{CreateOpts, DeleteOpts, Propagation, UpdateOpts, UpdateScope};
use crate::{fields, table};

pub async fn handle(
    state: &Arc<State>,
    req: &ApiRequest,
    res: &ResourceRoute,
    verb: &str,
) -> Response<Body> {
    if !res.rt.verbs.contains(&verb) && verb != "watch" {
        return error(&ApiError::method_not_allowed(format!(
            "the server does not allow this method on the requested resource ({verb} {})",
            res.rt.plural
        )));
    }
    if verb == "watch" {
        return super::watch::watch(state, req, res).await;
    }
    let mut response = respond(state, req, res, verb);
    if std::ptr::eq(res.rt, &resources::ENDPOINTS) {
        // What a v1.33 server says about every v1 Endpoints request.
        response.headers_mut().insert(
            "warning",
            hyper::header::HeaderValue::from_static(
                "299 - \"v1 Endpoints is deprecated in v1.33+; use discovery.k8s.io/v1 EndpointSlice\"",
            ),
        );
    }
    response
}

fn respond(
    state: &Arc<State>,
    req: &ApiRequest,
    res: &ResourceRoute,
    verb: &str,
) -> Response<Body> {
    let result = match verb {
        "get" => get(state, req, res),
        "list" => list(state, req, res),
        "create" => create(state, req, res),
        "update" => update(state, req, res),
        "patch" => patch_object(state, req, res),
        "delete" => delete(state, req, res),
        "deletecollection" => delete_collection(state, req, res),
        _ => Err(ApiError::method_not_allowed("unsupported verb")),
    };
    match result {
        Ok((code, body, output)) => typed(code, &body, output),
        Err(e) => error(&e),
    }
}

type Answer = ApiResult<(u16, Value, Output)>;

fn namespace(res: &ResourceRoute) -> &str {
    res.namespace.as_deref().unwrap_or("")
}

fn name(res: &ResourceRoute) -> &str {
    res.name.as_deref().unwrap_or("")
}

/// The stored object, or 404.
fn stored(state: &State, res: &ResourceRoute) -> ApiResult<Arc<Value>> {
    state
        .store
        .get(res.rt, namespace(res), name(res))
        .ok_or_else(|| ApiError::not_found(res.rt.group, res.rt.plural, name(res)))
}

/// `dryRun`: only `All` is a valid value, as in the real server.
fn dry_run(req: &ApiRequest) -> ApiResult<bool> {
    let values: Vec<&str> = req
        .query
        .iter()
        .filter(|(k, _)| k == "dryRun")
        .map(|(_, v)| v.as_str())
        .collect();
    if values.is_empty() {
        return Ok(false);
    }
    if values.iter().all(|v| *v == "All") {
        Ok(true)
    } else {
        Err(ApiError::bad_request(format!(
            "Invalid dry run value: {:?}: valid values are [\"All\"]",
            values
        )))
    }
}

/// `fieldValidation`, accepted as the real server accepts it.
fn check_field_validation(req: &ApiRequest) -> ApiResult<()> {
    match req.param("fieldValidation") {
        None | Some("" | "Ignore" | "Warn" | "Strict") => Ok(()),
        Some(other) => Err(ApiError::bad_request(format!(
            "fieldValidation must be one of \"Ignore\", \"Warn\", or \"Strict\", got {other:?}"
        ))),
    }
}

/// An object as one representation or another (a Table row, its metadata, itself).
fn render_one(rt: &ResourceType, obj: &Value, output: Output, req: &ApiRequest) -> (Value, Output) {
    match output {
        Output::Table(v) => (
            table::table(rt, &[obj], v, include_object(req), json!({})),
            output,
        ),
        Output::Metadata(v) => (partial_metadata(obj, v), output),
        _ => (obj.clone(), Output::Json),
    }
}

fn include_object(req: &ApiRequest) -> table::Include {
    match req.param("includeObject") {
        Some("None") => table::Include::None,
        Some("Object") => table::Include::Object,
        _ => table::Include::Metadata,
    }
}

pub fn partial_metadata(obj: &Value, version: &str) -> Value {
    json!({
        "kind": "PartialObjectMetadata",
        "apiVersion": format!("meta.k8s.io/{version}"),
        "metadata": obj["metadata"],
    })
}

fn get(state: &State, req: &ApiRequest, res: &ResourceRoute) -> Answer {
    let obj = stored(state, res)?;
    if res.subresource.as_deref() == Some("scale") {
        return Ok((200, scale_of(res.rt, &obj), Output::Json));
    }
    let (body, output) = render_one(res.rt, &obj, req.output(), req);
    Ok((200, body, output))
}

/// Field selectors each resource supports (the real server's field label conversions).
pub fn field_labels(rt: &ResourceType) -> &'static [&'static str] {
    match rt.plural {
        "pods" => &[
            "metadata.name",
            "metadata.namespace",
            "spec.nodeName",
            "spec.restartPolicy",
            "spec.schedulerName",
            "spec.serviceAccountName",
            "spec.hostNetwork",
            "status.phase",
            "status.podIP",
            "status.nominatedNodeName",
        ],
        "events" => &[
            "metadata.name",
            "metadata.namespace",
            "involvedObject.kind",
            "involvedObject.namespace",
            "involvedObject.name",
            "involvedObject.uid",
            "involvedObject.apiVersion",
            "involvedObject.resourceVersion",
            "involvedObject.fieldPath",
            "reason",
            "reportingComponent",
            "source",
            "type",
        ],
        "namespaces" => &["metadata.name", "status.phase"],
        "replicasets" => &["metadata.name", "metadata.namespace", "status.replicas"],
        "services" => &[
            "metadata.name",
            "metadata.namespace",
            "spec.clusterIP",
            "spec.type",
        ],
        _ => &["metadata.name", "metadata.namespace"],
    }
}

/// The label and field selectors of a list or watch.
pub fn selectors(req: &ApiRequest, rt: &ResourceType) -> ApiResult<(LabelSelector, FieldSelector)> {
    let labels = LabelSelector::parse(req.param("labelSelector").unwrap_or(""))?;
    let fields = FieldSelector::parse(req.param("fieldSelector").unwrap_or(""), field_labels(rt))?;
    Ok((labels, fields))
}

/// A list continuation: the list's resourceVersion and the last key returned.
#[derive(serde::Serialize, serde::Deserialize)]
struct Continue {
    rv: u64,
    ns: String,
    name: String,
}

fn decode_continue(token: &str) -> ApiResult<Continue> {
    let bad = || ApiError::bad_request("continue key is not valid: illegal base64 data");
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(token)
        .map_err(|_| bad())?;
    serde_json::from_slice(&raw).map_err(|_| bad())
}

fn list(state: &State, req: &ApiRequest, res: &ResourceRoute) -> Answer {
    let rt = res.rt;
    let (labels, fields) = selectors(req, rt)?;
    let limit = match req.param("limit") {
        None | Some("") => 0,
        Some(l) => l
            .parse::<i64>()
            .map_err(|_| ApiError::bad_request(format!("invalid limit: {l:?}")))?
            .max(0) as usize,
    };
    let cont = match req.param("continue") {
        None | Some("") => None,
        Some(t) => Some(decode_continue(t)?),
    };
    if let Some(c) = &cont
        && c.rv < state.store.compacted_rv()
    {
        return Err(ApiError::gone(
            "The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list.",
        ));
    }
    let (items, rv) = state.store.list(rt, res.namespace.as_deref(), |o| {
        labels.matches_object(o) && fields.matches(o)
    });
    let list_rv = cont.as_ref().map_or(rv, |c| c.rv);
    let key = |o: &Value| {
        (
            o["metadata"]["namespace"]
                .as_str()
                .unwrap_or("")
                .to_string(),
            o["metadata"]["name"].as_str().unwrap_or("").to_string(),
        )
    };
    let start = match &cont {
        None => 0,
        Some(c) => {
            let after = (c.ns.clone(), c.name.clone());
            items.partition_point(|o| key(o) <= after)
        }
    };
    let rest = &items[start..];
    let page = if limit > 0 && rest.len() > limit {
        &rest[..limit]
    } else {
        rest
    };
    let mut metadata = json!({"resourceVersion": list_rv.to_string()});
    if page.len() < rest.len()
        && let Some(last) = page.last()
    {
        let (ns, name) = key(last);
        let token = serde_json::to_vec(&Continue {
            rv: list_rv,
            ns,
            name,
        })
        .unwrap_or_default();
        metadata["continue"] =
            json!(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(token));
        if labels.is_empty() && fields.is_empty() {
            metadata["remainingItemCount"] = json!(rest.len() - page.len());
        }
    }
    let output = req.output();
    let body = match output {
        Output::Table(v) => {
            let objs: Vec<&Value> = page.iter().map(|o| o.as_ref()).collect();
            table::table(rt, &objs, v, include_object(req), metadata)
        }
        Output::Metadata(v) => json!({
            "kind": "PartialObjectMetadataList",
            "apiVersion": format!("meta.k8s.io/{v}"),
            "metadata": metadata,
            "items": page.iter().map(|o| partial_metadata(o, v)).collect::<Vec<_>>(),
        }),
        _ => json!({
            "kind": format!("{}List", rt.kind),
            "apiVersion": rt.api_version(),
            "metadata": metadata,
            // The real server leaves kind and apiVersion out of list items.
            "items": page.iter().map(|o| without_type(o)).collect::<Vec<_>>(),
        }),
    };
    Ok((
        200,
        body,
        if matches!(output, Output::Discovery(_)) {
            Output::Json
        } else {
            output
        },
    ))
}

fn without_type(o: &Value) -> Value {
    let mut o = o.clone();
    if let Some(m) = o.as_object_mut() {
        m.remove("kind");
        m.remove("apiVersion");
    }
    o
}

/// The request body as JSON (or YAML, which kubectl may send for apply).
fn body_object(req: &ApiRequest) -> ApiResult<Value> {
    let ct = req.content_type().unwrap_or("application/json");
    let media = ct.split(';').next().unwrap_or("").trim();
    let v: Value = match media {
        "application/json" | "" | "*/*" => serde_json::from_slice(&req.body).map_err(|e| {
            ApiError::bad_request(format!("couldn't get version/kind; json parse error: {e}"))
        })?,
        "application/yaml" | "application/apply-patch+yaml" => serde_yaml::from_slice(&req.body)
            .map_err(|e| ApiError::bad_request(format!("error converting YAML to JSON: {e}")))?,
        other => return Err(ApiError::unsupported_body_type(other)),
    };
    if !v.is_object() {
        return Err(ApiError::bad_request(
            "the body of the request is not a JSON object",
        ));
    }
    Ok(v)
}

/// A body whose kind or apiVersion names another type is rejected, as the real decoder does.
fn check_type(rt: &ResourceType, body: &Value) -> ApiResult<()> {
    if let Some(kind) = body["kind"].as_str()
        && !kind.is_empty()
        && kind != rt.kind
    {
        return Err(ApiError::bad_request(format!(
            "the kind in the body ({kind}) does not match the kind on the URL ({})",
            rt.kind
        )));
    }
    if let Some(av) = body["apiVersion"].as_str()
        && !av.is_empty()
        && av != rt.api_version()
    {
        return Err(ApiError::bad_request(format!(
            "the API version in the data ({av}) does not match the expected API version ({})",
            rt.api_version()
        )));
    }
    Ok(())
}

fn create(state: &State, req: &ApiRequest, res: &ResourceRoute) -> Answer {
    let dry = dry_run(req)?;
    check_field_validation(req)?;
    if res.subresource.is_some() {
        return Err(ApiError::method_not_allowed(
            "the server does not allow this method on the requested resource",
        ));
    }
    let is_review = std::ptr::eq(res.rt, &resources::SELFSUBJECTACCESSREVIEWS);
    let content_type = req.content_type().unwrap_or("");
    let body = if content_type.starts_with("application/vnd.kubernetes.protobuf") {
        super::protobuf::object(&req.body)
            .ok_or_else(|| ApiError::unsupported_body_type(content_type))?
    } else {
        body_object(req)?
    };
    check_type(res.rt, &body)?;
    if is_review {
        return Ok((201, access_review(state, body), Output::Json));
    }
    let mut body = body;
    unknown_fields(req, res.rt, &mut body, &[])?;
    let ns = match (&res.namespace, res.rt.namespaced) {
        (Some(ns), _) => ns.clone(),
        (None, true) => {
            return Err(ApiError::path_not_found());
        }
        (None, false) => String::new(),
    };
    super::namespaces::check_not_terminating(&state.store, res.rt, &ns)?;
    let created = state.store.create(
        res.rt,
        &ns,
        body,
        CreateOpts {
            dry_run: dry,
            keep_status: false,
        },
    )?;
    Ok((201, created, Output::Json))
}

fn access_review(state: &State, body: Value) -> Value {
    let spec = body["spec"].clone();
    let ra = &spec["resourceAttributes"];
    let allowed = if ra.is_object() {
        let s = |k: &str| ra[k].as_str().unwrap_or("").to_string();
        let (verb, resource, sub, ns) =
            (s("verb"), s("resource"), s("subresource"), s("namespace"));
        let policy = super::policy(state);
        policy.allows(&Attributes {
            verb: &verb,
            resource: &resource,
            subresource: (!sub.is_empty()).then_some(sub.as_str()),
            namespace: (!ns.is_empty()).then_some(ns.as_str()),
        })
    } else {
        // Non-resource URLs (discovery, /version, /healthz) are open to every user.
        true
    };
    let mut status = json!({"allowed": allowed});
    if allowed {
        status["reason"] = json!("RBAC: allowed by the sandbox policy");
    }
    json!({
        "kind": "SelfSubjectAccessReview",
        "apiVersion": "authorization.k8s.io/v1",
        "metadata": {"creationTimestamp": null},
        "spec": spec,
        "status": status,
    })
}

fn scope(res: &ResourceRoute) -> UpdateScope {
    match res.subresource.as_deref() {
        Some("status") => UpdateScope::Status,
        _ => UpdateScope::Main,
    }
}

fn update(state: &State, req: &ApiRequest, res: &ResourceRoute) -> Answer {
    let dry = dry_run(req)?;
    check_field_validation(req)?;
    let body = body_object(req)?;
    if res.subresource.as_deref() == Some("scale") {
        return write_scale(state, res, body, dry);
    }
    check_type(res.rt, &body)?;
    let mut body = body;
    unknown_fields(req, res.rt, &mut body, &[])?;
    let updated = state.store.update(
        res.rt,
        namespace(res),
        name(res),
        body,
        UpdateOpts {
            dry_run: dry,
            scope: scope(res),
        },
    )?;
    Ok((200, updated, Output::Json))
}

fn patch_object(state: &State, req: &ApiRequest, res: &ResourceRoute) -> Answer {
    let dry = dry_run(req)?;
    check_field_validation(req)?;
    let ct = req.content_type().unwrap_or("");
    let Some(kind) = PatchType::from_content_type(ct) else {
        return Err(ApiError::unsupported_media_type(ct));
    };
    let patch_body = || -> ApiResult<Value> {
        serde_json::from_slice(&req.body)
            .map_err(|e| ApiError::bad_request(format!("error decoding patch: {e}")))
    };
    let apply = |old: &Value, target_kind: &str| -> ApiResult<Value> {
        match kind {
            PatchType::Json => patch::json_patch(old, &req.body),
            PatchType::Merge => patch::merge_patch(old, &patch_body()?),
            PatchType::Strategic => patch::strategic_merge(old, &patch_body()?, target_kind),
            PatchType::Apply => patch::apply_merge(old, &applied_config(req)?, target_kind),
        }
    };
    if res.subresource.as_deref() == Some("scale") {
        let obj = stored(state, res)?;
        let scale = apply(&scale_of(res.rt, &obj), "Scale")?;
        return write_scale(state, res, scale, dry);
    }
    if kind == PatchType::Apply {
        return server_side_apply(state, req, res, dry);
    }
    let patched = state.store.update_with(
        res.rt,
        namespace(res),
        name(res),
        UpdateOpts {
            dry_run: dry,
            scope: scope(res),
        },
        |old| checked(req, res.rt, old, apply(old, res.rt.kind)?),
    )?;
    Ok((200, patched, Output::Json))
}

/// A patch result with its unknown fields handled; fields the stored object already had
/// (objects loaded around the API) are not the patch's fault.
fn checked(req: &ApiRequest, rt: &ResourceType, old: &Value, mut new: Value) -> ApiResult<Value> {
    let already = fields::prune_unknown(rt, &mut old.clone());
    unknown_fields(req, rt, &mut new, &already)?;
    Ok(new)
}

/// Drops fields the type does not have, as the real decoder does, and tells the client:
/// a warning per field (`fieldValidation=Warn`, the default), nothing (`Ignore`), or 400
/// (`Strict`). `already` are paths not to report.
fn unknown_fields(
    req: &ApiRequest,
    rt: &ResourceType,
    obj: &mut Value,
    already: &[String],
) -> ApiResult<()> {
    let unknown: Vec<String> = fields::prune_unknown(rt, obj)
        .into_iter()
        .filter(|f| !already.contains(f))
        .collect();
    if unknown.is_empty() {
        return Ok(());
    }
    let each: Vec<String> = unknown
        .iter()
        .map(|f| format!("unknown field \"{f}\""))
        .collect();
    match req.param("fieldValidation") {
        Some("Strict") => Err(ApiError::bad_request(format!(
            "{kind} in version \"{version}\" cannot be handled as a {kind}: strict decoding error: {}",
            each.join(", "),
            kind = rt.kind,
            version = rt.version,
        ))),
        Some("Ignore") => Ok(()),
        _ => {
            for w in each {
                req.warn(w);
            }
            Ok(())
        }
    }
}

/// Server-side apply: create, or merge the applied configuration into the live object and
/// remove what this field manager applied last time and no longer does.
fn server_side_apply(state: &State, req: &ApiRequest, res: &ResourceRoute, dry: bool) -> Answer {
    let manager = req.param("fieldManager").unwrap_or("");
    if manager.is_empty() {
        return Err(ApiError::invalid(
            "meta.k8s.io",
            "PatchOptions",
            "",
            vec![(
                "fieldManager".into(),
                "Required value: is required for apply patch".into(),
            )],
        ));
    }
    let applied = applied_config(req)?;
    check_type(res.rt, &applied)?;
    if applied["apiVersion"].as_str().unwrap_or("").is_empty()
        || applied["kind"].as_str().unwrap_or("").is_empty()
    {
        return Err(ApiError::bad_request(
            "apiVersion and kind must be set in an applied configuration",
        ));
    }
    let mut applied = applied;
    unknown_fields(req, res.rt, &mut applied, &[])?;
    if state.store.get(res.rt, namespace(res), name(res)).is_none() && res.subresource.is_none() {
        super::namespaces::check_not_terminating(&state.store, res.rt, namespace(res))?;
        let mut obj = applied.clone();
        obj["metadata"]["name"] = json!(name(res));
        let created = state.store.create(
            res.rt,
            namespace(res),
            obj,
            CreateOpts {
                dry_run: dry,
                keep_status: false,
            },
        )?;
        if !dry {
            remember_applied(state, &created, manager, applied);
        }
        return Ok((201, created, Output::Json));
    }
    let patched = state.store.update_with(
        res.rt,
        namespace(res),
        name(res),
        UpdateOpts {
            dry_run: dry,
            scope: scope(res),
        },
        |old| {
            let mut merged = patch::apply_merge(old, &applied, res.rt.kind)?;
            if let Some(prev) = applied_before(state, old, manager) {
                patch::remove_dropped(&mut merged, &prev, &applied, res.rt.kind);
            }
            Ok(merged)
        },
    )?;
    if !dry {
        remember_applied(state, &patched, manager, applied);
    }
    Ok((200, patched, Output::Json))
}

fn applied_key(obj: &Value, manager: &str) -> String {
    format!(
        "{}/{manager}",
        obj["metadata"]["uid"].as_str().unwrap_or("")
    )
}

/// What `manager` last applied to this object (by uid, so a re-created object starts over).
fn applied_before(state: &State, obj: &Value, manager: &str) -> Option<Value> {
    let applied = state.applied.lock().unwrap_or_else(|e| e.into_inner());
    applied.get(&applied_key(obj, manager)).cloned()
}

fn remember_applied(state: &State, obj: &Value, manager: &str, config: Value) {
    let mut applied = state.applied.lock().unwrap_or_else(|e| e.into_inner());
    applied.insert(applied_key(obj, manager), config);
}

/// The body of a server-side apply: YAML (JSON is YAML too).
fn applied_config(req: &ApiRequest) -> ApiResult<Value> {
    let v: Value = serde_yaml::from_slice(&req.body)
        .map_err(|e| ApiError::bad_request(format!("error decoding YAML: {e}")))?;
    if !v.is_object() {
        return Err(ApiError::bad_request(
            "the applied configuration is not an object",
        ));
    }
    Ok(v)
}

/// The `autoscaling/v1` Scale of a Deployment or ReplicaSet.
pub fn scale_of(rt: &ResourceType, obj: &Value) -> Value {
    let m = &obj["metadata"];
    let selector = LabelSelector::from_object(&obj["spec"]["selector"])
        .map(|s| selector_string(&s))
        .unwrap_or_default();
    let _ = rt;
    json!({
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": {
            "name": m["name"],
            "namespace": m["namespace"],
            "uid": m["uid"],
            "resourceVersion": m["resourceVersion"],
            "creationTimestamp": m["creationTimestamp"],
        },
        "spec": {"replicas": obj["spec"]["replicas"].as_i64().unwrap_or(1)},
        "status": {
            "replicas": obj["status"]["replicas"].as_i64().unwrap_or(0),
            "selector": selector,
        },
    })
}

/// A selector in the query syntax, requirements sorted by key as the real server prints them.
fn selector_string(s: &LabelSelector) -> String {
    use crate::selector::Requirement::*;
    let mut reqs: Vec<(String, String)> = s
        .requirements
        .iter()
        .map(|r| match r {
            Equals(k, v) => (k.clone(), format!("{k}={v}")),
            NotEquals(k, v) => (k.clone(), format!("{k}!={v}")),
            In(k, vs) => (k.clone(), format!("{k} in ({})", sorted(vs))),
            NotIn(k, vs) => (k.clone(), format!("{k} notin ({})", sorted(vs))),
            Exists(k) => (k.clone(), k.clone()),
            DoesNotExist(k) => (k.clone(), format!("!{k}")),
        })
        .collect();
    reqs.sort();
    reqs.into_iter()
        .map(|(_, s)| s)
        .collect::<Vec<_>>()
        .join(",")
}

fn sorted(vs: &[String]) -> String {
    let mut v = vs.to_vec();
    v.sort();
    v.join(",")
}

/// Writes a Scale back to its Deployment or ReplicaSet: only `spec.replicas` changes, and
/// the Scale's resourceVersion is a precondition.
fn write_scale(state: &State, res: &ResourceRoute, scale: Value, dry: bool) -> Answer {
    if let Some(kind) = scale["kind"].as_str()
        && kind != "Scale"
    {
        return Err(ApiError::bad_request(format!(
            "the kind in the body ({kind}) is not Scale"
        )));
    }
    let replicas = match &scale["spec"]["replicas"] {
        Value::Null => 0,
        v => v.as_i64().filter(|n| *n >= 0).ok_or_else(|| {
            ApiError::invalid(
                "autoscaling",
                "Scale",
                name(res),
                vec![(
                    "spec.replicas".into(),
                    format!("Invalid value: {v}: must be greater than or equal to 0"),
                )],
            )
        })?,
    };
    let rv = scale["metadata"]["resourceVersion"]
        .as_str()
        .unwrap_or("")
        .to_string();
    let updated = state.store.update_with(
        res.rt,
        namespace(res),
        name(res),
        UpdateOpts {
            dry_run: dry,
            scope: UpdateScope::Main,
        },
        |old| {
            let mut new = old.clone();
            if !rv.is_empty() {
                new["metadata"]["resourceVersion"] = json!(rv);
            }
            new["spec"]["replicas"] = json!(replicas);
            Ok(new)
        },
    )?;
    Ok((200, scale_of(res.rt, &updated), Output::Json))
}

/// DeleteOptions from the body (if any) and the query.
fn delete_options(req: &ApiRequest) -> ApiResult<DeleteOpts> {
    let mut opts = DeleteOpts {
        dry_run: dry_run(req)?,
        ..DeleteOpts::default()
    };
    let body: Value = if req.body.iter().all(u8::is_ascii_whitespace) {
        Value::Null
    } else {
        serde_json::from_slice(&req.body)
            .map_err(|e| ApiError::bad_request(format!("error decoding DeleteOptions: {e}")))?
    };
    let policy = body["propagationPolicy"]
        .as_str()
        .map(str::to_string)
        .or_else(|| req.param("propagationPolicy").map(str::to_string));
    opts.propagation = match policy.as_deref() {
        None | Some("") => match body["orphanDependents"].as_bool() {
            Some(true) => Some(Propagation::Orphan),
            Some(false) => Some(Propagation::Background),
            None => None,
        },
        Some("Background") => Some(Propagation::Background),
        Some("Foreground") => Some(Propagation::Foreground),
        Some("Orphan") => Some(Propagation::Orphan),
        Some(other) => {
            return Err(ApiError::invalid(
                "meta.k8s.io",
                "DeleteOptions",
                "",
                vec![(
                    "propagationPolicy".into(),
                    format!(
                        "Unsupported value: \"{other}\": supported values: \"Foreground\", \"Background\", \"Orphan\", \"nil\""
                    ),
                )],
            ));
        }
    };
    let grace = match body["gracePeriodSeconds"].as_i64() {
        Some(g) => Some(g),
        None => match req.param("gracePeriodSeconds") {
            None | Some("") => None,
            Some(g) => Some(g.parse::<i64>().map_err(|_| {
                ApiError::bad_request(format!("invalid gracePeriodSeconds: {g:?}"))
            })?),
        },
    };
    opts.grace_period_seconds = grace;
    if let Some(dry) = body["dryRun"].as_array() {
        if dry.iter().any(|v| v.as_str() != Some("All")) {
            return Err(ApiError::bad_request(
                "Invalid dry run value: valid values are [\"All\"]",
            ));
        }
        opts.dry_run |= !dry.is_empty();
    }
    let pre = &body["preconditions"];
    opts.uid = pre["uid"].as_str().map(str::to_string);
    opts.resource_version = pre["resourceVersion"].as_str().map(str::to_string);
    Ok(opts)
}

/// Resources whose delete answers with the object (the real registries set
/// `ReturnDeletedObject`); the others answer with a success `Status`.
fn returns_deleted_object(rt: &ResourceType) -> bool {
    matches!(rt.plural, "pods" | "services" | "namespaces")
}

fn delete(state: &State, req: &ApiRequest, res: &ResourceRoute) -> Answer {
    if res.subresource.is_some() {
        return Err(ApiError::method_not_allowed(
            "the server does not allow this method on the requested resource",
        ));
    }
    let opts = delete_options(req)?;
    if std::ptr::eq(res.rt, &resources::NAMESPACES) {
        let ns = super::namespaces::delete(&state.store, name(res), opts.dry_run)?;
        return Ok((200, ns, Output::Json));
    }
    let (obj, removed) = state
        .store
        .delete(res.rt, namespace(res), name(res), &opts)?;
    if removed && !returns_deleted_object(res.rt) {
        let mut details = json!({
            "name": name(res),
            "kind": res.rt.plural,
            "uid": obj["metadata"]["uid"],
        });
        if !res.rt.group.is_empty() {
            details["group"] = json!(res.rt.group);
        }
        return Ok((
            200,
            json!({
                "kind": "Status",
                "apiVersion": "v1",
                "metadata": {},
                "status": "Success",
                "details": details,
            }),
            Output::Json,
        ));
    }
    Ok((200, obj, Output::Json))
}

fn delete_collection(state: &State, req: &ApiRequest, res: &ResourceRoute) -> Answer {
    let opts = delete_options(req)?;
    let (labels, fields) = selectors(req, res.rt)?;
    let (items, _) = state.store.list(res.rt, res.namespace.as_deref(), |o| {
        labels.matches_object(o) && fields.matches(o)
    });
    let mut deleted = Vec::new();
    for o in items {
        let ns = o["metadata"]["namespace"].as_str().unwrap_or("");
        let n = o["metadata"]["name"].as_str().unwrap_or("");
        match state.store.delete(res.rt, ns, n, &opts) {
            Ok((obj, _)) => deleted.push(without_type(&obj)),
            // Deleted meanwhile by someone else: nothing to do.
            Err(e) if e.code == 404 => {}
            Err(e) => return Err(e),
        }
    }
    Ok((
        200,
        json!({
            "kind": format!("{}List", res.rt.kind),
            "apiVersion": res.rt.api_version(),
            "metadata": {"resourceVersion": state.store.current_rv().to_string()},
            "items": deleted,
        }),
        Output::Json,
    ))
}
