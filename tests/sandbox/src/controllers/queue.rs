//! A work queue keyed by object, as client-go's rate-limited queues are used by the real
//! controllers: a key queued several times before it is processed is processed once, and a
//! key may be queued for later (a readiness timer, the Endpoints propagation delay).

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, HashSet, VecDeque};
use std::hash::Hash;
use std::sync::Mutex;
use std::time::Duration;

use tokio::sync::Notify;
use tokio::time::Instant;

pub(crate) struct Queue<K> {
    inner: Mutex<Inner<K>>,
    notify: Notify,
}

struct Inner<K> {
    ready: VecDeque<K>,
    queued: HashSet<K>,
    /// Delayed keys by due time; an entry whose time no longer equals `due[key]` is stale.
    delayed: BinaryHeap<Reverse<(Instant, u64, K)>>,
    due: HashMap<K, Instant>,
    seq: u64,
}

impl<K: Clone + Eq + Hash + Ord> Queue<K> {
    pub(crate) fn new() -> Queue<K> {
        Queue {
            inner: Mutex::new(Inner {
                ready: VecDeque::new(),
                queued: HashSet::new(),
                delayed: BinaryHeap::new(),
                due: HashMap::new(),
                seq: 0,
            }),
            notify: Notify::new(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner<K>> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Queues `key` for processing now (once, however often it is added before then).
    pub(crate) fn add(&self, key: K) {
        let mut q = self.lock();
        if q.queued.insert(key.clone()) {
            q.ready.push_back(key);
            drop(q);
            self.notify.notify_one();
        }
    }

    /// Queues `key` after `delay`, unless it is already due earlier.
    pub(crate) fn add_after(&self, key: K, delay: Duration) {
        if delay.is_zero() {
            self.add(key);
            return;
        }
        let at = Instant::now() + delay;
        let mut q = self.lock();
        if q.due.get(&key).is_some_and(|t| *t <= at) {
            return;
        }
        q.due.insert(key.clone(), at);
        q.seq += 1;
        let seq = q.seq;
        q.delayed.push(Reverse((at, seq, key)));
        drop(q);
        self.notify.notify_one();
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        let q = self.lock();
        q.ready.len() + q.due.len()
    }

    /// The next key to process, waiting for one to be queued or come due.
    pub(crate) async fn next(&self) -> K {
        loop {
            let wake_at = {
                let mut q = self.lock();
                let now = Instant::now();
                while let Some(Reverse((at, _, _))) = q.delayed.peek() {
                    if *at > now {
                        break;
                    }
                    let Some(Reverse((at, _, key))) = q.delayed.pop() else {
                        break;
                    };
                    if q.due.get(&key) == Some(&at) {
                        q.due.remove(&key);
                        if q.queued.insert(key.clone()) {
                            q.ready.push_back(key);
                        }
                    }
                }
                if let Some(key) = q.ready.pop_front() {
                    q.queued.remove(&key);
                    return key;
                }
                q.delayed.peek().map(|Reverse((at, _, _))| *at)
            };
            match wake_at {
                Some(at) => {
                    tokio::select! {
                        _ = self.notify.notified() => {}
                        _ = tokio::time::sleep_until(at) => {}
                    }
                }
                None => self.notify.notified().await,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Paused time: the clock only moves when every task waits, so the delays are exact however
    // loaded the machine is.
    #[tokio::test(start_paused = true)]
    async fn deduplicates_and_delays() {
        let q = Queue::new();
        q.add("a".to_string());
        q.add("a".to_string());
        q.add_after("b".to_string(), Duration::from_millis(30));
        q.add_after("b".to_string(), Duration::from_millis(5));
        assert_eq!(q.next().await, "a");
        let t = Instant::now();
        assert_eq!(q.next().await, "b");
        // The earlier of the two due times wins.
        let waited = t.elapsed();
        assert!(
            waited >= Duration::from_millis(5) && waited < Duration::from_millis(30),
            "{waited:?}"
        );
        assert_eq!(q.len(), 0);
    }
}
