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
use sekimori_secrets::{CheckError, CheckRequest, StrengthError};
use serde_json::{json, Value};
use std::sync::Arc;

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

pub async fn check(
    _: Auth<IngestScope>,
    State(app): State<Arc<App>>,
    body: Body,
) -> Result<Json<Value>, ApiError> {
    let bytes = read_body(body, MAX_STEPUP_BODY_BYTES).await?;
    let request = parse_request(&bytes)?;
    drop(bytes);
    let checker = Arc::clone(&app.secrets);
    let report = tokio::task::spawn_blocking(move || checker.check(&request))
        .await
        .map_err(ApiError::internal)?
        .map_err(check_error)?;
    Ok(Json(json!(report)))
}

/// HIBP's range protocol: `SUFFIX:COUNT` lines joined by CRLF, as text.
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
