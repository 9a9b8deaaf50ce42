//! API errors: one stable `code` each, a `type`, an HTTP status, and a
//! sentence telling the caller what to change. docs/errors.md lists them all;
//! a test keeps that page and [`CODES`] in step.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use sekimori_event::DecodeError;

/// The kind of an error (`type` in the body): what the caller can do about it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    InvalidRequest,
    Auth,
    NotFound,
    Conflict,
    RateLimited,
    Unavailable,
    Internal,
}

impl ErrorKind {
    pub const fn as_str(self) -> &'static str {
        match self {
            ErrorKind::InvalidRequest => "invalid_request",
            ErrorKind::Auth => "auth",
            ErrorKind::NotFound => "not_found",
            ErrorKind::Conflict => "conflict",
            ErrorKind::RateLimited => "rate_limited",
            ErrorKind::Unavailable => "unavailable",
            ErrorKind::Internal => "internal",
        }
    }
}

/// Declares [`ErrorCode`]: every code with its kind and HTTP status, in one
/// table, from which [`CODES`], the OpenAPI error schema and the check of
/// docs/errors.md all come.
macro_rules! error_codes {
    ($($variant:ident = $code:literal, $kind:ident, $status:literal;)*) => {
        /// Every error code the API returns. Codes are stable: new ones may be
        /// added, existing ones keep their meaning (docs/errors.md).
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum ErrorCode {
            $($variant,)*
        }

        impl ErrorCode {
            /// Every code, in the order of docs/errors.md's table.
            pub const ALL: &'static [ErrorCode] = &[$(ErrorCode::$variant,)*];

            /// The code as it appears in the body (`"invalid_json"`).
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(ErrorCode::$variant => $code,)*
                }
            }

            pub const fn kind(self) -> ErrorKind {
                match self {
                    $(ErrorCode::$variant => ErrorKind::$kind,)*
                }
            }

            /// The HTTP status answered with this code.
            pub const fn status(self) -> u16 {
                match self {
                    $(ErrorCode::$variant => $status,)*
                }
            }

            /// The code named `code`, if there is one.
            pub fn from_code(code: &str) -> Option<ErrorCode> {
                match code {
                    $($code => Some(ErrorCode::$variant),)*
                    _ => None,
                }
            }
        }

        /// Every error code the API returns: (code, type, status).
        pub const CODES: &[(&str, &str, u16)] = &[
            $(($code, ErrorKind::$kind.as_str(), $status),)*
        ];
    };
}

error_codes! {
    InvalidJson = "invalid_json", InvalidRequest, 400;
    InvalidType = "invalid_type", InvalidRequest, 400;
    InvalidValue = "invalid_value", InvalidRequest, 400;
    MissingField = "missing_field", InvalidRequest, 400;
    UnknownField = "unknown_field", InvalidRequest, 400;
    UnknownEventType = "unknown_event_type", InvalidRequest, 400;
    SecretInClear = "secret_in_clear", InvalidRequest, 400;
    DuplicateField = "duplicate_field", InvalidRequest, 400;
    TooLarge = "too_large", InvalidRequest, 413;
    BodyTooLarge = "body_too_large", InvalidRequest, 413;
    BodyTimeout = "body_timeout", InvalidRequest, 408;
    BatchTooLarge = "batch_too_large", InvalidRequest, 413;
    EventInFuture = "event_in_future", InvalidRequest, 422;
    InvalidPack = "invalid_pack", InvalidRequest, 422;
    PackTestsFailed = "pack_tests_failed", InvalidRequest, 422;
    InvalidList = "invalid_list", InvalidRequest, 422;
    InvalidHoldAction = "invalid_hold_action", InvalidRequest, 422;
    InvalidCredential = "invalid_credential", InvalidRequest, 400;
    InvalidPrefix = "invalid_prefix", InvalidRequest, 400;
    Ambiguous = "ambiguous", InvalidRequest, 400;
    MissingSecret = "missing_secret", InvalidRequest, 400;
    UserInputsNeedSecret = "user_inputs_need_secret", InvalidRequest, 400;
    EmptySecret = "empty_secret", InvalidRequest, 400;
    TooLong = "too_long", InvalidRequest, 400;
    TooManyUserInputs = "too_many_user_inputs", InvalidRequest, 400;
    UserInputTooLong = "user_input_too_long", InvalidRequest, 400;
    InvalidPin = "invalid_pin", InvalidRequest, 400;
    InvalidBirthDate = "invalid_birth_date", InvalidRequest, 400;
    MissingApiKey = "missing_api_key", Auth, 401;
    InvalidApiKey = "invalid_api_key", Auth, 401;
    InsufficientScope = "insufficient_scope", Auth, 403;
    ApproverScopeRequired = "approver_scope_required", Auth, 403;
    ApproverMismatch = "approver_mismatch", Auth, 403;
    ServiceNotPermitted = "service_not_permitted", Auth, 403;
    CustodyScopeRequired = "custody_scope_required", Auth, 403;
    StepupScopeRequired = "stepup_scope_required", Auth, 403;
    ProofRequired = "proof_required", Auth, 403;
    NotFound = "not_found", NotFound, 404;
    DecisionNotFound = "decision_not_found", NotFound, 404;
    ListNotFound = "list_not_found", NotFound, 404;
    HoldNotFound = "hold_not_found", NotFound, 404;
    ChallengeNotFound = "challenge_not_found", NotFound, 404;
    NoRulesDir = "no_rules_dir", Conflict, 409;
    PackVersionExists = "pack_version_exists", Conflict, 409;
    EventIdTaken = "event_id_taken", Conflict, 409;
    HoldExists = "hold_exists", Conflict, 409;
    AlreadyEnrolled = "already_enrolled", Conflict, 409;
    NotEnrolled = "not_enrolled", Conflict, 409;
    TotpLocked = "totp_locked", Conflict, 409;
    ForEventMismatch = "for_event_mismatch", Conflict, 409;
    TooManyPasskeys = "too_many_passkeys", Conflict, 409;
    CredentialExists = "credential_exists", Conflict, 409;
    ChallengeExpired = "challenge_expired", Conflict, 409;
    NoOtpSender = "no_otp_sender", Conflict, 409;
    NoCorpus = "no_corpus", Conflict, 409;
    TooManyChallenges = "too_many_challenges", RateLimited, 429;
    EngineBusy = "engine_busy", RateLimited, 429;
    TotpThrottled = "totp_throttled", RateLimited, 429;
    StepupBusy = "stepup_busy", RateLimited, 429;
    Overloaded = "overloaded", Unavailable, 503;
    OtpDeliveryFailed = "otp_delivery_failed", Unavailable, 502;
    CorpusUnavailable = "corpus_unavailable", Unavailable, 503;
    StoreFailed = "store_failed", Unavailable, 503;
    Internal = "internal", Internal, 500;
}

impl From<ErrorCode> for &'static str {
    fn from(c: ErrorCode) -> &'static str {
        c.as_str()
    }
}

/// An error response: `{"error": {"code", "type", "message", "path"?, "details"?}}`.
#[derive(Clone, Debug)]
pub struct ApiError {
    pub code: &'static str,
    pub message: String,
    pub path: Option<String>,
    pub details: Option<serde_json::Value>,
}

impl ApiError {
    /// An error with `code`: an [`ErrorCode`], or its text (codes that
    /// come from other crates, such as the event decoder's).
    pub fn new(code: impl Into<&'static str>, message: impl Into<String>) -> ApiError {
        ApiError {
            code: code.into(),
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
        // A code outside the table is a bug: answered as `internal`'s kind
        // and status (a test checks every code the server names is in it).
        let code = ErrorCode::from_code(self.code).unwrap_or(ErrorCode::Internal);
        (
            code.kind().as_str(),
            StatusCode::from_u16(code.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        )
    }

    /// The typed body: `{"error": {...}}`.
    pub fn body(&self) -> ErrorBody {
        let (kind, _) = self.kind_and_status();
        ErrorBody {
            error: ErrorDetail {
                code: self.code,
                kind,
                message: self.message.clone(),
                path: self.path.clone(),
                details: self.details.clone(),
            },
        }
    }
}

/// The body of every error answer.
#[derive(Clone, Debug, serde::Serialize, utoipa::ToSchema)]
#[schema(as = Error)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

/// One error: a stable code, its kind, what to change, and where.
#[derive(Clone, Debug, serde::Serialize, utoipa::ToSchema)]
pub struct ErrorDetail {
    /// The stable code (docs/errors.md).
    #[schema(value_type = crate::routes::openapi::ErrorCodeSchema)]
    pub code: &'static str,
    /// The code's kind.
    #[serde(rename = "type")]
    #[schema(value_type = ErrorKind)]
    pub kind: &'static str,
    /// What to change. Never repeats the rejected value.
    pub message: String,
    /// The offending field: dots for object fields, brackets for array
    /// items (`actor.ip`, `events[3].amount_minor`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// More about some errors: the problems of a pack, the hold in force,
    /// `retry_after_s`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<serde_json::Value>)]
    pub details: Option<serde_json::Value>,
}

impl std::fmt::Display for ErrorBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match serde_json::to_string(self) {
            Ok(s) => f.write_str(&s),
            Err(_) => f.write_str(self.error.code),
        }
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
