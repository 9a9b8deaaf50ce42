//! Challenges: transaction challenges, passkey assertions and SMS / e-mail codes.

use super::answers::{Ceremony, OtpSent, TxChallenge};
use super::enroll::insert_ceremony;
use super::{
    account_at, body, check_service, detached, new_event_id, random_hex, text, too_many_challenges,
    TxBody,
};
use crate::app::App;
use crate::error::ApiError;
use crate::routes::{Auth, IngestScope};
use crate::stepup::otp::{self, Channel};
use crate::stepup::{event_transaction, CeremonyKind, MAX_OPEN_CEREMONIES};
use axum::body::Body;
use axum::extract::State;
use axum::Json;
use sekimori_event::format_rfc3339_ms;
use sekimori_rules::Action;
use sekimori_stepup::{StepUpError, TX_OCRA_SUITE};
use serde::Deserialize;
use serde_json::{json, Value};
use std::sync::Arc;

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TxChallengeBody {
    #[schema(value_type = crate::routes::openapi::Account)]
    account: String,
    #[schema(value_type = crate::routes::openapi::At)]
    at: String,
    #[schema(value_type = crate::routes::openapi::Service)]
    service: String,
    transaction: TxBody,
    /// The event whose `challenge` decision this transaction answers: it
    /// must be this service's logged event for this very transaction, and a
    /// pass then vouches for it only.
    #[serde(default)]
    #[schema(value_type = Option<crate::routes::openapi::EventRef>)]
    for_event: Option<String>,
}

/// The channel of a code.
#[allow(dead_code)] // described in the OpenAPI document, never built
#[derive(serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = OtpChannel)]
pub enum ChannelDoc {
    Sms,
    Email,
}

/// Issues a transaction-signing challenge (OCRA) bound to the account,
/// amount, currency and payee.
#[utoipa::path(post, path = "/v1/stepup/tx/challenge", tag = "stepup",
    request_body(content = TxChallengeBody, description = "At most 64 KiB"),
    responses((status = 200, description = "The challenge", body = TxChallenge)))]
pub async fn tx_challenge(
    auth: Auth<IngestScope>,
    State(app): State<Arc<App>>,
    req: Body,
) -> Result<Json<TxChallenge>, ApiError> {
    detached(tx_challenge_inner(app, auth, req)).await
}

/// Whether `for_event` is this service's logged event for transaction `tx`.
pub(super) async fn event_is_transaction(
    app: &App,
    service: &str,
    for_event: &str,
    tx: &sekimori_stepup::Transaction,
) -> Result<bool, ApiError> {
    let Some(event) = app.stepup.logged_event(service, for_event).await? else {
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
) -> Result<Json<TxChallenge>, ApiError> {
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
    Ok(Json(TxChallenge {
        challenge_id: challenge.id().to_string(),
        question: challenge.question().to_string(),
        suite: TX_OCRA_SUITE,
        expires_at: format_rfc3339_ms(challenge.expires_at_ms),
        transaction: req.transaction.answer(),
        for_event: challenge.for_event.clone(),
    }))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AuthStartBody {
    #[schema(value_type = crate::routes::openapi::Account)]
    account: String,
    #[schema(value_type = crate::routes::openapi::At)]
    at: String,
    #[schema(value_type = crate::routes::openapi::Service)]
    service: String,
    #[serde(default)]
    transaction: Option<TxBody>,
}

/// Starts a passkey assertion, optionally bound to a transaction.
#[utoipa::path(post, path = "/v1/stepup/webauthn/auth/start", tag = "stepup",
    request_body(content = AuthStartBody, description = "At most 64 KiB"),
    responses((status = 200, description = "The ceremony", body = Ceremony)))]
pub async fn auth_start(
    auth: Auth<IngestScope>,
    State(app): State<Arc<App>>,
    req: Body,
) -> Result<Json<Ceremony>, ApiError> {
    detached(auth_start_inner(app, auth, req)).await
}

async fn auth_start_inner(
    app: Arc<App>,
    auth: Auth<IngestScope>,
    req: Body,
) -> Result<Json<Ceremony>, ApiError> {
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
    Ok(Json(Ceremony {
        ceremony_id: id,
        options: serde_json::to_value(options).map_err(ApiError::internal)?,
        expires_at: format_rfc3339_ms(expires),
        transaction: req.transaction.as_ref().map(TxBody::answer),
    }))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OtpSendBody {
    #[schema(value_type = crate::routes::openapi::Account)]
    account: String,
    #[schema(value_type = ChannelDoc)]
    channel: Channel,
    #[schema(value_type = crate::routes::openapi::At)]
    at: String,
    #[schema(value_type = crate::routes::openapi::Service)]
    service: String,
    #[serde(default)]
    #[schema(value_type = Option<crate::routes::openapi::ActorSchema>)]
    actor: Option<Value>,
}

/// Sends an SMS / e-mail code through `--otp-webhook`, after the engine
/// decided its `mfa.challenge` event.
#[utoipa::path(post, path = "/v1/stepup/otp/send", tag = "stepup",
    request_body(content = OtpSendBody, description = "At most 64 KiB"),
    responses((status = 200, description = "Sent, or refused by the engine (`sent: false`)", body = OtpSent)))]
pub async fn otp_send(
    auth: Auth<IngestScope>,
    State(app): State<Arc<App>>,
    req: Body,
) -> Result<Json<OtpSent>, ApiError> {
    detached(otp_send_inner(app, auth, req)).await
}

async fn otp_send_inner(
    app: Arc<App>,
    auth: Auth<IngestScope>,
    req: Body,
) -> Result<Json<OtpSent>, ApiError> {
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
        doc["actor"] = super::actor_object(actor)?;
    }
    let mut event = sekimori_event::decode_value(doc)?;
    app.enrich(&mut event);
    let answer = app.ingest(event).await?;
    // No code on a refusal, nor on the budget's fallback: the engine has not
    // said yes (a code costs money and can be pumped). Ask again.
    let guessed = answer.degraded == Some("time_budget_exceeded");
    if answer.decision.action >= Action::Deny || guessed {
        return Ok(Json(OtpSent {
            sent: false,
            challenge_id,
            channel: req.channel.as_str(),
            expires_at: None,
            event_id,
            decision: answer.decision,
            durable: answer.durable,
        }));
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
    Ok(Json(OtpSent {
        sent: true,
        challenge_id,
        channel: req.channel.as_str(),
        expires_at: Some(expires_at),
        event_id,
        decision: answer.decision,
        durable: answer.durable,
    }))
}
