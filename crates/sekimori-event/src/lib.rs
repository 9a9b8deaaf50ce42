//! The event vocabulary of sekimori, version 1.
//!
//! Every login, link, payee change, money movement and custody action a service
//! reports is one [`Event`]: a common envelope (`id`, `type`, `at`, `service`,
//! `actor`, `attrs`) plus the fields of its type ([`Body`]). Decoding is strict:
//! unknown event types and unknown fields are rejected with the path of the
//! offending field; free-form extras belong under `attrs`. Any field whose name
//! says it holds a secret in the clear (`password`, `pin`, `otp`, ...), anywhere
//! in the event, rejects the whole event before anything is stored; so does a
//! key repeated in one object (`duplicate_field`). Error paths show at most
//! [`MAX_NAME_IN_PATH`] bytes of a field name and never a control character.
//!
//! Money is always an integer count of minor units (`amount_minor`: yen,
//! satoshi, micro-XEM) beside a `currency` or asset code; never a float.
//! Time is the event's own `at`, kept as milliseconds since the Unix epoch.

// The decision path's guard (clippy.toml; ARCHITECTURE.md, invariants): no
// float, clock, file, socket, thread or environment variable.
#![deny(
    clippy::disallowed_types,
    clippy::disallowed_methods,
    clippy::float_arithmetic
)]

mod body;
mod canonical;
mod claimed;
mod decode;
mod derived;
mod envelope;
mod error;
// A JSON number with a fraction (only possible under `attrs`) is kept as the
// document's number, parsed (correctly rounded) and never computed with, so
// the log stores what was sent; whether a rule may read it is the rules
// compiler's to decide (see ARCHITECTURE.md, invariants).
#[allow(clippy::disallowed_types)]
mod json;
mod kind;
mod names;
mod schema;
mod secret;
// Passes every number on to the visitor it wraps (a float included, which
// the event types then refuse); it never computes with one.
#[allow(clippy::disallowed_types)]
pub mod strict;

pub use body::*;
pub use claimed::canonical_claim;
pub use decode::{decode, decode_value, MAX_EVENT_BYTES};
pub use derived::{ip_host, ip_net};
pub use envelope::{format_rfc3339_ms, parse_rfc3339_ms, Actor, Event, MAX_AT_MS, MIN_AT_MS};
pub use error::{render_path, DecodeError, DECODE_CODES};
pub use json::{check_unique, duplicate_field, parse_unique};
pub use kind::EventKind;
pub use names::{field_name, MAX_NAME_IN_PATH};
pub use schema::json_schema;
pub use secret::is_secret_field_name;
