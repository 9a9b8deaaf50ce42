//! The HTTP surface. Every route but `/healthz` and `/readyz` needs an API key
//! (`Authorization: Bearer sk_...`) with the route's scope.

pub(crate) mod admin;
pub mod answers;
pub mod cluster;
pub(crate) mod events;
pub(crate) mod holds;
/// The OpenAPI document (kept beside the routes it describes).
#[path = "../openapi.rs"]
pub mod openapi;
pub(crate) mod secrets;
pub(crate) mod stepup;
pub mod stream;

use crate::app::App;
use crate::error::ApiError;
use crate::keys::{AuthFailure, Principal, Scope};
use axum::body::{Body, Bytes};
use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Json, Router};
use std::marker::PhantomData;
use std::sync::Arc;

/// The largest single-event request body.
pub const MAX_EVENT_BODY_BYTES: usize = 1024 * 1024;
/// The largest batch request body and the most events in one batch.
pub const MAX_BATCH_BODY_BYTES: usize = 16 * 1024 * 1024;
pub const MAX_BATCH_EVENTS: usize = 1000;
/// The largest step-up or secret-check request body.
pub const MAX_STEPUP_BODY_BYTES: usize = 64 * 1024;
/// The largest rule-pack or list request body.
pub const MAX_ADMIN_BODY_BYTES: usize = 64 * 1024 * 1024;

pub use secrets::SHIPPED_CORPUS;

/// Every route, as (method, path): the OpenAPI document describes exactly
/// these (a test), and each one is routed (another).
pub const ROUTES: &[(&str, &str)] = &[
    ("get", "/healthz"),
    ("get", "/readyz"),
    ("get", "/metrics"),
    ("get", "/openapi.json"),
    ("post", "/v1/events"),
    ("post", "/v1/events/batch"),
    ("post", "/v1/events/stream"),
    ("get", "/v1/decisions/{event_id}"),
    ("post", "/v1/packs/validate"),
    ("post", "/v1/packs"),
    ("get", "/v1/packs"),
    ("get", "/v1/packs/current"),
    ("post", "/v1/packs/reload"),
    ("get", "/v1/lists"),
    ("get", "/v1/lists/{name}"),
    ("put", "/v1/lists/{name}"),
    ("get", "/v1/holds"),
    ("post", "/v1/holds"),
    ("post", "/v1/holds/lift"),
    ("post", "/v1/stepup/totp/enroll"),
    ("post", "/v1/stepup/ocra/enroll"),
    ("post", "/v1/stepup/tx/challenge"),
    ("post", "/v1/stepup/webauthn/register/start"),
    ("post", "/v1/stepup/webauthn/register/finish"),
    ("post", "/v1/stepup/webauthn/auth/start"),
    ("post", "/v1/stepup/otp/send"),
    ("post", "/v1/stepup/verify"),
    ("post", "/v1/stepup/enrollments/remove"),
    ("post", "/v1/stepup/enrollments/reset"),
    ("post", "/v1/secrets/check"),
    ("get", "/v1/secrets/range/{prefix}"),
    ("get", "/v1/cluster"),
];

pub fn router(app: Arc<App>) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .route("/openapi.json", get(openapi))
        .route("/v1/events", post(events::post_event))
        .route("/v1/events/batch", post(events::post_batch))
        .route("/v1/events/stream", post(stream::post_stream))
        .route("/v1/decisions/{event_id}", get(events::get_decision))
        .route("/v1/packs/validate", post(admin::validate_pack))
        .route(
            "/v1/packs",
            post(admin::publish_pack).get(admin::pack_history),
        )
        .route("/v1/packs/current", get(admin::current_pack))
        .route("/v1/packs/reload", post(admin::reload_pack))
        .route("/v1/lists", get(admin::lists))
        .route(
            "/v1/lists/{name}",
            get(admin::get_list).put(admin::put_list),
        )
        .route("/v1/holds", get(holds::holds).post(holds::place_hold))
        .route("/v1/holds/lift", post(holds::lift_hold))
        .route("/v1/stepup/totp/enroll", post(stepup::totp_enroll))
        .route("/v1/stepup/ocra/enroll", post(stepup::ocra_enroll))
        .route("/v1/stepup/tx/challenge", post(stepup::tx_challenge))
        .route(
            "/v1/stepup/webauthn/register/start",
            post(stepup::register_start),
        )
        .route(
            "/v1/stepup/webauthn/register/finish",
            post(stepup::register_finish),
        )
        .route("/v1/stepup/webauthn/auth/start", post(stepup::auth_start))
        .route("/v1/stepup/otp/send", post(stepup::otp_send))
        .route("/v1/stepup/verify", post(stepup::verify))
        .route(
            "/v1/stepup/enrollments/remove",
            post(stepup::remove_enrollment),
        )
        .route(
            "/v1/stepup/enrollments/reset",
            post(stepup::reset_enrollment),
        )
        .route("/v1/secrets/check", post(secrets::check))
        .route("/v1/secrets/range/{prefix}", get(secrets::range))
        .fallback(fallback)
        .with_state(app)
}

/// No route: 404 `not_found`. `/v1/cluster` is a route of a cluster node
/// only (`crate::cluster` merges it in): here a GET of it is 404 with that
/// said, and another method 405, as for any route.
async fn fallback(method: axum::http::Method, uri: axum::http::Uri) -> axum::response::Response {
    if uri.path() == "/v1/cluster" {
        if method == axum::http::Method::GET {
            return cluster::not_a_cluster_node().await.into_response();
        }
        return (
            StatusCode::METHOD_NOT_ALLOWED,
            [(axum::http::header::ALLOW, "GET")],
        )
            .into_response();
    }
    ApiError::new("not_found", "no such route; see /openapi.json").into_response()
}

/// The process is up.
#[utoipa::path(get, path = "/healthz", tag = "operations",
    responses((status = 200, description = "The process is up", body = answers::Status)))]
pub(crate) async fn healthz() -> Json<answers::Status> {
    Json(answers::Status { status: "ok" })
}

/// Whether the server accepts events: 503 once the durable log has failed
/// (until a restart).
#[utoipa::path(get, path = "/readyz", tag = "operations", responses(
    (status = 200, description = "Ready", body = answers::Status),
    (status = 503, description = "The durable log failed; the server accepts nothing until restarted", body = answers::Status)))]
pub(crate) async fn readyz(State(app): State<Arc<App>>) -> impl IntoResponse {
    if app.is_ready() {
        (StatusCode::OK, Json(answers::Status { status: "ready" }))
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(answers::Status { status: "failed" }),
        )
    }
}

/// Prometheus metrics (text exposition format).
#[utoipa::path(get, path = "/metrics", tag = "operations", responses(
    (status = 200, description = "Prometheus text exposition format", content_type = "text/plain; version=0.0.4", body = String)))]
pub(crate) async fn metrics(_: Auth<ReadScope>, State(app): State<Arc<App>>) -> impl IntoResponse {
    crate::telemetry::store_stats(app.store.stats());
    if let Some(n) = &app.notices {
        crate::telemetry::notice_stats(n.stats());
    }
    let text = app.metrics.as_ref().map(|h| h.render()).unwrap_or_default();
    ([("content-type", "text/plain; version=0.0.4")], text)
}

/// This document.
#[utoipa::path(get, path = "/openapi.json", tag = "operations", responses(
    (status = 200, description = "The OpenAPI 3.1 document of this server", content_type = "application/json", body = Object)))]
pub(crate) async fn openapi(_: Auth<ReadScope>) -> impl IntoResponse {
    static TEXT: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let text = TEXT.get_or_init(openapi::document_text).as_str();
    ([("content-type", "application/json")], text)
}

/// Reads a body up to `limit` bytes.
pub(crate) async fn read_body(body: Body, limit: usize) -> Result<Bytes, ApiError> {
    axum::body::to_bytes(body, limit).await.map_err(|_| {
        ApiError::new(
            "body_too_large",
            format!("the request body may be at most {limit} bytes"),
        )
    })
}

/// Parses a JSON object body into `T` without ever echoing a value: for
/// bodies that carry secrets (codes, passwords, PINs). Errors carry the same
/// codes as events (`invalid_json`, `invalid_type`, `missing_field`,
/// `unknown_field`, `invalid_value`, `duplicate_field`) and the field's path.
pub(crate) fn parse_quiet<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let value = sekimori_event::parse_unique(bytes).map_err(|e| {
        let path = (!e.path.is_empty()).then(|| e.path.clone());
        let err = ApiError::new(e.code, e.message);
        match path {
            Some(p) => err.at(p),
            None => err,
        }
    })?;
    from_value_quiet(value)
}

/// [`parse_quiet`] for an already parsed document.
pub(crate) fn from_value_quiet<T: serde::de::DeserializeOwned>(
    value: serde_json::Value,
) -> Result<T, ApiError> {
    if !value.is_object() {
        return Err(ApiError::new(
            "invalid_type",
            "the body must be a JSON object",
        ));
    }
    serde_path_to_error::deserialize(sekimori_event::strict::Strict(value)).map_err(|e| {
        quiet_error(
            &sekimori_event::render_path(e.path()),
            &e.inner().to_string(),
        )
    })
}

/// Turns a serde message into an error that names the field and the expected
/// form, dropping the value serde quotes.
fn quiet_error(path: &str, msg: &str) -> ApiError {
    let quoted = |rest: &str| rest.split('`').next().unwrap_or_default().to_string();
    let expected = || {
        msg.split_once(", expected ")
            .or_else(|| msg.split_once("expected "))
            .map(|(_, e)| format!("expected {e}"))
    };
    if let Some(rest) = msg.strip_prefix("missing field `") {
        let field = quoted(rest);
        let path = if path.is_empty() {
            field
        } else {
            format!("{path}.{field}")
        };
        return ApiError::new("missing_field", "required field is missing").at(path);
    }
    if msg.starts_with("unknown field `") {
        return ApiError::new("unknown_field", "this request has no such field").at(path);
    }
    if msg.starts_with("invalid type:") {
        let m = expected().unwrap_or_else(|| "wrong JSON type".into());
        return ApiError::new("invalid_type", m).at(path);
    }
    let m = if msg.starts_with("unknown variant")
        || msg.starts_with("invalid value:")
        || msg.starts_with("invalid length")
    {
        expected().unwrap_or_else(|| "not a valid value for this field".into())
    } else {
        "not a valid value for this field".into()
    };
    ApiError::new("invalid_value", m).at(path)
}

/// Parses a JSON body into `T`, naming the failing field. A key repeated in
/// one object, at any depth, is `duplicate_field` with its path; an array
/// where `T` has an object is `invalid_type` at its path.
pub(crate) fn parse_json<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    // Not JSON, or a key given twice: refused before any field is read
    // (a streaming parse would report the first unknown field instead).
    sekimori_event::check_unique(bytes).map_err(ApiError::from)?;
    // An array where the type has an object is `invalid_type` at its path
    // (serde would read a struct's fields from it in order).
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(sekimori_event::strict::Strict(de)).map_err(|e| {
        let msg = e.inner().to_string();
        // Every error carries the documented code (docs/errors.md): bad
        // JSON, a missing or unknown field, a wrong type; the rest are
        // values the field does not accept.
        let code = if e.inner().is_syntax() || e.inner().is_eof() {
            "invalid_json"
        } else if msg.starts_with("missing field") {
            "missing_field"
        } else if msg.starts_with("unknown field") {
            "unknown_field"
        } else if msg.starts_with("invalid type") {
            "invalid_type"
        } else {
            "invalid_value"
        };
        if code == "missing_field" {
            let field = msg.split('`').nth(1).unwrap_or_default();
            let parent = sekimori_event::render_path(e.path());
            let path = match parent.as_str() {
                "" | "." => sekimori_event::field_name(field).into_owned(),
                p => format!("{p}.{}", sekimori_event::field_name(field)),
            };
            return ApiError::new(code, "required field is missing").at(path);
        }
        // serde quotes an unknown field's name: show it as paths do.
        let msg = match msg
            .strip_prefix("unknown field `")
            .and_then(|rest| rest.split_once('`'))
        {
            Some((name, rest)) => {
                format!("unknown field `{}`{rest}", sekimori_event::field_name(name))
            }
            None => msg,
        };
        ApiError::new(code, msg).at(sekimori_event::render_path(e.path()))
    })
}

/// The scope a route needs, as a type.
pub trait ScopeMarker {
    const SCOPE: Scope;
}
#[derive(Debug)]
pub struct IngestScope;
#[derive(Debug)]
pub struct ReadScope;
#[derive(Debug)]
pub struct AdminScope;
impl ScopeMarker for IngestScope {
    const SCOPE: Scope = Scope::Ingest;
}
impl ScopeMarker for ReadScope {
    const SCOPE: Scope = Scope::Read;
}
impl ScopeMarker for AdminScope {
    const SCOPE: Scope = Scope::Admin;
}

/// A caller authenticated for scope `S`: who the key is, its scopes and the
/// services (tenants) it speaks for.
#[derive(Debug)]
pub struct Auth<S>(pub Principal, PhantomData<S>);

impl<S> Auth<S> {
    /// Refuses a service this key does not speak for (403
    /// `service_not_permitted` at `path`).
    pub fn permit_service(&self, service: &str, path: &str) -> Result<(), ApiError> {
        permit_service(&self.0, service, path)
    }
}

impl<S: ScopeMarker + Send> FromRequestParts<Arc<App>> for Auth<S> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &Arc<App>) -> Result<Self, ApiError> {
        let key = bearer(parts)?;
        // Reading decisions is also open to ingest keys: a service reads the
        // decisions of its own events (the route checks the service).
        let extra = (S::SCOPE == Scope::Read && parts.uri.path().starts_with("/v1/decisions/"))
            .then_some(Scope::Ingest);
        match app.keys.check(key, S::SCOPE) {
            Ok(who) => Ok(Auth(who, PhantomData)),
            Err(AuthFailure::MissingScope(_)) if extra.is_some() => {
                match app.keys.check(key, Scope::Ingest) {
                    Ok(who) => Ok(Auth(who, PhantomData)),
                    Err(e) => Err(auth_error(e)),
                }
            }
            Err(e) => Err(auth_error(e)),
        }
    }
}

/// Refuses a service `who` does not speak for.
pub(crate) fn permit_service(who: &Principal, service: &str, path: &str) -> Result<(), ApiError> {
    if who.speaks_for(service) {
        return Ok(());
    }
    Err(ApiError::new(
        "service_not_permitted",
        "this key does not speak for this service; each key is bound to the services named when it was created",
    )
    .at(path))
}

/// The presented API key.
fn bearer(parts: &Parts) -> Result<&str, ApiError> {
    let header = parts
        .headers
        .get("authorization")
        .and_then(|v| v.to_str().ok());
    header
        .and_then(|h| h.strip_prefix("Bearer "))
        .ok_or_else(|| {
            ApiError::new(
                "missing_api_key",
                "send `Authorization: Bearer <api key>`; create keys with `sekimori keys create`",
            )
        })
}

fn auth_error(e: AuthFailure) -> ApiError {
    match e {
        AuthFailure::Invalid => {
            ApiError::new("invalid_api_key", "the API key is unknown or revoked")
        }
        AuthFailure::MissingScope(s) => ApiError::new(
            "insufficient_scope",
            format!("this route needs a key with the `{s:?}` scope").to_lowercase(),
        ),
    }
}

/// A caller allowed to post events: a key with the `ingest` scope, or with
/// the `approve` scope, which may post only `withdrawal.approval` events and
/// only in its own name. Every approval needs an `approve` key whose name is
/// the event's `approver`, so a stolen ingest key (an intruder on the signer
/// host) cannot forge the other approvers' votes. Every event must be of a
/// service the key speaks for; a `wallet.outflow` (what the signer and the
/// chain watcher report, which can halt a hot wallet or a whole asset) needs
/// the `custody` scope; an `mfa.result` (which vouches for a person) the
/// `stepup` scope.
#[derive(Debug)]
pub struct EventAuth {
    pub who: Principal,
}

impl EventAuth {
    /// Whether this key may post `event`; the error's path is the field's
    /// within the event (`service`, `approver`, `type`).
    pub fn permits(&self, event: &sekimori_event::Event) -> Result<(), ApiError> {
        use sekimori_event::Body;
        permit_service(&self.who, &event.service, "service")?;
        let has = |s: Scope| self.who.scopes.contains(&s);
        match &event.body {
            Body::WithdrawalApproval(_) if !has(Scope::Approve) => Err(ApiError::new(
                "approver_scope_required",
                "a withdrawal.approval needs the approver's own key, with the `approve` scope",
            )
            .at("approver")),
            Body::WithdrawalApproval(b) if b.approver != self.who.name => Err(ApiError::new(
                "approver_mismatch",
                "`approver` must be the name of the key that posts the approval",
            )
            .at("approver")),
            Body::WithdrawalApproval(_) => Ok(()),
            _ if !has(Scope::Ingest) => Err(ApiError::new(
                "insufficient_scope",
                "an `approve` key may post withdrawal.approval events only; other events need the `ingest` scope",
            )
            .at("type")),
            Body::WalletOutflow(_) if !has(Scope::Custody) => Err(ApiError::new(
                "custody_scope_required",
                "a wallet.outflow can halt a hot wallet or an asset: it needs a key with the `custody` scope, bound to the custodian service",
            )
            .at("type")),
            Body::MfaResult(_) if !has(Scope::Stepup) => Err(ApiError::new(
                "stepup_scope_required",
                "an mfa.result vouches for a person: the server's own /v1/stepup/verify sends it; a service that runs its own MFA needs a key with the `stepup` scope",
            )
            .at("type")),
            _ => Ok(()),
        }
    }
}

impl FromRequestParts<Arc<App>> for EventAuth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &Arc<App>) -> Result<Self, ApiError> {
        let key = bearer(parts)?;
        let who = app.keys.authenticate(key).map_err(auth_error)?;
        if !who.scopes.contains(&Scope::Ingest) && !who.scopes.contains(&Scope::Approve) {
            return Err(auth_error(AuthFailure::MissingScope(Scope::Ingest)));
        }
        Ok(EventAuth { who })
    }
}
