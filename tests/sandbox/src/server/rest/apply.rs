//! Server-side apply.

use serde_json::{Value, json};

use super::*;

/// Server-side apply: create, or merge the applied configuration into the live object and
/// remove what this field manager applied last time and no longer does.
pub(super) fn server_side_apply(
    state: &State,
    req: &ApiRequest,
    res: &ResourceRoute,
    dry: bool,
) -> Answer {
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
    if let Some(e) = crate::validate::type_error(res.rt, &applied) {
        // The applied configuration does not fit the type's schema: the real server answers
        // 500 in structured-merge-diff's words.
        let gv = match res.rt.group {
            "" => format!("/{}", res.rt.version),
            g => format!("{g}/{}", res.rt.version),
        };
        return Err(ApiError::new(
            500,
            "InternalError",
            format!(
                "failed to create typed patch object (/{}; {gv}, Kind={}): .{}.{}: expected string, got &value.valueUnstructured{{Value:{}}}",
                name(res),
                res.rt.kind,
                e.path,
                e.key,
                e.value
            ),
        ));
    }
    if state.store.get(res.rt, namespace(res), name(res)).is_none() && res.subresource.is_none() {
        crate::server::namespaces::check_not_terminating(&state.store, res.rt, namespace(res))?;
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
pub(super) fn applied_config(req: &ApiRequest) -> ApiResult<Value> {
    let v: Value = serde_yaml::from_slice(&req.body)
        .map_err(|e| ApiError::bad_request(format!("error decoding YAML: {e}")))?;
    if !v.is_object() {
        return Err(ApiError::bad_request(
            "the applied configuration is not an object",
        ));
    }
    Ok(v)
}
