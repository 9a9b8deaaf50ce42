//! The workbench's errors: a stable code, an HTTP status, the field's path,
//! and a message that never repeats a value (passwords and codes pass here).

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

#[derive(Debug, thiserror::Error)]
pub enum WbError {
    #[error("{message}")]
    Invalid { path: String, message: String },
    #[error("sign-in failed: check the login, the password and the code")]
    SignInFailed,
    #[error("too many failed sign-ins; wait and try again")]
    Throttled,
    #[error("sign in first")]
    NoSession,
    #[error("the form's CSRF token is missing or wrong; reload the page")]
    Csrf,
    #[error("this needs the {0} role")]
    Forbidden(&'static str),
    #[error("no such {0}")]
    NotFound(&'static str),
    #[error("{0}")]
    Conflict(String),
    #[error("an API key with the ingest scope for the service is needed")]
    BadKey,
    #[error("storage: {0}")]
    Storage(String),
    #[error("{0}")]
    Unavailable(&'static str),
}

impl WbError {
    pub fn invalid(path: &str, message: impl Into<String>) -> WbError {
        WbError::Invalid {
            path: path.into(),
            message: message.into(),
        }
    }

    /// The stable code (docs/workbench.md lists them).
    pub fn code(&self) -> &'static str {
        match self {
            WbError::Invalid { .. } => "invalid_value",
            WbError::SignInFailed => "sign_in_failed",
            WbError::Throttled => "sign_in_throttled",
            WbError::NoSession => "no_session",
            WbError::Csrf => "csrf_failed",
            WbError::Forbidden(_) => "role_required",
            WbError::NotFound(_) => "not_found",
            WbError::Conflict(_) => "conflict",
            WbError::BadKey => "invalid_api_key",
            WbError::Storage(_) => "storage_failed",
            WbError::Unavailable(_) => "not_available",
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            WbError::Invalid { .. } => StatusCode::BAD_REQUEST,
            WbError::SignInFailed | WbError::NoSession | WbError::BadKey => {
                StatusCode::UNAUTHORIZED
            }
            WbError::Throttled => StatusCode::TOO_MANY_REQUESTS,
            WbError::Csrf | WbError::Forbidden(_) => StatusCode::FORBIDDEN,
            WbError::NotFound(_) => StatusCode::NOT_FOUND,
            WbError::Conflict(_) => StatusCode::CONFLICT,
            WbError::Storage(_) | WbError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
        }
    }
}

/// As JSON, the API's error shape: `{"error": {"code", "message", "path"}}`.
impl IntoResponse for WbError {
    fn into_response(self) -> Response {
        if let WbError::Storage(e) = &self {
            tracing::error!(error = %e, "workbench storage");
        }
        let mut body = json!({"code": self.code(), "message": self.to_string()});
        if let WbError::Invalid { path, .. } = &self {
            body["path"] = json!(path);
        }
        (self.status(), axum::Json(json!({ "error": body }))).into_response()
    }
}

pub mod locale;
