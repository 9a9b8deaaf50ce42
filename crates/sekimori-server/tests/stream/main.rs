//! Issue 16 part 4: `POST /v1/events/stream`, one module per concern:
//! - `answers`: answers come in the order of the lines, one per non-blank
//!   line, each durable before it is written; a bad line is answered with
//!   its error and the stream goes on; each line is checked against the key
//!   as a single event is; duplicates answer the original;
//! - `commits`: a line is answered when the commit holding its entry lands,
//!   not after the rest of its chunk; a failed commit answers every event of
//!   its group `store_failed`;
//! - `limits`: overload answers `engine_busy` per event (never a decision
//!   the engine did not make) and stores nothing; stream places per tenant;
//!   a stream with no body;
//! - `lifecycle`: a client that goes away mid-stream loses nothing it was
//!   answered, and what it sent in full is decided and logged; a key revoked
//!   mid-stream ends it.

#[path = "../common/mod.rs"]
mod common;

mod answers;
mod commits;
mod lifecycle;
mod limits;
mod support;
