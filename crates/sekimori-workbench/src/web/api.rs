//! The REST API: everything the pages do, as JSON, for a team with its own
//! case tool. Analysts authenticate with `POST /v1/workbench/sessions`
//! (password and TOTP) and send the token as `Authorization: Bearer ws_...`;
//! services post labels with an API key. Every answer is a typed struct of
//! [`super::openapi`], described in the server's `/openapi.json`.

use super::api_actions::case_id;
use super::auth::{bearer, ApiWho};
use super::extract::ApiJson;
use super::openapi::{
    AnalystDoc, AnalystRole, Analysts, CaseDetail, CaseRef, Claimed, Closed, CreatedAnalyst,
    DecideOutcome, Decided, DispositionName, Ended, Labeled, NextCase, NoteText, Queue, QueueRow,
    RequiredText, ServiceLabel, SignedIn,
};
use super::view::{case_view, parse_filter, QueueQuery};
use crate::acts::Disposition;
use crate::analysts::Role;
use crate::error::WbError;
use crate::i18n::Locale;
use crate::queue::{queue, Filter};
use crate::workbench::Workbench;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::Json;
use sekimori_event::strict::Object;
use serde::Deserialize;
use std::sync::Arc;
use utoipa::ToSchema;

type Wb = State<Arc<Workbench>>;
type Answer<T> = Result<Json<T>, WbError>;

/// The most cases one queue answer lists.
pub const MAX_QUEUE_LIMIT: usize = 1_000;

/// Sign in with a password and the current TOTP code.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignIn {
    login: String,
    password: String,
    /// The authenticator's current 6-digit code.
    code: String,
}

/// Signs an analyst in: answers a session token for `Authorization: Bearer`.
/// A wrong login, password or code is 401 `sign_in_failed` (the same for
/// each); repeated failures are 429 `sign_in_throttled`.
#[utoipa::path(post, path = "/v1/workbench/sessions", tag = "workbench",
    request_body(content = SignIn, description = "At most 64 KiB"),
    responses((status = 200, description = "Signed in", body = SignedIn)))]
pub async fn sign_in(
    State(wb): Wb,
    ApiJson(Object(b)): ApiJson<Object<SignIn>>,
) -> Answer<SignedIn> {
    let (token, s) = super::sign_in(&wb, &b.login, &b.password, &b.code, Locale::En).await?;
    Ok(Json(SignedIn::new(token, s)))
}

/// Ends every session of the signed-in analyst (this one too).
#[utoipa::path(post, path = "/v1/workbench/sessions/end-all", tag = "workbench",
    responses((status = 200, description = "Sessions ended", body = Ended)))]
pub async fn sign_out_everywhere(State(wb): Wb, who: ApiWho) -> Answer<Ended> {
    let ended = super::sign_out_everywhere(&wb, &who.session.login).await?;
    Ok(Json(Ended { ended }))
}

/// The review queue, highest priority first.
#[utoipa::path(get, path = "/v1/cases", tag = "workbench",
    params(
        ("service" = Option<String>, Query, description = "Only this service's cases"),
        ("rule" = Option<String>, Query, description = "Only cases a rule of this name fired in"),
        ("action" = Option<String>, Query, description = "Only cases whose top action is this (blank is any)", pattern = r"^\s*(allow|challenge|review|deny|freeze|halt)?\s*$"),
        ("min_age_hours" = Option<String>, Query, description = "Only cases open at least this many hours (a whole number; blank is any)", pattern = r"^\s*[0-9]{0,9}\s*$"),
        ("limit" = Option<u64>, Query, description = "At most this many rows (default 100; more than 1000 is 1000)"),
    ),
    responses((status = 200, description = "The queue", body = Queue)))]
pub async fn cases(
    State(wb): Wb,
    who: ApiWho,
    q: Result<Query<QueueQuery>, QueryRejection>,
) -> Answer<Queue> {
    let Query(q) = q.map_err(|_| WbError::invalid("limit", "a whole number of rows"))?;
    // The document says int64, as JSON readers take it.
    if q.limit
        .is_some_and(|l| u64::try_from(l).map_or(true, |l| l > i64::MAX as u64))
    {
        return Err(WbError::invalid("limit", "a whole number of rows"));
    }
    let limit = q.limit.unwrap_or(100).min(MAX_QUEUE_LIMIT);
    let filter = parse_filter(q)?;
    let now = wb.now_ms();
    let index = wb.catch_up()?;
    let rows: Vec<QueueRow> = queue(&index, &who.session.login, &filter, now, limit)
        .iter()
        .map(|r| QueueRow::of(r.case, r.priority, r.mine))
        .collect();
    Ok(Json(Queue {
        cases: rows,
        open: index.open_count(),
    }))
}

/// One case: its events with their logged decisions, the account's
/// timeline, labels, standing and linked accounts.
#[utoipa::path(get, path = "/v1/cases/{id}", tag = "workbench",
    params(("id" = u64, Path, description = "The case id")),
    responses((status = 200, description = "The case", body = CaseDetail)))]
pub async fn case(
    State(wb): Wb,
    _who: ApiWho,
    id: Result<Path<u64>, PathRejection>,
) -> Answer<CaseDetail> {
    let v = case_view(&wb, case_id(id)?)?;
    Ok(Json(CaseDetail::of(v)))
}

/// Claims the next case of the queue for the signed-in analyst; `case` is
/// null when the queue is empty.
#[utoipa::path(post, path = "/v1/cases/next", tag = "workbench",
    responses((status = 200, description = "The claimed case, or none", body = NextCase)))]
pub async fn next(State(wb): Wb, who: ApiWho) -> Answer<NextCase> {
    let id = wb.next(&who.session, &Filter::default()).await?;
    Ok(Json(NextCase { case: id }))
}

/// Claims a case (a claim lapses after 60 minutes).
#[utoipa::path(post, path = "/v1/cases/{id}/claim", tag = "workbench",
    params(("id" = u64, Path, description = "The case id")),
    responses((status = 200, description = "Claimed", body = Claimed)))]
pub async fn claim(
    State(wb): Wb,
    who: ApiWho,
    id: Result<Path<u64>, PathRejection>,
) -> Answer<Claimed> {
    let id = case_id(id)?;
    wb.claim(&who.session, id).await?;
    Ok(Json(Claimed {
        case: id,
        claimed_by: who.session.login,
    }))
}

/// Releases the analyst's claim on a case.
#[utoipa::path(post, path = "/v1/cases/{id}/release", tag = "workbench",
    params(("id" = u64, Path, description = "The case id")),
    responses((status = 200, description = "Released", body = CaseRef)))]
pub async fn release(
    State(wb): Wb,
    who: ApiWho,
    id: Result<Path<u64>, PathRejection>,
) -> Answer<CaseRef> {
    let id = case_id(id)?;
    wb.release(&who.session, id).await?;
    Ok(Json(CaseRef { case: id }))
}

/// A note on a case.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Note {
    /// At most 4,096 bytes; line breaks and tabs kept, no other control or
    /// bidirectional-override character; not blank.
    #[schema(value_type = RequiredText)]
    note: String,
}

/// Adds a note to a case (logged).
#[utoipa::path(post, path = "/v1/cases/{id}/notes", tag = "workbench",
    params(("id" = u64, Path, description = "The case id")),
    request_body(content = Note, description = "At most 64 KiB"),
    responses((status = 200, description = "Noted", body = CaseRef)))]
pub async fn note(
    State(wb): Wb,
    who: ApiWho,
    id: Result<Path<u64>, PathRejection>,
    ApiJson(Object(b)): ApiJson<Object<Note>>,
) -> Answer<CaseRef> {
    let id = case_id(id)?;
    wb.note(&who.session, id, &b.note).await?;
    Ok(Json(CaseRef { case: id }))
}

/// Approve or decline a held event of the case.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Decide {
    event_id: String,
    #[schema(value_type = DecideOutcome)]
    outcome: String,
    /// Why (logged; told to the service). As a note's text.
    #[schema(value_type = RequiredText)]
    reason: String,
}

/// Approves (a supervisor; released at the second distinct supervisor's
/// approval) or declines a held event of the case.
#[utoipa::path(post, path = "/v1/cases/{id}/decide", tag = "workbench",
    params(("id" = u64, Path, description = "The case id")),
    request_body(content = Decide, description = "At most 64 KiB"),
    responses((status = 200, description = "Recorded", body = Decided)))]
pub async fn decide(
    State(wb): Wb,
    who: ApiWho,
    id: Result<Path<u64>, PathRejection>,
    ApiJson(Object(b)): ApiJson<Object<Decide>>,
) -> Answer<Decided> {
    let id = case_id(id)?;
    let approve = match b.outcome.as_str() {
        "approve" => true,
        "decline" => false,
        _ => return Err(WbError::invalid("outcome", "approve or decline")),
    };
    wb.decide(&who.session, id, &b.event_id, approve, &b.reason)
        .await?;
    Ok(Json(Decided {
        case: id,
        event_id: b.event_id,
        outcome: b.outcome,
    }))
}

/// Close a case with a disposition.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Close {
    #[schema(value_type = DispositionName)]
    disposition: Disposition,
    /// As a note's text; may be empty.
    #[schema(value_type = NoteText)]
    note: String,
}

/// Closes a case; its disposition labels its events.
#[utoipa::path(post, path = "/v1/cases/{id}/close", tag = "workbench",
    params(("id" = u64, Path, description = "The case id")),
    request_body(content = Close, description = "At most 64 KiB"),
    responses((status = 200, description = "Closed", body = Closed)))]
pub async fn close(
    State(wb): Wb,
    who: ApiWho,
    id: Result<Path<u64>, PathRejection>,
    ApiJson(Object(b)): ApiJson<Object<Close>>,
) -> Answer<Closed> {
    let id = case_id(id)?;
    wb.close(&who.session, id, b.disposition, &b.note).await?;
    Ok(Json(Closed {
        case: id,
        disposition: DispositionName::of(b.disposition),
    }))
}

/// The analysts (admins only).
#[utoipa::path(get, path = "/v1/analysts", tag = "workbench",
    responses((status = 200, description = "Every analyst", body = Analysts)))]
pub async fn analysts(State(wb): Wb, who: ApiWho) -> Answer<Analysts> {
    if who.session.role != Role::Admin {
        return Err(WbError::Forbidden("admin"));
    }
    let list = wb.analysts.list()?;
    Ok(Json(Analysts {
        analysts: list.into_iter().map(AnalystDoc::of).collect(),
    }))
}

/// A new analyst.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewAnalyst {
    #[schema(pattern = "^[A-Za-z0-9._@-]{1,64}$")]
    login: String,
    #[schema(value_type = AnalystRole)]
    role: Role,
    /// 12 to 256 characters.
    #[schema(min_length = 12, max_length = 256)]
    password: String,
}

/// Creates an analyst (admins only): answers the TOTP provisioning URI,
/// once. A login already taken is 400 `invalid_value` at `login`.
#[utoipa::path(post, path = "/v1/analysts", tag = "workbench",
    request_body(content = NewAnalyst, description = "At most 64 KiB"),
    responses((status = 200, description = "Created", body = CreatedAnalyst)))]
pub async fn create_analyst(
    State(wb): Wb,
    who: ApiWho,
    ApiJson(Object(b)): ApiJson<Object<NewAnalyst>>,
) -> Answer<CreatedAnalyst> {
    let (info, uri) = wb
        .create_analyst(&who.session, &b.login, b.role, &b.password)
        .await?;
    Ok(Json(CreatedAnalyst {
        analyst: AnalystDoc::of(info),
        otpauth_uri: uri.expose().to_string(),
    }))
}

/// A service's label on one of its events.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Label {
    service: String,
    /// The event's id (1 to 256 bytes).
    #[schema(min_length = 1, max_length = 64)]
    event_id: String,
    #[schema(value_type = ServiceLabel)]
    label: String,
    /// As a note's text; may be left out.
    #[serde(default)]
    #[schema(value_type = NoteText)]
    note: String,
}

/// `POST /v1/labels`: a service's label, with an API key (`ingest` scope,
/// bound to the service). An event the service never sent is 404.
#[utoipa::path(post, path = "/v1/labels", tag = "workbench",
    request_body(content = Label, description = "At most 64 KiB"),
    responses((status = 200, description = "Labelled (logged)", body = Labeled)))]
pub async fn label(
    State(wb): Wb,
    headers: HeaderMap,
    ApiJson(Object(b)): ApiJson<Object<Label>>,
) -> Answer<Labeled> {
    let key = bearer(&headers).ok_or(WbError::BadKey)?;
    let name = wb.host.label_key(&key, &b.service)?;
    wb.label(&name, &b.service, &b.event_id, &b.label, &b.note)
        .await?;
    Ok(Json(Labeled {
        service: b.service,
        event_id: b.event_id,
        label: b.label,
    }))
}
