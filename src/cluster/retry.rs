//! When a request that changes nothing is worth trying again, and after how long.
//!
//! The client itself already retries 429, 503 and 504 answers, honouring `Retry-After`, as the
//! API server's priority and fairness asks. What reaches this layer is what it leaves: a server
//! error (500, 502), a connection lost or refused, a request that outlived
//! `--request-timeout`. Those are retried only for reads and access reviews, which change
//! nothing however often they are sent; a change is never sent twice blindly (a flip carries a
//! resourceVersion precondition, so the safe path after a lost answer is to read again).

use std::time::Duration;

use backon::{BackoffBuilder, ExponentialBuilder};

use crate::error::Error;

/// Tries after a server error or a lost connection, the first one included.
pub const MAX_ATTEMPTS: u32 = 5;

/// Tries after a timeout, the first one included: each waits the whole `--request-timeout`.
pub const MAX_TIMEOUT_ATTEMPTS: u32 = 3;

/// The first wait, before jitter; each next one doubles, up to [`MAX_WAIT`].
pub const FIRST_WAIT: Duration = Duration::from_millis(100);

/// The longest wait between two tries, before jitter.
pub const MAX_WAIT: Duration = Duration::from_secs(2);

/// How many tries in all `error` is worth; `None` when it should not be tried again.
fn tries(error: &Error) -> Option<u32> {
    match error {
        Error::Api {
            code: 500 | 502, ..
        } => Some(MAX_ATTEMPTS),
        Error::Transport { .. } | Error::Unreachable { .. } => Some(MAX_ATTEMPTS),
        Error::Timeout { .. } => Some(MAX_TIMEOUT_ATTEMPTS),
        _ => None,
    }
}

/// Whether `error` may be passing: a server error, a lost connection, a timeout. For a change,
/// it also means the change may or may not have been made.
pub fn passing(error: &Error) -> bool {
    tries(error).is_some_and(|n| n > 1)
}

/// The waits between the tries of one request: exponential from [`FIRST_WAIT`] up to
/// [`MAX_WAIT`], each with random jitter of up to as much again (`backon`'s), so that many
/// clients that failed together do not all come back at once.
pub struct Backoff {
    waits: <ExponentialBuilder as BackoffBuilder>::Backoff,
    tried: u32,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff::new()
    }
}

impl Backoff {
    /// Before the first try.
    pub fn new() -> Backoff {
        Backoff {
            waits: ExponentialBuilder::new()
                .with_min_delay(FIRST_WAIT)
                .with_max_delay(MAX_WAIT)
                .with_jitter()
                .without_max_times()
                .build(),
            tried: 0,
        }
    }

    /// How long to wait before trying again after `error` ended a try; `None` when it should
    /// not be tried again (the error will not pass, or it was tried often enough).
    pub fn after(&mut self, error: &Error) -> Option<Duration> {
        self.tried += 1;
        if self.tried >= tries(error)? {
            return None;
        }
        self.waits.next()
    }
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

    /// How many waits `error` gets, each time, from a fresh backoff.
    fn waits(error: &Error) -> usize {
        let mut backoff = Backoff::new();
        std::iter::from_fn(|| backoff.after(error)).count()
    }

    #[test]
    fn passing_failures_are_retried_a_bounded_number_of_times() {
        assert_eq!(waits(&api(500)), MAX_ATTEMPTS as usize - 1);
        assert_eq!(waits(&api(502)), MAX_ATTEMPTS as usize - 1);
        let timeout = Error::Timeout {
            request: "get services/web".into(),
            server: "https://x".into(),
            after: Some(Duration::from_secs(1)),
            source: None,
        };
        assert_eq!(waits(&timeout), MAX_TIMEOUT_ATTEMPTS as usize - 1);
        let lost = Error::Transport {
            request: "list pods".into(),
            server: "https://x".into(),
            reason: "the connection closed before the server answered".into(),
            source: None,
        };
        assert_eq!(waits(&lost), MAX_ATTEMPTS as usize - 1);
        assert!(passing(&lost) && passing(&timeout) && passing(&api(500)));
    }

    #[test]
    fn answers_that_will_not_change_are_not_retried() {
        // 429, 503 and 504 reach this layer only once the client has retried them itself.
        for code in [400, 404, 409, 410, 422, 429, 503, 504] {
            assert_eq!(waits(&api(code)), 0, "{code}");
            assert!(!passing(&api(code)), "{code}");
        }
        let forbidden = Error::Forbidden {
            verb: "list".into(),
            resource: "pods".into(),
            namespace: "default".into(),
            context: "c".into(),
            message: "no".into(),
        };
        assert_eq!(waits(&forbidden), 0);
    }

    #[test]
    fn waits_grow_with_jitter_and_stay_bounded() {
        for _ in 0..20 {
            let mut backoff = Backoff::new();
            let error = api(500);
            let waits: Vec<Duration> = std::iter::from_fn(|| backoff.after(&error)).collect();
            assert!(
                waits[0] >= FIRST_WAIT && waits[0] <= FIRST_WAIT * 2,
                "{waits:?}"
            );
            assert!(waits[3] >= FIRST_WAIT * 8, "{waits:?}");
            assert!(waits.iter().all(|w| *w <= MAX_WAIT * 2), "{waits:?}");
        }
    }
}
