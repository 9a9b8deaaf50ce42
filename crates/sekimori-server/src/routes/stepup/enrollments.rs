//! Removing (holder, with a second factor) and resetting (operator) enrollments.

use super::answers::{ChangeLogged, Removed, Reset};
use super::change::{change_event, proof_error};
use super::{account_at, body, check_service, detached, text};
use crate::app::App;
use crate::error::ApiError;
use crate::routes::{AdminScope, Auth, IngestScope};
use crate::stepup::StepUp;
use axum::body::Body;
use axum::extract::State;
use axum::Json;
use sekimori_event::MfaMethod;
use sekimori_rules::Action;
use sekimori_stepup::Method;
use serde::Deserialize;
use serde_json::{json, Value};
use std::sync::Arc;

/// A method that is an enrollment.
#[allow(dead_code)] // described in the OpenAPI document, never built
#[derive(serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum EnrollmentMethod {
    Totp,
    Txsign,
    Webauthn,
}

/// The methods whose enrollment can be removed.
fn removable(m: MfaMethod, path: &str) -> Result<Method, ApiError> {
    match m {
        MfaMethod::Totp => Ok(Method::Totp),
        MfaMethod::Txsign => Ok(Method::Txsign),
        MfaMethod::Webauthn => Ok(Method::Webauthn),
        _ => Err(ApiError::new(
            "invalid_value",
            "only totp, txsign and webauthn are enrollments",
        )
        .at(path)),
    }
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RemoveBody {
    #[schema(value_type = crate::routes::openapi::Account)]
    account: String,
    #[schema(value_type = crate::routes::openapi::At)]
    at: String,
    #[schema(value_type = crate::routes::openapi::Service)]
    service: String,
    #[schema(value_type = EnrollmentMethod)]
    method: MfaMethod,
    /// The `event_id` of a step-up of another method that passed for this
    /// account within 5 minutes (`/v1/stepup/verify`'s answer); single use.
    #[schema(value_type = crate::routes::openapi::EventRef)]
    proof_event: String,
    #[serde(default)]
    #[schema(value_type = Option<crate::routes::openapi::ActorSchema>)]
    actor: Option<Value>,
}

/// `POST /v1/stepup/enrollments/remove`: the holder removes an enrollment,
/// proven by a recent step-up of another method.
#[utoipa::path(post, path = "/v1/stepup/enrollments/remove", tag = "stepup",
    request_body(content = RemoveBody, description = "At most 64 KiB"),
    responses((status = 200, description = "Removed, or kept because the engine did not allow it (`removed: false`)", body = Removed)))]
pub async fn remove_enrollment(
    auth: Auth<IngestScope>,
    State(app): State<Arc<App>>,
    req: Body,
) -> Result<Json<Removed>, ApiError> {
    detached(remove_inner(app, auth, req)).await
}

async fn remove_inner(
    app: Arc<App>,
    auth: Auth<IngestScope>,
    req: Body,
) -> Result<Json<Removed>, ApiError> {
    let req: RemoveBody = body(req).await?;
    check_service(&auth, &req.service)?;
    let now = account_at(&app, &req.account, &req.at)?;
    let method = removable(req.method, "method")?;
    text("proof_event", &req.proof_event, 128)?;
    let (service, account) = (req.service.as_str(), req.account.as_str());
    let (event_id, mut event) = change_event(
        service,
        account,
        &req.at,
        method,
        "web",
        json!({"change": "remove", "method": method.as_str(), "by": "holder",
               "proof_event": req.proof_event}),
        req.actor.clone(),
    )?;
    let su = &app.stepup;
    let _lock = su.lock(service, account).await;
    let mut loaded = su.load(service, account).await?;
    // Checked on a copy: nothing is consumed unless the change goes through.
    let mut trial = loaded.record.clone();
    trial
        .take_pass(&req.proof_event, method, now)
        .map_err(proof_error)?;
    let (found, _) = trial.clone().remove(account, method);
    if !found {
        return Err(
            ApiError::new("not_enrolled", "the account has no such enrollment").at("method"),
        );
    }
    app.enrich(&mut event);
    let answer = app
        .ingest_with(event, crate::app::Wait::Decision(crate::app::VOUCHING_WAIT))
        .await?;
    // Only an allowed change removes a factor: a review or a step-up of the
    // removal itself is not a yes.
    let removed = answer.decision.action == Action::Allow;
    if removed {
        let (_, gone) = trial.remove(account, method);
        loaded.record = trial;
        let mut entries = StepUp::entries(service, account, &loaded)?;
        for p in gone {
            entries.push((crate::stepup::credential_key(p.cred_id().as_ref()), None));
        }
        su.persist(entries).await?;
    }
    Ok(Json(Removed {
        removed,
        account: req.account,
        method: method.as_str(),
        event_id,
        decision: answer.decision,
        durable: answer.durable,
    }))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResetBody {
    #[schema(value_type = crate::routes::openapi::Account)]
    account: String,
    #[schema(value_type = crate::routes::openapi::At)]
    at: String,
    #[schema(value_type = crate::routes::openapi::Service)]
    service: String,
    /// Enrollments to remove (may be empty: only the TOTP throttle is reset).
    #[serde(default)]
    #[schema(value_type = Vec<EnrollmentMethod>)]
    remove: Vec<MfaMethod>,
    /// Why (kept in the `credential.change` event): 1 to 256 characters.
    #[schema(value_type = crate::routes::openapi::Text256)]
    reason: String,
}

/// `POST /v1/stepup/enrollments/reset` (admin): clears the TOTP throttle
/// and lock, and removes the listed enrollments, without a proof.
#[utoipa::path(post, path = "/v1/stepup/enrollments/reset", tag = "stepup",
    request_body(content = ResetBody, description = "At most 64 KiB"),
    responses((status = 200, description = "Reset", body = Reset)))]
pub async fn reset_enrollment(
    auth: Auth<AdminScope>,
    State(app): State<Arc<App>>,
    req: Body,
) -> Result<Json<Reset>, ApiError> {
    detached(reset_inner(app, auth, req)).await
}

async fn reset_inner(
    app: Arc<App>,
    auth: Auth<AdminScope>,
    req: Body,
) -> Result<Json<Reset>, ApiError> {
    let req: ResetBody = body(req).await?;
    check_service(&auth, &req.service)?;
    account_at(&app, &req.account, &req.at)?;
    text("reason", &req.reason, 256)?;
    let mut methods = Vec::new();
    for (i, m) in req.remove.iter().enumerate() {
        let m = removable(*m, &format!("remove[{i}]"))?;
        if !methods.contains(&m) {
            methods.push(m);
        }
    }
    let (service, account) = (req.service.as_str(), req.account.as_str());
    let su = &app.stepup;
    let _lock = su.lock(service, account).await;
    let mut loaded = su.load(service, account).await?;
    let throttle_reset = loaded.record.state.reset_totp_throttle(account);
    let mut removed = Vec::new();
    let mut gone = Vec::new();
    for m in &methods {
        let (found, keys) = loaded.record.remove(account, *m);
        if found {
            removed.push(m.as_str());
        }
        gone.extend(keys);
    }
    let mut entries = StepUp::entries(service, account, &loaded)?;
    for p in gone {
        entries.push((crate::stepup::credential_key(p.cred_id().as_ref()), None));
    }
    su.persist(entries).await?;
    // One credential.change per change, logged after it is durable.
    let mut events = Vec::new();
    let changes: Vec<(Method, &str)> = if removed.is_empty() {
        vec![(Method::Totp, "reset")]
    } else {
        methods.iter().map(|m| (*m, "remove")).collect()
    };
    for (m, change) in changes {
        if change == "remove" && !removed.contains(&m.as_str()) {
            continue;
        }
        let (event_id, mut event) = change_event(
            service,
            account,
            &req.at,
            m,
            "call_center",
            json!({"change": change, "method": m.as_str(), "by": "admin",
                   "admin": auth.0.name, "reason": req.reason}),
            None,
        )?;
        app.enrich(&mut event);
        // The audit record of an operator's change is never shed under load.
        let answer = app
            .ingest_with(event, crate::app::Wait::Decision(crate::app::VOUCHING_WAIT))
            .await?;
        events.push(ChangeLogged {
            event_id,
            decision: answer.decision,
            durable: answer.durable,
        });
    }
    Ok(Json(Reset {
        account: req.account,
        throttle_reset,
        removed,
        events,
    }))
}
