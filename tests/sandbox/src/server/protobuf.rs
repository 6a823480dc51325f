//! Just enough of the Kubernetes protobuf encoding to read the bodies current kubectl sends
//! only as protobuf: objects created through its typed clients (`kubectl create deployment`,
//! `create service`, `create namespace`, `auth can-i`). Responses are always JSON.
//!
//! Decoding follows a table of the few messages involved (field number → JSON name and
//! type). Fields not in the table are skipped; zero values are dropped, as JSON's
//! `omitempty` drops them, except where zero means something (`replicas`).

use serde_json::{Map, Value, json};

/// The envelope's magic prefix: `k8s\0`, then a `runtime.Unknown` message.
const MAGIC: &[u8] = b"k8s\0";

/// One field of a message: its number and its raw value.
enum Raw<'a> {
    Varint(u32, u64),
    Bytes(u32, &'a [u8]),
    Other,
}

/// The fields of one message, in order. `None` for malformed input.
fn fields(mut buf: &[u8]) -> Option<Vec<Raw<'_>>> {
    let mut out = Vec::new();
    while !buf.is_empty() {
        let key = varint(&mut buf)?;
        let number = u32::try_from(key >> 3).ok()?;
        match key & 7 {
            0 => out.push(Raw::Varint(number, varint(&mut buf)?)),
            1 => {
                buf = buf.get(8..)?;
                out.push(Raw::Other);
            }
            2 => {
                let len = usize::try_from(varint(&mut buf)?).ok()?;
                let (value, rest) = (buf.get(..len)?, buf.get(len..)?);
                out.push(Raw::Bytes(number, value));
                buf = rest;
            }
            5 => {
                buf = buf.get(4..)?;
                out.push(Raw::Other);
            }
            _ => return None,
        }
    }
    Some(out)
}

fn varint(buf: &mut &[u8]) -> Option<u64> {
    let mut value = 0u64;
    for shift in (0..64).step_by(7) {
        let (&b, rest) = buf.split_first()?;
        *buf = rest;
        value |= u64::from(b & 0x7f) << shift;
        if b & 0x80 == 0 {
            return Some(value);
        }
    }
    None
}

fn bytes_field<'a>(fields: &[Raw<'a>], number: u32) -> Option<&'a [u8]> {
    fields.iter().find_map(|f| match f {
        Raw::Bytes(n, b) if *n == number => Some(*b),
        _ => None,
    })
}

/// How one field is read.
#[derive(Clone, Copy)]
enum Kind {
    Str,
    Int,
    Bool,
    Msg(&'static [F]),
    /// `map<string,string>`.
    StrMap,
    /// `map<string,Quantity>` (resource lists).
    QuantityMap,
    IntOrString,
    /// A string inside a message (`resource.Quantity`).
    Quantity,
}

/// A field: number, JSON name, type, repeated.
type F = (u32, &'static str, Kind, bool);

const OBJECT_META: &[F] = &[
    (1, "name", Kind::Str, false),
    (2, "generateName", Kind::Str, false),
    (3, "namespace", Kind::Str, false),
    (11, "labels", Kind::StrMap, false),
    (12, "annotations", Kind::StrMap, false),
    (14, "finalizers", Kind::Str, true),
];
const REQUIREMENT: &[F] = &[
    (1, "key", Kind::Str, false),
    (2, "operator", Kind::Str, false),
    (3, "values", Kind::Str, true),
];
const LABEL_SELECTOR: &[F] = &[
    (1, "matchLabels", Kind::StrMap, false),
    (2, "matchExpressions", Kind::Msg(REQUIREMENT), true),
];
const CONTAINER_PORT: &[F] = &[
    (1, "name", Kind::Str, false),
    (2, "hostPort", Kind::Int, false),
    (3, "containerPort", Kind::Int, false),
    (4, "protocol", Kind::Str, false),
    (5, "hostIP", Kind::Str, false),
];
const ENV_VAR: &[F] = &[
    (1, "name", Kind::Str, false),
    (2, "value", Kind::Str, false),
];
const RESOURCES: &[F] = &[
    (1, "limits", Kind::QuantityMap, false),
    (2, "requests", Kind::QuantityMap, false),
];
const CONTAINER: &[F] = &[
    (1, "name", Kind::Str, false),
    (2, "image", Kind::Str, false),
    (3, "command", Kind::Str, true),
    (4, "args", Kind::Str, true),
    (5, "workingDir", Kind::Str, false),
    (6, "ports", Kind::Msg(CONTAINER_PORT), true),
    (7, "env", Kind::Msg(ENV_VAR), true),
    (8, "resources", Kind::Msg(RESOURCES), false),
    (13, "terminationMessagePath", Kind::Str, false),
    (14, "imagePullPolicy", Kind::Str, false),
    (16, "stdin", Kind::Bool, false),
    (17, "stdinOnce", Kind::Bool, false),
    (18, "tty", Kind::Bool, false),
    (20, "terminationMessagePolicy", Kind::Str, false),
];
const POD_SPEC: &[F] = &[
    (2, "containers", Kind::Msg(CONTAINER), true),
    (3, "restartPolicy", Kind::Str, false),
    (4, "terminationGracePeriodSeconds", Kind::Int, false),
    (6, "dnsPolicy", Kind::Str, false),
    (7, "nodeSelector", Kind::StrMap, false),
    (8, "serviceAccountName", Kind::Str, false),
    (10, "nodeName", Kind::Str, false),
    (19, "schedulerName", Kind::Str, false),
    (20, "initContainers", Kind::Msg(CONTAINER), true),
];
const POD_TEMPLATE: &[F] = &[
    (1, "metadata", Kind::Msg(OBJECT_META), false),
    (2, "spec", Kind::Msg(POD_SPEC), false),
];
const ROLLING_UPDATE: &[F] = &[
    (1, "maxUnavailable", Kind::IntOrString, false),
    (2, "maxSurge", Kind::IntOrString, false),
];
const STRATEGY: &[F] = &[
    (1, "type", Kind::Str, false),
    (2, "rollingUpdate", Kind::Msg(ROLLING_UPDATE), false),
];
const DEPLOYMENT_SPEC: &[F] = &[
    (1, "replicas", Kind::Int, false),
    (2, "selector", Kind::Msg(LABEL_SELECTOR), false),
    (3, "template", Kind::Msg(POD_TEMPLATE), false),
    (4, "strategy", Kind::Msg(STRATEGY), false),
    (5, "minReadySeconds", Kind::Int, false),
    (6, "revisionHistoryLimit", Kind::Int, false),
    (7, "paused", Kind::Bool, false),
    (9, "progressDeadlineSeconds", Kind::Int, false),
];
const SERVICE_PORT: &[F] = &[
    (1, "name", Kind::Str, false),
    (2, "protocol", Kind::Str, false),
    (3, "port", Kind::Int, false),
    (4, "targetPort", Kind::IntOrString, false),
    (5, "nodePort", Kind::Int, false),
];
const SERVICE_SPEC: &[F] = &[
    (1, "ports", Kind::Msg(SERVICE_PORT), true),
    (2, "selector", Kind::StrMap, false),
    (3, "clusterIP", Kind::Str, false),
    (4, "type", Kind::Str, false),
    (5, "externalIPs", Kind::Str, true),
    (7, "sessionAffinity", Kind::Str, false),
    (10, "externalName", Kind::Str, false),
    (18, "clusterIPs", Kind::Str, true),
];
const NAMESPACE_SPEC: &[F] = &[(1, "finalizers", Kind::Str, true)];
const RESOURCE_ATTRIBUTES: &[F] = &[
    (1, "namespace", Kind::Str, false),
    (2, "verb", Kind::Str, false),
    (3, "group", Kind::Str, false),
    (4, "version", Kind::Str, false),
    (5, "resource", Kind::Str, false),
    (6, "subresource", Kind::Str, false),
    (7, "name", Kind::Str, false),
];
const NON_RESOURCE_ATTRIBUTES: &[F] =
    &[(1, "path", Kind::Str, false), (2, "verb", Kind::Str, false)];
const REVIEW_SPEC: &[F] = &[
    (
        1,
        "resourceAttributes",
        Kind::Msg(RESOURCE_ATTRIBUTES),
        false,
    ),
    (
        2,
        "nonResourceAttributes",
        Kind::Msg(NON_RESOURCE_ATTRIBUTES),
        false,
    ),
];

/// Top-level messages by kind: metadata is field 1, spec field 2 in all of them.
fn spec_of(kind: &str) -> Option<&'static [F]> {
    Some(match kind {
        "Deployment" => DEPLOYMENT_SPEC,
        "Service" => SERVICE_SPEC,
        "Namespace" => NAMESPACE_SPEC,
        "Pod" => POD_SPEC,
        "SelfSubjectAccessReview" => REVIEW_SPEC,
        _ => return None,
    })
}

fn decode(message: &[u8], table: &'static [F]) -> Option<Value> {
    let raw = fields(message)?;
    let mut out = Map::new();
    for (number, name, kind, repeated) in table {
        let values: Vec<Value> = raw
            .iter()
            .filter_map(|r| scalar(r, *number, *kind))
            .collect::<Option<Vec<_>>>()?;
        if values.is_empty() {
            continue;
        }
        let value = match kind {
            Kind::StrMap | Kind::QuantityMap => {
                let mut map = Map::new();
                for v in values {
                    if let Value::Array(kv) = v
                        && let [Value::String(k), val] = kv.as_slice()
                    {
                        map.insert(k.clone(), val.clone());
                    }
                }
                Value::Object(map)
            }
            _ if *repeated => Value::Array(values),
            _ => values.into_iter().next_back().unwrap_or(Value::Null),
        };
        if keep(name, &value) {
            out.insert((*name).to_string(), value);
        }
    }
    Some(Value::Object(out))
}

/// Zero values are what protobuf writes for unset fields; JSON omits them.
fn keep(name: &str, v: &Value) -> bool {
    match v {
        Value::String(s) => !s.is_empty(),
        Value::Bool(b) => *b,
        Value::Number(n) => name == "replicas" || n.as_i64() != Some(0),
        Value::Array(a) => !a.is_empty(),
        Value::Object(m) => {
            !m.is_empty()
                || !matches!(
                    name,
                    "labels" | "annotations" | "selector" | "nodeSelector" | "matchLabels"
                )
        }
        Value::Null => false,
    }
}

/// One occurrence of field `number` read as `kind` (`None` inside: malformed; outer `None`:
/// another field).
fn scalar(raw: &Raw<'_>, number: u32, kind: Kind) -> Option<Option<Value>> {
    match (raw, kind) {
        (Raw::Varint(n, v), Kind::Int) if *n == number => Some(Some(json!(*v as i64))),
        (Raw::Varint(n, v), Kind::Bool) if *n == number => Some(Some(json!(*v != 0))),
        (Raw::Bytes(n, b), Kind::Str) if *n == number => {
            Some(Some(json!(String::from_utf8_lossy(b).into_owned())))
        }
        (Raw::Bytes(n, b), Kind::Msg(table)) if *n == number => Some(decode(b, table)),
        (Raw::Bytes(n, b), Kind::Quantity) if *n == number => Some(fields(b).map(|f| {
            json!(
                bytes_field(&f, 1)
                    .map(String::from_utf8_lossy)
                    .unwrap_or_default()
            )
        })),
        (Raw::Bytes(n, b), Kind::StrMap | Kind::QuantityMap) if *n == number => {
            let entry = fields(b);
            Some(entry.map(|e| {
                let key = bytes_field(&e, 1)
                    .map(String::from_utf8_lossy)
                    .unwrap_or_default();
                let value = bytes_field(&e, 2).unwrap_or_default();
                let value = if matches!(kind, Kind::QuantityMap) {
                    scalar(&Raw::Bytes(1, value), 1, Kind::Quantity)
                        .flatten()
                        .unwrap_or(Value::Null)
                } else {
                    json!(String::from_utf8_lossy(value).into_owned())
                };
                json!([key, value])
            }))
        }
        (Raw::Bytes(n, b), Kind::IntOrString) if *n == number => Some(fields(b).map(|f| {
            let is_string = f.iter().any(|r| matches!(r, Raw::Varint(1, 1)));
            if is_string {
                json!(
                    bytes_field(&f, 3)
                        .map(String::from_utf8_lossy)
                        .unwrap_or_default()
                )
            } else {
                let int = f.iter().find_map(|r| match r {
                    Raw::Varint(2, v) => Some(*v as i64),
                    _ => None,
                });
                json!(int.unwrap_or(0))
            }
        })),
        _ => None,
    }
}

/// A protobuf-encoded object of a kind this module knows, as JSON; `None` if the body is
/// not one.
pub fn object(body: &[u8]) -> Option<Value> {
    let unknown = fields(body.strip_prefix(MAGIC)?)?;
    let type_meta = fields(bytes_field(&unknown, 1)?)?;
    let text = |n| bytes_field(&type_meta, n).map(|b| String::from_utf8_lossy(b).into_owned());
    let (api_version, kind) = (text(1)?, text(2)?);
    let spec_table = spec_of(&kind)?;
    let object = fields(bytes_field(&unknown, 2)?)?;
    let mut out = json!({"apiVersion": api_version, "kind": kind});
    if let Some(meta) = bytes_field(&object, 1) {
        out["metadata"] = decode(meta, OBJECT_META)?;
    }
    if let Some(spec) = bytes_field(&object, 2) {
        out["spec"] = decode(spec, spec_table)?;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(number: u32, bytes: &[u8]) -> Vec<u8> {
        let mut out = vec![((number << 3) | 2) as u8, bytes.len() as u8];
        out.extend_from_slice(bytes);
        out
    }

    fn int(number: u32, v: u8) -> Vec<u8> {
        vec![(number << 3) as u8, v]
    }

    fn envelope(api_version: &str, kind: &str, object: &[u8]) -> Vec<u8> {
        let type_meta = [field(1, api_version.as_bytes()), field(2, kind.as_bytes())].concat();
        [
            MAGIC.to_vec(),
            field(1, &type_meta),
            field(2, object),
            field(4, b"application/vnd.kubernetes.protobuf"),
        ]
        .concat()
    }

    #[test]
    fn decodes_a_review_as_kubectl_sends_it() {
        let attrs = [
            field(1, b"default"),
            field(2, b"patch"),
            field(5, b"services"),
            field(6, b""),
        ]
        .concat();
        let review = [field(1, &[]), field(2, &field(1, &attrs))].concat();
        let v = object(&envelope(
            "authorization.k8s.io/v1",
            "SelfSubjectAccessReview",
            &review,
        ))
        .unwrap();
        assert_eq!(
            v["spec"]["resourceAttributes"],
            json!({"namespace": "default", "verb": "patch", "resource": "services"})
        );
        assert!(object(b"k8s\0\x0a\x05").is_none());
        assert!(object(b"{}").is_none());
    }

    #[test]
    fn decodes_a_service_with_an_int_or_string_port() {
        let labels = field(11, &[field(1, b"app"), field(2, b"web")].concat());
        let meta = [field(1, b"web"), field(2, b""), labels].concat();
        let target = [int(1, 0), int(2, 80)].concat();
        let port = [
            field(1, b"80-80"),
            field(2, b"TCP"),
            int(3, 80),
            field(4, &target),
        ]
        .concat();
        let spec = [field(1, &port), field(4, b"ClusterIP")].concat();
        let svc = [field(1, &meta), field(2, &spec)].concat();
        let v = object(&envelope("v1", "Service", &svc)).unwrap();
        assert_eq!(
            v["metadata"],
            json!({"name": "web", "labels": {"app": "web"}})
        );
        assert_eq!(
            v["spec"],
            json!({"ports": [{"name": "80-80", "protocol": "TCP", "port": 80, "targetPort": 80}], "type": "ClusterIP"})
        );
    }
}
