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
use crate::store::{CreateOpts, DeleteOpts, PageOpts, Propagation, UpdateOpts, UpdateScope};
use crate::{fields, table};

mod access_review;
mod apply;
mod delete;
mod scale;
mod write;

use access_review::access_review;
use apply::{applied_config, server_side_apply};
use delete::{delete, delete_collection};
pub use scale::scale_of;
use scale::{patch_scale, write_scale};
use write::{check_type, create, patch_object, scope, unknown_fields, update};

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
        return Ok((200, scale_of(&obj), Output::Json));
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
    let unselected = labels.is_empty() && fields.is_empty();
    let page = state.store.list_page(
        rt,
        res.namespace.as_deref(),
        &labels,
        |o| fields.matches(o),
        PageOpts {
            after: cont.as_ref().map(|c| (c.ns.as_str(), c.name.as_str())),
            limit,
            count_rest: unselected,
        },
    );
    let list_rv = cont.as_ref().map_or(page.rv, |c| c.rv);
    let key = |o: &Value| {
        (
            o["metadata"]["namespace"]
                .as_str()
                .unwrap_or("")
                .to_string(),
            o["metadata"]["name"].as_str().unwrap_or("").to_string(),
        )
    };
    let mut metadata = json!({"resourceVersion": list_rv.to_string()});
    if page.more
        && let Some(last) = page.items.last()
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
        if unselected {
            metadata["remainingItemCount"] = json!(page.remaining);
        }
    }
    let page = &page.items;
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
