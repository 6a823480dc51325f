//! Where dynamic candidates come from: contexts from the kubeconfig, namespaces and Services
//! from the cluster. Found exactly as the commands find them ([`crate::cluster::connect`]), with
//! a short deadline; any failure gives no candidates.

use std::time::Duration;

use k8s_openapi::api::core::v1::{Namespace, Service};
use kube::ResourceExt;
use kube::api::{Api, ListParams};

use super::Candidate;
use super::rank;
use crate::cluster::{ConnectOptions, Connection, connect};
use crate::pair::discover::PairSpec;

/// How long a completion may wait for the cluster, connecting included. A shell waiting for
/// candidates is a person waiting at the keyboard.
pub const DEADLINE: Duration = Duration::from_secs(2);

/// Contexts of the kubeconfig the options resolve to, the current one first, each described by
/// its cluster and namespace.
pub fn contexts(options: &ConnectOptions) -> Vec<Candidate> {
    let Ok(Some(config)) = crate::cluster::connect::kubeconfig(options) else {
        return Vec::new();
    };
    let current = config.current_context.clone().unwrap_or_default();
    let mut candidates: Vec<(bool, Candidate)> = config
        .contexts
        .iter()
        .map(|named| {
            let is_current = named.name == current;
            let mut parts = Vec::new();
            if let Some(context) = &named.context {
                parts.push(format!("cluster {}", context.cluster));
                if let Some(ns) = context.namespace.as_deref().filter(|ns| !ns.is_empty()) {
                    parts.push(format!("namespace {ns}"));
                }
            }
            if is_current {
                parts.push("current".to_string());
            }
            (
                is_current,
                Candidate::new(named.name.clone(), parts.join(", ")),
            )
        })
        .collect();
    candidates.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.value.cmp(&b.1.value)));
    candidates.into_iter().map(|(_, c)| c).collect()
}

/// Namespace names, sorted.
pub async fn namespaces(options: &ConnectOptions) -> Vec<Candidate> {
    let lookup = async {
        let conn = connect(&bounded(options)).await.ok()?;
        let api: Api<Namespace> = Api::all(conn.client.clone());
        let list = api.list(&ListParams::default()).await.ok()?;
        let mut names: Vec<String> = list.items.iter().map(ResourceExt::name_any).collect();
        names.sort();
        Some(names)
    };
    within_deadline(lookup)
        .await
        .unwrap_or_default()
        .into_iter()
        .map(|name| Candidate::new(name, ""))
        .collect()
}

/// Services of the namespace the options resolve to, pairs first (see [`rank`]).
pub async fn services(options: &ConnectOptions, spec: &PairSpec) -> Vec<Candidate> {
    let lookup = async {
        let conn: Connection = connect(&bounded(options)).await.ok()?;
        let services = conn.list::<Service>(None).await.ok()?;
        Some(rank::services(&services, &conn.target.namespace, spec))
    };
    within_deadline(lookup).await.unwrap_or_default()
}

/// The options with each request bounded by the deadline too.
fn bounded(options: &ConnectOptions) -> ConnectOptions {
    let mut options = options.clone();
    options.request_timeout = Some(
        options
            .request_timeout
            .map_or(DEADLINE, |limit| limit.min(DEADLINE)),
    );
    options
}

async fn within_deadline<T>(lookup: impl Future<Output = Option<T>>) -> Option<T> {
    tokio::time::timeout(DEADLINE, lookup).await.ok().flatten()
}
