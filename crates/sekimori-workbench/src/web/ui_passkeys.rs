//! The pages' passkey routes. The ceremonies are JSON posted by
//! `assets/passkey.js` with the CSRF token in the `x-csrf-token` header:
//! the session's (registration) or, before sign-in, the pre-session
//! cookie's (double submit, as the sign-in form). Errors are the API's JSON
//! body, which the script shows.

use super::api_passkeys::{PasskeyCeremony, PasskeyDoc, PasskeyRegistered};
use super::auth::{cookie, pre_cookie_name, session_cookie, PageWho};
use super::extract::{ApiJson, PageForm};
use super::passkeys;
use super::ui::page_error;
use crate::analysts::Role;
use crate::error::WbError;
use crate::i18n::Locale;
use crate::pages;
use crate::sessions::same_token;
use crate::workbench::Workbench;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Json;
use sekimori_event::strict::Object;
use sekimori_webauthn::{PublicKeyCredential, RegisterPublicKeyCredential};
use serde::Deserialize;
use std::sync::Arc;

type Wb = State<Arc<Workbench>>;

/// The CSRF header the script sends.
pub const CSRF_HEADER: &str = "x-csrf-token";

fn csrf_header(headers: &HeaderMap) -> String {
    headers
        .get(CSRF_HEADER)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string()
}

/// The pre-session cookie, once the header repeats it (double submit).
fn pre_session(wb: &Workbench, headers: &HeaderMap) -> Result<String, WbError> {
    let pre = cookie(headers, pre_cookie_name(wb)).unwrap_or_default();
    if pre.is_empty() || !same_token(&pre, &csrf_header(headers)) {
        return Err(WbError::Csrf);
    }
    Ok(pre)
}

/// The signed-in analyst's passkeys and the registration button.
pub async fn passkeys_page(State(wb): Wb, who: PageWho) -> Response {
    match wb.analysts.passkeys(&who.session.login) {
        Ok(list) => pages::passkeys::page(
            &who.session,
            &list.unwrap_or_default(),
            wb.config.passkeys.is_some(),
        )
        .into_response(),
        Err(e) => page_error(Some(&who), e),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StartLogin {
    #[serde(default)]
    login: Option<String>,
}

pub async fn sign_in_start(
    State(wb): Wb,
    headers: HeaderMap,
    ApiJson(Object(b)): ApiJson<Object<StartLogin>>,
) -> Result<Json<PasskeyCeremony>, WbError> {
    let pre = pre_session(&wb, &headers)?;
    let (ceremony, options) = passkeys::start_sign_in(&wb, Some(&pre), b.login.as_deref()).await?;
    Ok(Json(PasskeyCeremony {
        ceremony,
        options: serde_json::to_value(options).map_err(|e| WbError::Storage(e.to_string()))?,
    }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FinishLogin {
    ceremony: String,
    credential: PublicKeyCredential,
    #[serde(default)]
    lang: String,
}

/// Signs in with the assertion: sets the session cookie and answers where
/// to go (`{"redirect": "/ui/queue"}`).
pub async fn sign_in_finish(
    State(wb): Wb,
    headers: HeaderMap,
    ApiJson(Object(b)): ApiJson<Object<FinishLogin>>,
) -> Response {
    let pre = match pre_session(&wb, &headers) {
        Ok(pre) => pre,
        Err(e) => return e.into_response(),
    };
    let locale = Locale::parse(&b.lang).unwrap_or_default();
    match passkeys::finish_sign_in(&wb, &b.ceremony, Some(&pre), b.credential, locale).await {
        Ok((token, _)) => (
            [(header::SET_COOKIE, session_cookie(&wb, &token))],
            Json(serde_json::json!({"redirect": "/ui/queue"})),
        )
            .into_response(),
        Err(e) => e.into_response(),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StartRegister {
    #[serde(default)]
    name: String,
}

pub async fn register_start(
    State(wb): Wb,
    who: PageWho,
    headers: HeaderMap,
    ApiJson(Object(b)): ApiJson<Object<StartRegister>>,
) -> Result<Json<PasskeyCeremony>, WbError> {
    who.check_csrf(&csrf_header(&headers))?;
    let (ceremony, options) = passkeys::start_register(&wb, &who.session, &who.token, &b.name)?;
    Ok(Json(PasskeyCeremony {
        ceremony,
        options: serde_json::to_value(options).map_err(|e| WbError::Storage(e.to_string()))?,
    }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FinishRegister {
    ceremony: String,
    credential: RegisterPublicKeyCredential,
}

pub async fn register_finish(
    State(wb): Wb,
    who: PageWho,
    headers: HeaderMap,
    ApiJson(Object(b)): ApiJson<Object<FinishRegister>>,
) -> Result<Json<PasskeyRegistered>, WbError> {
    who.check_csrf(&csrf_header(&headers))?;
    let info = passkeys::finish_register(&wb, &who.session, &who.token, &b.ceremony, &b.credential)
        .await?;
    Ok(Json(PasskeyRegistered {
        passkey: PasskeyDoc::from(info),
    }))
}

#[derive(Deserialize)]
pub struct RemoveForm {
    csrf: String,
    #[serde(default)]
    id: String,
    #[serde(default)]
    reason: String,
}

/// An admin removes an analyst's passkeys (all, or `id`) with a reason
/// (required; logged as the act's `why`), back to the analysts page.
pub async fn remove(
    State(wb): Wb,
    who: PageWho,
    Path(login): Path<String>,
    PageForm(f): PageForm<RemoveForm>,
) -> Response {
    if let Err(e) = who.check_csrf(&f.csrf) {
        return page_error(Some(&who), e);
    }
    if who.session.role != Role::Admin {
        return page_error(Some(&who), WbError::Forbidden("admin"));
    }
    let id = Some(f.id.trim()).filter(|i| !i.is_empty());
    match wb
        .remove_passkeys_logged(&who.session, &login, id, Some(&f.reason))
        .await
    {
        Ok(_) => Redirect::to("/ui/analysts").into_response(),
        Err(e) => page_error(Some(&who), e),
    }
}
