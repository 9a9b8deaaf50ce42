//! The page handlers (`/ui/...`). Every POST checks the session's CSRF
//! token before anything else; errors show as a page.

use super::auth::{cookie, pre_cookie, pre_cookie_name, session_cookie, PageWho};
use super::extract::PageForm;
use super::view::{case_view, parse_filter, QueueQuery};
use crate::acts::Disposition;
use crate::analyst_passkeys::PasskeyInfo;
use crate::analysts::Role;
use crate::error::WbError;
use crate::i18n::Locale;
use crate::pages;
use crate::queue::{queue, Filter};
use crate::sessions::same_token;
use crate::workbench::Workbench;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Redirect, Response};
use rand::RngCore;
use serde::Deserialize;
use std::sync::Arc;

type Wb = State<Arc<Workbench>>;

/// The most rows the queue page shows.
pub const QUEUE_PAGE_ROWS: usize = 200;

pub(super) fn page_error(who: Option<&PageWho>, e: WbError) -> Response {
    let status = e.status();
    // In the analyst's language (crate::error::locale); the API keeps English.
    let locale = who.map_or(Locale::default(), |w| w.session.locale);
    let text = crate::error::locale::message(locale, &e);
    let body = pages::error_page(who.map(|w| &w.session), &text);
    (status, body).into_response()
}

#[derive(Deserialize)]
pub struct LangQuery {
    lang: Option<String>,
}

pub async fn sign_in_page(State(wb): Wb, Query(q): Query<LangQuery>) -> Response {
    let locale = q
        .lang
        .as_deref()
        .and_then(Locale::parse)
        .unwrap_or_default();
    let mut pre = [0u8; 16];
    rand::rng().fill_bytes(&mut pre);
    let pre = hex::encode(pre);
    (
        [(header::SET_COOKIE, pre_cookie(&wb, &pre))],
        pages::sign_in(locale, &pre, None),
    )
        .into_response()
}

#[derive(Deserialize)]
pub struct SignInForm {
    csrf: String,
    lang: String,
    login: String,
    password: String,
    code: String,
}

pub async fn sign_in(
    State(wb): Wb,
    headers: HeaderMap,
    PageForm(f): PageForm<SignInForm>,
) -> Response {
    let locale = Locale::parse(&f.lang).unwrap_or_default();
    let pre = cookie(&headers, pre_cookie_name(&wb)).unwrap_or_default();
    if pre.is_empty() || !same_token(&pre, &f.csrf) {
        return page_error(None, WbError::Csrf);
    }
    match super::sign_in(&wb, &f.login, &f.password, &f.code, locale).await {
        Ok((token, _)) => (
            [(header::SET_COOKIE, session_cookie(&wb, &token))],
            Redirect::to("/ui/queue"),
        )
            .into_response(),
        Err(e @ (WbError::SignInFailed | WbError::Throttled)) => {
            let msg = match e {
                WbError::Throttled => crate::error::locale::message(locale, &e),
                _ => locale.text().sign_in_failed.to_string(),
            };
            (e.status(), pages::sign_in(locale, &pre, Some(&msg))).into_response()
        }
        Err(e) => page_error(None, e),
    }
}

#[derive(Deserialize)]
pub struct CsrfForm {
    csrf: String,
}

pub async fn sign_out(State(wb): Wb, who: PageWho, PageForm(f): PageForm<CsrfForm>) -> Response {
    if let Err(e) = who.check_csrf(&f.csrf) {
        return page_error(Some(&who), e);
    }
    wb.sessions.end(&who.token);
    (
        [(header::SET_COOKIE, session_cookie(&wb, ""))],
        Redirect::to("/ui/login"),
    )
        .into_response()
}

pub async fn sign_out_everywhere(
    State(wb): Wb,
    who: PageWho,
    PageForm(f): PageForm<CsrfForm>,
) -> Response {
    if let Err(e) = who.check_csrf(&f.csrf) {
        return page_error(Some(&who), e);
    }
    if let Err(e) = super::sign_out_everywhere(&wb, &who.session.login).await {
        return page_error(Some(&who), e);
    }
    (
        [(header::SET_COOKIE, session_cookie(&wb, ""))],
        Redirect::to("/ui/login"),
    )
        .into_response()
}

#[derive(Deserialize)]
pub struct PrefsForm {
    csrf: String,
    lang: String,
    tz: String,
}

pub async fn prefs(State(wb): Wb, who: PageWho, PageForm(f): PageForm<PrefsForm>) -> Response {
    if let Err(e) = who.check_csrf(&f.csrf) {
        return page_error(Some(&who), e);
    }
    let Some(locale) = Locale::parse(&f.lang) else {
        return page_error(Some(&who), WbError::invalid("lang", "en or ja"));
    };
    if !crate::timefmt::known_zone(&f.tz) {
        return page_error(Some(&who), WbError::invalid("tz", "an IANA time zone"));
    }
    wb.sessions.set_prefs(&who.token, locale, &f.tz);
    Redirect::to("/ui/queue").into_response()
}

pub async fn queue_page(State(wb): Wb, who: PageWho, Query(q): Query<QueueQuery>) -> Response {
    let filter = match parse_filter(q) {
        Ok(f) => f,
        Err(e) => return page_error(Some(&who), e),
    };
    let now = wb.now_ms();
    let index = match wb.sync().await {
        Ok(i) => i,
        Err(e) => return page_error(Some(&who), e),
    };
    let rows = queue(&index, &who.session.login, &filter, now, QUEUE_PAGE_ROWS);
    pages::queue::page(&who.session, &filter, &rows, now).into_response()
}

pub async fn next(State(wb): Wb, who: PageWho, PageForm(f): PageForm<CsrfForm>) -> Response {
    if let Err(e) = who.check_csrf(&f.csrf) {
        return page_error(Some(&who), e);
    }
    match wb.next(&who.session, &Filter::default()).await {
        Ok(Some(id)) => Redirect::to(&format!("/ui/cases/{id}")).into_response(),
        Ok(None) => Redirect::to("/ui/queue").into_response(),
        Err(e) => page_error(Some(&who), e),
    }
}

pub async fn case_page(State(wb): Wb, who: PageWho, Path(id): Path<u64>) -> Response {
    if let Err(e) = wb.sync().await {
        return page_error(Some(&who), e);
    }
    let holds = super::api_actions::case_holds(&wb, id).await.ok();
    match case_view(&wb, id) {
        Ok(v) => pages::case::page(&who.session, &v, holds.as_ref()).into_response(),
        Err(e) => page_error(Some(&who), e),
    }
}

pub(super) fn back(id: u64) -> Response {
    Redirect::to(&format!("/ui/cases/{id}")).into_response()
}

pub async fn claim(
    State(wb): Wb,
    who: PageWho,
    Path(id): Path<u64>,
    PageForm(f): PageForm<CsrfForm>,
) -> Response {
    let r = match who.check_csrf(&f.csrf) {
        Ok(()) => wb.claim(&who.session, id).await,
        Err(e) => Err(e),
    };
    r.map_or_else(|e| page_error(Some(&who), e), |()| back(id))
}

pub async fn release(
    State(wb): Wb,
    who: PageWho,
    Path(id): Path<u64>,
    PageForm(f): PageForm<CsrfForm>,
) -> Response {
    let r = match who.check_csrf(&f.csrf) {
        Ok(()) => wb.release(&who.session, id).await,
        Err(e) => Err(e),
    };
    r.map_or_else(
        |e| page_error(Some(&who), e),
        |()| Redirect::to("/ui/queue").into_response(),
    )
}

#[derive(Deserialize)]
pub struct NoteForm {
    csrf: String,
    note: String,
}

pub async fn note(
    State(wb): Wb,
    who: PageWho,
    Path(id): Path<u64>,
    PageForm(f): PageForm<NoteForm>,
) -> Response {
    let r = match who.check_csrf(&f.csrf) {
        Ok(()) => wb.note(&who.session, id, &f.note).await,
        Err(e) => Err(e),
    };
    r.map_or_else(|e| page_error(Some(&who), e), |()| back(id))
}

#[derive(Deserialize)]
pub struct DecideForm {
    csrf: String,
    event_id: String,
    outcome: String,
    reason: String,
}

pub async fn decide(
    State(wb): Wb,
    who: PageWho,
    Path(id): Path<u64>,
    PageForm(f): PageForm<DecideForm>,
) -> Response {
    let r = match (who.check_csrf(&f.csrf), f.outcome.as_str()) {
        (Err(e), _) => Err(e),
        (Ok(()), "approve" | "decline") => {
            wb.decide(
                &who.session,
                id,
                &f.event_id,
                f.outcome == "approve",
                &f.reason,
            )
            .await
        }
        (Ok(()), _) => Err(WbError::invalid("outcome", "approve or decline")),
    };
    r.map_or_else(|e| page_error(Some(&who), e), |()| back(id))
}

#[derive(Deserialize)]
pub struct CloseForm {
    csrf: String,
    disposition: String,
    note: String,
}

/// Closes the case and goes on to the next one (auto-advance).
pub async fn close(
    State(wb): Wb,
    who: PageWho,
    Path(id): Path<u64>,
    PageForm(f): PageForm<CloseForm>,
) -> Response {
    let r = match (who.check_csrf(&f.csrf), Disposition::parse(&f.disposition)) {
        (Err(e), _) => Err(e),
        (Ok(()), None) => Err(WbError::invalid(
            "disposition",
            "confirmed_fraud, false_positive, legitimate or unable_to_verify",
        )),
        (Ok(()), Some(d)) => wb.close(&who.session, id, d, &f.note).await,
    };
    if let Err(e) = r {
        return page_error(Some(&who), e);
    }
    match wb.next(&who.session, &Filter::default()).await {
        Ok(Some(next)) => back(next),
        Ok(None) => Redirect::to("/ui/queue").into_response(),
        Err(e) => page_error(Some(&who), e),
    }
}

pub async fn analysts_page(State(wb): Wb, who: PageWho) -> Response {
    if who.session.role != Role::Admin {
        return page_error(Some(&who), WbError::Forbidden("admin"));
    }
    match analyst_rows(&wb) {
        Ok(list) => pages::analysts(&who.session, &list, None).into_response(),
        Err(e) => page_error(Some(&who), e),
    }
}

/// The analysts, each with their passkeys (names and dates).
pub(super) fn analyst_rows(
    wb: &Workbench,
) -> Result<Vec<(crate::analysts::AnalystInfo, Vec<PasskeyInfo>)>, WbError> {
    wb.analysts
        .list()?
        .into_iter()
        .map(|a| {
            let keys = if a.passkeys > 0 {
                wb.analysts.passkeys(&a.login)?.unwrap_or_default()
            } else {
                Vec::new()
            };
            Ok((a, keys))
        })
        .collect()
}

#[derive(Deserialize)]
pub struct AnalystForm {
    csrf: String,
    login: String,
    role: String,
    password: String,
}

pub async fn create_analyst(
    State(wb): Wb,
    who: PageWho,
    PageForm(f): PageForm<AnalystForm>,
) -> Response {
    if let Err(e) = who.check_csrf(&f.csrf) {
        return page_error(Some(&who), e);
    }
    let Some(role) = Role::parse(&f.role) else {
        return page_error(
            Some(&who),
            WbError::invalid("role", "analyst, supervisor or admin"),
        );
    };
    let made = wb
        .create_analyst(&who.session, &f.login, role, &f.password)
        .await;
    match (made, analyst_rows(&wb)) {
        (Ok((info, uri)), Ok(list)) => {
            pages::analysts(&who.session, &list, Some((&info.login, uri.expose()))).into_response()
        }
        (Err(e), _) | (_, Err(e)) => page_error(Some(&who), e),
    }
}
