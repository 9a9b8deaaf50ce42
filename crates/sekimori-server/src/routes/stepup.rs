//! `/v1/stepup/*`: enroll, challenge and verify step-up methods. Every
//! verification ends with an `mfa.result` event the server ingests itself.

use super::{parse_quiet, read_body, Auth, IngestScope, MAX_STEPUP_BODY_BYTES};
use crate::app::App;
use crate::error::ApiError;
use crate::stepup::otp::{self, Channel};
use crate::stepup::{
    channel_method, otp_reason, totp_reason, transaction, tx_reason, webauthn_reason, Ceremony,
    CeremonyKind, Outcome, StepUp, CEREMONY_TTL_MS, MAX_OPEN_CEREMONIES, MAX_PASSKEYS,
};
use axum::body::Body;
use axum::extract::State;
use axum::Json;
use rand::RngCore;
use sekimori_event::{format_rfc3339_ms, MfaMethod, MfaOutcome};
use sekimori_rules::Action;
use sekimori_stepup::{StepUpError, TX_OCRA_SUITE};
use sekimori_webauthn::{AuthState, PublicKeyCredential, RegState, RegisterPublicKeyCredential};
use serde::Deserialize;
use serde_json::{json, Value};
use std::sync::Arc;
use zeroize::Zeroizing;

/// An identifier or label: 1..=max characters, no control characters, no edge spaces.
fn text(path: &str, s: &str, max: usize) -> Result<(), ApiError> {
    let len = s.chars().count();
    if len == 0 || len > max {
        return Err(
            ApiError::new("invalid_value", format!("must be 1 to {max} characters")).at(path),
        );
    }
    if s.chars().any(char::is_control) || s.trim() != s {
        return Err(ApiError::new(
            "invalid_value",
            "must not contain control characters or edge spaces",
        )
        .at(path));
    }
    Ok(())
}

fn random_hex(bytes: usize) -> String {
    let mut b = vec![0u8; bytes];
    rand::rng().fill_bytes(&mut b);
    hex::encode(b)
}

fn new_event_id() -> String {
    format!("stepup-{}", random_hex(16))
}

async fn body<T: serde::de::DeserializeOwned>(body: Body) -> Result<T, ApiError> {
    parse_quiet(&read_body(body, MAX_STEPUP_BODY_BYTES).await?)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccountAt {
    account: String,
    at: String,
}

/// A payment as the request names it; the payer is the request's account.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TxBody {
    amount_minor: i64,
    currency: String,
    payee: String,
}

impl TxBody {
    fn check(&self, path: &str) -> Result<(), ApiError> {
        if self.amount_minor < 0 {
            return Err(ApiError::new("invalid_value", "must not be negative")
                .at(format!("{path}.amount_minor")));
        }
        let c = &self.currency;
        if !((2..=12).contains(&c.len())
            && c.bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit()))
        {
            return Err(ApiError::new(
                "invalid_value",
                "must be 2 to 12 upper-case letters or digits",
            )
            .at(format!("{path}.currency")));
        }
        text(&format!("{path}.payee"), &self.payee, 256)
    }

    fn for_account(&self, account: &str) -> sekimori_stepup::Transaction {
        transaction(account, self.amount_minor, &self.currency, &self.payee)
    }

    fn json(&self) -> Value {
        json!({"amount_minor": self.amount_minor, "currency": self.currency, "payee": self.payee})
    }
}

/// Checks `account` and `at`; returns the time in milliseconds.
fn account_at(app: &App, account: &str, at: &str) -> Result<i64, ApiError> {
    text("account", account, 128)?;
    app.check_at(at)
}

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
    _: Auth<IngestScope>,
    State(app): State<Arc<App>>,
    req: Body,
) -> Result<Json<Value>, ApiError> {
    detached(totp_enroll_inner(app, req)).await
}

async fn totp_enroll_inner(app: Arc<App>, req: Body) -> Result<Json<Value>, ApiError> {
    let req: AccountAt = body(req).await?;
    let at = account_at(&app, &req.account, &req.at)?;
    let su = &app.stepup;
    let uri = su
        .update(&app, &req.account, |record| {
            record
                .state
                .enroll_totp(&su.sealer, &req.account, &su.issuer, at, &mut rand::rng())
                .map_err(enroll_error)
        })
        .await?;
    Ok(Json(
        json!({"account": req.account, "method": "totp", "otpauth_uri": uri.expose()}),
    ))
}

pub async fn ocra_enroll(
    _: Auth<IngestScope>,
    State(app): State<Arc<App>>,
    req: Body,
) -> Result<Json<Value>, ApiError> {
    detached(ocra_enroll_inner(app, req)).await
}

async fn ocra_enroll_inner(app: Arc<App>, req: Body) -> Result<Json<Value>, ApiError> {
    let req: AccountAt = body(req).await?;
    let at = account_at(&app, &req.account, &req.at)?;
    let su = &app.stepup;
    let key = su
        .update(&app, &req.account, |record| {
            record
                .state
                .enroll_ocra(&su.sealer, &req.account, at, &mut rand::rng())
                .map_err(enroll_error)
        })
        .await?;
    let key_hex = key.to_hex();
    Ok(Json(json!({"account": req.account, "method": "txsign",
        "device_key_hex": key_hex.as_str(), "suite": TX_OCRA_SUITE})))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TxChallengeBody {
    account: String,
    at: String,
    transaction: TxBody,
}

pub async fn tx_challenge(
    _: Auth<IngestScope>,
    State(app): State<Arc<App>>,
    req: Body,
) -> Result<Json<Value>, ApiError> {
    detached(tx_challenge_inner(app, req)).await
}

async fn tx_challenge_inner(app: Arc<App>, req: Body) -> Result<Json<Value>, ApiError> {
    let req: TxChallengeBody = body(req).await?;
    let at = account_at(&app, &req.account, &req.at)?;
    req.transaction.check("transaction")?;
    let tx = req.transaction.for_account(&req.account);
    let challenge = app
        .stepup
        .update(&app, &req.account, |record| {
            record
                .state
                .issue_tx_challenge(&tx, at, &mut rand::rng())
                .map_err(|e| match e {
                    StepUpError::NotEnrolled => ApiError::new(
                        "not_enrolled",
                        "the account has no transaction-signing device; enroll with /v1/stepup/ocra/enroll",
                    )
                    .at("account"),
                    StepUpError::TooManyOpenChallenges => too_many_challenges(),
                    other => ApiError::internal(other),
                })
        })
        .await?;
    Ok(Json(json!({
        "challenge_id": challenge.id(),
        "question": challenge.question(),
        "suite": TX_OCRA_SUITE,
        "expires_at": format_rfc3339_ms(challenge.expires_at_ms),
        "transaction": req.transaction.json(),
    })))
}

/// Runs a step-up handler on its own task, so a client that disconnects
/// cannot cancel it between consuming a challenge and making that durable
/// (the account lock would be released with the write still in flight).
async fn detached<T: Send + 'static>(
    work: impl std::future::Future<Output = Result<T, ApiError>> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::spawn(work).await.map_err(ApiError::internal)?
}

fn too_many_challenges() -> ApiError {
    ApiError::new(
        "too_many_challenges",
        "the account has too many open challenges; finish or let them expire (5 minutes)",
    )
    .at("account")
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegisterStartBody {
    account: String,
    user_name: String,
    at: String,
}

pub async fn register_start(
    _: Auth<IngestScope>,
    State(app): State<Arc<App>>,
    req: Body,
) -> Result<Json<Value>, ApiError> {
    detached(register_start_inner(app, req)).await
}

async fn register_start_inner(app: Arc<App>, req: Body) -> Result<Json<Value>, ApiError> {
    let req: RegisterStartBody = body(req).await?;
    let at = account_at(&app, &req.account, &req.at)?;
    text("user_name", &req.user_name, 64)?;
    let su = &app.stepup;
    let expires = at.saturating_add(CEREMONY_TTL_MS);
    let (options, id) = su
        .update(&app, &req.account, |record| {
            if record.passkeys.len() >= MAX_PASSKEYS {
                return Err(ApiError::new(
                    "too_many_passkeys",
                    format!("an account may register at most {MAX_PASSKEYS} passkeys"),
                )
                .at("account"));
            }
            if record.open_ceremonies_at(at) >= MAX_OPEN_CEREMONIES {
                return Err(too_many_challenges());
            }
            let (options, state) = su
                .passkeys
                .start_register(&req.account, &req.user_name, &record.passkeys)
                .map_err(ApiError::internal)?;
            let id = state.ceremony_id().to_string();
            insert_ceremony(record, &id, CeremonyKind::Register, expires, &state)?;
            Ok((options, id))
        })
        .await?;
    Ok(Json(json!({"ceremony_id": id, "options": options,
        "expires_at": format_rfc3339_ms(expires)})))
}

fn insert_ceremony<T: serde::Serialize>(
    record: &mut crate::stepup::AccountRecord,
    id: &str,
    kind: CeremonyKind,
    expires_at_ms: i64,
    state: &T,
) -> Result<(), ApiError> {
    let state = serde_json::to_string(state).map_err(ApiError::internal)?;
    record.ceremonies.insert(
        id.to_string(),
        Ceremony {
            kind,
            expires_at_ms,
            state,
        },
    );
    Ok(())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegisterFinishBody {
    account: String,
    ceremony_id: String,
    credential: RegisterPublicKeyCredential,
    at: String,
}

pub async fn register_finish(
    _: Auth<IngestScope>,
    State(app): State<Arc<App>>,
    req: Body,
) -> Result<Json<Value>, ApiError> {
    detached(register_finish_inner(app, req)).await
}

async fn register_finish_inner(app: Arc<App>, req: Body) -> Result<Json<Value>, ApiError> {
    let req: RegisterFinishBody = body(req).await?;
    let at = account_at(&app, &req.account, &req.at)?;
    let su = &app.stepup;
    let _registrations = su.lock_registrations().await;
    let _lock = su.lock(&req.account).await;
    let mut record = su.load(&app, &req.account).await?;
    // Taken, not read: a ceremony is single use, whatever its outcome.
    let ceremony = take_ceremony(&mut record, &req.ceremony_id, CeremonyKind::Register)?;
    if at >= ceremony.expires_at_ms {
        su.save(&app, &req.account, &record).await?;
        return Err(ceremony_expired());
    }
    let state: RegState = serde_json::from_str(&ceremony.state).map_err(ApiError::internal)?;
    let passkey = match su.passkeys.finish_register(state, &req.credential) {
        Ok(p) => p,
        Err(e) if e.is_rejection() => {
            su.save(&app, &req.account, &record).await?;
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
    if su.read(&app, index_key.clone()).await?.is_some() {
        su.save(&app, &req.account, &record).await?;
        return Err(
            ApiError::new("credential_exists", "this passkey is already registered")
                .at("credential"),
        );
    }
    let credential_id = json!(passkey.cred_id());
    record.passkeys.push(passkey);
    let entries = vec![
        StepUp::entry(&req.account, &record)?,
        (index_key, Some(req.account.clone().into_bytes())),
    ];
    su.persist(&app, entries).await?;
    Ok(Json(
        json!({"account": req.account, "credential_id": credential_id,
        "passkeys": record.passkeys.len()}),
    ))
}

fn take_ceremony(
    record: &mut crate::stepup::AccountRecord,
    id: &str,
    kind: CeremonyKind,
) -> Result<Ceremony, ApiError> {
    match record.ceremonies.get(id) {
        Some(c) if c.kind == kind => record
            .ceremonies
            .remove(id)
            .ok_or_else(|| ApiError::internal("ceremony vanished")),
        _ => Err(ApiError::new(
            "challenge_not_found",
            "no open ceremony with this id for this account",
        )
        .at("ceremony_id")),
    }
}

fn ceremony_expired() -> ApiError {
    ApiError::new(
        "challenge_expired",
        "the ceremony is past its 5-minute limit; start a new one",
    )
    .at("ceremony_id")
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthStartBody {
    account: String,
    at: String,
    #[serde(default)]
    transaction: Option<TxBody>,
}

pub async fn auth_start(
    _: Auth<IngestScope>,
    State(app): State<Arc<App>>,
    req: Body,
) -> Result<Json<Value>, ApiError> {
    detached(auth_start_inner(app, req)).await
}

async fn auth_start_inner(app: Arc<App>, req: Body) -> Result<Json<Value>, ApiError> {
    let req: AuthStartBody = body(req).await?;
    let at = account_at(&app, &req.account, &req.at)?;
    if let Some(tx) = &req.transaction {
        tx.check("transaction")?;
    }
    let su = &app.stepup;
    let digest = req
        .transaction
        .as_ref()
        .map(|t| t.for_account(&req.account).digest());
    let expires = at.saturating_add(CEREMONY_TTL_MS);
    let (options, id) = su
        .update(&app, &req.account, |record| {
            if record.passkeys.is_empty() {
                return Err(ApiError::new(
                    "not_enrolled",
                    "the account has no passkey; register one with /v1/stepup/webauthn/register/start",
                )
                .at("account"));
            }
            if record.open_ceremonies_at(at) >= MAX_OPEN_CEREMONIES {
                return Err(too_many_challenges());
            }
            let (options, state) = su
                .passkeys
                .start_auth(&req.account, &record.passkeys, digest)
                .map_err(ApiError::internal)?;
            let id = state.ceremony_id().to_string();
            insert_ceremony(record, &id, CeremonyKind::Auth, expires, &state)?;
            Ok((options, id))
        })
        .await?;
    let mut out = json!({"ceremony_id": id, "options": options,
        "expires_at": format_rfc3339_ms(expires)});
    if let Some(tx) = &req.transaction {
        out["transaction"] = tx.json();
    }
    Ok(Json(out))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OtpSendBody {
    account: String,
    channel: Channel,
    at: String,
    service: String,
    #[serde(default)]
    actor: Option<Value>,
}

pub async fn otp_send(
    auth: Auth<IngestScope>,
    State(app): State<Arc<App>>,
    req: Body,
) -> Result<Json<Value>, ApiError> {
    detached(otp_send_inner(app, auth, req)).await
}

async fn otp_send_inner(
    app: Arc<App>,
    auth: Auth<IngestScope>,
    req: Body,
) -> Result<Json<Value>, ApiError> {
    let req: OtpSendBody = body(req).await?;
    auth.permit_service(&req.service, "service")?;
    let at = account_at(&app, &req.account, &req.at)?;
    let Some(url) = app.stepup.webhook.clone() else {
        return Err(ApiError::new(
            "no_otp_sender",
            "the server was started without --otp-webhook; it cannot send codes",
        ));
    };
    let challenge_id = random_hex(16);
    let event_id = new_event_id();
    let mut doc = json!({"id": event_id, "type": "mfa.challenge", "at": req.at,
        "service": req.service, "account": req.account, "method": req.channel.as_str(),
        "challenge_id": challenge_id});
    if let Some(actor) = req.actor {
        doc["actor"] = actor;
    }
    let mut event = sekimori_event::decode_value(doc)?;
    app.enrich(&mut event);
    let answer = app.ingest(event).await?;
    if answer.decision.action >= Action::Deny {
        return Ok(Json(json!({"sent": false, "challenge_id": challenge_id,
            "channel": req.channel.as_str(), "event_id": event_id, "decision": answer.decision,
            "durable": answer.durable})));
    }
    let su = &app.stepup;
    let (code, expires_at_ms) = {
        let _lock = su.lock(&req.account).await;
        let mut record = su.load(&app, &req.account).await?;
        if record.open_otps_at(at) >= otp::MAX_OPEN_OTPS {
            return Err(too_many_challenges());
        }
        let (code, pending) = su.otp.issue(&req.account, &challenge_id, req.channel, at);
        let expires = pending.expires_at_ms;
        record.otps.insert(challenge_id.clone(), pending);
        su.save(&app, &req.account, &record).await?;
        (code, expires)
    };
    let expires_at = format_rfc3339_ms(expires_at_ms);
    let payload = json!({"account": req.account, "channel": req.channel.as_str(),
        "code": code.as_str(), "expires_at": expires_at, "challenge_id": challenge_id,
        "service": req.service});
    drop(code);
    let delivered = tokio::task::spawn_blocking(move || otp::deliver(&url, &payload))
        .await
        .map_err(ApiError::internal)?;
    if let Err(why) = delivered {
        tracing::warn!(challenge_id = %challenge_id, error = %why, "OTP webhook failed");
        return Err(ApiError::new(
            "otp_delivery_failed",
            format!("the code was not delivered: {why}"),
        ));
    }
    Ok(Json(json!({"sent": true, "challenge_id": challenge_id,
        "channel": req.channel.as_str(), "expires_at": expires_at, "event_id": event_id,
        "decision": answer.decision, "durable": answer.durable})))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VerifyBody {
    account: String,
    at: String,
    method: MfaMethod,
    service: String,
    #[serde(default)]
    challenge_id: Option<String>,
    #[serde(default)]
    code: Option<String>,
    #[serde(default)]
    credential: Option<PublicKeyCredential>,
    #[serde(default)]
    transaction: Option<TxBody>,
    #[serde(default)]
    actor: Option<Value>,
    /// The id of the event whose `challenge` decision asked for this step-up;
    /// copied into the `mfa.result`, so a pass teaches the login-risk profile
    /// that event's client (and nothing else does).
    #[serde(default)]
    for_event: Option<String>,
}

/// Which optional fields each method needs (`true`), takes (`None`) or refuses (`false`).
fn check_fields(req: &VerifyBody) -> Result<(), ApiError> {
    use MfaMethod as M;
    let (challenge, code, credential, transaction) = match req.method {
        M::Totp => (None, Some(true), Some(false), Some(false)),
        M::Txsign => (Some(true), Some(true), Some(false), Some(true)),
        M::Webauthn => (Some(true), Some(false), Some(true), None),
        M::Sms | M::Email => (Some(true), Some(true), Some(false), Some(false)),
        M::Push => {
            return Err(ApiError::new(
                "invalid_value",
                "push has no server-side verifier; report its outcome with an mfa.result event",
            )
            .at("method"))
        }
    };
    let fields = [
        ("challenge_id", challenge, req.challenge_id.is_some()),
        ("code", code, req.code.is_some()),
        ("credential", credential, req.credential.is_some()),
        ("transaction", transaction, req.transaction.is_some()),
    ];
    for (name, rule, present) in fields {
        match (rule, present) {
            (Some(true), false) => {
                return Err(ApiError::new("missing_field", "this method needs this field").at(name))
            }
            (Some(false), true) => {
                return Err(
                    ApiError::new("unknown_field", "this method does not use this field").at(name),
                )
            }
            _ => {}
        }
    }
    if let Some(tx) = &req.transaction {
        tx.check("transaction")?;
    }
    Ok(())
}

pub async fn verify(
    auth: Auth<IngestScope>,
    State(app): State<Arc<App>>,
    req: Body,
) -> Result<Json<Value>, ApiError> {
    detached(verify_inner(app, auth, req)).await
}

async fn verify_inner(
    app: Arc<App>,
    auth: Auth<IngestScope>,
    req: Body,
) -> Result<Json<Value>, ApiError> {
    let mut req: VerifyBody = body(req).await?;
    auth.permit_service(&req.service, "service")?;
    let at = account_at(&app, &req.account, &req.at)?;
    check_fields(&req)?;
    let code = req.code.take().map(Zeroizing::new);
    let event_id = new_event_id();
    let challenge_id = req.challenge_id.clone().unwrap_or_else(|| event_id.clone());
    // The event is built (and checked) before anything is consumed.
    let mut doc = json!({"id": event_id, "type": "mfa.result", "at": req.at,
        "service": req.service, "account": req.account, "method": req.method,
        "challenge_id": challenge_id, "result": "failure"});
    if let Some(actor) = req.actor.take() {
        doc["actor"] = actor;
    }
    if let Some(for_event) = req.for_event.take() {
        doc["for_event"] = json!(for_event);
    }
    let mut event = sekimori_event::decode_value(doc)?;
    let code = code.as_ref().map_or("", |c| c.as_str());
    let outcome = verify_method(&app, &req, &challenge_id, code, at).await?;
    if let sekimori_event::Body::MfaResult(r) = &mut event.body {
        r.result = outcome.result;
    }
    app.enrich(&mut event);
    // Never a fallback: a degraded answer must not release a parked event.
    let answer = app
        .ingest_with(event, crate::app::Wait::Decision(crate::app::VOUCHING_WAIT))
        .await?;
    let mut out = json!({
        "result": if outcome.result == MfaOutcome::Success { "success" } else { "failure" },
        "method": req.method,
        "strong": req.method.is_strong(),
        "challenge_id": challenge_id,
        "event_id": event_id,
        "decision": answer.decision,
        "durable": answer.durable,
    });
    if let Some(reason) = outcome.reason {
        out["reason_code"] = json!(reason);
    }
    Ok(Json(out))
}

/// Runs the method's check under the account's lock and makes every change durable.
async fn verify_method(
    app: &App,
    req: &VerifyBody,
    challenge_id: &str,
    code: &str,
    at: i64,
) -> Result<Outcome, ApiError> {
    let su = &app.stepup;
    let account = req.account.as_str();
    let _lock = su.lock(account).await;
    let mut record = su.load(app, account).await?;
    let before = serde_json::to_vec(&record).map_err(ApiError::internal)?;
    let outcome = match req.method {
        MfaMethod::Totp => match record.state.verify_totp(&su.sealer, account, code, at) {
            Ok(()) => Outcome::success(),
            Err(e) => totp_reason(e)?,
        },
        MfaMethod::Txsign => {
            let tx = req
                .transaction
                .as_ref()
                .map(|t| t.for_account(account))
                .ok_or_else(|| ApiError::internal("checked above"))?;
            match record
                .state
                .verify_tx(&su.sealer, challenge_id, &tx, code, at)
            {
                Ok(()) => Outcome::success(),
                Err(e) => tx_reason(e)?,
            }
        }
        MfaMethod::Webauthn => webauthn(su, &mut record, req, challenge_id, at)?,
        MfaMethod::Sms | MfaMethod::Email => {
            match record
                .otps
                .get_mut(challenge_id)
                .filter(|o| channel_method(o.channel) == req.method)
            {
                None => Outcome::failure("unknown_challenge"),
                Some(pending) => match su.otp.verify(account, challenge_id, pending, code, at) {
                    Ok(()) => Outcome::success(),
                    Err(r) => otp_reason(r),
                },
            }
        }
        MfaMethod::Push => return Err(ApiError::internal("checked above")),
    };
    let after = serde_json::to_vec(&record).map_err(ApiError::internal)?;
    if after != before {
        su.save(app, account, &record).await?;
    }
    Ok(outcome)
}

fn webauthn(
    su: &StepUp,
    record: &mut crate::stepup::AccountRecord,
    req: &VerifyBody,
    challenge_id: &str,
    at: i64,
) -> Result<Outcome, ApiError> {
    let found = record
        .ceremonies
        .get(challenge_id)
        .is_some_and(|c| c.kind == CeremonyKind::Auth);
    if !found {
        return Ok(Outcome::failure("unknown_challenge"));
    }
    let ceremony = take_ceremony(record, challenge_id, CeremonyKind::Auth)?;
    if at >= ceremony.expires_at_ms {
        return Ok(Outcome::failure("expired"));
    }
    let state: AuthState = serde_json::from_str(&ceremony.state).map_err(ApiError::internal)?;
    let credential = req
        .credential
        .as_ref()
        .ok_or_else(|| ApiError::internal("checked above"))?;
    let digest = req
        .transaction
        .as_ref()
        .map(|t| t.for_account(&req.account).digest());
    match su
        .passkeys
        .finish_auth(state, credential, digest, &mut record.passkeys)
    {
        Ok(_) => Ok(Outcome::success()),
        Err(e) => {
            tracing::info!(error = %e, "passkey assertion refused");
            webauthn_reason(e)
        }
    }
}
