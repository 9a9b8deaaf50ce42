//! The decision pipeline: event -> features -> rules -> decision.
//!
//! [`Engine`] is pure and deterministic: no I/O, no threads, no clock, no
//! randomness. Time is the events' own. The server, the store and the CLI
//! are shells around it; the simulator and `sekimori replay` drive the very
//! same code.

// The decision path's guard (clippy.toml; ARCHITECTURE.md, invariants): no
// float, clock, file, socket, thread or environment variable.
#![deny(
    clippy::disallowed_types,
    clippy::disallowed_methods,
    clippy::float_arithmetic
)]

mod admit;
mod budget;
mod decision;
mod engine;
mod entry;
mod features;
mod graph;
mod holds;
mod observe;
mod pack_test;
mod profiles;
mod risk;
mod state;
mod view;

pub use budget::{MemoryStats, KINDS as MEMORY_KINDS};
pub use decision::{
    Decision, EvalError, Features, FeaturesIter, HoldKey, HoldScope, PackRef, Reason, EVERY_SERVICE,
};
pub use engine::{Engine, StateCopy};
pub use entry::Entry;
pub use holds::{Hold, Holds};
pub use observe::OBSERVED_ATTR;
pub use pack_test::{run_pack_tests, TestOutcome};
pub use view::{event_view, ip_net, Prepared};
