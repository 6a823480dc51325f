//! The permission pre-flight: one SelfSubjectAccessReview per request the plan makes, before
//! anything changes, so a missing permission never leaves a half-done release.

use k8s_openapi::api::authorization::v1::{
    ResourceAttributes, SelfSubjectAccessReview, SelfSubjectAccessReviewSpec,
};
use kube::api::{Api, PostParams};
use serde::Serialize;

use crate::cluster::Connection;
use crate::cluster::read::RequestDesc;
use crate::error::{Error, Result};

/// One request the plan needs permission for, as a SelfSubjectAccessReview asks it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Permission {
    /// The verb.
    pub verb: String,
    /// The API group (`""` for core).
    pub group: String,
    /// The resource.
    pub resource: String,
    /// The subresource, e.g. `scale`.
    pub subresource: Option<String>,
    /// The object, when the request names one.
    pub name: Option<String>,
}

impl Permission {
    /// A permission from its parts.
    pub fn new(
        verb: &str,
        group: &str,
        resource: &str,
        subresource: Option<&str>,
        name: Option<&str>,
    ) -> Permission {
        Permission {
            verb: verb.to_string(),
            group: group.to_string(),
            resource: resource.to_string(),
            subresource: subresource.map(str::to_string),
            name: name.map(str::to_string),
        }
    }
}

impl std::fmt::Display for Permission {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.verb, self.resource)?;
        if !self.group.is_empty() {
            write!(f, ".{}", self.group)?;
        }
        if let Some(sub) = &self.subresource {
            write!(f, "/{sub}")?;
        }
        if let Some(name) = &self.name {
            write!(f, " {name}")?;
        }
        Ok(())
    }
}

/// Asks the API server about every permission; fails listing those denied.
pub async fn check(conn: &Connection, permissions: &[Permission]) -> Result<()> {
    let api: Api<SelfSubjectAccessReview> = Api::all(conn.client.clone());
    let desc = RequestDesc {
        verb: "create",
        resource: "selfsubjectaccessreviews.authorization.k8s.io".to_string(),
        name: None,
    };
    let asks = permissions.iter().map(|p| {
        let api = api.clone();
        let desc = desc.clone();
        let review = SelfSubjectAccessReview {
            spec: SelfSubjectAccessReviewSpec {
                resource_attributes: Some(ResourceAttributes {
                    namespace: Some(conn.target.namespace.clone()),
                    verb: Some(p.verb.clone()),
                    group: Some(p.group.clone()),
                    resource: Some(p.resource.clone()),
                    subresource: p.subresource.clone(),
                    name: p.name.clone(),
                    ..Default::default()
                }),
                ..Default::default()
            },
            ..Default::default()
        };
        async move {
            // A review only asks a question: asking again is always safe.
            let params = PostParams::default();
            let answer = conn
                .call_idempotent(&desc, || api.create(&params, &review))
                .await?;
            let allowed = answer.status.is_some_and(|s| s.allowed);
            Ok::<_, Error>((p, allowed))
        }
    });
    let answers = futures::future::try_join_all(asks).await?;
    let missing: Vec<String> = answers
        .into_iter()
        .filter(|(_, allowed)| !allowed)
        .map(|(p, _)| p.to_string())
        .collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(Error::PermissionsMissing {
            context: conn.target.context.clone(),
            namespace: conn.target.namespace.clone(),
            missing,
        })
    }
}
