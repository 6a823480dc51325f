//! Validation the real API server applies before storing, as 422 Invalid with field causes.
//! Only the rules that clients of this sandbox can run into are here.

use serde_json::Value;

use crate::error::{ApiError, ApiResult};
use crate::resources::{self, ResourceType};

type Causes = Vec<(String, String)>;

/// Validates (and where the real server defaults a field, defaults) `obj` before it is
/// stored. `old` is the stored object for updates.
pub fn object(rt: &ResourceType, obj: &mut Value, old: Option<&Value>) -> ApiResult<()> {
    if let Some(e) = type_error(rt, obj) {
        return Err(ApiError::bad_request(format!(
            "{kind} in version \"{version}\" cannot be handled as a {kind}: {}",
            e.message(),
            kind = rt.kind,
            version = rt.version,
        )));
    }
    crate::defaults::apply(rt, obj, old);
    let mut causes: Causes = Vec::new();
    let name = obj["metadata"]["name"].as_str().unwrap_or("").to_string();
    if old.is_none() {
        let ok = if rt.plural == resources::SERVICES.plural
            || rt.plural == resources::NAMESPACES.plural
        {
            is_dns1035_label(&name) || (rt.plural == "namespaces" && is_dns1123_label(&name))
        } else if rt.plural == resources::SELFSUBJECTACCESSREVIEWS.plural {
            true
        } else {
            is_dns1123_subdomain(&name)
        };
        if !ok {
            causes.push((
                "metadata.name".into(),
                format!(
                    "Invalid value: \"{name}\": a lowercase RFC 1123 name must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character"
                ),
            ));
        }
    }
    if old.is_none()
        && let Some(prefix) = obj["metadata"]["generateName"].as_str()
    {
        // The prefix must be valid for the kind's names, length included.
        let max = if rt.plural == resources::SERVICES.plural
            || rt.plural == resources::NAMESPACES.plural
        {
            63
        } else {
            253
        };
        if prefix.len() > max {
            causes.push((
                "metadata.generateName".into(),
                format!("Invalid value: \"{prefix}\": must be no more than {max} characters"),
            ));
        }
    }
    labels(&obj["metadata"]["labels"], "metadata.labels", &mut causes);

    match rt.kind {
        "Deployment" | "ReplicaSet" => workload(obj, old, &mut causes),
        "Service" => service(obj, old, &mut causes),
        "Pod" => pod(obj, old, &mut causes),
        _ => {}
    }
    if causes.is_empty() {
        Ok(())
    } else {
        Err(ApiError::invalid(rt.group, rt.kind, &name, causes))
    }
}

fn labels(v: &Value, field: &str, causes: &mut Causes) {
    let Some(map) = v.as_object() else {
        if !v.is_null() {
            causes.push((
                field.into(),
                "Invalid value: must be a map of strings".into(),
            ));
        }
        return;
    };
    for (k, val) in map {
        if !is_label_key(k) {
            causes.push((
                field.into(),
                format!("Invalid value: \"{k}\": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character"),
            ));
        }
        match val.as_str() {
            Some(s) if is_label_value(s) => {}
            Some(s) => causes.push((
                field.to_string(),
                format!("Invalid value: \"{s}\": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character"),
            )),
            None => causes.push((field.into(), format!("Invalid value: value of \"{k}\" must be a string"))),
        }
    }
}

fn workload(obj: &mut Value, old: Option<&Value>, causes: &mut Causes) {
    let spec = &obj["spec"];
    if let Some(r) = spec.get("replicas")
        && !r.is_null()
    {
        match r.as_i64() {
            Some(n) if n >= 0 => {}
            _ => causes.push((
                "spec.replicas".into(),
                format!("Invalid value: {r}: must be greater than or equal to 0"),
            )),
        }
    }
    let selector = &spec["selector"]["matchLabels"];
    let template_labels = &spec["template"]["metadata"]["labels"];
    if spec["selector"].is_null() {
        causes.push(("spec.selector".into(), "Required value".into()));
    } else if let Some(sel) = selector.as_object() {
        for (k, v) in sel {
            if template_labels.get(k) != Some(v) {
                causes.push((
                    "spec.template.metadata.labels".into(),
                    "Invalid value: `selector` does not match template `labels`".into(),
                ));
                break;
            }
        }
    }
    if let Some(old) = old
        && old["spec"]["selector"] != obj["spec"]["selector"]
        && !old["spec"]["selector"].is_null()
    {
        causes.push((
            "spec.selector".into(),
            "Invalid value: field is immutable".into(),
        ));
    }
    let containers = &obj["spec"]["template"]["spec"]["containers"];
    if containers.as_array().is_none_or(|c| c.is_empty()) {
        causes.push((
            "spec.template.spec.containers".into(),
            "Required value".into(),
        ));
    }
    if obj["spec"]["replicas"].is_null() {
        obj["spec"]["replicas"] = 1.into();
    }
}

fn service(obj: &mut Value, old: Option<&Value>, causes: &mut Causes) {
    let spec = &obj["spec"];
    labels(&spec["selector"], "spec.selector", causes);
    let svc_type = spec["type"].as_str().unwrap_or("ClusterIP").to_string();
    if svc_type != "ExternalName" && spec["ports"].as_array().is_none_or(|p| p.is_empty()) {
        let headless = spec["clusterIP"].as_str() == Some("None");
        if !headless {
            causes.push(("spec.ports".into(), "Required value".into()));
        }
    }
    if let Some(old) = old {
        let old_ip = &old["spec"]["clusterIP"];
        if !obj["spec"]["clusterIP"].is_null()
            && !old_ip.is_null()
            && obj["spec"]["clusterIP"] != *old_ip
        {
            causes.push((
                "spec.clusterIP".into(),
                "Invalid value: field is immutable".into(),
            ));
        }
    }
    if obj["spec"]["type"].is_null() {
        obj["spec"]["type"] = "ClusterIP".into();
    }
}

fn pod(obj: &mut Value, old: Option<&Value>, causes: &mut Causes) {
    let containers = &obj["spec"]["containers"];
    if containers.as_array().is_none_or(|c| c.is_empty()) {
        causes.push(("spec.containers".into(), "Required value".into()));
    }
    if let Some(old) = old {
        let images = |v: &Value| v["spec"]["containers"].clone();
        let mut a = images(obj);
        let mut b = images(old);
        // Only the image may change in place.
        for list in [&mut a, &mut b] {
            if let Some(arr) = list.as_array_mut() {
                for c in arr {
                    if let Some(m) = c.as_object_mut() {
                        m.remove("image");
                    }
                }
            }
        }
        if a != b {
            causes.push((
                "spec".into(),
                "Forbidden: pod updates may not change fields other than `spec.containers[*].image`, `spec.initContainers[*].image`, `spec.activeDeadlineSeconds`, `spec.tolerations` (only additions to existing tolerations), `spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)".into(),
            ));
        }
    }
}

/// RFC 1123 label: at most 63 lower-case alphanumerics or '-', alphanumeric at both ends.
pub fn is_dns1123_label(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

/// RFC 1035 label: an RFC 1123 label that starts with a letter (Service names).
pub fn is_dns1035_label(s: &str) -> bool {
    is_dns1123_label(s) && s.as_bytes()[0].is_ascii_lowercase()
}

/// RFC 1123 subdomain: dot-separated labels, at most 253 characters.
pub fn is_dns1123_subdomain(s: &str) -> bool {
    !s.is_empty() && s.len() <= 253 && s.split('.').all(is_dns1123_label)
}

/// A label key: optional DNS-subdomain prefix and '/', then a name of at most 63 characters.
pub fn is_label_key(k: &str) -> bool {
    let (prefix, name) = match k.rsplit_once('/') {
        Some((p, n)) => (Some(p), n),
        None => (None, k),
    };
    prefix.is_none_or(is_dns1123_subdomain) && !name.is_empty() && is_label_value(name)
}

/// A label value: empty, or at most 63 alphanumerics, '-', '_', '.', alphanumeric at both ends.
pub fn is_label_value(v: &str) -> bool {
    if v.is_empty() {
        return true;
    }
    let b = v.as_bytes();
    v.len() <= 63
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.'))
        && b[0].is_ascii_alphanumeric()
        && b[b.len() - 1].is_ascii_alphanumeric()
}

/// A value of the wrong JSON type where the Go types have a map of strings (labels,
/// annotations, selectors): the real server's decoder refuses the whole body.
pub struct TypeError {
    /// The Go struct holding the map, e.g. `ObjectMeta`.
    pub owner: &'static str,
    /// The JSON path of the map, e.g. `spec.template.metadata.labels`.
    pub path: String,
    pub key: String,
    pub value: Value,
}

impl TypeError {
    /// In the words of Go's `encoding/json`.
    pub fn message(&self) -> String {
        let got = match &self.value {
            Value::Bool(_) => "bool",
            Value::Number(_) => "number",
            Value::Array(_) => "array",
            Value::Object(_) => "object",
            _ => "string",
        };
        format!(
            "json: cannot unmarshal {got} into Go struct field {}.{} of type string",
            self.owner, self.path
        )
    }
}

/// The first map of strings in `obj` holding something else than a string (or null).
pub fn type_error(rt: &ResourceType, obj: &Value) -> Option<TypeError> {
    let mut maps: Vec<(&'static str, &str)> = vec![
        ("ObjectMeta", "metadata.labels"),
        ("ObjectMeta", "metadata.annotations"),
    ];
    match rt.kind {
        "Deployment" | "ReplicaSet" => maps.extend([
            ("LabelSelector", "spec.selector.matchLabels"),
            ("ObjectMeta", "spec.template.metadata.labels"),
            ("ObjectMeta", "spec.template.metadata.annotations"),
            ("PodSpec", "spec.template.spec.nodeSelector"),
        ]),
        "Pod" => maps.push(("PodSpec", "spec.nodeSelector")),
        "Service" => maps.push(("ServiceSpec", "spec.selector")),
        _ => {}
    }
    for (owner, path) in maps {
        let mut v = obj;
        for step in path.split('.') {
            v = &v[step];
        }
        let Some(map) = v.as_object() else { continue };
        if let Some((k, bad)) = map.iter().find(|(_, v)| !(v.is_string() || v.is_null())) {
            return Some(TypeError {
                owner,
                path: path.to_string(),
                key: k.clone(),
                value: bad.clone(),
            });
        }
    }
    None
}
