//! The authorization policy a test can set for the sandbox's token: which verbs on which
//! resources in which namespaces are allowed. Requests outside it get 403, and
//! SelfSubjectAccessReviews answer from it.

/// The user name the sandbox's token authenticates as (and 403 messages name).
pub const USER: &str = "sandbox-admin";

/// Who may do what. The default allows everything (a cluster-admin token).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Policy {
    #[default]
    AllowAll,
    /// Only what one of the rules allows.
    Rules(Vec<PolicyRule>),
}

/// One allow rule, like one RBAC rule bound through a (Cluster)RoleBinding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyRule {
    /// Verbs (`get`, `list`, `watch`, `create`, `update`, `patch`, `delete`,
    /// `deletecollection`), or `*`.
    pub verbs: Vec<String>,
    /// Plural resources (`services`), resource/subresource (`deployments/scale`), `*`, or
    /// `*/scale`-style wildcards, as RBAC writes them. A plain resource does not cover its
    /// subresources, as in RBAC.
    pub resources: Vec<String>,
    /// Namespaces the rule applies in (a RoleBinding); `None` = everywhere, including
    /// cluster-scoped requests (a ClusterRoleBinding).
    pub namespaces: Option<Vec<String>>,
}

impl PolicyRule {
    pub fn new(verbs: &[&str], resources: &[&str]) -> PolicyRule {
        PolicyRule {
            verbs: verbs.iter().map(|s| s.to_string()).collect(),
            resources: resources.iter().map(|s| s.to_string()).collect(),
            namespaces: None,
        }
    }

    /// Limits the rule to these namespaces.
    pub fn in_namespaces(mut self, namespaces: &[&str]) -> PolicyRule {
        self.namespaces = Some(namespaces.iter().map(|s| s.to_string()).collect());
        self
    }

    fn allows(&self, a: &Attributes<'_>) -> bool {
        let verb_ok = self.verbs.iter().any(|v| v == "*" || v == a.verb);
        let full = match a.subresource {
            Some(sub) if !sub.is_empty() => format!("{}/{}", a.resource, sub),
            _ => a.resource.to_string(),
        };
        let resource_ok = self.resources.iter().any(|r| {
            r == "*"
                || *r == full
                || match (r.split_once('/'), a.subresource) {
                    (Some(("*", sub)), Some(s)) => sub == s,
                    (Some((res, "*")), Some(_)) => res == a.resource,
                    _ => false,
                }
        });
        let ns_ok = match (&self.namespaces, a.namespace) {
            (None, _) => true,
            (Some(list), Some(ns)) => list.iter().any(|n| n == ns),
            // A namespaced binding never grants cluster-scoped access.
            (Some(_), None) => false,
        };
        verb_ok && resource_ok && ns_ok
    }
}

/// What a request wants to do, as the authorizer sees it.
#[derive(Debug, Clone, Copy)]
pub struct Attributes<'a> {
    pub verb: &'a str,
    pub resource: &'a str,
    pub subresource: Option<&'a str>,
    /// `None` for cluster-scoped requests and all-namespace lists.
    pub namespace: Option<&'a str>,
}

impl Policy {
    pub fn allows(&self, a: &Attributes<'_>) -> bool {
        match self {
            Policy::AllowAll => true,
            Policy::Rules(rules) => rules.iter().any(|r| r.allows(a)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attrs<'a>(
        verb: &'a str,
        resource: &'a str,
        sub: Option<&'a str>,
        ns: Option<&'a str>,
    ) -> Attributes<'a> {
        Attributes {
            verb,
            resource,
            subresource: sub,
            namespace: ns,
        }
    }

    #[test]
    fn rules_match_verbs_resources_and_namespaces() {
        let p = Policy::Rules(vec![
            PolicyRule::new(&["get", "list"], &["pods"]).in_namespaces(&["default"]),
            PolicyRule::new(&["patch"], &["deployments/scale"]),
        ]);
        assert!(p.allows(&attrs("get", "pods", None, Some("default"))));
        assert!(!p.allows(&attrs("get", "pods", None, Some("staging"))));
        assert!(!p.allows(&attrs("list", "pods", None, None)));
        assert!(!p.allows(&attrs("delete", "pods", None, Some("default"))));
        assert!(p.allows(&attrs("patch", "deployments", Some("scale"), Some("x"))));
        assert!(!p.allows(&attrs("patch", "deployments", None, Some("x"))));
        assert!(Policy::AllowAll.allows(&attrs("delete", "pods", None, None)));
    }
}
