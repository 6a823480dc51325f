//! Delete and delete collection.

use serde_json::{Value, json};

use super::*;

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

pub(super) fn delete(state: &State, req: &ApiRequest, res: &ResourceRoute) -> Answer {
    if res.subresource.is_some() {
        return Err(ApiError::method_not_allowed(
            "the server does not allow this method on the requested resource",
        ));
    }
    let opts = delete_options(req)?;
    if std::ptr::eq(res.rt, &resources::NAMESPACES) {
        let ns = crate::server::namespaces::delete(&state.store, name(res), opts.dry_run)?;
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

pub(super) fn delete_collection(state: &State, req: &ApiRequest, res: &ResourceRoute) -> Answer {
    let opts = delete_options(req)?;
    let (labels, fields) = selectors(req, res.rt)?;
    let (items, _) = state
        .store
        .list_selected(res.rt, res.namespace.as_deref(), &labels, |o| {
            fields.matches(o)
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
