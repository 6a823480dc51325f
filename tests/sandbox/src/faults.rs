//! Fault injection: make matching requests fail, hang, lose their connection or (watches)
//! expire; end every open watch; slow every request down. The rules are the `bluegreen-faults`
//! vocabulary, shared with the fault proxy in front of the real API server.

use std::sync::Mutex;
use std::time::Duration;

pub use ::faults::{FaultAction, FaultRequest, FaultRule, FaultRules};

/// The fault controls of one sandbox.
pub struct Faults {
    rules: FaultRules,
    latency: Mutex<Duration>,
    /// Bumped by [`Faults::drop_watches`]; every watch stream ends when it changes.
    watch_generation: tokio::sync::watch::Sender<u64>,
    /// Bumped by [`Faults::release_hangs`]; every hanging request goes on when it changes.
    hang_generation: tokio::sync::watch::Sender<u64>,
}

impl Default for Faults {
    fn default() -> Self {
        Faults {
            rules: FaultRules::default(),
            latency: Mutex::new(Duration::ZERO),
            watch_generation: tokio::sync::watch::Sender::new(0),
            hang_generation: tokio::sync::watch::Sender::new(0),
        }
    }
}

impl Faults {
    /// Adds a rule. Rules are tried in the order added; the first match applies.
    pub fn add(&self, rule: FaultRule) {
        self.rules.add(rule);
    }

    /// Removes every rule and the added latency.
    pub fn clear(&self) {
        self.rules.clear();
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
        self.rules.pending()
    }

    /// The action for a request, consuming one use of the first matching rule.
    pub fn take(&self, request: &FaultRequest<'_>) -> Option<FaultAction> {
        self.rules.take(request)
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
