//! The `pod-template-hash` label value.
//!
//! Kubernetes hashes the Go struct of the pod template (FNV-32a over a `spew` dump of it,
//! plus the collision count) and encodes the decimal digits of the sum with the alphabet of
//! generated names. A Go struct dump cannot be reproduced from JSON, so the sandbox hashes
//! the template's canonical JSON (sorted keys) instead: the values differ from a real
//! cluster's for the same template, but have the same shape (up to 10 characters from
//! `bcdfghjklmnpqrstvwxz2456789`, in practice from `456789bcdf`), are stable for a given
//! template, and change with it and with the collision count.

use serde_json::Value;

const FNV_OFFSET: u32 = 0x811c_9dc5;
const FNV_PRIME: u32 = 0x0100_0193;
const ALPHANUMS: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";

fn fnv32a(h: &mut u32, bytes: &[u8]) {
    for b in bytes {
        *h ^= u32::from(*b);
        *h = h.wrapping_mul(FNV_PRIME);
    }
}

/// The hash of a pod template (`spec.template` of a Deployment), with the Deployment's
/// `status.collisionCount` if it has one.
pub fn pod_template_hash(template: &Value, collision_count: Option<i64>) -> String {
    let mut t = template.clone();
    // The label is added after hashing, so it must not feed into it.
    if let Some(labels) = t["metadata"]["labels"].as_object_mut() {
        labels.remove("pod-template-hash");
    }
    let mut h = FNV_OFFSET;
    // serde_json's map keeps keys sorted, so this text is canonical.
    fnv32a(&mut h, t.to_string().as_bytes());
    if let Some(c) = collision_count {
        // As the real hash: the count as little-endian bytes, widened to 8.
        let mut bytes = [0u8; 8];
        bytes[..4].copy_from_slice(&(c as u32).to_le_bytes());
        fnv32a(&mut h, &bytes);
    }
    h.to_string()
        .bytes()
        .map(|b| ALPHANUMS[usize::from(b) % ALPHANUMS.len()] as char)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn stable_and_sensitive() {
        let t = json!({"metadata": {"labels": {"app": "blue"}}, "spec": {"containers": [{"name": "web", "image": "nginx:blue"}]}});
        let a = pod_template_hash(&t, None);
        assert_eq!(a, pod_template_hash(&t, None));
        assert!(a.len() <= 10 && a.chars().all(|c| "456789bcdf".contains(c)));
        let mut u = t.clone();
        u["spec"]["containers"][0]["image"] = json!("nginx:green");
        assert_ne!(a, pod_template_hash(&u, None));
        assert_ne!(a, pod_template_hash(&t, Some(1)));
        let mut labelled = t.clone();
        labelled["metadata"]["labels"]["pod-template-hash"] = json!(a.clone());
        assert_eq!(a, pod_template_hash(&labelled, None));
    }
}
