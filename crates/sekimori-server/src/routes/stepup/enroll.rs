//! Enrollment: TOTP, transaction-signing devices and passkey registration.

use super::answers::{Ceremony as CeremonyAnswer, Enrolled, Registered};
use super::change::{allowed, enroll_event, enrollment_proof, log_change};
use super::{account_at, body, check_service, detached, text, too_many_challenges};
use crate::app::App;
use crate::error::ApiError;
use crate::routes::{Auth, IngestScope};
use crate::stepup::{
    AccountRecord, Ceremony, CeremonyKind, StepUp, MAX_OPEN_CEREMONIES, MAX_PASSKEYS,
};
use axum::body::Body;
use axum::extract::State;
use axum::Json;
use sekimori_event::format_rfc3339_ms;
use sekimori_stepup::{Method, Now, StepUpError, TimeRefusal, TX_OCRA_SUITE};
use sekimori_webauthn::{RegState, RegisterPublicKeyCredential};
use serde::Deserialize;
use serde_json::Value;
use std::sync::Arc;

fn enroll_error(e: StepUpError) -> ApiError {
    match e {
        StepUpError::AlreadyEnrolled => ApiError::new(
            "already_enrolled",
            "the account is already enrolled for this method",
        ),
        StepUpError::InvalidLabel => ApiError::new(
            "invalid_value",
            "an account enrolled for TOTP may not contain `:`",
        )
        .at("account"),
        other => ApiError::internal(other),
    }
}

/// An enrollment request: a first factor needs no proof (onboarding);
/// another one needs `proof_event`, a step-up of a factor the account has
/// that passed within 5 minutes.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EnrollBody {
    #[schema(value_type = crate::routes::openapi::Account)]
    account: String,
    #[schema(value_type = crate::routes::openapi::At)]
    at: String,
    #[schema(value_type = crate::routes::openapi::Service)]
    service: String,
    #[serde(default)]
    #[schema(value_type = Option<crate::routes::openapi::EventRef>)]
    proof_event: Option<String>,
    #[serde(default)]
    #[schema(value_type = Option<crate::routes::openapi::ActorSchema>)]
    actor: Option<Value>,
}

/// Enrolls TOTP (SHA-1, 6 digits, 30 s); a second factor needs `proof_event`.
#[utoipa::path(post, path = "/v1/stepup/totp/enroll", tag = "stepup",
    request_body(content = EnrollBody, description = "At most 64 KiB"),
    responses((status = 200, description = "Enrolled (the secret, once), or refused by the engine (`enrolled: false`)", body = Enrolled)))]
pub async fn totp_enroll(
    auth: Auth<IngestScope>,
    State(app): State<Arc<App>>,
    req: Body,
) -> Result<Json<Enrolled>, ApiError> {
    detached(enroll_inner(app, auth, req, Method::Totp)).await
}

/// Provisions a transaction-signing device (OCRA-1:HOTP-SHA256-8:QH64); a second factor needs `proof_event`.
#[utoipa::path(post, path = "/v1/stepup/ocra/enroll", tag = "stepup",
    request_body(content = EnrollBody, description = "At most 64 KiB"),
    responses((status = 200, description = "Enrolled (the secret, once), or refused by the engine (`enrolled: false`)", body = Enrolled)))]
pub async fn ocra_enroll(
    auth: Auth<IngestScope>,
    State(app): State<Arc<App>>,
    req: Body,
) -> Result<Json<Enrolled>, ApiError> {
    detached(enroll_inner(app, auth, req, Method::Txsign)).await
}

/// TOTP or a transaction-signing device: under the account's lock, the
/// factor is added to a copy of the record (`already_enrolled` first), the
/// proof checked on it, the `credential.change` logged, and the copy stored
/// only when the engine allows the change; the secret is answered only then.
async fn enroll_inner(
    app: Arc<App>,
    auth: Auth<IngestScope>,
    req: Body,
    method: Method,
) -> Result<Json<Enrolled>, ApiError> {
    let req: EnrollBody = body(req).await?;
    check_service(&auth, &req.service)?;
    let now = account_at(&app, &req.account, &req.at)?;
    if let Some(p) = &req.proof_event {
        text("proof_event", p, 128)?;
    }
    let (service, account) = (req.service.as_str(), req.account.as_str());
    let su = &app.stepup;
    let _lock = su.lock(service, account).await;
    let mut loaded = su.load(service, account).await?;
    let mut trial = loaded.record.clone();
    if trial.factors(account).contains(&method) {
        return Err(enroll_error(StepUpError::AlreadyEnrolled));
    }
    let first = enrollment_proof(&mut trial, account, req.proof_event.as_deref(), now)?;
    let (mut otpauth_uri, mut device_key_hex, mut suite) = (None, None, None);
    // The secret stays in its zeroizing type until the change is allowed.
    let (mut uri, mut key) = (None, None);
    match method {
        Method::Totp => {
            uri = Some(
                trial
                    .state
                    .enroll_totp(&su.sealer, account, &su.issuer, now.at_ms, &mut rand::rng())
                    .map_err(enroll_error)?,
            );
        }
        _ => {
            key = Some(
                trial
                    .state
                    .enroll_ocra(&su.sealer, account, now.at_ms, &mut rand::rng())
                    .map_err(enroll_error)?,
            );
        }
    }
    let (event_id, event) = enroll_event(
        service,
        account,
        &req.at,
        method,
        first,
        req.proof_event.as_deref(),
        req.actor.clone(),
    )?;
    let answer = log_change(&app, event).await?;
    let enrolled = allowed(&answer);
    if enrolled {
        loaded.record = trial;
        su.save(service, account, &loaded).await?;
        if let Some(uri) = uri.take() {
            otpauth_uri = Some(uri.expose().to_string());
        }
        if let Some(key) = key.take() {
            device_key_hex = Some(key.to_hex().as_str().to_string());
            suite = Some(TX_OCRA_SUITE);
        }
    }
    Ok(Json(Enrolled {
        account: account.to_string(),
        method: method.as_str(),
        otpauth_uri,
        device_key_hex,
        suite,
        enrolled,
        event_id,
        decision: answer.decision,
        durable: answer.durable,
    }))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegisterStartBody {
    #[schema(value_type = crate::routes::openapi::Account)]
    account: String,
    /// Shown by the authenticator: 1 to 64 characters.
    #[schema(value_type = crate::routes::openapi::Text64)]
    user_name: String,
    #[schema(value_type = crate::routes::openapi::At)]
    at: String,
    #[schema(value_type = crate::routes::openapi::Service)]
    service: String,
    /// Needed when the account has a factor: see [`EnrollBody`]; used up
    /// by the start, the ceremony keeps it.
    #[serde(default)]
    #[schema(value_type = Option<crate::routes::openapi::EventRef>)]
    proof_event: Option<String>,
}

/// Starts a passkey registration; a second factor needs `proof_event`.
#[utoipa::path(post, path = "/v1/stepup/webauthn/register/start", tag = "stepup",
    request_body(content = RegisterStartBody, description = "At most 64 KiB"),
    responses((status = 200, description = "The ceremony", body = CeremonyAnswer)))]
pub async fn register_start(
    auth: Auth<IngestScope>,
    State(app): State<Arc<App>>,
    req: Body,
) -> Result<Json<CeremonyAnswer>, ApiError> {
    detached(register_start_inner(app, auth, req)).await
}

async fn register_start_inner(
    app: Arc<App>,
    auth: Auth<IngestScope>,
    req: Body,
) -> Result<Json<CeremonyAnswer>, ApiError> {
    let req: RegisterStartBody = body(req).await?;
    check_service(&auth, &req.service)?;
    let now = account_at(&app, &req.account, &req.at)?;
    text("user_name", &req.user_name, 64)?;
    if let Some(p) = &req.proof_event {
        text("proof_event", p, 128)?;
    }
    let su = &app.stepup;
    let (options, id, expires) = su
        .update(&req.service, &req.account, |record| {
            if record.passkeys.len() >= MAX_PASSKEYS {
                return Err(ApiError::new(
                    "too_many_passkeys",
                    format!("an account may register at most {MAX_PASSKEYS} passkeys"),
                )
                .at("account"));
            }
            if record.open_ceremonies_at(now) >= MAX_OPEN_CEREMONIES {
                return Err(too_many_challenges());
            }
            let first = enrollment_proof(record, &req.account, req.proof_event.as_deref(), now)?;
            let (options, state) = su
                .passkeys
                .start_register(&req.account, &req.user_name, &record.passkeys)
                .map_err(ApiError::internal)?;
            let id = state.ceremony_id().to_string();
            let expires = insert_ceremony(record, &id, CeremonyKind::Register, now, &state)?;
            if let Some(c) = record.ceremonies.get_mut(&id).filter(|_| !first) {
                c.proof_event.clone_from(&req.proof_event);
            }
            Ok((options, id, expires))
        })
        .await?;
    Ok(Json(CeremonyAnswer {
        ceremony_id: id,
        options: serde_json::to_value(options).map_err(ApiError::internal)?,
        expires_at: format_rfc3339_ms(expires),
        transaction: None,
    }))
}

/// Stores a ceremony; its `at` expiry.
pub(super) fn insert_ceremony<T: serde::Serialize>(
    record: &mut AccountRecord,
    id: &str,
    kind: CeremonyKind,
    now: Now,
    state: &T,
) -> Result<i64, ApiError> {
    let state = serde_json::to_string(state).map_err(ApiError::internal)?;
    let ceremony = Ceremony::new(kind, state, now);
    let expires = ceremony.expires_at_ms;
    record.ceremonies.insert(id.to_string(), ceremony);
    Ok(expires)
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegisterFinishBody {
    #[schema(value_type = crate::routes::openapi::Account)]
    account: String,
    ceremony_id: String,
    /// The PublicKeyCredential `navigator.credentials.create()` gave, as JSON.
    #[schema(value_type = crate::routes::openapi::AttestationCredential)]
    credential: RegisterPublicKeyCredential,
    #[schema(value_type = crate::routes::openapi::At)]
    at: String,
    #[schema(value_type = crate::routes::openapi::Service)]
    service: String,
    #[serde(default)]
    #[schema(value_type = Option<crate::routes::openapi::ActorSchema>)]
    actor: Option<Value>,
}

/// Finishes a passkey registration (the ceremony is used up whatever the outcome).
#[utoipa::path(post, path = "/v1/stepup/webauthn/register/finish", tag = "stepup",
    request_body(content = RegisterFinishBody, description = "At most 64 KiB"),
    responses((status = 200, description = "Registered, or refused by the engine (`registered: false`)", body = Registered)))]
pub async fn register_finish(
    auth: Auth<IngestScope>,
    State(app): State<Arc<App>>,
    req: Body,
) -> Result<Json<Registered>, ApiError> {
    detached(register_finish_inner(app, auth, req)).await
}

async fn register_finish_inner(
    app: Arc<App>,
    auth: Auth<IngestScope>,
    req: Body,
) -> Result<Json<Registered>, ApiError> {
    let req: RegisterFinishBody = body(req).await?;
    check_service(&auth, &req.service)?;
    let now = account_at(&app, &req.account, &req.at)?;
    let (service, account) = (req.service.as_str(), req.account.as_str());
    let su = &app.stepup;
    let _lock = su.lock(service, account).await;
    let mut loaded = su.load(service, account).await?;
    // Taken, not read: a ceremony is single use, whatever its outcome.
    let ceremony = take_ceremony(&mut loaded.record, &req.ceremony_id, CeremonyKind::Register)?;
    if let Err(why) = ceremony.check(now) {
        su.save(service, account, &loaded).await?;
        return Err(match why {
            TimeRefusal::Expired => ceremony_expired(),
            TimeRefusal::BeforeIssue => ApiError::new(
                "invalid_value",
                "earlier than the ceremony's start; the ceremony is used up",
            )
            .at("at"),
        });
    }
    let state: RegState = serde_json::from_str(&ceremony.state).map_err(ApiError::internal)?;
    let passkey = match su.passkeys.finish_register(state, &req.credential) {
        Ok(p) => p,
        Err(e) if e.is_rejection() => {
            su.save(service, account, &loaded).await?;
            tracing::info!(error = %e, "passkey registration refused");
            return Err(ApiError::new(
                "invalid_credential",
                "the authenticator's response does not verify (origin, challenge, user verification or attestation)",
            )
            .at("credential"));
        }
        Err(e) => return Err(ApiError::internal(e)),
    };
    let index_key = crate::stepup::credential_key(passkey.cred_id().as_ref());
    let credential_exists = || {
        ApiError::new("credential_exists", "this passkey is already registered").at("credential")
    };
    if su.read(index_key.clone()).await?.is_some() {
        su.save(service, account, &loaded).await?;
        return Err(credential_exists());
    }
    // A factor added since an unproven start (the account's first) needs a proof.
    let first = loaded.record.factors(account).is_empty();
    if !first && ceremony.proof_event.is_none() {
        su.save(service, account, &loaded).await?;
        return Err(ApiError::new(
            "proof_required",
            "the account has a factor since this registration started: start again with proof_event",
        )
        .at("ceremony_id"));
    }
    let (event_id, event) = enroll_event(
        service,
        account,
        &req.at,
        Method::Webauthn,
        first,
        ceremony.proof_event.as_deref(),
        req.actor.clone(),
    )?;
    let answer = log_change(&app, event).await?;
    let allowed = allowed(&answer);
    let mut out = Registered {
        account: req.account.clone(),
        event_id,
        decision: answer.decision,
        durable: answer.durable,
        registered: false,
        passkeys: loaded.record.passkeys.len(),
        credential_id: None,
    };
    if !allowed {
        su.save(service, account, &loaded).await?;
        return Ok(Json(out));
    }
    // The credential index spans accounts: checked again under its lock.
    let _registrations = su.lock_registrations().await;
    if su.read(index_key.clone()).await?.is_some() {
        su.save(service, account, &loaded).await?;
        return Err(credential_exists());
    }
    out.credential_id = Some(
        serde_json::to_value(passkey.cred_id())
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default(),
    );
    loaded.record.passkeys.push(passkey);
    let mut entries = StepUp::entries(service, account, &loaded)?;
    entries.push((index_key, Some(format!("{service}/{account}").into_bytes())));
    su.persist(entries).await?;
    out.registered = true;
    out.passkeys = loaded.record.passkeys.len();
    Ok(Json(out))
}

fn take_ceremony(
    record: &mut AccountRecord,
    id: &str,
    kind: CeremonyKind,
) -> Result<Ceremony, ApiError> {
    record.take_ceremony(id, kind).ok_or_else(|| {
        ApiError::new(
            "challenge_not_found",
            "no open ceremony with this id for this account",
        )
        .at("ceremony_id")
    })
}

fn ceremony_expired() -> ApiError {
    ApiError::new(
        "challenge_expired",
        "the ceremony is past its 5-minute limit; start a new one",
    )
    .at("ceremony_id")
}
