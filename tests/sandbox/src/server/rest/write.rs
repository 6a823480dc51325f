//! Writes of whole objects and patches: create, update (PUT), patch, and the unknown-field
//! handling they share.

use serde_json::Value;

use super::*;

/// The request body as JSON (or YAML, which kubectl may send for apply).
pub(super) fn body_object(req: &ApiRequest) -> ApiResult<Value> {
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
pub(super) fn check_type(rt: &ResourceType, body: &Value) -> ApiResult<()> {
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

pub(super) fn create(state: &State, req: &ApiRequest, res: &ResourceRoute) -> Answer {
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
        crate::server::protobuf::object(&req.body)
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
    crate::server::namespaces::check_not_terminating(&state.store, res.rt, &ns)?;
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

pub(super) fn scope(res: &ResourceRoute) -> UpdateScope {
    match res.subresource.as_deref() {
        Some("status") => UpdateScope::Status,
        _ => UpdateScope::Main,
    }
}

pub(super) fn update(state: &State, req: &ApiRequest, res: &ResourceRoute) -> Answer {
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

pub(super) fn patch_object(state: &State, req: &ApiRequest, res: &ResourceRoute) -> Answer {
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
        return patch_scale(state, res, dry, |scale| apply(scale, "Scale"));
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
    // A patch giving a label (annotation, selector) a value that is not a string: the real
    // server fails to decode the patched object, and says so about the patch.
    if let Some(e) = crate::validate::type_error(rt, &new) {
        let value = format!(
            "Invalid value: {}: {}",
            serde_json::to_string(&new.to_string()).unwrap_or_default(),
            e.message()
        );
        return Err(ApiError::invalid("", "", "", vec![("patch".into(), value)]));
    }
    let already = fields::prune_unknown(rt, &mut old.clone());
    unknown_fields(req, rt, &mut new, &already)?;
    Ok(new)
}

/// Drops fields the type does not have, as the real decoder does, and tells the client:
/// a warning per field (`fieldValidation=Warn`, the default), nothing (`Ignore`), or 400
/// (`Strict`). `already` are paths not to report.
pub(super) fn unknown_fields(
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
