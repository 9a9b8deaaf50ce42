//! The wall clock: the one place the ledger and the server read it, for
//! audit timestamps and the time an operator's hold records in its entry
//! (a replay reads the entry, never the clock). Never an input to a
//! decision.

/// Wall-clock reads, in Unix milliseconds.
#[derive(Debug, Clone, Copy, Default)]
pub struct WallClock;

impl WallClock {
    /// Now, in Unix milliseconds (0 before 1970).
    pub fn now_ms(self) -> i64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as i64)
    }

    /// Now, as RFC 3339 with milliseconds.
    pub fn rfc3339(self) -> String {
        sekimori_event::format_rfc3339_ms(self.now_ms())
    }
}

/// Audit timestamps only; never an input to a decision.
pub fn wall_clock_rfc3339() -> String {
    WallClock.rfc3339()
}

/// The wall clock in Unix milliseconds: audit timestamps, and the time of an
/// operator's hold, which its log entry records (replay reads the entry).
pub fn wall_clock_ms() -> i64 {
    WallClock.now_ms()
}
