//! Reads from the API server: one place that applies `--request-timeout`, paginates lists,
//! runs independent reads concurrently and turns failures into errors that name the request,
//! the server and what to try.

use std::collections::BTreeMap;
use std::error::Error as StdError;
use std::fmt::Debug;
use std::future::Future;
use std::time::Duration;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use k8s_openapi::api::core::v1::{ContainerState, ContainerStatus, ObjectReference, Pod, Service};
use k8s_openapi::api::discovery::v1::{Endpoint, EndpointConditions, EndpointSlice};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ListMeta, ObjectMeta, Time};
use kube::api::{Api, ListParams};
use kube::core::NamespaceResourceScope;
use kube::{Resource, ResourceExt};
use serde::Deserialize;
use serde::de::{DeserializeOwned, IgnoredAny};

use crate::cluster::Connection;
use crate::cluster::connect::chain_text;
use crate::cluster::credentials::CredentialSource;
use crate::error::{Error, Result};

/// Page size of list requests.
pub(crate) const PAGE_SIZE: u32 = 500;

/// A request, described for error messages: `list pods`, `get services/web`.
#[derive(Debug, Clone)]
pub(crate) struct RequestDesc {
    /// The verb, as RBAC names it.
    pub verb: &'static str,
    /// The resource, as RBAC names it (`deployments.apps`).
    pub resource: String,
    /// The object's name, for `get`.
    pub name: Option<String>,
}

impl std::fmt::Display for RequestDesc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.name {
            Some(name) => write!(f, "{} {}/{}", self.verb, self.resource, name),
            None => write!(f, "{} {}", self.verb, self.resource),
        }
    }
}

/// The RBAC resource name of `K`, e.g. `pods` or `deployments.apps`.
pub(crate) fn resource_name<K: Resource<DynamicType = ()>>() -> String {
    let group = K::group(&());
    let plural = K::plural(&());
    if group.is_empty() {
        plural.to_string()
    } else {
        format!("{plural}.{group}")
    }
}

impl Connection {
    /// Gets one namespaced object; `None` if it does not exist.
    pub(crate) async fn get_opt<K>(&self, name: &str) -> Result<Option<K>>
    where
        K: Resource<DynamicType = (), Scope = NamespaceResourceScope>
            + Clone
            + DeserializeOwned
            + Debug,
    {
        let api: Api<K> = Api::namespaced(self.client.clone(), &self.target.namespace);
        let desc = RequestDesc {
            verb: "get",
            resource: resource_name::<K>(),
            name: Some(name.to_string()),
        };
        self.call_idempotent(&desc, || api.get_opt(name)).await
    }

    /// Whether the namespace exists; `None` if we may not know (forbidden to ask).
    pub(crate) async fn namespace_exists(&self) -> Result<Option<bool>> {
        use k8s_openapi::api::core::v1::Namespace;
        let api: Api<Namespace> = Api::all(self.client.clone());
        let desc = RequestDesc {
            verb: "get",
            resource: "namespaces".to_string(),
            name: Some(self.target.namespace.clone()),
        };
        let namespace = &self.target.namespace;
        match self.call_idempotent(&desc, || api.get_opt(namespace)).await {
            Ok(found) => Ok(Some(found.is_some())),
            Err(Error::Forbidden { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Lists a namespaced kind, optionally with a server-side label selector, page by page.
    pub(crate) async fn list<K>(&self, label_selector: Option<&str>) -> Result<Vec<K>>
    where
        K: Resource<DynamicType = (), Scope = NamespaceResourceScope>
            + Clone
            + DeserializeOwned
            + Debug,
    {
        let api: Api<K> = Api::namespaced(self.client.clone(), &self.target.namespace);
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
        items.sort_by_key(|o: &K| o.name_any());
        Ok(items)
    }

    /// The pods `label_selector` selects, page by page, each page decoded straight into
    /// [`SlimPod`]s: thousands of pods are never held as whole `Pod` values, not even one
    /// page of them.
    pub(crate) async fn list_pods(&self, label_selector: &str) -> Result<Vec<SlimPod>> {
        let api: Api<Pod> = Api::namespaced(self.client.clone(), &self.target.namespace);
        let mut items = self.list_slim_pods(&api, label_selector).await?;
        items.sort_by(|a, b| a.name().cmp(b.name()));
        Ok(items)
    }

    /// The pods of `api` (a namespace, or all of them) that `label_selector` selects, page by
    /// page, decoded slim, in the server's order.
    pub(crate) async fn list_slim_pods(
        &self,
        api: &Api<Pod>,
        label_selector: &str,
    ) -> Result<Vec<SlimPod>> {
        let params = ListParams::default()
            .limit(PAGE_SIZE)
            .labels(label_selector);
        self.list_pages::<Pod, SlimPod>(api, params).await
    }

    /// The EndpointSlices of `api` (a namespace, or all of them) that `label_selector` selects,
    /// page by page, in the server's order; each decoded as a [`SlimEndpointSlice`], keeping
    /// only what the snapshot reads (name, namespace, labels; each endpoint's addresses,
    /// conditions and target), then given back as an `EndpointSlice` with only those fields.
    pub(crate) async fn list_slim_endpoint_slices(
        &self,
        api: &Api<EndpointSlice>,
        label_selector: Option<&str>,
    ) -> Result<Vec<EndpointSlice>> {
        let mut params = ListParams::default().limit(PAGE_SIZE);
        if let Some(selector) = label_selector {
            params = params.labels(selector);
        }
        let slices = self
            .list_pages::<EndpointSlice, SlimEndpointSlice>(api, params)
            .await?;
        Ok(slices.into_iter().map(EndpointSlice::from).collect())
    }

    /// Every page of a list of `K`, each page's items decoded straight into `T` (a slim type in
    /// the object's own JSON shape), in the server's order.
    async fn list_pages<K, T>(&self, api: &Api<K>, mut params: ListParams) -> Result<Vec<T>>
    where
        K: Resource<DynamicType = ()>,
        T: DeserializeOwned,
    {
        let request = kube::core::Request::new(api.resource_url());
        let desc = RequestDesc {
            verb: "list",
            resource: resource_name::<K>(),
            name: None,
        };
        let mut items = Vec::new();
        loop {
            let page: SlimList<T> = self
                .call_idempotent(&desc, || async {
                    let mut page = request.list(&params).map_err(kube::Error::BuildRequest)?;
                    page.extensions_mut().insert("list");
                    self.client.request(page).await
                })
                .await?;
            items.extend(page.items);
            match page.metadata.continue_.filter(|c| !c.is_empty()) {
                Some(token) => params = params.continue_token(&token),
                None => break,
            }
        }
        Ok(items)
    }

    /// Runs a request that changes nothing (a get, a list, an access review) under
    /// `--request-timeout`, trying it again with backoff when the failure may be passing: a
    /// server error, a lost connection or a timeout. See [`crate::cluster::retry`].
    pub(crate) async fn call_idempotent<T, F, Fut>(
        &self,
        desc: &RequestDesc,
        mut request: F,
    ) -> Result<T>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, kube::Error>>,
    {
        let mut backoff = crate::cluster::retry::Backoff::new();
        loop {
            let error = match self.call(desc, request()).await {
                Ok(value) => return Ok(value),
                Err(e) => e,
            };
            let Some(wait) = backoff.after(&error) else {
                return Err(error);
            };
            tracing::info!(
                target: crate::cluster::request_log::TARGET,
                "{desc} failed ({error}); trying again in {} ms",
                wait.as_millis()
            );
            tokio::time::sleep(wait).await;
        }
    }

    /// Runs one API call under `--request-timeout` and maps its failure.
    pub(crate) async fn call<T>(
        &self,
        desc: &RequestDesc,
        request: impl Future<Output = Result<T, kube::Error>>,
    ) -> Result<T> {
        let outcome = match self.request_timeout {
            Some(limit) => match tokio::time::timeout(limit, request).await {
                Ok(outcome) => outcome,
                Err(_) => {
                    return Err(Error::Timeout {
                        request: desc.to_string(),
                        server: self.target.server.clone(),
                        after: Some(limit),
                        source: None,
                    });
                }
            },
            None => request.await,
        };
        outcome.map_err(|e| self.classify(desc, e))
    }

    /// Turns a client error into one that says what to do about it.
    pub(crate) fn classify(&self, desc: &RequestDesc, err: kube::Error) -> Error {
        let target = &self.target;
        // A token refresh by the exec plugin failed (already reworded by the client's layer).
        if let Some(reason) = CredentialSource::default().describe(&err) {
            return Error::Credentials {
                context: target.context.clone(),
                reason,
            };
        }
        match err {
            kube::Error::Api(status) => match status.code {
                401 => Error::Unauthorized {
                    server: target.server.clone(),
                    context: target.context.clone(),
                },
                403 => Error::Forbidden {
                    verb: desc.verb.to_string(),
                    resource: desc.resource.clone(),
                    namespace: target.namespace.clone(),
                    context: target.context.clone(),
                    message: status.message.clone(),
                },
                code => Error::Api {
                    request: desc.to_string(),
                    server: target.server.clone(),
                    code,
                    message: if status.message.is_empty() {
                        status.reason.clone()
                    } else {
                        status.message.clone()
                    },
                },
            },
            other => classify_transport(desc, target, self.request_timeout, other),
        }
    }
}

/// The API objects a snapshot is built from.
#[derive(Debug, Clone, Default)]
pub(crate) struct PairObjects {
    /// The production Service.
    pub service: Service,
    /// Every Deployment of the namespace.
    pub deployments: Vec<Deployment>,
    /// Every Service of the namespace.
    pub services: Vec<Service>,
    /// Pods of each colour, in `--colors` order (label-selected by the server), as much of
    /// them as the snapshot reads.
    pub pods: [Vec<SlimPod>; 2],
    /// The production Service's EndpointSlices.
    pub endpoint_slices: Vec<EndpointSlice>,
    /// The namespace's HorizontalPodAutoscalers; `None` if they could not be read.
    pub hpas: Option<Vec<HorizontalPodAutoscaler>>,
}

impl Connection {
    /// Reads everything about a pair concurrently, given its production Service and each
    /// colour's label selector: Deployments and Services of the namespace, each colour's pods
    /// and the Service's EndpointSlices (both label-selected by the server), and the
    /// HorizontalPodAutoscalers when they may be read.
    pub(crate) async fn read_pair(
        &self,
        service: Service,
        colour_selectors: &[String; 2],
    ) -> Result<PairObjects> {
        let slice_selector = format!("kubernetes.io/service-name={}", service.name_any());
        let (deployments, services, first_pods, second_pods, endpoint_slices, hpas) = tokio::try_join!(
            self.list::<Deployment>(None),
            self.list::<Service>(None),
            self.list_pods(&colour_selectors[0]),
            self.list_pods(&colour_selectors[1]),
            self.list::<EndpointSlice>(Some(&slice_selector)),
            self.optional_hpas(),
        )?;
        Ok(PairObjects {
            service,
            deployments,
            services,
            pods: [first_pods, second_pods],
            endpoint_slices,
            hpas,
        })
    }

    /// HorizontalPodAutoscalers, if the user may read them and the server serves them.
    async fn optional_hpas(&self) -> Result<Option<Vec<HorizontalPodAutoscaler>>> {
        match self.list::<HorizontalPodAutoscaler>(None).await {
            Ok(hpas) => Ok(Some(hpas)),
            Err(Error::Forbidden { .. }) | Err(Error::Api { code: 404, .. }) => {
                tracing::debug!("HorizontalPodAutoscalers cannot be read; not shown");
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }
}

/// What the snapshot reads of a pod, in the pod's own JSON shape so that it decodes straight
/// from a list page: every other field is skipped while decoding and never allocated. A
/// namespace may hold thousands of pods of a colour; held as whole `Pod`s (whose spec alone is
/// several kilobytes even when empty), they were most of the plugin's memory.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub(crate) struct SlimPod {
    /// `metadata`: name, labels, creation and deletion times.
    #[serde(default)]
    pub metadata: SlimPodMeta,
    /// `spec`: the number of containers and the node.
    #[serde(default)]
    pub spec: Option<SlimPodSpec>,
    /// `status`.
    #[serde(default)]
    pub status: Option<SlimPodStatus>,
}

/// [`SlimPod::metadata`].
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct SlimPodMeta {
    /// `metadata.name`.
    #[serde(default)]
    pub name: Option<String>,
    /// `metadata.namespace` (`list --all-namespaces` groups pods by it).
    #[serde(default)]
    pub namespace: Option<String>,
    /// `metadata.labels` (other Services of the pair are found by them).
    #[serde(default)]
    pub labels: Option<BTreeMap<String, String>>,
    /// `metadata.creationTimestamp`.
    #[serde(default)]
    pub creation_timestamp: Option<Time>,
    /// `metadata.deletionTimestamp`.
    #[serde(default)]
    pub deletion_timestamp: Option<Time>,
    /// `metadata.ownerReferences`: kind and name only (which ReplicaSet owns the pod).
    #[serde(default)]
    pub owner_references: Option<Vec<SlimOwnerReference>>,
}

/// One of [`SlimPodMeta::owner_references`].
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct SlimOwnerReference {
    /// `kind`, e.g. `ReplicaSet`.
    #[serde(default)]
    pub kind: String,
    /// `name`.
    #[serde(default)]
    pub name: String,
    /// `controller`.
    #[serde(default)]
    pub controller: Option<bool>,
}

/// [`SlimPod::spec`].
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct SlimPodSpec {
    /// `spec.containers`, counted only (the elements take no memory).
    #[serde(default)]
    pub containers: Vec<IgnoredAny>,
    /// `spec.nodeName`.
    #[serde(default)]
    pub node_name: Option<String>,
}

/// [`SlimPod::status`].
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct SlimPodStatus {
    /// `status.phase`.
    #[serde(default)]
    pub phase: Option<String>,
    /// `status.reason` (e.g. `Evicted`).
    #[serde(default)]
    pub reason: Option<String>,
    /// `status.conditions`: type and status.
    #[serde(default)]
    pub conditions: Option<Vec<SlimPodCondition>>,
    /// `status.containerStatuses`.
    #[serde(default)]
    pub container_statuses: Option<Vec<SlimContainerStatus>>,
    /// `status.initContainerStatuses`.
    #[serde(default)]
    pub init_container_statuses: Option<Vec<SlimContainerStatus>>,
    /// `status.podIP`.
    #[serde(default, rename = "podIP")]
    pub pod_ip: Option<String>,
}

/// A pod condition: type and status.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub(crate) struct SlimPodCondition {
    /// `type`, e.g. `Ready`.
    #[serde(rename = "type")]
    pub type_: String,
    /// `True`, `False` or `Unknown`.
    pub status: String,
}

/// A container status: readiness, restarts, and its current and last state.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct SlimContainerStatus {
    /// `ready`.
    #[serde(default)]
    pub ready: bool,
    /// `restartCount`.
    #[serde(default)]
    pub restart_count: i32,
    /// `state`.
    #[serde(default)]
    pub state: Option<SlimContainerState>,
    /// `lastState`.
    #[serde(default)]
    pub last_state: Option<SlimContainerState>,
}

/// A container state: waiting or terminated (running needs nothing more).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub(crate) struct SlimContainerState {
    /// `waiting`.
    #[serde(default)]
    pub waiting: Option<SlimWaiting>,
    /// `terminated`.
    #[serde(default)]
    pub terminated: Option<SlimTerminated>,
}

/// `state.waiting`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub(crate) struct SlimWaiting {
    /// `reason`, e.g. `CrashLoopBackOff`.
    #[serde(default)]
    pub reason: Option<String>,
}

/// `state.terminated`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct SlimTerminated {
    /// `reason`, e.g. `Error`.
    #[serde(default)]
    pub reason: Option<String>,
    /// `exitCode`.
    #[serde(default)]
    pub exit_code: i32,
    /// `finishedAt`.
    #[serde(default)]
    pub finished_at: Option<Time>,
}

impl SlimPod {
    /// The pod's name (empty if it has none).
    pub(crate) fn name(&self) -> &str {
        self.metadata.name.as_deref().unwrap_or("")
    }

    /// The pod's labels.
    pub(crate) fn labels(&self) -> &BTreeMap<String, String> {
        static NONE: BTreeMap<String, String> = BTreeMap::new();
        self.metadata.labels.as_ref().unwrap_or(&NONE)
    }

    /// Whether Deployment `deployment` owns the pod: its controller is a ReplicaSet named as
    /// the Deployment controller names them, `<deployment>-<pod-template-hash>`.
    pub(crate) fn owned_by_deployment(&self, deployment: &str) -> bool {
        let Some(hash) = self.labels().get("pod-template-hash") else {
            return false;
        };
        let expected = format!("{deployment}-{hash}");
        self.metadata
            .owner_references
            .iter()
            .flatten()
            .any(|r| r.kind == "ReplicaSet" && r.controller.unwrap_or(false) && r.name == expected)
    }
}

impl From<&Pod> for SlimPod {
    fn from(pod: &Pod) -> SlimPod {
        let state = |s: &ContainerState| SlimContainerState {
            waiting: s.waiting.as_ref().map(|w| SlimWaiting {
                reason: w.reason.clone(),
            }),
            terminated: s.terminated.as_ref().map(|t| SlimTerminated {
                reason: t.reason.clone(),
                exit_code: t.exit_code,
                finished_at: t.finished_at.clone(),
            }),
        };
        let containers = |list: &Option<Vec<ContainerStatus>>| {
            list.as_ref().map(|list| {
                list.iter()
                    .map(|c| SlimContainerStatus {
                        ready: c.ready,
                        restart_count: c.restart_count,
                        state: c.state.as_ref().map(state),
                        last_state: c.last_state.as_ref().map(state),
                    })
                    .collect()
            })
        };
        SlimPod {
            metadata: SlimPodMeta {
                name: pod.metadata.name.clone(),
                namespace: pod.metadata.namespace.clone(),
                labels: pod.metadata.labels.clone(),
                creation_timestamp: pod.metadata.creation_timestamp.clone(),
                deletion_timestamp: pod.metadata.deletion_timestamp.clone(),
                owner_references: pod.metadata.owner_references.as_ref().map(|refs| {
                    refs.iter()
                        .map(|r| SlimOwnerReference {
                            kind: r.kind.clone(),
                            name: r.name.clone(),
                            controller: r.controller,
                        })
                        .collect()
                }),
            },
            spec: pod.spec.as_ref().map(|spec| SlimPodSpec {
                containers: vec![IgnoredAny; spec.containers.len()],
                node_name: spec.node_name.clone(),
            }),
            status: pod.status.as_ref().map(|status| SlimPodStatus {
                phase: status.phase.clone(),
                reason: status.reason.clone(),
                conditions: status.conditions.as_ref().map(|list| {
                    list.iter()
                        .map(|c| SlimPodCondition {
                            type_: c.type_.clone(),
                            status: c.status.clone(),
                        })
                        .collect()
                }),
                container_statuses: containers(&status.container_statuses),
                init_container_statuses: containers(&status.init_container_statuses),
                pod_ip: status.pod_ip.clone(),
            }),
        }
    }
}

impl From<Pod> for SlimPod {
    fn from(pod: Pod) -> SlimPod {
        SlimPod::from(&pod)
    }
}

/// One page of a list, its items decoded into a slim type such as [`SlimPod`].
#[derive(Deserialize)]
#[serde(bound = "T: DeserializeOwned")]
struct SlimList<T> {
    #[serde(default)]
    metadata: ListMeta,
    #[serde(default = "Vec::new")]
    items: Vec<T>,
}

/// What the snapshot reads of an EndpointSlice, in its own JSON shape: the Service it belongs
/// to and each endpoint's addresses, conditions and target. The ports, each endpoint's node,
/// zone, hints and the rest of its target reference are skipped while decoding.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SlimEndpointSlice {
    /// `metadata`: name, namespace and labels.
    #[serde(default)]
    pub metadata: SlimObjectMeta,
    /// `addressType`.
    #[serde(default)]
    pub address_type: String,
    /// `endpoints`.
    #[serde(default)]
    pub endpoints: Option<Vec<SlimEndpoint>>,
}

/// Name, namespace and labels of an object.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct SlimObjectMeta {
    /// `metadata.name`.
    #[serde(default)]
    pub name: Option<String>,
    /// `metadata.namespace`.
    #[serde(default)]
    pub namespace: Option<String>,
    /// `metadata.labels` (`kubernetes.io/service-name` names the Service).
    #[serde(default)]
    pub labels: Option<BTreeMap<String, String>>,
}

/// One endpoint of a [`SlimEndpointSlice`].
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SlimEndpoint {
    /// `addresses`.
    #[serde(default)]
    pub addresses: Vec<String>,
    /// `conditions`.
    #[serde(default)]
    pub conditions: Option<EndpointConditions>,
    /// `targetRef`: kind and name only.
    #[serde(default)]
    pub target_ref: Option<SlimTargetRef>,
}

/// [`SlimEndpoint::target_ref`].
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct SlimTargetRef {
    /// `kind`, e.g. `Pod`.
    #[serde(default)]
    pub kind: Option<String>,
    /// `name`.
    #[serde(default)]
    pub name: Option<String>,
}

impl From<SlimEndpointSlice> for EndpointSlice {
    fn from(slice: SlimEndpointSlice) -> EndpointSlice {
        EndpointSlice {
            metadata: ObjectMeta {
                name: slice.metadata.name,
                namespace: slice.metadata.namespace,
                labels: slice.metadata.labels,
                ..ObjectMeta::default()
            },
            address_type: slice.address_type,
            endpoints: slice
                .endpoints
                .unwrap_or_default()
                .into_iter()
                .map(|e| Endpoint {
                    addresses: e.addresses,
                    conditions: e.conditions,
                    target_ref: e.target_ref.map(|r| ObjectReference {
                        kind: r.kind,
                        name: r.name,
                        ..ObjectReference::default()
                    }),
                    ..Endpoint::default()
                })
                .collect(),
            ports: None,
        }
    }
}

/// A failure below HTTP, classified by the types the client's layers give (kube, hyper,
/// hyper-util, rustls, std::io) found along its causes; the error itself is kept as the cause.
/// `timeout` is the limit the connection was built with (`--request-timeout` bounds
/// connecting and writing).
fn classify_transport(
    desc: &RequestDesc,
    target: &crate::cluster::Target,
    timeout: Option<Duration>,
    err: kube::Error,
) -> Error {
    let kind = transport_kind(&err);
    let source = Some(Box::new(err) as crate::error::Cause);
    let server = target.server.clone();
    match kind {
        Transport::Tls(reason) => Error::Tls {
            server,
            context: target.context.clone(),
            reason,
            source,
        },
        Transport::TimedOut => Error::Timeout {
            request: desc.to_string(),
            server,
            after: timeout,
            source,
        },
        Transport::Closed => Error::Transport {
            request: desc.to_string(),
            server,
            reason: "the connection closed before the server answered".to_string(),
            source,
        },
        Transport::Unreachable(reason) => Error::Unreachable {
            server,
            context: target.context.clone(),
            reason,
            source,
        },
        Transport::Other(reason) => Error::Transport {
            request: desc.to_string(),
            server,
            reason,
            source,
        },
    }
}

/// What went wrong below HTTP, with the words to tell it.
#[derive(Debug, PartialEq, Eq)]
enum Transport {
    /// The server's certificate was not accepted, or the TLS handshake failed.
    Tls(String),
    /// Connecting or writing took longer than allowed.
    TimedOut,
    /// The connection ended before the answer did: the server may or may not have acted.
    Closed,
    /// No connection could be made: refused, no route, or the name did not resolve.
    Unreachable(String),
    /// Anything else, in the client's words.
    Other(String),
}

fn transport_kind(err: &(dyn StdError + 'static)) -> Transport {
    use std::io::ErrorKind::*;
    let mut connect_failed = false;
    for cause in causes(err) {
        if let Some(tls) = cause.downcast_ref::<rustls::Error>() {
            return Transport::Tls(tls.to_string());
        }
        if let Some(io) = cause.downcast_ref::<std::io::Error>() {
            match io.kind() {
                TimedOut => return Transport::TimedOut,
                ConnectionReset | ConnectionAborted | UnexpectedEof | BrokenPipe => {
                    return Transport::Closed;
                }
                ConnectionRefused | NotConnected | AddrNotAvailable | HostUnreachable
                | NetworkUnreachable | NetworkDown => {
                    return Transport::Unreachable(io.to_string());
                }
                _ => {}
            }
        }
        if let Some(http) = cause.downcast_ref::<hyper::Error>() {
            if http.is_timeout() {
                return Transport::TimedOut;
            }
            if http.is_incomplete_message() || http.is_closed() || http.is_canceled() {
                return Transport::Closed;
            }
        }
        if let Some(client) = cause.downcast_ref::<hyper_util::client::legacy::Error>() {
            connect_failed |= client.is_connect();
        }
    }
    // A connection that could not be made for another reason: the name did not resolve
    // (the resolver's error carries no kind of its own), or the connector gave up.
    if connect_failed {
        Transport::Unreachable(chain_text(err))
    } else {
        Transport::Other(chain_text(err))
    }
}

/// `err` and its causes, outermost first. An `io::Error` that wraps another error reports
/// that error's cause as its own source, skipping the error itself (a TLS error inside the
/// I/O error of a TLS stream, for one): it is visited too.
fn causes<'a>(
    err: &'a (dyn StdError + 'static),
) -> impl Iterator<Item = &'a (dyn StdError + 'static)> {
    std::iter::successors(Some(err), |&e| {
        let wrapped = e
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
            .map(|inner| inner as &(dyn StdError + 'static));
        wrapped.or_else(|| e.source())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::apps::v1::Deployment;
    use k8s_openapi::api::core::v1::Pod;
    use k8s_openapi::api::discovery::v1::EndpointSlice;

    #[test]
    fn a_slim_pod_summarises_as_the_whole_pod() {
        let json = serde_json::json!({
            "metadata": {
                "name": "greendeploy-7d9f-abcde", "namespace": "default",
                "labels": {"app": "green", "pod-template-hash": "7d9f"},
                "annotations": {"kubectl.kubernetes.io/restartedAt": "2026-01-01T00:00:00Z"},
                "creationTimestamp": "2026-01-01T00:00:00Z",
                "deletionTimestamp": "2026-01-01T00:10:00Z",
                "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet",
                    "name": "greendeploy-7d9f", "uid": "u1", "controller": true}],
            },
            "spec": {
                "nodeName": "node-1",
                "containers": [
                    {"name": "web", "image": "nginx:green", "env": [{"name": "A", "value": "1"}]},
                    {"name": "sidecar", "image": "envoy"},
                ],
                "tolerations": [{"key": "k", "operator": "Exists"}],
            },
            "status": {
                "phase": "Running",
                "podIP": "10.0.0.7",
                "podIPs": [{"ip": "10.0.0.7"}],
                "hostIP": "192.168.0.1",
                "conditions": [{"type": "Ready", "status": "False"}],
                "initContainerStatuses": [{"name": "init", "ready": true, "restartCount": 0,
                    "image": "busybox", "imageID": "",
                    "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}}],
                "containerStatuses": [
                    {"name": "web", "ready": false, "restartCount": 4, "image": "nginx:green",
                     "imageID": "", "state": {"waiting": {"reason": "CrashLoopBackOff"}},
                     "lastState": {"terminated": {"exitCode": 1,
                         "finishedAt": "2026-01-01T00:05:00Z"}}},
                    {"name": "sidecar", "ready": true, "restartCount": 0, "image": "envoy",
                     "imageID": "", "state": {"running": {}}},
                ],
            },
        });
        let pod: Pod = serde_json::from_value(json.clone()).expect("a valid pod");
        let slim: SlimPod = serde_json::from_value(json).expect("a valid slim pod");
        let now = "2026-01-01T01:00:00Z".parse().expect("a timestamp");
        let summary = crate::pair::snapshot::pod_summary(&pod, now);
        assert_eq!(crate::pair::snapshot::slim_pod_summary(&slim, now), summary);
        assert_eq!(SlimPod::from(&pod), slim);
        assert_eq!(summary.status, "Terminating");
        assert_eq!(summary.restarts, 4);
        assert_eq!((summary.ready_containers, summary.total_containers), (1, 2));
        assert_eq!(
            summary.last_restart.map(|t| t.to_string()).as_deref(),
            Some("2026-01-01T00:05:00Z")
        );
        assert_eq!(summary.ip.as_deref(), Some("10.0.0.7"));
        assert_eq!(slim.labels(), pod.labels());
        assert_eq!(summary.node.as_deref(), Some("node-1"));
        assert!(summary.terminating);
    }

    #[test]
    fn a_pod_list_page_decodes_into_slim_pods() {
        let page: SlimList<SlimPod> = serde_json::from_value(serde_json::json!({
            "kind": "PodList",
            "apiVersion": "v1",
            "metadata": {"resourceVersion": "42", "continue": "next"},
            "items": [
                {"metadata": {"name": "a", "labels": {"app": "green"}}, "spec": {"containers":
                    [{"name": "web", "image": "nginx"}]}},
                {"metadata": {"name": "b"}, "status": {"phase": "Pending"}},
            ],
        }))
        .expect("a valid list");
        assert_eq!(page.metadata.continue_.as_deref(), Some("next"));
        assert_eq!(page.items.len(), 2);
        assert_eq!(page.items[0].name(), "a");
        assert_eq!(
            page.items[0].spec.as_ref().map(|s| s.containers.len()),
            Some(1)
        );
        assert_eq!(
            page.items[1]
                .status
                .as_ref()
                .and_then(|s| s.phase.as_deref()),
            Some("Pending")
        );
    }

    #[test]
    fn a_slim_endpoint_slice_keeps_what_the_snapshot_reads() {
        let json = serde_json::json!({
            "kind": "EndpointSliceList",
            "apiVersion": "discovery.k8s.io/v1",
            "metadata": {"resourceVersion": "7"},
            "items": [{
                "metadata": {
                    "name": "web-abc12",
                    "namespace": "shop",
                    "labels": {"kubernetes.io/service-name": "web"},
                    "managedFields": [{"manager": "endpointslice-controller"}],
                },
                "addressType": "IPv4",
                "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}],
                "endpoints": [
                    {"addresses": ["10.0.0.1"],
                     "conditions": {"ready": true, "serving": true, "terminating": false},
                     "nodeName": "node-1", "zone": "a",
                     "targetRef": {"kind": "Pod", "name": "web-1", "namespace": "shop",
                                   "uid": "u-1"}},
                    {"addresses": ["10.0.0.2", "10.0.0.3"],
                     "conditions": {"ready": false, "terminating": true}},
                ],
            }],
        });
        let full: kube::core::ObjectList<EndpointSlice> =
            serde_json::from_value(json.clone()).expect("a valid list");
        let page: SlimList<SlimEndpointSlice> = serde_json::from_value(json).expect("a valid list");
        let slim: Vec<EndpointSlice> = page.items.into_iter().map(EndpointSlice::from).collect();
        assert_eq!(slim.len(), 1);
        let (slim, full) = (&slim[0], &full.items[0]);
        assert_eq!(slim.metadata.name, full.metadata.name);
        assert_eq!(slim.metadata.namespace, full.metadata.namespace);
        assert_eq!(slim.metadata.labels, full.metadata.labels);
        assert_eq!(slim.metadata.managed_fields, None);
        assert_eq!(slim.address_type, "IPv4");
        assert_eq!(slim.ports, None);
        assert_eq!(slim.endpoints.len(), full.endpoints.len());
        for (s, f) in slim.endpoints.iter().zip(&full.endpoints) {
            assert_eq!(s.addresses, f.addresses);
            assert_eq!(s.conditions, f.conditions);
            let kind_and_name = |e: &Endpoint| {
                e.target_ref
                    .as_ref()
                    .map(|r| (r.kind.clone(), r.name.clone()))
            };
            assert_eq!(kind_and_name(s), kind_and_name(f));
            assert_eq!(s.node_name, None);
        }
        assert_eq!(full.endpoints[0].node_name.as_deref(), Some("node-1"));
        assert_eq!(
            slim.endpoints[0]
                .target_ref
                .as_ref()
                .and_then(|r| r.name.as_deref()),
            Some("web-1")
        );
    }

    #[test]
    fn resources_are_named_as_rbac_names_them() {
        assert_eq!(resource_name::<Pod>(), "pods");
        assert_eq!(resource_name::<Deployment>(), "deployments.apps");
        assert_eq!(
            resource_name::<EndpointSlice>(),
            "endpointslices.discovery.k8s.io"
        );
    }

    fn target() -> crate::cluster::Target {
        crate::cluster::Target {
            context: "sandbox".into(),
            cluster: "sandbox".into(),
            server: "https://127.0.0.1:6443".into(),
            namespace: "default".into(),
        }
    }

    fn patch_web() -> RequestDesc {
        RequestDesc {
            verb: "patch",
            resource: "services".into(),
            name: Some("web".into()),
        }
    }

    /// `io` as the client gives it: inside the error of its HTTP service.
    fn from_client(io: std::io::Error) -> kube::Error {
        kube::Error::Service(Box::new(io))
    }

    #[test]
    fn a_connection_lost_mid_request_names_the_request() {
        let reset = std::io::Error::new(std::io::ErrorKind::ConnectionReset, "reset by peer");
        let e = classify_transport(&patch_web(), &target(), None, from_client(reset));
        let text = e.to_string();
        assert!(matches!(e, Error::Transport { .. }), "{text}");
        assert!(
            text.contains("patch services/web")
                && text.contains("closed before the server answered"),
            "{text}"
        );
        // What rustls gives when the server hangs up without closing TLS.
        let eof = std::io::Error::new(
            std::io::ErrorKind::UnexpectedEof,
            "peer closed connection without sending TLS close_notify",
        );
        let e = classify_transport(&patch_web(), &target(), None, from_client(eof));
        assert!(
            e.to_string().contains("closed before the server answered"),
            "{e}"
        );
        assert!(crate::cluster::retry::passing(&e));
    }

    #[test]
    fn a_refused_connection_is_an_unreachable_server() {
        let refused = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "refused");
        let e = classify_transport(&patch_web(), &target(), None, from_client(refused));
        assert!(matches!(e, Error::Unreachable { .. }), "{e}");
        assert!(e.to_string().contains(": refused;"), "{e}");
    }

    #[test]
    fn a_timed_out_connection_gives_the_limit_it_hit() {
        let timed_out = std::io::Error::new(std::io::ErrorKind::TimedOut, "deadline has elapsed");
        let limit = Some(Duration::from_millis(1500));
        let e = classify_transport(&patch_web(), &target(), limit, from_client(timed_out));
        assert!(matches!(e, Error::Timeout { .. }), "{e}");
        assert_eq!(
            e.to_string(),
            "patch services/web on https://127.0.0.1:6443 timed out after 1.5s; raise --request-timeout or check the cluster"
        );
        // No limit of its own: the system's ran out, and no made-up duration is shown.
        let timed_out = std::io::Error::new(std::io::ErrorKind::TimedOut, "connect timed out");
        let e = classify_transport(&patch_web(), &target(), None, from_client(timed_out));
        let text = e.to_string();
        assert!(
            text.contains("/web on https://127.0.0.1:6443 timed out; raise"),
            "{text}"
        );
        assert!(!text.contains("0ms"), "{text}");
    }

    #[test]
    fn a_rejected_certificate_is_a_tls_error_found_inside_the_io_error() {
        let rejected = std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer),
        );
        let e = classify_transport(&patch_web(), &target(), None, from_client(rejected));
        assert!(matches!(e, Error::Tls { .. }), "{e}");
        assert!(e.to_string().contains("invalid peer certificate"), "{e}");
        assert!(
            !crate::cluster::retry::passing(&e),
            "a TLS failure does not pass"
        );
    }

    #[test]
    fn words_alone_do_not_classify_a_failure() {
        let worded = std::io::Error::other("connection reset, dns error, invalid peer certificate");
        let e = classify_transport(&patch_web(), &target(), None, from_client(worded));
        assert!(
            matches!(&e, Error::Transport { reason, .. } if reason.contains("dns error")),
            "{e}"
        );
    }

    #[test]
    fn the_client_error_is_kept_as_the_cause() {
        let refused = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "refused");
        let e = classify_transport(&patch_web(), &target(), None, from_client(refused));
        let cause = std::error::Error::source(&e).expect("a cause");
        let client = cause
            .downcast_ref::<kube::Error>()
            .expect("the client's error");
        assert!(matches!(client, kube::Error::Service(_)), "{client:?}");
        let io = causes(cause)
            .find_map(|c| c.downcast_ref::<std::io::Error>())
            .expect("the I/O error under it");
        assert_eq!(io.kind(), std::io::ErrorKind::ConnectionRefused);
    }
}
