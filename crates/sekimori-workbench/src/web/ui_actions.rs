//! The page handlers of part 4's hold, list, bulk and search actions and
//! of the admin's changes to analysts. Every POST checks the session's
//! CSRF token first; each calls the same [`Workbench`] function as
//! [`super::api_actions`].

use super::api_actions::{run_search, ScopeName, SearchQuery, MAX_SEARCH_HITS};
use super::auth::PageWho;
use super::extract::PageForm;
use super::ui::{back, page_error};
use crate::acts::Disposition;
use crate::bulk::BulkOp;
use crate::error::WbError;
use crate::pages;
use crate::workbench::Workbench;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use std::sync::Arc;

type Wb = State<Arc<Workbench>>;

fn scope(name: &str) -> Result<ScopeName, WbError> {
    serde_json::from_value(serde_json::Value::String(name.into()))
        .map_err(|_| WbError::invalid("scope", "account, service, asset, wallet or bank"))
}

#[derive(Deserialize)]
pub struct HoldForm {
    csrf: String,
    scope: String,
    key: String,
    reason: String,
}

pub async fn place_hold(
    State(wb): Wb,
    who: PageWho,
    Path(id): Path<u64>,
    PageForm(f): PageForm<HoldForm>,
) -> Response {
    let r = async {
        who.check_csrf(&f.csrf)?;
        let sc = scope(&f.scope)?.scope();
        wb.place_hold(&who.session, id, sc, &f.key, &f.reason).await
    }
    .await;
    r.map_or_else(|e| page_error(Some(&who), e), |_| back(id))
}

#[derive(Deserialize)]
pub struct LiftForm {
    csrf: String,
    scope: String,
    key: String,
    #[serde(default)]
    service: String,
    reason: String,
}

pub async fn lift_hold(
    State(wb): Wb,
    who: PageWho,
    Path(id): Path<u64>,
    PageForm(f): PageForm<LiftForm>,
) -> Response {
    let r = async {
        who.check_csrf(&f.csrf)?;
        let sc = scope(&f.scope)?.scope();
        let service = Some(f.service.as_str()).filter(|s| !s.is_empty());
        wb.lift_hold(&who.session, id, sc, &f.key, service, &f.reason)
            .await
    }
    .await;
    r.map_or_else(|e| page_error(Some(&who), e), |_| back(id))
}

#[derive(Deserialize)]
pub struct ListForm {
    csrf: String,
    list: String,
    item: String,
    expires_in_hours: String,
    reason: String,
}

pub async fn add_to_list(
    State(wb): Wb,
    who: PageWho,
    Path(id): Path<u64>,
    PageForm(f): PageForm<ListForm>,
) -> Response {
    let r = async {
        who.check_csrf(&f.csrf)?;
        let hours = f
            .expires_in_hours
            .trim()
            .parse::<u32>()
            .map_err(|_| WbError::invalid("expires_in_hours", "a whole number of hours"))?;
        wb.add_to_list(&who.session, id, &f.list, &f.item, hours, &f.reason)
            .await
    }
    .await;
    r.map_or_else(|e| page_error(Some(&who), e), |_| back(id))
}

/// The bulk form: `case` repeated (the ticked rows), `action`,
/// `disposition` and `note` (to close), and `csrf`.
pub async fn bulk(State(wb): Wb, who: PageWho, body: Bytes) -> Response {
    let (mut csrf, mut action, mut disposition, mut note) =
        (String::new(), String::new(), String::new(), String::new());
    let mut cases = Vec::new();
    for (k, v) in form_urlencoded::parse(&body) {
        match k.as_ref() {
            "csrf" => csrf = v.into_owned(),
            "action" => action = v.into_owned(),
            "disposition" => disposition = v.into_owned(),
            "note" => note = v.into_owned(),
            "case" => match v.parse::<u64>() {
                Ok(id) if cases.len() <= crate::bulk::MAX_BULK => cases.push(id),
                Ok(_) => {}
                Err(_) => return page_error(Some(&who), WbError::invalid("case", "a case id")),
            },
            _ => {}
        }
    }
    let r = async {
        who.check_csrf(&csrf)?;
        let op = BulkOp::parse(&action)
            .ok_or_else(|| WbError::invalid("action", "claim, release or close"))?;
        let d = match disposition.as_str() {
            "" => None,
            d => Some(Disposition::parse(d).ok_or_else(|| {
                WbError::invalid(
                    "disposition",
                    "confirmed_fraud, false_positive, legitimate or unable_to_verify",
                )
            })?),
        };
        wb.bulk(&who.session, &cases, op, d, &note).await
    }
    .await;
    match r {
        Ok(results) => pages::results::bulk_page(&who.session, &results).into_response(),
        Err(e) => page_error(Some(&who), e),
    }
}

pub async fn search(State(wb): Wb, who: PageWho, Query(q): Query<SearchQuery>) -> Response {
    let limit = q.limit.map_or(100, |l| l as usize).min(MAX_SEARCH_HITS);
    let kind = q.kind.map(super::api_actions::SearchKind::name);
    let index = match wb.sync().await {
        Ok(i) => i,
        Err(e) => return page_error(Some(&who), e),
    };
    match run_search(&wb, &index, q.q.as_deref().unwrap_or(""), kind, limit) {
        Ok(r) => pages::results::search_page(&who.session, &r).into_response(),
        Err(e) => page_error(Some(&who), e),
    }
}

#[derive(Deserialize)]
pub struct CsrfOnly {
    csrf: String,
}

async fn analysts_after(wb: &Workbench, who: &PageWho, shown: Option<(&str, &str)>) -> Response {
    match super::ui::analyst_rows(wb) {
        Ok(list) => pages::analysts(&who.session, &list, shown).into_response(),
        Err(e) => page_error(Some(who), e),
    }
}

pub async fn disable_analyst(
    State(wb): Wb,
    who: PageWho,
    Path(login): Path<String>,
    PageForm(f): PageForm<CsrfOnly>,
) -> Response {
    if let Err(e) = who.check_csrf(&f.csrf) {
        return page_error(Some(&who), e);
    }
    match wb.set_analyst_disabled(&who.session, &login, true).await {
        Ok(_) => Redirect::to("/ui/analysts").into_response(),
        Err(e) => page_error(Some(&who), e),
    }
}

pub async fn enable_analyst(
    State(wb): Wb,
    who: PageWho,
    Path(login): Path<String>,
    PageForm(f): PageForm<CsrfOnly>,
) -> Response {
    if let Err(e) = who.check_csrf(&f.csrf) {
        return page_error(Some(&who), e);
    }
    match wb.set_analyst_disabled(&who.session, &login, false).await {
        Ok(_) => Redirect::to("/ui/analysts").into_response(),
        Err(e) => page_error(Some(&who), e),
    }
}

#[derive(Deserialize)]
pub struct ResetForm {
    csrf: String,
    password: String,
}

pub async fn reset_analyst(
    State(wb): Wb,
    who: PageWho,
    Path(login): Path<String>,
    PageForm(f): PageForm<ResetForm>,
) -> Response {
    if let Err(e) = who.check_csrf(&f.csrf) {
        return page_error(Some(&who), e);
    }
    match wb.reset_analyst(&who.session, &login, &f.password).await {
        Ok((uri, _)) => analysts_after(&wb, &who, Some((&login, uri.expose()))).await,
        Err(e) => page_error(Some(&who), e),
    }
}
