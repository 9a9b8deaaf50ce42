//! The workbench's REST API in OpenAPI 3.1: the answers of [`super::api`]
//! as typed structs (built from the workbench's own types, so what is sent
//! is what is described), the handlers' `#[utoipa::path]` annotations, the
//! error body and codes, and the two ways in (an analyst's `ws_` session
//! token, a service's API key for labels). [`doc`] is merged into the
//! server's `/openapi.json` (`sekimori-server::routes::openapi`).

use crate::acts::Disposition;
use crate::analysts::{AnalystInfo, Role};
use crate::cases::{Case, CaseEvent, Family};
use crate::error::WbError;
use crate::pages::case::CaseView;
use sekimori_rules::Action;
use serde::Serialize;
use serde_json::{json, Value};
use std::borrow::Cow;
use std::collections::BTreeMap;
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
use utoipa::openapi::RefOr;
use utoipa::{OpenApi, ToSchema};

/// Text an analyst or a service writes (a note, a reason): no control
/// character but line breaks and tabs, no bidirectional override.
pub const NOTE_PATTERN: &str =
    "^[^\\x00-\\x08\\x0b-\\x1f\\x7f-\\x9f\\u202a-\\u202e\\u2066-\\u2069]*$";

/// Text as [`NOTE_PATTERN`] allows, as a named schema.
macro_rules! text_schema {
    ($(#[$m:meta])* $name:ident, $desc:expr, $min:expr) => {
        $(#[$m])*
        #[derive(Debug)]
        pub struct $name;
        impl utoipa::PartialSchema for $name {
            fn schema() -> RefOr<Schema> {
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .description(Some($desc))
                    .min_length($min)
                    .pattern(Some(NOTE_PATTERN))
                    .into()
            }
        }
        impl ToSchema for $name {
            fn name() -> Cow<'static, str> {
                Cow::Borrowed(stringify!($name))
            }
        }
    };
}

text_schema!(
    /// A note, reason or label note.
    NoteText,
    "At most 4,096 bytes once trimmed; line breaks and tabs kept, no other control or bidirectional-override character.",
    None
);
text_schema!(
    /// A note or reason that must be given.
    RequiredText,
    "As NoteText, and not blank (a text of spaces only is 400 `invalid_value`).",
    Some(1)
);

/// Declares a documented enum with an exhaustive conversion from the
/// workbench's own type, so a new variant there fails the build here.
macro_rules! doc_enum {
    ($(#[$m:meta])* $name:ident from $src:ident { $($variant:ident),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, ToSchema)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($variant),+ }

        impl $name {
            pub fn of(v: $src) -> $name {
                match v { $($src::$variant => $name::$variant),+ }
            }
        }
    };
}

doc_enum!(
    /// What an analyst may do: supervisors also release money, admins also
    /// create analysts.
    AnalystRole from Role { Analyst, Supervisor, Admin }
);
doc_enum!(
    /// How a case ended; also the label its events get.
    DispositionName from Disposition { ConfirmedFraud, FalsePositive, Legitimate, UnableToVerify }
);
doc_enum!(
    /// The engine's action on a case event (the case's top action in the queue).
    CaseAction from Action { Allow, Challenge, Review, Deny, Freeze, Halt }
);
doc_enum!(
    /// Which events a case gathers.
    CaseFamily from Family { Access, Money, Custody, Report }
);

/// An analyst's verdict on a held event.
#[allow(dead_code)] // described in the document; the request carries its name
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DecideOutcome {
    Approve,
    Decline,
}

/// What a service may say of its own event (a disposition is an
/// analyst's, given when a case is closed).
#[allow(dead_code)] // described in the document; the request carries its name
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ServiceLabel {
    Chargeback,
    Dispute,
    CustomerConfirmed,
    CustomerDenied,
}

/// A session: send `token` as `Authorization: Bearer <token>`.
#[derive(Serialize, ToSchema)]
pub struct SignedIn {
    /// `ws_` and 64 hex digits; shown once, stored only as its hash.
    pub token: String,
    pub login: String,
    pub role: AnalystRole,
    pub idle_timeout_s: i64,
    pub absolute_timeout_s: i64,
}

/// How many sessions were ended.
#[derive(Debug, Serialize, ToSchema)]
pub struct Ended {
    pub ended: usize,
}

/// One row of the queue.
#[derive(Debug, Serialize, ToSchema)]
pub struct QueueRow {
    pub id: u64,
    pub priority: i64,
    pub service: String,
    /// The account, else the held scope and key, else the service.
    pub entity: String,
    pub family: CaseFamily,
    pub action: CaseAction,
    /// Minor units per currency of the events not let through and not yet
    /// decided by an analyst.
    pub money_at_risk: BTreeMap<String, i64>,
    pub score: i64,
    /// The event time of the first event (RFC 3339, UTC).
    pub opened_at: String,
    pub claimed_by_me: bool,
    /// Events kept in the case.
    pub events: usize,
}

impl QueueRow {
    pub fn of(case: &Case, priority: i64, mine: bool) -> QueueRow {
        QueueRow {
            id: case.id,
            priority,
            service: case.service.clone(),
            entity: case.entity.clone(),
            family: CaseFamily::of(case.family),
            action: CaseAction::of(case.top_action()),
            money_at_risk: case.money_at_risk(),
            score: case.max_score(),
            opened_at: sekimori_event::format_rfc3339_ms(case.opened_ms),
            claimed_by_me: mine,
            events: case.events.len(),
        }
    }
}

/// The queue.
#[derive(Debug, Serialize, ToSchema)]
pub struct Queue {
    pub cases: Vec<QueueRow>,
    /// Open cases in all.
    pub open: usize,
}

/// The case claimed by `POST /v1/cases/next`, if any.
#[derive(Debug, Serialize, ToSchema)]
pub struct NextCase {
    pub case: Option<u64>,
}

/// A case and who holds its claim.
#[derive(Debug, Serialize, ToSchema)]
pub struct Claimed {
    pub case: u64,
    pub claimed_by: String,
}

/// The case acted on.
#[derive(Debug, Serialize, ToSchema)]
pub struct CaseRef {
    pub case: u64,
}

/// A recorded approval or decline.
#[derive(Debug, Serialize, ToSchema)]
pub struct Decided {
    pub case: u64,
    pub event_id: String,
    #[schema(value_type = DecideOutcome)]
    pub outcome: String,
}

/// A closed case.
#[derive(Debug, Serialize, ToSchema)]
pub struct Closed {
    pub case: u64,
    pub disposition: DispositionName,
}

/// An analyst account (never its password hash or TOTP seed).
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Analyst)]
pub struct AnalystDoc {
    pub login: String,
    pub role: AnalystRole,
    pub created_at: String,
    pub created_by: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub enrolled_by: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub enrolled_at: String,
    pub disabled: bool,
}

impl AnalystDoc {
    pub fn of(a: AnalystInfo) -> AnalystDoc {
        AnalystDoc {
            login: a.login,
            role: AnalystRole::of(a.role),
            created_at: a.created_at,
            created_by: a.created_by,
            enrolled_by: a.enrolled_by,
            enrolled_at: a.enrolled_at,
            disabled: a.disabled,
        }
    }
}

/// Every analyst.
#[derive(Debug, Serialize, ToSchema)]
pub struct Analysts {
    pub analysts: Vec<AnalystDoc>,
}

/// A new analyst and the TOTP provisioning URI to enroll their
/// authenticator with (shown once).
#[derive(Serialize, ToSchema)]
pub struct CreatedAnalyst {
    pub analyst: AnalystDoc,
    /// Carries the TOTP seed: shown once, never logged.
    pub otpauth_uri: String,
}

/// Never shows the session token.
impl std::fmt::Debug for SignedIn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignedIn")
            .field("login", &self.login)
            .field("role", &self.role)
            .finish_non_exhaustive()
    }
}

/// Never shows the provisioning URI (it carries the seed).
impl std::fmt::Debug for CreatedAnalyst {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CreatedAnalyst")
            .field("analyst", &self.analyst)
            .finish_non_exhaustive()
    }
}

/// A recorded label.
#[derive(Debug, Serialize, ToSchema)]
pub struct Labeled {
    pub service: String,
    pub event_id: String,
    #[schema(value_type = ServiceLabel)]
    pub label: String,
}

/// One event of a case.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = CaseEvent)]
pub struct CaseEventDoc {
    pub seq: u64,
    pub event_id: String,
    pub event_type: String,
    pub at_ms: i64,
    pub action: CaseAction,
    pub score: i64,
    /// The enforced rules that fired.
    pub rules: Vec<String>,
    pub amount_minor: Option<i64>,
    pub currency: Option<String>,
    /// An analyst's approval or decline, once recorded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outcome: Option<CaseOutcome>,
    /// Supervisors who approved it so far (released at the second).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub approvals: Vec<String>,
}

impl CaseEventDoc {
    fn of(e: CaseEvent) -> CaseEventDoc {
        CaseEventDoc {
            seq: e.seq,
            event_id: e.event_id,
            event_type: e.event_type,
            at_ms: e.at_ms,
            action: CaseAction::of(e.action),
            score: e.score,
            rules: e.rules,
            amount_minor: e.amount_minor,
            currency: e.currency,
            outcome: e.outcome.map(|o| CaseOutcome {
                approved: o.approved,
                by: o.by,
                at: o.at,
            }),
            approvals: e.approvals,
        }
    }
}

/// An analyst's verdict on a held event.
#[derive(Debug, Serialize, ToSchema)]
pub struct CaseOutcome {
    pub approved: bool,
    pub by: String,
    pub at: String,
}

/// Who claimed a case, and when (server time, ms).
#[derive(Debug, Serialize, ToSchema)]
pub struct CaseClaim {
    pub by: String,
    pub at_ms: i64,
}

/// How and by whom a case was closed.
#[derive(Debug, Serialize, ToSchema)]
pub struct CaseClosed {
    pub disposition: DispositionName,
    pub by: String,
    pub at: String,
    pub note: String,
}

/// One analyst action or label on a case.
#[derive(Debug, Serialize, ToSchema)]
pub struct CaseHistoryItem {
    pub seq: u64,
    pub by: String,
    pub at: String,
    pub what: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub why: String,
}

/// A case as the index keeps it.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Case)]
pub struct CaseDoc {
    pub id: u64,
    pub service: String,
    pub entity: String,
    pub family: CaseFamily,
    /// The event time of the first event (ms since the epoch).
    pub opened_ms: i64,
    pub events: Vec<CaseEventDoc>,
    /// Events past the kept ones, counted.
    pub more_events: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub claim: Option<CaseClaim>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub closed: Option<CaseClosed>,
    pub notes: Vec<CaseHistoryItem>,
    pub history: Vec<CaseHistoryItem>,
}

fn history(items: Vec<crate::cases::HistoryItem>) -> Vec<CaseHistoryItem> {
    items
        .into_iter()
        .map(|h| CaseHistoryItem {
            seq: h.seq,
            by: h.by,
            at: h.at,
            what: h.what,
            why: h.why,
        })
        .collect()
}

impl CaseDoc {
    fn of(c: Case) -> CaseDoc {
        CaseDoc {
            id: c.id,
            service: c.service,
            entity: c.entity,
            family: CaseFamily::of(c.family),
            opened_ms: c.opened_ms,
            events: c.events.into_iter().map(CaseEventDoc::of).collect(),
            more_events: c.more_events,
            claim: c.claim.map(|c| CaseClaim {
                by: c.by,
                at_ms: c.at_ms,
            }),
            closed: c.closed.map(|c| CaseClosed {
                disposition: DispositionName::of(c.disposition),
                by: c.by,
                at: c.at,
                note: c.note,
            }),
            notes: history(c.notes),
            history: history(c.history),
        }
    }
}

/// One event of the account's timeline.
#[derive(Debug, Serialize, ToSchema)]
pub struct TimelineRow {
    pub seq: u64,
    pub at_ms: i64,
    pub event_id: String,
    pub event_type: String,
    pub action: String,
    pub amount_minor: Option<i64>,
    pub currency: Option<String>,
}

/// An account sharing a device or an IP address with the case's.
#[derive(Debug, Serialize, ToSchema)]
pub struct LinkedAccount {
    pub account: String,
    /// What they share: `device:..` or `ip:..`.
    pub shared: String,
    /// `fraud`, `open`, `closed` or `clean`.
    pub standing: String,
}

/// A case with its logged decisions, the account's timeline, labels,
/// standing and linked accounts.
#[derive(Debug, Serialize, ToSchema)]
pub struct CaseDetail {
    pub case: CaseDoc,
    pub priority: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub claimed_by: Option<String>,
    /// Each case event with its logged decision: `[event, decision or null]`.
    #[schema(value_type = Vec<Vec<Object>>)]
    pub decisions: Vec<(CaseEventDoc, Option<sekimori_engine::Decision>)>,
    pub timeline: Vec<TimelineRow>,
    /// `[event id, label, by]`.
    pub labels: Vec<(String, String, String)>,
    /// `fraud`, `open`, `closed` or `clean`: what is known of the entity.
    pub standing: String,
    pub linked: Vec<LinkedAccount>,
}

impl CaseDetail {
    pub fn of(v: CaseView) -> CaseDetail {
        CaseDetail {
            case: CaseDoc::of(v.case),
            priority: v.priority,
            claimed_by: v.claimed_by,
            decisions: v
                .decisions
                .into_iter()
                .map(|(e, d)| (CaseEventDoc::of(e), d))
                .collect(),
            timeline: v
                .timeline
                .into_iter()
                .map(|t| TimelineRow {
                    seq: t.seq,
                    at_ms: t.at_ms,
                    event_id: t.event_id,
                    event_type: t.event_type,
                    action: t.action,
                    amount_minor: t.amount_minor,
                    currency: t.currency,
                })
                .collect(),
            labels: v.labels,
            standing: v.standing.to_string(),
            linked: v
                .linked
                .into_iter()
                .map(|l| LinkedAccount {
                    account: l.account,
                    shared: l.shared,
                    standing: l.standing.to_string(),
                })
                .collect(),
        }
    }
}

/// Every code a workbench API error carries, with its HTTP status.
pub const ERROR_CODES: &[(&str, u16)] = &[
    ("invalid_value", 400),
    ("sign_in_failed", 401),
    ("no_session", 401),
    ("invalid_api_key", 401),
    ("role_required", 403),
    ("csrf_failed", 403),
    ("not_found", 404),
    ("conflict", 409),
    ("sign_in_throttled", 429),
    ("storage_failed", 503),
    ("not_available", 503),
];

/// One error of each kind (an exhaustive match: a new variant fails the
/// build until it is listed, and a test checks its code is in
/// [`ERROR_CODES`]).
pub fn every_error() -> Vec<WbError> {
    let all = vec![
        WbError::invalid("x", "m"),
        WbError::SignInFailed,
        WbError::Throttled,
        WbError::NoSession,
        WbError::Csrf,
        WbError::Forbidden("admin"),
        WbError::NotFound("case"),
        WbError::Conflict("c".into()),
        WbError::BadKey,
        WbError::Storage("s".into()),
        WbError::Unavailable("u"),
    ];
    for e in &all {
        match e {
            WbError::Invalid { .. }
            | WbError::SignInFailed
            | WbError::Throttled
            | WbError::NoSession
            | WbError::Csrf
            | WbError::Forbidden(_)
            | WbError::NotFound(_)
            | WbError::Conflict(_)
            | WbError::BadKey
            | WbError::Storage(_)
            | WbError::Unavailable(_) => {}
        }
    }
    all
}

/// Filled in by [`doc`] from [`ERROR_CODES`].
#[allow(dead_code)] // described in the document
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = WorkbenchErrorCode)]
pub enum WorkbenchErrorCodeDoc {}

/// The error body of the workbench's API.
#[allow(dead_code)] // described in the document; built by WbError
#[derive(Debug, Serialize, ToSchema)]
pub struct WorkbenchError {
    pub error: WorkbenchErrorDetail,
}

/// A workbench error: a stable code (docs/errors.md, "The workbench's
/// API"), a message that never repeats a value, and for bad input the
/// field's path.
#[allow(dead_code)] // described in the document; built by WbError
#[derive(Debug, Serialize, ToSchema)]
pub struct WorkbenchErrorDetail {
    #[schema(value_type = WorkbenchErrorCodeDoc)]
    pub code: String,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
}

#[derive(OpenApi)]
#[openapi(
    paths(
        super::api::sign_in,
        super::api::sign_out_everywhere,
        super::api::cases,
        super::api::next,
        super::api::case,
        super::api::claim,
        super::api::release,
        super::api::note,
        super::api::decide,
        super::api::close,
        super::api::analysts,
        super::api::create_analyst,
        super::api::label,
        super::api_actions::holds,
        super::api_actions::place_hold,
        super::api_actions::lift_hold,
        super::api_actions::add_to_list,
        super::api_actions::bulk,
        super::api_actions::search,
        super::api_actions::disable_analyst,
        super::api_actions::enable_analyst,
        super::api_actions::reset_analyst,
        // Analysts' passkeys (sign-in, registration, an admin's removal).
        super::api_passkeys::sign_in_start,
        super::api_passkeys::sign_in_finish,
        super::api_passkeys::list,
        super::api_passkeys::register_start,
        super::api_passkeys::register_finish,
        super::api_passkeys::remove,
        // Rule quality per service and backtests: /ui/quality's REST twin.
        super::quality::api_quality,
    ),
    components(schemas(WorkbenchError)),
    tags((name = "workbench", description = "The analyst's workbench: sessions, the review queue, cases, analysts; labels from services")),
)]
struct WorkbenchDoc;

/// Schemas of `api_actions` whose type names the server's document uses
/// for other shapes, and the names they take in the merged document.
const RENAMED: [(&str, &str); 2] = [
    ("HoldInForce", "CaseHoldInForce"),
    ("ResetBody", "AnalystResetBody"),
];

/// Renames the component `from` to `to`, and every reference to it.
fn rename_schema(v: &mut Value, from: &str, to: &str) {
    if let Some(schemas) = v["components"]["schemas"].as_object_mut() {
        if let Some(s) = schemas.remove(from) {
            schemas.insert(to.to_string(), s);
        }
    }
    fn walk(v: &mut Value, from: &str, to: &str) {
        match v {
            Value::Object(map) => {
                let old = format!("#/components/schemas/{from}");
                if map.get("$ref").and_then(Value::as_str) == Some(old.as_str()) {
                    map.insert("$ref".into(), json!(format!("#/components/schemas/{to}")));
                }
                map.values_mut().for_each(|c| walk(c, from, to));
            }
            Value::Array(items) => items.iter_mut().for_each(|c| walk(c, from, to)),
            _ => {}
        }
    }
    walk(v, from, to);
}

/// The passkey bodies' WebAuthn parts: the credentials are the server's
/// `AttestationCredential` / `AssertionCredential` schemas (the merged
/// document has them), the options webauthn-rs's JSON.
fn passkey_schemas(v: &mut Value) {
    let schemas = &mut v["components"]["schemas"];
    schemas["PasskeySignInFinish"]["properties"]["credential"] =
        json!({"$ref": "#/components/schemas/AssertionCredential"});
    schemas["PasskeyRegisterFinish"]["properties"]["credential"] =
        json!({"$ref": "#/components/schemas/AttestationCredential"});
    schemas["PasskeyCeremony"]["properties"]["options"] = json!({
        "type": "object",
        "description": "`{\"publicKey\": ...}`: PublicKeyCredentialCreationOptions or RequestOptions as JSON, binary fields unpadded base64url (webauthn-rs's form; PublicKeyCredential.parseCreationOptionsFromJSON / parseRequestOptionsFromJSON read `publicKey`).",
        "required": ["publicKey"],
        "properties": {"publicKey": {"type": "object"}}
    });
    schemas["PasskeyCeremony"]["properties"]["ceremony"]["pattern"] = json!("^[0-9a-f]{64}$");
}

/// The codes each operation can answer beyond bad input (`invalid_value`).
fn operation_errors(method: &str, path: &str) -> Vec<&'static str> {
    let session = ["no_session", "storage_failed"];
    let mut codes: Vec<&'static str> = match (method, path) {
        ("post", "/v1/workbench/sessions") => {
            vec!["sign_in_failed", "sign_in_throttled", "storage_failed"]
        }
        ("post", "/v1/workbench/passkeys/sign-in/start") => {
            vec!["not_found", "sign_in_throttled", "storage_failed"]
        }
        ("post", "/v1/workbench/passkeys/sign-in/finish") => vec![
            "sign_in_failed",
            "sign_in_throttled",
            "not_found",
            "storage_failed",
        ],
        ("get", "/v1/workbench/passkeys") => session.to_vec(),
        ("post", "/v1/workbench/passkeys/register/start") => {
            [&session[..], &["not_found", "conflict"]].concat()
        }
        ("post", "/v1/workbench/passkeys/register/finish") => {
            [&session[..], &["not_found", "conflict", "role_required"]].concat()
        }
        ("post", "/v1/labels") => vec![
            "invalid_api_key",
            "not_found",
            "not_available",
            "storage_failed",
        ],
        ("get", "/v1/analysts") => [&session[..], &["role_required"]].concat(),
        ("post", "/v1/analysts") => [&session[..], &["role_required", "not_available"]].concat(),
        ("get", "/v1/cases") | ("post", "/v1/workbench/sessions/end-all") => session.to_vec(),
        _ => [
            &session[..],
            &["role_required", "not_found", "conflict", "not_available"],
        ]
        .concat(),
    };
    if !matches!(
        (method, path),
        ("post", "/v1/cases/next")
            | ("post", "/v1/workbench/sessions/end-all")
            | ("get", "/v1/analysts")
            | ("get", "/v1/workbench/passkeys")
    ) {
        codes.insert(0, "invalid_value");
    }
    codes
}

fn status_of(code: &str) -> u16 {
    ERROR_CODES
        .iter()
        .find(|(c, _)| *c == code)
        .map_or(500, |(_, s)| *s)
}

/// The workbench's part of the API document, as JSON (OpenAPI 3.1: the
/// tuples of a case are `prefixItems`, which utoipa's model cannot hold):
/// its operations (operation ids prefixed `workbench_`, unique beside the
/// server's) with their security (an analyst's session, or for labels an
/// API key with the `ingest` scope) and error answers, and its schemas.
/// Refers to the server's `Decision` schema, so it is complete once merged
/// into the server's document.
pub fn doc() -> Value {
    let mut v = serde_json::to_value(WorkbenchDoc::openapi()).unwrap_or(Value::Null);
    // Names the server's part also defines (its own holds and step-up
    // reset): the workbench's shapes differ, so they take names of their own.
    for (from, to) in RENAMED {
        rename_schema(&mut v, from, to);
    }
    let codes: Vec<&str> = ERROR_CODES.iter().map(|(c, _)| *c).collect();
    v["components"]["schemas"]["WorkbenchErrorCode"] = json!({
        "type": "string",
        "description": "Every code of the workbench's API (docs/errors.md).",
        "enum": codes,
    });
    v["components"]["schemas"]["CaseDetail"]["properties"]["decisions"]["items"] = json!({
        "type": "array",
        "prefixItems": [
            {"$ref": "#/components/schemas/CaseEvent"},
            {"oneOf": [{"$ref": "#/components/schemas/Decision"}, {"type": "null"}]}
        ],
        "minItems": 2,
        "maxItems": 2
    });
    v["components"]["schemas"]["CaseDetail"]["properties"]["labels"]["items"] = json!({
        "type": "array",
        "prefixItems": [{"type": "string"}, {"type": "string"}, {"type": "string"}],
        "minItems": 3,
        "maxItems": 3
    });
    passkey_schemas(&mut v);
    v["components"]["securitySchemes"] = json!({
        "workbench_session": {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "ws_<64 hex>",
            "description": "An analyst's session token from `POST /v1/workbench/sessions` (password and TOTP code); idle and absolute expiry in server time."
        }
    });
    if let Some(paths) = v["paths"].as_object_mut() {
        for (path, item) in paths.iter_mut() {
            let Some(item) = item.as_object_mut() else {
                continue;
            };
            for (method, op) in item.iter_mut() {
                if let Some(id) = op["operationId"].as_str() {
                    op["operationId"] = json!(format!("workbench_{id}"));
                }
                op["security"] = match (method.as_str(), path.as_str()) {
                    ("post", "/v1/workbench/sessions")
                    | ("post", "/v1/workbench/passkeys/sign-in/start")
                    | ("post", "/v1/workbench/passkeys/sign-in/finish") => json!([]),
                    ("post", "/v1/labels") => json!([{"bearer": ["ingest"]}]),
                    _ => json!([{"workbench_session": []}]),
                };
                let mut by_status: BTreeMap<u16, Vec<&str>> = BTreeMap::new();
                for c in operation_errors(method, path) {
                    by_status.entry(status_of(c)).or_default().push(c);
                }
                for (status, codes) in by_status {
                    let names: Vec<String> = codes.iter().map(|c| format!("`{c}`")).collect();
                    let response = json!({
                        "description": format!("Error: {} (docs/errors.md, the workbench's API)", names.join(", ")),
                        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/WorkbenchError"}}}
                    });
                    op["responses"][status.to_string()] = response;
                }
            }
        }
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_error_code_is_listed_with_its_status() {
        for e in every_error() {
            let status = e.status().as_u16();
            assert!(
                ERROR_CODES.contains(&(e.code(), status)),
                "{} {status} is not in ERROR_CODES",
                e.code()
            );
        }
        assert_eq!(every_error().len(), ERROR_CODES.len());
    }

    #[test]
    fn service_labels_are_the_documented_ones() {
        let doc: Vec<Value> = [
            ServiceLabel::Chargeback,
            ServiceLabel::Dispute,
            ServiceLabel::CustomerConfirmed,
            ServiceLabel::CustomerDenied,
        ]
        .iter()
        .map(|l| serde_json::to_value(l).unwrap_or(Value::Null))
        .collect();
        let code: Vec<Value> = crate::acts::SERVICE_LABELS
            .iter()
            .map(|l| json!(l))
            .collect();
        assert_eq!(doc, code);
    }

    #[test]
    fn doc_enums_serialize_as_the_workbench_types() {
        for r in [Role::Analyst, Role::Supervisor, Role::Admin] {
            assert_eq!(
                serde_json::to_value(AnalystRole::of(r)).ok(),
                serde_json::to_value(r).ok()
            );
        }
        for d in Disposition::ALL {
            assert_eq!(
                serde_json::to_value(DispositionName::of(d)).ok(),
                serde_json::to_value(d).ok()
            );
        }
        for a in [Action::Allow, Action::Review, Action::Halt] {
            assert_eq!(
                serde_json::to_value(CaseAction::of(a)).ok(),
                serde_json::to_value(a).ok()
            );
        }
    }

    #[test]
    fn the_document_has_every_api_route() {
        let doc = doc();
        let mut ops: Vec<(String, String)> = Vec::new();
        for (path, item) in doc["paths"].as_object().into_iter().flatten() {
            for method in item.as_object().into_iter().flatten().map(|(m, _)| m) {
                ops.push((method.clone(), path.clone()));
            }
        }
        ops.sort();
        let mut routes: Vec<(String, String)> = crate::ROUTES
            .iter()
            .filter(|(_, p)| p.starts_with("/v1/"))
            .map(|(m, p)| (m.to_string(), p.to_string()))
            .collect();
        routes.sort();
        assert_eq!(
            ops, routes,
            "every /v1/ route of the workbench is an operation of web::openapi's doc (add its handler to `paths(...)`)"
        );
    }
}
