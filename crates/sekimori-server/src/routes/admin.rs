//! Rule packs, lists and holds.

use super::{
    parse_json, parse_quiet, read_body, AdminScope, Auth, ReadScope, MAX_ADMIN_BODY_BYTES,
};
use crate::app::App;
use crate::error::ApiError;
use crate::keys::Principal;
use crate::ledger::{pack_record, LedgerError};
use crate::publish::{check_pack, publish, PublishOutcome};
use axum::body::Body;
use axum::extract::{Path, State};
use axum::Json;
use sekimori_engine::{Hold, HoldKey, HoldScope};
use sekimori_rules::{load_pack, Action, PackSource};
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::sync::Arc;

fn store_err(e: LedgerError) -> ApiError {
    ApiError::internal(e)
}

/// Packs and lists decide for every service: only a key that speaks for
/// every service (the operator's) may change them.
fn operator_only(who: &Principal) -> Result<(), ApiError> {
    if who.unbound() {
        return Ok(());
    }
    Err(ApiError::new(
        "service_not_permitted",
        "packs and lists decide for every service: change them with the operator's key, one not bound to services",
    ))
}

/// A hold of a service this key speaks for; `*` (every service) only for a
/// key that speaks for every service.
fn permit_hold(who: &Principal, hold: &HoldKey) -> Result<(), ApiError> {
    if hold.is_everywhere() {
        return operator_only(who).map_err(|e| e.at("hold.service"));
    }
    super::permit_service(who, &hold.service, "hold.service")
}

pub async fn validate_pack(_: Auth<AdminScope>, body: Body) -> Result<Json<Value>, ApiError> {
    let source: PackSource = parse_json(&read_body(body, MAX_ADMIN_BODY_BYTES).await?)?;
    let (pack, tests) = tokio::task::spawn_blocking(move || check_pack(source))
        .await
        .map_err(ApiError::internal)??;
    Ok(Json(json!({
        "valid": true, "name": pack.name(), "version": pack.version(), "digest": pack.digest,
        "features": pack.features.len(), "rules": pack.rules.len(), "tests_passed": tests,
    })))
}

pub async fn publish_pack(
    Auth(who, _): Auth<AdminScope>,
    State(app): State<Arc<App>>,
    body: Body,
) -> Result<Json<Value>, ApiError> {
    operator_only(&who)?;
    let source: PackSource = parse_json(&read_body(body, MAX_ADMIN_BODY_BYTES).await?)?;
    outcome_json(publish(&app, source, &who.name).await?)
}

pub async fn reload_pack(
    Auth(who, _): Auth<AdminScope>,
    State(app): State<Arc<App>>,
) -> Result<Json<Value>, ApiError> {
    operator_only(&who)?;
    let by = &who.name;
    let Some(dir) = app.config.rules_dir.clone() else {
        return Err(ApiError::new(
            "no_rules_dir",
            "the server was started without --rules; publish with POST /v1/packs",
        ));
    };
    let source = tokio::task::spawn_blocking(move || load_pack(&dir))
        .await
        .map_err(ApiError::internal)?
        .map_err(|e| ApiError::new("invalid_pack", e.to_string()))?;
    outcome_json(publish(&app, source, &format!("{by} (reload)")).await?)
}

fn outcome_json(o: PublishOutcome) -> Result<Json<Value>, ApiError> {
    Ok(Json(
        json!({"version": o.version, "digest": o.digest, "changed": o.changed, "tests_passed": o.tests_passed}),
    ))
}

pub async fn current_pack(
    _: Auth<ReadScope>,
    State(app): State<Arc<App>>,
) -> Result<Json<Value>, ApiError> {
    let pack = app.live_pack();
    Ok(Json(
        json!({"name": pack.name(), "version": pack.version(), "digest": pack.digest, "source": pack.source}),
    ))
}

pub async fn pack_history(
    _: Auth<ReadScope>,
    State(app): State<Arc<App>>,
) -> Result<Json<Value>, ApiError> {
    let store = Arc::clone(&app.store);
    let versions = tokio::task::spawn_blocking(move || -> Result<Vec<Value>, LedgerError> {
        let mut out = Vec::new();
        for (version, _) in store.packs()? {
            if let Some(r) = pack_record(&store, &version)? {
                out.push(
                    json!({"version": version, "name": r.source.pack.name, "digest": r.digest,
                                "published_at": r.published_at, "by": r.by}),
                );
            }
        }
        Ok(out)
    })
    .await
    .map_err(ApiError::internal)?
    .map_err(store_err)?;
    Ok(Json(
        json!({"current": app.live_pack().version(), "packs": versions}),
    ))
}

pub async fn lists(_: Auth<ReadScope>, State(app): State<Arc<App>>) -> Json<Value> {
    let ledger = app.ledger.lock().await;
    let engine = ledger.engine();
    let lists: Vec<Value> = engine
        .pack()
        .lists
        .keys()
        .map(|name| json!({"name": name, "items": engine.list(name).map_or(0, |l| l.len())}))
        .collect();
    Json(json!({"lists": lists}))
}

pub async fn get_list(
    _: Auth<ReadScope>,
    State(app): State<Arc<App>>,
    Path(name): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let ledger = app.ledger.lock().await;
    match ledger.engine().list(&name) {
        Some(items) => Ok(Json(json!({"name": name, "items": items}))),
        None => {
            Err(ApiError::new("list_not_found", "the live pack declares no such list").at("name"))
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ListBody {
    items: Vec<String>,
}

pub async fn put_list(
    Auth(who, _): Auth<AdminScope>,
    State(app): State<Arc<App>>,
    Path(name): Path<String>,
    body: Body,
) -> Result<Json<Value>, ApiError> {
    operator_only(&who)?;
    let by = who.name;
    let body: ListBody = parse_json(&read_body(body, MAX_ADMIN_BODY_BYTES).await?)?;
    if let Some(i) = body
        .items
        .iter()
        .position(|s| s.is_empty() || s.len() > 256)
    {
        return Err(
            ApiError::new("invalid_list", "items are 1 to 256 bytes").at(format!("items[{i}]"))
        );
    }
    let items: BTreeSet<String> = body.items.into_iter().collect();
    let count = items.len();
    let durable = {
        let mut ledger = app.ledger.lock().await;
        ledger
            .set_list(&name, items, &by)
            .map_err(|e| ApiError::new("list_not_found", e).at("name"))?
    };
    app.settle(durable).await?;
    Ok(Json(json!({"name": name, "api_items": count})))
}

/// The holds in force on the services this key speaks for (with those of
/// every service, which cover them too).
pub async fn holds(Auth(who, _): Auth<ReadScope>, State(app): State<Arc<App>>) -> Json<Value> {
    let ledger = app.ledger.lock().await;
    let holds: Vec<Value> = ledger
        .engine()
        .holds()
        .list()
        .filter(|(k, _)| k.is_everywhere() || who.speaks_for(&k.service))
        .map(|(k, h)| hold_json(k, h))
        .collect();
    Json(json!({"holds": holds}))
}

/// A hold in force: a rule's names its rule and event, an operator's who
/// placed it and why. `since` is the event time, or the placement time.
fn hold_json(key: &HoldKey, h: &Hold) -> Value {
    let since = sekimori_event::format_rfc3339_ms(h.since_ms);
    match &h.by {
        Some(by) => json!({"hold": key, "action": h.action, "by": by, "reason": h.reason,
                           "since": since}),
        None => json!({"hold": key, "action": h.action, "rule": h.rule, "event_id": h.event_id,
                       "since": since}),
    }
}

/// The most characters a hold's `reason` may have (it is quoted in every
/// decision the hold answers).
pub const MAX_HOLD_REASON_CHARS: usize = 512;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PlaceBody {
    hold: HoldKey,
    action: PlaceAction,
    reason: String,
}

#[derive(Clone, Copy, Deserialize)]
#[serde(rename_all = "snake_case")]
enum PlaceAction {
    Halt,
    Freeze,
}

/// `POST /v1/holds`: an operator's kill switch. Places a freeze (account) or
/// halt (service, asset, wallet, bank) exactly as a rule's would: every later
/// event it covers gets that action until `POST /v1/holds/lift`.
pub async fn place_hold(
    Auth(who, _): Auth<AdminScope>,
    State(app): State<Arc<App>>,
    body: Body,
) -> Result<Json<Value>, ApiError> {
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
                .map_or(Value::Null, |h| hold_json(&body.hold, h))),
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
    Ok(Json(
        json!({"placed": body.hold, "action": action, "by": by, "reason": body.reason, "since": since}),
    ))
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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LiftBody {
    hold: HoldKey,
    reason: String,
}

pub async fn lift_hold(
    Auth(who, _): Auth<AdminScope>,
    State(app): State<Arc<App>>,
    body: Body,
) -> Result<Json<Value>, ApiError> {
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
    Ok(Json(json!({"lifted": body.hold, "by": by})))
}
