//! The REST API: everything the pages do, as JSON, for a team with its own
//! case tool. Analysts authenticate with `POST /v1/workbench/sessions`
//! (password and TOTP) and send the token as `Authorization: Bearer ws_...`;
//! services post labels with an API key.

use super::auth::{bearer, ApiWho};
use super::extract::ApiJson;
use super::view::{case_view, parse_filter, QueueQuery};
use crate::acts::Disposition;
use crate::analysts::Role;
use crate::error::WbError;
use crate::i18n::Locale;
use crate::queue::{queue, Filter};
use crate::workbench::Workbench;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};
use std::sync::Arc;

type Wb = State<Arc<Workbench>>;
type Answer = Result<Json<Value>, WbError>;

/// The most cases one queue answer lists.
pub const MAX_QUEUE_LIMIT: usize = 1_000;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignIn {
    login: String,
    password: String,
    code: String,
}

pub async fn sign_in(State(wb): Wb, ApiJson(b): ApiJson<SignIn>) -> Answer {
    let (token, s) = super::sign_in(&wb, &b.login, &b.password, &b.code, Locale::En).await?;
    Ok(Json(json!({
        "token": token, "login": s.login, "role": s.role,
        "idle_timeout_s": crate::sessions::IDLE_MS / 1000,
        "absolute_timeout_s": crate::sessions::ABSOLUTE_MS / 1000,
    })))
}

pub async fn sign_out_everywhere(State(wb): Wb, who: ApiWho) -> Answer {
    let ended = super::sign_out_everywhere(&wb, &who.session.login).await?;
    Ok(Json(json!({ "ended": ended })))
}

pub async fn cases(State(wb): Wb, who: ApiWho, Query(q): Query<QueueQuery>) -> Answer {
    let limit = q.limit.unwrap_or(100).min(MAX_QUEUE_LIMIT);
    let filter = parse_filter(q)?;
    let now = wb.now_ms();
    let index = wb.catch_up()?;
    let rows: Vec<Value> = queue(&index, &who.session.login, &filter, now, limit)
        .iter()
        .map(|r| {
            json!({"id": r.case.id, "priority": r.priority, "service": r.case.service,
                   "entity": r.case.entity, "family": r.case.family,
                   "action": r.case.top_action(), "money_at_risk": r.case.money_at_risk(),
                   "score": r.case.max_score(), "opened_at": sekimori_event::format_rfc3339_ms(r.case.opened_ms),
                   "claimed_by_me": r.mine, "events": r.case.events.len()})
        })
        .collect();
    Ok(Json(json!({ "cases": rows, "open": index.open_count() })))
}

pub async fn case(State(wb): Wb, _who: ApiWho, Path(id): Path<u64>) -> Answer {
    let v = case_view(&wb, id)?;
    serde_json::to_value(v)
        .map(Json)
        .map_err(|e| WbError::Storage(e.to_string()))
}

pub async fn next(State(wb): Wb, who: ApiWho) -> Answer {
    let id = wb.next(&who.session, &Filter::default()).await?;
    Ok(Json(json!({ "case": id })))
}

pub async fn claim(State(wb): Wb, who: ApiWho, Path(id): Path<u64>) -> Answer {
    wb.claim(&who.session, id).await?;
    Ok(Json(json!({ "case": id, "claimed_by": who.session.login })))
}

pub async fn release(State(wb): Wb, who: ApiWho, Path(id): Path<u64>) -> Answer {
    wb.release(&who.session, id).await?;
    Ok(Json(json!({ "case": id })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Note {
    note: String,
}

pub async fn note(
    State(wb): Wb,
    who: ApiWho,
    Path(id): Path<u64>,
    ApiJson(b): ApiJson<Note>,
) -> Answer {
    wb.note(&who.session, id, &b.note).await?;
    Ok(Json(json!({ "case": id })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Decide {
    event_id: String,
    /// `approve` or `decline`.
    outcome: String,
    reason: String,
}

pub async fn decide(
    State(wb): Wb,
    who: ApiWho,
    Path(id): Path<u64>,
    ApiJson(b): ApiJson<Decide>,
) -> Answer {
    let approve = match b.outcome.as_str() {
        "approve" => true,
        "decline" => false,
        _ => return Err(WbError::invalid("outcome", "approve or decline")),
    };
    wb.decide(&who.session, id, &b.event_id, approve, &b.reason)
        .await?;
    Ok(Json(
        json!({ "case": id, "event_id": b.event_id, "outcome": b.outcome }),
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Close {
    disposition: Disposition,
    note: String,
}

pub async fn close(
    State(wb): Wb,
    who: ApiWho,
    Path(id): Path<u64>,
    ApiJson(b): ApiJson<Close>,
) -> Answer {
    wb.close(&who.session, id, b.disposition, &b.note).await?;
    Ok(Json(json!({ "case": id, "disposition": b.disposition })))
}

pub async fn analysts(State(wb): Wb, who: ApiWho) -> Answer {
    if who.session.role != Role::Admin {
        return Err(WbError::Forbidden("admin"));
    }
    Ok(Json(json!({ "analysts": wb.analysts.list()? })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewAnalyst {
    login: String,
    role: Role,
    password: String,
}

pub async fn create_analyst(State(wb): Wb, who: ApiWho, ApiJson(b): ApiJson<NewAnalyst>) -> Answer {
    let (info, uri) = wb
        .create_analyst(&who.session, &b.login, b.role, &b.password)
        .await?;
    Ok(Json(
        json!({ "analyst": info, "otpauth_uri": uri.expose() }),
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Label {
    service: String,
    event_id: String,
    label: String,
    #[serde(default)]
    note: String,
}

/// `POST /v1/labels`: a service's label, with an API key (`ingest` scope,
/// bound to the service).
pub async fn label(State(wb): Wb, headers: HeaderMap, ApiJson(b): ApiJson<Label>) -> Answer {
    let key = bearer(&headers).ok_or(WbError::BadKey)?;
    let name = wb.host.label_key(&key, &b.service)?;
    wb.label(&name, &b.service, &b.event_id, &b.label, &b.note)
        .await?;
    Ok(Json(
        json!({ "service": b.service, "event_id": b.event_id, "label": b.label }),
    ))
}
