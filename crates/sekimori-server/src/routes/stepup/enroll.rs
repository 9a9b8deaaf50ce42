//! Enrollment: TOTP, transaction-signing devices and passkey registration.

use super::{account_at, body, check_service, detached, text, too_many_challenges, AccountAt};
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
use sekimori_stepup::{Now, StepUpError, TimeRefusal, TX_OCRA_SUITE};
use sekimori_webauthn::{RegState, RegisterPublicKeyCredential};
use serde::Deserialize;
use serde_json::{json, Value};
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

pub async fn totp_enroll(
    auth: Auth<IngestScope>,
    State(app): State<Arc<App>>,
    req: Body,
) -> Result<Json<Value>, ApiError> {
    detached(totp_enroll_inner(app, auth, req)).await
}

async fn totp_enroll_inner(
    app: Arc<App>,
    auth: Auth<IngestScope>,
    req: Body,
) -> Result<Json<Value>, ApiError> {
    let req: AccountAt = body(req).await?;
    check_service(&auth, &req.service)?;
    let now = account_at(&app, &req.account, &req.at)?;
    let su = &app.stepup;
    let uri = su
        .update(&req.service, &req.account, |record| {
            record
                .state
                .enroll_totp(
                    &su.sealer,
                    &req.account,
                    &su.issuer,
                    now.at_ms,
                    &mut rand::rng(),
                )
                .map_err(enroll_error)
        })
        .await?;
    Ok(Json(
        json!({"account": req.account, "method": "totp", "otpauth_uri": uri.expose()}),
    ))
}

pub async fn ocra_enroll(
    auth: Auth<IngestScope>,
    State(app): State<Arc<App>>,
    req: Body,
) -> Result<Json<Value>, ApiError> {
    detached(ocra_enroll_inner(app, auth, req)).await
}

async fn ocra_enroll_inner(
    app: Arc<App>,
    auth: Auth<IngestScope>,
    req: Body,
) -> Result<Json<Value>, ApiError> {
    let req: AccountAt = body(req).await?;
    check_service(&auth, &req.service)?;
    let now = account_at(&app, &req.account, &req.at)?;
    let su = &app.stepup;
    let key = su
        .update(&req.service, &req.account, |record| {
            record
                .state
                .enroll_ocra(&su.sealer, &req.account, now.at_ms, &mut rand::rng())
                .map_err(enroll_error)
        })
        .await?;
    let key_hex = key.to_hex();
    Ok(Json(json!({"account": req.account, "method": "txsign",
        "device_key_hex": key_hex.as_str(), "suite": TX_OCRA_SUITE})))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegisterStartBody {
    account: String,
    user_name: String,
    at: String,
    service: String,
}

pub async fn register_start(
    auth: Auth<IngestScope>,
    State(app): State<Arc<App>>,
    req: Body,
) -> Result<Json<Value>, ApiError> {
    detached(register_start_inner(app, auth, req)).await
}

async fn register_start_inner(
    app: Arc<App>,
    auth: Auth<IngestScope>,
    req: Body,
) -> Result<Json<Value>, ApiError> {
    let req: RegisterStartBody = body(req).await?;
    check_service(&auth, &req.service)?;
    let now = account_at(&app, &req.account, &req.at)?;
    text("user_name", &req.user_name, 64)?;
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
            let (options, state) = su
                .passkeys
                .start_register(&req.account, &req.user_name, &record.passkeys)
                .map_err(ApiError::internal)?;
            let id = state.ceremony_id().to_string();
            let expires = insert_ceremony(record, &id, CeremonyKind::Register, now, &state)?;
            Ok((options, id, expires))
        })
        .await?;
    Ok(Json(json!({"ceremony_id": id, "options": options,
        "expires_at": format_rfc3339_ms(expires)})))
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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegisterFinishBody {
    account: String,
    ceremony_id: String,
    credential: RegisterPublicKeyCredential,
    at: String,
    service: String,
}

pub async fn register_finish(
    auth: Auth<IngestScope>,
    State(app): State<Arc<App>>,
    req: Body,
) -> Result<Json<Value>, ApiError> {
    detached(register_finish_inner(app, auth, req)).await
}

async fn register_finish_inner(
    app: Arc<App>,
    auth: Auth<IngestScope>,
    req: Body,
) -> Result<Json<Value>, ApiError> {
    let req: RegisterFinishBody = body(req).await?;
    check_service(&auth, &req.service)?;
    let now = account_at(&app, &req.account, &req.at)?;
    let (service, account) = (req.service.as_str(), req.account.as_str());
    let su = &app.stepup;
    let _registrations = su.lock_registrations().await;
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
    if su.read(index_key.clone()).await?.is_some() {
        su.save(service, account, &loaded).await?;
        return Err(
            ApiError::new("credential_exists", "this passkey is already registered")
                .at("credential"),
        );
    }
    let credential_id = json!(passkey.cred_id());
    loaded.record.passkeys.push(passkey);
    let mut entries = StepUp::entries(service, account, &loaded)?;
    entries.push((index_key, Some(format!("{service}/{account}").into_bytes())));
    su.persist(entries).await?;
    Ok(Json(
        json!({"account": req.account, "credential_id": credential_id,
        "passkeys": loaded.record.passkeys.len()}),
    ))
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
