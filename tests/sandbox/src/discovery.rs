//! Discovery documents: `/version`, the legacy `/api`, `/apis`, group and resource lists,
//! and the aggregated `apidiscovery.k8s.io` documents current clients ask for first.

use serde_json::{Value, json};

use crate::resources::{self, ResourceType};

/// The Kubernetes version reported. The kubectl dispatcher on the test machines picks its
/// build from it, so it must be a real release.
pub const GIT_VERSION: &str = "v1.33.1";

/// Groups other than the core group, in the order the real server lists them.
const GROUP_ORDER: &[&str] = &[
    "apps",
    "authorization.k8s.io",
    "autoscaling",
    "discovery.k8s.io",
    "events.k8s.io",
];

pub fn version() -> Value {
    json!({
        "major": "1",
        "minor": "33",
        "emulationMajor": "1",
        "emulationMinor": "33",
        "minCompatibilityMajor": "1",
        "minCompatibilityMinor": "32",
        "gitVersion": GIT_VERSION,
        "gitCommit": "8adc0f041b8e7ad1d30e29cc59c6ae7a15e19828",
        "gitTreeState": "clean",
        "buildDate": "2025-05-15T08:19:08Z",
        "goVersion": "go1.24.2",
        "compiler": "gc",
        "platform": "linux/amd64",
    })
}

pub fn legacy_versions() -> Value {
    json!({
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1:6443"}],
    })
}

/// The versions of a group (every group serves exactly one here).
fn versions_of(group: &str) -> Vec<&'static str> {
    let mut v: Vec<&'static str> = resources::ALL
        .iter()
        .filter(|r| r.group == group)
        .map(|r| r.version)
        .collect();
    v.dedup();
    v
}

fn api_group(group: &str) -> Value {
    let versions: Vec<Value> = versions_of(group)
        .iter()
        .map(|v| json!({"groupVersion": format!("{group}/{v}"), "version": v}))
        .collect();
    json!({
        "name": group,
        "versions": versions,
        "preferredVersion": versions.first().cloned().unwrap_or(Value::Null),
    })
}

pub fn groups() -> Value {
    json!({
        "kind": "APIGroupList",
        "apiVersion": "v1",
        "groups": GROUP_ORDER.iter().map(|g| api_group(g)).collect::<Vec<_>>(),
    })
}

pub fn group(name: &str) -> Option<Value> {
    GROUP_ORDER.contains(&name).then(|| {
        let mut g = api_group(name);
        g["kind"] = json!("APIGroup");
        g["apiVersion"] = json!("v1");
        g
    })
}

fn of_version(group: &str, version: &str) -> Vec<&'static ResourceType> {
    resources::ALL
        .iter()
        .copied()
        .filter(|r| r.group == group && r.version == version)
        .collect()
}

/// What a subresource answers with and which verbs it has.
fn subresource_info(rt: &ResourceType, sub: &str) -> (String, String, String, Vec<&'static str>) {
    match sub {
        "scale" => (
            "autoscaling".into(),
            "v1".into(),
            "Scale".into(),
            vec!["get", "patch", "update"],
        ),
        _ => (
            rt.group.to_string(),
            rt.version.to_string(),
            rt.kind.to_string(),
            vec!["get", "patch", "update"],
        ),
    }
}

/// The legacy `APIResourceList` of one group-version.
pub fn resource_list(group: &str, version: &str) -> Option<Value> {
    let rts = of_version(group, version);
    if rts.is_empty() {
        return None;
    }
    let mut list = Vec::new();
    for rt in rts {
        let mut r = json!({
            "name": rt.plural,
            "singularName": rt.singular,
            "namespaced": rt.namespaced,
            "kind": rt.kind,
            "verbs": rt.verbs,
        });
        if !rt.short_names.is_empty() {
            r["shortNames"] = json!(rt.short_names);
        }
        if !rt.categories.is_empty() {
            r["categories"] = json!(rt.categories);
        }
        list.push(r);
        for sub in rt.subresources {
            let (g, v, kind, verbs) = subresource_info(rt, sub);
            let mut s = json!({
                "name": format!("{}/{}", rt.plural, sub),
                "singularName": "",
                "namespaced": rt.namespaced,
                "kind": kind,
                "verbs": verbs,
            });
            if g != rt.group || v != rt.version {
                s["group"] = json!(g);
                s["version"] = json!(v);
            }
            list.push(s);
        }
    }
    let gv = if group.is_empty() {
        version.to_string()
    } else {
        format!("{group}/{version}")
    };
    Some(json!({
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": gv,
        "resources": list,
    }))
}

/// The aggregated discovery document of `/api` (`legacy`) or `/apis`, in
/// `apidiscovery.k8s.io/{version}` (v2 and v2beta1 have the same shape).
pub fn aggregated(legacy: bool, version: &str) -> Value {
    let groups: Vec<&str> = if legacy {
        vec![""]
    } else {
        GROUP_ORDER.to_vec()
    };
    let items: Vec<Value> = groups
        .iter()
        .map(|g| {
            let versions: Vec<Value> = versions_of(g)
                .iter()
                .map(|v| {
                    let resources: Vec<Value> = of_version(g, v)
                        .iter()
                        .map(|rt| aggregated_resource(rt))
                        .collect();
                    json!({"version": v, "resources": resources, "freshness": "Current"})
                })
                .collect();
            let mut metadata = json!({"creationTimestamp": null});
            if !g.is_empty() {
                metadata["name"] = json!(g);
            }
            json!({"metadata": metadata, "versions": versions})
        })
        .collect();
    json!({
        "kind": "APIGroupDiscoveryList",
        "apiVersion": format!("apidiscovery.k8s.io/{version}"),
        "metadata": {},
        "items": items,
    })
}

fn aggregated_resource(rt: &ResourceType) -> Value {
    let mut r = json!({
        "resource": rt.plural,
        "responseKind": {"group": rt.group, "version": rt.version, "kind": rt.kind},
        "scope": if rt.namespaced { "Namespaced" } else { "Cluster" },
        "singularResource": rt.singular,
        "verbs": rt.verbs,
    });
    if !rt.short_names.is_empty() {
        r["shortNames"] = json!(rt.short_names);
    }
    if !rt.categories.is_empty() {
        r["categories"] = json!(rt.categories);
    }
    if !rt.subresources.is_empty() {
        r["subresources"] = rt
            .subresources
            .iter()
            .map(|sub| {
                let (g, v, kind, verbs) = subresource_info(rt, sub);
                json!({
                    "subresource": sub,
                    "responseKind": {"group": g, "version": v, "kind": kind},
                    "verbs": verbs,
                })
            })
            .collect();
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn apps_v1_lists_scale_as_autoscaling_v1() {
        let list = resource_list("apps", "v1").unwrap();
        let scale = list["resources"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["name"] == "deployments/scale")
            .unwrap();
        assert_eq!(scale["group"], "autoscaling");
        assert_eq!(scale["kind"], "Scale");
        assert!(resource_list("apps", "v2").is_none());
    }

    #[test]
    fn aggregated_core_group_has_no_name() {
        let doc = aggregated(true, "v2");
        assert_eq!(doc["items"][0]["metadata"].get("name"), None);
        let pods = doc["items"][0]["versions"][0]["resources"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["resource"] == "pods")
            .unwrap();
        assert_eq!(pods["scope"], "Namespaced");
        assert_eq!(pods["shortNames"], json!(["po"]));
    }
}
