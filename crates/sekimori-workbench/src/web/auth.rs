//! Who is asking: an analyst's session from the cookie (pages) or from a
//! bearer token (REST), and the CSRF check of every page form.

use crate::error::WbError;
use crate::sessions::{same_token, Session, SECURE_SESSION_COOKIE, SESSION_COOKIE};
use crate::workbench::Workbench;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use std::sync::Arc;

/// The value of cookie `name`.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(cookie::Cookie::split_parse)
        .filter_map(Result::ok)
        .find(|c| c.name() == name)
        .map(|c| c.value().to_string())
}

/// A signed-in analyst on a page (cookie); a missing or expired session
/// goes to the sign-in page.
#[derive(Debug)]
pub struct PageWho {
    pub token: String,
    pub session: Session,
}

impl PageWho {
    /// Refuses a form whose CSRF token is not this session's.
    pub fn check_csrf(&self, presented: &str) -> Result<(), WbError> {
        if same_token(presented, &self.session.csrf) {
            Ok(())
        } else {
            Err(WbError::Csrf)
        }
    }
}

/// Where a page without a session goes.
#[derive(Debug)]
pub struct ToSignIn;

impl IntoResponse for ToSignIn {
    fn into_response(self) -> Response {
        Redirect::to("/ui/login").into_response()
    }
}

impl FromRequestParts<Arc<Workbench>> for PageWho {
    type Rejection = ToSignIn;

    async fn from_request_parts(
        parts: &mut Parts,
        wb: &Arc<Workbench>,
    ) -> Result<Self, Self::Rejection> {
        let token = cookie(&parts.headers, session_cookie_name(wb)).ok_or(ToSignIn)?;
        let session = wb.sessions.get(&token, wb.now_ms()).ok_or(ToSignIn)?;
        Ok(PageWho { token, session })
    }
}

/// A signed-in analyst on the REST API: `Authorization: Bearer ws_...`
/// only (a cookie never authenticates the API, so no CSRF is needed).
#[derive(Debug)]
pub struct ApiWho {
    pub token: String,
    pub session: Session,
}

impl FromRequestParts<Arc<Workbench>> for ApiWho {
    type Rejection = WbError;

    async fn from_request_parts(parts: &mut Parts, wb: &Arc<Workbench>) -> Result<Self, WbError> {
        let token = bearer(&parts.headers)
            .filter(|t| t.starts_with("ws_"))
            .ok_or(WbError::NoSession)?;
        let session = wb
            .sessions
            .get(&token, wb.now_ms())
            .ok_or(WbError::NoSession)?;
        Ok(ApiWho { token, session })
    }
}

/// The bearer token of the request.
pub fn bearer(headers: &HeaderMap) -> Option<String> {
    headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|h| h.strip_prefix("Bearer "))
        .map(String::from)
}

/// The session cookie's name: `__Host-` prefixed when cookies are Secure.
pub fn session_cookie_name(wb: &Workbench) -> &'static str {
    if wb.config.secure_cookies {
        SECURE_SESSION_COOKIE
    } else {
        SESSION_COOKIE
    }
}

/// The `Set-Cookie` value of a session cookie (empty `token`: deleted).
pub fn session_cookie(wb: &Workbench, token: &str) -> String {
    let name = session_cookie_name(wb);
    let secure = if wb.config.secure_cookies {
        "; Secure"
    } else {
        ""
    };
    let age = if token.is_empty() {
        "; Max-Age=0".to_string()
    } else {
        format!("; Max-Age={}", crate::sessions::ABSOLUTE_MS / 1000)
    };
    format!("{name}={token}; Path=/; HttpOnly; SameSite=Strict{secure}{age}")
}

/// The pre-session cookie of the sign-in form (double-submit CSRF token).
pub const PRE_COOKIE: &str = "sekimori_signin";
/// Its name when cookies are Secure (`__Host-`: Secure, `Path=/`).
pub const SECURE_PRE_COOKIE: &str = "__Host-sekimori_signin";

pub fn pre_cookie_name(wb: &Workbench) -> &'static str {
    if wb.config.secure_cookies {
        SECURE_PRE_COOKIE
    } else {
        PRE_COOKIE
    }
}

pub fn pre_cookie(wb: &Workbench, value: &str) -> String {
    if wb.config.secure_cookies {
        format!(
            "{SECURE_PRE_COOKIE}={value}; Path=/; HttpOnly; SameSite=Strict; Secure; Max-Age=3600"
        )
    } else {
        format!("{PRE_COOKIE}={value}; Path=/ui; HttpOnly; SameSite=Strict; Max-Age=3600")
    }
}
