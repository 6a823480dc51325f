//! OpenAPI v3: the `/openapi/v3` index and one document per group-version.
//!
//! The documents describe the paths and operations (with their query parameters), which is
//! what kubectl reads to learn that the server validates fields itself (`fieldValidation`
//! on PATCH), so it sends `fieldValidation=Strict` instead of validating against a schema.
//! They carry no object schemas: without them kubectl computes apply patches from its own
//! compiled-in types, which know every list's merge key.

use serde_json::{Map, Value, json};

use crate::resources::{self, ResourceType};

/// Changes whenever the documents change, so clients caching by it refetch.
const HASH: &str = "5A1E0B1C2D3E4F5061728394A5B6C7D8E9F0A1B2C3D4E5F60718293A4B5C6D7E";

/// `/openapi/v3/{path}` of each served group-version.
fn group_versions() -> Vec<(String, &'static str, &'static str)> {
    let mut out: Vec<(String, &'static str, &'static str)> = Vec::new();
    for rt in resources::ALL {
        let path = if rt.group.is_empty() {
            format!("api/{}", rt.version)
        } else {
            format!("apis/{}/{}", rt.group, rt.version)
        };
        if !out.iter().any(|(p, _, _)| *p == path) {
            out.push((path, rt.group, rt.version));
        }
    }
    out
}

pub fn index() -> Value {
    let mut paths = Map::new();
    for (path, _, _) in group_versions() {
        paths.insert(
            path.clone(),
            json!({"serverRelativeURL": format!("/openapi/v3/{path}?hash={HASH}")}),
        );
    }
    json!({ "paths": paths })
}

/// The OpenAPI v2 document: no paths and no definitions (see the module comment).
pub fn v2() -> Value {
    json!({
        "swagger": "2.0",
        "info": {"title": "Kubernetes", "version": crate::discovery::GIT_VERSION},
        "paths": {},
        "definitions": {},
    })
}

pub fn document(path: &str) -> Option<Value> {
    let (_, group, version) = group_versions().into_iter().find(|(p, _, _)| p == path)?;
    let mut paths = Map::new();
    for rt in resources::ALL
        .iter()
        .filter(|r| r.group == group && r.version == version)
    {
        add_paths(&mut paths, rt);
    }
    Some(json!({
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": crate::discovery::GIT_VERSION},
        "paths": paths,
        "components": {"schemas": {}},
    }))
}

fn query(name: &str, description: &str) -> Value {
    json!({
        "name": name,
        "in": "query",
        "description": description,
        "schema": {"type": "string", "uniqueItems": true},
    })
}

fn write_params(patch: bool) -> Vec<Value> {
    let mut p = vec![
        query(
            "dryRun",
            "When present, indicates that modifications should not be persisted.",
        ),
        query(
            "fieldManager",
            "fieldManager is a name associated with the actor or entity that is making these changes.",
        ),
        query(
            "fieldValidation",
            "fieldValidation instructs the server on how to handle objects in the request containing unknown or duplicate fields.",
        ),
    ];
    if patch {
        p.push(query(
            "force",
            "Force is going to \"force\" Apply requests.",
        ));
    }
    p
}

fn operation(rt: &ResourceType, action: &str, id: &str, params: Vec<Value>) -> Value {
    json!({
        "operationId": id,
        "tags": [if rt.group.is_empty() { "core_v1".to_string() } else { format!("{}_{}", rt.group.replace('.', "_"), rt.version) }],
        "parameters": params,
        "responses": {"200": {"description": "OK"}, "401": {"description": "Unauthorized"}},
        "x-kubernetes-action": action,
        "x-kubernetes-group-version-kind": {"group": rt.group, "version": rt.version, "kind": rt.kind},
    })
}

fn add_paths(paths: &mut Map<String, Value>, rt: &ResourceType) {
    let prefix = if rt.group.is_empty() {
        format!("/api/{}", rt.version)
    } else {
        format!("/apis/{}/{}", rt.group, rt.version)
    };
    let collection = if rt.namespaced {
        format!("{prefix}/namespaces/{{namespace}}/{}", rt.plural)
    } else {
        format!("{prefix}/{}", rt.plural)
    };
    let kind = rt.kind;
    let mut coll = Map::new();
    if rt.verbs.contains(&"list") {
        coll.insert("get".into(), operation(rt, "list", &format!("list{kind}"), vec![
            query("labelSelector", "A selector to restrict the list of returned objects by their labels."),
            query("fieldSelector", "A selector to restrict the list of returned objects by their fields."),
            query("limit", "limit is a maximum number of responses to return for a list call."),
            query("continue", "The continue option should be set when retrieving more results from the server."),
            query("resourceVersion", "resourceVersion sets a constraint on what resource versions a request may be served from."),
            query("watch", "Watch for changes to the described resources."),
        ]));
    }
    if rt.verbs.contains(&"create") {
        coll.insert(
            "post".into(),
            operation(rt, "post", &format!("create{kind}"), write_params(false)),
        );
    }
    if rt.verbs.contains(&"deletecollection") {
        coll.insert(
            "delete".into(),
            operation(
                rt,
                "deletecollection",
                &format!("deleteCollection{kind}"),
                vec![],
            ),
        );
    }
    paths.insert(collection.clone(), Value::Object(coll));
    if rt.verbs == ["create"] {
        return;
    }
    let item = format!("{collection}/{{name}}");
    paths.insert(item.clone(), json!({
        "get": operation(rt, "get", &format!("read{kind}"), vec![]),
        "put": operation(rt, "put", &format!("replace{kind}"), write_params(false)),
        "patch": operation(rt, "patch", &format!("patch{kind}"), write_params(true)),
        "delete": operation(rt, "delete", &format!("delete{kind}"), vec![
            query("dryRun", "When present, indicates that modifications should not be persisted."),
            query("gracePeriodSeconds", "The duration in seconds before the object should be deleted."),
            query("propagationPolicy", "Whether and how garbage collection will be performed."),
        ]),
    }));
    for sub in rt.subresources {
        let gvk = if *sub == "scale" {
            json!({"group": "autoscaling", "version": "v1", "kind": "Scale"})
        } else {
            json!({"group": rt.group, "version": rt.version, "kind": kind})
        };
        let suffix = format!("{}{}", kind, capitalise(sub));
        let mut ops = Map::new();
        for (method, action, id, params) in [
            ("get", "get", format!("read{suffix}"), vec![]),
            (
                "put",
                "put",
                format!("replace{suffix}"),
                write_params(false),
            ),
            (
                "patch",
                "patch",
                format!("patch{suffix}"),
                write_params(true),
            ),
        ] {
            let mut op = operation(rt, action, &id, params);
            op["x-kubernetes-group-version-kind"] = gvk.clone();
            ops.insert(method.into(), op);
        }
        paths.insert(format!("{item}/{sub}"), Value::Object(ops));
    }
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patch_operations_declare_field_validation() {
        let doc = document("apis/apps/v1").unwrap();
        let op = &doc["paths"]["/apis/apps/v1/namespaces/{namespace}/deployments/{name}"]["patch"];
        assert_eq!(op["x-kubernetes-group-version-kind"]["kind"], "Deployment");
        assert!(
            op["parameters"]
                .as_array()
                .unwrap()
                .iter()
                .any(|p| p["name"] == "fieldValidation")
        );
        assert!(document("apis/apps/v2").is_none());
        assert!(
            index()["paths"]["api/v1"]["serverRelativeURL"]
                .as_str()
                .unwrap()
                .starts_with("/openapi/v3/api/v1?hash=")
        );
    }
}
