//! Just enough of the Kubernetes protobuf encoding to read the one body current kubectl
//! sends only as protobuf: a SelfSubjectAccessReview (`kubectl auth can-i`). Everything
//! else the sandbox reads is JSON.

use serde_json::{Map, Value, json};

/// The envelope's magic prefix: `k8s\0`, then a `runtime.Unknown` message.
const MAGIC: &[u8] = b"k8s\0";

/// One field of a message: its number and, for length-delimited fields, the bytes.
enum Field<'a> {
    Bytes(u32, &'a [u8]),
    Other,
}

/// The fields of one message, in order. `None` for malformed input.
fn fields(mut buf: &[u8]) -> Option<Vec<Field<'_>>> {
    let mut out = Vec::new();
    while !buf.is_empty() {
        let key = varint(&mut buf)?;
        let number = u32::try_from(key >> 3).ok()?;
        match key & 7 {
            0 => {
                varint(&mut buf)?;
                out.push(Field::Other);
            }
            1 => {
                buf = buf.get(8..)?;
                out.push(Field::Other);
            }
            2 => {
                let len = usize::try_from(varint(&mut buf)?).ok()?;
                let (value, rest) = (buf.get(..len)?, buf.get(len..)?);
                out.push(Field::Bytes(number, value));
                buf = rest;
            }
            5 => {
                buf = buf.get(4..)?;
                out.push(Field::Other);
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

fn bytes_field<'a>(fields: &[Field<'a>], number: u32) -> Option<&'a [u8]> {
    fields.iter().find_map(|f| match f {
        Field::Bytes(n, b) if *n == number => Some(*b),
        _ => None,
    })
}

/// String fields of a message, by field number → JSON name.
fn strings(message: &[u8], names: &[(u32, &str)]) -> Option<Value> {
    let fs = fields(message)?;
    let mut map = Map::new();
    for (number, name) in names {
        if let Some(b) = bytes_field(&fs, *number) {
            map.insert(
                (*name).to_string(),
                json!(String::from_utf8_lossy(b).into_owned()),
            );
        }
    }
    Some(Value::Object(map))
}

/// A protobuf-encoded `authorization.k8s.io/v1` SelfSubjectAccessReview as JSON; `None` if
/// the body is not one.
pub fn self_subject_access_review(body: &[u8]) -> Option<Value> {
    let unknown = fields(body.strip_prefix(MAGIC)?)?;
    let type_meta = fields(bytes_field(&unknown, 1)?)?;
    let kind = bytes_field(&type_meta, 2).map(String::from_utf8_lossy)?;
    if kind != "SelfSubjectAccessReview" {
        return None;
    }
    let review = fields(bytes_field(&unknown, 2)?)?;
    let spec = fields(bytes_field(&review, 2).unwrap_or_default())?;
    let mut out_spec = Map::new();
    if let Some(ra) = bytes_field(&spec, 1) {
        out_spec.insert(
            "resourceAttributes".into(),
            strings(
                ra,
                &[
                    (1, "namespace"),
                    (2, "verb"),
                    (3, "group"),
                    (4, "version"),
                    (5, "resource"),
                    (6, "subresource"),
                    (7, "name"),
                ],
            )?,
        );
    }
    if let Some(nra) = bytes_field(&spec, 2) {
        out_spec.insert(
            "nonResourceAttributes".into(),
            strings(nra, &[(1, "path"), (2, "verb")])?,
        );
    }
    Some(json!({
        "apiVersion": "authorization.k8s.io/v1",
        "kind": "SelfSubjectAccessReview",
        "spec": Value::Object(out_spec),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(number: u32, bytes: &[u8]) -> Vec<u8> {
        let mut out = vec![((number << 3) | 2) as u8, bytes.len() as u8];
        out.extend_from_slice(bytes);
        out
    }

    #[test]
    fn decodes_a_review_as_kubectl_sends_it() {
        let attrs = [
            field(1, b"default"),
            field(2, b"patch"),
            field(5, b"services"),
        ]
        .concat();
        let spec = field(1, &attrs);
        let review = [field(1, &[]), field(2, &spec)].concat();
        let type_meta = [
            field(1, b"authorization.k8s.io/v1"),
            field(2, b"SelfSubjectAccessReview"),
        ]
        .concat();
        let body = [
            MAGIC.to_vec(),
            field(1, &type_meta),
            field(2, &review),
            field(4, b"application/vnd.kubernetes.protobuf"),
        ]
        .concat();
        let v = self_subject_access_review(&body).unwrap();
        assert_eq!(
            v["spec"]["resourceAttributes"],
            json!({"namespace": "default", "verb": "patch", "resource": "services"})
        );
        assert!(self_subject_access_review(b"k8s\0\x0a\x05").is_none());
        assert!(self_subject_access_review(b"{}").is_none());
    }
}
