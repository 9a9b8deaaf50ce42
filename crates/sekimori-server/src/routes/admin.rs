//! Rule packs and lists (holds: `routes::holds`).

use super::{parse_json, read_body, AdminScope, Auth, ReadScope, MAX_ADMIN_BODY_BYTES};
use crate::app::App;
use crate::error::ApiError;
use crate::keys::Principal;
use crate::ledger::{pack_record, LedgerError};
use crate::publish::{check_pack, publish, PublishOutcome};
use axum::body::Body;
use axum::extract::{Path, State};
use axum::Json;
use sekimori_rules::{load_pack, PackSource};
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
pub(super) fn operator_only(who: &Principal) -> Result<(), ApiError> {
    if who.unbound() {
        return Ok(());
    }
    Err(ApiError::new(
        "service_not_permitted",
        "packs and lists decide for every service: change them with the operator's key, one not bound to services",
    ))
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
