//! `sekimori-backtest`: is the pack right? Feedback from the labels in the
//! log (issue 14, part 5).
//!
//! - **Rule quality** ([`run`] without a candidate): over a window of the
//!   stored log, per pack version and per rule (shadow rules included and
//!   marked), the events each fired on that were later labelled fraud (true
//!   positives) or legitimate (false positives), the events labelled fraud
//!   that no enforced rule caught (misses), precision and recall in basis
//!   points, and the friction on events not labelled fraud; and the same
//!   per service (each tenant's own precision, recall and friction), or
//!   the whole report for one service ([`Request::service`]).
//! - **Backtest** ([`run`] with a candidate pack): the window replayed with
//!   the candidate from the state at its start, and what changed: how many
//!   decisions, from what to what, which events (a bounded sample), and both
//!   packs' precision and recall against the same labels.
//!
//! Everything is read from a [`sekimori_store::Store`] and nothing is
//! written. Counts are integers, ratios basis points, maps ordered: the
//! same log and pack give the same [`Report`] byte for byte. See
//! docs/backtest.md for the exact semantics.

pub mod html;
pub mod labels;
pub mod quality;
mod run;
pub mod text;

pub use labels::{class_of, Class, Labels};
pub use quality::{
    bp, ByService, Friction, PackQuality, Quality, RuleQuality, ServiceQuality, Tally,
};
pub use run::{run, Backtest, Change, LabelInfo, Report, Request, Transition, WindowInfo};

/// A window of event time, `[from_ms, to_ms)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Window {
    pub from_ms: i64,
    pub to_ms: i64,
}

impl Window {
    /// From two times as [`parse_time`] reads them; `from` must precede `to`.
    pub fn parse(from: &str, to: &str) -> Result<Window, Error> {
        let f = parse_time(from).ok_or_else(|| Error::Window(format!("--from `{from}`")))?;
        let t = parse_time(to).ok_or_else(|| Error::Window(format!("--to `{to}`")))?;
        if f >= t {
            return Err(Error::Window("--from must be before --to".into()));
        }
        Ok(Window {
            from_ms: f,
            to_ms: t,
        })
    }
}

/// An RFC 3339 time (`2026-06-24T09:00:00Z`, `...+09:00`) or a date
/// (`2026-06-24`, midnight UTC), in milliseconds.
pub fn parse_time(s: &str) -> Option<i64> {
    let s = s.trim();
    if s.len() == 10 && s.as_bytes().get(4) == Some(&b'-') {
        return sekimori_event::parse_rfc3339_ms(&format!("{s}T00:00:00Z"));
    }
    sekimori_event::parse_rfc3339_ms(s)
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("store: {0}")]
    Store(#[from] sekimori_store::StoreError),
    #[error("{0}")]
    Ledger(#[from] sekimori_ledger::LedgerError),
    #[error("log entry does not decode: {0}")]
    Corrupt(String),
    #[error("not a time (RFC 3339 or YYYY-MM-DD): {0}")]
    Window(String),
    #[error("no stored pack `{0}`")]
    NoPack(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_rfc3339_or_dates() {
        assert_eq!(parse_time("1970-01-02"), Some(86_400_000));
        assert_eq!(parse_time("1970-01-01T09:00:00+09:00"), Some(0));
        assert!(parse_time("yesterday").is_none());
        assert!(Window::parse("1970-01-02", "1970-01-01").is_err());
        let w = Window::parse("1970-01-01", "1970-01-02").expect("a window");
        assert_eq!((w.from_ms, w.to_ms), (0, 86_400_000));
    }
}
