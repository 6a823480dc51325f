//! Waiting with watches: for a colour to be ready to take traffic, for the production Service's
//! EndpointSlices to hold the new colour (the streams of changes are in [`crate::cluster::watch`]).

use std::collections::{BTreeMap, HashSet};
use std::pin::Pin;

use futures::{FutureExt, Stream, StreamExt};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Pod, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use kube::ResourceExt;
use kube::api::Api;
use kube::runtime::{WatchStreamExt, watcher};

use crate::cluster::Connection;
use crate::error::{Error, Result};
use crate::pair::discover::{selector_text, service_selector};
use crate::pair::snapshot::{ColourState, pod_summary};
use crate::plan::readiness::{Blocker, readiness_blockers};
use crate::progress::{Deadline, Progress};

/// What a colour's readiness is now, read from the cluster: Deployment `deployment` and the
/// pods `selector` matches, judged by [`readiness_blockers`], the one test the plan, the
/// verdict and every wait share. Empty: ready to take traffic.
pub async fn colour_readiness(
    conn: &Connection,
    colour: &str,
    deployment: &str,
    selector: &BTreeMap<String, String>,
) -> Result<Vec<Blocker>> {
    let found = conn.get_opt::<Deployment>(deployment).await?;
    let pods = conn.list::<Pod>(Some(&selector_text(selector))).await?;
    let now = jiff::Timestamp::now();
    let state = ColourState::observed(colour, selector.clone(), found.as_ref(), &pods, now);
    Ok(readiness_blockers(&state, now))
}

/// Waits until `colour` is ready: `first` is what was seen already (a state and, while not
/// ready, why not); `probe` looks again after each change `changes` yields. `Ok(state)` once
/// ready, `Err(state)` with the last state when the deadline passes first. Every wait for a
/// colour goes through here, with its probe judging by [`readiness_blockers`].
pub async fn until_ready<T>(
    changes: &mut (impl Stream<Item = ()> + Unpin),
    colour: &str,
    first: (T, Option<String>),
    deadline: Deadline,
    progress: &mut Progress,
    mut probe: impl AsyncFnMut() -> Result<(T, Option<String>)>,
) -> Result<std::result::Result<T, T>> {
    let (mut state, mut why) = first;
    while let Some(not_ready) = &why {
        progress.update(&format!(
            "waiting for {colour} to become ready: {not_ready}{}",
            deadline.describe()
        ));
        tokio::select! {
            () = deadline.wait() => {
                progress.done(&format!("gave up waiting for {colour}: {not_ready}"));
                return Ok(Err(state));
            }
            next = changes.next() => if next.is_none() {
                return Err(Error::Internal("the watch ended".into()));
            },
        }
        // Fold the changes already queued into this look, but do not wait for more: what
        // follows the last pod becoming Ready should come one read later, not an interval.
        while let Some(Some(())) = changes.next().now_or_never() {}
        (state, why) = probe().await?;
    }
    progress.done(&format!("{colour} is ready"));
    Ok(Ok(state))
}

/// Who is who in the endpoints while verifying a flip.
#[derive(Debug, Clone, Default)]
pub struct Expectation {
    /// The colour traffic moves to.
    pub colour: String,
    /// The colour traffic leaves.
    pub previous: String,
    /// How many ready addresses of the new colour are needed, on every port.
    pub ready_needed: usize,
    /// Pod names of the old colour.
    pub old_pods: HashSet<String>,
    /// Pod IPs of the old colour.
    pub old_ips: HashSet<String>,
    /// The Service's port names (EndpointSlices name their ports after them; `""` for a single
    /// unnamed port). Empty: the Service has no ports, and addresses are counted as a whole.
    pub ports: Vec<String>,
}

/// What the EndpointSlices hold, against an expectation.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Tally {
    /// Ready addresses that are not the old colour's, on the port that has fewest of them.
    pub new_ready: usize,
    /// Ready addresses that are not the old colour's, whatever ports their slices carry.
    pub new_anywhere: usize,
    /// Addresses (any state) of the old colour.
    pub old: usize,
    /// Service ports no ready address of the new colour serves.
    pub dead_ports: Vec<String>,
}

impl Expectation {
    /// Counts one set of slices; pure. An address counts for a port only in a slice that
    /// carries that port: the EndpointSlice controller puts a pod that lacks a named port in a
    /// slice without it, and kube-proxy then has nowhere to send that port's traffic.
    pub fn tally<'a>(&self, slices: impl Iterator<Item = &'a EndpointSlice>) -> Tally {
        let mut tally = Tally::default();
        let mut seen = HashSet::new();
        let mut per_port: BTreeMap<&str, HashSet<String>> = self
            .ports
            .iter()
            .map(|p| (p.as_str(), HashSet::new()))
            .collect();
        for slice in slices {
            let carried: Vec<&str> = slice
                .ports
                .iter()
                .flatten()
                .filter(|p| p.port.is_some())
                .map(|p| p.name.as_deref().unwrap_or(""))
                .collect();
            for endpoint in &slice.endpoints {
                let pod = endpoint.target_ref.as_ref().and_then(|r| r.name.clone());
                let Some(ip) = endpoint.addresses.first() else {
                    continue;
                };
                let is_old = pod.as_ref().is_some_and(|p| self.old_pods.contains(p))
                    || self.old_ips.contains(ip);
                let conditions = endpoint.conditions.clone().unwrap_or_default();
                let ready =
                    conditions.ready.unwrap_or(true) && !conditions.terminating.unwrap_or(false);
                let first = seen.insert(ip.clone());
                if is_old {
                    if first {
                        tally.old += 1;
                    }
                    continue;
                }
                if !ready {
                    continue;
                }
                if first {
                    tally.new_anywhere += 1;
                }
                for port in &carried {
                    if let Some(ips) = per_port.get_mut(port) {
                        ips.insert(ip.clone());
                    }
                }
            }
        }
        if self.ports.is_empty() {
            tally.new_ready = tally.new_anywhere;
        } else {
            tally.new_ready = per_port.values().map(HashSet::len).min().unwrap_or(0);
            tally.dead_ports = per_port
                .iter()
                .filter(|(_, ips)| ips.is_empty())
                .map(|(port, _)| port.to_string())
                .collect();
        }
        tally
    }

    /// Whether the flip is complete: every port has the new colour's ready pods, and no old
    /// pod is left.
    pub fn met(&self, tally: &Tally) -> bool {
        tally.old == 0 && tally.new_ready >= self.ready_needed.max(1)
    }

    /// Why waiting longer cannot help: the old pods are gone and the new ones are in the
    /// endpoints, but without a port the Service targets. `None` while it still may.
    pub fn hopeless(&self, service: &str, tally: &Tally) -> Option<String> {
        (tally.old == 0 && tally.new_anywhere >= self.ready_needed.max(1) && !tally.dead_ports.is_empty())
            .then(|| {
                let ports: Vec<String> = tally
                    .dead_ports
                    .iter()
                    .map(|p| if p.is_empty() { "(unnamed)".to_string() } else { p.clone() })
                    .collect();
                format!(
                    "{service} has no ready endpoint for port {}: {}'s pods are in its EndpointSlices without that port (their containers do not declare the port the Service targets)",
                    ports.join(", "),
                    self.colour
                )
            })
    }

    /// The state in words.
    pub fn describe(&self, service: &str, tally: &Tally) -> String {
        let per_port = if self.ports.len() > 1 {
            " on every port"
        } else {
            ""
        };
        format!(
            "{service}'s endpoints hold {}/{} ready {} pod(s){per_port} and {} {} pod(s)",
            tally.new_ready,
            self.ready_needed.max(1),
            self.colour,
            tally.old,
            self.previous
        )
    }
}

/// Builds the expectation from the pods of both colours as they are now.
pub async fn expectation(
    conn: &Connection,
    colour: &str,
    previous: &str,
    new_selector: &str,
    old_selector: &str,
    ports: Vec<String>,
) -> Result<Expectation> {
    let (new_pods, old_pods) = tokio::try_join!(
        conn.list::<Pod>(Some(new_selector)),
        conn.list::<Pod>(Some(old_selector)),
    )?;
    let now = jiff::Timestamp::now();
    let ready_needed = new_pods
        .iter()
        .map(|p| pod_summary(p, now))
        .filter(|p| p.ready && !p.terminating)
        .count();
    Ok(Expectation {
        colour: colour.to_string(),
        previous: previous.to_string(),
        ready_needed,
        old_pods: old_pods.iter().map(|p| p.name_any()).collect(),
        old_ips: old_pods
            .iter()
            .filter_map(|p| p.status.as_ref().and_then(|s| s.pod_ip.clone()))
            .collect(),
        ports,
    })
}

/// The Service's EndpointSlices, whole, once listed and again after every change. Watch
/// errors are retried with backoff.
fn slice_sets(
    conn: &Connection,
    service: &str,
) -> Pin<Box<dyn Stream<Item = Vec<EndpointSlice>> + Send>> {
    let api: Api<EndpointSlice> = Api::namespaced(conn.client.clone(), &conn.target.namespace);
    let config =
        watcher::Config::default().labels(&format!("kubernetes.io/service-name={service}"));
    let events = watcher(api, config).default_backoff();
    let state = (
        BTreeMap::<String, EndpointSlice>::new(),
        BTreeMap::<String, EndpointSlice>::new(),
        false,
    );
    Box::pin(
        events
            .scan(state, |(slices, buffer, listed), event| {
                let mut changed = true;
                match event {
                    Err(e) => {
                        tracing::debug!(error = %e, "EndpointSlice watch failed; retrying");
                        changed = false;
                    }
                    Ok(watcher::Event::Init) => {
                        buffer.clear();
                        changed = false;
                    }
                    Ok(watcher::Event::InitApply(s)) => {
                        buffer.insert(s.name_any(), s);
                        changed = false;
                    }
                    Ok(watcher::Event::InitDone) => {
                        *slices = std::mem::take(buffer);
                        *listed = true;
                    }
                    Ok(watcher::Event::Apply(s)) => {
                        slices.insert(s.name_any(), s);
                    }
                    Ok(watcher::Event::Delete(s)) => {
                        slices.remove(&s.name_any());
                    }
                }
                let out =
                    (changed && *listed).then(|| slices.values().cloned().collect::<Vec<_>>());
                futures::future::ready(Some(out))
            })
            .filter_map(futures::future::ready),
    )
}

/// Watches the Service's EndpointSlices until they meet `expect`. `Err(detail)` when the
/// deadline passes first, or as soon as waiting cannot help (a port left with no endpoint).
pub async fn endpoints_moved(
    conn: &Connection,
    service: &str,
    expect: &Expectation,
    deadline: Deadline,
    progress: &mut Progress,
) -> Result<std::result::Result<(), String>> {
    let mut sets = slice_sets(conn, service);
    let mut tally: Option<Tally> = None;
    loop {
        if let Some(tally) = &tally {
            if expect.met(tally) {
                progress.done(&format!("verified: {}", expect.describe(service, tally)));
                return Ok(Ok(()));
            }
            if let Some(detail) = expect.hopeless(service, tally) {
                progress.done(&format!("not verified: {detail}"));
                return Ok(Err(detail));
            }
            progress.update(&format!(
                "verifying: {}{}",
                expect.describe(service, tally),
                deadline.describe()
            ));
        }
        tokio::select! {
            () = deadline.wait() => {
                let detail = match &tally {
                    Some(tally) => expect.describe(service, tally),
                    None => format!("{service}'s EndpointSlices could not be read"),
                };
                progress.done(&format!("not verified in time: {detail}"));
                return Ok(Err(detail));
            }
            set = sets.next() => match set {
                Some(set) => tally = Some(expect.tally(set.iter())),
                None => return Err(Error::Internal("the EndpointSlice watch ended".into())),
            },
        }
    }
}

/// Resolves, with what it saw, once the Service's EndpointSlices hold fewer ready addresses of
/// `expect.colour` on some port than `expect.ready_needed`: the live colour stopped serving as
/// it did when it was verified. Never resolves while it serves.
pub async fn serving_dropped(conn: &Connection, service: &str, expect: &Expectation) -> Tally {
    let mut sets = slice_sets(conn, service);
    while let Some(set) = sets.next().await {
        let tally = expect.tally(set.iter());
        if tally.new_ready < expect.ready_needed.max(1) {
            return tally;
        }
    }
    std::future::pending().await
}

/// Resolves with the colour Service `name` selects under `label` once that is no longer
/// `colour`: someone else flipped it (a colleague's rollback, a `kubectl edit`) while this
/// command waited on it. Never resolves when the Service cannot be watched; then the wait it
/// guards ends by its own timeout, as it would without it.
pub async fn selector_moved_away(
    conn: &Connection,
    name: &str,
    label: &str,
    colour: &str,
) -> String {
    let api: Api<Service> = Api::namespaced(conn.client.clone(), &conn.target.namespace);
    let config = watcher::Config::default().fields(&format!("metadata.name={name}"));
    let mut events = watcher(api, config).boxed();
    while let Some(event) = events.next().await {
        let service = match event {
            Ok(watcher::Event::Apply(s) | watcher::Event::InitApply(s)) => s,
            Ok(_) => continue,
            Err(e) => {
                tracing::debug!(error = %e, "cannot watch the Service; relying on the timeout");
                break;
            }
        };
        let now = service_selector(&service)
            .get(label)
            .cloned()
            .unwrap_or_default();
        if now != colour {
            return now;
        }
    }
    std::future::pending().await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pair::snapshot::tests::slice;
    use k8s_openapi::api::discovery::v1::EndpointPort;

    fn expect(ports: &[&str]) -> Expectation {
        Expectation {
            colour: "green".into(),
            previous: "blue".into(),
            ready_needed: 2,
            old_pods: ["blue-1".to_string()].into(),
            old_ips: ["10.0.0.1".to_string()].into(),
            ports: ports.iter().map(|p| p.to_string()).collect(),
        }
    }

    fn with_ports(mut s: EndpointSlice, name: &str, ports: &[&str]) -> EndpointSlice {
        s.metadata.name = Some(name.to_string());
        s.ports = Some(
            ports
                .iter()
                .map(|p| EndpointPort {
                    name: Some(p.to_string()),
                    port: Some(8080),
                    ..Default::default()
                })
                .collect(),
        );
        s
    }

    #[test]
    fn verification_needs_every_new_pod_and_no_old_one() {
        let e = expect(&[]);
        let mixed = slice(
            "web",
            &[
                ("10.0.0.1", "blue-1", true),
                ("10.0.1.1", "green-1", true),
                ("10.0.1.2", "green-2", true),
            ],
        );
        let t = e.tally([&mixed].into_iter());
        assert_eq!((t.new_ready, t.old), (2, 1));
        assert!(!e.met(&t));
        let partial = slice(
            "web",
            &[
                ("10.0.1.1", "green-1", true),
                ("10.0.1.2", "green-2", false),
            ],
        );
        assert!(!e.met(&e.tally([&partial].into_iter())));
        let done = slice(
            "web",
            &[("10.0.1.1", "green-1", true), ("10.0.1.2", "green-2", true)],
        );
        assert!(e.met(&e.tally([&done].into_iter())));
        assert!(
            !e.met(&e.tally(std::iter::empty())),
            "an empty Service is never verified"
        );
    }

    #[test]
    fn an_address_counts_only_for_the_ports_its_slice_carries() {
        let e = expect(&["http"]);
        let green = [("10.0.1.1", "green-1", true), ("10.0.1.2", "green-2", true)];
        // The pods lack the named port: the controller puts them in a slice without ports.
        let portless = with_ports(slice("web", &green), "web-x", &[]);
        let t = e.tally([&portless].into_iter());
        assert_eq!((t.new_ready, t.new_anywhere, t.old), (0, 2, 0));
        assert_eq!(t.dead_ports, vec!["http".to_string()]);
        assert!(!e.met(&t));
        let why = e.hopeless("web", &t).expect("a dead port is hopeless");
        assert!(why.contains("no ready endpoint for port http"), "{why}");

        let served = with_ports(slice("web", &green), "web-y", &["http"]);
        let t = e.tally([&served].into_iter());
        assert!(e.met(&t) && e.hopeless("web", &t).is_none());
    }

    #[test]
    fn every_port_must_be_served() {
        let e = expect(&["http", "metrics"]);
        let green = [("10.0.1.1", "green-1", true), ("10.0.1.2", "green-2", true)];
        let one_port = with_ports(slice("web", &green), "web-a", &["http"]);
        let t = e.tally([&one_port].into_iter());
        assert_eq!(t.dead_ports, vec!["metrics".to_string()]);
        assert!(!e.met(&t));
        let both = with_ports(slice("web", &green), "web-b", &["http", "metrics"]);
        assert!(e.met(&e.tally([&both].into_iter())));
    }

    #[test]
    fn old_pods_still_listed_keep_a_port_from_looking_dead() {
        let e = expect(&["http"]);
        let mixed = with_ports(
            slice(
                "web",
                &[("10.0.0.1", "blue-1", true), ("10.0.1.1", "green-1", true)],
            ),
            "web-z",
            &[],
        );
        // The controller has not caught up: waiting may still help.
        assert!(e.hopeless("web", &e.tally([&mixed].into_iter())).is_none());
    }
}
