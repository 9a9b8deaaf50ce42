//! Per operation: the error codes it can answer and the scopes its key
//! needs, as the document states them (`add_errors`, `add_security`).

use super::for_each_operation;
use crate::error::ErrorCode;
use serde_json::{json, Value};

/// Which error codes each operation can answer, beyond the ones every
/// operation with a key can (`missing_api_key`, `invalid_api_key`,
/// `insufficient_scope`, `internal`).
pub(super) fn operation_errors(method: &str, path: &str) -> Vec<ErrorCode> {
    use ErrorCode as E;
    let body = [
        E::InvalidJson,
        E::InvalidType,
        E::InvalidValue,
        E::MissingField,
        E::UnknownField,
        E::DuplicateField,
        E::BodyTooLarge,
        E::BodyTimeout,
    ];
    let stepup = [
        E::ServiceNotPermitted,
        E::EventInFuture,
        E::Overloaded,
        E::StoreFailed,
    ];
    let event = [
        E::UnknownEventType,
        E::SecretInClear,
        E::TooLarge,
        E::EventInFuture,
        E::ApproverScopeRequired,
        E::ApproverMismatch,
        E::ServiceNotPermitted,
        E::CustodyScopeRequired,
        E::StepupScopeRequired,
        E::EngineBusy,
        E::Overloaded,
        E::StoreFailed,
    ];
    let mut codes: Vec<ErrorCode> = match (method, path) {
        ("get", "/healthz") | ("get", "/readyz") | ("get", "/v1/cluster") => return vec![],
        ("get", "/metrics") | ("get", "/openapi.json") => vec![],
        ("post", "/v1/events") => [&body[..], &event[..]].concat(),
        ("post", "/v1/events/batch") => [
            &body[..],
            &[
                E::BatchTooLarge,
                E::EngineBusy,
                E::Overloaded,
                E::StoreFailed,
            ],
        ]
        .concat(),
        // Once the stream starts the status is 200: refusals of lines are
        // lines. Before it starts: no body at all, too many streams, a
        // failed store.
        ("post", "/v1/events/stream") => vec![E::InvalidJson, E::EngineBusy, E::StoreFailed],
        ("get", "/v1/decisions/{event_id}") => {
            vec![E::DecisionNotFound, E::InvalidValue, E::MissingField]
        }
        ("post", "/v1/packs/validate") => {
            [&body[..], &[E::InvalidPack, E::PackTestsFailed]].concat()
        }
        ("post", "/v1/packs") => [
            &body[..],
            &[
                E::ServiceNotPermitted,
                E::InvalidPack,
                E::PackTestsFailed,
                E::PackVersionExists,
                E::Overloaded,
                E::StoreFailed,
            ],
        ]
        .concat(),
        ("post", "/v1/packs/reload") => vec![
            E::ServiceNotPermitted,
            E::NoRulesDir,
            E::InvalidPack,
            E::PackTestsFailed,
            E::PackVersionExists,
            E::Overloaded,
            E::StoreFailed,
        ],
        ("get", "/v1/lists/{name}") => vec![E::ListNotFound],
        ("put", "/v1/lists/{name}") => [
            &body[..],
            &[
                E::ServiceNotPermitted,
                E::InvalidList,
                E::ListNotFound,
                E::Overloaded,
                E::StoreFailed,
            ],
        ]
        .concat(),
        ("post", "/v1/holds") => [
            &body[..],
            &[
                E::ServiceNotPermitted,
                E::InvalidHoldAction,
                E::HoldExists,
                E::Overloaded,
                E::StoreFailed,
            ],
        ]
        .concat(),
        ("post", "/v1/holds/lift") => [
            &body[..],
            &[
                E::ServiceNotPermitted,
                E::HoldNotFound,
                E::Overloaded,
                E::StoreFailed,
            ],
        ]
        .concat(),
        ("post", "/v1/stepup/totp/enroll") | ("post", "/v1/stepup/ocra/enroll") => [
            &body[..],
            &stepup[..],
            &[E::AlreadyEnrolled, E::ProofRequired, E::EngineBusy],
        ]
        .concat(),
        ("post", "/v1/stepup/tx/challenge") => [
            &body[..],
            &stepup[..],
            &[E::NotEnrolled, E::TooManyChallenges, E::ForEventMismatch],
        ]
        .concat(),
        ("post", "/v1/stepup/webauthn/register/start") => [
            &body[..],
            &stepup[..],
            &[E::TooManyPasskeys, E::TooManyChallenges, E::ProofRequired],
        ]
        .concat(),
        ("post", "/v1/stepup/webauthn/register/finish") => [
            &body[..],
            &stepup[..],
            &[
                E::ChallengeNotFound,
                E::ChallengeExpired,
                E::InvalidCredential,
                E::CredentialExists,
                E::TooManyPasskeys,
                E::ProofRequired,
                E::EngineBusy,
            ],
        ]
        .concat(),
        ("post", "/v1/stepup/webauthn/auth/start") => [
            &body[..],
            &stepup[..],
            &[E::NotEnrolled, E::TooManyChallenges],
        ]
        .concat(),
        ("post", "/v1/stepup/otp/send") => [
            &body[..],
            &stepup[..],
            &[
                E::NoOtpSender,
                E::TooManyChallenges,
                E::OtpDeliveryFailed,
                E::EngineBusy,
            ],
        ]
        .concat(),
        ("post", "/v1/stepup/verify") => [
            &body[..],
            &stepup[..],
            &[
                E::NotEnrolled,
                E::TotpLocked,
                E::TotpThrottled,
                E::StepupBusy,
            ],
        ]
        .concat(),
        ("post", "/v1/stepup/enrollments/remove") => [
            &body[..],
            &stepup[..],
            &[E::NotEnrolled, E::ProofRequired, E::EngineBusy],
        ]
        .concat(),
        ("post", "/v1/stepup/enrollments/reset") => [&body[..], &stepup[..]].concat(),
        ("post", "/v1/secrets/check") => [
            &body[..],
            &[
                E::InvalidPrefix,
                E::Ambiguous,
                E::MissingSecret,
                E::UserInputsNeedSecret,
                E::EmptySecret,
                E::TooLong,
                E::TooManyUserInputs,
                E::UserInputTooLong,
                E::InvalidPin,
                E::InvalidBirthDate,
                E::NoCorpus,
                E::CorpusUnavailable,
            ],
        ]
        .concat(),
        ("get", "/v1/secrets/range/{prefix}") => {
            vec![E::InvalidPrefix, E::NoCorpus, E::CorpusUnavailable]
        }
        _ => vec![],
    };
    codes.extend([
        E::MissingApiKey,
        E::InvalidApiKey,
        E::InsufficientScope,
        E::Internal,
    ]);
    codes
}

/// The scope each operation's key needs (a security requirement's "role").
pub(super) fn operation_scopes(method: &str, path: &str) -> Vec<&'static str> {
    match (method, path) {
        ("get", "/healthz") | ("get", "/readyz") | ("get", "/v1/cluster") => vec![],
        ("post", "/v1/events") | ("post", "/v1/events/batch") | ("post", "/v1/events/stream") => {
            vec!["ingest", "approve"]
        }
        ("get", "/v1/decisions/{event_id}") => vec!["read", "ingest"],
        ("post", "/v1/stepup/enrollments/reset") => vec!["admin"],
        (_, p) if p.starts_with("/v1/stepup/") || p.starts_with("/v1/secrets/") => {
            vec!["ingest"]
        }
        ("get", _) => vec!["read"],
        _ => vec!["admin"],
    }
}

/// The bearer scheme, and each operation's requirement with its scopes.
pub(super) fn add_security(doc: &mut Value) {
    doc["components"]["securitySchemes"] = json!({
        "bearer": {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "sk_<16 hex id>_<64 hex secret>",
            "description": "An API key from `sekimori keys create --name N --scopes S --services a,b`. The scopes of an operation's requirement are the key scopes that may call it (any one of them); `custody` and `stepup` widen `ingest` for wallet.outflow and mfa.result events."
        }
    });
    for_each_operation(doc, |method, path, op| {
        let scopes = operation_scopes(method, path);
        op["security"] = if scopes.is_empty() {
            json!([])
        } else {
            json!([{ "bearer": scopes }])
        };
    });
}

/// The error body on every operation: one response per status its codes
/// answer, naming the codes.
pub(super) fn add_errors(doc: &mut Value) {
    for_each_operation(doc, |method, path, op| {
        let codes = operation_errors(method, path);
        let mut by_status: std::collections::BTreeMap<u16, Vec<&str>> = Default::default();
        for c in codes {
            let list = by_status.entry(c.status()).or_default();
            if !list.contains(&c.as_str()) {
                list.push(c.as_str());
            }
        }
        let responses = &mut op["responses"];
        for (status, codes) in by_status {
            let key = status.to_string();
            if responses.get(&key).is_some() {
                continue;
            }
            let names: Vec<String> = codes.iter().map(|c| format!("`{c}`")).collect();
            let mut response = json!({
                "description": format!("Error: {} (docs/errors.md)", names.join(", ")),
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
            });
            if status == 429 || status == 503 {
                response["headers"] = json!({"Retry-After": {
                    "description": "Seconds to wait before retrying (same event id).",
                    "schema": {"type": "integer", "minimum": 0}
                }});
            }
            responses[key] = response;
        }
    });
}
