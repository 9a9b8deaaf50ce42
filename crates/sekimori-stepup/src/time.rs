//! The two clocks of a step-up.
//!
//! Every step-up request carries its own `at` (the caller's time of the step,
//! written into the `mfa.result` event, so the log replays deterministically).
//! `at` alone cannot bound a challenge's life: a caller who may choose `at`
//! could answer an expired challenge "a little earlier". So every challenge,
//! ceremony and code also records the **server's** wall-clock time at issue,
//! passed in by the server (this crate reads no clock), and a verification is
//! refused when *either* clock says it is too late:
//!
//! * `at` earlier than the issue's own `at`: [`TimeRefusal::BeforeIssue`];
//! * `at >= issued_at + ttl` or `server >= issued_server + ttl`:
//!   [`TimeRefusal::Expired`], and the challenge stays expired for good
//!   (callers mark it, so a later request with an older `at` finds it dead).

use serde::{Deserialize, Serialize};

/// The time of one request: its `at` and the server's wall clock when it
/// was handled, both in milliseconds since the Unix epoch.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Now {
    /// The request's own `at`.
    pub at_ms: i64,
    /// The server's wall clock.
    pub server_ms: i64,
}

impl Now {
    /// A request at `at_ms` handled at server time `server_ms`.
    pub fn new(at_ms: i64, server_ms: i64) -> Now {
        Now { at_ms, server_ms }
    }

    /// `|at - server|` in milliseconds.
    pub fn skew_ms(&self) -> i64 {
        self.at_ms.saturating_sub(self.server_ms).saturating_abs()
    }
}

impl From<i64> for Now {
    /// An instant on which `at` and the server clock agree (tests, replays).
    fn from(ms: i64) -> Now {
        Now {
            at_ms: ms,
            server_ms: ms,
        }
    }
}

/// Why a time-limited step-up can no longer be answered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimeRefusal {
    /// The request's `at` is earlier than the challenge's own issue `at`.
    BeforeIssue,
    /// Past the lifetime, by `at` or by the server clock.
    Expired,
}

/// Checks a request at `now` against something issued at
/// (`issued_at_ms`, `issued_server_ms`) that lives `ttl_ms`.
pub fn check_window(
    issued_at_ms: i64,
    issued_server_ms: i64,
    ttl_ms: i64,
    now: Now,
) -> Result<(), TimeRefusal> {
    if now.at_ms < issued_at_ms {
        return Err(TimeRefusal::BeforeIssue);
    }
    if now.at_ms >= issued_at_ms.saturating_add(ttl_ms)
        || now.server_ms >= issued_server_ms.saturating_add(ttl_ms)
    {
        return Err(TimeRefusal::Expired);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn either_clock_expires() {
        let ttl = 300_000;
        assert_eq!(
            check_window(1_000, 50_000, ttl, Now::new(2_000, 60_000)),
            Ok(())
        );
        // at still young, the server clock is past the lifetime
        assert_eq!(
            check_window(1_000, 50_000, ttl, Now::new(2_000, 350_000)),
            Err(TimeRefusal::Expired)
        );
        // server young, at past the lifetime
        assert_eq!(
            check_window(1_000, 50_000, ttl, Now::new(301_000, 60_000)),
            Err(TimeRefusal::Expired)
        );
        assert_eq!(
            check_window(1_000, 50_000, ttl, Now::new(999, 60_000)),
            Err(TimeRefusal::BeforeIssue)
        );
        // a record written before the server time was kept (0) is expired
        assert_eq!(
            check_window(1_000, 0, ttl, Now::new(2_000, 60_000_000)),
            Err(TimeRefusal::Expired)
        );
    }
}
