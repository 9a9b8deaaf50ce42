//! The sekimori server: a thin shell of I/O around the pure engine.
//!
//! [`ledger::Ledger`] binds the engine to the durable log (decide, sequence,
//! group-commit); [`app::App`] adds the in-flight table, the time budget and
//! the API keys; [`routes`] is the HTTP surface (axum); [`serve`] boots it;
//! [`stepup`] keeps the step-up methods (TOTP, transaction signing, passkeys,
//! SMS / e-mail codes) durable in the store; [`notices`] sends holder
//! notices and hold alerts to the `--notify-url` webhook.
//! The wall clock is read here only for the time budget, the future-skew
//! check on event times and audit timestamps — never by a decision.

pub mod app;
pub mod embedded;
pub mod error;
pub mod keys;
pub mod ledger;
pub mod notices;
pub mod publish;
pub mod routes;
mod serve;
pub mod stepup;
pub mod telemetry;

pub use serve::{
    engine_budget, open_app, serve, ServeConfig, DEFAULT_RP_ID, DEFAULT_RP_NAME, DEFAULT_RP_ORIGIN,
};
