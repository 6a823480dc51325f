//! Reads whole namespaces at once, for `list`: every Service, Deployment and
//! HorizontalPodAutoscaler, the pods that may belong to a pair and the production Services'
//! EndpointSlices (both label-selected), one paginated list of each kind (of pods, one per
//! selector; of EndpointSlices, one per hundred Services), concurrently. Nothing is read per
//! pair.

use std::fmt::Debug;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use k8s_openapi::api::core::v1::{Pod, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use kube::api::{Api, ListParams};
use kube::core::NamespaceResourceScope;
use kube::{Resource, ResourceExt};
use serde::de::DeserializeOwned;

use crate::cluster::Connection;
use crate::cluster::read::{PAGE_SIZE, RequestDesc, SlimPod, resource_name};
use crate::error::{Error, Result};

/// The label that names an EndpointSlice's Service.
const SERVICE_NAME_LABEL: &str = "kubernetes.io/service-name";

/// At most this many Service names in one label selector, so that a request line stays short
/// (a Service name is at most 63 characters).
const NAMES_PER_SELECTOR: usize = 100;

/// Which namespaces to read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Scope {
    /// One namespace.
    Namespace(String),
    /// Every namespace (`--all-namespaces`).
    All,
}

/// Everything `list` reads, sorted by namespace, then name.
#[derive(Debug, Clone, Default)]
pub(crate) struct Inventory {
    /// Every Service.
    pub services: Vec<Service>,
    /// Every Deployment.
    pub deployments: Vec<Deployment>,
    /// The pods that may belong to a pair (see [`Connection::read_inventory`]).
    pub pods: Vec<SlimPod>,
    /// The EndpointSlices of the Services named when reading (the production Services), with
    /// only what a snapshot reads (see [`SlimEndpointSlice`](crate::cluster::read::SlimEndpointSlice)).
    pub endpoint_slices: Vec<EndpointSlice>,
    /// Every HorizontalPodAutoscaler; `None` if they could not be read.
    pub hpas: Option<Vec<HorizontalPodAutoscaler>>,
}

impl Connection {
    /// Reads the inventory of `scope`: Deployments and HorizontalPodAutoscalers concurrently
    /// with the Services; once the Services are read, the EndpointSlices of those that
    /// `slice_services` names (the production Services: a pair's snapshot reads no other
    /// Service's endpoints); the pods as soon as it is known which to ask for, one
    /// label-selected list per selector, concurrently (pods matching several are kept once).
    /// `known_pod_selectors` are those known before anything is read (`--label`); without
    /// them, `pod_selectors` derives them from the Services.
    pub(crate) async fn read_inventory(
        &self,
        scope: &Scope,
        known_pod_selectors: Option<Vec<String>>,
        pod_selectors: impl FnOnce(&[Service]) -> Vec<String>,
        slice_services: impl FnOnce(&[Service]) -> Vec<String>,
    ) -> Result<Inventory> {
        let services_pods_and_slices = async {
            match known_pod_selectors {
                Some(selectors) => {
                    let services_then_slices = async {
                        let services = self.list_in::<Service>(scope, None).await?;
                        let slices = self
                            .list_slices_of(scope, slice_services(&services))
                            .await?;
                        Ok((services, slices))
                    };
                    let ((services, slices), pods) = tokio::try_join!(
                        services_then_slices,
                        self.list_pods_for(scope, &selectors),
                    )?;
                    Ok((services, pods, slices))
                }
                None => {
                    let services = self.list_in::<Service>(scope, None).await?;
                    let selectors = pod_selectors(&services);
                    let (pods, slices) = tokio::try_join!(
                        self.list_pods_for(scope, &selectors),
                        self.list_slices_of(scope, slice_services(&services)),
                    )?;
                    Ok((services, pods, slices))
                }
            }
        };
        let ((services, pods, endpoint_slices), deployments, hpas) = tokio::try_join!(
            services_pods_and_slices,
            self.list_in::<Deployment>(scope, None),
            self.optional_hpas_in(scope),
        )
        .map_err(|e| in_scope(e, scope))?;
        Ok(Inventory {
            services,
            deployments,
            pods,
            endpoint_slices,
            hpas,
        })
    }

    /// The EndpointSlices of the Services named `services` (in any namespace of `scope`),
    /// selected by the server (`kubernetes.io/service-name in (...)`, at most
    /// [`NAMES_PER_SELECTOR`] names a list, the lists concurrently), decoded slim; sorted by
    /// namespace and name. No request when no Service is named.
    async fn list_slices_of(
        &self,
        scope: &Scope,
        mut services: Vec<String>,
    ) -> Result<Vec<EndpointSlice>> {
        services.sort();
        services.dedup();
        let api: Api<EndpointSlice> = self.api_in(scope);
        let selectors: Vec<String> = services
            .chunks(NAMES_PER_SELECTOR)
            .map(|names| format!("{SERVICE_NAME_LABEL} in ({})", names.join(",")))
            .collect();
        let lists = futures::future::try_join_all(
            selectors
                .iter()
                .map(|selector| self.list_slim_endpoint_slices(&api, Some(selector))),
        )
        .await?;
        let mut slices: Vec<EndpointSlice> = lists.into_iter().flatten().collect();
        slices.sort_by(|a, b| {
            (a.metadata.namespace.as_deref(), a.metadata.name.as_deref())
                .cmp(&(b.metadata.namespace.as_deref(), b.metadata.name.as_deref()))
        });
        Ok(slices)
    }

    /// The pods of every selector, listed concurrently; sorted by namespace and name, each once.
    async fn list_pods_for(&self, scope: &Scope, selectors: &[String]) -> Result<Vec<SlimPod>> {
        let lists = futures::future::try_join_all(
            selectors
                .iter()
                .map(|selector| self.list_pods_in(scope, selector)),
        )
        .await?;
        let mut pods: Vec<SlimPod> = lists.into_iter().flatten().collect();
        pods.sort_by(|a, b| {
            (a.metadata.namespace.as_deref(), a.name())
                .cmp(&(b.metadata.namespace.as_deref(), b.name()))
        });
        pods.dedup_by(|a, b| a.name() == b.name() && a.metadata.namespace == b.metadata.namespace);
        Ok(pods)
    }

    fn api_in<K>(&self, scope: &Scope) -> Api<K>
    where
        K: Resource<DynamicType = (), Scope = NamespaceResourceScope>,
    {
        match scope {
            Scope::Namespace(namespace) => Api::namespaced(self.client.clone(), namespace),
            Scope::All => Api::all(self.client.clone()),
        }
    }

    /// Lists a namespaced kind in `scope`, page by page, sorted by namespace and name.
    pub(crate) async fn list_in<K>(
        &self,
        scope: &Scope,
        label_selector: Option<&str>,
    ) -> Result<Vec<K>>
    where
        K: Resource<DynamicType = (), Scope = NamespaceResourceScope>
            + Clone
            + DeserializeOwned
            + Debug,
    {
        let api: Api<K> = self.api_in(scope);
        let desc = RequestDesc {
            verb: "list",
            resource: resource_name::<K>(),
            name: None,
        };
        let mut params = ListParams::default().limit(PAGE_SIZE);
        if let Some(selector) = label_selector {
            params = params.labels(selector);
        }
        let mut items = Vec::new();
        loop {
            let page = self.call_idempotent(&desc, || api.list(&params)).await?;
            items.extend(page.items);
            match page.metadata.continue_.filter(|c| !c.is_empty()) {
                Some(token) => params = params.continue_token(&token),
                None => break,
            }
        }
        items.sort_by(|a: &K, b: &K| {
            (a.namespace(), a.name_any()).cmp(&(b.namespace(), b.name_any()))
        });
        Ok(items)
    }

    /// Pods of `scope` that `label_selector` selects, each page decoded straight into
    /// [`SlimPod`]s.
    async fn list_pods_in(&self, scope: &Scope, label_selector: &str) -> Result<Vec<SlimPod>> {
        let api: Api<Pod> = self.api_in(scope);
        self.list_slim_pods(&api, label_selector).await
    }

    /// HorizontalPodAutoscalers of `scope`, if the user may read them and the server serves
    /// them.
    async fn optional_hpas_in(
        &self,
        scope: &Scope,
    ) -> Result<Option<Vec<HorizontalPodAutoscaler>>> {
        match self.list_in::<HorizontalPodAutoscaler>(scope, None).await {
            Ok(hpas) => Ok(Some(hpas)),
            Err(Error::Forbidden { .. }) | Err(Error::Api { code: 404, .. }) => {
                tracing::debug!("HorizontalPodAutoscalers cannot be read; not shown");
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }
}

/// A refusal names the namespace the request was about: with `--all-namespaces`, none.
fn in_scope(error: Error, scope: &Scope) -> Error {
    match (error, scope) {
        (
            Error::Forbidden {
                verb,
                resource,
                context,
                message,
                ..
            },
            Scope::All,
        ) => Error::Forbidden {
            verb,
            resource,
            namespace: "(all namespaces)".to_string(),
            context,
            message,
        },
        (error, _) => error,
    }
}
