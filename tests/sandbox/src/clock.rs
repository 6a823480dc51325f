//! The sandbox's sense of time: every delay a controller or the kubelet stand-in waits is
//! divided by a speed factor, so tests run in milliseconds what a cluster does in seconds.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Shared speed setting. `speed` 1.0 is real time; 100.0 makes a 3 s readiness delay 30 ms.
#[derive(Clone, Debug)]
pub struct Clock {
    speed_bits: Arc<AtomicU64>,
}

impl Default for Clock {
    fn default() -> Self {
        Clock::new(1.0)
    }
}

impl Clock {
    pub fn new(speed: f64) -> Clock {
        Clock {
            speed_bits: Arc::new(AtomicU64::new(sanitize(speed).to_bits())),
        }
    }

    pub fn speed(&self) -> f64 {
        f64::from_bits(self.speed_bits.load(Ordering::Relaxed))
    }

    pub fn set_speed(&self, speed: f64) {
        self.speed_bits
            .store(sanitize(speed).to_bits(), Ordering::Relaxed);
    }

    /// The wall-clock time a cluster delay of `d` takes at the current speed.
    pub fn scaled(&self, d: Duration) -> Duration {
        d.div_f64(self.speed())
    }

    /// Sleeps for the cluster delay `d` at the current speed.
    pub async fn sleep(&self, d: Duration) {
        tokio::time::sleep(self.scaled(d)).await
    }
}

fn sanitize(speed: f64) -> f64 {
    if speed.is_finite() && speed > 0.0 {
        speed
    } else {
        1.0
    }
}
