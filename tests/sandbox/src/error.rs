//! API errors, answered as `metav1.Status` objects the way kube-apiserver answers them.

use serde_json::{Value, json};

/// An error the API server answers with: HTTP code, reason and details, serialised as a
/// `Status` object.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    pub code: u16,
    /// `NotFound`, `AlreadyExists`, `Conflict`, `Invalid`, ...
    pub reason: &'static str,
    pub message: String,
    /// `details.group/kind/name`, when the error is about one object.
    pub details: Option<Details>,
    /// Seconds for `Retry-After` (429).
    pub retry_after: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Details {
    pub group: String,
    pub kind: String,
    pub name: String,
    /// Field causes for 422 Invalid: (reason, message, field).
    pub causes: Vec<(String, String, String)>,
}

pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    pub fn new(code: u16, reason: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            code,
            reason,
            message: message.into(),
            details: None,
            retry_after: None,
        }
    }

    fn with_object(mut self, group: &str, plural: &str, name: &str) -> Self {
        self.details = Some(Details {
            group: group.to_string(),
            kind: plural.to_string(),
            name: name.to_string(),
            causes: Vec::new(),
        });
        self
    }

    /// `resource "name" not found`, as the real server words it.
    pub fn not_found(group: &str, plural: &str, name: &str) -> Self {
        Self::new(
            404,
            "NotFound",
            format!("{} \"{}\" not found", qualified(group, plural), name),
        )
        .with_object(group, plural, name)
    }

    pub fn already_exists(group: &str, plural: &str, name: &str) -> Self {
        Self::new(
            409,
            "AlreadyExists",
            format!("{} \"{}\" already exists", qualified(group, plural), name),
        )
        .with_object(group, plural, name)
    }

    /// The optimistic-concurrency conflict of a stale resourceVersion.
    pub fn conflict(group: &str, plural: &str, name: &str, why: &str) -> Self {
        Self::new(
            409,
            "Conflict",
            format!(
                "Operation cannot be fulfilled on {} \"{}\": {}",
                qualified(group, plural),
                name,
                why
            ),
        )
        .with_object(group, plural, name)
    }

    pub fn stale(group: &str, plural: &str, name: &str) -> Self {
        Self::conflict(
            group,
            plural,
            name,
            "the object has been modified; please apply your changes to the latest version and try again",
        )
    }

    /// 422 with field causes: `(field, message)` pairs.
    pub fn invalid(group: &str, kind: &str, name: &str, causes: Vec<(String, String)>) -> ApiError {
        let summary = causes
            .iter()
            .map(|(f, m)| format!("{f}: {m}"))
            .collect::<Vec<_>>()
            .join(", ");
        ApiError {
            code: 422,
            reason: "Invalid",
            message: format!("{kind} \"{name}\" is invalid: {summary}"),
            details: Some(Details {
                group: group.to_string(),
                kind: kind.to_string(),
                name: name.to_string(),
                causes: causes
                    .into_iter()
                    .map(|(f, m)| ("FieldValueInvalid".to_string(), m, f))
                    .collect(),
            }),
            retry_after: None,
        }
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(400, "BadRequest", message)
    }

    pub fn unauthorized() -> Self {
        Self::new(401, "Unauthorized", "Unauthorized")
    }

    /// 403 in the real server's words:
    /// `pods "x" is forbidden: User "u" cannot get resource "pods" in API group "" in the
    /// namespace "default"`. `resource` may carry a subresource (`deployments/scale`).
    pub fn forbidden(
        user: &str,
        verb: &str,
        group: &str,
        resource: &str,
        namespace: Option<&str>,
        name: Option<&str>,
    ) -> Self {
        let plural = resource.split('/').next().unwrap_or(resource);
        let what = match name {
            Some(n) if !n.is_empty() => format!("{} \"{}\"", qualified(group, plural), n),
            _ => qualified(group, plural),
        };
        let scope = match namespace {
            Some(ns) => format!("in the namespace \"{ns}\""),
            None => "at the cluster scope".to_string(),
        };
        let mut e = Self::new(
            403,
            "Forbidden",
            format!(
                "{what} is forbidden: User \"{user}\" cannot {verb} resource \"{resource}\" in API group \"{group}\" {scope}"
            ),
        );
        e.details = Some(Details {
            group: group.to_string(),
            kind: plural.to_string(),
            name: name.unwrap_or_default().to_string(),
            causes: Vec::new(),
        });
        e
    }

    pub fn gone(message: impl Into<String>) -> Self {
        Self::new(410, "Expired", message)
    }

    pub fn too_many_requests(retry_after: u64) -> Self {
        let mut e = Self::new(
            429,
            "TooManyRequests",
            "the server has received too many requests and has asked us to try again later",
        );
        e.retry_after = Some(retry_after);
        e
    }

    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(
            500,
            "InternalError",
            format!("Internal error occurred: {}", message.into()),
        )
    }

    pub fn method_not_allowed(message: impl Into<String>) -> Self {
        Self::new(405, "MethodNotAllowed", message)
    }

    /// 415 for a patch whose `Content-Type` is no patch type.
    pub fn unsupported_media_type(content_type: &str) -> Self {
        Self::new(
            415,
            "UnsupportedMediaType",
            format!(
                "the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml, application/strategic-merge-patch+json (got {content_type})"
            ),
        )
    }

    /// 415 for an object body the server cannot read.
    pub fn unsupported_body_type(content_type: &str) -> Self {
        Self::new(
            415,
            "UnsupportedMediaType",
            format!(
                "the body of the request was in an unknown format - accepted media types include: application/json, application/yaml (got {content_type})"
            ),
        )
    }

    /// A path the server does not serve, in the real server's words.
    pub fn path_not_found() -> Self {
        Self::new(
            404,
            "NotFound",
            "the server could not find the requested resource",
        )
    }

    /// A `Status` for an HTTP code alone (injected faults), with the reason and wording the
    /// real server uses for that code.
    pub fn for_code(code: u16) -> Self {
        match code {
            400 => Self::bad_request("the server rejected our request for an unknown reason"),
            401 => Self::unauthorized(),
            403 => Self::new(
                403,
                "Forbidden",
                "forbidden: the server does not allow access to the requested resource",
            ),
            404 => Self::path_not_found(),
            405 => Self::method_not_allowed(
                "the server does not allow this method on the requested resource",
            ),
            409 => Self::new(409, "Conflict", "the server reported a conflict"),
            410 => Self::gone("the resource has been removed"),
            415 => Self::new(
                415,
                "UnsupportedMediaType",
                "the server does not support the media type",
            ),
            422 => Self::new(
                422,
                "Invalid",
                "the server rejected our request due to an error in our request",
            ),
            429 => Self::too_many_requests(1),
            500 => {
                Self::internal("an error on the server has prevented the request from succeeding")
            }
            503 => Self::new(
                503,
                "ServiceUnavailable",
                "the server is currently unable to handle the request",
            ),
            504 => Self::new(
                504,
                "Timeout",
                "the server was unable to return a response in the time allotted, but may still be processing the request",
            ),
            _ => Self::new(
                code,
                "",
                format!("the server responded with the status code {code}"),
            ),
        }
    }

    /// The `metav1.Status` object for this error.
    pub fn to_status(&self) -> Value {
        let mut status = json!({
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        });
        if let Some(d) = &self.details {
            let mut details = json!({});
            if !d.name.is_empty() {
                details["name"] = json!(d.name);
            }
            if !d.group.is_empty() {
                details["group"] = json!(d.group);
            }
            if !d.kind.is_empty() {
                details["kind"] = json!(d.kind);
            }
            if !d.causes.is_empty() {
                details["causes"] = d
                    .causes
                    .iter()
                    .map(|(reason, message, field)| {
                        json!({"reason": reason, "message": message, "field": field})
                    })
                    .collect();
            }
            if let Some(secs) = self.retry_after {
                details["retryAfterSeconds"] = json!(secs);
            }
            status["details"] = details;
        } else if let Some(secs) = self.retry_after {
            status["details"] = json!({ "retryAfterSeconds": secs });
        }
        status
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", self.message, self.code)
    }
}

impl std::error::Error for ApiError {}

/// `deployments.apps` for grouped resources, `pods` for the core group.
fn qualified(group: &str, plural: &str) -> String {
    if group.is_empty() {
        plural.to_string()
    } else {
        format!("{plural}.{group}")
    }
}
