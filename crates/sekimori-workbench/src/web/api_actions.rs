//! The REST side of the case actions added to part 4 of issue 14: holds
//! (place, lift with four eyes, list), list items with an expiry, bulk
//! actions on a selection, search, and the admin's disable / enable /
//! reset of analysts. Analysts authenticate as for the rest of the API
//! (`Authorization: Bearer ws_...`); every handler calls the same
//! [`Workbench`] function as the pages, and each is annotated for the
//! workbench's OpenAPI document.

use super::auth::ApiWho;
use super::extract::ApiJson;
use crate::acts::Disposition;
use crate::bulk::BulkOp;
use crate::error::WbError;
use crate::hold_actions::LiftOutcome;
use crate::workbench::Workbench;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::Json;
use sekimori_engine::HoldScope;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use utoipa::ToSchema;

type Wb = State<Arc<Workbench>>;
type Answer<T> = Result<Json<T>, WbError>;

/// The most holds a case's holds section lists.
pub const MAX_CASE_HOLDS: usize = 100;

/// The most search hits one answer lists.
pub const MAX_SEARCH_HITS: usize = 200;

fn login_of(p: Result<Path<String>, PathRejection>) -> Result<String, WbError> {
    p.map(|Path(l)| l)
        .map_err(|_| WbError::invalid("login", "an analyst's login"))
}

fn case_id(p: Result<Path<u64>, PathRejection>) -> Result<u64, WbError> {
    p.map(|Path(id)| id)
        .map_err(|_| WbError::invalid("id", "a case id (a whole number)"))
}

/// What a hold holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ScopeName {
    Account,
    Service,
    Asset,
    Wallet,
    Bank,
}

impl ScopeName {
    pub fn scope(self) -> HoldScope {
        match self {
            ScopeName::Account => HoldScope::Account,
            ScopeName::Service => HoldScope::Service,
            ScopeName::Asset => HoldScope::Asset,
            ScopeName::Wallet => HoldScope::Wallet,
            ScopeName::Bank => HoldScope::Bank,
        }
    }

    pub fn of(scope: HoldScope) -> ScopeName {
        match scope {
            HoldScope::Account => ScopeName::Account,
            HoldScope::Service => ScopeName::Service,
            HoldScope::Asset => ScopeName::Asset,
            HoldScope::Wallet => ScopeName::Wallet,
            HoldScope::Bank => ScopeName::Bank,
        }
    }
}

/// A hold's key: the service (`*`: every service), its scope and key.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct HoldRef {
    pub service: String,
    pub scope: ScopeName,
    pub key: String,
}

impl HoldRef {
    fn of(k: &sekimori_engine::HoldKey) -> HoldRef {
        HoldRef {
            service: k.service.clone(),
            scope: ScopeName::of(k.scope),
            key: k.key.clone(),
        }
    }
}

/// A hold to place from a case, on the case's service. `account` places a
/// freeze (any analyst); any other scope a halt (a supervisor).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PlaceHoldBody {
    pub scope: ScopeName,
    /// An account id, a service, an asset (currency code: 2-12 upper-case
    /// letters or digits), a wallet or a bank (4-digit code).
    #[schema(
        min_length = 1,
        max_length = 256,
        pattern = "^[^\\s\\x00-\\x1f\\x7f-\\x9f](?:[^\\x00-\\x1f\\x7f-\\x9f]*[^\\s\\x00-\\x1f\\x7f-\\x9f])?$"
    )]
    pub key: String,
    /// Why: one line, at most 512 characters; logged and quoted in every
    /// decision the hold answers.
    #[schema(
        min_length = 1,
        max_length = 512,
        pattern = "^[^\\x00-\\x1f\\x7f-\\x9f\\u202a-\\u202e\\u2066-\\u2069]*[^\\s\\x00-\\x1f\\x7f-\\x9f\\u202a-\\u202e\\u2066-\\u2069][^\\x00-\\x1f\\x7f-\\x9f\\u202a-\\u202e\\u2066-\\u2069]*$"
    )]
    pub reason: String,
}

/// A placed hold.
#[derive(Debug, Serialize, ToSchema)]
pub struct HoldPlaced {
    pub case: u64,
    pub hold: HoldRef,
    /// `freeze` or `halt`.
    pub action: String,
}

/// Places a hold through the ledger (`Entry::Place`, as `POST /v1/holds`),
/// by `analyst:<login>`, with the reason; the case's history records it.
/// 409 `conflict` when a hold is already in force on the key; 403
/// `role_required` for a halt by an analyst.
#[utoipa::path(post, path = "/v1/cases/{id}/holds", tag = "workbench",
    params(("id" = u64, Path, description = "The case id")),
    request_body(content = PlaceHoldBody, description = "At most 64 KiB"),
    responses((status = 200, description = "Placed and durable", body = HoldPlaced)))]
pub async fn place_hold(
    State(wb): Wb,
    who: ApiWho,
    id: Result<Path<u64>, PathRejection>,
    ApiJson(b): ApiJson<PlaceHoldBody>,
) -> Answer<HoldPlaced> {
    let case = case_id(id)?;
    let (hold, action) = wb
        .place_hold(&who.session, case, b.scope.scope(), &b.key, &b.reason)
        .await?;
    Ok(Json(HoldPlaced {
        case,
        hold: HoldRef::of(&hold),
        action: format!("{action:?}").to_lowercase(),
    }))
}

/// A hold to lift, and why.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LiftHoldBody {
    pub scope: ScopeName,
    #[schema(
        min_length = 1,
        max_length = 256,
        pattern = "^[^\\s\\x00-\\x1f\\x7f-\\x9f](?:[^\\x00-\\x1f\\x7f-\\x9f]*[^\\s\\x00-\\x1f\\x7f-\\x9f])?$"
    )]
    pub key: String,
    /// The hold's service: the case's (the default) or `*`.
    #[serde(default)]
    pub service: Option<String>,
    /// Why: one line, at most 512 characters.
    #[schema(
        min_length = 1,
        max_length = 512,
        pattern = "^[^\\x00-\\x1f\\x7f-\\x9f\\u202a-\\u202e\\u2066-\\u2069]*[^\\s\\x00-\\x1f\\x7f-\\x9f\\u202a-\\u202e\\u2066-\\u2069][^\\x00-\\x1f\\x7f-\\x9f\\u202a-\\u202e\\u2066-\\u2069]*$"
    )]
    pub reason: String,
}

/// What a lift did.
#[derive(Debug, Serialize, ToSchema)]
pub struct HoldLift {
    pub case: u64,
    pub hold: HoldRef,
    /// `requested`: the first supervisor asked, a second independent one
    /// lifts; `lifted`: done (`Entry::Lift` durable).
    pub outcome: String,
}

/// Lifts a hold with four eyes: the first supervisor's call asks for the
/// lift, a second supervisor's (independent of the first) lifts it through
/// the ledger. 404 `not_found` when no such hold is in force; 409
/// `conflict` when the asker calls again or the second is not independent.
#[utoipa::path(post, path = "/v1/cases/{id}/holds/lift", tag = "workbench",
    params(("id" = u64, Path, description = "The case id")),
    request_body(content = LiftHoldBody, description = "At most 64 KiB"),
    responses((status = 200, description = "Asked for, or lifted", body = HoldLift)))]
pub async fn lift_hold(
    State(wb): Wb,
    who: ApiWho,
    id: Result<Path<u64>, PathRejection>,
    ApiJson(b): ApiJson<LiftHoldBody>,
) -> Answer<HoldLift> {
    let case = case_id(id)?;
    let outcome = wb
        .lift_hold(
            &who.session,
            case,
            b.scope.scope(),
            &b.key,
            b.service.as_deref(),
            &b.reason,
        )
        .await?;
    let service = match &b.service {
        Some(s) => s.clone(),
        None => wb
            .sync()
            .await?
            .case(case)
            .map(|c| c.service.clone())
            .unwrap_or_default(),
    };
    Ok(Json(HoldLift {
        case,
        hold: HoldRef {
            service,
            scope: b.scope,
            key: b.key,
        },
        outcome: match outcome {
            LiftOutcome::Requested => "requested",
            LiftOutcome::Lifted => "lifted",
        }
        .into(),
    }))
}

/// A hold in force on the case's service.
#[derive(Debug, Serialize, ToSchema)]
pub struct HoldInForce {
    pub hold: HoldRef,
    /// `freeze` or `halt`.
    pub action: String,
    /// RFC 3339: the event's time (a rule's hold) or the placement time.
    pub since: String,
    /// Who asked for it to be lifted (waiting for a second supervisor).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lift_requested_by: Option<String>,
}

/// A list item the workbench added, until its expiry.
#[derive(Debug, Serialize, ToSchema)]
pub struct TimedItemDoc {
    pub list: String,
    pub item: String,
    pub expires_at: String,
    /// The supervisor who added it.
    pub by: String,
}

/// The holds on a case's service, the lists of the live pack, and the list
/// items the workbench added.
#[derive(Debug, Serialize, ToSchema)]
pub struct CaseHolds {
    pub case: u64,
    pub holds: Vec<HoldInForce>,
    pub lists: Vec<String>,
    pub list_items: Vec<TimedItemDoc>,
}

/// What the case page's holds and lists section shows.
pub async fn case_holds(wb: &Workbench, case: u64) -> Result<CaseHolds, WbError> {
    let (service, entity) = {
        let index = wb.sync().await?;
        let c = index.case(case).ok_or(WbError::NotFound("case"))?;
        (c.service.clone(), c.entity.clone())
    };
    // The case's own account's holds and the wider ones (service, asset,
    // wallet, bank) of its service: never every frozen account.
    let holds: Vec<_> = wb
        .host
        .holds(service)
        .await
        .into_iter()
        .filter(|(k, _, _)| k.scope != HoldScope::Account || k.key == entity)
        .take(MAX_CASE_HOLDS)
        .collect();
    let lists = wb.host.lists().await;
    let index = wb.sync().await?;
    Ok(CaseHolds {
        case,
        holds: holds
            .into_iter()
            .map(|(k, action, since)| HoldInForce {
                lift_requested_by: index.lift_requested_by(&k).map(String::from),
                hold: HoldRef::of(&k),
                action: format!("{action:?}").to_lowercase(),
                since,
            })
            .collect(),
        lists,
        list_items: index
            .timed_items()
            .into_iter()
            .map(|t| TimedItemDoc {
                expires_at: sekimori_event::format_rfc3339_ms(t.expires_ms),
                list: t.list,
                item: t.item,
                by: t.by,
            })
            .collect(),
    })
}

/// The holds in force on the case's account and the wider holds (service,
/// asset, wallet, bank) of its service (at most 100), the live pack's lists
/// and the workbench's timed list items.
#[utoipa::path(get, path = "/v1/cases/{id}/holds", tag = "workbench",
    params(("id" = u64, Path, description = "The case id")),
    responses((status = 200, description = "Holds and lists", body = CaseHolds)))]
pub async fn holds(
    State(wb): Wb,
    _who: ApiWho,
    id: Result<Path<u64>, PathRejection>,
) -> Answer<CaseHolds> {
    Ok(Json(case_holds(&wb, case_id(id)?).await?))
}

/// An item to add to a list of the live pack, for a time.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ListAddBody {
    /// A list the live pack declares.
    #[schema(min_length = 1)]
    pub list: String,
    /// 1-256 characters (an account, a device, an address...).
    #[schema(
        min_length = 1,
        max_length = 256,
        pattern = "^[^\\s\\x00-\\x1f\\x7f-\\x9f](?:[^\\x00-\\x1f\\x7f-\\x9f]*[^\\s\\x00-\\x1f\\x7f-\\x9f])?$"
    )]
    pub item: String,
    /// 1 to 2,160 (90 days).
    #[schema(minimum = 1, maximum = 2160)]
    pub expires_in_hours: u32,
    /// Why: one line, at most 512 characters.
    #[schema(
        min_length = 1,
        max_length = 512,
        pattern = "^[^\\x00-\\x1f\\x7f-\\x9f\\u202a-\\u202e\\u2066-\\u2069]*[^\\s\\x00-\\x1f\\x7f-\\x9f\\u202a-\\u202e\\u2066-\\u2069][^\\x00-\\x1f\\x7f-\\x9f\\u202a-\\u202e\\u2066-\\u2069]*$"
    )]
    pub reason: String,
}

/// A list item added.
#[derive(Debug, Serialize, ToSchema)]
pub struct ListAdded {
    pub case: u64,
    pub list: String,
    pub item: String,
    /// When the workbench takes it off the list (server time, RFC 3339).
    pub expires_at: String,
}

/// Adds an item to a refusal list of the live pack through the ledger
/// (`Entry::List`, as `PUT /v1/lists/{name}`), until an expiry (a
/// supervisor). 400 `invalid_value` at `list` for a list the workbench may
/// not edit (the operator's choice: `blocked_ips` and `known_mules` by
/// default); 404 `not_found` for an allowed list the pack does not declare.
#[utoipa::path(post, path = "/v1/cases/{id}/lists", tag = "workbench",
    params(("id" = u64, Path, description = "The case id")),
    request_body(content = ListAddBody, description = "At most 64 KiB"),
    responses((status = 200, description = "Added and durable", body = ListAdded)))]
pub async fn add_to_list(
    State(wb): Wb,
    who: ApiWho,
    id: Result<Path<u64>, PathRejection>,
    ApiJson(b): ApiJson<ListAddBody>,
) -> Answer<ListAdded> {
    let case = case_id(id)?;
    let expires_at = wb
        .add_to_list(
            &who.session,
            case,
            &b.list,
            &b.item,
            b.expires_in_hours,
            &b.reason,
        )
        .await?;
    Ok(Json(ListAdded {
        case,
        list: b.list,
        item: b.item,
        expires_at,
    }))
}

/// A disposition (closing).
#[derive(Clone, Copy, Debug, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum BulkDisposition {
    ConfirmedFraud,
    FalsePositive,
    Legitimate,
    UnableToVerify,
}

/// A bulk action on 1 to 100 cases (a repeated id is done once): claim,
/// release, or close with a disposition and a note (the closing note of
/// every case).
///
/// Other fields are ignored (a tagged body's schema cannot close its
/// variants; a misspelt `disposition` or `note` is still refused as
/// missing).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum BulkBody {
    Claim {
        #[schema(min_items = 1, max_items = 100, maximum = 9223372036854775807_u64)]
        cases: Vec<u64>,
    },
    Release {
        #[schema(min_items = 1, max_items = 100, maximum = 9223372036854775807_u64)]
        cases: Vec<u64>,
    },
    Close {
        #[schema(min_items = 1, max_items = 100, maximum = 9223372036854775807_u64)]
        cases: Vec<u64>,
        disposition: BulkDisposition,
        #[schema(value_type = super::openapi::RequiredText)]
        note: String,
    },
}

/// The result for one case.
#[derive(Debug, Serialize, ToSchema)]
pub struct BulkItem {
    pub case: u64,
    pub ok: bool,
    /// The stable error code when refused (`conflict`, `not_found`...).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// Per-case results, in the order given.
#[derive(Debug, Serialize, ToSchema)]
pub struct BulkResults {
    pub results: Vec<BulkItem>,
}

/// Claims, releases or closes each selected case on its own: one refused
/// case does not stop the others, and each has its result. A body that
/// does not fit (no cases, over 100, closing without a disposition or a
/// note) is 400 and nothing is done.
#[utoipa::path(post, path = "/v1/cases/bulk", tag = "workbench",
    request_body(content = BulkBody, description = "At most 64 KiB"),
    responses((status = 200, description = "Per-case results", body = BulkResults)))]
pub async fn bulk(
    State(wb): Wb,
    who: ApiWho,
    ApiJson(b): ApiJson<BulkBody>,
) -> Answer<BulkResults> {
    let (op, cases, disposition, note) = match b {
        BulkBody::Claim { cases } => (BulkOp::Claim, cases, None, String::new()),
        BulkBody::Release { cases } => (BulkOp::Release, cases, None, String::new()),
        BulkBody::Close {
            cases,
            disposition,
            note,
        } => (BulkOp::Close, cases, Some(disposition), note),
    };
    if let Some(i) = cases.iter().position(|c| i64::try_from(*c).is_err()) {
        return Err(WbError::invalid(&format!("cases[{i}]"), "a case id"));
    }
    let disposition = disposition.map(|d| match d {
        BulkDisposition::ConfirmedFraud => Disposition::ConfirmedFraud,
        BulkDisposition::FalsePositive => Disposition::FalsePositive,
        BulkDisposition::Legitimate => Disposition::Legitimate,
        BulkDisposition::UnableToVerify => Disposition::UnableToVerify,
    });
    let results = wb
        .bulk(&who.session, &cases, op, disposition, &note)
        .await?;
    Ok(Json(BulkResults {
        results: results
            .into_iter()
            .map(|r| BulkItem {
                case: r.case,
                ok: r.ok,
                code: r.code.map(String::from),
                message: r.message,
            })
            .collect(),
    }))
}

/// What a search value is.
#[derive(Clone, Copy, Debug, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SearchKind {
    Event,
    Account,
    Device,
    Ip,
    Payee,
}

impl SearchKind {
    pub fn name(self) -> &'static str {
        match self {
            SearchKind::Event => "event",
            SearchKind::Account => "account",
            SearchKind::Device => "device",
            SearchKind::Ip => "ip",
            SearchKind::Payee => "payee",
        }
    }
}

/// The search's query string.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SearchQuery {
    /// The value to find (exact).
    #[param(required = true)]
    pub q: Option<String>,
    /// Only this kind.
    #[param(inline)]
    pub kind: Option<SearchKind>,
    /// At most this many hits (default 50, at most 200).
    pub limit: Option<u32>,
}

/// One case found.
#[derive(Debug, Serialize, ToSchema)]
pub struct SearchHitDoc {
    pub case: u64,
    /// What matched: `event`, `account`, `device`, `ip` or `payee`.
    pub matched: String,
    pub service: String,
    pub entity: String,
    pub open: bool,
    pub opened_at: String,
}

/// The cases found, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct SearchResults {
    pub query: String,
    pub hits: Vec<SearchHitDoc>,
}

/// The search: `kind` or, when absent, each of the kinds in turn.
pub fn run_search(
    wb: &Workbench,
    index: &crate::cases::Index,
    q: &str,
    kind: Option<&str>,
    limit: usize,
) -> Result<SearchResults, WbError> {
    let _ = wb;
    if let Some(k) = kind {
        if !crate::cases::search::KINDS.contains(&k) {
            return Err(WbError::invalid(
                "kind",
                "event, account, device, ip or payee",
            ));
        }
    }
    let q = q.trim();
    let hits = index.search(q, kind, limit);
    Ok(SearchResults {
        query: q.to_string(),
        hits: index
            .hits(&hits)
            .into_iter()
            .map(|(c, matched)| SearchHitDoc {
                case: c.id,
                matched: matched.into(),
                service: c.service.clone(),
                entity: c.entity.clone(),
                open: c.is_open(),
                opened_at: sekimori_event::format_rfc3339_ms(c.opened_ms),
            })
            .collect(),
    })
}

/// Cases by an account, a device, an IP address, a payee (payee id, bank
/// account `bank-branch-number`, wallet address, ATM) or an event id,
/// open and closed, newest first. Exact matches, from an index kept in
/// step with the log.
#[utoipa::path(get, path = "/v1/search", tag = "workbench",
    params(SearchQuery),
    responses((status = 200, description = "The cases found", body = SearchResults)))]
pub async fn search(
    State(wb): Wb,
    _who: ApiWho,
    q: Result<Query<SearchQuery>, QueryRejection>,
) -> Answer<SearchResults> {
    let Query(q) = q.map_err(|e| {
        // The field the query string got wrong, never its value.
        let text = e.body_text();
        let path = ["kind", "limit"]
            .into_iter()
            .find(|f| text.contains(&format!("{f}:")) || text.contains(&format!("`{f}`")))
            .unwrap_or("q");
        WbError::invalid(
            path,
            "q (required), kind (event, account, device, ip or payee), limit (a whole number)",
        )
    })?;
    let limit = q.limit.map_or(50, |l| l as usize).min(MAX_SEARCH_HITS);
    let kind = q.kind.map(SearchKind::name);
    let text =
        q.q.as_deref()
            .ok_or_else(|| WbError::invalid("q", "required"))?;
    let index = wb.sync().await?;
    run_search(&wb, &index, text, kind, limit).map(Json)
}

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

#[cfg(test)]
mod tests {
    use utoipa::OpenApi;

    /// The handlers above as an OpenAPI document on their own: what the
    /// workbench's document merges.
    #[derive(OpenApi)]
    #[openapi(paths(
        super::place_hold,
        super::lift_hold,
        super::holds,
        super::add_to_list,
        super::bulk,
        super::search,
        super::disable_analyst,
        super::enable_analyst,
        super::reset_analyst
    ))]
    struct Doc;

    #[test]
    fn every_action_is_described_with_its_bodies() {
        let doc = serde_json::to_value(Doc::openapi()).expect("serializes");
        for (path, method) in crate::web::ROUTES
            .iter()
            .filter(|(_, p)| {
                p.starts_with("/v1/")
                    && (p.contains("/holds")
                        || p.contains("/lists")
                        || p.ends_with("/bulk")
                        || p.starts_with("/v1/search")
                        || p.starts_with("/v1/analysts/{login}"))
            })
            .map(|(m, p)| (*p, *m))
        {
            assert!(
                doc["paths"][path][method].is_object(),
                "{method} {path} is not in the document"
            );
        }
        let schemas = &doc["components"]["schemas"];
        for s in [
            "PlaceHoldBody",
            "HoldPlaced",
            "LiftHoldBody",
            "HoldLift",
            "CaseHolds",
            "ListAddBody",
            "ListAdded",
            "BulkBody",
            "BulkResults",
            "SearchResults",
            "AnalystState",
            "ResetBody",
            "AnalystReset",
        ] {
            assert!(schemas[s].is_object(), "schema {s} missing");
        }
        assert_eq!(
            doc["components"]["schemas"]["ScopeName"]["enum"],
            serde_json::json!(["account", "service", "asset", "wallet", "bank"])
        );
    }
}
