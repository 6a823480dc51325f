//! Defaulting: the fields the real API server fills in when a client leaves them out, so
//! clients read back what they would read from a cluster (strategy, protocols, pull
//! policies, service IPs, ...).

use serde_json::{Value, json};

use crate::resources::ResourceType;

/// Fills in defaults on an object about to be stored. `old` is the stored object on updates
/// (values the server allocated, like a Service's clusterIP, carry over when omitted).
pub fn apply(rt: &ResourceType, obj: &mut Value, old: Option<&Value>) {
    match rt.kind {
        "Deployment" => {
            if let Some(spec) = obj.get_mut("spec") {
                deployment(spec);
                if let Some(pod) = path_mut(spec, &["template", "spec"]) {
                    pod_spec(pod);
                }
            }
        }
        "ReplicaSet" => {
            if let Some(pod) = path_mut(obj, &["spec", "template", "spec"]) {
                pod_spec(pod);
            }
        }
        "Pod" => {
            if let Some(spec) = obj.get_mut("spec") {
                pod_spec(spec);
                set_if_missing(spec, "serviceAccountName", json!("default"));
                set_if_missing(spec, "serviceAccount", json!("default"));
            }
        }
        "Service" => service(obj, old),
        "Namespace" => {
            // Every namespace carries its name as a label, which clients cannot change or
            // remove (the real server sets it on every write).
            if let Some(name) = obj["metadata"]["name"].as_str().map(str::to_string)
                && obj.is_object()
            {
                if !obj["metadata"]["labels"].is_object() {
                    obj["metadata"]["labels"] = json!({});
                }
                obj["metadata"]["labels"]["kubernetes.io/metadata.name"] = json!(name);
            }
            if obj["status"]["phase"].is_null() {
                obj["status"] = json!({"phase": "Active"});
            }
            if obj["spec"]["finalizers"].is_null() {
                obj["spec"] = json!({"finalizers": ["kubernetes"]});
            }
        }
        _ => {}
    }
}

/// The value at `path` if every step exists; never creates anything (indexing a JSON value
/// mutably would insert nulls, which would then be stored).
fn path_mut<'a>(v: &'a mut Value, path: &[&str]) -> Option<&'a mut Value> {
    let mut cur = v;
    for key in path {
        cur = cur.get_mut(*key)?;
    }
    Some(cur)
}

fn set_if_missing(map: &mut Value, key: &str, value: Value) {
    if map.is_object() && map[key].is_null() {
        map[key] = value;
    }
}

fn deployment(spec: &mut Value) {
    if !spec.is_object() {
        return;
    }
    set_if_missing(spec, "revisionHistoryLimit", json!(10));
    set_if_missing(spec, "progressDeadlineSeconds", json!(600));
    if !spec["strategy"].is_object() {
        spec["strategy"] = json!({});
    }
    set_if_missing(&mut spec["strategy"], "type", json!("RollingUpdate"));
    if spec["strategy"]["type"] == "RollingUpdate" {
        if !spec["strategy"]["rollingUpdate"].is_object() {
            spec["strategy"]["rollingUpdate"] = json!({});
        }
        let ru = &mut spec["strategy"]["rollingUpdate"];
        set_if_missing(ru, "maxSurge", json!("25%"));
        set_if_missing(ru, "maxUnavailable", json!("25%"));
    }
}

fn pod_spec(spec: &mut Value) {
    if !spec.is_object() {
        return;
    }
    set_if_missing(spec, "restartPolicy", json!("Always"));
    set_if_missing(spec, "terminationGracePeriodSeconds", json!(30));
    set_if_missing(spec, "dnsPolicy", json!("ClusterFirst"));
    set_if_missing(spec, "securityContext", json!({}));
    set_if_missing(spec, "schedulerName", json!("default-scheduler"));
    for list in ["containers", "initContainers"] {
        if let Some(containers) = spec.get_mut(list).and_then(Value::as_array_mut) {
            for c in containers {
                container(c);
            }
        }
    }
}

fn container(c: &mut Value) {
    if !c.is_object() {
        return;
    }
    let image = c["image"].as_str().unwrap_or("");
    // `:latest` or no tag pulls always; a digest or another tag pulls when missing.
    let tag = image.rsplit('/').next().unwrap_or("");
    let always = !image.contains('@') && (!tag.contains(':') || tag.ends_with(":latest"));
    set_if_missing(
        c,
        "imagePullPolicy",
        json!(if always { "Always" } else { "IfNotPresent" }),
    );
    set_if_missing(c, "terminationMessagePath", json!("/dev/termination-log"));
    set_if_missing(c, "terminationMessagePolicy", json!("File"));
    set_if_missing(c, "resources", json!({}));
    if let Some(ports) = c.get_mut("ports").and_then(Value::as_array_mut) {
        for p in ports {
            set_if_missing(p, "protocol", json!("TCP"));
        }
    }
    for probe in ["livenessProbe", "readinessProbe", "startupProbe"] {
        if let Some(p) = c.get_mut(probe).filter(|p| p.is_object()) {
            set_if_missing(p, "timeoutSeconds", json!(1));
            set_if_missing(p, "periodSeconds", json!(10));
            set_if_missing(p, "successThreshold", json!(1));
            set_if_missing(p, "failureThreshold", json!(3));
            if let Some(http) = p.get_mut("httpGet") {
                set_if_missing(http, "scheme", json!("HTTP"));
            }
        }
    }
}

fn service(obj: &mut Value, old: Option<&Value>) {
    let Some(spec) = obj.get_mut("spec").filter(|s| s.is_object()) else {
        return;
    };
    if let Some(old) = old {
        for field in ["clusterIP", "clusterIPs", "ipFamilies", "ipFamilyPolicy"] {
            if spec[field].is_null() && !old["spec"][field].is_null() {
                spec[field] = old["spec"][field].clone();
            }
        }
    }
    set_if_missing(spec, "type", json!("ClusterIP"));
    if spec["type"] == "ExternalName" {
        return;
    }
    set_if_missing(spec, "sessionAffinity", json!("None"));
    set_if_missing(spec, "ipFamilies", json!(["IPv4"]));
    set_if_missing(spec, "ipFamilyPolicy", json!("SingleStack"));
    set_if_missing(spec, "internalTrafficPolicy", json!("Cluster"));
    if matches!(spec["type"].as_str(), Some("NodePort" | "LoadBalancer")) {
        set_if_missing(spec, "externalTrafficPolicy", json!("Cluster"));
    }
    if !spec["clusterIP"].is_null() && spec["clusterIPs"].is_null() {
        spec["clusterIPs"] = json!([spec["clusterIP"]]);
    }
    let old_ports = old
        .and_then(|o| o["spec"]["ports"].as_array())
        .cloned()
        .unwrap_or_default();
    if let Some(ports) = spec.get_mut("ports").and_then(Value::as_array_mut) {
        for p in ports {
            set_if_missing(p, "protocol", json!("TCP"));
            if p["targetPort"].is_null() && !p["port"].is_null() {
                p["targetPort"] = p["port"].clone();
            }
            if p["nodePort"].is_null()
                && let Some(prev) = old_ports.iter().find(|o| o["port"] == p["port"])
                && !prev["nodePort"].is_null()
            {
                p["nodePort"] = prev["nodePort"].clone();
            }
        }
    }
    if obj.get("status").is_none_or(Value::is_null) {
        obj["status"] = json!({"loadBalancer": {}});
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resources;

    #[test]
    fn deployment_gets_strategy_and_container_defaults() {
        let mut d = json!({"spec": {"template": {"spec": {"containers": [
            {"name": "a", "image": "nginx:1", "ports": [{"containerPort": 80}]},
            {"name": "b", "image": "busybox"}
        ]}}}});
        apply(&resources::DEPLOYMENTS, &mut d, None);
        assert_eq!(d["spec"]["strategy"]["rollingUpdate"]["maxSurge"], "25%");
        let c = &d["spec"]["template"]["spec"]["containers"];
        assert_eq!(c[0]["imagePullPolicy"], "IfNotPresent");
        assert_eq!(c[1]["imagePullPolicy"], "Always");
        assert_eq!(c[0]["ports"][0]["protocol"], "TCP");
        assert_eq!(d["spec"]["template"]["spec"]["restartPolicy"], "Always");
    }

    #[test]
    fn defaulting_never_adds_nulls() {
        let mut d = json!({"spec": {"template": {"spec": {"containers": [{"name": "a", "image": "x:1"}]}}}});
        apply(&resources::DEPLOYMENTS, &mut d, None);
        assert!(!d.to_string().contains("null"), "{d}");
        let mut empty = json!({"metadata": {"name": "x"}});
        apply(&resources::DEPLOYMENTS, &mut empty, None);
        apply(&resources::PODS, &mut empty, None);
        assert_eq!(empty, json!({"metadata": {"name": "x"}}));
    }

    #[test]
    fn service_keeps_its_cluster_ip_on_update() {
        let old = json!({"spec": {"clusterIP": "10.96.0.7", "clusterIPs": ["10.96.0.7"], "ports": [{"port": 80}]}});
        let mut new = json!({"spec": {"ports": [{"port": 80}], "selector": {"app": "x"}}});
        apply(&resources::SERVICES, &mut new, Some(&old));
        assert_eq!(new["spec"]["clusterIP"], "10.96.0.7");
        assert_eq!(new["spec"]["ports"][0]["targetPort"], 80);
        assert_eq!(new["spec"]["ports"][0]["protocol"], "TCP");
    }
}
