//! The admin's changes to analysts: disable, enable, reset.

use super::{login_of, Answer, Wb};
use crate::web::auth::ApiWho;
use crate::web::extract::ApiJson;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// An analyst after an admin's change.
#[derive(Debug, Serialize, ToSchema)]
pub struct AnalystState {
    pub login: String,
    pub disabled: bool,
    /// The sessions ended (a disable signs the analyst out everywhere).
    pub sessions_ended: usize,
}

/// Disables an analyst (an admin): they cannot sign in, and every session
/// of theirs ends. Logged (`disable_analyst`).
#[utoipa::path(post, path = "/v1/analysts/{login}/disable", tag = "workbench",
    params(("login" = String, Path, description = "The analyst's login", pattern = "^[A-Za-z0-9._@-]{1,64}$")),
    responses((status = 200, description = "Disabled", body = AnalystState)))]
pub async fn disable_analyst(
    State(wb): Wb,
    who: ApiWho,
    login: Result<Path<String>, PathRejection>,
) -> Answer<AnalystState> {
    let login = login_of(login)?;
    let ended = wb.set_analyst_disabled(&who.session, &login, true).await?;
    Ok(Json(AnalystState {
        login,
        disabled: true,
        sessions_ended: ended,
    }))
}

/// Enables a disabled analyst again (an admin). Logged (`enable_analyst`).
#[utoipa::path(post, path = "/v1/analysts/{login}/enable", tag = "workbench",
    params(("login" = String, Path, description = "The analyst's login", pattern = "^[A-Za-z0-9._@-]{1,64}$")),
    responses((status = 200, description = "Enabled", body = AnalystState)))]
pub async fn enable_analyst(
    State(wb): Wb,
    who: ApiWho,
    login: Result<Path<String>, PathRejection>,
) -> Answer<AnalystState> {
    let login = login_of(login)?;
    wb.set_analyst_disabled(&who.session, &login, false).await?;
    Ok(Json(AnalystState {
        login,
        disabled: false,
        sessions_ended: 0,
    }))
}

/// A new password for a reset.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResetBody {
    /// 12 to 256 characters.
    #[schema(min_length = 12, max_length = 256)]
    pub password: String,
}

/// A reset analyst: the new TOTP provisioning URI, shown once.
#[derive(Debug, Serialize, ToSchema)]
pub struct AnalystReset {
    pub login: String,
    pub otpauth_uri: String,
    pub sessions_ended: usize,
}

/// Resets an analyst's password and TOTP (an admin): a new seed, every
/// session of theirs ended; the admin is recorded as who enrolled them,
/// so for 7 days the two cannot be each other's second eyes. Logged
/// (`reset_analyst`, never the password or the seed).
#[utoipa::path(post, path = "/v1/analysts/{login}/reset", tag = "workbench",
    params(("login" = String, Path, description = "The analyst's login", pattern = "^[A-Za-z0-9._@-]{1,64}$")),
    request_body(content = ResetBody, description = "At most 64 KiB"),
    responses((status = 200, description = "Reset", body = AnalystReset)))]
pub async fn reset_analyst(
    State(wb): Wb,
    who: ApiWho,
    login: Result<Path<String>, PathRejection>,
    ApiJson(b): ApiJson<ResetBody>,
) -> Answer<AnalystReset> {
    let login = login_of(login)?;
    let (uri, ended) = wb.reset_analyst(&who.session, &login, &b.password).await?;
    Ok(Json(AnalystReset {
        login,
        otpauth_uri: uri.expose().to_string(),
        sessions_ended: ended,
    }))
}
