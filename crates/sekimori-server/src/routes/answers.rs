//! The answers of the routes as typed structs (what the handlers serialize,
//! and what the OpenAPI document describes), and the document's mirrors of
//! the engine's types the server answers as they are (`Decision`,
//! `HoldKey`, the ingest `Answer`). A mirror that drifts from its type is
//! caught by schemathesis's response conformance check.

use crate::app::Answer;
use crate::error::ErrorBody;
use serde::Serialize;
use utoipa::ToSchema;

/// The engine's action, in increasing severity.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = Action)]
pub enum ActionDoc {
    Allow,
    Challenge,
    Review,
    Deny,
    Freeze,
    Halt,
}

/// A rule's action: an [`ActionDoc`], or `flag` (informs only).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = RuleAction)]
pub enum RuleActionDoc {
    Allow,
    Flag,
    Challenge,
    Review,
    Deny,
    Freeze,
    Halt,
}

/// What a hold holds.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = HoldScope)]
pub enum HoldScopeDoc {
    Account,
    Service,
    Asset,
    Wallet,
    Bank,
}

/// What a freeze or halt holds: an account, or a service, asset (currency
/// code), wallet or bank (4-digit code), of one service or of every
/// service (`*`).
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = HoldKey)]
pub struct HoldKeyDoc {
    /// The service the hold is of; `*`: every service (only a key bound to
    /// no service places or lifts those). Default `*`.
    pub service: Option<String>,
    pub scope: HoldScopeDoc,
    /// An account id, a service, a currency code (`asset`: 2 to 12 of A-Z,
    /// 0-9), a wallet id, or a 4-digit bank code.
    #[schema(value_type = crate::routes::openapi::Text256)]
    pub key: String,
}

/// Why a decision is what it is: a rule that fired, or a hold in force.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Reason)]
pub struct ReasonDoc {
    /// The rule, or `hold.account_frozen` / `hold.<scope>_halted`.
    pub rule: String,
    pub action: RuleActionDoc,
    /// Left out when 0.
    pub score: Option<i64>,
    pub reason: String,
    /// A shadow rule: reported, not enforced. Left out when false.
    pub shadow: Option<bool>,
    #[schema(value_type = Option<Vec<crate::routes::openapi::MfaMethodSchema>>)]
    pub methods: Option<Vec<String>>,
    pub hold: Option<HoldKeyDoc>,
}

/// The pack that decided.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = PackRef)]
pub struct PackRefDoc {
    pub name: String,
    pub version: String,
}

/// A rule or feature that could not be evaluated (the rule did not fire).
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = EvalError)]
pub struct EvalErrorDoc {
    /// `rule <name>` or `feature <name>`.
    pub source: String,
    pub error: String,
}

/// A decision: the action, every rule that fired and why, the feature values
/// the rules read, and the pack.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Decision)]
pub struct DecisionDoc {
    pub event_id: String,
    pub event_type: String,
    /// The event's own time, UTC with milliseconds.
    pub at: String,
    pub action: ActionDoc,
    /// For `challenge`: the methods the service may use. Left out when empty.
    #[schema(value_type = Option<Vec<crate::routes::openapi::MfaMethodSchema>>)]
    pub methods: Option<Vec<String>>,
    /// Sum of the scores of the enforced rules that fired.
    pub score: i64,
    pub reasons: Vec<ReasonDoc>,
    /// The value of every feature the evaluated rules read (null: no data).
    #[schema(value_type = Object)]
    pub features: serde_json::Map<String, serde_json::Value>,
    pub pack: PackRefDoc,
    /// The event came later than the allowed lateness; its time was clamped.
    pub late: Option<bool>,
    pub errors: Option<Vec<EvalErrorDoc>>,
}

/// Why an answer came before its decision was durable.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = Degraded)]
pub enum DegradedDoc {
    /// The engine had not decided within the time budget: the pack's
    /// fallback for the type is answered (reason `budget.fallback`).
    TimeBudgetExceeded,
    /// The engine's own decision, answered before its fsync finished.
    NotYetDurable,
}

/// The answer to an event: its decision, whether the id was seen before,
/// whether it is on disk.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Answer)]
pub struct AnswerDoc {
    pub decision: DecisionDoc,
    /// The id was seen before: this is the original decision.
    pub duplicate: bool,
    /// The event and decision are on disk (fsynced).
    pub durable: bool,
    /// Only when `durable` is false.
    pub degraded: Option<DegradedDoc>,
}

/// One item of a batch's answer: its answer, or its error (whose `path`
/// starts with `events[i]`).
#[derive(Debug, Serialize, ToSchema)]
#[serde(untagged)]
pub enum BatchItem {
    #[schema(value_type = AnswerDoc)]
    Answer(Answer),
    Error(ErrorBody),
}

/// A batch's answer: one result per input, in order.
#[derive(Debug, Serialize, ToSchema)]
pub struct BatchAnswer {
    pub accepted: usize,
    pub rejected: usize,
    pub results: Vec<BatchItem>,
}

/// A logged decision.
#[derive(Debug, Serialize, ToSchema)]
pub struct DecisionAnswer {
    #[schema(value_type = DecisionDoc)]
    pub decision: sekimori_engine::Decision,
    /// Always true: only durable decisions are answered.
    pub durable: bool,
}

/// `/healthz`, `/readyz`.
#[derive(Debug, Serialize, ToSchema)]
pub struct Status {
    /// `ok` (healthz), `ready` or `failed` (readyz); `follower` (readyz of
    /// a follower of a replicated shard).
    #[schema(pattern = "^(ok|ready|failed|follower)$")]
    pub status: &'static str,
}

/// One line of a stream's answer (`POST /v1/events/stream`), in the order
/// of the input lines: the line's answer, or its error (the code and path a
/// single event would get).
#[allow(dead_code)] // described in the OpenAPI document; the stream writes its two forms
#[derive(Debug, Serialize, ToSchema)]
#[serde(untagged)]
pub enum StreamItem {
    #[schema(value_type = AnswerDoc)]
    Answer(Answer),
    Error(ErrorBody),
}
