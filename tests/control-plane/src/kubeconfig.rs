//! Kubeconfigs for the control plane, with the same cluster, context and namespace layout as
//! the sandbox's (so a test can switch back-ends without touching context names).

use base64::Engine as _;
use serde_json::json;

/// Cluster name in every kubeconfig written.
pub const CLUSTER: &str = "sandbox";
/// User entry of the admin kubeconfig (`system:masters`).
pub const ADMIN_USER: &str = "sandbox-admin";
/// User entry of the non-admin kubeconfig.
pub const DEVELOPER_USER: &str = "developer";
/// The current context (namespace `default`).
pub const CONTEXT: &str = "sandbox";
/// The second context (namespace `staging`).
pub const STAGING_CONTEXT: &str = "sandbox-staging";

/// A kubeconfig document (YAML) authenticating with a client certificate.
pub(crate) fn render(
    server: &str,
    ca_pem: &str,
    user: &str,
    cert_pem: &str,
    key_pem: &str,
) -> String {
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
    let doc = json!({
        "apiVersion": "v1",
        "kind": "Config",
        "preferences": {},
        "clusters": [{
            "name": CLUSTER,
            "cluster": {"server": server, "certificate-authority-data": b64(ca_pem)},
        }],
        "users": [{"name": user, "user": {
            "client-certificate-data": b64(cert_pem),
            "client-key-data": b64(key_pem),
        }}],
        "contexts": [
            {"name": CONTEXT, "context": {"cluster": CLUSTER, "user": user, "namespace": "default"}},
            {"name": STAGING_CONTEXT, "context": {"cluster": CLUSTER, "user": user, "namespace": "staging"}},
        ],
        "current-context": CONTEXT,
    });
    // Serialising a JSON value to YAML cannot fail.
    serde_yaml::to_string(&doc).unwrap_or_default()
}
