//! Unknown fields: the real server decodes bodies into typed objects, so a field the type
//! does not have is dropped (with a warning, the default `fieldValidation=Warn`), rejected
//! (`Strict`) or silently dropped (`Ignore`). The sandbox keeps objects as JSON, so it checks
//! against these lists of known fields instead: every field of the levels clients write
//! (object, metadata, spec, pod template, containers, ports); deeper levels and `status`
//! are not checked.

use serde_json::Value;

use crate::resources::ResourceType;

const OBJECT_META: &[&str] = &[
    "name",
    "generateName",
    "namespace",
    "selfLink",
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "labels",
    "annotations",
    "ownerReferences",
    "finalizers",
    "managedFields",
];

const DEPLOYMENT_SPEC: &[&str] = &[
    "replicas",
    "selector",
    "template",
    "strategy",
    "minReadySeconds",
    "revisionHistoryLimit",
    "paused",
    "progressDeadlineSeconds",
];

const REPLICASET_SPEC: &[&str] = &["replicas", "minReadySeconds", "selector", "template"];

const STRATEGY: &[&str] = &["type", "rollingUpdate"];

const SERVICE_SPEC: &[&str] = &[
    "ports",
    "selector",
    "clusterIP",
    "clusterIPs",
    "type",
    "externalIPs",
    "sessionAffinity",
    "loadBalancerIP",
    "loadBalancerSourceRanges",
    "externalName",
    "externalTrafficPolicy",
    "healthCheckNodePort",
    "publishNotReadyAddresses",
    "sessionAffinityConfig",
    "ipFamilies",
    "ipFamilyPolicy",
    "allocateLoadBalancerNodePorts",
    "loadBalancerClass",
    "internalTrafficPolicy",
    "trafficDistribution",
];

const SERVICE_PORT: &[&str] = &[
    "name",
    "protocol",
    "appProtocol",
    "port",
    "targetPort",
    "nodePort",
];

const POD_TEMPLATE: &[&str] = &["metadata", "spec"];

const POD_SPEC: &[&str] = &[
    "volumes",
    "initContainers",
    "containers",
    "ephemeralContainers",
    "restartPolicy",
    "terminationGracePeriodSeconds",
    "activeDeadlineSeconds",
    "dnsPolicy",
    "nodeSelector",
    "serviceAccountName",
    "serviceAccount",
    "automountServiceAccountToken",
    "nodeName",
    "hostNetwork",
    "hostPID",
    "hostIPC",
    "shareProcessNamespace",
    "securityContext",
    "imagePullSecrets",
    "hostname",
    "subdomain",
    "affinity",
    "schedulerName",
    "tolerations",
    "hostAliases",
    "priorityClassName",
    "priority",
    "dnsConfig",
    "readinessGates",
    "runtimeClassName",
    "enableServiceLinks",
    "preemptionPolicy",
    "overhead",
    "topologySpreadConstraints",
    "setHostnameAsFQDN",
    "os",
    "hostUsers",
    "schedulingGates",
    "resourceClaims",
    "resources",
];

const CONTAINER: &[&str] = &[
    "name",
    "image",
    "command",
    "args",
    "workingDir",
    "ports",
    "envFrom",
    "env",
    "resources",
    "resizePolicy",
    "restartPolicy",
    "volumeMounts",
    "volumeDevices",
    "livenessProbe",
    "readinessProbe",
    "startupProbe",
    "lifecycle",
    "terminationMessagePath",
    "terminationMessagePolicy",
    "imagePullPolicy",
    "securityContext",
    "stdin",
    "stdinOnce",
    "tty",
];

const CONTAINER_PORT: &[&str] = &["name", "hostPort", "containerPort", "protocol", "hostIP"];

/// The top-level fields of each kind.
fn top_level(rt: &ResourceType) -> &'static [&'static str] {
    match rt.kind {
        "Endpoints" => &["apiVersion", "kind", "metadata", "subsets"],
        "EndpointSlice" => &[
            "apiVersion",
            "kind",
            "metadata",
            "addressType",
            "endpoints",
            "ports",
        ],
        "Event" => &[
            "apiVersion",
            "kind",
            "metadata",
            "involvedObject",
            "reason",
            "message",
            "source",
            "firstTimestamp",
            "lastTimestamp",
            "count",
            "type",
            "eventTime",
            "series",
            "action",
            "related",
            "reportingComponent",
            "reportingInstance",
        ],
        _ => &["apiVersion", "kind", "metadata", "spec", "status"],
    }
}

/// Removes the fields `rt` does not have from `obj` and returns their paths
/// (`spec.selectr`, `spec.template.spec.containers[0].imagee`), as the real decoder names
/// them.
pub fn prune_unknown(rt: &ResourceType, obj: &mut Value) -> Vec<String> {
    let mut unknown = Vec::new();
    check(obj, top_level(rt), "", &mut unknown);
    if let Some(meta) = obj.get_mut("metadata") {
        check(meta, OBJECT_META, "metadata", &mut unknown);
    }
    let Some(spec) = obj.get_mut("spec") else {
        return unknown;
    };
    match rt.kind {
        "Deployment" | "ReplicaSet" => {
            let known = if rt.kind == "Deployment" {
                DEPLOYMENT_SPEC
            } else {
                REPLICASET_SPEC
            };
            check(spec, known, "spec", &mut unknown);
            if let Some(strategy) = spec.get_mut("strategy") {
                check(strategy, STRATEGY, "spec.strategy", &mut unknown);
            }
            if let Some(template) = spec.get_mut("template") {
                check(template, POD_TEMPLATE, "spec.template", &mut unknown);
                if let Some(meta) = template.get_mut("metadata") {
                    check(meta, OBJECT_META, "spec.template.metadata", &mut unknown);
                }
                if let Some(pod) = template.get_mut("spec") {
                    pod_spec(pod, "spec.template.spec", &mut unknown);
                }
            }
        }
        "Pod" => pod_spec(spec, "spec", &mut unknown),
        "Service" => {
            check(spec, SERVICE_SPEC, "spec", &mut unknown);
            each(spec, "ports", SERVICE_PORT, "spec", &mut unknown);
        }
        _ => {}
    }
    unknown
}

fn pod_spec(spec: &mut Value, path: &str, unknown: &mut Vec<String>) {
    check(spec, POD_SPEC, path, unknown);
    for list in ["containers", "initContainers"] {
        if let Some(items) = spec.get_mut(list).and_then(Value::as_array_mut) {
            for (i, c) in items.iter_mut().enumerate() {
                let at = format!("{path}.{list}[{i}]");
                check(c, CONTAINER, &at, unknown);
                each(c, "ports", CONTAINER_PORT, &at, unknown);
            }
        }
    }
}

fn each(parent: &mut Value, list: &str, known: &[&str], path: &str, unknown: &mut Vec<String>) {
    if let Some(items) = parent.get_mut(list).and_then(Value::as_array_mut) {
        for (i, item) in items.iter_mut().enumerate() {
            check(item, known, &format!("{path}.{list}[{i}]"), unknown);
        }
    }
}

fn check(v: &mut Value, known: &[&str], path: &str, unknown: &mut Vec<String>) {
    let Some(map) = v.as_object_mut() else {
        return;
    };
    let bad: Vec<String> = map
        .keys()
        .filter(|k| !known.contains(&k.as_str()))
        .cloned()
        .collect();
    for key in bad {
        map.remove(&key);
        unknown.push(if path.is_empty() {
            key
        } else {
            format!("{path}.{key}")
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resources;
    use serde_json::json;

    #[test]
    fn finds_and_removes_unknown_fields_at_every_checked_level() {
        let mut d = json!({
            "apiVersion": "apps/v1", "kind": "Deployment", "extra": 1,
            "metadata": {"name": "web", "lables": {}},
            "spec": {"replica": 2, "template": {"spec": {"containers": [
                {"name": "web", "imagee": "x", "ports": [{"containerPort": 80, "prot": "TCP"}]}
            ]}}},
            "status": {"anything": true}
        });
        let unknown = prune_unknown(&resources::DEPLOYMENTS, &mut d);
        assert_eq!(
            unknown,
            [
                "extra",
                "metadata.lables",
                "spec.replica",
                "spec.template.spec.containers[0].imagee",
                "spec.template.spec.containers[0].ports[0].prot",
            ]
        );
        assert_eq!(
            d["spec"]["template"]["spec"]["containers"][0],
            json!({"name": "web", "ports": [{"containerPort": 80}]})
        );
        assert_eq!(d["status"]["anything"], true, "status is not checked");

        let mut svc = json!({"spec": {"selectr": {"app": "x"}, "ports": [{"port": 80}]}});
        assert_eq!(
            prune_unknown(&resources::SERVICES, &mut svc),
            ["spec.selectr"]
        );
    }
}
