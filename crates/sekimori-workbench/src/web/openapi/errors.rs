//! The workbench API's error body and codes.

#[allow(unused_imports)]
use super::*;

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
