//! The sekimori server: a thin shell of I/O around the pure engine.
//!
//! [`ledger::Ledger`] (the `sekimori-ledger` crate) binds the engine to the
//! durable log (decide, sequence, append); [`app::App`] adds the in-flight table, the time budget and
//! the API keys; [`routes`] is the HTTP surface (axum); [`serve`] boots it;
//! [`stepup`] keeps the step-up methods (TOTP, transaction signing, passkeys,
//! SMS / e-mail codes) durable in the store; [`notices`] sends holder
//! notices and hold alerts to the `--notify-url` webhook.
//! The wall clock is read here only for the time budget, the future-skew
//! check on event times and audit timestamps — never by a decision.

pub mod app;
#[cfg(feature = "cluster")]
pub mod cluster;
pub mod error;
pub mod keys;
pub mod notices;
pub mod publish;
pub mod routes;
mod serve;
pub mod stepup;
pub mod telemetry;
/// The analyst workbench (`sekimori-workbench`) mounted at `/ui/`.
pub mod workbench;

/// The ledger (engine + log) lives in its own crate; this path stays for
/// the server's modules and older callers.
pub use sekimori_ledger as ledger;
/// The embedded default pack lives with the rules.
pub use sekimori_rules::embedded;

pub use serve::{
    adopt_metrics, engine_budget, open_app, serve, ServeConfig, DEFAULT_RP_ID, DEFAULT_RP_NAME,
    DEFAULT_RP_ORIGIN,
};
