//! The order in which Services are offered for SERVICE: the ones that can be the production
//! Service of a blue/green pair first, recognised by the same rules as the commands use
//! ([`crate::pair::discover`]). A pure function of the listed Services.
//!
//! Order:
//! 1. Services that carry the plugin's journal: they have been promoted with it before, so they
//!    are production Services for certain.
//! 2. Other Services whose selector picks one of the colours, and that no other tool manages;
//!    those selecting the first colour before those selecting the second (before any promotion
//!    the production Service conventionally selects blue, and the test Service green).
//! 3. Every other Service, so that a typo in `--colors` does not hide anything.

use k8s_openapi::api::core::v1::Service;
use kube::ResourceExt;

use super::Candidate;
use crate::pair::JOURNAL_PREFIX;
use crate::pair::discover::{self, PairSpec};

/// Services as completion candidates, best first, with a short description each.
pub fn services(services: &[Service], namespace: &str, spec: &PairSpec) -> Vec<Candidate> {
    let mut ranked: Vec<((u8, u8), Candidate)> = services
        .iter()
        .map(|service| rank(service, namespace, spec))
        .collect();
    ranked.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.value.cmp(&b.1.value)));
    ranked.into_iter().map(|(_, candidate)| candidate).collect()
}

fn rank(service: &Service, namespace: &str, spec: &PairSpec) -> ((u8, u8), Candidate) {
    let name = service.name_any();
    let selector = discover::selector_text(&discover::service_selector(service));
    if let Some(tool) = discover::managed_by(service) {
        return ((2, 0), Candidate::new(name, format!("managed by {tool}")));
    }
    match discover::identify(service, namespace, spec) {
        Ok(identity) => {
            let journal = service
                .annotations()
                .keys()
                .any(|k| k.starts_with(JOURNAL_PREFIX));
            let tier = if journal { 0 } else { 1 };
            let mut description = format!("selects {} ({selector})", identity.live_colour());
            if journal {
                description.push_str(", released with kubectl bluegreen");
            }
            (
                (tier, identity.live as u8),
                Candidate::new(name, description),
            )
        }
        Err(_) if selector.is_empty() => ((2, 0), Candidate::new(name, "no selector")),
        Err(_) => ((2, 0), Candidate::new(name, selector)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pair::discover::tests::service;

    fn names(candidates: &[Candidate]) -> Vec<&str> {
        candidates.iter().map(|c| c.value.as_str()).collect()
    }

    #[test]
    fn pairs_come_first_and_the_first_colour_leads() {
        let listed = vec![
            service("api", &[("app", "api")]),
            service("greenservice", &[("app", "green")]),
            service("blueservice", &[("app", "blue")]),
            service("headless", &[]),
        ];
        let ranked = services(&listed, "default", &PairSpec::default());
        assert_eq!(
            names(&ranked),
            ["blueservice", "greenservice", "api", "headless"]
        );
        assert_eq!(ranked[0].description, "selects blue (app=blue)");
        assert_eq!(ranked[3].description, "no selector");
    }

    #[test]
    fn the_journal_marks_the_production_service() {
        let mut promoted = service("shop", &[("app", "shop"), ("color", "green")]);
        promoted
            .annotations_mut()
            .insert(format!("{JOURNAL_PREFIX}previous-colour"), "blue".into());
        let listed = vec![
            service("shop-blue", &[("app", "shop"), ("color", "blue")]),
            promoted,
        ];
        let ranked = services(&listed, "default", &PairSpec::default());
        assert_eq!(names(&ranked), ["shop", "shop-blue"]);
        assert_eq!(
            ranked[0].description,
            "selects green (app=shop,color=green), released with kubectl bluegreen"
        );
    }

    #[test]
    fn other_colours_and_managed_services() {
        let mut rollout = service("canary", &[("app", "v1")]);
        rollout.annotations_mut().insert(
            "argo-rollouts.argoproj.io/managed-by-rollouts".into(),
            "x".into(),
        );
        let listed = vec![rollout, service("web", &[("app", "v2")])];
        let spec = PairSpec {
            label: None,
            colours: ["v1".into(), "v2".into()],
            colours_given: true,
        };
        let ranked = services(&listed, "default", &spec);
        assert_eq!(names(&ranked), ["web", "canary"]);
        assert_eq!(ranked[1].description, "managed by Argo Rollouts");
        // With the default colours neither looks like a pair: plain name order.
        let plain = services(&listed, "default", &PairSpec::default());
        assert_eq!(names(&plain), ["canary", "web"]);
    }
}
