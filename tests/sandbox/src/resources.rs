//! The resource types the sandbox serves, as discovery describes them.

/// One served resource type (a row of `kubectl api-resources`).
#[derive(Debug)]
pub struct ResourceType {
    /// API group, empty for the core group.
    pub group: &'static str,
    pub version: &'static str,
    /// Plural, lower-case name used in URLs (`pods`).
    pub plural: &'static str,
    /// Singular name (`pod`).
    pub singular: &'static str,
    pub kind: &'static str,
    pub namespaced: bool,
    pub short_names: &'static [&'static str],
    /// Subresources served under `.../{name}/{sub}` (`status`, `scale`).
    pub subresources: &'static [&'static str],
    pub verbs: &'static [&'static str],
    /// Whether `metadata.generation` is bumped on spec changes.
    pub has_generation: bool,
    pub categories: &'static [&'static str],
}

impl ResourceType {
    /// `apiVersion` as written in objects (`v1`, `apps/v1`).
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.to_string()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    /// Whether this resource has the given subresource.
    pub fn has_subresource(&self, sub: &str) -> bool {
        self.subresources.contains(&sub)
    }
}

const ALL_VERBS: &[&str] = &[
    "create",
    "delete",
    "deletecollection",
    "get",
    "list",
    "patch",
    "update",
    "watch",
];

pub static NAMESPACES: ResourceType = ResourceType {
    group: "",
    version: "v1",
    plural: "namespaces",
    singular: "namespace",
    kind: "Namespace",
    namespaced: false,
    short_names: &["ns"],
    subresources: &["status"],
    verbs: &[
        "create", "delete", "get", "list", "patch", "update", "watch",
    ],
    has_generation: false,
    categories: &[],
};

pub static PODS: ResourceType = ResourceType {
    group: "",
    version: "v1",
    plural: "pods",
    singular: "pod",
    kind: "Pod",
    namespaced: true,
    short_names: &["po"],
    subresources: &["status"],
    verbs: ALL_VERBS,
    has_generation: false,
    categories: &["all"],
};

pub static SERVICES: ResourceType = ResourceType {
    group: "",
    version: "v1",
    plural: "services",
    singular: "service",
    kind: "Service",
    namespaced: true,
    short_names: &["svc"],
    subresources: &["status"],
    verbs: ALL_VERBS,
    has_generation: false,
    categories: &["all"],
};

pub static ENDPOINTS: ResourceType = ResourceType {
    group: "",
    version: "v1",
    plural: "endpoints",
    singular: "endpoints",
    kind: "Endpoints",
    namespaced: true,
    short_names: &["ep"],
    subresources: &[],
    verbs: ALL_VERBS,
    has_generation: false,
    categories: &[],
};

pub static EVENTS: ResourceType = ResourceType {
    group: "",
    version: "v1",
    plural: "events",
    singular: "event",
    kind: "Event",
    namespaced: true,
    short_names: &["ev"],
    subresources: &[],
    verbs: ALL_VERBS,
    has_generation: false,
    categories: &[],
};

pub static DEPLOYMENTS: ResourceType = ResourceType {
    group: "apps",
    version: "v1",
    plural: "deployments",
    singular: "deployment",
    kind: "Deployment",
    namespaced: true,
    short_names: &["deploy"],
    subresources: &["status", "scale"],
    verbs: ALL_VERBS,
    has_generation: true,
    categories: &["all"],
};

pub static REPLICASETS: ResourceType = ResourceType {
    group: "apps",
    version: "v1",
    plural: "replicasets",
    singular: "replicaset",
    kind: "ReplicaSet",
    namespaced: true,
    short_names: &["rs"],
    subresources: &["status", "scale"],
    verbs: ALL_VERBS,
    has_generation: true,
    categories: &["all"],
};

pub static ENDPOINTSLICES: ResourceType = ResourceType {
    group: "discovery.k8s.io",
    version: "v1",
    plural: "endpointslices",
    singular: "endpointslice",
    kind: "EndpointSlice",
    namespaced: true,
    short_names: &[],
    subresources: &[],
    verbs: ALL_VERBS,
    has_generation: false,
    categories: &[],
};

pub static SELFSUBJECTACCESSREVIEWS: ResourceType = ResourceType {
    group: "authorization.k8s.io",
    version: "v1",
    plural: "selfsubjectaccessreviews",
    singular: "selfsubjectaccessreview",
    kind: "SelfSubjectAccessReview",
    namespaced: false,
    short_names: &[],
    subresources: &[],
    verbs: &["create"],
    has_generation: false,
    categories: &[],
};

pub static HORIZONTALPODAUTOSCALERS: ResourceType = ResourceType {
    group: "autoscaling",
    version: "v2",
    plural: "horizontalpodautoscalers",
    singular: "horizontalpodautoscaler",
    kind: "HorizontalPodAutoscaler",
    namespaced: true,
    short_names: &["hpa"],
    subresources: &["status"],
    verbs: ALL_VERBS,
    has_generation: true,
    categories: &["all"],
};

/// `events.k8s.io/v1` Events: the same objects as core/v1 Events (stored as those, like
/// the real server does), converted on the way in and out by the API layer.
pub static EVENTS_V1: ResourceType = ResourceType {
    group: "events.k8s.io",
    version: "v1",
    plural: "events",
    singular: "event",
    kind: "Event",
    namespaced: true,
    short_names: &["ev"],
    subresources: &[],
    verbs: ALL_VERBS,
    has_generation: false,
    categories: &[],
};

/// Every served resource type. Converted types come after the types they are stored as, so
/// that looking a type up by plural alone finds the stored one.
pub static ALL: &[&ResourceType] = &[
    &NAMESPACES,
    &PODS,
    &SERVICES,
    &ENDPOINTS,
    &EVENTS,
    &DEPLOYMENTS,
    &REPLICASETS,
    &ENDPOINTSLICES,
    &SELFSUBJECTACCESSREVIEWS,
    &HORIZONTALPODAUTOSCALERS,
    &EVENTS_V1,
    &HORIZONTALPODAUTOSCALERS_V1,
];

/// `autoscaling/v1` HorizontalPodAutoscalers: the autoscaling/v2 objects in the older shape
/// (CPU utilization only), converted by the API layer.
pub static HORIZONTALPODAUTOSCALERS_V1: ResourceType = ResourceType {
    group: "autoscaling",
    version: "v1",
    plural: "horizontalpodautoscalers",
    singular: "horizontalpodautoscaler",
    kind: "HorizontalPodAutoscaler",
    namespaced: true,
    short_names: &["hpa"],
    subresources: &["status"],
    verbs: ALL_VERBS,
    has_generation: true,
    categories: &["all"],
};

/// The type objects of `rt` are stored as, when it is served through a conversion.
pub fn stored_as(rt: &ResourceType) -> Option<&'static ResourceType> {
    if std::ptr::eq(rt, &EVENTS_V1) {
        Some(&EVENTS)
    } else if std::ptr::eq(rt, &HORIZONTALPODAUTOSCALERS_V1) {
        Some(&HORIZONTALPODAUTOSCALERS)
    } else {
        None
    }
}

/// Whether objects of `rt` are stored as another type's (served through a conversion).
pub fn is_converted(rt: &ResourceType) -> bool {
    stored_as(rt).is_some()
}

/// Looks a resource up by group, version and plural name.
pub fn find(group: &str, version: &str, plural: &str) -> Option<&'static ResourceType> {
    ALL.iter()
        .copied()
        .find(|r| r.group == group && r.version == version && r.plural == plural)
}

/// Looks a resource up by `apiVersion` and `kind`, as written in a manifest.
pub fn by_kind(api_version: &str, kind: &str) -> Option<&'static ResourceType> {
    ALL.iter()
        .copied()
        .filter(|r| !is_converted(r))
        .find(|r| r.api_version() == api_version && r.kind == kind)
}
