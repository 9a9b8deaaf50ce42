//! Holds: the ones in force, placing and lifting an operator's hold
//! (split out of `routes::admin`, which keeps packs and lists).

use super::admin::operator_only;
use super::answers::{ActionDoc, HoldKeyDoc};
use super::{parse_quiet, read_body, AdminScope, Auth, ReadScope, MAX_ADMIN_BODY_BYTES};
use crate::app::App;
use crate::error::ApiError;
use crate::keys::Principal;
use axum::body::Body;
use axum::extract::State;
use axum::Json;
use sekimori_engine::{Hold, HoldKey, HoldScope};
use sekimori_rules::Action;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::sync::Arc;
use utoipa::ToSchema;

/// A hold of a service this key speaks for; `*` (every service) only for a
/// key that speaks for every service.
fn permit_hold(who: &Principal, hold: &HoldKey) -> Result<(), ApiError> {
    if hold.is_everywhere() {
        return operator_only(who).map_err(|e| e.at("hold.service"));
    }
    super::permit_service(who, &hold.service, "hold.service")
}

/// A hold in force: a rule's (with `rule` and `event_id`; `since` the
/// event's time) or an operator's (with `by` and `reason`; `since` when it
/// was placed).
#[derive(Debug, Serialize, ToSchema)]
pub struct HoldInForce {
    #[schema(value_type = HoldKeyDoc)]
    pub hold: HoldKey,
    #[schema(value_type = ActionDoc)]
    pub action: Action,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub by: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    pub since: String,
}

/// The holds in force.
#[derive(Debug, Serialize, ToSchema)]
pub struct Holds {
    pub holds: Vec<HoldInForce>,
}

/// The holds in force on the services this key speaks for (with those of
/// every service, which cover them too).
#[utoipa::path(get, path = "/v1/holds", tag = "holds",
    responses((status = 200, description = "The holds", body = Holds)))]
pub async fn holds(Auth(who, _): Auth<ReadScope>, State(app): State<Arc<App>>) -> Json<Holds> {
    let ledger = app.ledger.lock().await;
    let holds = ledger
        .engine()
        .holds()
        .list()
        .filter(|(k, _)| k.is_everywhere() || who.speaks_for(&k.service))
        .map(|(k, h)| hold_json(k, h))
        .collect();
    Json(Holds { holds })
}

/// A hold in force: a rule's names its rule and event, an operator's who
/// placed it and why. `since` is the event time, or the placement time.
fn hold_json(key: &HoldKey, h: &Hold) -> HoldInForce {
    let since = sekimori_event::format_rfc3339_ms(h.since_ms);
    let (rule, event_id, by, reason) = match &h.by {
        Some(by) => (None, None, Some(by.clone()), h.reason.clone()),
        None => (
            Some(h.rule.to_string()),
            Some(h.event_id.to_string()),
            None,
            None,
        ),
    };
    HoldInForce {
        hold: key.clone(),
        action: h.action,
        rule,
        event_id,
        by,
        reason,
        since,
    }
}

/// The most characters a hold's `reason` may have (it is quoted in every
/// decision the hold answers).
pub const MAX_HOLD_REASON_CHARS: usize = 512;

/// An operator's hold. `freeze` goes with scope `account`, `halt` with the
/// others (else 422 `invalid_hold_action`); a key already held is 409
/// `hold_exists`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PlaceBody {
    #[schema(value_type = crate::routes::openapi::HoldKeyToPlace)]
    hold: HoldKey,
    action: PlaceAction,
    /// Why: recorded, and quoted in every decision the hold answers.
    #[schema(value_type = crate::routes::openapi::HoldReason)]
    reason: String,
}

/// The hold's action.
#[derive(Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PlaceAction {
    Halt,
    Freeze,
}

/// `POST /v1/holds`: an operator's kill switch. Places a freeze (account) or
/// halt (service, asset, wallet, bank) exactly as a rule's would: every later
/// event it covers gets that action until `POST /v1/holds/lift`.
#[utoipa::path(post, path = "/v1/holds", tag = "holds",
    request_body(content = PlaceBody),
    responses((status = 200, description = "Placed and durable", body = Placed)))]
pub async fn place_hold(
    Auth(who, _): Auth<AdminScope>,
    State(app): State<Arc<App>>,
    body: Body,
) -> Result<Json<Placed>, ApiError> {
    let body: PlaceBody = parse_quiet(&read_body(body, MAX_ADMIN_BODY_BYTES).await?)?;
    permit_hold(&who, &body.hold)?;
    let by = who.name;
    let action = match body.action {
        PlaceAction::Halt => Action::Halt,
        PlaceAction::Freeze => Action::Freeze,
    };
    check_reason(&body.reason)?;
    check_hold_key(&body.hold)?;
    if !body.hold.fits(action) {
        return Err(ApiError::new(
            "invalid_hold_action",
            "`freeze` holds an account; `halt` holds a service, asset, wallet or bank",
        )
        .at("action"));
    }
    let at_ms = crate::ledger::wall_clock_ms();
    let placed = {
        let mut ledger = app.ledger.lock().await;
        if !app.is_ready() {
            return Err(ApiError::new(
                "store_failed",
                "the durable log failed; the server accepts nothing until restarted",
            ));
        }
        match ledger.place(body.hold.clone(), action, &by, &body.reason, at_ms) {
            Ok(Some(durable)) => Ok(durable),
            Ok(None) => Err(ledger
                .engine()
                .holds()
                .get(&body.hold)
                .map_or(Value::Null, |h| {
                    serde_json::to_value(hold_json(&body.hold, h)).unwrap_or(Value::Null)
                })),
            Err(e) => return Err(ApiError::new("invalid_hold_action", e).at("action")),
        }
    };
    let durable = placed.map_err(|existing| {
        ApiError::new(
            "hold_exists",
            "a hold is already in force on this key; lift it first to place another",
        )
        .at("hold")
        .details(existing)
    })?;
    app.settle(durable).await?;
    if let Some(n) = &app.notices {
        n.operator_hold(&body.hold, action, &by, &body.reason, at_ms);
    }
    let since = sekimori_event::format_rfc3339_ms(at_ms);
    Ok(Json(Placed {
        placed: body.hold,
        action,
        by,
        reason: body.reason,
        since,
    }))
}

/// A hold placed by hand.
#[derive(Debug, Serialize, ToSchema)]
pub struct Placed {
    #[schema(value_type = HoldKeyDoc)]
    pub placed: HoldKey,
    #[schema(value_type = ActionDoc)]
    pub action: Action,
    /// The key's name.
    pub by: String,
    pub reason: String,
    /// The server's clock at the request, as logged.
    pub since: String,
}

fn check_reason(reason: &str) -> Result<(), ApiError> {
    let bad = |m: &str| Err(ApiError::new("invalid_value", m).at("reason"));
    if reason.trim().is_empty() {
        return bad(
            "say why the hold is placed: it is recorded and quoted in every decision it answers",
        );
    }
    if reason.chars().count() > MAX_HOLD_REASON_CHARS || reason.chars().any(char::is_control) {
        return bad("at most 512 characters, no control characters");
    }
    Ok(())
}

/// A key that events can match: an asset is a currency code, a bank a
/// 4-digit bank code, anything else 1 to 256 characters of text.
fn check_hold_key(hold: &HoldKey) -> Result<(), ApiError> {
    // A hold of a service no event can name would cover nothing: an
    // operator's typo must not look like a kill switch in force.
    let s = hold.service.as_str();
    let service_ok = hold.is_everywhere()
        || ((1..=64).contains(&s.len())
            && s.bytes().all(|b| {
                b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'_' | b'-')
            }));
    if !service_ok {
        return Err(ApiError::new(
            "invalid_value",
            "`*` or a service: 1 to 64 of a-z, 0-9, `.`, `_`, `-`",
        )
        .at("hold.service"));
    }
    let k = hold.key.as_str();
    let (ok, form) = match hold.scope {
        HoldScope::Asset => (
            (2..=12).contains(&k.len())
                && k.bytes()
                    .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit()),
            "an asset is a currency code: 2 to 12 upper-case letters or digits",
        ),
        HoldScope::Bank => (
            k.len() == 4 && k.bytes().all(|b| b.is_ascii_digit()),
            "a bank is its 4-digit bank code",
        ),
        _ => (
            (1..=256).contains(&k.chars().count())
                && k.trim() == k
                && !k.chars().any(char::is_control),
            "1 to 256 characters, no control characters or edge spaces",
        ),
    };
    if ok {
        Ok(())
    } else {
        Err(ApiError::new("invalid_value", form).at("hold.key"))
    }
}

/// A hold to lift, and why.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LiftBody {
    #[schema(value_type = crate::routes::openapi::HoldKeyToLift)]
    hold: HoldKey,
    /// Why (recorded); not only white space.
    #[schema(value_type = crate::routes::openapi::NotBlank)]
    reason: String,
}

/// A lifted hold.
#[derive(Debug, Serialize, ToSchema)]
pub struct Lifted {
    #[schema(value_type = HoldKeyDoc)]
    pub lifted: HoldKey,
    pub by: String,
}

/// Lifts a hold (a rule's or an operator's); who and why are logged.
#[utoipa::path(post, path = "/v1/holds/lift", tag = "holds",
    request_body(content = LiftBody),
    responses((status = 200, description = "Lifted and durable", body = Lifted)))]
pub async fn lift_hold(
    Auth(who, _): Auth<AdminScope>,
    State(app): State<Arc<App>>,
    body: Body,
) -> Result<Json<Lifted>, ApiError> {
    let body: LiftBody = parse_quiet(&read_body(body, MAX_ADMIN_BODY_BYTES).await?)?;
    permit_hold(&who, &body.hold)?;
    let by = who.name;
    if body.reason.trim().is_empty() {
        return Err(ApiError::new(
            "invalid_value",
            "say why the hold is lifted: it is recorded",
        )
        .at("reason"));
    }
    let durable = {
        let mut ledger = app.ledger.lock().await;
        ledger.lift(body.hold.clone(), &by, &body.reason)
    };
    let Some(durable) = durable else {
        return Err(ApiError::new("hold_not_found", "no such hold is in force").at("hold"));
    };
    app.settle(durable).await?;
    Ok(Json(Lifted {
        lifted: body.hold,
        by,
    }))
}
