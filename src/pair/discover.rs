//! Finding the pair from the production Service, as docs/design.md ("The pair") defines it. Pure
//! functions of API objects, so every rule is unit-tested without a server.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Service;
use kube::ResourceExt;

use crate::error::{Error, Result};

/// Selector keys that pin one ReplicaSet: a Service using them is driven by a rollout tool.
const HASH_KEYS: &[(&str, &str)] = &[
    ("rollouts-pod-template-hash", "Argo Rollouts"),
    (
        "pod-template-hash",
        "a tool that pins a ReplicaSet (pod-template-hash)",
    ),
];

/// Annotation prefixes written by tools that manage a Service's selector themselves.
const MANAGER_ANNOTATIONS: &[(&str, &str)] = &[
    ("argo-rollouts.argoproj.io/", "Argo Rollouts"),
    ("rollouts.argoproj.io/", "Argo Rollouts"),
];

/// How the user asked to recognise the colours (`--label`, `--colors`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PairSpec {
    /// The colour key, if named.
    pub label: Option<String>,
    /// The two colours, in display order.
    pub colours: [String; 2],
    /// `--colors` was given: otherwise the colours the journal recorded win over the default.
    pub colours_given: bool,
}

impl Default for PairSpec {
    fn default() -> Self {
        PairSpec {
            label: None,
            colours: ["blue".to_string(), "green".to_string()],
            colours_given: false,
        }
    }
}

impl PairSpec {
    /// The spec with what the Service's journal recorded at its first release (`colour-label`,
    /// `colours`) filling in what the flags left out. A flag that disagrees with the record is
    /// an error: the release commands would otherwise see another pair than the one recorded.
    pub fn with_recorded(&self, service: &Service) -> Result<PairSpec> {
        let annotations = service.annotations();
        let recorded =
            |key: &str| annotations.get(&format!("{}{key}", crate::pair::JOURNAL_PREFIX));
        let label = recorded(crate::pair::journal::COLOUR_LABEL).cloned();
        let colours = recorded(crate::pair::journal::COLOURS)
            .and_then(|v| serde_json::from_str::<[String; 2]>(v).ok());
        let mut spec = self.clone();
        let name = service.name_any();
        if let (Some(given), Some(label)) = (&self.label, &label)
            && given != label
        {
            return Err(Error::RecordedPairMismatch {
                service: name,
                flag: format!("--label {given}"),
                recorded: format!("colour key {label}"),
            });
        }
        if let Some(colours) = colours {
            let same = |a: &[String; 2], b: &[String; 2]| {
                (a[0] == b[0] && a[1] == b[1]) || (a[0] == b[1] && a[1] == b[0])
            };
            if self.colours_given && !same(&self.colours, &colours) {
                return Err(Error::RecordedPairMismatch {
                    service: name,
                    flag: format!("--colors {},{}", self.colours[0], self.colours[1]),
                    recorded: format!("colours {},{}", colours[0], colours[1]),
                });
            }
            if !self.colours_given {
                spec.colours = colours;
            }
        }
        if spec.label.is_none() {
            spec.label = label;
        }
        Ok(spec)
    }
}

/// The production Service understood as a pair: which selector key carries the colour and which
/// colour is live.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// The production Service's name.
    pub service: String,
    /// Its full selector.
    pub selector: BTreeMap<String, String>,
    /// The selector key that carries the colour.
    pub colour_label: String,
    /// The two colours, in display order.
    pub colours: [String; 2],
    /// Index into `colours` of the live colour.
    pub live: usize,
}

impl Identity {
    /// The live colour.
    pub fn live_colour(&self) -> &str {
        &self.colours[self.live]
    }

    /// The idle colour.
    pub fn idle_colour(&self) -> &str {
        &self.colours[1 - self.live]
    }

    /// The production selector with the colour key set to `colour`.
    pub fn selector_for(&self, colour: &str) -> BTreeMap<String, String> {
        let mut selector = self.selector.clone();
        selector.insert(self.colour_label.clone(), colour.to_string());
        selector
    }

    /// The same, as a server-side label selector (`app=shop,color=blue`).
    pub fn label_selector_for(&self, colour: &str) -> String {
        selector_text(&self.selector_for(colour))
    }
}

/// `k=v,k=v`, in key order.
pub fn selector_text(selector: &BTreeMap<String, String>) -> String {
    selector
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(",")
}

/// Whether `selector` (non-empty) selects an object with `labels`.
pub fn selects(selector: &BTreeMap<String, String>, labels: &BTreeMap<String, String>) -> bool {
    !selector.is_empty() && selector.iter().all(|(k, v)| labels.get(k) == Some(v))
}

/// A Service's selector as Kubernetes applies it; empty when it has none, and for an
/// ExternalName Service, whose selector Kubernetes ignores (it keeps no endpoints for it).
pub fn service_selector(service: &Service) -> BTreeMap<String, String> {
    service
        .spec
        .as_ref()
        .filter(|s| s.type_.as_deref() != Some("ExternalName"))
        .and_then(|s| s.selector.clone())
        .unwrap_or_default()
}

/// Reads the colour key and the live colour from the production Service's selector.
pub fn identify(service: &Service, namespace: &str, spec: &PairSpec) -> Result<Identity> {
    let spec = &spec.with_recorded(service)?;
    let name = service.name_any();
    let spec_of = service.spec.as_ref();
    if spec_of.and_then(|s| s.type_.as_deref()) == Some("ExternalName") {
        // An alias to a DNS name: Kubernetes keeps no endpoints for it even when a selector is
        // set, so flipping a selector would move no traffic.
        return Err(Error::ExternalName {
            service: name,
            namespace: namespace.to_string(),
            external_name: spec_of
                .and_then(|s| s.external_name.clone())
                .unwrap_or_default(),
        });
    }
    let selector = service_selector(service);
    if selector.is_empty() {
        return Err(Error::NoSelector {
            service: name,
            namespace: namespace.to_string(),
        });
    }
    let colour_index = |value: &str| spec.colours.iter().position(|c| c == value);
    let (colour_label, live) = match &spec.label {
        Some(key) => match selector.get(key) {
            None => {
                return Err(Error::LabelMismatch {
                    service: name,
                    selector: selector_text(&selector),
                    problem: format!("it has no key {key:?}"),
                    colours: spec.colours.clone(),
                });
            }
            Some(value) => match colour_index(value) {
                Some(index) => (key.clone(), index),
                None => {
                    return Err(Error::LabelMismatch {
                        service: name,
                        selector: selector_text(&selector),
                        problem: format!("{key}={value} is not one of the colours"),
                        colours: spec.colours.clone(),
                    });
                }
            },
        },
        None => {
            let mut found = selector
                .iter()
                .filter_map(|(k, v)| colour_index(v).map(|i| (k.clone(), i)));
            match (found.next(), found.next()) {
                (Some(one), None) => one,
                (None, _) => {
                    return Err(Error::NoColour {
                        service: name,
                        selector: selector_text(&selector),
                        colours: spec.colours.clone(),
                    });
                }
                (Some(_), Some(_)) => {
                    return Err(Error::AmbiguousColour {
                        service: name,
                        selector: selector_text(&selector),
                        keys: selector
                            .iter()
                            .filter(|(_, v)| colour_index(v).is_some())
                            .map(|(k, _)| k.clone())
                            .collect(),
                    });
                }
            }
        }
    };
    Ok(Identity {
        service: name,
        selector,
        colour_label,
        colours: spec.colours.clone(),
        live,
    })
}

/// A Deployment's pod template labels.
pub fn template_labels(deployment: &Deployment) -> BTreeMap<String, String> {
    deployment
        .spec
        .as_ref()
        .and_then(|s| s.template.metadata.as_ref())
        .and_then(|m| m.labels.clone())
        .unwrap_or_default()
}

/// Whether two Deployments run the same pod template apart from the colour label (and the
/// `pod-template-hash` a controller may add): then promoting from one to the other would move
/// traffic without changing the version.
pub fn same_template(colour_label: &str, a: &Deployment, b: &Deployment) -> bool {
    let normalised = |d: &Deployment| {
        let mut template = d.spec.as_ref().map(|s| s.template.clone());
        if let Some(labels) = template
            .as_mut()
            .and_then(|t| t.metadata.as_mut())
            .and_then(|m| m.labels.as_mut())
        {
            labels.remove(colour_label);
            labels.remove("pod-template-hash");
        }
        serde_json::to_value(template).ok()
    };
    let (a, b) = (normalised(a), normalised(b));
    a.is_some() && a == b
}

/// The colour's Deployment: the one whose pod template carries the colour's selector. `None`
/// when the colour is missing; an error when several match.
pub fn deployment_for<'a>(
    identity: &Identity,
    colour: &str,
    deployments: &'a [Deployment],
) -> Result<Option<&'a Deployment>> {
    let selector = identity.selector_for(colour);
    let matching: Vec<&Deployment> = deployments
        .iter()
        .filter(|d| selects(&selector, &template_labels(d)))
        .collect();
    match matching.as_slice() {
        [] => Ok(None),
        [one] => Ok(Some(one)),
        many => Err(Error::DuplicateDeployments {
            colour: colour.to_string(),
            selector: selector_text(&selector),
            deployments: many.iter().map(|d| d.name_any()).collect(),
        }),
    }
}

/// The colour's test Services: other Services whose selector equals the colour's selector.
pub fn test_services<'a>(
    identity: &Identity,
    colour: &str,
    services: &'a [Service],
) -> Vec<&'a Service> {
    let selector = identity.selector_for(colour);
    services
        .iter()
        .filter(|s| s.name_any() != identity.service && service_selector(s) == selector)
        .collect()
}

/// Who else manages this Service's selector, if anyone.
pub fn managed_by(service: &Service) -> Option<String> {
    let annotations = service.annotations();
    for (prefix, tool) in MANAGER_ANNOTATIONS {
        if annotations.keys().any(|k| k.starts_with(prefix)) {
            return Some(tool.to_string());
        }
    }
    let selector = service_selector(service);
    HASH_KEYS
        .iter()
        .find(|(key, _)| selector.contains_key(*key))
        .map(|(_, tool)| tool.to_string())
}

/// Suggestions when the named Service does not exist: the Services that look like one side
/// of a pair (a selector value is one of the colours), the one whose name is close to `asked`
/// first and apart.
pub fn suggestions(
    asked: &str,
    services: &[Service],
    colours: &[String; 2],
) -> (Option<String>, Vec<String>) {
    let mut candidates: Vec<(f64, String)> = services
        .iter()
        .filter(|s| service_selector(s).values().any(|v| colours.contains(v)))
        .map(|s| {
            let name = s.name_any();
            (strsim::normalized_damerau_levenshtein(asked, &name), name)
        })
        .collect();
    candidates.sort_by(|a, b| b.0.total_cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
    let closest = candidates
        .first()
        .filter(|(similarity, _)| *similarity >= 0.5)
        .map(|(_, name)| name.clone());
    let others = candidates
        .into_iter()
        .map(|(_, name)| name)
        .filter(|name| Some(name) != closest.as_ref())
        .collect();
    (closest, others)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use k8s_openapi::api::apps::v1::DeploymentSpec;
    use k8s_openapi::api::core::v1::{PodTemplateSpec, ServiceSpec};
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};

    pub fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    pub fn service(name: &str, selector: &[(&str, &str)]) -> Service {
        Service {
            metadata: ObjectMeta {
                name: Some(name.into()),
                namespace: Some("default".into()),
                ..Default::default()
            },
            spec: Some(ServiceSpec {
                selector: (!selector.is_empty()).then(|| labels(selector)),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    pub fn deployment(name: &str, template: &[(&str, &str)]) -> Deployment {
        Deployment {
            metadata: ObjectMeta {
                name: Some(name.into()),
                namespace: Some("default".into()),
                generation: Some(1),
                ..Default::default()
            },
            spec: Some(DeploymentSpec {
                replicas: Some(3),
                selector: LabelSelector {
                    match_labels: Some(labels(template)),
                    ..Default::default()
                },
                template: PodTemplateSpec {
                    metadata: Some(ObjectMeta {
                        labels: Some(labels(template)),
                        ..Default::default()
                    }),
                    spec: None,
                },
                ..Default::default()
            }),
            status: None,
        }
    }

    fn spec() -> PairSpec {
        PairSpec::default()
    }

    #[test]
    fn the_colour_key_is_the_selector_entry_holding_a_colour() {
        let id = identify(
            &service("shop", &[("app", "shop"), ("color", "green")]),
            "default",
            &spec(),
        )
        .expect("a pair");
        assert_eq!(id.colour_label, "color");
        assert_eq!(id.live_colour(), "green");
        assert_eq!(id.idle_colour(), "blue");
        assert_eq!(id.label_selector_for("blue"), "app=shop,color=blue");
    }

    #[derive(Debug)]
    enum Expect {
        Pair(&'static str, &'static str),
        NoSelector,
        NoColour,
        Ambiguous,
        Mismatch,
    }

    #[test]
    fn the_recorded_colours_are_used_without_flags_and_a_disagreeing_flag_is_refused() {
        let mut svc = service("shop", &[("app", "shop"), ("track", "v2")]);
        svc.metadata.annotations = Some(
            [
                (
                    "bluegreen.dev/colour-label".to_string(),
                    "track".to_string(),
                ),
                (
                    "bluegreen.dev/colours".to_string(),
                    "[\"v1\",\"v2\"]".to_string(),
                ),
            ]
            .into(),
        );
        let identity = identify(&svc, "default", &PairSpec::default()).expect("recorded");
        assert_eq!(identity.colour_label, "track");
        assert_eq!(identity.colours, ["v1".to_string(), "v2".to_string()]);
        assert_eq!(identity.live_colour(), "v2");
        let same = PairSpec {
            colours: ["v2".into(), "v1".into()],
            colours_given: true,
            ..PairSpec::default()
        };
        assert_eq!(
            identify(&svc, "default", &same)
                .expect("agrees")
                .live_colour(),
            "v2"
        );
        let other = PairSpec {
            colours_given: true,
            ..PairSpec::default()
        };
        let err = identify(&svc, "default", &other).expect_err("disagrees");
        assert!(
            err.to_string().contains("--colors blue,green disagrees"),
            "{err}"
        );
        let label = PairSpec {
            label: Some("app".into()),
            ..PairSpec::default()
        };
        assert!(identify(&svc, "default", &label).is_err());
    }

    #[test]
    fn identification_rules() {
        use Expect::*;
        let custom = PairSpec {
            label: Some("track".into()),
            colours: ["v1".into(), "v2".into()],
            colours_given: true,
        };
        let by_label = PairSpec {
            label: Some("b".into()),
            ..spec()
        };
        let cases = [
            (
                "classic",
                service("s", &[("app", "blue")]),
                spec(),
                Pair("app", "blue"),
            ),
            ("no selector", service("s", &[]), spec(), NoSelector),
            (
                "no colour",
                service("s", &[("app", "web")]),
                spec(),
                NoColour,
            ),
            (
                "two colour keys",
                service("s", &[("a", "blue"), ("b", "green")]),
                spec(),
                Ambiguous,
            ),
            (
                "custom label and colours",
                service("s", &[("app", "web"), ("track", "v2")]),
                custom.clone(),
                Pair("track", "v2"),
            ),
            (
                "label absent",
                service("s", &[("app", "v1")]),
                custom.clone(),
                Mismatch,
            ),
            (
                "label value not a colour",
                service("s", &[("track", "blue")]),
                custom,
                Mismatch,
            ),
            (
                "label disambiguates",
                service("s", &[("a", "blue"), ("b", "green")]),
                by_label,
                Pair("b", "green"),
            ),
        ];
        for (name, svc, spec, expected) in cases {
            let got = identify(&svc, "default", &spec);
            match (&got, &expected) {
                (Ok(id), Pair(key, live)) => {
                    assert_eq!(id.colour_label, *key, "{name}");
                    assert_eq!(id.live_colour(), *live, "{name}");
                }
                (Err(Error::NoSelector { .. }), NoSelector)
                | (Err(Error::NoColour { .. }), NoColour)
                | (Err(Error::AmbiguousColour { .. }), Ambiguous)
                | (Err(Error::LabelMismatch { .. }), Mismatch) => {
                    assert_eq!(got.err().map(|e| e.exit_code()), Some(4), "{name}");
                }
                _ => panic!("{name}: got {got:?}, expected {expected:?}"),
            }
        }
    }

    #[test]
    fn a_colours_deployment_carries_the_whole_selector_in_its_template() {
        let id = identify(
            &service("shop", &[("app", "shop"), ("color", "blue")]),
            "default",
            &spec(),
        )
        .expect("a pair");
        let deployments = vec![
            deployment(
                "shop-blue",
                &[("app", "shop"), ("color", "blue"), ("tier", "web")],
            ),
            deployment("other-green", &[("app", "other"), ("color", "green")]),
            deployment("shop-green", &[("app", "shop"), ("color", "green")]),
        ];
        let blue = deployment_for(&id, "blue", &deployments).expect("one");
        assert_eq!(blue.map(|d| d.name_any()).as_deref(), Some("shop-blue"));
        let green = deployment_for(&id, "green", &deployments).expect("one");
        assert_eq!(green.map(|d| d.name_any()).as_deref(), Some("shop-green"));

        let missing = deployment_for(&id, "green", &deployments[..2]).expect("no error");
        assert!(missing.is_none());

        let twice = vec![
            deployment("shop-green", &[("app", "shop"), ("color", "green")]),
            deployment("shop-green-2", &[("app", "shop"), ("color", "green")]),
        ];
        match deployment_for(&id, "green", &twice) {
            Err(Error::DuplicateDeployments { deployments, .. }) => {
                assert_eq!(deployments, vec!["shop-green", "shop-green-2"]);
            }
            other => panic!("expected duplicates, got {other:?}"),
        }
    }

    #[test]
    fn test_services_select_exactly_the_colour() {
        let id = identify(
            &service("blueservice", &[("app", "blue")]),
            "default",
            &spec(),
        )
        .expect("a pair");
        let services = vec![
            service("blueservice", &[("app", "blue")]),
            service("greenservice", &[("app", "green")]),
            service("green-metrics", &[("app", "green"), ("metrics", "on")]),
            service("headless", &[]),
        ];
        let names: Vec<String> = test_services(&id, "green", &services)
            .iter()
            .map(|s| s.name_any())
            .collect();
        assert_eq!(names, vec!["greenservice"]);
        assert!(test_services(&id, "blue", &services).is_empty());
    }

    #[test]
    fn services_driven_by_rollout_tools_are_recognised() {
        let mut argo = service("web", &[("app", "blue")]);
        argo.metadata.annotations = Some(labels(&[(
            "argo-rollouts.argoproj.io/managed-by-rollouts",
            "web",
        )]));
        assert_eq!(managed_by(&argo).as_deref(), Some("Argo Rollouts"));
        let hashed = service(
            "web",
            &[("app", "blue"), ("rollouts-pod-template-hash", "abc")],
        );
        assert_eq!(managed_by(&hashed).as_deref(), Some("Argo Rollouts"));
        assert!(managed_by(&service("web", &[("app", "blue")])).is_none());
    }

    /// Deliberately naive: walk the label list for every selector entry. A Service without a
    /// selector selects nothing (its endpoints are managed by hand), so neither does an empty
    /// selector here.
    fn reference_selects(selector: &[(String, String)], labels: &[(String, String)]) -> bool {
        if selector.is_empty() {
            return false;
        }
        for (key, value) in selector {
            let mut found = false;
            for (label_key, label_value) in labels {
                if label_key == key && label_value == value {
                    found = true;
                }
            }
            if !found {
                return false;
            }
        }
        true
    }

    fn label_map() -> impl proptest::strategy::Strategy<Value = BTreeMap<String, String>> {
        use proptest::prelude::*;
        // Few keys and values, so selectors and labels often overlap; empty values are valid
        // label values, and prefixed keys are ordinary keys.
        let key = prop::sample::select(vec!["app", "color", "tier", "bluegreen.dev/track", "a"]);
        let value = prop::sample::select(vec!["blue", "green", "", "web", "v1.2-x"]);
        prop::collection::btree_map(
            key.prop_map(str::to_string),
            value.prop_map(str::to_string),
            0..5,
        )
    }

    proptest::proptest! {
        #![proptest_config(proptest::test_runner::Config { cases: 2000, ..Default::default() })]

        #[test]
        fn selector_matching_agrees_with_the_reference(
            selector in label_map(),
            labels in label_map(),
            extra in label_map(),
        ) {
            let as_list = |m: &BTreeMap<String, String>| -> Vec<(String, String)> {
                m.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
            };
            proptest::prop_assert_eq!(
                selects(&selector, &labels),
                reference_selects(&as_list(&selector), &as_list(&labels))
            );
            // An object carrying the selector's labels, plus any others, is selected.
            let mut carrying = extra.clone();
            carrying.extend(selector.clone());
            proptest::prop_assert_eq!(selects(&selector, &carrying), !selector.is_empty());
            // The production selector with a colour selects exactly what the reference does.
            let mut coloured = selector.clone();
            coloured.insert("color".into(), "green".into());
            proptest::prop_assert_eq!(
                selects(&coloured, &labels),
                reference_selects(&as_list(&coloured), &as_list(&labels))
            );
        }
    }

    #[test]
    fn an_external_name_service_is_not_a_pair_even_with_a_selector() {
        let mut alias = service("db", &[("app", "blue")]);
        if let Some(spec) = alias.spec.as_mut() {
            spec.type_ = Some("ExternalName".into());
            spec.external_name = Some("db.example.com".into());
        }
        match identify(&alias, "default", &spec()) {
            Err(e @ Error::ExternalName { .. }) => {
                assert_eq!(e.exit_code(), 4);
                assert!(e.to_string().contains("db.example.com"), "{e}");
            }
            other => panic!("expected ExternalName, got {other:?}"),
        }
        let mut headless = service("web", &[("app", "blue")]);
        if let Some(spec) = headless.spec.as_mut() {
            spec.cluster_ip = Some("None".into());
        }
        assert!(identify(&headless, "default", &spec()).is_ok());

        // Nor is it a test Service: it selects no pods, and cleanup must never delete it.
        let id = identify(&service("web", &[("app", "blue")]), "default", &spec()).expect("a pair");
        let services = vec![alias, service("blue-test", &[("app", "blue")])];
        let names: Vec<String> = test_services(&id, "blue", &services)
            .iter()
            .map(|s| s.name_any())
            .collect();
        assert_eq!(names, vec!["blue-test"]);
    }

    #[test]
    fn same_template_ignores_only_the_colour_and_the_template_hash() {
        let blue = deployment("b", &[("app", "blue"), ("tier", "web")]);
        let green = deployment(
            "g",
            &[
                ("app", "green"),
                ("tier", "web"),
                ("pod-template-hash", "x"),
            ],
        );
        assert!(same_template("app", &blue, &green));
        let other = deployment("g", &[("app", "green"), ("tier", "api")]);
        assert!(!same_template("app", &blue, &other));
        assert!(!same_template("tier", &blue, &green));
    }

    #[test]
    fn suggestions_are_services_that_look_like_pairs() {
        let services = vec![
            service("blueservice", &[("app", "blue")]),
            service("db", &[("app", "postgres")]),
            service("greenservice", &[("app", "green")]),
        ];
        let colours = spec().colours;
        assert_eq!(
            suggestions("bluesvc", &services, &colours),
            (Some("blueservice".into()), vec!["greenservice".into()])
        );
        assert_eq!(
            suggestions("zzz", &services, &colours),
            (None, vec!["blueservice".into(), "greenservice".into()])
        );
    }
}
