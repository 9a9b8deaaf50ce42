//! API errors: one stable `code` each, a `type`, an HTTP status, and a
//! sentence telling the caller what to change. docs/errors.md lists them all;
//! a test keeps that page and [`CODES`] in step.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use sekimori_event::DecodeError;
use serde_json::json;

/// Every error code the API returns: (code, type, status).
pub const CODES: &[(&str, &str, u16)] = &[
    ("invalid_json", "invalid_request", 400),
    ("invalid_type", "invalid_request", 400),
    ("invalid_value", "invalid_request", 400),
    ("missing_field", "invalid_request", 400),
    ("unknown_field", "invalid_request", 400),
    ("unknown_event_type", "invalid_request", 400),
    ("secret_in_clear", "invalid_request", 400),
    ("duplicate_field", "invalid_request", 400),
    ("too_large", "invalid_request", 413),
    ("body_too_large", "invalid_request", 413),
    ("batch_too_large", "invalid_request", 413),
    ("body_timeout", "invalid_request", 408),
    ("event_in_future", "invalid_request", 422),
    ("invalid_pack", "invalid_request", 422),
    ("pack_tests_failed", "invalid_request", 422),
    ("invalid_list", "invalid_request", 422),
    ("invalid_hold_action", "invalid_request", 422),
    ("invalid_credential", "invalid_request", 400),
    ("invalid_prefix", "invalid_request", 400),
    ("ambiguous", "invalid_request", 400),
    ("missing_secret", "invalid_request", 400),
    ("user_inputs_need_secret", "invalid_request", 400),
    ("empty_secret", "invalid_request", 400),
    ("too_long", "invalid_request", 400),
    ("too_many_user_inputs", "invalid_request", 400),
    ("user_input_too_long", "invalid_request", 400),
    ("invalid_pin", "invalid_request", 400),
    ("invalid_birth_date", "invalid_request", 400),
    ("missing_api_key", "auth", 401),
    ("invalid_api_key", "auth", 401),
    ("insufficient_scope", "auth", 403),
    ("approver_scope_required", "auth", 403),
    ("approver_mismatch", "auth", 403),
    ("service_not_permitted", "auth", 403),
    ("custody_scope_required", "auth", 403),
    ("stepup_scope_required", "auth", 403),
    ("not_found", "not_found", 404),
    ("decision_not_found", "not_found", 404),
    ("list_not_found", "not_found", 404),
    ("hold_not_found", "not_found", 404),
    ("challenge_not_found", "not_found", 404),
    ("no_rules_dir", "conflict", 409),
    ("pack_version_exists", "conflict", 409),
    ("hold_exists", "conflict", 409),
    ("event_id_taken", "conflict", 409),
    ("already_enrolled", "conflict", 409),
    ("not_enrolled", "conflict", 409),
    ("totp_locked", "conflict", 409),
    ("for_event_mismatch", "conflict", 409),
    ("proof_required", "auth", 403),
    ("too_many_passkeys", "conflict", 409),
    ("credential_exists", "conflict", 409),
    ("challenge_expired", "conflict", 409),
    ("no_otp_sender", "conflict", 409),
    ("no_corpus", "conflict", 409),
    ("too_many_challenges", "rate_limited", 429),
    ("engine_busy", "rate_limited", 429),
    ("totp_throttled", "rate_limited", 429),
    ("stepup_busy", "rate_limited", 429),
    ("otp_delivery_failed", "unavailable", 502),
    ("corpus_unavailable", "unavailable", 503),
    ("overloaded", "unavailable", 503),
    ("store_failed", "unavailable", 503),
    ("internal", "internal", 500),
];

/// An error response: `{"error": {"code", "type", "message", "path"?, "details"?}}`.
#[derive(Debug)]
pub struct ApiError {
    pub code: &'static str,
    pub message: String,
    pub path: Option<String>,
    pub details: Option<serde_json::Value>,
}

impl ApiError {
    pub fn new(code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            code,
            message: message.into(),
            path: None,
            details: None,
        }
    }

    pub fn at(mut self, path: impl Into<String>) -> ApiError {
        self.path = Some(path.into());
        self
    }

    pub fn details(mut self, details: serde_json::Value) -> ApiError {
        self.details = Some(details);
        self
    }

    pub fn internal(e: impl std::fmt::Display) -> ApiError {
        tracing::error!(error = %e, "internal error");
        ApiError::new("internal", "the server failed; the request may be retried")
    }

    fn kind_and_status(&self) -> (&'static str, StatusCode) {
        let (_, kind, status) = CODES
            .iter()
            .find(|(c, _, _)| *c == self.code)
            .copied()
            .unwrap_or(("", "internal", 500));
        (
            kind,
            StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        )
    }

    pub fn body(&self) -> serde_json::Value {
        let (kind, _) = self.kind_and_status();
        let mut e = json!({"code": self.code, "type": kind, "message": self.message});
        if let Some(p) = &self.path {
            e["path"] = json!(p);
        }
        if let Some(d) = &self.details {
            e["details"] = d.clone();
        }
        json!({ "error": e })
    }
}

impl From<DecodeError> for ApiError {
    fn from(e: DecodeError) -> ApiError {
        ApiError::new(e.code, e.message).at(e.path)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (_, status) = self.kind_and_status();
        let mut response = (status, Json(self.body())).into_response();
        // Load shedding and backpressure: tell the caller when to come back.
        if status == StatusCode::TOO_MANY_REQUESTS || status == StatusCode::SERVICE_UNAVAILABLE {
            // An error that knows when (`details.retry_after_s`) says so.
            let secs = self
                .details
                .as_ref()
                .and_then(|d| d["retry_after_s"].as_u64())
                .unwrap_or(1);
            if let Ok(v) = axum::http::HeaderValue::from_str(&secs.to_string()) {
                response.headers_mut().insert("retry-after", v);
            }
        }
        response
    }
}
