//! When a request that changes nothing is worth trying again, and after how long.
//!
//! The client itself already retries 429, 503 and 504 answers, honouring `Retry-After`, as the
//! API server's priority and fairness asks. What reaches this layer is what it leaves: a server
//! error (500, 502), a connection lost or refused, a request that outlived
//! `--request-timeout`. Those are retried only for reads and access reviews, which change
//! nothing however often they are sent; a change is never sent twice blindly (a flip carries a
//! resourceVersion precondition, so the safe path after a lost answer is to read again).

use std::time::Duration;

use crate::error::Error;

/// Tries after a server error or a lost connection, the first one included.
pub const MAX_ATTEMPTS: u32 = 5;

/// Tries after a timeout, the first one included: each waits the whole `--request-timeout`.
pub const MAX_TIMEOUT_ATTEMPTS: u32 = 3;

/// The first wait; each next one doubles, up to [`MAX_WAIT`].
pub const FIRST_WAIT: Duration = Duration::from_millis(100);

/// The longest wait between two tries.
pub const MAX_WAIT: Duration = Duration::from_secs(2);

/// How long to wait before trying an idempotent request again after `error`, which ended try
/// number `attempt + 1`; `None` when it should not be tried again.
pub fn after(error: &Error, attempt: u32) -> Option<Duration> {
    let limit = match error {
        Error::Api {
            code: 500 | 502, ..
        } => MAX_ATTEMPTS,
        Error::Transport { .. } | Error::Unreachable { .. } => MAX_ATTEMPTS,
        Error::Timeout { .. } => MAX_TIMEOUT_ATTEMPTS,
        _ => return None,
    };
    if attempt + 1 >= limit {
        return None;
    }
    Some(backoff(attempt))
}

/// Whether `error` may be passing: a server error, a lost connection, a timeout. For a change,
/// it also means the change may or may not have been made.
pub fn passing(error: &Error) -> bool {
    after(error, 0).is_some()
}

/// Exponential backoff with up to a quarter of jitter, so that many clients that failed
/// together do not all come back at once.
pub fn backoff(attempt: u32) -> Duration {
    let base = FIRST_WAIT
        .saturating_mul(1u32 << attempt.min(16))
        .min(MAX_WAIT);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or_default();
    let jitter = base.mul_f64(f64::from(nanos % 1000) / 4000.0);
    base + jitter
}

#[cfg(test)]
mod tests {
    use super::*;

    fn api(code: u16) -> Error {
        Error::Api {
            request: "list pods".into(),
            server: "https://x".into(),
            code,
            message: "m".into(),
        }
    }

    #[test]
    fn passing_failures_are_retried_a_bounded_number_of_times() {
        assert!(after(&api(500), 0).is_some());
        assert!(after(&api(500), MAX_ATTEMPTS - 2).is_some());
        assert!(after(&api(500), MAX_ATTEMPTS - 1).is_none());
        let timeout = Error::Timeout {
            request: "get services/web".into(),
            server: "https://x".into(),
            after: Duration::from_secs(1),
        };
        assert!(after(&timeout, MAX_TIMEOUT_ATTEMPTS - 2).is_some());
        assert!(after(&timeout, MAX_TIMEOUT_ATTEMPTS - 1).is_none());
        let lost = Error::Transport {
            request: "list pods".into(),
            server: "https://x".into(),
            reason: "connection closed before message completed".into(),
        };
        assert!(after(&lost, 0).is_some());
    }

    #[test]
    fn answers_that_will_not_change_are_not_retried() {
        // 429, 503 and 504 reach this layer only once the client has retried them itself.
        for code in [400, 404, 409, 410, 422, 429, 503, 504] {
            assert!(after(&api(code), 0).is_none(), "{code}");
        }
        let forbidden = Error::Forbidden {
            verb: "list".into(),
            resource: "pods".into(),
            namespace: "default".into(),
            context: "c".into(),
            message: "no".into(),
        };
        assert!(after(&forbidden, 0).is_none());
    }

    #[test]
    fn waits_grow_and_stay_bounded() {
        let first = backoff(0);
        assert!(first >= FIRST_WAIT && first <= FIRST_WAIT.mul_f64(1.25));
        assert!(backoff(3) >= FIRST_WAIT * 8);
        assert!(backoff(30) <= MAX_WAIT.mul_f64(1.25));
    }
}
