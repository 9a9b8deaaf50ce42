//! `/v1/stepup/*`: enroll, challenge, verify and remove step-up methods.
//! Every verification ends with an `mfa.result` event, every enrollment
//! change with a `credential.change` event, that the server ingests itself.
//! The rules are `sekimori-stepup`'s; the I/O is [`crate::stepup`]'s.

use super::{parse_quiet, read_body, AdminScope, Auth, IngestScope, MAX_STEPUP_BODY_BYTES};
use crate::app::App;
use crate::error::ApiError;
use crate::stepup::otp::{self, Channel};
use crate::stepup::{
    channel_method, event_transaction, method_of, otp_reason, totp_reason, transaction, tx_reason,
    webauthn_reason, AccountRecord, Ceremony, CeremonyKind, Outcome, StepUp, MAX_OPEN_CEREMONIES,
    MAX_PASSKEYS,
};
use axum::body::Body;
use axum::extract::State;
use axum::Json;
use rand::RngCore;
use sekimori_event::{format_rfc3339_ms, MfaMethod, MfaOutcome};
use sekimori_rules::Action;
use sekimori_stepup::{Method, Now, ProofRefusal, TimeRefusal};
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
    service: String,
}

/// Checks a request's `service`: the event vocabulary's form, and one the key speaks for.
fn check_service<S>(auth: &Auth<S>, service: &str) -> Result<(), ApiError> {
    let ok = (1..=64).contains(&service.len())
        && service.bytes().all(|b| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'_' | b'-')
        });
    if !ok {
        return Err(ApiError::new(
            "invalid_value",
            "must be 1 to 64 of a-z, 0-9, `.`, `_`, `-`",
        )
        .at("service"));
    }
    auth.permit_service(service, "service")
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

/// Checks `account` and `at`; returns the request's time (its `at` and the server clock).
fn account_at(app: &App, account: &str, at: &str) -> Result<Now, ApiError> {
    text("account", account, 128)?;
    let at = app.check_at(at)?;
    Ok(app.stepup.now(at))
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
pub struct TxChallengeBody {
    account: String,
    at: String,
    service: String,
    transaction: TxBody,
    /// The event whose `challenge` decision this transaction answers: it
    /// must be this service's logged event for this very transaction, and a
    /// pass then vouches for it only.
    #[serde(default)]
    for_event: Option<String>,
}

pub async fn tx_challenge(
    auth: Auth<IngestScope>,
    State(app): State<Arc<App>>,
    req: Body,
) -> Result<Json<Value>, ApiError> {
    detached(tx_challenge_inner(app, auth, req)).await
}

/// Whether `for_event` is this service's logged event for transaction `tx`.
async fn event_is_transaction(
    app: &App,
    service: &str,
    for_event: &str,
    tx: &sekimori_stepup::Transaction,
) -> Result<bool, ApiError> {
    let Some(event) = app.stepup.logged_event(for_event).await? else {
        return Ok(false);
    };
    Ok(event_transaction(&event).is_some_and(|(s, t)| s == service && t.digest() == tx.digest()))
}

fn for_event_mismatch() -> ApiError {
    ApiError::new(
        "for_event_mismatch",
        "for_event is not a logged event of this service for this account, amount, currency and payee",
    )
    .at("for_event")
}

async fn tx_challenge_inner(
    app: Arc<App>,
    auth: Auth<IngestScope>,
    req: Body,
) -> Result<Json<Value>, ApiError> {
    let req: TxChallengeBody = body(req).await?;
    check_service(&auth, &req.service)?;
    let now = account_at(&app, &req.account, &req.at)?;
    req.transaction.check("transaction")?;
    let tx = req.transaction.for_account(&req.account);
    if let Some(e) = &req.for_event {
        text("for_event", e, 128)?;
        if !event_is_transaction(&app, &req.service, e, &tx).await? {
            return Err(for_event_mismatch());
        }
    }
    let challenge = app
        .stepup
        .update(&req.service, &req.account, |record| {
            let mut challenge = record
                .state
                .issue_tx_challenge(&tx, now, &mut rand::rng())
                .map_err(|e| match e {
                    StepUpError::NotEnrolled => ApiError::new(
                        "not_enrolled",
                        "the account has no transaction-signing device; enroll with /v1/stepup/ocra/enroll",
                    )
                    .at("account"),
                    StepUpError::TooManyOpenChallenges => too_many_challenges(),
                    other => ApiError::internal(other),
                })?;
            if let Some(stored) = record.state.challenge_mut(&challenge.id()) {
                stored.for_event.clone_from(&req.for_event);
                challenge.for_event.clone_from(&req.for_event);
            }
            Ok(challenge)
        })
        .await?;
    let mut out = json!({
        "challenge_id": challenge.id(),
        "question": challenge.question(),
        "suite": TX_OCRA_SUITE,
        "expires_at": format_rfc3339_ms(challenge.expires_at_ms),
        "transaction": req.transaction.json(),
    });
    if let Some(e) = &challenge.for_event {
        out["for_event"] = json!(e);
    }
    Ok(Json(out))
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
fn insert_ceremony<T: serde::Serialize>(
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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthStartBody {
    account: String,
    at: String,
    service: String,
    #[serde(default)]
    transaction: Option<TxBody>,
}

pub async fn auth_start(
    auth: Auth<IngestScope>,
    State(app): State<Arc<App>>,
    req: Body,
) -> Result<Json<Value>, ApiError> {
    detached(auth_start_inner(app, auth, req)).await
}

async fn auth_start_inner(
    app: Arc<App>,
    auth: Auth<IngestScope>,
    req: Body,
) -> Result<Json<Value>, ApiError> {
    let req: AuthStartBody = body(req).await?;
    check_service(&auth, &req.service)?;
    let now = account_at(&app, &req.account, &req.at)?;
    if let Some(tx) = &req.transaction {
        tx.check("transaction")?;
    }
    let su = &app.stepup;
    let digest = req
        .transaction
        .as_ref()
        .map(|t| t.for_account(&req.account).digest());
    let (options, id, expires) = su
        .update(&req.service, &req.account, |record| {
            if record.passkeys.is_empty() {
                return Err(ApiError::new(
                    "not_enrolled",
                    "the account has no passkey; register one with /v1/stepup/webauthn/register/start",
                )
                .at("account"));
            }
            if record.open_ceremonies_at(now) >= MAX_OPEN_CEREMONIES {
                return Err(too_many_challenges());
            }
            let (options, state) = su
                .passkeys
                .start_auth(&req.account, &record.passkeys, digest)
                .map_err(ApiError::internal)?;
            let id = state.ceremony_id().to_string();
            let expires = insert_ceremony(record, &id, CeremonyKind::Auth, now, &state)?;
            Ok((options, id, expires))
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
    let now = account_at(&app, &req.account, &req.at)?;
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
    // No code on a refusal, nor on the budget's fallback: the engine has not
    // said yes (a code costs money and can be pumped). Ask again.
    let guessed = answer.degraded == Some("time_budget_exceeded");
    if answer.decision.action >= Action::Deny || guessed {
        return Ok(Json(json!({"sent": false, "challenge_id": challenge_id,
            "channel": req.channel.as_str(), "event_id": event_id, "decision": answer.decision,
            "durable": answer.durable})));
    }
    let su = &app.stepup;
    let (code, expires_at_ms) = {
        let _lock = su.lock(&req.service, &req.account).await;
        let mut loaded = su.load(&req.service, &req.account).await?;
        if loaded.record.open_otps_at(now) >= otp::MAX_OPEN_OTPS {
            return Err(too_many_challenges());
        }
        let (code, pending) = su.otp.issue(
            &req.account,
            &challenge_id,
            req.channel,
            now,
            &mut rand::rng(),
        );
        let expires = pending.expires_at_ms;
        loaded.record.otps.insert(challenge_id.clone(), pending);
        su.save(&req.service, &req.account, &loaded).await?;
        (code, expires)
    };
    let expires_at = format_rfc3339_ms(expires_at_ms);
    let payload = json!({"account": req.account, "channel": req.channel.as_str(),
        "code": code.as_str(), "expires_at": expires_at, "challenge_id": challenge_id,
        "service": req.service});
    drop(code);
    let id = challenge_id.clone();
    let delivered = tokio::task::spawn_blocking(move || otp::deliver(&url, &id, &payload))
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
    let now = account_at(&app, &req.account, &req.at)?;
    check_fields(&req)?;
    if let Some(e) = &req.for_event {
        text("for_event", e, 128)?;
    }
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
    let mut event = sekimori_event::decode_value(doc)?;
    let client = sekimori_stepup::client_key(
        event.actor.device.as_deref(),
        event.actor.ip.map(|ip| ip.to_string()).as_deref(),
    );
    let code = code.as_ref().map_or("", |c| c.as_str());
    let checked = verify_method(
        &app,
        &req,
        &challenge_id,
        code,
        now,
        client.as_deref(),
        &event_id,
    )
    .await?;
    if let sekimori_event::Body::MfaResult(r) = &mut event.body {
        r.result = checked.outcome.result;
        r.for_event = checked.for_event;
    }
    app.enrich(&mut event);
    // Never a fallback: a degraded answer must not release a parked event.
    let answer = app
        .ingest_with(event, crate::app::Wait::Decision(crate::app::VOUCHING_WAIT))
        .await?;
    let outcome = checked.outcome;
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

/// What a verification found, and the event the `mfa.result` may vouch for.
struct Checked {
    outcome: Outcome,
    /// The request's `for_event` (or the one the transaction challenge was
    /// issued for); dropped when it is not the verified transaction's.
    for_event: Option<String>,
}

/// Checks that `for_event` may be vouched for by a step-up bound to the
/// transaction `tx` (digest) issued for `bound`: it must be the same event
/// the challenge names, and this service's logged event for this very
/// transaction. `Ok(None)`: the event to name; `Err(())`: `wrong_event`.
async fn vouch_for(
    app: &App,
    service: &str,
    requested: Option<&str>,
    bound: Option<&str>,
    tx: Option<&sekimori_stepup::Transaction>,
) -> Result<Result<Option<String>, ()>, ApiError> {
    let Some(tx) = tx else {
        return Ok(Ok(requested.map(str::to_string)));
    };
    let target = match (requested, bound) {
        (Some(r), Some(b)) if r != b => return Ok(Err(())),
        (Some(r), _) => r,
        (None, Some(b)) => return Ok(Ok(Some(b.to_string()))),
        (None, None) => return Ok(Ok(None)),
    };
    if event_is_transaction(app, service, target, tx).await? {
        Ok(Ok(Some(target.to_string())))
    } else {
        Ok(Err(()))
    }
}

/// Runs the method's check under the account's lock and makes every change durable.
async fn verify_method(
    app: &App,
    req: &VerifyBody,
    challenge_id: &str,
    code: &str,
    now: Now,
    client: Option<&str>,
    event_id: &str,
) -> Result<Checked, ApiError> {
    let su = &app.stepup;
    let (service, account) = (req.service.as_str(), req.account.as_str());
    let tx = req.transaction.as_ref().map(|t| t.for_account(account));
    let _lock = su.lock(service, account).await;
    let mut loaded = su.load(service, account).await?;
    let before = serde_json::to_vec(&loaded.record).map_err(ApiError::internal)?;
    let record = &mut loaded.record;
    // The event this step-up may vouch for, checked before anything is consumed.
    let bound = match req.method {
        MfaMethod::Txsign => record
            .state
            .challenge(challenge_id)
            .filter(|c| c.account == account)
            .and_then(|c| c.for_event.clone()),
        _ => None,
    };
    let vouch = match req.method {
        MfaMethod::Txsign | MfaMethod::Webauthn => {
            vouch_for(
                app,
                service,
                req.for_event.as_deref(),
                bound.as_deref(),
                tx.as_ref(),
            )
            .await?
        }
        _ => Ok(req.for_event.clone()),
    };
    let for_event = match vouch {
        Ok(e) => e,
        Err(()) => {
            return Ok(Checked {
                outcome: Outcome::failure("wrong_event"),
                for_event: None,
            })
        }
    };
    let outcome = match req.method {
        MfaMethod::Totp => {
            match record
                .state
                .verify_totp_from(&su.sealer, account, code, now, client)
            {
                Ok(()) => Outcome::success(),
                Err(e) => totp_reason(e)?,
            }
        }
        MfaMethod::Txsign => {
            let tx = tx.ok_or_else(|| ApiError::internal("checked above"))?;
            let own = record
                .state
                .challenge(challenge_id)
                .is_some_and(|c| c.account == account);
            if !own {
                Outcome::failure("unknown_challenge")
            } else {
                match record
                    .state
                    .verify_tx(&su.sealer, challenge_id, &tx, code, now)
                {
                    Ok(()) => Outcome::success(),
                    Err(e) => tx_reason(e)?,
                }
            }
        }
        MfaMethod::Webauthn => webauthn(su, record, req, challenge_id, now)?,
        MfaMethod::Sms | MfaMethod::Email => {
            match record
                .otps
                .get_mut(challenge_id)
                .filter(|o| channel_method(o.channel) == req.method)
            {
                None => Outcome::failure("unknown_challenge"),
                Some(pending) => match su.otp.verify(account, challenge_id, pending, code, now) {
                    Ok(()) => Outcome::success(),
                    Err(r) => otp_reason(r),
                },
            }
        }
        MfaMethod::Push => return Err(ApiError::internal("checked above")),
    };
    if outcome.result == MfaOutcome::Success {
        if let Some(m) = method_of(req.method) {
            record.record_pass(event_id, m, now);
        }
    }
    let after = serde_json::to_vec(&loaded.record).map_err(ApiError::internal)?;
    if after != before || loaded.legacy {
        su.save(service, account, &loaded).await?;
    }
    Ok(Checked { outcome, for_event })
}

fn webauthn(
    su: &StepUp,
    record: &mut AccountRecord,
    req: &VerifyBody,
    challenge_id: &str,
    now: Now,
) -> Result<Outcome, ApiError> {
    let Some(ceremony) = record.take_ceremony(challenge_id, CeremonyKind::Auth) else {
        return Ok(Outcome::failure("unknown_challenge"));
    };
    match ceremony.check(now) {
        Ok(()) => {}
        Err(TimeRefusal::Expired) => return Ok(Outcome::failure("expired")),
        Err(TimeRefusal::BeforeIssue) => return Ok(Outcome::failure("before_issue")),
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

fn credential_of(m: Method) -> &'static str {
    match m {
        Method::Webauthn => "passkey",
        _ => "otp_seed",
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RemoveBody {
    account: String,
    at: String,
    service: String,
    method: MfaMethod,
    /// The `event_id` of a step-up of another method that passed for this
    /// account within 5 minutes (`/v1/stepup/verify`'s answer); single use.
    proof_event: String,
    #[serde(default)]
    actor: Option<Value>,
}

/// `POST /v1/stepup/enrollments/remove`: the holder removes an enrollment,
/// proven by a recent step-up of another method.
pub async fn remove_enrollment(
    auth: Auth<IngestScope>,
    State(app): State<Arc<App>>,
    req: Body,
) -> Result<Json<Value>, ApiError> {
    detached(remove_inner(app, auth, req)).await
}

/// The `credential.change` event of an enrollment change.
fn change_event(
    service: &str,
    account: &str,
    at: &str,
    method: Method,
    channel: &str,
    attrs: Value,
    actor: Option<Value>,
) -> Result<(String, sekimori_event::Event), ApiError> {
    let event_id = new_event_id();
    let mut doc = json!({"id": event_id, "type": "credential.change", "at": at,
        "service": service, "account": account, "credential": credential_of(method),
        "channel": channel, "result": "success", "attrs": attrs});
    if let Some(actor) = actor {
        doc["actor"] = actor;
    }
    Ok((event_id, sekimori_event::decode_value(doc)?))
}

async fn remove_inner(
    app: Arc<App>,
    auth: Auth<IngestScope>,
    req: Body,
) -> Result<Json<Value>, ApiError> {
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
    if let Err(why) = trial.take_pass(&req.proof_event, method, now) {
        let msg = match why {
            ProofRefusal::Unknown => {
                "no passed step-up with this event id for this account (or it was used)"
            }
            ProofRefusal::Expired => "the proof is older than 5 minutes",
            ProofRefusal::SameMethod => "the proof must be a step-up of another method",
            ProofRefusal::TooWeak => "an SMS or e-mail code cannot remove a strong method",
        };
        return Err(ApiError::new("proof_required", msg).at("proof_event"));
    }
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
    Ok(Json(
        json!({"removed": removed, "account": req.account, "method": method.as_str(),
        "event_id": event_id, "decision": answer.decision, "durable": answer.durable}),
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResetBody {
    account: String,
    at: String,
    service: String,
    /// Enrollments to remove (may be empty: only the TOTP throttle is reset).
    #[serde(default)]
    remove: Vec<MfaMethod>,
    /// Why (kept in the `credential.change` event).
    reason: String,
}

/// `POST /v1/stepup/enrollments/reset` (admin): clears the TOTP throttle
/// and lock, and removes the listed enrollments, without a proof.
pub async fn reset_enrollment(
    auth: Auth<AdminScope>,
    State(app): State<Arc<App>>,
    req: Body,
) -> Result<Json<Value>, ApiError> {
    detached(reset_inner(app, auth, req)).await
}

async fn reset_inner(
    app: Arc<App>,
    auth: Auth<AdminScope>,
    req: Body,
) -> Result<Json<Value>, ApiError> {
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
        events.push(json!({"event_id": event_id, "decision": answer.decision,
            "durable": answer.durable}));
    }
    Ok(Json(
        json!({"account": req.account, "throttle_reset": throttle_reset,
        "removed": removed, "events": events}),
    ))
}
