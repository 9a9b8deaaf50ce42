//! Rule packs: facts (features) and decisions (rules) declared as data.
//!
//! A pack is written as YAML ([`load_pack`]), travels as JSON ([`PackSource`]),
//! and is compiled ([`compile`]) into a [`Pack`] only if every part of it is
//! sound: names, event types, windows, CEL expressions (parsed, bounded in
//! size, reading only `event`, `features` and `lists`, and only fields,
//! features and lists that exist) and test expectations. A pack that fails
//! any check never reaches the engine.
//!
//! This crate knows nothing of HTTP, storage or time; CEL is reached only
//! through [`Expr`].

// The decision path's guard (clippy.toml; ARCHITECTURE.md, invariants): no
// float, clock, file, socket, thread or environment variable.
#![deny(
    clippy::disallowed_types,
    clippy::disallowed_methods,
    clippy::float_arithmetic
)]

mod action;
mod compile;
mod duration;
pub mod embedded;
// CEL has doubles: a double literal or a fractional JSON number under
// `attrs` is an f64 here (never computed with by the fast evaluator, which
// falls back; compared by the interpreter). No rule of the default pack has
// one; refusing them in rule conditions is the rules compiler's next step.
#[allow(clippy::disallowed_types)]
mod expr;
mod fields;
mod lint;
// Pack loading reads files; it is not deciding.
#[allow(clippy::disallowed_methods)]
mod load;
mod money;
mod pack;
mod params;
mod source;

pub use action::{combine, Action, Combined, HaltScope, RuleAction, Verdict};
pub use compile::{
    compile, fallback_methods, PackError, MAX_CONDITIONS, MAX_FEATURES, MAX_RULES, VOUCHING,
};
pub use duration::parse_ms;
pub use expr::{
    event_view, fallback_counts, lookup, EventRef, Expr, FallbackCount, ListValues, Part, Refs,
    Vars, MAX_EXPR_BRACKETS, MAX_EXPR_BYTES, MAX_EXPR_DEPTH, MAX_EXPR_NODES,
};
pub use fields::{DERIVED_ACTOR, DERIVED_COUNTERPARTY, DERIVED_TOP};
pub use lint::{lint, Lint};
pub use load::{load_embedded, load_pack, rule_files, LoadError};
pub use money::{convert_down, crypto_exponent, iso_exponent, parse_amount, parse_rate, Rate};
pub use pack::{Feature, Pack, Plan, ProfileKind, Rule, Settings};
pub use params::{exponent, Param, Params};
pub use source::*;
