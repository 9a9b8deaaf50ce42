//! `POST /v1/events`, `POST /v1/events/batch`, `GET /v1/decisions/{event_id}`.

use super::answers::{AnswerDoc, BatchAnswer, BatchItem, DecisionAnswer};
use super::{
    read_body, Auth, EventAuth, ReadScope, MAX_BATCH_BODY_BYTES, MAX_BATCH_EVENTS,
    MAX_EVENT_BODY_BYTES,
};
use crate::app::Answer;
use crate::app::App;
use crate::error::ApiError;
use crate::ledger::{logged_decision, logged_decisions};
use crate::telemetry;
use axum::body::Body;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::Json;
use sekimori_engine::Prepared;
use std::sync::Arc;

/// One event in, its decision out: durable before acknowledged, idempotent
/// on (service, id).
#[utoipa::path(post, path = "/v1/events", tag = "events",
    request_body(content = crate::routes::openapi::EventSchema, description = "One event (docs/events.md); at most 64 KiB, body at most 1 MiB"),
    responses((status = 200, description = "The decision (the original one, with `duplicate: true`, for an id sent before)", body = AnswerDoc)))]
pub async fn post_event(
    auth: EventAuth,
    State(app): State<Arc<App>>,
    body: Body,
) -> Result<Json<Answer>, ApiError> {
    let bytes = read_body(body, MAX_EVENT_BODY_BYTES).await?;
    let mut event = sekimori_event::decode(&bytes).map_err(|e| {
        telemetry::rejected(e.code, &e.path);
        ApiError::from(e)
    })?;
    auth.permits(&event).inspect_err(|e| {
        telemetry::rejected(e.code, e.path.as_deref().unwrap_or_default());
    })?;
    app.enrich(&mut event);
    let answer = app.ingest(event).await?;
    Ok(Json(answer))
}

/// The body of a batch.
#[allow(dead_code)] // described in the OpenAPI document, never built
#[derive(Debug, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BatchBody {
    /// At most 1,000 events. Each item is decoded alone: an item that is not
    /// a valid event is answered with its error in `results` (the batch is
    /// still 200), so the schema of an item is any JSON value.
    #[schema(value_type = Vec<crate::routes::openapi::BatchItemSchema>, max_items = 1000)]
    pub events: Vec<()>,
}

/// Up to 1,000 events, decided in order; one result per input, good events
/// accepted even when others are refused.
#[utoipa::path(post, path = "/v1/events/batch", tag = "events",
    request_body(content = BatchBody, description = "`{\"events\": [...]}`, body at most 16 MiB"),
    responses((status = 200, description = "One result per input: an answer, or an error whose path starts with `events[i]`", body = BatchAnswer)))]
pub async fn post_batch(
    auth: EventAuth,
    State(app): State<Arc<App>>,
    body: Body,
) -> Result<Json<BatchAnswer>, ApiError> {
    // Admission first: a batch shed under load costs no reading or decoding.
    let permit = app.admit_batch().await?;
    let bytes = read_body(body, MAX_BATCH_BODY_BYTES).await?;
    // Decoding a large batch is CPU work: off the async workers, so single
    // events keep being served while it runs.
    let decoder = Arc::clone(&app);
    let (slots, events) =
        tokio::task::spawn_blocking(move || decode_batch(&decoder, &auth, &bytes))
            .await
            .map_err(ApiError::internal)??;
    let mut answers: Vec<Option<Result<_, ApiError>>> = app
        .ingest_batch(events, permit)
        .await
        .into_iter()
        .map(Some)
        .collect();
    let results: Vec<BatchItem> = slots
        .into_iter()
        .map(
            |slot| match slot.map(|k| answers.get_mut(k).and_then(Option::take)) {
                Ok(Some(Ok(answer))) => BatchItem::Answer(answer),
                Ok(Some(Err(e))) | Err(e) => BatchItem::Error(e.body()),
                Ok(None) => {
                    BatchItem::Error(ApiError::internal("batch slot answered twice").body())
                }
            },
        )
        .collect();
    let accepted = results
        .iter()
        .filter(|r| matches!(r, BatchItem::Answer(_)))
        .count();
    Ok(Json(BatchAnswer {
        accepted,
        rejected: results.len() - accepted,
        results,
    }))
}

/// Decodes a batch body: one slot per item (an index into the events, or
/// the item's error) and the accepted events, prepared for the engine.
#[allow(clippy::type_complexity)]
fn decode_batch(
    app: &App,
    auth: &EventAuth,
    bytes: &[u8],
) -> Result<(Vec<Result<usize, ApiError>>, Vec<Prepared>), ApiError> {
    // Each item stays raw bytes, decoded like a single event: a key repeated
    // inside an item is that item's `duplicate_field`.
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Batch<'a> {
        #[serde(borrow)]
        events: Vec<&'a serde_json::value::RawValue>,
    }
    // serde would read `[[...]]` as the struct's one field, by position.
    if bytes.trim_ascii_start().first() == Some(&b'[') {
        return Err(ApiError::new(
            "invalid_type",
            "a batch is the object {\"events\": [ ... ]}, not an array",
        ));
    }
    let items = match serde_json::from_slice::<Batch>(bytes) {
        Ok(batch) => batch.events,
        Err(e) if e.is_syntax() || e.is_eof() => {
            let at = format!("not valid JSON at line {} column {}", e.line(), e.column());
            return Err(ApiError::new("invalid_json", at));
        }
        Err(e) if e.to_string().starts_with("duplicate field") => {
            return Err(sekimori_event::duplicate_field("events").into());
        }
        Err(e) if e.to_string().starts_with("unknown field") => {
            // The name serde quotes, bounded and escaped like every path.
            let text = e.to_string();
            let name = text.split('`').nth(1).unwrap_or_default();
            let path = sekimori_event::field_name(name);
            return Err(ApiError::new(
                "unknown_field",
                "a batch is {\"events\": [ ... ]} and nothing else",
            )
            .at(path));
        }
        Err(_) => {
            return Err(ApiError::new("missing_field", "send {\"events\": [ ... ]}").at("events"))
        }
    };
    if items.len() > MAX_BATCH_EVENTS {
        return Err(ApiError::new(
            "batch_too_large",
            format!("at most {MAX_BATCH_EVENTS} events a batch"),
        )
        .at("events"));
    }
    let mut slots: Vec<Result<usize, ApiError>> = Vec::with_capacity(items.len());
    let mut events = Vec::new();
    for (i, item) in items.iter().enumerate() {
        match sekimori_event::decode(item.get().as_bytes()) {
            Ok(mut e) => match auth.permits(&e) {
                Ok(()) => {
                    app.enrich(&mut e);
                    slots.push(Ok(events.len()));
                    events.push(Prepared::new(e));
                }
                Err(mut refused) => {
                    let path = refused.path.take().unwrap_or_default();
                    telemetry::rejected(refused.code, &path);
                    slots.push(Err(refused.at(format!("events[{i}].{path}"))));
                }
            },
            Err(e) => {
                telemetry::rejected(e.code, &e.path);
                let path = if e.path.is_empty() {
                    format!("events[{i}]")
                } else {
                    format!("events[{i}].{}", e.path)
                };
                slots.push(Err(ApiError::new(e.code, e.message).at(path)));
            }
        }
    }
    Ok((slots, events))
}

/// `GET /v1/decisions/{event_id}?service=S`.
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DecisionQuery {
    /// The service whose event this is; needed only when the key speaks for
    /// several services that each sent an event with this id.
    #[param(value_type = Option<crate::routes::openapi::Service>)]
    service: Option<String>,
}

/// A decision of a service the key speaks for. Ids are unique within a
/// service: the event is looked up among the caller's services only (or the
/// one `?service=` names), and another service's event of the same id
/// answers `decision_not_found`, as if it did not exist.
#[utoipa::path(get, path = "/v1/decisions/{event_id}", tag = "events",
    params(("event_id" = String, Path, description = "The event's id"), DecisionQuery),
    responses((status = 200, description = "The durable decision", body = DecisionAnswer)))]
pub async fn get_decision(
    auth: Auth<ReadScope>,
    State(app): State<Arc<App>>,
    Path(event_id): Path<String>,
    query: Result<Query<DecisionQuery>, QueryRejection>,
) -> Result<Json<DecisionAnswer>, ApiError> {
    let Query(query) = query.map_err(|_| {
        ApiError::new(
            "invalid_value",
            "the only query parameter is `service`, given at most once",
        )
        .at("service")
    })?;
    let not_found = || {
        ApiError::new(
            "decision_not_found",
            "no durable decision for this event id of your service",
        )
        .at("event_id")
    };
    let store = Arc::clone(&app.store);
    let id = event_id.clone();
    let found: Vec<(String, sekimori_engine::Decision)> = match query.service {
        Some(service) if !auth.0.speaks_for(&service) => return Err(not_found()),
        Some(service) => tokio::task::spawn_blocking(move || {
            logged_decision(&store, &service, &id).map(|d| d.map(|d| (service, d)))
        })
        .await
        .map_err(ApiError::internal)?
        .map_err(ApiError::internal)?
        .into_iter()
        .collect(),
        None => tokio::task::spawn_blocking(move || logged_decisions(&store, &id))
            .await
            .map_err(ApiError::internal)?
            .map_err(ApiError::internal)?
            .into_iter()
            .filter(|(service, _)| auth.0.speaks_for(service))
            .collect(),
    };
    match found.as_slice() {
        [] => Err(not_found()),
        [(_, d)] => Ok(Json(DecisionAnswer {
            decision: d.clone(),
            durable: true,
        })),
        _ => Err(ApiError::new(
            "missing_field",
            "several of your services sent an event with this id: name one with ?service=",
        )
        .at("service")),
    }
}
