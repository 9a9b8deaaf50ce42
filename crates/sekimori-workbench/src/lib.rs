//! `sekimori-workbench`: the analyst's half of sekimori. A review queue,
//! cases, approve / decline of held events, dispositions and labels, served
//! as server-rendered HTML (maud, with htmx vendored and embedded) and as a
//! REST API by the same `sekimori serve`.
//!
//! - [`analysts`]: analyst accounts apart from API keys (argon2id password,
//!   TOTP seed sealed), `<data>/analysts.json`.
//! - [`sessions`]: cookie / bearer sessions, only token hashes kept, idle
//!   and absolute expiry in server time, per-session CSRF tokens.
//! - [`cases`]: the case index, derived from the log alone ([`Index::apply`]
//!   over every entry); [`queue`]: priority, filters, claims, next.
//! - [`acts`]: what an analyst does, logged as `Entry::Analyst`; labels as
//!   `Entry::Label`. Every action goes through the ledger ([`Host::append`]).
//! - [`web`]: the axum router (`/ui/...`, `/v1/cases...`, `/v1/labels`).
//!
//! The crate never depends on the server: the server implements [`Host`]
//! and merges [`router`] into its own.

pub mod actions;
pub mod acts;
mod admin_actions;
pub mod analyst_cli;
pub mod analyst_log;
pub mod analyst_passkeys;
mod analyst_secrets;
mod analyst_verify;
pub mod analysts;
pub mod bulk;
pub mod cases;
pub mod ceremonies;
pub mod error;
pub mod hold_actions;
pub mod host;
pub mod i18n;
pub mod money;
pub mod pages;
pub mod queue;
pub mod resend;
pub mod sessions;
pub mod testing;
pub mod throttle;
pub mod timefmt;
pub mod web;
mod workbench;

pub use cases::Index;
pub use error::WbError;
pub use host::{BoxFuture, Host};
pub use web::{router, HTMX_VERSION, ROUTES};
pub use workbench::{system_clock, Clock, Config, Workbench, DEFAULT_EDITABLE_LISTS};

/// How long a claim hides a case from the other analysts (server time).
pub const CLAIM_MS: i64 = 60 * 60_000;

/// Password checks run at once (argon2id, 19 MiB each); a sign-in that
/// waits longer than [`SIGN_IN_WAIT_MS`] for one is refused (429), so a
/// flood of sign-ins costs bounded memory and threads.
pub const MAX_SIGN_INS_IN_FLIGHT: usize = 4;
pub const SIGN_IN_WAIT_MS: u64 = 2_000;

/// Distinct supervisors whose approval releases a held event (four eyes).
/// Declining needs one analyst: refusing never releases money.
pub const APPROVERS: usize = 2;
