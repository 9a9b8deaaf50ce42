//! Rule packs, lists and holds.

use super::{parse_json, read_body, AdminScope, Auth, ReadScope, MAX_ADMIN_BODY_BYTES};
use crate::app::App;
use crate::error::ApiError;
use crate::ledger::{pack_record, LedgerError};
use crate::publish::{check_pack, publish, PublishOutcome};
use axum::body::Body;
use axum::extract::{Path, State};
use axum::Json;
use sekimori_engine::HoldKey;
use sekimori_rules::{load_pack, PackSource};
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::sync::Arc;

fn store_err(e: LedgerError) -> ApiError {
    ApiError::internal(e)
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
    Auth(by, _): Auth<AdminScope>,
    State(app): State<Arc<App>>,
    body: Body,
) -> Result<Json<Value>, ApiError> {
    let source: PackSource = parse_json(&read_body(body, MAX_ADMIN_BODY_BYTES).await?)?;
    outcome_json(publish(&app, source, &by).await?)
}

pub async fn reload_pack(
    Auth(by, _): Auth<AdminScope>,
    State(app): State<Arc<App>>,
) -> Result<Json<Value>, ApiError> {
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
    Auth(by, _): Auth<AdminScope>,
    State(app): State<Arc<App>>,
    Path(name): Path<String>,
    body: Body,
) -> Result<Json<Value>, ApiError> {
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

pub async fn holds(_: Auth<ReadScope>, State(app): State<Arc<App>>) -> Json<Value> {
    let ledger = app.ledger.lock().await;
    let holds: Vec<Value> = ledger
        .engine()
        .holds()
        .list()
        .map(|(k, h)| {
            json!({"hold": k, "action": h.action, "rule": h.rule, "event_id": h.event_id,
                             "since": sekimori_event::format_rfc3339_ms(h.since_ms)})
        })
        .collect();
    Json(json!({"holds": holds}))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LiftBody {
    hold: HoldKey,
    reason: String,
}

pub async fn lift_hold(
    Auth(by, _): Auth<AdminScope>,
    State(app): State<Arc<App>>,
    body: Body,
) -> Result<Json<Value>, ApiError> {
    let body: LiftBody = parse_json(&read_body(body, MAX_ADMIN_BODY_BYTES).await?)?;
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
