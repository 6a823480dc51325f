//! URL paths to what they address, and the Kubernetes verb a request is (the apiserver's
//! "request info").

use hyper::Method;

use crate::resources::{self, ResourceType};

/// What a URL path addresses.
#[derive(Debug)]
pub enum Route {
    Version,
    Health,
    /// `/api`: the core group's versions.
    LegacyVersions,
    /// `/apis`: every other group.
    Groups,
    /// `/apis/{group}`.
    Group(String),
    /// `/api/v1`, `/apis/{group}/{version}`: the resource list.
    Resources {
        group: String,
        version: String,
    },
    /// `/openapi/v2` (the whole v2 document, protobuf or JSON).
    OpenApiV2,
    /// `/openapi/v3`.
    OpenApiIndex,
    /// `/openapi/v3/api/v1`, `/openapi/v3/apis/apps/v1`.
    OpenApiDoc(String),
    Resource(ResourceRoute),
    NotFound,
}

/// A request for objects of one resource.
#[derive(Debug)]
pub struct ResourceRoute {
    pub rt: &'static ResourceType,
    /// The namespace from the path (`None` for cluster-scoped resources and all-namespace
    /// requests).
    pub namespace: Option<String>,
    pub name: Option<String>,
    pub subresource: Option<String>,
    /// The legacy `/watch/` path prefix.
    pub watch_path: bool,
}

pub fn parse(path: &str) -> Route {
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    match segments.as_slice() {
        ["version"] => Route::Version,
        ["healthz" | "readyz" | "livez", ..] => Route::Health,
        ["api"] => Route::LegacyVersions,
        ["api", "v1"] => Route::Resources {
            group: String::new(),
            version: "v1".into(),
        },
        ["api", "v1", rest @ ..] => resource("", "v1", rest),
        ["apis"] => Route::Groups,
        ["apis", group] => Route::Group(group.to_string()),
        ["apis", group, version] => Route::Resources {
            group: group.to_string(),
            version: version.to_string(),
        },
        ["apis", group, version, rest @ ..] => resource(group, version, rest),
        ["openapi", "v2"] => Route::OpenApiV2,
        ["openapi", "v3"] => Route::OpenApiIndex,
        ["openapi", "v3", rest @ ..] => Route::OpenApiDoc(rest.join("/")),
        _ => Route::NotFound,
    }
}

fn resource(group: &str, version: &str, rest: &[&str]) -> Route {
    let (watch_path, rest) = match rest {
        ["watch", rest @ ..] => (true, rest),
        _ => (false, rest),
    };
    // `namespaces/{ns}/{plural}/...` unless the third segment is not a namespaced resource
    // of this group-version, in which case it is the namespace's own subresource
    // (`namespaces/{name}/status`).
    let (namespace, rest) = match rest {
        ["namespaces", ns, plural, tail @ ..]
            if resources::find(group, version, plural).is_some_and(|rt| rt.namespaced) =>
        {
            (
                Some(ns.to_string()),
                std::iter::once(*plural)
                    .chain(tail.iter().copied())
                    .collect::<Vec<_>>(),
            )
        }
        _ => (None, rest.to_vec()),
    };
    let (plural, name, sub) = match rest.as_slice() {
        [plural] => (*plural, None, None),
        [plural, name] => (*plural, Some(name.to_string()), None),
        [plural, name, sub] => (*plural, Some(name.to_string()), Some(sub.to_string())),
        _ => return Route::NotFound,
    };
    let Some(rt) = resources::find(group, version, plural) else {
        return Route::NotFound;
    };
    // A namespaced object is only addressed inside its namespace.
    if rt.namespaced && namespace.is_none() && name.is_some() {
        return Route::NotFound;
    }
    if let Some(s) = &sub
        && !rt.has_subresource(s)
    {
        return Route::NotFound;
    }
    Route::Resource(ResourceRoute {
        rt,
        namespace,
        name,
        subresource: sub,
        watch_path,
    })
}

/// The Kubernetes verb of a request, as RBAC and the fault rules name it.
pub fn verb(method: &Method, route: &ResourceRoute, watch_param: bool) -> Option<&'static str> {
    let named = route.name.is_some();
    Some(match *method {
        Method::GET | Method::HEAD if route.watch_path || (watch_param && !named) => "watch",
        Method::GET | Method::HEAD if named => "get",
        Method::GET | Method::HEAD => "list",
        Method::POST if !named => "create",
        Method::PUT if named => "update",
        Method::PATCH if named => "patch",
        Method::DELETE if named => "delete",
        Method::DELETE => "deletecollection",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn res(path: &str) -> ResourceRoute {
        match parse(path) {
            Route::Resource(r) => r,
            other => panic!("{path}: {other:?}"),
        }
    }

    #[test]
    fn namespaced_and_cluster_paths() {
        let r = res("/api/v1/namespaces/default/pods/web-1/status");
        assert_eq!(r.rt.plural, "pods");
        assert_eq!(r.namespace.as_deref(), Some("default"));
        assert_eq!(r.name.as_deref(), Some("web-1"));
        assert_eq!(r.subresource.as_deref(), Some("status"));

        let r = res("/api/v1/namespaces/staging");
        assert_eq!(r.rt.plural, "namespaces");
        assert_eq!(r.name.as_deref(), Some("staging"));

        let r = res("/api/v1/namespaces/staging/status");
        assert_eq!(r.rt.plural, "namespaces");
        assert_eq!(r.subresource.as_deref(), Some("status"));

        let r = res("/apis/apps/v1/watch/namespaces/default/deployments");
        assert!(r.watch_path);
        assert_eq!(r.rt.plural, "deployments");

        let r = res("/apis/apps/v1/deployments");
        assert!(r.namespace.is_none() && r.name.is_none());
    }

    #[test]
    fn unknown_paths_are_not_found() {
        for p in [
            "/api/v1/pods/x",
            "/api/v1/namespaces/default/widgets",
            "/apis/apps/v2/deployments",
            "/api/v1/namespaces/default/pods/x/scale",
            "/api/v1/namespaces/default/pods/x/status/extra",
        ] {
            assert!(matches!(parse(p), Route::NotFound), "{p}");
        }
    }
}
