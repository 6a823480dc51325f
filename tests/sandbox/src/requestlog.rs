//! The request log: every request the server received, for asserting exactly what a client
//! sent ("promote sent one PATCH to services/web and nothing else").

use std::sync::Mutex;

/// One request as received, with the status it was answered with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoggedRequest {
    pub method: String,
    /// The URL path, without the query (`/api/v1/namespaces/default/services/web`).
    pub path: String,
    /// The raw query string (`labelSelector=app%3Dweb`), empty when there is none.
    pub query: String,
    pub content_type: Option<String>,
    /// The request body (lossy UTF-8), empty for bodiless requests.
    pub body: String,
    /// The HTTP status answered; 0 while the request is still being handled (a hanging
    /// request) and for connections closed by a fault.
    pub status: u16,
}

impl LoggedRequest {
    /// Whether the request changes (or would change) the cluster: POST, PUT, PATCH or DELETE,
    /// except creating a SelfSubjectAccessReview, which only asks a question.
    pub fn is_mutating(&self) -> bool {
        matches!(self.method.as_str(), "POST" | "PUT" | "PATCH" | "DELETE")
            && !self.path.ends_with("/selfsubjectaccessreviews")
    }

    /// The value of one query parameter, decoded.
    pub fn query_param(&self, key: &str) -> Option<String> {
        url::form_urlencoded::parse(self.query.as_bytes())
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.into_owned())
    }

    /// Whether this is a `dryRun` request (which changes nothing).
    pub fn is_dry_run(&self) -> bool {
        self.query_param("dryRun").is_some() || self.body.contains("\"dryRun\"")
    }
}

/// The log itself. Entries are appended when a request arrives and completed when it is
/// answered, so they are in arrival order.
#[derive(Default)]
pub struct RequestLog {
    entries: Mutex<Vec<(u64, LoggedRequest)>>,
    next_id: std::sync::atomic::AtomicU64,
}

impl RequestLog {
    /// Records an arriving request; the id is for [`RequestLog::finish`].
    pub fn start(&self, req: LoggedRequest) -> u64 {
        let id = self
            .next_id
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.lock().push((id, req));
        id
    }

    /// Records the status a request was answered with.
    pub fn finish(&self, id: u64, status: u16) {
        let mut entries = self.lock();
        // Recent requests finish first, so search from the end.
        if let Some((_, e)) = entries.iter_mut().rev().find(|(i, _)| *i == id) {
            e.status = status;
        }
    }

    pub fn snapshot(&self) -> Vec<LoggedRequest> {
        self.lock().iter().map(|(_, e)| e.clone()).collect()
    }

    pub fn clear(&self) {
        self.lock().clear();
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<(u64, LoggedRequest)>> {
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(method: &str, path: &str) -> LoggedRequest {
        LoggedRequest {
            method: method.into(),
            path: path.into(),
            query: "dryRun=All&fieldManager=x".into(),
            content_type: None,
            body: String::new(),
            status: 0,
        }
    }

    #[test]
    fn mutating_excludes_access_reviews() {
        assert!(req("PATCH", "/api/v1/namespaces/default/services/web").is_mutating());
        assert!(!req("GET", "/api/v1/pods").is_mutating());
        assert!(
            !req(
                "POST",
                "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews"
            )
            .is_mutating()
        );
    }

    #[test]
    fn finish_sets_status_of_the_right_entry() {
        let log = RequestLog::default();
        let a = log.start(req("GET", "/a"));
        let b = log.start(req("GET", "/b"));
        log.finish(a, 200);
        log.finish(b, 404);
        let s = log.snapshot();
        assert_eq!((s[0].status, s[1].status), (200, 404));
        assert_eq!(s[0].query_param("dryRun").as_deref(), Some("All"));
    }
}
