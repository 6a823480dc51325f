//! A plain value describing the whole pair at one moment, built from API objects by a pure
//! function. Everything else (verdict, plans, rendering) works from this value.

use std::collections::{BTreeMap, HashMap, HashSet};

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::api::discovery::v1::EndpointSlice;
use kube::ResourceExt;
use serde::{Deserialize, Serialize};

use crate::cluster::read::{PairObjects, SlimContainerState, SlimPod, SlimPodStatus};
use crate::error::Result;
use crate::pair::JOURNAL_PREFIX;
use crate::pair::discover::{self, Identity};

/// Whether a colour is the one the production Service selects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Role {
    /// Selected by the production Service.
    Live,
    /// Not selected: where the next version goes.
    Idle,
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Role::Live => "live",
            Role::Idle => "idle",
        })
    }
}

/// The pair at one moment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Snapshot {
    /// When it was read (RFC 3339 in JSON).
    pub observed_at: jiff::Timestamp,
    /// The production Service.
    pub service: ServiceInfo,
    /// The live colour.
    pub live_colour: String,
    /// The idle colour.
    pub idle_colour: String,
    /// Both colours, in `--colors` order.
    pub colours: Vec<ColourState>,
    /// The addresses the production Service's EndpointSlices hold right now.
    pub endpoints: Vec<EndpointAddress>,
    /// Other Services that select pods of the pair (headless, metrics, ...).
    pub other_services: Vec<OtherService>,
    /// Whether HorizontalPodAutoscalers could be read (false: not allowed or not served).
    pub hpas_known: bool,
    /// Both colours' Deployments run the same pod template apart from the colour label: a
    /// promote would change no version. Not part of the output schema.
    #[serde(skip)]
    pub same_template: bool,
    /// `spec.type` of every other Service of the namespace that selects pods of the pair (a
    /// LoadBalancer is never deleted by a cleanup). Not part of the output schema.
    #[serde(skip)]
    pub service_types: BTreeMap<String, String>,
    /// Each colour's Deployment as JSON (what `deploy` copies). Not part of the output schema.
    #[serde(skip)]
    pub manifests: BTreeMap<String, serde_json::Value>,
    /// The production Service as JSON (what `deploy` copies a test Service from). Not part of
    /// the output schema.
    #[serde(skip)]
    pub service_manifest: serde_json::Value,
}

/// The production Service.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceInfo {
    /// Name.
    pub name: String,
    /// Namespace.
    pub namespace: String,
    /// Its full selector.
    pub selector: BTreeMap<String, String>,
    /// The selector key carrying the colour.
    pub colour_label: String,
    /// Its resourceVersion when read (what a flip's precondition would use).
    pub resource_version: Option<String>,
    /// A tool that manages its selector (then this plugin refuses to flip it).
    pub managed_by: Option<String>,
    /// The plugin's journal annotations, without their prefix.
    pub journal: BTreeMap<String, String>,
    /// The journal values this plugin cannot read (absent when all are readable).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unreadable_journal: Vec<crate::pair::journal::Unreadable>,
    /// Its ports: what verification checks one by one.
    #[serde(default)]
    pub ports: Vec<ServicePortInfo>,
    /// Other writers that put the selector back to what their source says (kubectl apply,
    /// Helm, Argo CD, Flux).
    #[serde(default)]
    pub owners: Vec<crate::pair::owners::Owner>,
}

/// One port of the production Service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServicePortInfo {
    /// `name` (EndpointSlices name their ports after it; empty for a single unnamed port).
    pub name: String,
    /// `port`.
    pub port: i32,
    /// `targetPort`: a number, or the name of a container port; `port` when unset.
    pub target_port: String,
    /// `protocol` (default TCP).
    pub protocol: String,
}

impl ServicePortInfo {
    /// How people name it: `http (80 → http)`.
    pub fn label(&self) -> String {
        let name = if self.name.is_empty() {
            String::new()
        } else {
            format!("{} ", self.name)
        };
        format!("{name}({} → {})", self.port, self.target_port)
    }
}

/// One port a container of a pod template declares.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContainerPortInfo {
    /// `name`, if any.
    pub name: Option<String>,
    /// `containerPort`.
    pub port: i32,
    /// `protocol` (default TCP).
    pub protocol: String,
}

/// One colour: its Deployment, test Services, pods and autoscalers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ColourState {
    /// The colour value, e.g. `green`.
    pub colour: String,
    /// Live or idle.
    pub role: Role,
    /// The colour's selector (production selector with this colour).
    pub selector: BTreeMap<String, String>,
    /// Its Deployment; `None` when the colour is missing.
    pub deployment: Option<DeploymentSummary>,
    /// Services whose selector equals this colour's selector.
    pub test_services: Vec<String>,
    /// Pods matched by the colour's selector.
    pub pods: Vec<PodSummary>,
    /// HorizontalPodAutoscalers targeting the Deployment.
    pub hpas: Vec<HpaSummary>,
    /// Pods the colour's selector matches that its Deployment does not own (a bare pod, another
    /// workload's): they take production traffic once the colour is live.
    #[serde(default)]
    pub strays: Vec<String>,
    /// Ports of the production Service that the colour's pod template does not expose (a named
    /// `targetPort` no container declares): its pods would get no traffic on them.
    #[serde(default)]
    pub missing_ports: Vec<String>,
}

impl ColourState {
    /// The colour as a wait re-reads it: its Deployment (`None`: missing) and the pods its
    /// selector matches, summarised as [`build`] does; pure. Only what readiness looks at is
    /// filled in: test Services, autoscalers and ports are the snapshot's business. A colour
    /// that is waited for never takes traffic yet, so it is idle.
    pub fn observed(
        colour: &str,
        selector: BTreeMap<String, String>,
        deployment: Option<&Deployment>,
        pods: &[Pod],
        now: jiff::Timestamp,
    ) -> ColourState {
        ColourState {
            colour: colour.to_string(),
            role: Role::Idle,
            selector,
            deployment: deployment.map(deployment_summary),
            test_services: Vec::new(),
            pods: pods.iter().map(|p| pod_summary(p, now)).collect(),
            hpas: Vec::new(),
            strays: Vec::new(),
            missing_ports: Vec::new(),
        }
    }

    /// Pods that can serve: Ready and not terminating.
    pub fn serving_pods(&self) -> usize {
        self.pods
            .iter()
            .filter(|p| p.ready && !p.terminating)
            .count()
    }
}

/// What matters about a Deployment for a release.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeploymentSummary {
    /// Name.
    pub name: String,
    /// Container images of the pod template.
    pub images: Vec<String>,
    /// `spec.replicas`.
    pub desired: i32,
    /// `status.replicas`: pods of every revision.
    pub current: i32,
    /// `status.updatedReplicas`.
    pub updated: i32,
    /// `status.readyReplicas`.
    pub ready: i32,
    /// `status.availableReplicas`.
    pub available: i32,
    /// `metadata.generation`.
    pub generation: i64,
    /// `status.observedGeneration`.
    pub observed_generation: i64,
    /// `spec.paused`.
    pub paused: bool,
    /// Ports the pod template's containers declare.
    #[serde(default)]
    pub container_ports: Vec<ContainerPortInfo>,
    /// The Progressing condition says the progress deadline was exceeded.
    pub progress_deadline_exceeded: bool,
    /// Observed, updated, and every replica updated and available, no old ones left.
    pub rollout_complete: bool,
}

/// One pod, as `kubectl get pods -o wide` shows it, plus its place in the Service's endpoints.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PodSummary {
    /// Name.
    pub name: String,
    /// `status.phase`.
    pub phase: String,
    /// What kubectl's STATUS column says (e.g. `Running`, `CrashLoopBackOff`, `Terminating`).
    pub status: String,
    /// The Ready condition.
    pub ready: bool,
    /// Ready containers.
    pub ready_containers: u32,
    /// All containers.
    pub total_containers: u32,
    /// Restarts of all containers.
    pub restarts: u32,
    /// When a container last terminated before restarting (RFC 3339), if known.
    pub last_restart: Option<jiff::Timestamp>,
    /// Creation time (RFC 3339).
    pub created: Option<String>,
    /// Age in seconds at `observedAt`.
    pub age_seconds: Option<i64>,
    /// Node.
    pub node: Option<String>,
    /// Pod IP.
    pub ip: Option<String>,
    /// Being deleted.
    pub terminating: bool,
    /// Its state in the production Service's endpoints.
    pub in_service: EndpointState,
}

/// A pod's place in the production Service's EndpointSlices.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum EndpointState {
    /// Held as ready: receives traffic.
    Ready,
    /// Held but not ready: receives no traffic.
    NotReady,
    /// Held as terminating (may still serve existing connections).
    Terminating,
    /// Not in the endpoints.
    Absent,
}

impl std::fmt::Display for EndpointState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            EndpointState::Ready => "ready",
            EndpointState::NotReady => "not ready",
            EndpointState::Terminating => "terminating",
            EndpointState::Absent => "-",
        })
    }
}

/// One address of the production Service's EndpointSlices.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EndpointAddress {
    /// IP address.
    pub ip: String,
    /// The pod behind it (targetRef), if any.
    pub pod: Option<String>,
    /// The colour of that pod, if it is one of the pair's.
    pub colour: Option<String>,
    /// `conditions.ready` (absent means ready).
    pub ready: bool,
    /// `conditions.serving`.
    pub serving: bool,
    /// `conditions.terminating`.
    pub terminating: bool,
}

/// Another Service selecting pods of the pair.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OtherService {
    /// Name.
    pub name: String,
    /// Its selector.
    pub selector: BTreeMap<String, String>,
    /// Which colours' pods it selects.
    pub selects: Vec<String>,
    /// `spec.type` (`ClusterIP`, `NodePort`, `LoadBalancer`, ...).
    #[serde(default)]
    pub service_type: String,
    /// Its selector is a colour's selector and it is not that colour's test Service: another
    /// way into production (a public LoadBalancer beside a ClusterIP Service, say), which
    /// cleaning up the colour it selects would leave with no endpoints.
    #[serde(default)]
    pub entry_point: bool,
    /// Its resourceVersion when read (the precondition of `--also-flip`). Not part of the
    /// output schema.
    #[serde(skip)]
    pub resource_version: Option<String>,
}

/// A HorizontalPodAutoscaler targeting a colour's Deployment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HpaSummary {
    /// Name.
    pub name: String,
    /// `spec.minReplicas` (default 1).
    pub min_replicas: i32,
    /// `spec.maxReplicas`.
    pub max_replicas: i32,
    /// `status.currentReplicas`.
    pub current_replicas: Option<i32>,
    /// `status.desiredReplicas`.
    pub desired_replicas: Option<i32>,
}

/// Builds the snapshot. Fails only when the pair is ambiguous (two Deployments for a colour).
pub fn build(
    identity: &Identity,
    namespace: &str,
    objects: &PairObjects,
    now: jiff::Timestamp,
) -> Result<Snapshot> {
    let endpoints = endpoint_addresses(&objects.endpoint_slices, identity, &objects.pods);
    let by_ip: HashMap<&str, &EndpointAddress> =
        endpoints.iter().map(|e| (e.ip.as_str(), e)).collect();
    let by_pod: HashMap<&str, &EndpointAddress> = endpoints
        .iter()
        .filter_map(|e| e.pod.as_deref().map(|p| (p, e)))
        .collect();

    let journal: BTreeMap<String, String> = objects
        .service
        .annotations()
        .iter()
        .filter_map(|(k, v)| {
            k.strip_prefix(JOURNAL_PREFIX)
                .map(|k| (k.to_string(), v.clone()))
        })
        .collect();
    let classes = ServiceClasses::of(&journal);
    let ports = service_ports(&objects.service);
    let mut colours = Vec::with_capacity(2);
    let mut test_service_names = Vec::new();
    let mut found = Vec::with_capacity(2);
    for (index, colour) in identity.colours.iter().enumerate() {
        let deployment = discover::deployment_for(identity, colour, &objects.deployments)?;
        found.push(deployment);
        let is_live = index == identity.live;
        let tests: Vec<String> = discover::test_services(identity, colour, &objects.services)
            .iter()
            .map(|s| s.name_any())
            .filter(|name| classes.is_test(name, is_live))
            .collect();
        test_service_names.extend(tests.iter().cloned());
        let strays = match deployment {
            Some(d) => {
                let owner = d.name_any();
                objects.pods[index]
                    .iter()
                    .filter(|p| {
                        p.metadata.deletion_timestamp.is_none() && !p.owned_by_deployment(&owner)
                    })
                    .map(|p| p.name().to_string())
                    .collect()
            }
            None => Vec::new(),
        };
        let missing_ports = match deployment {
            Some(d) => missing_ports(&ports, &template_ports(d)),
            None => Vec::new(),
        };
        let pods = objects.pods[index]
            .iter()
            .map(|p| {
                let mut summary = slim_pod_summary(p, now);
                let held = summary
                    .ip
                    .as_deref()
                    .and_then(|ip| by_ip.get(ip))
                    .or_else(|| by_pod.get(summary.name.as_str()));
                summary.in_service = held.map_or(EndpointState::Absent, |e| endpoint_state(e));
                summary
            })
            .collect();
        let hpas = match (&objects.hpas, deployment) {
            (Some(hpas), Some(d)) => hpas_for(hpas, &d.name_any()),
            _ => Vec::new(),
        };
        colours.push(ColourState {
            colour: colour.clone(),
            role: if index == identity.live {
                Role::Live
            } else {
                Role::Idle
            },
            selector: identity.selector_for(colour),
            deployment: deployment.map(deployment_summary),
            test_services: tests,
            pods,
            hpas,
            strays,
            missing_ports,
        });
    }

    let other_services = other_services(identity, objects, &test_service_names);
    let service = &objects.service;
    Ok(Snapshot {
        observed_at: now,
        service: ServiceInfo {
            name: identity.service.clone(),
            namespace: namespace.to_string(),
            selector: identity.selector.clone(),
            colour_label: identity.colour_label.clone(),
            resource_version: service.metadata.resource_version.clone(),
            managed_by: discover::managed_by(service),
            unreadable_journal: crate::pair::journal::Journal::decode(&journal).unreadable,
            journal,
            ports,
            owners: crate::pair::owners::owners(service),
        },
        live_colour: identity.live_colour().to_string(),
        idle_colour: identity.idle_colour().to_string(),
        colours,
        endpoints,
        other_services,
        hpas_known: objects.hpas.is_some(),
        manifests: identity
            .colours
            .iter()
            .zip(found.iter())
            .filter_map(|(c, d)| {
                d.and_then(|d| serde_json::to_value(d).ok())
                    .map(|v| (c.clone(), v))
            })
            .collect(),
        service_manifest: serde_json::to_value(&objects.service).unwrap_or_default(),
        service_types: objects
            .services
            .iter()
            .filter(|s| s.name_any() != identity.service)
            .map(|s| {
                let kind = s.spec.as_ref().and_then(|spec| spec.type_.clone());
                (
                    s.name_any(),
                    kind.unwrap_or_else(|| "ClusterIP".to_string()),
                )
            })
            .collect(),
        same_template: matches!(found.as_slice(), [Some(a), Some(b)]
            if discover::same_template(&identity.colour_label, a, b)),
    })
}

fn endpoint_state(e: &EndpointAddress) -> EndpointState {
    if e.terminating {
        EndpointState::Terminating
    } else if e.ready {
        EndpointState::Ready
    } else {
        EndpointState::NotReady
    }
}

fn endpoint_addresses(
    slices: &[EndpointSlice],
    identity: &Identity,
    pods: &[Vec<SlimPod>; 2],
) -> Vec<EndpointAddress> {
    let colour_of_pod: HashMap<&str, &str> = pods
        .iter()
        .zip(identity.colours.iter())
        .flat_map(|(pods, colour)| pods.iter().map(move |p| (p.name(), colour.as_str())))
        .collect();
    let colour_of_ip: HashMap<&str, &str> = pods
        .iter()
        .zip(identity.colours.iter())
        .flat_map(|(pods, colour)| {
            pods.iter()
                .filter_map(|p| p.status.as_ref().and_then(|s| s.pod_ip.as_deref()))
                .map(move |ip| (ip, colour.as_str()))
        })
        .collect();
    let mut addresses: Vec<EndpointAddress> = Vec::new();
    let mut seen: HashSet<&str> = HashSet::new();
    for endpoint in slices.iter().flat_map(|s| s.endpoints.iter()) {
        let conditions = endpoint.conditions.clone().unwrap_or_default();
        let ready = conditions.ready.unwrap_or(true);
        let pod = endpoint
            .target_ref
            .as_ref()
            .filter(|r| r.kind.as_deref().is_none_or(|k| k == "Pod"))
            .and_then(|r| r.name.clone());
        for ip in &endpoint.addresses {
            if !seen.insert(ip.as_str()) {
                continue; // the same address can appear in several slices during updates
            }
            let colour = pod
                .as_deref()
                .and_then(|p| colour_of_pod.get(p))
                .or_else(|| colour_of_ip.get(ip.as_str()))
                .map(|c| c.to_string());
            addresses.push(EndpointAddress {
                ip: ip.clone(),
                pod: pod.clone(),
                colour,
                ready,
                serving: conditions.serving.unwrap_or(ready),
                terminating: conditions.terminating.unwrap_or(false),
            });
        }
    }
    addresses.sort_by(|a, b| a.pod.cmp(&b.pod).then_with(|| a.ip.cmp(&b.ip)));
    addresses
}

fn other_services(
    identity: &Identity,
    objects: &PairObjects,
    test_services: &[String],
) -> Vec<OtherService> {
    let template_labels: Vec<Option<BTreeMap<String, String>>> = identity
        .colours
        .iter()
        .map(|c| {
            discover::deployment_for(identity, c, &objects.deployments)
                .ok()
                .flatten()
                .map(discover::template_labels)
        })
        .collect();
    objects
        .services
        .iter()
        .filter(|s| {
            let name = s.name_any();
            name != identity.service && !test_services.contains(&name)
        })
        .filter_map(|s| {
            let selector = discover::service_selector(s);
            if selector.is_empty() {
                return None;
            }
            let selects: Vec<String> = identity
                .colours
                .iter()
                .enumerate()
                .filter(|(i, _)| {
                    objects.pods[*i]
                        .iter()
                        .any(|p| discover::selects(&selector, p.labels()))
                        || template_labels[*i]
                            .as_ref()
                            .is_some_and(|l| discover::selects(&selector, l))
                })
                .map(|(_, c)| c.clone())
                .collect();
            let entry_point = identity
                .colours
                .iter()
                .any(|c| identity.selector_for(c) == selector);
            (!selects.is_empty()).then(|| OtherService {
                name: s.name_any(),
                selector,
                selects,
                service_type: s
                    .spec
                    .as_ref()
                    .and_then(|spec| spec.type_.clone())
                    .unwrap_or_else(|| "ClusterIP".to_string()),
                entry_point,
                resource_version: s.metadata.resource_version.clone(),
            })
        })
        .collect()
}

/// Which Services with a colour's exact selector are test Services. Before any release, one
/// that selects the idle colour is a test Service (the manual procedure's) and one that selects
/// the live colour is another entry point. A flip records both lists in the journal, because
/// after it the roles of the colours swap while those Services stay as they were.
struct ServiceClasses {
    /// `test-services` of the journal.
    tests: Option<Vec<String>>,
    /// `entry-points` of the journal.
    entry_points: Vec<String>,
    /// The journal records a flip made before these lists existed.
    older_journal: bool,
}

impl ServiceClasses {
    fn of(journal: &BTreeMap<String, String>) -> ServiceClasses {
        let list = |key: &str| {
            journal
                .get(key)
                .and_then(|v| serde_json::from_str::<Vec<String>>(v).ok())
        };
        ServiceClasses {
            tests: list(crate::pair::journal::TEST_SERVICES),
            entry_points: list(crate::pair::journal::ENTRY_POINTS).unwrap_or_default(),
            older_journal: journal.contains_key(crate::pair::journal::PREVIOUS_COLOUR)
                && !journal.contains_key(crate::pair::journal::TEST_SERVICES),
        }
    }

    /// Whether `name`, whose selector is the selector of a colour that is live (or idle), is
    /// that colour's test Service.
    fn is_test(&self, name: &str, live: bool) -> bool {
        if self.entry_points.iter().any(|e| e == name) {
            return false;
        }
        if self.tests.iter().flatten().any(|t| t == name) {
            return true;
        }
        // A journal written before the lists existed: after its flip, the test Service of the
        // colour that became live selects that colour.
        !live || self.older_journal
    }
}

/// The production Service's ports.
fn service_ports(service: &k8s_openapi::api::core::v1::Service) -> Vec<ServicePortInfo> {
    use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
    service
        .spec
        .as_ref()
        .and_then(|s| s.ports.as_ref())
        .map(|ports| {
            ports
                .iter()
                .map(|p| ServicePortInfo {
                    name: p.name.clone().unwrap_or_default(),
                    port: p.port,
                    target_port: match &p.target_port {
                        Some(IntOrString::Int(n)) => n.to_string(),
                        Some(IntOrString::String(s)) if !s.is_empty() => s.clone(),
                        _ => p.port.to_string(),
                    },
                    protocol: p.protocol.clone().unwrap_or_else(|| "TCP".to_string()),
                })
                .collect()
        })
        .unwrap_or_default()
}

/// The ports a Deployment's pod template declares.
fn template_ports(deployment: &Deployment) -> Vec<ContainerPortInfo> {
    deployment
        .spec
        .as_ref()
        .and_then(|s| s.template.spec.as_ref())
        .map(|spec| {
            spec.containers
                .iter()
                .flat_map(|c| c.ports.iter().flatten())
                .map(|p| ContainerPortInfo {
                    name: p.name.clone(),
                    port: p.container_port,
                    protocol: p.protocol.clone().unwrap_or_else(|| "TCP".to_string()),
                })
                .collect()
        })
        .unwrap_or_default()
}

/// The Service ports whose named `targetPort` no container declares (with that protocol). A
/// numbered `targetPort` reaches the pod whether or not a container declares it, as
/// Kubernetes resolves it, so only names can be missing.
pub fn missing_ports(ports: &[ServicePortInfo], declared: &[ContainerPortInfo]) -> Vec<String> {
    ports
        .iter()
        .filter(|p| p.target_port.parse::<i32>().is_err())
        .filter(|p| {
            !declared.iter().any(|d| {
                d.name.as_deref() == Some(p.target_port.as_str()) && d.protocol == p.protocol
            })
        })
        .map(ServicePortInfo::label)
        .collect()
}

fn hpas_for(hpas: &[HorizontalPodAutoscaler], deployment: &str) -> Vec<HpaSummary> {
    hpas.iter()
        .filter_map(|h| {
            let spec = h.spec.as_ref()?;
            let target = &spec.scale_target_ref;
            (target.kind == "Deployment" && target.name == deployment).then(|| HpaSummary {
                name: h.name_any(),
                min_replicas: spec.min_replicas.unwrap_or(1),
                max_replicas: spec.max_replicas,
                current_replicas: h.status.as_ref().and_then(|s| s.current_replicas),
                desired_replicas: h.status.as_ref().map(|s| s.desired_replicas),
            })
        })
        .collect()
}

/// Summarises a Deployment; pure.
pub fn deployment_summary(deployment: &Deployment) -> DeploymentSummary {
    let spec = deployment.spec.as_ref();
    let status = deployment.status.clone().unwrap_or_default();
    let desired = spec.and_then(|s| s.replicas).unwrap_or(1);
    let generation = deployment.metadata.generation.unwrap_or(0);
    let observed_generation = status.observed_generation.unwrap_or(0);
    let current = status.replicas.unwrap_or(0);
    let updated = status.updated_replicas.unwrap_or(0);
    let ready = status.ready_replicas.unwrap_or(0);
    let available = status.available_replicas.unwrap_or(0);
    let progress_deadline_exceeded = status.conditions.iter().flatten().any(|c| {
        c.type_ == "Progressing" && c.reason.as_deref() == Some("ProgressDeadlineExceeded")
    });
    let images = spec
        .and_then(|s| s.template.spec.as_ref())
        .map(|p| {
            p.containers
                .iter()
                .filter_map(|c| c.image.clone())
                .collect()
        })
        .unwrap_or_default();
    DeploymentSummary {
        name: deployment.name_any(),
        images,
        desired,
        current,
        updated,
        ready,
        available,
        generation,
        observed_generation,
        paused: spec.and_then(|s| s.paused).unwrap_or(false),
        container_ports: template_ports(deployment),
        progress_deadline_exceeded,
        // As `kubectl rollout status` decides it.
        rollout_complete: observed_generation >= generation
            && updated == desired
            && current == desired
            && available == desired,
    }
}

/// Summarises a pod the way kubectl's STATUS, READY and RESTARTS columns do; pure.
pub fn pod_summary(pod: &Pod, now: jiff::Timestamp) -> PodSummary {
    slim_pod_summary(&SlimPod::from(pod), now)
}

/// [`pod_summary`] of a pod as the snapshot reads it from a list.
pub fn slim_pod_summary(pod: &SlimPod, now: jiff::Timestamp) -> PodSummary {
    let none = SlimPodStatus::default();
    let status = pod.status.as_ref().unwrap_or(&none);
    let phase = status
        .phase
        .clone()
        .unwrap_or_else(|| "Unknown".to_string());
    let containers = status.container_statuses.as_deref().unwrap_or_default();
    let total_containers = pod
        .spec
        .as_ref()
        .map(|s| s.containers.len())
        .unwrap_or(containers.len()) as u32;
    let ready_containers = containers.iter().filter(|c| c.ready).count() as u32;
    let restarts = containers
        .iter()
        .map(|c| c.restart_count.max(0) as u32)
        .sum();
    let last_restart = containers
        .iter()
        .filter_map(|c| {
            c.last_state
                .as_ref()?
                .terminated
                .as_ref()?
                .finished_at
                .as_ref()
        })
        .map(|t| t.0)
        .max();
    let terminating = pod.metadata.deletion_timestamp.is_some();
    let ready = status
        .conditions
        .iter()
        .flatten()
        .any(|c| c.type_ == "Ready" && c.status == "True");

    let waiting_reason = |state: &Option<SlimContainerState>| {
        state
            .as_ref()
            .and_then(|s| s.waiting.as_ref())
            .and_then(|w| w.reason.as_deref())
            .filter(|r| !r.is_empty())
            .map(str::to_string)
    };
    let mut shown = status.reason.clone().unwrap_or_else(|| phase.clone());
    for init in status.init_container_statuses.iter().flatten() {
        if let Some(waiting) = waiting_reason(&init.state) {
            if waiting != "PodInitializing" {
                shown = format!("Init:{waiting}");
            }
            break;
        }
    }
    for container in containers.iter().rev() {
        if let Some(reason) = waiting_reason(&container.state) {
            shown = reason;
            break;
        }
        if let Some(terminated) = container.state.as_ref().and_then(|s| s.terminated.as_ref()) {
            shown = terminated
                .reason
                .clone()
                .unwrap_or_else(|| format!("ExitCode:{}", terminated.exit_code));
            break;
        }
    }
    if terminating {
        shown = "Terminating".to_string();
    }

    let created = pod.metadata.creation_timestamp.as_ref().map(|t| t.0);
    PodSummary {
        name: pod.name().to_string(),
        phase,
        status: shown,
        ready,
        ready_containers,
        total_containers,
        restarts,
        last_restart,
        created: created.map(|t| t.to_string()),
        age_seconds: created.map(|c| now.as_second() - c.as_second()),
        node: pod.spec.as_ref().and_then(|s| s.node_name.clone()),
        ip: status.pod_ip.clone(),
        terminating,
        in_service: EndpointState::Absent,
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::pair::discover::tests::{deployment, labels, service};
    use crate::pair::discover::{PairSpec, identify};
    use k8s_openapi::api::apps::v1::DeploymentStatus;
    use k8s_openapi::api::core::v1::ObjectReference;
    use k8s_openapi::api::core::v1::{
        Container, ContainerState, ContainerStateWaiting, ContainerStatus, PodCondition, PodSpec,
        PodStatus,
    };
    use k8s_openapi::api::discovery::v1::{Endpoint, EndpointConditions};
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};

    pub fn now() -> jiff::Timestamp {
        "2026-01-01T12:00:00Z".parse().expect("a timestamp")
    }

    pub fn ready_deployment(name: &str, template: &[(&str, &str)], image: &str) -> Deployment {
        let mut d = deployment(name, template);
        if let Some(spec) = d.spec.as_mut() {
            spec.template.spec = Some(PodSpec {
                containers: vec![Container {
                    name: "app".into(),
                    image: Some(image.into()),
                    ..Default::default()
                }],
                ..Default::default()
            });
        }
        d.status = Some(DeploymentStatus {
            observed_generation: Some(1),
            replicas: Some(3),
            updated_replicas: Some(3),
            ready_replicas: Some(3),
            available_replicas: Some(3),
            ..Default::default()
        });
        d
    }

    pub fn pod(name: &str, pod_labels: &[(&str, &str)], ip: &str, ready: bool) -> Pod {
        Pod {
            metadata: ObjectMeta {
                name: Some(name.into()),
                labels: Some(labels(pod_labels)),
                creation_timestamp: Some(Time(
                    "2026-01-01T11:55:00Z".parse().expect("a timestamp"),
                )),
                ..Default::default()
            },
            spec: Some(PodSpec {
                containers: vec![Container {
                    name: "app".into(),
                    ..Default::default()
                }],
                node_name: Some("node-1".into()),
                ..Default::default()
            }),
            status: Some(PodStatus {
                phase: Some("Running".into()),
                pod_ip: Some(ip.into()),
                conditions: Some(vec![PodCondition {
                    type_: "Ready".into(),
                    status: if ready { "True" } else { "False" }.into(),
                    ..Default::default()
                }]),
                container_statuses: Some(vec![ContainerStatus {
                    name: "app".into(),
                    ready,
                    ..Default::default()
                }]),
                ..Default::default()
            }),
        }
    }

    /// `pod`, made by `deployment`'s ReplicaSet as the Deployment controller names it.
    pub fn owned_by(mut pod: Pod, deployment: &str) -> Pod {
        use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;
        pod.metadata
            .labels
            .get_or_insert_with(Default::default)
            .insert("pod-template-hash".into(), "5d8f".into());
        pod.metadata.owner_references = Some(vec![OwnerReference {
            api_version: "apps/v1".into(),
            kind: "ReplicaSet".into(),
            name: format!("{deployment}-5d8f"),
            uid: format!("uid-{deployment}"),
            controller: Some(true),
            ..Default::default()
        }]);
        pod
    }

    pub fn slice(service: &str, endpoints: &[(&str, &str, bool)]) -> EndpointSlice {
        EndpointSlice {
            address_type: "IPv4".into(),
            metadata: ObjectMeta {
                name: Some(format!("{service}-abc")),
                labels: Some(labels(&[("kubernetes.io/service-name", service)])),
                ..Default::default()
            },
            endpoints: endpoints
                .iter()
                .map(|(ip, pod, ready)| Endpoint {
                    addresses: vec![ip.to_string()],
                    conditions: Some(EndpointConditions {
                        ready: Some(*ready),
                        serving: Some(*ready),
                        terminating: Some(false),
                    }),
                    target_ref: Some(ObjectReference {
                        kind: Some("Pod".into()),
                        name: Some(pod.to_string()),
                        ..Default::default()
                    }),
                    ..Default::default()
                })
                .collect(),
            ports: None,
        }
    }

    /// The classic pair: blue live with 3 ready pods, green idle with 3 ready pods.
    pub fn classic() -> (Identity, PairObjects) {
        let prod = service("blueservice", &[("app", "blue")]);
        let identity = identify(&prod, "default", &PairSpec::default()).expect("a pair");
        let objects = PairObjects {
            service: prod.clone(),
            deployments: vec![
                ready_deployment(
                    "bluedeploy",
                    &[("app", "blue"), ("tier", "web")],
                    "nginx:blue",
                ),
                ready_deployment(
                    "greendeploy",
                    &[("app", "green"), ("tier", "web")],
                    "nginx:green",
                ),
            ],
            services: vec![
                prod,
                service("greenservice", &[("app", "green")]),
                service("metrics", &[("tier", "web")]),
            ],
            pods: [
                (1..=3)
                    .map(|i| {
                        pod(
                            &format!("blue-{i}"),
                            &[("app", "blue"), ("tier", "web")],
                            &format!("10.0.0.{i}"),
                            true,
                        )
                    })
                    .map(|p| owned_by(p, "bluedeploy"))
                    .map(SlimPod::from)
                    .collect(),
                (1..=3)
                    .map(|i| {
                        pod(
                            &format!("green-{i}"),
                            &[("app", "green"), ("tier", "web")],
                            &format!("10.0.1.{i}"),
                            true,
                        )
                    })
                    .map(|p| owned_by(p, "greendeploy"))
                    .map(SlimPod::from)
                    .collect(),
            ],
            endpoint_slices: vec![slice(
                "blueservice",
                &[
                    ("10.0.0.1", "blue-1", true),
                    ("10.0.0.2", "blue-2", true),
                    ("10.0.0.3", "blue-3", true),
                ],
            )],
            hpas: Some(Vec::new()),
        };
        (identity, objects)
    }

    #[test]
    fn classic_pair_snapshot() {
        let (identity, objects) = classic();
        let snap = build(&identity, "default", &objects, now()).expect("a snapshot");
        assert_eq!(snap.live_colour, "blue");
        assert_eq!(snap.idle_colour, "green");
        let [blue, green] = [&snap.colours[0], &snap.colours[1]];
        assert_eq!(blue.role, Role::Live);
        assert_eq!(green.role, Role::Idle);
        let bd = blue.deployment.as_ref().expect("blue deployment");
        assert_eq!(bd.name, "bluedeploy");
        assert_eq!(bd.images, vec!["nginx:blue"]);
        assert!(bd.rollout_complete);
        assert_eq!(green.test_services, vec!["greenservice"]);
        assert!(blue.test_services.is_empty());
        assert_eq!(blue.pods.len(), 3);
        assert!(
            blue.pods
                .iter()
                .all(|p| p.in_service == EndpointState::Ready)
        );
        assert!(
            green
                .pods
                .iter()
                .all(|p| p.in_service == EndpointState::Absent)
        );
        assert_eq!(blue.pods[0].age_seconds, Some(300));
        assert_eq!(snap.endpoints.len(), 3);
        assert!(
            snap.endpoints
                .iter()
                .all(|e| e.colour.as_deref() == Some("blue"))
        );
        assert_eq!(snap.other_services.len(), 1);
        assert_eq!(snap.other_services[0].name, "metrics");
        assert_eq!(snap.other_services[0].selects, vec!["blue", "green"]);
        assert_eq!(blue.serving_pods(), 3);
    }

    #[test]
    fn rollout_progress_follows_kubectl_rollout_status() {
        let base = ready_deployment("d", &[("app", "green")], "img");
        let complete = deployment_summary(&base);
        assert!(complete.rollout_complete);

        let mut stale = base.clone();
        stale.metadata.generation = Some(2);
        assert!(!deployment_summary(&stale).rollout_complete);

        let mut old_pods_left = base.clone();
        if let Some(s) = old_pods_left.status.as_mut() {
            s.replicas = Some(4);
        }
        assert!(!deployment_summary(&old_pods_left).rollout_complete);

        let mut unavailable = base;
        if let Some(s) = unavailable.status.as_mut() {
            s.available_replicas = Some(1);
        }
        assert!(!deployment_summary(&unavailable).rollout_complete);
    }

    #[test]
    fn crash_looping_pods_show_the_waiting_reason() {
        let mut p = pod("green-1", &[("app", "green")], "10.0.1.1", false);
        if let Some(status) = p.status.as_mut() {
            status.container_statuses = Some(vec![ContainerStatus {
                name: "app".into(),
                ready: false,
                restart_count: 4,
                state: Some(ContainerState {
                    waiting: Some(ContainerStateWaiting {
                        reason: Some("CrashLoopBackOff".into()),
                        message: None,
                    }),
                    ..Default::default()
                }),
                ..Default::default()
            }]);
        }
        let s = pod_summary(&p, now());
        assert_eq!(s.status, "CrashLoopBackOff");
        assert_eq!(s.phase, "Running");
        assert_eq!(s.restarts, 4);
        assert_eq!((s.ready_containers, s.total_containers), (0, 1));
        assert!(!s.ready);
    }

    /// The bug of a wait with its own test: a Deployment fully rolled out, every pod Ready, one
    /// restarted a minute ago. The plan waits for that; the wait must not call it ready.
    #[test]
    fn a_colour_read_by_a_wait_is_judged_as_the_plan_judges_it() {
        use crate::plan::readiness::{Blocker, readiness_blockers};
        use k8s_openapi::api::core::v1::ContainerStateTerminated;
        let d = ready_deployment("greendeploy", &[("app", "green")], "nginx:green");
        let mut restarted = pod("green-1", &[("app", "green")], "10.0.1.1", true);
        if let Some(status) = restarted.status.as_mut() {
            status.container_statuses = Some(vec![ContainerStatus {
                name: "app".into(),
                ready: true,
                restart_count: 2,
                last_state: Some(ContainerState {
                    terminated: Some(ContainerStateTerminated {
                        finished_at: Some(Time(
                            "2026-01-01T11:59:00Z".parse().expect("a timestamp"),
                        )),
                        ..Default::default()
                    }),
                    ..Default::default()
                }),
                ..Default::default()
            }]);
        }
        let pods = vec![
            restarted,
            pod("green-2", &[("app", "green")], "10.0.1.2", true),
            pod("green-3", &[("app", "green")], "10.0.1.3", true),
        ];
        let selector = labels(&[("app", "green")]);
        let seen = ColourState::observed("green", selector.clone(), Some(&d), &pods, now());
        assert_eq!(seen.serving_pods(), 3);
        let blockers = readiness_blockers(&seen, now());
        assert!(
            matches!(blockers.as_slice(), [Blocker::Restarting { pods, status, restarts: 2, .. }]
                if pods == &["green-1".to_string()] && status == "restarting"),
            "{blockers:?}"
        );
        // Ten minutes later the restart is old news: ready.
        let later: jiff::Timestamp = "2026-01-01T12:10:30Z".parse().expect("a timestamp");
        let seen = ColourState::observed("green", selector, Some(&d), &pods, later);
        assert_eq!(readiness_blockers(&seen, later), Vec::new());
        let missing = ColourState::observed("green", BTreeMap::new(), None, &[], now());
        assert_eq!(
            readiness_blockers(&missing, now()),
            vec![Blocker::Missing {
                colour: "green".into()
            }]
        );
    }

    #[test]
    fn terminating_pods_say_so() {
        let mut p = pod("blue-1", &[("app", "blue")], "10.0.0.1", true);
        p.metadata.deletion_timestamp = Some(Time(now()));
        let s = pod_summary(&p, now());
        assert_eq!(s.status, "Terminating");
        assert!(s.terminating);
    }

    #[test]
    fn a_missing_colour_is_reported_not_an_error() {
        let (identity, mut objects) = classic();
        objects
            .deployments
            .retain(|d| d.name_any() != "greendeploy");
        objects.pods[1].clear();
        let snap = build(&identity, "default", &objects, now()).expect("a snapshot");
        assert!(snap.colours[1].deployment.is_none());
        assert!(snap.colours[1].pods.is_empty());
    }

    #[test]
    fn journal_annotations_are_collected_without_prefix() {
        let (identity, mut objects) = classic();
        objects.service.metadata.annotations = Some(labels(&[
            ("bluegreen.dev/previous-colour", "green"),
            ("unrelated", "x"),
        ]));
        let snap = build(&identity, "default", &objects, now()).expect("a snapshot");
        assert_eq!(
            snap.service.journal,
            labels(&[("previous-colour", "green")])
        );
    }

    #[test]
    fn hpas_targeting_a_colour_are_attached_to_it() {
        use k8s_openapi::api::autoscaling::v2::{
            CrossVersionObjectReference, HorizontalPodAutoscalerSpec,
        };
        let (identity, mut objects) = classic();
        objects.hpas = Some(vec![HorizontalPodAutoscaler {
            metadata: ObjectMeta {
                name: Some("green-hpa".into()),
                ..Default::default()
            },
            spec: Some(HorizontalPodAutoscalerSpec {
                min_replicas: Some(2),
                max_replicas: 10,
                scale_target_ref: CrossVersionObjectReference {
                    api_version: Some("apps/v1".into()),
                    kind: "Deployment".into(),
                    name: "greendeploy".into(),
                },
                ..Default::default()
            }),
            status: None,
        }]);
        let snap = build(&identity, "default", &objects, now()).expect("a snapshot");
        assert!(snap.colours[0].hpas.is_empty());
        assert_eq!(snap.colours[1].hpas[0].name, "green-hpa");
        assert_eq!(snap.colours[1].hpas[0].min_replicas, 2);
    }
}
