//! `POST /v1/secrets/check` and `GET /v1/secrets/range/{prefix}`: breached
//! and weak passwords, guessable PINs. A secret sent here is checked and
//! dropped: never stored, logged or echoed (errors name the field only).

use super::{from_value_quiet, read_body, Auth, IngestScope, MAX_STEPUP_BODY_BYTES};
use crate::app::App;
use crate::error::ApiError;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::Json;
use sekimori_secrets::{CheckError, CheckRequest, Report, StrengthError};
use serde::Serialize;
use serde_json::Value;
use std::sync::Arc;
use utoipa::ToSchema;

/// The breach corpus shipped in the repository, compiled in so a fresh
/// machine has one without `--breach-corpus`.
pub const SHIPPED_CORPUS: &[u8] = include_bytes!("../../../../data/hibp/common.txt");

/// Reads `{"kind": "password" | "pin", ...}` with field paths (the library's
/// internally tagged enum would lose them).
fn parse_request(bytes: &[u8]) -> Result<CheckRequest, ApiError> {
    // A key given twice is refused (`duplicate_field`), as on every body.
    let mut doc: Value = sekimori_event::parse_unique(bytes).map_err(ApiError::from)?;
    let Some(map) = doc.as_object_mut() else {
        return Err(ApiError::new(
            "invalid_type",
            "the body must be a JSON object",
        ));
    };
    let kind = match map.remove("kind") {
        None => return Err(ApiError::new("missing_field", "say `password` or `pin`").at("kind")),
        Some(Value::String(k)) => k,
        Some(_) => return Err(ApiError::new("invalid_type", "expected a string").at("kind")),
    };
    match kind.as_str() {
        "password" => Ok(CheckRequest::Password(from_value_quiet(doc)?)),
        "pin" => Ok(CheckRequest::Pin(from_value_quiet(doc)?)),
        _ => Err(ApiError::new("invalid_value", "expected `password` or `pin`").at("kind")),
    }
}

/// A check error as an API error: the library's code, and the field at fault.
fn check_error(e: CheckError) -> ApiError {
    let path = match &e {
        CheckError::InvalidPrefix => "sha1_prefix",
        CheckError::Ambiguous | CheckError::MissingSecret => "secret",
        CheckError::UserInputsNeedSecret => "user_inputs",
        CheckError::Strength(StrengthError::TooManyUserInputs { .. })
        | CheckError::Strength(StrengthError::UserInputTooLong { .. }) => "user_inputs",
        CheckError::Strength(_) | CheckError::Pin(_) => "secret",
        CheckError::BirthDate(_) => "birth_date",
        CheckError::NoCorpus => {
            return ApiError::new(
                e.code(),
                "no breach corpus is configured; start the server with --breach-corpus",
            )
        }
        CheckError::Corpus(c) => {
            tracing::error!(error = %c, "breach corpus unreadable");
            return ApiError::new(
                e.code(),
                "the breach corpus could not be read; see the server log",
            );
        }
    };
    ApiError::new(e.code(), e.to_string()).at(path)
}

/// `kind: password` with `sha1_prefix` (k-anonymity: the server never sees
/// the password).
#[allow(dead_code)] // described in the OpenAPI document, never built
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordRangeDoc {
    kind: PasswordKind,
    /// The first 5 hex digits of the password's SHA-1.
    #[schema(pattern = "^[0-9A-Fa-f]{5}$")]
    sha1_prefix: String,
    /// Only with `secret`: empty here.
    #[serde(default)]
    #[schema(max_items = 0)]
    user_inputs: Vec<String>,
}

/// `kind: password` with the password itself: checked and dropped, never
/// stored, logged or echoed.
#[allow(dead_code)] // described in the OpenAPI document, never built
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordSecretDoc {
    kind: PasswordKind,
    /// The password, 1 to 256 characters.
    #[schema(min_length = 1, max_length = 256)]
    secret: String,
    /// The account name, e-mail address and display name: at most 16, each
    /// at most 256 characters.
    #[serde(default)]
    #[schema(max_items = 16, value_type = Vec<crate::routes::openapi::UserInput>)]
    user_inputs: Vec<String>,
}

/// `kind: pin`.
#[allow(dead_code)] // described in the OpenAPI document, never built
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PinCheckDoc {
    kind: PinKind,
    /// 4 to 8 ASCII digits, as a string.
    #[schema(pattern = "^[0-9]{4,8}$")]
    secret: String,
    /// The holder's birth date, a calendar date `YYYY-MM-DD` (years 0001 to
    /// 9999); `null` is the same as leaving it out, as for every optional
    /// field of this API.
    #[schema(
        pattern = "^(?!0000)([0-9]{4}-(0[13578]|1[02])-(0[1-9]|[12][0-9]|3[01])|[0-9]{4}-(0[469]|11)-(0[1-9]|[12][0-9]|30)|[0-9]{4}-02-(0[1-9]|1[0-9]|2[0-8])|([0-9]{2}(0[48]|[2468][048]|[13579][26])|(0[48]|[2468][048]|[13579][26])00)-02-29)$"
    )]
    birth_date: Option<String>,
}

#[allow(dead_code)] // described in the OpenAPI document, never built
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PasswordKind {
    Password,
}

#[allow(dead_code)] // described in the OpenAPI document, never built
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PinKind {
    Pin,
}

/// A secret check: a password by its SHA-1 prefix, a password, or a PIN.
#[allow(dead_code)] // described in the OpenAPI document, never built
#[derive(Serialize, ToSchema)]
#[serde(untagged)]
#[schema(as = SecretCheck)]
pub enum SecretCheckDoc {
    PasswordRange(PasswordRangeDoc),
    PasswordSecret(PasswordSecretDoc),
    Pin(PinCheckDoc),
}

/// The verdict of an assessment.
#[allow(dead_code)] // described in the OpenAPI document, never built
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum VerdictDoc {
    Ok,
    Warn,
    Reject,
}

/// A finding.
#[allow(dead_code)] // described in the OpenAPI document, never built
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum FindingDoc {
    Breached,
    Weak,
    UserInput,
    Common,
    Frequent,
    Repeated,
    RepeatedPattern,
    Sequential,
    BirthDate,
    DateLike,
}

/// What was checked.
#[allow(dead_code)] // described in the OpenAPI document, never built
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum KindDoc {
    Password,
    Pin,
}

/// zxcvbn's estimate.
#[allow(dead_code)] // described in the OpenAPI document, never built
#[derive(Serialize, ToSchema)]
pub struct StrengthDoc {
    /// 0 to 4.
    #[schema(minimum = 0, maximum = 4)]
    score: u8,
    guesses_log10: f64,
    warning: Option<String>,
    suggestions: Vec<String>,
    contains_user_input: bool,
}

/// PIN details.
#[allow(dead_code)] // described in the OpenAPI document, never built
#[derive(Serialize, ToSchema)]
pub struct PinDetailsDoc {
    length: usize,
    rank: Option<u32>,
    share: Option<f64>,
}

/// A secret's assessment.
#[allow(dead_code)] // described in the OpenAPI document, never built
#[derive(Serialize, ToSchema)]
pub struct AssessmentDoc {
    kind: KindDoc,
    verdict: VerdictDoc,
    codes: Vec<FindingDoc>,
    pwned_count: Option<u64>,
    strength: Option<StrengthDoc>,
    pin: Option<PinDetailsDoc>,
}

/// Every known suffix under a prefix.
#[allow(dead_code)] // described in the OpenAPI document, never built
#[derive(Serialize, ToSchema)]
pub struct RangeDoc {
    kind: PasswordKind,
    /// The prefix, upper case.
    prefix: String,
    /// HIBP `SUFFIX:COUNT` lines, sorted by suffix.
    suffixes: Vec<String>,
}

/// The answer, by `mode`.
#[allow(dead_code)] // described in the OpenAPI document, never built
#[derive(Serialize, ToSchema)]
#[serde(tag = "mode", rename_all = "snake_case")]
#[schema(as = SecretReport)]
pub enum ReportDoc {
    Range(RangeDoc),
    Assessment(AssessmentDoc),
}

/// Checks a password or PIN against the breach corpus, zxcvbn and PIN
/// patterns.
#[utoipa::path(post, path = "/v1/secrets/check", tag = "secrets",
    request_body(content = SecretCheckDoc, description = "At most 64 KiB"),
    responses((status = 200, description = "The report", body = ReportDoc)))]
pub async fn check(
    _: Auth<IngestScope>,
    State(app): State<Arc<App>>,
    body: Body,
) -> Result<Json<Report>, ApiError> {
    let bytes = read_body(body, MAX_STEPUP_BODY_BYTES).await?;
    let request = parse_request(&bytes)?;
    drop(bytes);
    let checker = Arc::clone(&app.secrets);
    let report = tokio::task::spawn_blocking(move || checker.check(&request))
        .await
        .map_err(ApiError::internal)?
        .map_err(check_error)?;
    Ok(Json(report))
}

/// HIBP's range protocol: `SUFFIX:COUNT` lines joined by CRLF, as text.
#[utoipa::path(get, path = "/v1/secrets/range/{prefix}", tag = "secrets",
    params(("prefix" = String, Path, description = "The first 5 hex digits of a SHA-1", pattern = "^[0-9A-Fa-f]{5}$")),
    responses((status = 200, description = "`SUFFIX:COUNT` lines joined by CRLF", content_type = "text/plain; charset=utf-8", body = String)))]
pub async fn range(
    _: Auth<IngestScope>,
    State(app): State<Arc<App>>,
    Path(prefix): Path<String>,
) -> Result<Response, ApiError> {
    let checker = Arc::clone(&app.secrets);
    let text = tokio::task::spawn_blocking(move || {
        let corpus = checker.corpus().ok_or(CheckError::NoCorpus)?;
        corpus.range_text(&prefix).map_err(CheckError::from)
    })
    .await
    .map_err(ApiError::internal)?
    .map_err(|e| match e {
        CheckError::InvalidPrefix => {
            ApiError::new(e.code(), "a range prefix is exactly 5 hexadecimal digits").at("prefix")
        }
        other => check_error(other),
    })?;
    Ok(([("content-type", "text/plain; charset=utf-8")], text).into_response())
}
