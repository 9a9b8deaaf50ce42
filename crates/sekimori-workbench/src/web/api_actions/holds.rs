//! Holds from a case: place one (a freeze by any analyst, a halt by a
//! supervisor), lift one with four eyes, and list those in force on the
//! case's account and service with the lists and the workbench's timed
//! list items.

use super::{case_id, Answer, HoldRef, ScopeName, Wb, WorkbenchKey, WorkbenchReason};
use crate::error::WbError;
use crate::hold_actions::LiftOutcome;
use crate::web::auth::ApiWho;
use crate::web::extract::ApiJson;
use crate::workbench::Workbench;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::Json;
use sekimori_engine::HoldScope;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The most holds a case's holds section lists.
pub const MAX_CASE_HOLDS: usize = 100;

/// A hold to place from a case, on the case's service. `account` places a
/// freeze (any analyst); any other scope a halt (a supervisor).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PlaceHoldBody {
    pub scope: ScopeName,
    /// An account id, a service, an asset (currency code: 2-12 upper-case
    /// letters or digits), a wallet or a bank (4-digit code).
    #[schema(value_type = WorkbenchKey)]
    pub key: String,
    /// Why: one line, at most 512 characters; logged and quoted in every
    /// decision the hold answers.
    #[schema(value_type = WorkbenchReason)]
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
    #[schema(value_type = WorkbenchKey)]
    pub key: String,
    /// The hold's service: the case's (the default) or `*`.
    #[serde(default)]
    pub service: Option<String>,
    /// Why: one line, at most 512 characters.
    #[schema(value_type = WorkbenchReason)]
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
