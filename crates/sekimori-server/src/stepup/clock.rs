//! The server's wall clock for step-up.

use std::sync::atomic::{AtomicI64, Ordering};

/// The server's wall clock for step-up, in milliseconds. Tests (in process)
/// may pin it with [`Clock::set`]; nothing over HTTP can.
#[derive(Debug)]
pub struct Clock {
    fixed: AtomicI64,
}

impl Default for Clock {
    fn default() -> Self {
        Clock {
            fixed: AtomicI64::new(i64::MIN),
        }
    }
}

impl Clock {
    /// The current time: the pinned one, else the system clock.
    pub fn now_ms(&self) -> i64 {
        match self.fixed.load(Ordering::SeqCst) {
            i64::MIN => std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_millis() as i64),
            ms => ms,
        }
    }

    /// Pins the clock at `ms` (tests).
    pub fn set(&self, ms: i64) {
        self.fixed.store(ms, Ordering::SeqCst);
    }

    /// Moves a pinned clock on by `ms` (tests).
    pub fn advance(&self, ms: i64) {
        let _ = self
            .fixed
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |t| {
                (t != i64::MIN).then(|| t.saturating_add(ms))
            });
    }
}
