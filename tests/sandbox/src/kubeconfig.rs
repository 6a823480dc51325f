//! The kubeconfig that reaches a sandbox: its CA, URL and token, with a default context
//! and a second one pointing at a non-default namespace.

use std::path::Path;

use base64::Engine as _;
use serde_json::json;

/// Cluster, user and context names written into the kubeconfig.
pub const CLUSTER: &str = "sandbox";
pub const USER: &str = "sandbox-admin";
pub const CONTEXT: &str = "sandbox";
pub const STAGING_CONTEXT: &str = "sandbox-staging";

/// The kubeconfig document as YAML.
pub fn render(server: &str, ca_pem: &str, token: &str) -> String {
    let ca = base64::engine::general_purpose::STANDARD.encode(ca_pem);
    let doc = json!({
        "apiVersion": "v1",
        "kind": "Config",
        "preferences": {},
        "clusters": [{
            "name": CLUSTER,
            "cluster": {"server": server, "certificate-authority-data": ca},
        }],
        "users": [{"name": USER, "user": {"token": token}}],
        "contexts": [
            {"name": CONTEXT, "context": {"cluster": CLUSTER, "user": USER, "namespace": "default"}},
            {"name": STAGING_CONTEXT, "context": {"cluster": CLUSTER, "user": USER, "namespace": "staging"}},
        ],
        "current-context": CONTEXT,
    });
    // Serialising a JSON value to YAML cannot fail.
    serde_yaml::to_string(&doc).unwrap_or_default()
}

/// Writes the kubeconfig, readable only by its owner (it holds a credential).
pub fn write(path: &Path, server: &str, ca_pem: &str, token: &str) -> Result<(), String> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    }
    std::fs::write(path, render(server, ca_pem, token))
        .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600));
    }
    Ok(())
}
