//! `sekimori-ledger`: the engine bound to its durable log, with no HTTP.
//!
//! [`Ledger`] decides (or applies) under the caller's lock, assigns the next
//! sequence number and appends the entry to a [`Log`]; it restores from the
//! latest snapshot and the log after it ([`Replica`]). The embedded log is
//! [`sekimori_store::Store`] (redb, group commit); a replicated log
//! implements the same trait. The wall clock is read only through
//! [`clock`], for audit timestamps.

pub mod clock;
#[cfg(feature = "jetstream")]
pub mod jetstream;
mod ledger;
pub mod log;
mod replica;
pub mod telemetry;

pub use clock::{wall_clock_ms, wall_clock_rfc3339, WallClock};
pub use ledger::*;
pub use log::{Durable, Entries, Log, Record, StepUpWrites};
pub use replica::Replica;
