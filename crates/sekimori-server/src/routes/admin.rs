//! Rule packs, lists and holds.

use super::answers::{ActionDoc, HoldKeyDoc};
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
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeSet;
use std::sync::Arc;
use utoipa::ToSchema;

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

/// A rule pack's source (docs/rules.md): what `POST /v1/packs` takes and
/// `GET /v1/packs/current` answers. A body of this shape may still be
/// refused: a field of the wrong form (400, with its path), or a pack that
/// does not compile or whose tests fail (422 `invalid_pack`,
/// `pack_tests_failed`, every problem in `details`).
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = PackSource)]
pub struct PackSourceDoc {
    pub pack: PackMetaDoc,
    /// `time_budget_ms`, `fallback`, `lateness`, ...
    #[schema(value_type = Option<Object>)]
    pub settings: Option<Value>,
    #[schema(value_type = Option<Object>)]
    pub money: Option<Value>,
    #[schema(value_type = Option<Object>)]
    pub params: Option<Value>,
    #[schema(value_type = Option<Vec<Object>>)]
    pub features: Option<Value>,
    #[schema(value_type = Option<Vec<Object>>)]
    pub lists: Option<Value>,
    #[schema(value_type = Option<Vec<Object>>)]
    pub rules: Option<Value>,
    #[schema(value_type = Option<Vec<Object>>)]
    pub tests: Option<Value>,
}

/// A pack's name and version (versions are immutable once published).
#[derive(Debug, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = PackMeta)]
pub struct PackMetaDoc {
    pub name: String,
    pub version: String,
    pub description: Option<String>,
}

/// A pack that compiles and passes its own tests.
#[derive(Debug, Serialize, ToSchema)]
pub struct Validated {
    pub valid: bool,
    pub name: String,
    pub version: String,
    pub digest: String,
    pub features: usize,
    pub rules: usize,
    pub tests_passed: usize,
}

/// Compiles a pack and runs its inline tests; changes nothing.
#[utoipa::path(post, path = "/v1/packs/validate", tag = "packs",
    request_body(content = PackSourceDoc, description = "A pack source, at most 64 MiB"),
    responses((status = 200, description = "The pack compiles and its tests pass", body = Validated)))]
pub async fn validate_pack(_: Auth<AdminScope>, body: Body) -> Result<Json<Validated>, ApiError> {
    let source: PackSource = parse_json(&read_body(body, MAX_ADMIN_BODY_BYTES).await?)?;
    let (pack, tests) = tokio::task::spawn_blocking(move || check_pack(source))
        .await
        .map_err(ApiError::internal)??;
    Ok(Json(Validated {
        valid: true,
        name: pack.name().to_string(),
        version: pack.version().to_string(),
        digest: pack.digest.to_string(),
        features: pack.features.len(),
        rules: pack.rules.len(),
        tests_passed: tests,
    }))
}

/// Publishes a pack: compile, test, record, swap in atomically (operator's
/// key only: packs decide for every service).
#[utoipa::path(post, path = "/v1/packs", tag = "packs",
    request_body(content = PackSourceDoc, description = "A pack source, at most 64 MiB"),
    responses((status = 200, description = "Live (`changed: false`: it already was)", body = Published)))]
pub async fn publish_pack(
    Auth(who, _): Auth<AdminScope>,
    State(app): State<Arc<App>>,
    body: Body,
) -> Result<Json<Published>, ApiError> {
    operator_only(&who)?;
    let source: PackSource = parse_json(&read_body(body, MAX_ADMIN_BODY_BYTES).await?)?;
    outcome_json(publish(&app, source, &who.name).await?)
}

/// Re-reads the `--rules` directory and publishes it (as SIGHUP does).
#[utoipa::path(post, path = "/v1/packs/reload", tag = "packs",
    responses((status = 200, description = "Live", body = Published)))]
pub async fn reload_pack(
    Auth(who, _): Auth<AdminScope>,
    State(app): State<Arc<App>>,
) -> Result<Json<Published>, ApiError> {
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

/// A publication's outcome.
#[derive(Debug, Serialize, ToSchema)]
pub struct Published {
    pub version: String,
    pub digest: String,
    /// False when this very pack was already live.
    pub changed: bool,
    pub tests_passed: usize,
}

fn outcome_json(o: PublishOutcome) -> Result<Json<Published>, ApiError> {
    Ok(Json(Published {
        version: o.version.to_string(),
        digest: o.digest.to_string(),
        changed: o.changed,
        tests_passed: o.tests_passed,
    }))
}

/// The live pack.
#[derive(Debug, Serialize, ToSchema)]
pub struct CurrentPack {
    pub name: String,
    pub version: String,
    pub digest: String,
    #[schema(value_type = PackSourceDoc)]
    pub source: PackSource,
}

/// The live pack and its source.
#[utoipa::path(get, path = "/v1/packs/current", tag = "packs",
    responses((status = 200, description = "The live pack", body = CurrentPack)))]
pub async fn current_pack(
    _: Auth<ReadScope>,
    State(app): State<Arc<App>>,
) -> Result<Json<CurrentPack>, ApiError> {
    let pack = app.live_pack();
    Ok(Json(CurrentPack {
        name: pack.name().to_string(),
        version: pack.version().to_string(),
        digest: pack.digest.to_string(),
        source: pack.source.clone(),
    }))
}

/// One published version.
#[derive(Debug, Serialize, ToSchema)]
pub struct PackVersion {
    pub version: String,
    pub name: String,
    pub digest: String,
    /// When it was published (server clock).
    pub published_at: String,
    /// The key's name that published it.
    pub by: String,
}

/// Every version published.
#[derive(Debug, Serialize, ToSchema)]
pub struct PackHistory {
    /// The live version.
    pub current: String,
    pub packs: Vec<PackVersion>,
}

/// Every pack version published, with digest, time and key name.
#[utoipa::path(get, path = "/v1/packs", tag = "packs",
    responses((status = 200, description = "The history", body = PackHistory)))]
pub async fn pack_history(
    _: Auth<ReadScope>,
    State(app): State<Arc<App>>,
) -> Result<Json<PackHistory>, ApiError> {
    let store = Arc::clone(&app.store);
    let versions = tokio::task::spawn_blocking(move || -> Result<Vec<PackVersion>, LedgerError> {
        let mut out = Vec::new();
        for (version, _) in store.packs()? {
            if let Some(r) = pack_record(&store, &version)? {
                out.push(PackVersion {
                    version,
                    name: r.source.pack.name.clone(),
                    digest: r.digest.to_string(),
                    published_at: r.published_at.to_string(),
                    by: r.by.to_string(),
                });
            }
        }
        Ok(out)
    })
    .await
    .map_err(ApiError::internal)?
    .map_err(store_err)?;
    Ok(Json(PackHistory {
        current: app.live_pack().version().to_string(),
        packs: versions,
    }))
}

/// A declared list and how many items it has.
#[derive(Debug, Serialize, ToSchema)]
pub struct ListSummary {
    pub name: String,
    pub items: usize,
}

/// The live pack's lists.
#[derive(Debug, Serialize, ToSchema)]
pub struct Lists {
    pub lists: Vec<ListSummary>,
}

/// The lists the live pack declares.
#[utoipa::path(get, path = "/v1/lists", tag = "packs",
    responses((status = 200, description = "The lists", body = Lists)))]
pub async fn lists(_: Auth<ReadScope>, State(app): State<Arc<App>>) -> Json<Lists> {
    let ledger = app.ledger.lock().await;
    let engine = ledger.engine();
    let lists = engine
        .pack()
        .lists
        .keys()
        .map(|name| ListSummary {
            name: name.clone(),
            items: engine.list(name).map_or(0, |l| l.len()),
        })
        .collect();
    Json(Lists { lists })
}

/// A list and its items (the pack's and the API's).
#[derive(Debug, Serialize, ToSchema)]
pub struct ListItems {
    pub name: String,
    pub items: Vec<String>,
}

/// One list's items.
#[utoipa::path(get, path = "/v1/lists/{name}", tag = "packs",
    params(("name" = String, Path, description = "A list the live pack declares")),
    responses((status = 200, description = "The items", body = ListItems)))]
pub async fn get_list(
    _: Auth<ReadScope>,
    State(app): State<Arc<App>>,
    Path(name): Path<String>,
) -> Result<Json<ListItems>, ApiError> {
    let ledger = app.ledger.lock().await;
    match ledger.engine().list(&name) {
        Some(items) => Ok(Json(ListItems {
            items: items.iter().map(|i| i.to_string()).collect(),
            name,
        })),
        None => {
            Err(ApiError::new("list_not_found", "the live pack declares no such list").at("name"))
        }
    }
}

/// The API-managed items of a list (replacing the previous ones).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ListBody {
    /// Each 1 to 256 bytes (`invalid_list` otherwise).
    #[schema(value_type = Vec<crate::routes::openapi::ListItem>)]
    items: Vec<String>,
}

/// The outcome of a list edit.
#[derive(Debug, Serialize, ToSchema)]
pub struct ListSet {
    pub name: String,
    /// How many distinct items the API now manages in it.
    pub api_items: usize,
}

/// Replaces the API-managed items of a declared list (operator's key only).
#[utoipa::path(put, path = "/v1/lists/{name}", tag = "packs",
    params(("name" = String, Path, description = "A list the live pack declares")),
    request_body(content = ListBody),
    responses((status = 200, description = "Set", body = ListSet)))]
pub async fn put_list(
    Auth(who, _): Auth<AdminScope>,
    State(app): State<Arc<App>>,
    Path(name): Path<String>,
    body: Body,
) -> Result<Json<ListSet>, ApiError> {
    operator_only(&who)?;
    let by = who.name;
    let body: ListBody = parse_json(&read_body(body, MAX_ADMIN_BODY_BYTES).await?)?;
    if let Some(i) = body
        .items
        .iter()
        .position(|s| s.is_empty() || s.chars().count() > 256)
    {
        return Err(
            ApiError::new("invalid_list", "items are 1 to 256 characters")
                .at(format!("items[{i}]")),
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
    Ok(Json(ListSet {
        name,
        api_items: count,
    }))
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
