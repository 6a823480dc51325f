//! The patch types the API server accepts: JSON merge patch (RFC 7386), JSON patch
//! (RFC 6902), strategic merge patch, and the merge step of server-side apply.
//!
//! Strategic merge patch has no schema here; which lists merge by key is decided from the
//! field's name and where it sits ([`list_strategy`]), covering the keyed lists of the
//! resources the sandbox serves. Supported directives: `$patch: replace|delete|merge` on
//! maps and list elements, `$retainKeys`, `$setElementOrder/<list>` and
//! `$deleteFromPrimitiveList/<list>`.

use serde_json::{Map, Value};

use crate::error::{ApiError, ApiResult};

/// The patch formats, by request `Content-Type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatchType {
    Json,
    Merge,
    Strategic,
    Apply,
}

impl PatchType {
    pub fn from_content_type(ct: &str) -> Option<PatchType> {
        let media = ct.split(';').next().unwrap_or("").trim();
        match media {
            "application/json-patch+json" => Some(PatchType::Json),
            "application/merge-patch+json" => Some(PatchType::Merge),
            "application/strategic-merge-patch+json" => Some(PatchType::Strategic),
            "application/apply-patch+yaml" | "application/apply-patch+cbor" => {
                Some(PatchType::Apply)
            }
            _ => None,
        }
    }
}

/// Applies a JSON patch. An unparsable patch is 400; an operation that cannot be applied
/// (a failed `test`, a missing path) is 422, as the real server answers.
pub fn json_patch(doc: &Value, patch: &[u8]) -> ApiResult<Value> {
    let ops: json_patch::Patch = serde_json::from_slice(patch)
        .map_err(|e| ApiError::bad_request(format!("error decoding patch: {e}")))?;
    let mut out = doc.clone();
    json_patch::patch(&mut out, &ops).map_err(|e| {
        ApiError::new(
            422,
            "Invalid",
            format!("the server rejected our request due to an error in our request: {e}"),
        )
    })?;
    Ok(out)
}

/// Applies an RFC 7386 merge patch: maps merge, `null` deletes, lists are replaced.
pub fn merge_patch(doc: &Value, patch: &Value) -> ApiResult<Value> {
    if !patch.is_object() {
        return Err(ApiError::bad_request(
            "the patch is not a JSON object (merge patches must be objects)",
        ));
    }
    let mut out = doc.clone();
    json_patch::merge(&mut out, patch);
    Ok(out)
}

/// Applies a strategic merge patch to an object of kind `kind`.
pub fn strategic_merge(doc: &Value, patch: &Value, kind: &str) -> ApiResult<Value> {
    let Some(patch) = patch.as_object() else {
        return Err(ApiError::bad_request(
            "the patch is not a JSON object (strategic merge patches must be objects)",
        ));
    };
    let mut out = doc.as_object().cloned().unwrap_or_default();
    let mut path = Vec::new();
    match merge_map(&mut out, patch, kind, &mut path)? {
        MapOutcome::Keep => Ok(Value::Object(out)),
        MapOutcome::Delete => Ok(Value::Object(Map::new())),
    }
}

/// The merge step of server-side apply: the applied configuration is merged into the live
/// object with the same list keys as a strategic merge (fields it omits are kept).
pub fn apply_merge(live: &Value, applied: &Value, kind: &str) -> ApiResult<Value> {
    strategic_merge(live, &strip_directives(applied), kind)
}

/// Removes from `live` what `previous` (an earlier applied configuration of the same field
/// manager) set and `current` no longer does: map keys, and keyed list items by their key.
pub fn remove_dropped(live: &mut Value, previous: &Value, current: &Value, kind: &str) {
    let mut path = Vec::new();
    drop_map(live, previous, current, kind, &mut path);
}

fn drop_map(live: &mut Value, prev: &Value, cur: &Value, kind: &str, path: &mut Vec<String>) {
    let (Some(live_map), Some(prev_map)) = (live.as_object_mut(), prev.as_object()) else {
        return;
    };
    for (key, prev_value) in prev_map {
        let Some(cur_value) = cur.get(key) else {
            // Identity is never dropped, whatever the configuration says.
            let identity = (path.is_empty() && matches!(key.as_str(), "apiVersion" | "kind"))
                || (*path == ["metadata"] && matches!(key.as_str(), "name" | "namespace"));
            if !identity {
                live_map.remove(key);
            }
            continue;
        };
        let Some(live_value) = live_map.get_mut(key) else {
            continue;
        };
        match (prev_value, cur_value) {
            (Value::Object(_), Value::Object(_)) => {
                path.push(key.clone());
                drop_map(live_value, prev_value, cur_value, kind, path);
                path.pop();
            }
            (Value::Array(prev_items), Value::Array(cur_items)) => {
                if let ListStrategy::Keyed(k) = list_strategy(kind, path, key)
                    && let Some(live_items) = live_value.as_array_mut()
                {
                    path.push(key.clone());
                    for p in prev_items {
                        let Some(id) = p.get(k) else { continue };
                        let now = cur_items.iter().find(|c| c.get(k) == Some(id));
                        let pos = live_items.iter().position(|l| l.get(k) == Some(id));
                        match (now, pos) {
                            (None, Some(i)) => {
                                live_items.remove(i);
                            }
                            (Some(c), Some(i)) => drop_map(&mut live_items[i], p, c, kind, path),
                            _ => {}
                        }
                    }
                    path.pop();
                }
            }
            _ => {}
        }
    }
}

/// How a list field merges.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListStrategy {
    /// A list of objects merged by this key.
    Keyed(&'static str),
    /// A list of scalars merged as a set.
    Set,
    /// Replaced whole.
    Atomic,
}

/// The strategy of list `field` inside the map at `path` (map keys from the object root;
/// list positions are not part of the path). Mirrors the `patchStrategy`/`patchMergeKey`
/// tags of the Kubernetes API types the sandbox serves.
pub fn list_strategy(kind: &str, path: &[String], field: &str) -> ListStrategy {
    let in_container = path.last().is_some_and(|p| {
        matches!(
            p.as_str(),
            "containers" | "initContainers" | "ephemeralContainers"
        )
    });
    match field {
        "containers" | "initContainers" | "ephemeralContainers" => ListStrategy::Keyed("name"),
        "env" | "volumes" | "imagePullSecrets" | "resourceClaims" | "schedulingGates" => {
            ListStrategy::Keyed("name")
        }
        "volumeMounts" => ListStrategy::Keyed("mountPath"),
        "volumeDevices" => ListStrategy::Keyed("devicePath"),
        "ports" if in_container => ListStrategy::Keyed("containerPort"),
        "ports" if kind == "Service" && path == ["spec"] => ListStrategy::Keyed("port"),
        "conditions" => ListStrategy::Keyed("type"),
        "ownerReferences" if path == ["metadata"] => ListStrategy::Keyed("uid"),
        "finalizers" if path == ["metadata"] => ListStrategy::Set,
        "hostAliases" => ListStrategy::Keyed("ip"),
        "topologySpreadConstraints" => ListStrategy::Keyed("topologyKey"),
        _ => ListStrategy::Atomic,
    }
}

enum MapOutcome {
    Keep,
    /// The patch said `$patch: delete` for this map.
    Delete,
}

const SET_ORDER: &str = "$setElementOrder/";
const DELETE_FROM_SET: &str = "$deleteFromPrimitiveList/";

fn merge_map(
    out: &mut Map<String, Value>,
    patch: &Map<String, Value>,
    kind: &str,
    path: &mut Vec<String>,
) -> ApiResult<MapOutcome> {
    match patch.get("$patch").map(|v| v.as_str()) {
        None | Some(Some("merge")) => {}
        Some(Some("delete")) => return Ok(MapOutcome::Delete),
        Some(Some("replace")) => {
            let mut replaced = patch.clone();
            replaced.remove("$patch");
            *out = strip_map(&replaced);
            return Ok(MapOutcome::Keep);
        }
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "Unexpected patch directive: {}",
                other.unwrap_or("(not a string)")
            )));
        }
    }
    for (key, value) in patch {
        if key.starts_with('$') {
            continue;
        }
        match value {
            Value::Null => {
                out.remove(key);
            }
            Value::Object(sub) => {
                path.push(key.clone());
                let outcome = match out.get_mut(key) {
                    Some(Value::Object(existing)) => merge_map(existing, sub, kind, path)?,
                    _ => {
                        let mut fresh = Map::new();
                        let o = merge_map(&mut fresh, sub, kind, path)?;
                        out.insert(key.clone(), Value::Object(fresh));
                        o
                    }
                };
                path.pop();
                if let MapOutcome::Delete = outcome {
                    out.remove(key);
                }
            }
            Value::Array(items) => {
                let merged = merge_list(out.get(key), items, kind, path, key)?;
                out.insert(key.clone(), Value::Array(merged));
            }
            scalar => {
                out.insert(key.clone(), scalar.clone());
            }
        }
    }
    for (key, value) in patch {
        if let Some(field) = key.strip_prefix(DELETE_FROM_SET) {
            let remove = value.as_array().cloned().unwrap_or_default();
            if let Some(Value::Array(list)) = out.get_mut(field) {
                list.retain(|v| !remove.contains(v));
            }
        }
    }
    for (key, value) in patch {
        if let Some(field) = key.strip_prefix(SET_ORDER) {
            let Some(order) = value.as_array() else {
                return Err(ApiError::bad_request(format!(
                    "invalid value for {key}: must be a list"
                )));
            };
            let strategy = list_strategy(kind, path, field);
            if let Some(Value::Array(list)) = out.get_mut(field) {
                reorder(list, order, strategy);
            }
        }
    }
    if let Some(retain) = patch.get("$retainKeys") {
        let Some(keys) = retain.as_array() else {
            return Err(ApiError::bad_request(
                "$retainKeys must be a list of field names",
            ));
        };
        let keys: Vec<&str> = keys.iter().filter_map(Value::as_str).collect();
        out.retain(|k, _| keys.contains(&k.as_str()));
    }
    Ok(MapOutcome::Keep)
}

fn merge_list(
    existing: Option<&Value>,
    patch: &[Value],
    kind: &str,
    path: &mut Vec<String>,
    field: &str,
) -> ApiResult<Vec<Value>> {
    let replace_all = patch
        .iter()
        .any(|v| v.get("$patch").and_then(Value::as_str) == Some("replace"));
    let existing: Vec<Value> = if replace_all {
        Vec::new()
    } else {
        existing
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default()
    };
    match list_strategy(kind, path, field) {
        ListStrategy::Atomic => Ok(patch
            .iter()
            .filter(|v| !is_directive_element(v))
            .map(strip_directives)
            .collect()),
        ListStrategy::Set => {
            let mut out = existing;
            for v in patch {
                if !out.contains(v) {
                    out.push(v.clone());
                }
            }
            Ok(out)
        }
        ListStrategy::Keyed(merge_key) => {
            let mut out = existing;
            path.push(field.to_string());
            for element in patch {
                if is_directive_element(element) {
                    continue;
                }
                let Some(obj) = element.as_object() else {
                    path.pop();
                    return Err(ApiError::bad_request(format!(
                        "the elements of {field} must be objects (merged by {merge_key})"
                    )));
                };
                let Some(key_value) = obj.get(merge_key) else {
                    path.pop();
                    return Err(ApiError::bad_request(format!(
                        "map: {element} does not contain declared merge key: {merge_key}"
                    )));
                };
                let position = out.iter().position(|e| e.get(merge_key) == Some(key_value));
                let delete = obj.get("$patch").and_then(Value::as_str) == Some("delete");
                match (position, delete) {
                    (Some(i), true) => {
                        out.remove(i);
                    }
                    (None, true) => {}
                    (Some(i), false) => {
                        if let Value::Object(target) = &mut out[i]
                            && let MapOutcome::Delete = merge_map(target, obj, kind, path)?
                        {
                            out.remove(i);
                        }
                    }
                    (None, false) => out.push(strip_directives(element)),
                }
            }
            path.pop();
            Ok(out)
        }
    }
}

/// A list element that only carries `$patch: replace` (it marks the list, it is no item).
fn is_directive_element(v: &Value) -> bool {
    v.as_object()
        .is_some_and(|m| m.len() == 1 && m.get("$patch").and_then(Value::as_str) == Some("replace"))
}

/// Orders `list` as `order` says; items the order does not name keep their relative order
/// after the named ones.
fn reorder(list: &mut [Value], order: &[Value], strategy: ListStrategy) {
    let rank = |item: &Value| -> usize {
        let found = match strategy {
            ListStrategy::Keyed(k) => order
                .iter()
                .position(|o| o.get(k).is_some() && o.get(k) == item.get(k)),
            _ => order.iter().position(|o| o == item),
        };
        found.unwrap_or(usize::MAX)
    };
    // A stable sort keeps unnamed items in their current order.
    list.sort_by_key(rank);
}

/// The patch with every `$` directive removed (what is stored when a patch adds new
/// content).
pub fn strip_directives(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(strip_map(m)),
        Value::Array(a) => Value::Array(
            a.iter()
                .filter(|e| !is_directive_element(e))
                .map(strip_directives)
                .collect(),
        ),
        other => other.clone(),
    }
}

fn strip_map(m: &Map<String, Value>) -> Map<String, Value> {
    m.iter()
        .filter(|(k, v)| !k.starts_with('$') && !v.is_null())
        .map(|(k, v)| (k.clone(), strip_directives(v)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn deployment() -> Value {
        json!({
            "metadata": {"name": "web", "labels": {"app": "web", "tier": "fe"}, "finalizers": ["a"]},
            "spec": {"template": {"spec": {"containers": [
                {"name": "web", "image": "nginx:1", "env": [{"name": "A", "value": "1"}],
                 "ports": [{"containerPort": 80}]},
                {"name": "sidecar", "image": "envoy:1"}
            ]}}}
        })
    }

    #[test]
    fn containers_merge_by_name() {
        let patch = json!({"spec": {"template": {"spec": {"containers": [
            {"name": "web", "image": "nginx:2", "env": [{"name": "B", "value": "2"}]}
        ]}}}});
        let out = strategic_merge(&deployment(), &patch, "Deployment").unwrap();
        let c = &out["spec"]["template"]["spec"]["containers"];
        assert_eq!(c.as_array().unwrap().len(), 2);
        assert_eq!(c[0]["image"], "nginx:2");
        assert_eq!(c[0]["env"].as_array().unwrap().len(), 2);
        assert_eq!(c[0]["ports"][0]["containerPort"], 80);
        assert_eq!(c[1]["image"], "envoy:1");
    }

    #[test]
    fn delete_replace_and_order_directives() {
        let patch = json!({
            "metadata": {"labels": {"tier": null}, "$deleteFromPrimitiveList/finalizers": ["a"]},
            "spec": {"template": {"spec": {
                "$setElementOrder/containers": [{"name": "sidecar"}, {"name": "web"}],
                "containers": [{"name": "web", "$patch": "delete"}, {"name": "new", "image": "x"}]
            }}}
        });
        let out = strategic_merge(&deployment(), &patch, "Deployment").unwrap();
        assert_eq!(out["metadata"]["labels"], json!({"app": "web"}));
        assert_eq!(out["metadata"]["finalizers"], json!([]));
        let names: Vec<&str> = out["spec"]["template"]["spec"]["containers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["sidecar", "new"]);

        let replace = json!({"spec": {"template": {"spec": {"containers": [
            {"$patch": "replace"}, {"name": "only", "image": "y"}
        ]}}}});
        let out = strategic_merge(&deployment(), &replace, "Deployment").unwrap();
        assert_eq!(
            out["spec"]["template"]["spec"]["containers"],
            json!([{"name": "only", "image": "y"}])
        );
    }

    #[test]
    fn retain_keys_and_map_replace() {
        let doc = json!({"spec": {"strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1}}}});
        let patch = json!({"spec": {"strategy": {"$retainKeys": ["type"], "type": "Recreate"}}});
        let out = strategic_merge(&doc, &patch, "Deployment").unwrap();
        assert_eq!(out["spec"]["strategy"], json!({"type": "Recreate"}));
        let patch = json!({"metadata": {"labels": {"$patch": "replace", "only": "x"}}});
        let out = strategic_merge(&deployment(), &patch, "Deployment").unwrap();
        assert_eq!(out["metadata"]["labels"], json!({"only": "x"}));
    }

    #[test]
    fn unkeyed_lists_are_replaced_and_service_ports_merge_by_port() {
        let svc = json!({"spec": {"ports": [{"port": 80, "name": "http"}, {"port": 443}], "externalIPs": ["1.1.1.1"]}});
        let patch = json!({"spec": {"ports": [{"port": 80, "targetPort": 8080}], "externalIPs": ["2.2.2.2"]}});
        let out = strategic_merge(&svc, &patch, "Service").unwrap();
        assert_eq!(out["spec"]["ports"].as_array().unwrap().len(), 2);
        assert_eq!(out["spec"]["ports"][0]["targetPort"], 8080);
        assert_eq!(out["spec"]["externalIPs"], json!(["2.2.2.2"]));
    }

    #[test]
    fn apply_removes_what_the_manager_stopped_applying() {
        let previous = json!({"metadata": {"name": "web", "labels": {"a": "1", "b": "2"}},
            "spec": {"template": {"spec": {"containers": [
                {"name": "web", "image": "x:1", "ports": [{"containerPort": 80}]},
                {"name": "old", "image": "y:1"}]}}}});
        let current = json!({"metadata": {"name": "web", "labels": {"a": "1"}},
            "spec": {"template": {"spec": {"containers": [{"name": "web", "image": "x:2"}]}}}});
        let mut live = apply_merge(&previous, &current, "Deployment").unwrap();
        live["metadata"]["labels"]["other-manager"] = json!("kept");
        remove_dropped(&mut live, &previous, &current, "Deployment");
        assert_eq!(
            live["metadata"]["labels"],
            json!({"a": "1", "other-manager": "kept"})
        );
        assert_eq!(live["metadata"]["name"], "web");
        assert_eq!(
            live["spec"]["template"]["spec"]["containers"],
            json!([{"name": "web", "image": "x:2"}])
        );
    }

    #[test]
    fn json_patch_test_failure_is_422() {
        let doc = json!({"spec": {"replicas": 3}});
        let ok = json_patch(&doc, br#"[{"op":"test","path":"/spec/replicas","value":3},{"op":"replace","path":"/spec/replicas","value":5}]"#).unwrap();
        assert_eq!(ok["spec"]["replicas"], 5);
        let err = json_patch(
            &doc,
            br#"[{"op":"test","path":"/spec/replicas","value":4}]"#,
        )
        .unwrap_err();
        assert_eq!(err.code, 422);
        assert_eq!(json_patch(&doc, b"{").unwrap_err().code, 400);
    }
}
