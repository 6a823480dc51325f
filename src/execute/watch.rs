//! Waiting with watches: for a Deployment to be fully available, for the production Service's
//! EndpointSlices to hold the new colour, and for anything about the pair to change.

use std::collections::{BTreeMap, HashSet};
use std::pin::Pin;

use futures::{Stream, StreamExt};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Pod, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use kube::ResourceExt;
use kube::api::Api;
use kube::runtime::{WatchStreamExt, watcher};

use crate::cluster::Connection;
use crate::error::{Error, Result};
use crate::pair::discover::service_selector;
use crate::pair::snapshot::{deployment_summary, pod_summary};
use crate::progress::{Deadline, Progress};

/// A stream that yields once per change of a watched kind; errors are retried with backoff.
pub fn changes<K>(api: Api<K>, config: watcher::Config) -> Pin<Box<dyn Stream<Item = ()> + Send>>
where
    K: kube::Resource + Clone + serde::de::DeserializeOwned + std::fmt::Debug + Send + 'static,
{
    Box::pin(
        watcher(api, config)
            .default_backoff()
            .filter_map(|event| async move {
                match event {
                    Ok(_) => Some(()),
                    Err(e) => {
                        tracing::debug!(error = %e, "watch failed; retrying");
                        None
                    }
                }
            }),
    )
}

/// Changes of the pair's Deployments and of the pods matching `pod_selector`.
pub fn pair_changes(
    conn: &Connection,
    pod_selector: &str,
) -> Pin<Box<dyn Stream<Item = ()> + Send>> {
    let ns = &conn.target.namespace;
    Box::pin(futures::stream::select_all([
        changes(
            Api::<Pod>::namespaced(conn.client.clone(), ns),
            watcher::Config::default().labels(pod_selector),
        ),
        changes(
            Api::<Deployment>::namespaced(conn.client.clone(), ns),
            watcher::Config::default(),
        ),
    ]))
}

/// Waits until Deployment `name` has all its replicas updated, ready and available, and its
/// pods Ready and not terminating. `Err(detail)` when the deadline passes first.
pub async fn deployment_available(
    conn: &Connection,
    name: &str,
    pod_selector: &str,
    deadline: Deadline,
    progress: &mut Progress,
) -> Result<std::result::Result<(), String>> {
    let ns = &conn.target.namespace;
    let deployments: Api<Deployment> = Api::namespaced(conn.client.clone(), ns);
    let pods: Api<Pod> = Api::namespaced(conn.client.clone(), ns);
    let mut stream = futures::stream::select_all([
        changes(
            deployments.clone(),
            watcher::Config::default().fields(&format!("metadata.name={name}")),
        ),
        changes(
            pods.clone(),
            watcher::Config::default().labels(pod_selector),
        ),
    ]);
    loop {
        let deployment = conn.get_opt::<Deployment>(name).await?;
        let pod_list = conn.list::<Pod>(Some(pod_selector)).await?;
        let now = jiff::Timestamp::now();
        let serving = pod_list
            .iter()
            .map(|p| pod_summary(p, now))
            .filter(|p| p.ready && !p.terminating)
            .count();
        let state = match deployment.as_ref().map(deployment_summary) {
            None => format!("{name} does not exist"),
            Some(d) => {
                if d.desired > 0
                    && d.rollout_complete
                    && d.ready >= d.desired
                    && serving as i64 >= i64::from(d.desired)
                {
                    progress.done(&format!("{name} is fully available ({serving} pods ready)"));
                    return Ok(Ok(()));
                }
                format!(
                    "{name}: {}/{} available, {} pods ready",
                    d.available, d.desired, serving
                )
            }
        };
        progress.update(&format!("waiting for {state}{}", deadline.describe()));
        tokio::select! {
            () = deadline.wait() => {
                progress.done(&format!("gave up waiting: {state}"));
                return Ok(Err(state));
            }
            next = stream.next() => if next.is_none() {
                return Err(Error::Internal("the watch ended".into()));
            },
        }
    }
}

/// Who is who in the endpoints while verifying a flip.
#[derive(Debug, Clone, Default)]
pub struct Expectation {
    /// The colour traffic moves to.
    pub colour: String,
    /// The colour traffic leaves.
    pub previous: String,
    /// How many ready addresses of the new colour are needed.
    pub ready_needed: usize,
    /// Pod names of the old colour.
    pub old_pods: HashSet<String>,
    /// Pod IPs of the old colour.
    pub old_ips: HashSet<String>,
}

/// What the EndpointSlices hold, against an expectation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Tally {
    /// Ready addresses that are not the old colour's.
    pub new_ready: usize,
    /// Addresses (any state) of the old colour.
    pub old: usize,
}

impl Expectation {
    /// Counts one set of slices; pure.
    pub fn tally<'a>(&self, slices: impl Iterator<Item = &'a EndpointSlice>) -> Tally {
        let mut tally = Tally::default();
        let mut seen = HashSet::new();
        for endpoint in slices.flat_map(|s| s.endpoints.iter()) {
            let pod = endpoint.target_ref.as_ref().and_then(|r| r.name.clone());
            let Some(ip) = endpoint.addresses.first() else {
                continue;
            };
            if !seen.insert(ip.clone()) {
                continue;
            }
            let is_old = pod.as_ref().is_some_and(|p| self.old_pods.contains(p))
                || self.old_ips.contains(ip);
            let conditions = endpoint.conditions.clone().unwrap_or_default();
            let ready =
                conditions.ready.unwrap_or(true) && !conditions.terminating.unwrap_or(false);
            if is_old {
                tally.old += 1;
            } else if ready {
                tally.new_ready += 1;
            }
        }
        tally
    }

    /// Whether the flip is complete.
    pub fn met(&self, tally: Tally) -> bool {
        tally.old == 0 && tally.new_ready >= self.ready_needed.max(1)
    }

    /// The state in words.
    pub fn describe(&self, service: &str, tally: Tally) -> String {
        format!(
            "{service}'s endpoints hold {}/{} ready {} pod(s) and {} {} pod(s)",
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
    })
}

/// Watches the Service's EndpointSlices until they meet `expect`. `Err(detail)` when the
/// deadline passes first.
pub async fn endpoints_moved(
    conn: &Connection,
    service: &str,
    expect: &Expectation,
    deadline: Deadline,
    progress: &mut Progress,
) -> Result<std::result::Result<(), String>> {
    let api: Api<EndpointSlice> = Api::namespaced(conn.client.clone(), &conn.target.namespace);
    let config =
        watcher::Config::default().labels(&format!("kubernetes.io/service-name={service}"));
    let mut events = watcher(api, config).default_backoff().boxed();
    let mut slices: BTreeMap<String, EndpointSlice> = BTreeMap::new();
    let mut buffer: BTreeMap<String, EndpointSlice> = BTreeMap::new();
    let mut tally = Tally::default();
    let mut listed = false;
    loop {
        if listed {
            tally = expect.tally(slices.values());
            if expect.met(tally) {
                progress.done(&format!("verified: {}", expect.describe(service, tally)));
                return Ok(Ok(()));
            }
            progress.update(&format!(
                "verifying: {}{}",
                expect.describe(service, tally),
                deadline.describe()
            ));
        }
        let event = tokio::select! {
            () = deadline.wait() => {
                let detail = if listed {
                    expect.describe(service, tally)
                } else {
                    format!("{service}'s EndpointSlices could not be read")
                };
                progress.done(&format!("not verified in time: {detail}"));
                return Ok(Err(detail));
            }
            event = events.next() => event,
        };
        match event {
            None => return Err(Error::Internal("the EndpointSlice watch ended".into())),
            Some(Err(e)) => tracing::debug!(error = %e, "EndpointSlice watch failed; retrying"),
            Some(Ok(watcher::Event::Init)) => buffer.clear(),
            Some(Ok(watcher::Event::InitApply(s))) => {
                buffer.insert(s.name_any(), s);
            }
            Some(Ok(watcher::Event::InitDone)) => {
                slices = std::mem::take(&mut buffer);
                listed = true;
            }
            Some(Ok(watcher::Event::Apply(s))) => {
                slices.insert(s.name_any(), s);
            }
            Some(Ok(watcher::Event::Delete(s))) => {
                slices.remove(&s.name_any());
            }
        }
    }
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

    fn expect() -> Expectation {
        Expectation {
            colour: "green".into(),
            previous: "blue".into(),
            ready_needed: 2,
            old_pods: ["blue-1".to_string()].into(),
            old_ips: ["10.0.0.1".to_string()].into(),
        }
    }

    #[test]
    fn verification_needs_every_new_pod_and_no_old_one() {
        let e = expect();
        let mixed = slice(
            "web",
            &[
                ("10.0.0.1", "blue-1", true),
                ("10.0.1.1", "green-1", true),
                ("10.0.1.2", "green-2", true),
            ],
        );
        let t = e.tally([&mixed].into_iter());
        assert_eq!(
            t,
            Tally {
                new_ready: 2,
                old: 1
            }
        );
        assert!(!e.met(t));
        let partial = slice(
            "web",
            &[
                ("10.0.1.1", "green-1", true),
                ("10.0.1.2", "green-2", false),
            ],
        );
        assert!(!e.met(e.tally([&partial].into_iter())));
        let done = slice(
            "web",
            &[("10.0.1.1", "green-1", true), ("10.0.1.2", "green-2", true)],
        );
        assert!(e.met(e.tally([&done].into_iter())));
        assert!(
            !e.met(e.tally(std::iter::empty())),
            "an empty Service is never verified"
        );
    }
}
