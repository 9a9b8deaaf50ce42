//! The sekimori server: a thin shell of I/O around the pure engine.
//!
//! [`ledger::Ledger`] binds the engine to the durable log (decide, sequence,
//! group-commit); [`app::App`] adds the in-flight table, the time budget and
//! the API keys; [`routes`] is the HTTP surface (axum); [`serve`] boots it.
//! The wall clock is read here only for the time budget, the future-skew
//! check on event times and audit timestamps — never by a decision.

pub mod app;
pub mod embedded;
pub mod error;
pub mod keys;
pub mod ledger;
pub mod publish;
pub mod routes;
mod serve;
pub mod telemetry;

pub use serve::{open_app, serve, ServeConfig};
