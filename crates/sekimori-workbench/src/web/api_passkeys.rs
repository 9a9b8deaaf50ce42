//! The REST API of analysts' passkeys: sign in with a passkey alone (a
//! ceremony whose handle the client keeps), register one while signed in,
//! list one's own, and (admins) remove an analyst's.

use super::auth::ApiWho;
use super::extract::ApiJson;
use super::openapi::SignedIn;
use super::passkeys;
use crate::analyst_passkeys::PasskeyInfo;
use crate::error::WbError;
use crate::i18n::Locale;
use crate::workbench::Workbench;
use axum::extract::State;
use axum::Json;
use sekimori_event::strict::Object;
use sekimori_webauthn::{PublicKeyCredential, RegisterPublicKeyCredential};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::sync::Arc;
use utoipa::ToSchema;

type Wb = State<Arc<Workbench>>;
type Answer<T> = Result<Json<T>, WbError>;

/// Starts a passkey sign-in.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasskeySignInStart {
    /// The login, for a passkey that is not discoverable; omit it to let
    /// the authenticator offer its discoverable passkeys.
    #[serde(default)]
    login: Option<String>,
}

/// A ceremony started: pass `options` to `navigator.credentials.create()`
/// or `.get()` (as `publicKey`, binary fields base64url) and send the
/// result back with `ceremony` within five minutes; a ceremony is used once.
#[derive(Serialize, ToSchema)]
pub struct PasskeyCeremony {
    /// 64 hex digits; for a sign-in, also the client's proof: keep it private.
    pub ceremony: String,
    /// The WebAuthn options (webauthn-rs's JSON: `{"publicKey": {...}}`).
    #[schema(value_type = Object)]
    pub options: Value,
}

impl std::fmt::Debug for PasskeyCeremony {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PasskeyCeremony").finish_non_exhaustive()
    }
}

/// Finishes a passkey sign-in.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasskeySignInFinish {
    ceremony: String,
    /// The PublicKeyCredential `navigator.credentials.get()` gave, as JSON.
    #[schema(value_type = Object)]
    credential: PublicKeyCredential,
}

/// Starts registering a passkey.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasskeyRegisterStart {
    /// What to call it (at most 64 characters; default `passkey`).
    #[serde(default)]
    name: String,
}

/// Finishes registering a passkey.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasskeyRegisterFinish {
    ceremony: String,
    /// The PublicKeyCredential `navigator.credentials.create()` gave, as JSON.
    #[schema(value_type = Object)]
    credential: RegisterPublicKeyCredential,
}

/// A registered passkey (never its key material).
#[derive(Debug, Serialize, ToSchema)]
pub struct PasskeyDoc {
    /// The credential id, hex.
    pub id: String,
    pub name: String,
    pub created_at: String,
}

impl From<PasskeyInfo> for PasskeyDoc {
    fn from(p: PasskeyInfo) -> Self {
        PasskeyDoc {
            id: p.id,
            name: p.name,
            created_at: p.created_at,
        }
    }
}

/// A new passkey.
#[derive(Debug, Serialize, ToSchema)]
pub struct PasskeyRegistered {
    pub passkey: PasskeyDoc,
}

/// The signed-in analyst's passkeys.
#[derive(Debug, Serialize, ToSchema)]
pub struct PasskeyList {
    pub passkeys: Vec<PasskeyDoc>,
}

/// Which passkeys to remove.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasskeyRemove {
    /// The analyst whose passkeys go.
    login: String,
    /// One passkey's id; omit it to remove them all.
    #[serde(default)]
    id: Option<String>,
}

/// How many passkeys were removed.
#[derive(Debug, Serialize, ToSchema)]
pub struct PasskeysRemoved {
    pub removed: usize,
}

/// Starts a passkey sign-in (user verification required). With `login`
/// the options list that login's passkeys (a login without any gets a
/// stand-in, so the answer does not tell); without, the authenticator's
/// discoverable passkeys. 404 `not_found` when passkeys are off.
#[utoipa::path(post, path = "/v1/workbench/passkeys/sign-in/start", tag = "workbench",
    request_body(content = PasskeySignInStart, description = "At most 64 KiB"),
    responses((status = 200, description = "Ceremony started", body = PasskeyCeremony)))]
pub async fn sign_in_start(
    State(wb): Wb,
    ApiJson(Object(b)): ApiJson<Object<PasskeySignInStart>>,
) -> Answer<PasskeyCeremony> {
    let (ceremony, options) = passkeys::start_sign_in(&wb, None, b.login.as_deref()).await?;
    Ok(Json(PasskeyCeremony {
        ceremony,
        options: serde_json::to_value(options).map_err(|e| WbError::Storage(e.to_string()))?,
    }))
}

/// Finishes a passkey sign-in: answers a session token, as a password
/// sign-in does. A refused assertion (wrong origin, replay, unknown or
/// removed passkey, disabled analyst) is 401 `sign_in_failed`; an unknown,
/// used or expired ceremony 400 `invalid_value` at `ceremony`.
#[utoipa::path(post, path = "/v1/workbench/passkeys/sign-in/finish", tag = "workbench",
    request_body(content = PasskeySignInFinish, description = "At most 64 KiB"),
    responses((status = 200, description = "Signed in", body = SignedIn)))]
pub async fn sign_in_finish(
    State(wb): Wb,
    ApiJson(Object(b)): ApiJson<Object<PasskeySignInFinish>>,
) -> Answer<SignedIn> {
    let (token, s) =
        passkeys::finish_sign_in(&wb, &b.ceremony, None, b.credential, Locale::En).await?;
    Ok(Json(SignedIn::new(token, s)))
}

/// The signed-in analyst's passkeys.
#[utoipa::path(get, path = "/v1/workbench/passkeys", tag = "workbench",
    responses((status = 200, description = "Passkeys", body = PasskeyList)))]
pub async fn list(State(wb): Wb, who: ApiWho) -> Answer<PasskeyList> {
    let passkeys = wb
        .analysts
        .passkeys(&who.session.login)?
        .unwrap_or_default()
        .into_iter()
        .map(PasskeyDoc::from)
        .collect();
    Ok(Json(PasskeyList { passkeys }))
}

/// Starts registering a passkey for the signed-in analyst (bound to this
/// session; the analyst's passkeys are excluded).
#[utoipa::path(post, path = "/v1/workbench/passkeys/register/start", tag = "workbench",
    request_body(content = PasskeyRegisterStart, description = "At most 64 KiB"),
    responses((status = 200, description = "Ceremony started", body = PasskeyCeremony)))]
pub async fn register_start(
    State(wb): Wb,
    who: ApiWho,
    ApiJson(Object(b)): ApiJson<Object<PasskeyRegisterStart>>,
) -> Answer<PasskeyCeremony> {
    let (ceremony, options) = passkeys::start_register(&wb, &who.session, &who.token, &b.name)?;
    Ok(Json(PasskeyCeremony {
        ceremony,
        options: serde_json::to_value(options).map_err(|e| WbError::Storage(e.to_string()))?,
    }))
}

/// Finishes registering a passkey. An answer that does not verify is 400
/// `invalid_value` at `credential`; a passkey registered already 409
/// `conflict`.
#[utoipa::path(post, path = "/v1/workbench/passkeys/register/finish", tag = "workbench",
    request_body(content = PasskeyRegisterFinish, description = "At most 64 KiB"),
    responses((status = 200, description = "Registered", body = PasskeyRegistered)))]
pub async fn register_finish(
    State(wb): Wb,
    who: ApiWho,
    ApiJson(Object(b)): ApiJson<Object<PasskeyRegisterFinish>>,
) -> Answer<PasskeyRegistered> {
    let info = passkeys::finish_register(&wb, &who.session, &who.token, &b.ceremony, &b.credential)
        .await?;
    Ok(Json(PasskeyRegistered {
        passkey: info.into(),
    }))
}

/// Removes an analyst's passkey, or all of them (admins); the analyst's
/// sessions end.
#[utoipa::path(post, path = "/v1/workbench/passkeys/remove", tag = "workbench",
    request_body(content = PasskeyRemove, description = "At most 64 KiB"),
    responses((status = 200, description = "Removed", body = PasskeysRemoved)))]
pub async fn remove(
    State(wb): Wb,
    who: ApiWho,
    ApiJson(Object(b)): ApiJson<Object<PasskeyRemove>>,
) -> Answer<PasskeysRemoved> {
    let removed = wb
        .remove_passkeys(&who.session, &b.login, b.id.as_deref())
        .await?;
    Ok(Json(PasskeysRemoved { removed }))
}
