//! Every pair of an [`Inventory`]: which Services are production Services, and each one's
//! [`Snapshot`], built in memory from the namespace-wide lists with the same
//! [`snapshot::build`] that `status` uses. Pure functions, so every rule is unit-tested without
//! a server.
//!
//! # Which Services are pairs
//!
//! A Service is a candidate when `status` would accept it as a production Service
//! ([`discover::identify`]: a selector, not ExternalName, one entry whose value is a colour).
//! Candidates of one namespace with the same colour key and the same selector apart from the
//! colour address the same two Deployments: they are one group, and a group is listed once,
//! under its production Service, the others being its test Services or other entry points
//! (which `status` shows). Within a group:
//!
//! 1. a Service that a journal of the namespace names as a test Service, an entry point or a
//!    Service moved along (`test-services`, `entry-points`, `moved-services`) is not a pair;
//! 2. of the rest, the Services with a journal (released by this plugin) are pairs, each one;
//! 3. with no journal in the group, one Service is the pair: the one whose name contains no
//!    colour (`shop` rather than `shop-green`), then the one selecting the first colour of
//!    `--colors` (blue, where the manual procedure starts), then the first by name.
//!
//! So the classic `blueservice` (app=blue) and `greenservice` (app=green) are one pair,
//! `blueservice`; after a promote, `blueservice`'s journal names `greenservice` as a test
//! Service, and the answer stays the same.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Service;
use k8s_openapi::api::discovery::v1::EndpointSlice;
use kube::ResourceExt;

use crate::cluster::inventory::Inventory;
use crate::cluster::read::{PairObjects, SlimPod};
use crate::error::Error;
use crate::pair::JOURNAL_PREFIX;
use crate::pair::discover::{self, Identity, PairSpec};
use crate::pair::journal;
use crate::pair::snapshot::{self, Snapshot};

/// One pair found, and its snapshot or why it could not be built (two Deployments for a
/// colour).
#[derive(Debug)]
pub struct Found {
    /// The namespace.
    pub namespace: String,
    /// The production Service understood as a pair.
    pub identity: Identity,
    /// The snapshot.
    pub snapshot: Result<Snapshot, Error>,
}

/// The production Services among `services` (any namespaces), by the rules of the module
/// documentation, each with its identity; in the order of `services`.
pub(crate) fn production_services<'a>(
    services: &'a [Service],
    spec: &PairSpec,
) -> Vec<(&'a Service, Identity)> {
    let candidates: Vec<(&Service, Identity)> = services
        .iter()
        .filter_map(|s| {
            let namespace = s.namespace().unwrap_or_default();
            discover::identify(s, &namespace, spec)
                .ok()
                .map(|identity| (s, identity))
        })
        .collect();

    // Names a journal gives to Services that are part of another pair, per namespace.
    let mut named: HashSet<(String, String)> = HashSet::new();
    for (service, _) in &candidates {
        let namespace = service.namespace().unwrap_or_default();
        for key in [
            journal::TEST_SERVICES,
            journal::ENTRY_POINTS,
            journal::MOVED_SERVICES,
        ] {
            for name in journal_list(service, key) {
                named.insert((namespace.clone(), name));
            }
        }
    }

    let mut groups: BTreeMap<(String, String, BTreeMap<String, String>), Vec<usize>> =
        BTreeMap::new();
    for (index, (service, identity)) in candidates.iter().enumerate() {
        let mut rest = identity.selector.clone();
        rest.remove(&identity.colour_label);
        let key = (
            service.namespace().unwrap_or_default(),
            identity.colour_label.clone(),
            rest,
        );
        groups.entry(key).or_default().push(index);
    }

    let mut chosen: BTreeSet<usize> = BTreeSet::new();
    for ((namespace, _, _), members) in &groups {
        let unnamed: Vec<usize> = members
            .iter()
            .copied()
            .filter(|i| !named.contains(&(namespace.clone(), candidates[*i].0.name_any())))
            .collect();
        // Services that name each other leave nothing: then all of them are considered.
        let members = if unnamed.is_empty() {
            members.clone()
        } else {
            unnamed
        };
        let released: Vec<usize> = members
            .iter()
            .copied()
            .filter(|i| has_journal(candidates[*i].0))
            .collect();
        if !released.is_empty() {
            chosen.extend(released);
            continue;
        }
        let best = members.iter().copied().min_by_key(|i| {
            let (service, identity) = &candidates[*i];
            let name = service.name_any();
            let colour_in_name = spec.colours.iter().any(|c| name.contains(c.as_str()));
            (colour_in_name, identity.live != 0, name)
        });
        chosen.extend(best);
    }
    candidates
        .into_iter()
        .enumerate()
        .filter(|(i, _)| chosen.contains(i))
        .map(|(_, found)| found)
        .collect()
}

/// The names of the production Services among `services` (any namespaces; see
/// [`production_services`]): the Services whose EndpointSlices `list` reads.
pub(crate) fn production_service_names(services: &[Service], spec: &PairSpec) -> Vec<String> {
    production_services(services, spec)
        .into_iter()
        .map(|(_, identity)| identity.service)
        .collect()
}

/// The colour keys of every Service that could be a production Service, sorted: the pods of
/// every pair carry one of them with a colour value.
pub(crate) fn colour_keys(services: &[Service], spec: &PairSpec) -> Vec<String> {
    let keys: BTreeSet<String> = services
        .iter()
        .filter_map(|s| discover::identify(s, "", spec).ok())
        .map(|identity| identity.colour_label)
        .collect();
    keys.into_iter().collect()
}

/// Whether the Service carries a journal entry of this plugin.
fn has_journal(service: &Service) -> bool {
    service.annotations().iter().any(|(key, value)| {
        !value.is_empty()
            && key
                .strip_prefix(JOURNAL_PREFIX)
                .is_some_and(|k| journal::KEYS.contains(&k))
    })
}

/// A journal entry holding a JSON list of names.
fn journal_list(service: &Service, key: &str) -> Vec<String> {
    service
        .annotations()
        .get(&format!("{JOURNAL_PREFIX}{key}"))
        .and_then(|v| serde_json::from_str::<Vec<String>>(v).ok())
        .unwrap_or_default()
}

/// Every pair of the inventory with its snapshot at `now`, sorted by namespace and Service.
/// Consumes the inventory's EndpointSlices (each belongs to one Service); the rest is borrowed
/// and copied only as far as each pair needs it.
pub(crate) fn snapshots(inventory: Inventory, spec: &PairSpec, now: jiff::Timestamp) -> Vec<Found> {
    let Inventory {
        services,
        deployments,
        pods,
        endpoint_slices,
        hpas,
    } = inventory;
    let index = Index::new(&services, &deployments, &pods);
    let mut slices = slices_by_service(endpoint_slices);
    let mut found: Vec<Found> = production_services(&services, spec)
        .into_iter()
        .map(|(service, identity)| {
            let namespace = service.namespace().unwrap_or_default();
            let objects = PairObjects {
                service: service.clone(),
                deployments: index.deployments_for(&namespace, &identity),
                services: Vec::new(),
                pods: identity
                    .colours
                    .clone()
                    .map(|c| index.pods_for(&namespace, &identity.selector_for(&c))),
                endpoint_slices: slices
                    .remove(&(namespace.clone(), identity.service.clone()))
                    .unwrap_or_default(),
                hpas: None,
            };
            let objects = PairObjects {
                services: index.services_for(&namespace, &identity, &objects),
                hpas: hpas.as_ref().map(|all| {
                    let names: Vec<String> =
                        objects.deployments.iter().map(|d| d.name_any()).collect();
                    all.iter()
                        .filter(|h| {
                            h.namespace().as_deref() == Some(namespace.as_str())
                                && h.spec.as_ref().is_some_and(|s| {
                                    s.scale_target_ref.kind == "Deployment"
                                        && names.contains(&s.scale_target_ref.name)
                                })
                        })
                        .cloned()
                        .collect()
                }),
                ..objects
            };
            Found {
                snapshot: snapshot::build(&identity, &namespace, &objects, now),
                namespace,
                identity,
            }
        })
        .collect();
    found.sort_by(|a, b| {
        (&a.namespace, &a.identity.service).cmp(&(&b.namespace, &b.identity.service))
    });
    found
}

/// Each Service's EndpointSlices, by namespace and Service name.
fn slices_by_service(slices: Vec<EndpointSlice>) -> HashMap<(String, String), Vec<EndpointSlice>> {
    let mut by_service: HashMap<(String, String), Vec<EndpointSlice>> = HashMap::new();
    for slice in slices {
        let Some(service) = slice.labels().get("kubernetes.io/service-name").cloned() else {
            continue;
        };
        by_service
            .entry((slice.namespace().unwrap_or_default(), service))
            .or_default()
            .push(slice);
    }
    by_service
}

/// Labels or a selector, as a map.
type Labels = BTreeMap<String, String>;

/// Lookups over the namespace-wide lists, so that finding a pair's objects costs what the
/// pair holds rather than what the namespace holds.
struct Index<'a> {
    /// Services by namespace, each with its effective selector.
    services: HashMap<&'a str, Vec<(&'a Service, Labels)>>,
    /// Deployments by namespace, each with its pod template labels.
    deployments: HashMap<&'a str, Vec<(&'a Deployment, Labels)>>,
    /// Pods by namespace and label (key, value).
    pods: HashMap<(&'a str, &'a str, &'a str), Vec<&'a SlimPod>>,
}

impl<'a> Index<'a> {
    fn new(services: &'a [Service], deployments: &'a [Deployment], pods: &'a [SlimPod]) -> Self {
        let mut index = Index {
            services: HashMap::new(),
            deployments: HashMap::new(),
            pods: HashMap::new(),
        };
        for s in services {
            let selector = discover::service_selector(s);
            if !selector.is_empty() {
                index
                    .services
                    .entry(s.metadata.namespace.as_deref().unwrap_or(""))
                    .or_default()
                    .push((s, selector));
            }
        }
        for d in deployments {
            index
                .deployments
                .entry(d.metadata.namespace.as_deref().unwrap_or(""))
                .or_default()
                .push((d, discover::template_labels(d)));
        }
        for p in pods {
            let namespace = p.metadata.namespace.as_deref().unwrap_or("");
            for (k, v) in p.labels() {
                index
                    .pods
                    .entry((namespace, k.as_str(), v.as_str()))
                    .or_default()
                    .push(p);
            }
        }
        index
    }

    /// The pods `selector` selects, in name order: the candidates of its rarest label, checked
    /// against the whole selector.
    fn pods_for(&self, namespace: &str, selector: &BTreeMap<String, String>) -> Vec<SlimPod> {
        let rarest = selector
            .iter()
            .map(|(k, v)| {
                self.pods
                    .get(&(namespace, k.as_str(), v.as_str()))
                    .map_or(&[][..], Vec::as_slice)
            })
            .min_by_key(|candidates| candidates.len())
            .unwrap_or(&[]);
        rarest
            .iter()
            .filter(|p| discover::selects(selector, p.labels()))
            .map(|p| (*p).clone())
            .collect()
    }

    /// The Deployments whose pod template either colour's selector selects (the snapshot picks
    /// each colour's, or reports that several match).
    fn deployments_for(&self, namespace: &str, identity: &Identity) -> Vec<Deployment> {
        let selectors = identity.colours.clone().map(|c| identity.selector_for(&c));
        self.deployments
            .get(namespace)
            .into_iter()
            .flatten()
            .filter(|(_, labels)| selectors.iter().any(|s| discover::selects(s, labels)))
            .map(|(d, _)| (*d).clone())
            .collect()
    }

    /// The Services the snapshot looks at: those with a colour's exact selector (test Services,
    /// entry points) and those selecting a pod or the pod template of either colour (other
    /// Services); the production Service itself.
    fn services_for(
        &self,
        namespace: &str,
        identity: &Identity,
        objects: &PairObjects,
    ) -> Vec<Service> {
        let selectors = identity.colours.clone().map(|c| identity.selector_for(&c));
        // Pods of one ReplicaSet share their labels: few distinct label sets to match.
        let mut label_sets: HashSet<&BTreeMap<String, String>> =
            objects.pods.iter().flatten().map(SlimPod::labels).collect();
        let templates: Vec<BTreeMap<String, String>> = objects
            .deployments
            .iter()
            .map(discover::template_labels)
            .collect();
        label_sets.extend(templates.iter());
        self.services
            .get(namespace)
            .into_iter()
            .flatten()
            .filter(|(s, selector)| {
                s.name_any() == identity.service
                    || selectors.contains(selector)
                    || label_sets.iter().any(|l| discover::selects(selector, l))
            })
            .map(|(s, _)| (*s).clone())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pair::discover::tests::{labels, service};

    fn names(services: &[Service], spec: &PairSpec) -> Vec<String> {
        production_services(services, spec)
            .iter()
            .map(|(s, _)| s.name_any())
            .collect()
    }

    fn with_journal(mut s: Service, entries: &[(&str, &str)]) -> Service {
        let full: Vec<(String, &str)> = entries
            .iter()
            .map(|(k, v)| (format!("{JOURNAL_PREFIX}{k}"), *v))
            .collect();
        let pairs: Vec<(&str, &str)> = full.iter().map(|(k, v)| (k.as_str(), *v)).collect();
        s.metadata.annotations = Some(labels(&pairs));
        s
    }

    fn in_namespace(mut s: Service, namespace: &str) -> Service {
        s.metadata.namespace = Some(namespace.into());
        s
    }

    #[test]
    fn the_classic_test_service_is_not_a_pair_of_its_own() {
        let services = vec![
            service("blueservice", &[("app", "blue")]),
            service("greenservice", &[("app", "green")]),
            service("db", &[("app", "postgres")]),
            service("headless", &[]),
        ];
        assert_eq!(names(&services, &PairSpec::default()), ["blueservice"]);
    }

    #[test]
    fn a_name_without_a_colour_is_the_production_service() {
        let services = vec![
            service("shop", &[("app", "shop"), ("color", "green")]),
            service("shop-blue", &[("app", "shop"), ("color", "blue")]),
            service("web-blue", &[("app", "web"), ("color", "blue")]),
            service("web-green", &[("app", "web"), ("color", "green")]),
        ];
        assert_eq!(names(&services, &PairSpec::default()), ["shop", "web-blue"]);
    }

    #[test]
    fn after_a_promote_the_journal_decides() {
        // blueservice was promoted to green: it and greenservice now have the same selector.
        let promoted = with_journal(
            service("blueservice", &[("app", "green")]),
            &[
                ("previous-colour", "blue"),
                ("test-services", r#"["greenservice"]"#),
            ],
        );
        let services = vec![promoted, service("greenservice", &[("app", "green")])];
        assert_eq!(names(&services, &PairSpec::default()), ["blueservice"]);

        // A Service with a journal wins over the naming rule, and two journals are two pairs.
        let services = vec![
            with_journal(
                service("web-green", &[("app", "green")]),
                &[("step", "cleanup")],
            ),
            service("web", &[("app", "blue")]),
        ];
        assert_eq!(names(&services, &PairSpec::default()), ["web-green"]);
        let services = vec![
            with_journal(service("a", &[("app", "green")]), &[("action", "promote")]),
            with_journal(service("b", &[("app", "blue")]), &[("action", "promote")]),
        ];
        assert_eq!(names(&services, &PairSpec::default()), ["a", "b"]);
    }

    #[test]
    fn groups_are_per_namespace_and_selector() {
        let services = vec![
            service("blueservice", &[("app", "blue")]),
            in_namespace(service("blueservice", &[("app", "blue")]), "staging"),
            in_namespace(service("greenservice", &[("app", "green")]), "staging"),
            service("shop", &[("app", "shop"), ("color", "blue")]),
            // Not the same Deployments: another selector apart from the colour.
            service(
                "shop-metrics",
                &[("app", "shop"), ("color", "green"), ("m", "on")],
            ),
        ];
        let found = production_services(&services, &PairSpec::default());
        let got: Vec<(String, String)> = found
            .iter()
            .map(|(s, _)| (s.namespace().unwrap_or_default(), s.name_any()))
            .collect();
        assert_eq!(
            got,
            [
                ("default".to_string(), "blueservice".to_string()),
                ("staging".to_string(), "blueservice".to_string()),
                ("default".to_string(), "shop".to_string()),
                ("default".to_string(), "shop-metrics".to_string()),
            ]
        );
    }

    #[test]
    fn custom_colours_and_label() {
        let spec = PairSpec {
            label: Some("track".into()),
            colours: ["v1".into(), "v2".into()],
            colours_given: true,
        };
        let services = vec![
            service("api", &[("app", "api"), ("track", "v2")]),
            service("api-v1", &[("app", "api"), ("track", "v1")]),
            service("blueservice", &[("app", "blue")]),
            service("other", &[("app", "v1")]),
        ];
        assert_eq!(names(&services, &spec), ["api"]);
    }

    #[test]
    fn external_name_and_ambiguous_services_are_skipped() {
        let mut alias = service("alias", &[("app", "blue")]);
        if let Some(spec) = alias.spec.as_mut() {
            spec.type_ = Some("ExternalName".into());
        }
        let services = vec![alias, service("both", &[("a", "blue"), ("b", "green")])];
        assert!(names(&services, &PairSpec::default()).is_empty());
    }

    #[test]
    fn snapshots_match_the_status_snapshot() {
        use crate::pair::snapshot::tests::{classic, now};
        let (identity, objects) = classic();
        let expected = snapshot::build(&identity, "default", &objects, now()).expect("a snapshot");
        let mut pods: Vec<SlimPod> = objects.pods.iter().flatten().cloned().collect();
        for pod in &mut pods {
            pod.metadata.namespace = Some("default".into());
        }
        let mut endpoint_slices = objects.endpoint_slices.clone();
        for slice in &mut endpoint_slices {
            slice.metadata.namespace = Some("default".into());
        }
        let inventory = Inventory {
            services: objects.services.clone(),
            deployments: objects.deployments.clone(),
            pods,
            endpoint_slices,
            hpas: objects.hpas.clone(),
        };
        let found = snapshots(inventory, &PairSpec::default(), now());
        assert_eq!(found.len(), 1);
        let got = found[0].snapshot.as_ref().expect("a snapshot");
        assert_eq!(got, &expected);
    }
}
