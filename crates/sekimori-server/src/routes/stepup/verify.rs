//! `POST /v1/stepup/verify`: checks a step-up and ingests its `mfa.result`.

use super::answers::Verified;
use super::challenge::event_is_transaction;
use super::{account_at, body, detached, new_event_id, text, TxBody};
use crate::app::App;
use crate::error::ApiError;
use crate::routes::{Auth, IngestScope};
use crate::stepup::{
    channel_method, method_of, otp_reason, totp_reason, tx_reason, webauthn_reason, AccountRecord,
    CeremonyKind, Outcome, StepUp,
};
use axum::body::Body;
use axum::extract::State;
use axum::Json;
use sekimori_event::{MfaMethod, MfaOutcome};
use sekimori_stepup::{Method, Now, TimeRefusal, TotpError};
use sekimori_webauthn::{AuthState, PublicKeyCredential};
use serde::Deserialize;
use serde_json::{json, Value};
use std::sync::Arc;
use zeroize::Zeroizing;

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VerifyBody {
    #[schema(value_type = crate::routes::openapi::Account)]
    account: String,
    #[schema(value_type = crate::routes::openapi::At)]
    at: String,
    #[schema(value_type = VerifyMethod)]
    method: MfaMethod,
    #[schema(value_type = crate::routes::openapi::Service)]
    service: String,
    /// `txsign`: the challenge id; `webauthn`: the ceremony id;
    /// `sms` / `email`: from `otp/send`; `totp`: optional.
    #[serde(default)]
    #[schema(value_type = Option<crate::routes::openapi::EventRef>)]
    challenge_id: Option<String>,
    /// `totp`, `txsign`, `sms`, `email`: the code.
    #[serde(default)]
    code: Option<String>,
    /// `webauthn`: the PublicKeyCredential from `navigator.credentials.get()`.
    #[serde(default)]
    #[schema(value_type = Option<crate::routes::openapi::AssertionCredential>)]
    credential: Option<PublicKeyCredential>,
    #[serde(default)]
    transaction: Option<TxBody>,
    #[serde(default)]
    #[schema(value_type = Option<crate::routes::openapi::ActorSchema>)]
    actor: Option<Value>,
    /// The id of the event whose `challenge` decision asked for this step-up;
    /// copied into the `mfa.result`, so a pass teaches the login-risk profile
    /// that event's client (and nothing else does).
    #[serde(default)]
    #[schema(value_type = Option<crate::routes::openapi::EventRef>)]
    for_event: Option<String>,
}

/// The fields of a verification beyond the common ones, in this order.
pub(crate) const METHOD_FIELDS: [&str; 4] = ["challenge_id", "code", "credential", "transaction"];

/// Which of [`METHOD_FIELDS`] a method needs (`Some(true)`), takes
/// (`None`) or refuses (`Some(false)`); `None` for a method with no
/// server-side verifier (`push`). The OpenAPI document states the same table.
pub(crate) fn method_fields(method: MfaMethod) -> Option<[Option<bool>; 4]> {
    use MfaMethod as M;
    Some(match method {
        M::Totp => [None, Some(true), Some(false), Some(false)],
        M::Txsign => [Some(true), Some(true), Some(false), Some(true)],
        M::Webauthn => [Some(true), Some(false), Some(true), None],
        M::Sms | M::Email => [Some(true), Some(true), Some(false), Some(false)],
        M::Push => return None,
    })
}

/// Which optional fields each method needs, takes or refuses.
fn check_fields(req: &VerifyBody) -> Result<(), ApiError> {
    let Some([challenge, code, credential, transaction]) = method_fields(req.method) else {
        return Err(ApiError::new(
            "invalid_value",
            "push has no server-side verifier; report its outcome with an mfa.result event",
        )
        .at("method"));
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

/// A method the server verifies (`push` has no server-side verifier).
#[allow(dead_code)] // described in the OpenAPI document, never built
#[derive(serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum VerifyMethod {
    Totp,
    Txsign,
    Webauthn,
    Sms,
    Email,
}

/// Completes a challenge and ingests its `mfa.result`. Which of
/// `challenge_id`, `code`, `credential` and `transaction` a method needs or
/// refuses: docs/api.md, Verify (`missing_field`, `unknown_field`).
#[utoipa::path(post, path = "/v1/stepup/verify", tag = "stepup",
    request_body(content = VerifyBody, description = "At most 64 KiB"),
    responses((status = 200, description = "The outcome: a failure is `result: failure` with a `reason_code`, not an error", body = Verified)))]
pub async fn verify(
    auth: Auth<IngestScope>,
    State(app): State<Arc<App>>,
    req: Body,
) -> Result<Json<Verified>, ApiError> {
    detached(verify_inner(app, auth, req)).await
}

async fn verify_inner(
    app: Arc<App>,
    auth: Auth<IngestScope>,
    req: Body,
) -> Result<Json<Verified>, ApiError> {
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
        doc["actor"] = super::actor_object(actor)?;
    }
    let mut event = sekimori_event::decode_value(doc)?;
    let client = sekimori_stepup::client_key(
        event.actor.device.as_deref(),
        event.actor.ip.map(|ip| ip.to_string()).as_deref(),
    );
    // A verification that can only fail (not enrolled, locked, this client
    // backing off) is refused before it takes a place in flight, so a
    // stranger's stream of them never crowds out the holder (checked again
    // under the account's lock below).
    let record = app.stepup.load(&req.service, &req.account).await?.record;
    admit(&record, &req.account, req.method, now, client.as_deref())?;
    drop(record);
    // Bounded before the account's lock is waited for and anything ingested.
    let _permit = app
        .stepup
        .verify_gate
        .enter(&auth.0.name, &req.service, &req.account)
        .ok_or_else(|| {
            ApiError::new(
                "stepup_busy",
                "too many verifications in flight for this key or account; retry after Retry-After",
            )
        })?;
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
    Ok(Json(Verified {
        result: if outcome.result == MfaOutcome::Success {
            "success"
        } else {
            "failure"
        },
        reason_code: outcome.reason,
        method: req.method,
        strong: req.method.is_strong(),
        challenge_id,
        event_id,
        decision: answer.decision,
        durable: answer.durable,
    }))
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

/// Refuses, before any event is built or anything consumed, a verification
/// that could only fail: an account not enrolled for a strong method, a
/// TOTP enrollment locked, or backing off for this client (the NIST
/// back-off: a familiar client skips the account's). Such refusals are not
/// ingested, so a flood of them costs the engine nothing.
fn admit(
    record: &AccountRecord,
    account: &str,
    method: MfaMethod,
    now: Now,
    client: Option<&str>,
) -> Result<(), ApiError> {
    let Some(m) = method_of(method).filter(|m| m.is_strong()) else {
        return Ok(());
    };
    if !record.factors(account).contains(&m) {
        return Err(ApiError::new(
            "not_enrolled",
            "the account is not enrolled for this method; nothing was checked or logged",
        )
        .at("method"));
    }
    let refusal = record
        .state
        .totp_enrollment(account)
        .filter(|_| m == Method::Totp)
        .and_then(|e| e.refusal(now, client));
    match refusal {
        Some((TotpError::Locked, _)) => Err(ApiError::new(
            "totp_locked",
            "100 consecutive failures: TOTP is locked until an operator reset; nothing was checked or logged",
        )
        .at("account")),
        Some((_, until)) => {
            let secs = until.map_or(1, |u| (u.saturating_sub(now.server_ms) + 999) / 1000).max(1);
            Err(ApiError::new(
                "totp_throttled",
                "this client (or, for a client that never passed, the account) is backing off after failed codes; nothing was checked or logged",
            )
            .at("account")
            .details(serde_json::json!({"retry_after_s": secs})))
        }
        None => Ok(()),
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
    admit(record, account, req.method, now, client)?;
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
