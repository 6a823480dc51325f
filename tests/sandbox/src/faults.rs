//! Fault injection: make matching requests fail, hang or lose their connection; end every
//! open watch; slow every request down.

use std::sync::Mutex;
use std::time::Duration;

/// What happens to a request a rule matches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FaultAction {
    /// Answer with this HTTP status and a `Status` body with the matching reason
    /// (429 also carries `Retry-After: 1`).
    Fail(u16),
    /// Wait this long (wall-clock), or until [`Faults::release_hangs`], then handle the
    /// request normally.
    Hang(Duration),
    /// Close the connection without answering.
    Close,
    /// Handle the request, then close the connection without answering: a change is made but
    /// the client never learns it (a connection lost after the server acted).
    LoseAnswer,
}

/// A rule: the next `times` requests matching every given field get `action`, after the first
/// `skip` matching ones have gone through untouched. A field left `None` matches anything.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FaultRule {
    /// Kubernetes verb: get, list, watch, create, update, patch, delete, deletecollection.
    pub verb: Option<String>,
    /// Plural resource (`services`) or resource and subresource (`deployments/scale`).
    pub resource: Option<String>,
    pub name: Option<String>,
    pub namespace: Option<String>,
    pub times: usize,
    /// Matching requests let through before the rule applies (and not counted in `times`);
    /// later rules may still apply to them.
    pub skip: usize,
    pub action: FaultAction,
}

impl FaultRule {
    /// A rule matching every resource request once.
    pub fn new(action: FaultAction) -> FaultRule {
        FaultRule {
            verb: None,
            resource: None,
            name: None,
            namespace: None,
            times: 1,
            skip: 0,
            action,
        }
    }
    pub fn verb(mut self, verb: &str) -> Self {
        self.verb = Some(verb.to_string());
        self
    }
    pub fn resource(mut self, resource: &str) -> Self {
        self.resource = Some(resource.to_string());
        self
    }
    pub fn name(mut self, name: &str) -> Self {
        self.name = Some(name.to_string());
        self
    }
    pub fn namespace(mut self, namespace: &str) -> Self {
        self.namespace = Some(namespace.to_string());
        self
    }
    pub fn times(mut self, times: usize) -> Self {
        self.times = times;
        self
    }
    /// Lets the first `n` matching requests through before the rule applies: "the third PATCH
    /// of this Service hangs".
    pub fn skip(mut self, n: usize) -> Self {
        self.skip = n;
        self
    }

    fn matches(&self, req: &FaultTarget<'_>) -> bool {
        let field = |want: &Option<String>, have: &str| want.as_deref().is_none_or(|w| w == have);
        let resource_ok = self.resource.as_deref().is_none_or(|want| {
            let full = match req.subresource {
                Some(sub) => format!("{}/{}", req.resource, sub),
                None => req.resource.to_string(),
            };
            want == full
        });
        field(&self.verb, req.verb)
            && resource_ok
            && field(&self.name, req.name.unwrap_or(""))
            && field(&self.namespace, req.namespace.unwrap_or(""))
    }
}

/// What a rule is matched against.
pub struct FaultTarget<'a> {
    pub verb: &'a str,
    pub resource: &'a str,
    pub subresource: Option<&'a str>,
    pub name: Option<&'a str>,
    pub namespace: Option<&'a str>,
}

/// The fault controls of one sandbox.
pub struct Faults {
    rules: Mutex<Vec<FaultRule>>,
    latency: Mutex<Duration>,
    /// Bumped by [`Faults::drop_watches`]; every watch stream ends when it changes.
    watch_generation: tokio::sync::watch::Sender<u64>,
    /// Bumped by [`Faults::release_hangs`]; every hanging request goes on when it changes.
    hang_generation: tokio::sync::watch::Sender<u64>,
}

impl Default for Faults {
    fn default() -> Self {
        Faults {
            rules: Mutex::new(Vec::new()),
            latency: Mutex::new(Duration::ZERO),
            watch_generation: tokio::sync::watch::Sender::new(0),
            hang_generation: tokio::sync::watch::Sender::new(0),
        }
    }
}

impl Faults {
    /// Adds a rule. Rules are tried in the order added; the first match applies.
    pub fn add(&self, rule: FaultRule) {
        lock(&self.rules).push(rule);
    }

    /// Removes every rule and the added latency.
    pub fn clear(&self) {
        lock(&self.rules).clear();
        *lock(&self.latency) = Duration::ZERO;
    }

    /// Ends every open watch stream now (as when an API server restarts or a load balancer
    /// cuts long requests). Clients see the response end and must re-watch.
    pub fn drop_watches(&self) {
        self.watch_generation.send_modify(|g| *g += 1);
    }

    /// Ends every hang now: the requests waiting in a [`FaultAction::Hang`] are handled at
    /// once, in the order the server gets to them (for holding several clients at one step
    /// and letting them go together).
    pub fn release_hangs(&self) {
        self.hang_generation.send_modify(|g| *g += 1);
    }

    /// Waits `d` (wall-clock), or less if [`Faults::release_hangs`] is called meanwhile.
    pub async fn hang(&self, d: Duration) {
        let mut released = self.hang_generation.subscribe();
        released.mark_unchanged();
        tokio::select! {
            () = tokio::time::sleep(d) => {}
            _ = released.changed() => {}
        }
    }

    /// Adds this delay (wall-clock) before every request is handled.
    pub fn set_latency(&self, d: Duration) {
        *lock(&self.latency) = d;
    }

    pub fn latency(&self) -> Duration {
        *lock(&self.latency)
    }

    /// The number of rules that still have requests to fail.
    pub fn pending(&self) -> usize {
        lock(&self.rules).len()
    }

    /// The action for a request, consuming one use of the first matching rule.
    pub fn take(&self, target: &FaultTarget<'_>) -> Option<FaultAction> {
        let mut rules = lock(&self.rules);
        let mut found = None;
        for (i, rule) in rules.iter_mut().enumerate() {
            if !rule.matches(target) {
                continue;
            }
            if rule.skip > 0 {
                rule.skip -= 1;
                continue;
            }
            found = Some(i);
            break;
        }
        let i = found?;
        let action = rules[i].action.clone();
        rules[i].times = rules[i].times.saturating_sub(1);
        if rules[i].times == 0 {
            rules.remove(i);
        }
        Some(action)
    }

    pub(crate) fn watch_drops(&self) -> tokio::sync::watch::Receiver<u64> {
        self.watch_generation.subscribe()
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target<'a>(verb: &'a str, resource: &'a str, sub: Option<&'a str>) -> FaultTarget<'a> {
        FaultTarget {
            verb,
            resource,
            subresource: sub,
            name: Some("web"),
            namespace: Some("default"),
        }
    }

    #[test]
    fn rule_is_used_up_after_times() {
        let f = Faults::default();
        f.add(
            FaultRule::new(FaultAction::Fail(500))
                .verb("patch")
                .resource("services")
                .times(2),
        );
        assert_eq!(f.take(&target("get", "services", None)), None);
        assert_eq!(
            f.take(&target("patch", "services", None)),
            Some(FaultAction::Fail(500))
        );
        assert!(f.take(&target("patch", "services", None)).is_some());
        assert_eq!(f.take(&target("patch", "services", None)), None);
    }

    #[test]
    fn subresource_must_be_named() {
        let f = Faults::default();
        f.add(FaultRule::new(FaultAction::Close).resource("deployments/scale"));
        assert_eq!(f.take(&target("patch", "deployments", None)), None);
        assert_eq!(
            f.take(&target("patch", "deployments", Some("scale"))),
            Some(FaultAction::Close)
        );
    }

    #[test]
    fn skipped_requests_go_through_and_later_rules_still_see_them() {
        let f = Faults::default();
        f.add(
            FaultRule::new(FaultAction::Fail(500))
                .verb("patch")
                .resource("services")
                .skip(2),
        );
        f.add(FaultRule::new(FaultAction::Close).verb("patch"));
        // The first skipped PATCH meets the second rule; the next goes through untouched.
        assert_eq!(
            f.take(&target("patch", "services", None)),
            Some(FaultAction::Close)
        );
        assert_eq!(f.take(&target("patch", "services", None)), None);
        assert_eq!(
            f.take(&target("patch", "services", None)),
            Some(FaultAction::Fail(500))
        );
        assert_eq!(f.pending(), 0);
    }

    #[test]
    fn released_hangs_end_at_once_and_later_ones_still_wait() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .expect("a runtime");
        runtime.block_on(async {
            let f = std::sync::Arc::new(Faults::default());
            let hung = {
                let f = f.clone();
                tokio::spawn(async move { f.hang(Duration::from_secs(600)).await })
            };
            tokio::time::sleep(Duration::from_millis(20)).await;
            assert!(!hung.is_finished());
            f.release_hangs();
            tokio::time::timeout(Duration::from_secs(5), hung)
                .await
                .expect("the hang ends when released")
                .expect("the task");
            // A release applies to the hangs waiting then, not to later ones.
            let started = std::time::Instant::now();
            f.hang(Duration::from_millis(50)).await;
            assert!(started.elapsed() >= Duration::from_millis(50));
        });
    }
}
