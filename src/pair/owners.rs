//! Who else writes the production Service's selector: a file applied with `kubectl apply`
//! (client-side: the last-applied annotation; server-side: a field manager that applied the
//! selector), Helm, Argo CD, Flux. Each of them puts the selector back to what its source says
//! at its next apply, upgrade or sync. Pure functions of the Service object. See
//! docs/release-commands.md, "When another tool owns the Service".

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::Service;
use kube::ResourceExt;
use serde::{Deserialize, Serialize};

/// The field manager of this plugin's own writes.
const OWN_MANAGER: &str = "kubectl-bluegreen";

/// The annotation client-side `kubectl apply` keeps.
pub(crate) const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";

/// A writer of the production Service that re-applies its own idea of the selector.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Owner {
    /// Stable identifier: `kubectl-apply`, `server-side-apply`, `helm`, `argocd`, `flux`.
    pub kind: String,
    /// Who, in words: `kubectl apply (client-side)`, `Helm release shop`, ...
    pub name: String,
    /// The selector its next apply puts back, when the Service records it (the last-applied
    /// configuration); `None` when only its source knows.
    pub selector: Option<BTreeMap<String, String>>,
    /// Where to change the selector so the owner agrees with a release.
    pub source: String,
}

/// Every owner the Service shows, most specific first.
pub(crate) fn owners(service: &Service) -> Vec<Owner> {
    let annotations = service.annotations();
    let labels = service.labels();
    let mut found = Vec::new();
    let label_or_annotation = |key: &str| labels.get(key).or_else(|| annotations.get(key)).cloned();

    let helm_release = annotations.get("meta.helm.sh/release-name").cloned();
    let managed_by_helm = labels
        .get("app.kubernetes.io/managed-by")
        .map(String::as_str)
        == Some("Helm");
    if let Some(release) = label_or_annotation("helm.toolkit.fluxcd.io/name") {
        found.push(Owner {
            kind: "flux".into(),
            name: format!("Flux HelmRelease {release}"),
            selector: None,
            source: format!("the values of HelmRelease {release} in Git"),
        });
    } else if helm_release.is_some() || managed_by_helm {
        let release = helm_release.unwrap_or_else(|| "(unnamed)".into());
        found.push(Owner {
            kind: "helm".into(),
            name: format!("Helm release {release}"),
            selector: None,
            source: format!("the chart values of release {release} (helm upgrade)"),
        });
    }
    if let Some(kustomization) = label_or_annotation("kustomize.toolkit.fluxcd.io/name") {
        found.push(Owner {
            kind: "flux".into(),
            name: format!("Flux Kustomization {kustomization}"),
            selector: None,
            source: format!("the manifests of Kustomization {kustomization} in Git"),
        });
    }
    let argo = annotations
        .get("argocd.argoproj.io/tracking-id")
        .map(|id| id.split(':').next().unwrap_or(id).to_string())
        .or_else(|| labels.get("argocd.argoproj.io/instance").cloned())
        .or_else(|| {
            // Argo CD's default tracking label; Helm charts set it too, so only without Helm.
            (!managed_by_helm)
                .then(|| labels.get("app.kubernetes.io/instance").cloned())
                .flatten()
                .filter(|_| {
                    annotations.contains_key(LAST_APPLIED)
                        || service
                            .managed_fields()
                            .iter()
                            .any(|m| m.manager.as_deref() == Some("argocd-controller"))
                })
        });
    if let Some(app) = argo {
        found.push(Owner {
            kind: "argocd".into(),
            name: format!("Argo CD application {app}"),
            selector: None,
            source: format!("the manifests of application {app} in Git (then sync)"),
        });
    }
    if let Some(text) = annotations.get(LAST_APPLIED) {
        let selector = serde_json::from_str::<serde_json::Value>(text)
            .ok()
            .and_then(|v| {
                serde_json::from_value::<BTreeMap<String, String>>(v["spec"]["selector"].clone())
                    .ok()
            });
        found.push(Owner {
            kind: "kubectl-apply".into(),
            name: "kubectl apply (client-side)".into(),
            selector,
            source: "the file applied with kubectl apply".into(),
        });
    }
    for manager in selector_appliers(service) {
        found.push(Owner {
            kind: "server-side-apply".into(),
            name: format!("server-side apply by field manager {manager}"),
            selector: None,
            source: format!("the manifest {manager} applies (kubectl apply --server-side)"),
        });
    }
    found
}

/// Field managers other than this plugin that apply the Service's spec (server-side apply).
/// Once the plugin has changed the selector, the API server moves the selector's ownership to
/// the plugin and the applier keeps only the rest of the spec; its manifest still holds the
/// selector it will apply again, so owning any of the spec is what counts.
fn selector_appliers(service: &Service) -> Vec<String> {
    service
        .managed_fields()
        .iter()
        .filter(|m| m.operation.as_deref() == Some("Apply"))
        .filter(|m| m.manager.as_deref() != Some(OWN_MANAGER))
        .filter(|m| {
            m.fields_v1
                .as_ref()
                .and_then(|f| f.0["f:spec"].as_object())
                .is_some_and(|spec| !spec.is_empty())
        })
        .filter_map(|m| m.manager.clone())
        .collect()
}

/// The colour an owner puts back under `colour_label`: what it recorded; `None` when its
/// recorded selector has no colour key (a file applied before the colour was added by hand:
/// its next apply leaves the key alone); without a record, the colour the Service selected when
/// it was last in sync with its source (`in_sync`).
pub(crate) fn colour_put_back(owner: &Owner, colour_label: &str, in_sync: &str) -> Option<String> {
    match &owner.selector {
        Some(recorded) => recorded.get(colour_label).cloned(),
        None => Some(in_sync.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pair::discover::tests::service;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::{FieldsV1, ManagedFieldsEntry};

    #[test]
    fn the_last_applied_configuration_says_what_apply_puts_back() {
        let mut s = service("web", &[("app", "green")]);
        s.metadata.annotations = Some(
            [(
                LAST_APPLIED.to_string(),
                r#"{"apiVersion":"v1","kind":"Service","spec":{"selector":{"app":"blue"}}}"#
                    .to_string(),
            )]
            .into(),
        );
        let found = owners(&s);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].kind, "kubectl-apply");
        assert_eq!(
            colour_put_back(&found[0], "app", "green").as_deref(),
            Some("blue")
        );
        // A file applied before the colour key was added leaves that key alone.
        assert_eq!(colour_put_back(&found[0], "color", "green"), None);
    }

    #[test]
    fn helm_argo_flux_and_server_side_apply_are_recognised() {
        let mut s = service("web", &[("app", "blue")]);
        s.metadata.annotations =
            Some([("meta.helm.sh/release-name".to_string(), "shop".to_string())].into());
        s.metadata.labels = Some(
            [(
                "app.kubernetes.io/managed-by".to_string(),
                "Helm".to_string(),
            )]
            .into(),
        );
        assert_eq!(owners(&s)[0].name, "Helm release shop");

        let mut s = service("web", &[("app", "blue")]);
        s.metadata.annotations = Some(
            [(
                "argocd.argoproj.io/tracking-id".to_string(),
                "shop:/Service:default/web".to_string(),
            )]
            .into(),
        );
        assert_eq!(owners(&s)[0].name, "Argo CD application shop");

        let mut s = service("web", &[("app", "blue")]);
        s.metadata.labels = Some(
            [(
                "kustomize.toolkit.fluxcd.io/name".to_string(),
                "apps".to_string(),
            )]
            .into(),
        );
        assert_eq!(owners(&s)[0].kind, "flux");

        let mut s = service("web", &[("app", "blue")]);
        let entry = |manager: &str, op: &str| ManagedFieldsEntry {
            manager: Some(manager.into()),
            operation: Some(op.into()),
            fields_v1: Some(FieldsV1(
                serde_json::json!({"f:spec": {"f:selector": {"f:app": {}}}}),
            )),
            ..Default::default()
        };
        s.metadata.managed_fields = Some(vec![
            entry("pipeline", "Apply"),
            entry("kubectl-bluegreen", "Apply"),
            entry("kubectl-edit", "Update"),
        ]);
        // After the plugin's flip the applier keeps the rest of the spec, not the selector.
        let mut flipped = s.clone();
        flipped.metadata.managed_fields = Some(vec![ManagedFieldsEntry {
            manager: Some("pipeline".into()),
            operation: Some("Apply".into()),
            fields_v1: Some(FieldsV1(serde_json::json!({"f:spec": {"f:ports": {}}}))),
            ..Default::default()
        }]);
        assert_eq!(owners(&flipped).len(), 1);
        let found = owners(&s);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].name, "server-side apply by field manager pipeline");
        assert_eq!(
            colour_put_back(&found[0], "app", "blue").as_deref(),
            Some("blue")
        );

        assert!(owners(&service("web", &[("app", "blue")])).is_empty());
    }
}
