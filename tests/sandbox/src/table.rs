//! `meta.k8s.io` Table responses: the columns `kubectl get` prints, computed server-side as
//! kube-apiserver's printers compute them (priority-1 columns are the `-o wide` ones).

use serde_json::{Value, json};

use crate::resources::ResourceType;
use crate::selector::LabelSelector;

/// `includeObject`: what each row carries besides its cells.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Include {
    None,
    Metadata,
    Object,
}

/// A Table of `objects`, with list `metadata` (resourceVersion, continue).
pub fn table(
    rt: &ResourceType,
    objects: &[&Value],
    version: &str,
    include: Include,
    metadata: Value,
) -> Value {
    let columns: Vec<Value> = columns(rt)
        .iter()
        .map(|(name, ty, priority, description)| {
            json!({
                "name": name,
                "type": ty,
                "format": if *name == "Name" { "name" } else { "" },
                "description": description,
                "priority": priority,
            })
        })
        .collect();
    let rows: Vec<Value> = objects
        .iter()
        .map(|o| {
            let mut row = json!({"cells": cells(rt, o)});
            match include {
                Include::None => {}
                Include::Metadata => {
                    row["object"] = json!({
                        "kind": "PartialObjectMetadata",
                        "apiVersion": format!("meta.k8s.io/{version}"),
                        "metadata": o["metadata"],
                    })
                }
                Include::Object => {
                    let mut full = (*o).clone();
                    full["kind"] = json!(rt.kind);
                    full["apiVersion"] = json!(rt.api_version());
                    row["object"] = full;
                }
            }
            row
        })
        .collect();
    json!({
        "kind": "Table",
        "apiVersion": format!("meta.k8s.io/{version}"),
        "metadata": metadata,
        "columnDefinitions": columns,
        "rows": rows,
    })
}

type Column = (&'static str, &'static str, u8, &'static str);

const NAME: Column = (
    "Name",
    "string",
    0,
    "Name must be unique within a namespace.",
);
const AGE: Column = (
    "Age",
    "string",
    0,
    "CreationTimestamp is a timestamp representing the server time when this object was created.",
);

fn columns(rt: &ResourceType) -> Vec<Column> {
    match rt.plural {
        "pods" => vec![
            NAME,
            (
                "Ready",
                "string",
                0,
                "The aggregate readiness state of this pod for accepting traffic.",
            ),
            (
                "Status",
                "string",
                0,
                "The aggregate status of the containers in this pod.",
            ),
            (
                "Restarts",
                "string",
                0,
                "The number of times the containers in this pod have been restarted and when the last container in this pod has restarted.",
            ),
            AGE,
            (
                "IP",
                "string",
                1,
                "IP address allocated to the pod. Routable at least within the cluster. Empty if not yet allocated.",
            ),
            (
                "Node",
                "string",
                1,
                "NodeName is a request to schedule this pod onto a specific node.",
            ),
            (
                "Nominated Node",
                "string",
                1,
                "nominatedNodeName is set only when this pod preempts other pods on the node.",
            ),
            (
                "Readiness Gates",
                "string",
                1,
                "If specified, all readiness gates will be evaluated for pod readiness.",
            ),
        ],
        "deployments" => vec![
            NAME,
            ("Ready", "string", 0, "Number of the pod with ready state"),
            (
                "Up-to-date",
                "string",
                0,
                "Total number of non-terminated pods targeted by this deployment that have the desired template spec.",
            ),
            (
                "Available",
                "string",
                0,
                "Total number of available pods (ready for at least minReadySeconds) targeted by this deployment.",
            ),
            AGE,
            (
                "Containers",
                "string",
                1,
                "Names of each container in the template.",
            ),
            (
                "Images",
                "string",
                1,
                "Images referenced by each container in the template.",
            ),
            (
                "Selector",
                "string",
                1,
                "Label selector for pods. Existing ReplicaSets whose pods are selected by this will be the ones affected by this deployment.",
            ),
        ],
        "replicasets" => vec![
            NAME,
            (
                "Desired",
                "integer",
                0,
                "Replicas is the number of desired replicas.",
            ),
            (
                "Current",
                "integer",
                0,
                "Replicas is the most recently observed number of replicas.",
            ),
            (
                "Ready",
                "integer",
                0,
                "The number of ready replicas for this replica set.",
            ),
            AGE,
            (
                "Containers",
                "string",
                1,
                "Names of each container in the template.",
            ),
            (
                "Images",
                "string",
                1,
                "Images referenced by each container in the template.",
            ),
            (
                "Selector",
                "string",
                1,
                "Selector is a label query over pods that should match the replica count.",
            ),
        ],
        "services" => vec![
            NAME,
            (
                "Type",
                "string",
                0,
                "type determines how the Service is exposed.",
            ),
            (
                "Cluster-IP",
                "string",
                0,
                "clusterIP is the IP address of the service and is usually assigned randomly.",
            ),
            (
                "External-IP",
                "string",
                0,
                "externalIPs is a list of IP addresses for which nodes in the cluster will also accept traffic for this service.",
            ),
            (
                "Port(s)",
                "string",
                0,
                "The list of ports that are exposed by this service.",
            ),
            AGE,
            (
                "Selector",
                "string",
                1,
                "Route service traffic to pods with label keys and values matching this selector.",
            ),
        ],
        "endpoints" => vec![
            NAME,
            (
                "Endpoints",
                "string",
                0,
                "Endpoints is the list of endpoints in the subsets.",
            ),
            AGE,
        ],
        "endpointslices" => vec![
            NAME,
            (
                "AddressType",
                "string",
                0,
                "addressType specifies the type of address carried by this EndpointSlice.",
            ),
            (
                "Ports",
                "string",
                0,
                "ports specifies the list of network ports exposed by each endpoint in this slice.",
            ),
            (
                "Endpoints",
                "string",
                0,
                "endpoints is a list of unique endpoints in this slice.",
            ),
            AGE,
        ],
        "namespaces" => vec![
            NAME,
            ("Status", "string", 0, "The status of the namespace"),
            AGE,
        ],
        "events" => vec![
            (
                "Last Seen",
                "string",
                0,
                "The time at which the most recent occurrence of this event was recorded.",
            ),
            (
                "Type",
                "string",
                0,
                "Type of this event (Normal, Warning), new types could be added in the future.",
            ),
            (
                "Reason",
                "string",
                0,
                "This should be a short, machine understandable string that gives the reason for the transition into the object's current status.",
            ),
            (
                "Object",
                "string",
                0,
                "The object that this event is about.",
            ),
            (
                "Subobject",
                "string",
                1,
                "The subobject that this event is about.",
            ),
            ("Source", "string", 1, "The component reporting this event."),
            (
                "Message",
                "string",
                0,
                "A human-readable description of the status of this operation.",
            ),
            (
                "First Seen",
                "string",
                1,
                "The time at which the event was first recorded.",
            ),
            (
                "Count",
                "string",
                1,
                "The number of times this event has occurred.",
            ),
            (
                "Name",
                "string",
                1,
                "Name must be unique within a namespace.",
            ),
        ],
        "horizontalpodautoscalers" => vec![
            NAME,
            ("Reference", "string", 0, "reference to the target object"),
            ("Targets", "string", 0, "the current and target metrics"),
            (
                "MinPods",
                "string",
                0,
                "minReplicas is the lower limit for the number of replicas.",
            ),
            (
                "MaxPods",
                "string",
                0,
                "maxReplicas is the upper limit for the number of replicas.",
            ),
            (
                "Replicas",
                "string",
                0,
                "current number of replicas of pods managed by this autoscaler",
            ),
            AGE,
        ],
        _ => vec![
            NAME,
            (
                "Created At",
                "date",
                0,
                "CreationTimestamp is a timestamp representing the server time when this object was created.",
            ),
        ],
    }
}

fn s(v: &Value) -> &str {
    v.as_str().unwrap_or("")
}

fn or_none(v: &str) -> String {
    if v.is_empty() {
        "<none>".into()
    } else {
        v.into()
    }
}

fn int(v: &Value) -> i64 {
    v.as_i64().unwrap_or(0)
}

fn cells(rt: &ResourceType, o: &Value) -> Vec<Value> {
    let name = json!(s(&o["metadata"]["name"]));
    let age = json!(age(&o["metadata"]["creationTimestamp"]));
    match rt.plural {
        "pods" => pod_cells(o, name, age),
        "deployments" => {
            let (containers, images) = containers_and_images(&o["spec"]["template"]["spec"]);
            vec![
                name,
                json!(format!(
                    "{}/{}",
                    int(&o["status"]["readyReplicas"]),
                    o["spec"]["replicas"].as_i64().unwrap_or(1)
                )),
                json!(int(&o["status"]["updatedReplicas"])),
                json!(int(&o["status"]["availableReplicas"])),
                age,
                json!(containers),
                json!(images),
                json!(selector_text(&o["spec"]["selector"])),
            ]
        }
        "replicasets" => {
            let (containers, images) = containers_and_images(&o["spec"]["template"]["spec"]);
            vec![
                name,
                json!(o["spec"]["replicas"].as_i64().unwrap_or(1)),
                json!(int(&o["status"]["replicas"])),
                json!(int(&o["status"]["readyReplicas"])),
                age,
                json!(containers),
                json!(images),
                json!(selector_text(&o["spec"]["selector"])),
            ]
        }
        "services" => service_cells(o, name, age),
        "endpoints" => vec![name, json!(endpoints_text(o)), age],
        "endpointslices" => vec![
            name,
            json!(s(&o["addressType"])),
            json!(slice_ports(o)),
            json!(slice_endpoints(o)),
            age,
        ],
        "namespaces" => vec![name, json!(s(&o["status"]["phase"])), age],
        "events" => event_cells(o, name),
        "horizontalpodautoscalers" => {
            let target = &o["spec"]["scaleTargetRef"];
            vec![
                name,
                json!(format!("{}/{}", s(&target["kind"]), s(&target["name"]))),
                json!(hpa_targets(o)),
                json!(o["spec"]["minReplicas"].as_i64().unwrap_or(1).to_string()),
                json!(int(&o["spec"]["maxReplicas"]).to_string()),
                json!(int(&o["status"]["currentReplicas"]).to_string()),
                age,
            ]
        }
        _ => vec![name, o["metadata"]["creationTimestamp"].clone()],
    }
}

fn pod_cells(o: &Value, name: Value, age: Value) -> Vec<Value> {
    let spec = &o["spec"];
    let status = &o["status"];
    let total = spec["containers"].as_array().map_or(0, Vec::len);
    let mut ready = 0;
    let mut restarts = 0;
    let mut reason = s(&status["phase"]).to_string();
    if !s(&status["reason"]).is_empty() {
        reason = s(&status["reason"]).to_string();
    }
    let mut last_restart: Option<jiff::Timestamp> = None;
    let mut has_running = false;
    if let Some(statuses) = status["containerStatuses"].as_array() {
        for c in statuses.iter().rev() {
            restarts += int(&c["restartCount"]);
            if let Ok(t) = s(&c["lastState"]["terminated"]["finishedAt"]).parse::<jiff::Timestamp>()
            {
                last_restart = Some(last_restart.map_or(t, |l| l.max(t)));
            }
            let state = &c["state"];
            if !s(&state["waiting"]["reason"]).is_empty() {
                reason = s(&state["waiting"]["reason"]).to_string();
            } else if !s(&state["terminated"]["reason"]).is_empty() {
                reason = s(&state["terminated"]["reason"]).to_string();
            } else if state["terminated"].is_object() {
                reason = format!("ExitCode:{}", int(&state["terminated"]["exitCode"]));
            } else if c["ready"].as_bool() == Some(true) && state["running"].is_object() {
                has_running = true;
                ready += 1;
            }
        }
    }
    if reason == "Completed" && has_running {
        reason = "Running".into();
    }
    let terminal = matches!(s(&status["phase"]), "Succeeded" | "Failed");
    if !o["metadata"]["deletionTimestamp"].is_null() && !terminal {
        reason = "Terminating".into();
    }
    let restarts = match last_restart {
        Some(t) if restarts != 0 => format!("{restarts} ({} ago)", human_since(t)),
        _ => restarts.to_string(),
    };
    let ip = status["podIPs"][0]["ip"]
        .as_str()
        .or_else(|| status["podIP"].as_str())
        .unwrap_or("");
    let gates = spec["readinessGates"].as_array().map(|gates| {
        let conditions = status["conditions"].as_array().cloned().unwrap_or_default();
        let met = gates
            .iter()
            .filter(|g| {
                conditions
                    .iter()
                    .any(|c| c["type"] == g["conditionType"] && c["status"] == "True")
            })
            .count();
        format!("{met}/{}", gates.len())
    });
    vec![
        name,
        json!(format!("{ready}/{total}")),
        json!(reason),
        json!(restarts),
        age,
        json!(or_none(ip)),
        json!(or_none(s(&spec["nodeName"]))),
        json!(or_none(s(&status["nominatedNodeName"]))),
        json!(gates.unwrap_or_else(|| "<none>".into())),
    ]
}

fn service_cells(o: &Value, name: Value, age: Value) -> Vec<Value> {
    let spec = &o["spec"];
    let svc_type = s(&spec["type"]);
    let svc_type = if svc_type.is_empty() {
        "ClusterIP"
    } else {
        svc_type
    };
    let mut external: Vec<String> = spec["externalIPs"]
        .as_array()
        .map(|a| a.iter().map(|v| s(v).to_string()).collect())
        .unwrap_or_default();
    let external = match svc_type {
        "ExternalName" => s(&spec["externalName"]).to_string(),
        "LoadBalancer" => {
            if let Some(ing) = o["status"]["loadBalancer"]["ingress"].as_array() {
                for i in ing {
                    let v = if s(&i["ip"]).is_empty() {
                        s(&i["hostname"])
                    } else {
                        s(&i["ip"])
                    };
                    external.push(v.to_string());
                }
            }
            if external.is_empty() {
                "<pending>".into()
            } else {
                external.join(",")
            }
        }
        _ => or_none(&external.join(",")),
    };
    let ports: Vec<String> = spec["ports"]
        .as_array()
        .map(|ps| {
            ps.iter()
                .map(|p| {
                    let proto = if s(&p["protocol"]).is_empty() {
                        "TCP"
                    } else {
                        s(&p["protocol"])
                    };
                    match p["nodePort"].as_i64() {
                        Some(np) if np != 0 => format!("{}:{np}/{proto}", int(&p["port"])),
                        _ => format!("{}/{proto}", int(&p["port"])),
                    }
                })
                .collect()
        })
        .unwrap_or_default();
    let selector = spec["selector"]
        .as_object()
        .map(|m| {
            let mut kv: Vec<String> = m.iter().map(|(k, v)| format!("{k}={}", s(v))).collect();
            kv.sort();
            kv.join(",")
        })
        .unwrap_or_default();
    vec![
        name,
        json!(svc_type),
        json!(or_none(s(&spec["clusterIP"]))),
        json!(external),
        json!(or_none(&ports.join(","))),
        age,
        json!(or_none(&selector)),
    ]
}

fn containers_and_images(pod_spec: &Value) -> (String, String) {
    let list = pod_spec["containers"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let names: Vec<&str> = list.iter().map(|c| s(&c["name"])).collect();
    let images: Vec<&str> = list.iter().map(|c| s(&c["image"])).collect();
    (names.join(","), images.join(","))
}

fn selector_text(sel: &Value) -> String {
    match LabelSelector::from_object(sel) {
        None => "<none>".into(),
        Some(ls) if ls.is_empty() => "<none>".into(),
        Some(ls) => {
            let mut parts: Vec<String> = ls
                .requirements
                .iter()
                .map(|r| {
                    use crate::selector::Requirement::*;
                    match r {
                        Equals(k, v) => format!("{k}={v}"),
                        NotEquals(k, v) => format!("{k}!={v}"),
                        In(k, vs) => format!("{k} in ({})", vs.join(",")),
                        NotIn(k, vs) => format!("{k} notin ({})", vs.join(",")),
                        Exists(k) => k.clone(),
                        DoesNotExist(k) => format!("!{k}"),
                    }
                })
                .collect();
            parts.sort();
            parts.join(",")
        }
    }
}

/// At most three `ip:port` pairs, then how many more, as kubectl's printer shows them.
fn endpoints_text(o: &Value) -> String {
    let mut all = Vec::new();
    for subset in o["subsets"].as_array().into_iter().flatten() {
        let ports: Vec<i64> = subset["ports"]
            .as_array()
            .map(|ps| ps.iter().map(|p| int(&p["port"])).collect())
            .unwrap_or_default();
        for a in subset["addresses"].as_array().into_iter().flatten() {
            if ports.is_empty() {
                all.push(s(&a["ip"]).to_string());
            }
            for p in &ports {
                all.push(format!("{}:{p}", s(&a["ip"])));
            }
        }
    }
    at_most_three(all)
}

fn at_most_three(all: Vec<String>) -> String {
    match all.len() {
        0 => "<none>".into(),
        n if n <= 3 => all.join(","),
        n => format!("{} + {} more...", all[..3].join(","), n - 3),
    }
}

fn slice_ports(o: &Value) -> String {
    let ports: Vec<String> = o["ports"]
        .as_array()
        .map(|ps| {
            ps.iter()
                .map(|p| {
                    p["port"]
                        .as_i64()
                        .map_or("<unset>".into(), |n| n.to_string())
                })
                .collect()
        })
        .unwrap_or_default();
    if ports.is_empty() {
        "<unset>".into()
    } else {
        ports.join(",")
    }
}

fn slice_endpoints(o: &Value) -> String {
    let addrs: Vec<String> = o["endpoints"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|e| e["addresses"].as_array().cloned().unwrap_or_default())
        .map(|a| s(&a).to_string())
        .collect();
    if addrs.is_empty() {
        "<unset>".into()
    } else {
        at_most_three(addrs)
    }
}

fn event_cells(o: &Value, name: Value) -> Vec<Value> {
    let last = ["lastTimestamp", "eventTime"]
        .iter()
        .find(|k| !o[**k].is_null())
        .map(|k| age(&o[*k]))
        .unwrap_or_else(|| age(&o["metadata"]["creationTimestamp"]));
    let first = if o["firstTimestamp"].is_null() {
        age(&o["eventTime"])
    } else {
        age(&o["firstTimestamp"])
    };
    let count = o["count"].as_i64().unwrap_or(1);
    let last_seen = if count > 1 {
        format!("{last} (x{count} over {first})")
    } else {
        last
    };
    let involved = &o["involvedObject"];
    let source = if s(&o["source"]["component"]).is_empty() {
        s(&o["reportingComponent"]).to_string()
    } else {
        let host = s(&o["source"]["host"]);
        if host.is_empty() {
            s(&o["source"]["component"]).to_string()
        } else {
            format!("{}, {host}", s(&o["source"]["component"]))
        }
    };
    vec![
        json!(last_seen),
        json!(s(&o["type"])),
        json!(s(&o["reason"])),
        json!(format!(
            "{}/{}",
            s(&involved["kind"]).to_lowercase(),
            s(&involved["name"])
        )),
        json!(s(&involved["fieldPath"])),
        json!(source),
        json!(s(&o["message"]).trim()),
        json!(first),
        json!(count.to_string()),
        name,
    ]
}

fn hpa_targets(o: &Value) -> String {
    let metrics = o["spec"]["metrics"].as_array().cloned().unwrap_or_default();
    if metrics.is_empty() {
        return "<none>".into();
    }
    let parts: Vec<String> = metrics
        .iter()
        .map(|m| {
            let r = &m["resource"];
            let target = &r["target"];
            let want = match target["averageUtilization"].as_i64() {
                Some(u) => format!("{u}%"),
                None => s(&target["averageValue"]).to_string(),
            };
            if r.is_object() {
                format!("{}: <unknown>/{want}", s(&r["name"]))
            } else {
                format!("<unknown>/{want}")
            }
        })
        .collect();
    parts.join(", ")
}

/// The AGE column: time since a timestamp, in kubectl's short human form.
pub fn age(ts: &Value) -> String {
    match s(ts).parse::<jiff::Timestamp>() {
        Ok(t) => human_since(t),
        Err(_) => "<unknown>".into(),
    }
}

fn human_since(t: jiff::Timestamp) -> String {
    let secs = jiff::Timestamp::now().as_second() - t.as_second();
    human_duration(secs)
}

/// apimachinery's `duration.HumanDuration`.
pub fn human_duration(secs: i64) -> String {
    if secs < -1 {
        return "<invalid>".into();
    }
    let secs = secs.max(0);
    if secs < 60 * 2 {
        return format!("{secs}s");
    }
    let minutes = secs / 60;
    if minutes < 10 {
        let s = secs % 60;
        return if s == 0 {
            format!("{minutes}m")
        } else {
            format!("{minutes}m{s}s")
        };
    }
    if minutes < 60 * 3 {
        return format!("{minutes}m");
    }
    let hours = minutes / 60;
    if hours < 8 {
        let m = minutes % 60;
        return if m == 0 {
            format!("{hours}h")
        } else {
            format!("{hours}h{m}m")
        };
    }
    if hours < 48 {
        return format!("{hours}h");
    }
    if hours < 24 * 8 {
        let h = hours % 24;
        return if h == 0 {
            format!("{}d", hours / 24)
        } else {
            format!("{}d{h}h", hours / 24)
        };
    }
    if hours < 24 * 365 * 2 {
        return format!("{}d", hours / 24);
    }
    if hours < 24 * 365 * 8 {
        let d = (hours / 24) % 365;
        return if d == 0 {
            format!("{}y", hours / 24 / 365)
        } else {
            format!("{}y{d}d", hours / 24 / 365)
        };
    }
    format!("{}y", hours / 24 / 365)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resources;

    #[test]
    fn human_durations() {
        assert_eq!(human_duration(5), "5s");
        assert_eq!(human_duration(150), "2m30s");
        assert_eq!(human_duration(600), "10m");
        assert_eq!(human_duration(3 * 3600 + 60), "3h1m");
        assert_eq!(human_duration(30 * 3600), "30h");
        assert_eq!(human_duration(3 * 86400 + 3600), "3d1h");
    }

    #[test]
    fn pod_row_shows_crashloop_and_readiness() {
        let pod = json!({
            "metadata": {"name": "web-1", "creationTimestamp": "2020-01-01T00:00:00Z"},
            "spec": {"containers": [{"name": "a"}, {"name": "b"}], "nodeName": "node-1"},
            "status": {"phase": "Running", "podIP": "10.0.0.5", "containerStatuses": [
                {"name": "a", "ready": true, "restartCount": 0, "state": {"running": {}}},
                {"name": "b", "ready": false, "restartCount": 4, "state": {"waiting": {"reason": "CrashLoopBackOff"}}}
            ]}
        });
        let t = table(
            &resources::PODS,
            &[&pod],
            "v1",
            Include::Metadata,
            json!({}),
        );
        let cells = &t["rows"][0]["cells"];
        assert_eq!(cells[0], "web-1");
        assert_eq!(cells[1], "1/2");
        assert_eq!(cells[2], "CrashLoopBackOff");
        assert_eq!(cells[3], "4");
        assert_eq!(cells[5], "10.0.0.5");
        assert_eq!(cells[6], "node-1");
        assert_eq!(t["rows"][0]["object"]["kind"], "PartialObjectMetadata");
        assert_eq!(
            t["columnDefinitions"].as_array().unwrap().len(),
            cells.as_array().unwrap().len()
        );
    }

    #[test]
    fn service_and_endpoints_rows() {
        let svc = json!({"metadata": {"name": "web"}, "spec": {"type": "ClusterIP", "clusterIP": "10.96.0.10",
            "ports": [{"port": 80, "protocol": "TCP"}], "selector": {"app": "blue"}}});
        let t = table(
            &resources::SERVICES,
            &[&svc],
            "v1",
            Include::None,
            json!({}),
        );
        let cells = &t["rows"][0]["cells"];
        assert_eq!(cells[1], "ClusterIP");
        assert_eq!(cells[3], "<none>");
        assert_eq!(cells[4], "80/TCP");
        assert_eq!(cells[6], "app=blue");
        assert!(t["rows"][0].get("object").is_none());

        let ep = json!({"metadata": {"name": "web"}, "subsets": [{"addresses": [
            {"ip": "1.1.1.1"}, {"ip": "1.1.1.2"}, {"ip": "1.1.1.3"}, {"ip": "1.1.1.4"}], "ports": [{"port": 80}]}]});
        let t = table(
            &resources::ENDPOINTS,
            &[&ep],
            "v1",
            Include::None,
            json!({}),
        );
        assert_eq!(
            t["rows"][0]["cells"][1],
            "1.1.1.1:80,1.1.1.2:80,1.1.1.3:80 + 1 more..."
        );
    }
}
