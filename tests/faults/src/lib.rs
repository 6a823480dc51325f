//! The fault vocabulary of the test servers: rules that match a request by verb, resource,
//! name, namespace and occurrence, and what happens to the requests they match. The sandbox
//! (`tests/sandbox`) and the fault proxy in front of the real API server
//! (`tests/control-plane/src/proxy.rs`) both apply these rules, so a scenario means the same
//! on either.

use std::sync::Mutex;
use std::time::Duration;

/// What happens to a request a rule matches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FaultAction {
    /// Answer with this HTTP status and a `Status` body with the matching reason (429 also
    /// carries `Retry-After: 1`). The request is not handled.
    Fail(u16),
    /// Wait this long (wall-clock), or until the server's `release_hangs`, then handle the
    /// request normally. When the client gives up meanwhile, the request is never handled.
    Hang(Duration),
    /// Close the connection without answering; the request is not handled.
    Close,
    /// Handle the request, then close the connection without answering: the change is made
    /// but the client never learns it (a connection lost after the server acted).
    LoseAnswer,
    /// For a watch: answer 200 with one `ERROR` event carrying a 410 `Expired` Status, as the
    /// API server does when the resourceVersion asked for has been compacted; the client must
    /// list again. For other requests: a 410 `Expired` answer.
    Gone,
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

    /// Whether the rule's fields all fit `req` (its `skip` and `times` aside).
    pub fn matches(&self, req: &FaultRequest<'_>) -> bool {
        let field = |want: &Option<String>, have: &str| want.as_deref().is_none_or(|w| w == have);
        let resource_ok = self
            .resource
            .as_deref()
            .is_none_or(|want| match req.subresource {
                Some(sub) => want.split_once('/') == Some((req.resource, sub)),
                None => want == req.resource,
            });
        field(&self.verb, req.verb)
            && resource_ok
            && field(&self.name, req.name.unwrap_or_default())
            && field(&self.namespace, req.namespace.unwrap_or_default())
    }
}

/// A resource request, as far as the rules care.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FaultRequest<'a> {
    /// Kubernetes verb (`get`, `list`, `watch`, `create`, …).
    pub verb: &'a str,
    /// Plural resource (`deployments`).
    pub resource: &'a str,
    /// `scale`, `status`, … when the request is about a subresource.
    pub subresource: Option<&'a str>,
    pub name: Option<&'a str>,
    pub namespace: Option<&'a str>,
}

/// An ordered list of rules, used up as they apply.
#[derive(Debug, Default)]
pub struct FaultRules {
    rules: Mutex<Vec<FaultRule>>,
}

impl FaultRules {
    /// Adds a rule. Rules are tried in the order added; the first match applies.
    pub fn add(&self, rule: FaultRule) {
        self.lock().push(rule);
    }

    /// Removes every rule.
    pub fn clear(&self) {
        self.lock().clear();
    }

    /// The number of rules that still have requests to fault.
    pub fn pending(&self) -> usize {
        self.lock().len()
    }

    /// The action for a request, consuming one use of the first matching rule; rules still
    /// skipping count the request down and let later rules see it.
    pub fn take(&self, req: &FaultRequest<'_>) -> Option<FaultAction> {
        let mut rules = self.lock();
        let mut found = None;
        for (i, rule) in rules.iter_mut().enumerate() {
            if !rule.matches(req) {
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

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<FaultRule>> {
        self.rules.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request<'a>(verb: &'a str, resource: &'a str, sub: Option<&'a str>) -> FaultRequest<'a> {
        FaultRequest {
            verb,
            resource,
            subresource: sub,
            name: Some("web"),
            namespace: Some("default"),
        }
    }

    #[test]
    fn rule_is_used_up_after_times() {
        let f = FaultRules::default();
        f.add(
            FaultRule::new(FaultAction::Fail(500))
                .verb("patch")
                .resource("services")
                .times(2),
        );
        assert_eq!(f.take(&request("get", "services", None)), None);
        assert_eq!(
            f.take(&request("patch", "services", None)),
            Some(FaultAction::Fail(500))
        );
        assert!(f.take(&request("patch", "services", None)).is_some());
        assert_eq!(f.take(&request("patch", "services", None)), None);
        assert_eq!(f.pending(), 0);
    }

    #[test]
    fn subresource_must_be_named() {
        let f = FaultRules::default();
        f.add(FaultRule::new(FaultAction::Close).resource("deployments/scale"));
        assert_eq!(f.take(&request("patch", "deployments", None)), None);
        assert_eq!(
            f.take(&request("patch", "deployments", Some("status"))),
            None
        );
        assert_eq!(
            f.take(&request("patch", "deployments", Some("scale"))),
            Some(FaultAction::Close)
        );
    }

    #[test]
    fn a_plain_resource_rule_does_not_match_its_subresources() {
        let rule = FaultRule::new(FaultAction::Gone).resource("deployments");
        assert!(rule.matches(&request("get", "deployments", None)));
        assert!(!rule.matches(&request("get", "deployments", Some("scale"))));
    }

    #[test]
    fn name_and_namespace_must_match_when_given() {
        let rule = FaultRule::new(FaultAction::Gone)
            .name("web")
            .namespace("prod");
        let mut req = request("get", "services", None);
        assert!(!rule.matches(&req), "namespace default is not prod");
        req.namespace = Some("prod");
        assert!(rule.matches(&req));
        req.name = None;
        assert!(!rule.matches(&req), "a list names no object");
    }

    #[test]
    fn skipped_requests_go_through_and_later_rules_still_see_them() {
        let f = FaultRules::default();
        f.add(
            FaultRule::new(FaultAction::Fail(500))
                .verb("patch")
                .resource("services")
                .skip(2),
        );
        f.add(FaultRule::new(FaultAction::Close).verb("patch"));
        // The first skipped PATCH meets the second rule; the next goes through untouched.
        assert_eq!(
            f.take(&request("patch", "services", None)),
            Some(FaultAction::Close)
        );
        assert_eq!(f.take(&request("patch", "services", None)), None);
        assert_eq!(
            f.take(&request("patch", "services", None)),
            Some(FaultAction::Fail(500))
        );
        assert_eq!(f.pending(), 0);
    }

    #[test]
    fn clear_removes_every_rule() {
        let f = FaultRules::default();
        f.add(FaultRule::new(FaultAction::Close));
        f.add(FaultRule::new(FaultAction::Gone).times(3));
        assert_eq!(f.pending(), 2);
        f.clear();
        assert_eq!(f.pending(), 0);
        assert_eq!(f.take(&request("get", "services", None)), None);
    }
}
