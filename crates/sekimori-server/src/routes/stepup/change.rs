//! Enrollment changes: the `credential.change` event each one logs, and the
//! proof (a recent passed step-up) a change needs.

use super::new_event_id;
use crate::app::{Answer, App, Wait, VOUCHING_WAIT};
use crate::error::ApiError;
use crate::stepup::AccountRecord;
use sekimori_rules::Action;
use sekimori_stepup::{Method, Now, ProofRefusal};
use serde_json::{json, Value};
use std::sync::Arc;

/// The `credential.change` event of an enrollment change.
pub(super) fn change_event(
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
        "service": service, "account": account, "credential": method.credential(),
        "channel": channel, "result": "success", "attrs": attrs});
    if let Some(actor) = actor {
        doc["actor"] = super::actor_object(actor)?;
    }
    Ok((event_id, sekimori_event::decode_value(doc)?))
}

/// Logs a `credential.change` and waits for the engine's own decision: the
/// audit record of an enrollment change is never shed under load, and a
/// degraded answer never stands for the engine's yes.
pub(super) async fn log_change(
    app: &Arc<App>,
    mut event: sekimori_event::Event,
) -> Result<Answer, ApiError> {
    app.enrich(&mut event);
    app.ingest_with(event, Wait::Decision(VOUCHING_WAIT)).await
}

/// Whether the engine let the change through: only `allow` is a yes (a
/// `challenge` or `review` of the change itself is not).
pub(super) fn allowed(answer: &Answer) -> bool {
    answer.decision.action == Action::Allow && answer.degraded != Some("time_budget_exceeded")
}

/// The 403 of a proof that does not allow the change.
pub(super) fn proof_error(why: ProofRefusal) -> ApiError {
    let msg = match why {
        ProofRefusal::Unknown => {
            "no passed step-up with this event id for this account (or it was used)"
        }
        ProofRefusal::Expired => "the proof is older than 5 minutes",
        ProofRefusal::SameMethod => "the proof must be a step-up of another method",
        ProofRefusal::TooWeak => "an SMS or e-mail code cannot prove a change of a strong method",
        ProofRefusal::Withdrawn => "the proof's method is no longer enrolled for this account",
    };
    ApiError::new("proof_required", msg).at("proof_event")
}

/// Checks (and uses up, on `record`) the proof an enrollment needs: none for
/// an account's first factor (onboarding), else `proof` must be a step-up
/// of one of its factors that passed within 5 minutes. Whether this is the
/// first factor.
pub(super) fn enrollment_proof(
    record: &mut AccountRecord,
    account: &str,
    proof: Option<&str>,
    now: Now,
) -> Result<bool, ApiError> {
    if record.factors(account).is_empty() {
        return Ok(true);
    }
    let Some(proof) = proof else {
        return Err(ApiError::new(
            "proof_required",
            "the account has an enrolled factor: pass /v1/stepup/verify with it, then send its event_id as proof_event",
        )
        .at("proof_event"));
    };
    record
        .take_enrollment_pass(account, proof, now)
        .map_err(proof_error)?;
    Ok(false)
}

/// The `credential.change` of an enrollment by its holder.
pub(super) fn enroll_event(
    service: &str,
    account: &str,
    at: &str,
    method: Method,
    first: bool,
    proof: Option<&str>,
    actor: Option<Value>,
) -> Result<(String, sekimori_event::Event), ApiError> {
    let mut attrs = json!({"change": "enroll", "method": method.as_str(), "by": "holder",
        "first": first});
    if let Some(p) = proof.filter(|_| !first) {
        attrs["proof_event"] = json!(p);
    }
    change_event(service, account, at, method, "web", attrs, actor)
}
