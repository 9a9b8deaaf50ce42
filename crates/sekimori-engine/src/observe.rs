//! Observation: learning what the service admitted before sekimori's
//! decisions were enforced (docs/rules.md, "Observation and history
//! import").
//!
//! A service switching sekimori on has weeks of logins its own
//! authentication admitted. While it observes (sends events, enforces no
//! decision) or imports that history, no step-up is ever asked, so a login
//! the engine would have challenged would be parked for an `mfa.result`
//! that never comes, and nothing would be learned: every customer's first
//! login after the switch would be a stranger's. The service marks such an
//! event `attrs.sekimori_observed: true`; the engine then learns it as it
//! learns an allowed login, on these terms only:
//!
//! - only a `login.attempt` with `result: success` (the service's own
//!   authentication passed): a failure, and every other event type (a payee,
//!   a link, a withdrawal), is learned exactly as without the mark;
//! - only what the engine would have *challenged*, and only when every
//!   enforced challenge came from a rule marked `learn_when_observed` (one
//!   that steps up a client merely unfamiliar to the account) and no hold
//!   is in force: a login a spray, stuffing-wave or failure rule challenged
//!   teaches nothing, so a sprayer whose guess is right is never learned as
//!   the account's client, during the observation or after it;
//! - never what the engine refuses: a login it refuses
//!   (deny, review, freeze, halt, or a hold in force) teaches nothing, as
//!   live, so the mark never makes a refused client familiar;
//! - with the weight of an allowed login (1), never of a strong step-up:
//!   `strong_stepups_per_account_90d` and every other step-up feature count
//!   only real `mfa.result` events;
//! - the decision itself is never changed: the mark moves learning only, so
//!   a service that enforces while marking gets the same answers.
//!
//! The mark is the service's word (an API key's), never an attacker's: the
//! service builds its events. It is in the event, so the log and a replay
//! learn the same.

use sekimori_event::{Body, Event, Outcome};
use sekimori_rules::Action;

/// The `attrs` key a service sets (to `true`) on a login its own
/// authentication admitted while sekimori only observed, or in a history
/// import.
pub const OBSERVED_ATTR: &str = "sekimori_observed";

/// Whether the event is a successful login the service marked observed.
pub(crate) fn observed_success(event: &Event) -> bool {
    matches!(&event.body, Body::LoginAttempt(b) if b.result == Outcome::Success)
        && event.attrs.get(OBSERVED_ATTR) == Some(&serde_json::Value::Bool(true))
}

/// The action the engine learns from after deciding `action`: the same,
/// except that an observed successful login it would have challenged is
/// learned as admitted when the challenge `teaches` (every enforced
/// challenge rule is `learn_when_observed` and no hold is in force; see the
/// module docs).
pub(crate) fn learn_as(event: &Event, action: Action, teaches: bool) -> Action {
    if action == Action::Challenge && teaches && observed_success(event) {
        Action::Allow
    } else {
        action
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn login(result: &str, attrs: serde_json::Value) -> Event {
        sekimori_event::decode_value(serde_json::json!({
            "id": "e1", "type": "login.attempt", "at": "2026-01-01T00:00:00Z",
            "service": "bank", "account": "a", "factor": "password",
            "result": result, "attrs": attrs}))
        .expect("decodes")
    }

    #[test]
    fn only_a_marked_success_the_engine_would_challenge_is_learned_as_admitted() {
        let marked = serde_json::json!({"sekimori_observed": true});
        let ok = login("success", marked.clone());
        assert_eq!(learn_as(&ok, Action::Challenge, true), Action::Allow);
        // An attack rule's challenge (or a hold) never teaches.
        assert_eq!(learn_as(&ok, Action::Challenge, false), Action::Challenge);
        // Refusals stay refusals; an allow stays an allow.
        for a in [
            Action::Allow,
            Action::Review,
            Action::Deny,
            Action::Freeze,
            Action::Halt,
        ] {
            assert_eq!(learn_as(&ok, a, true), a);
        }
        // A failure, an unmarked success, a mark that is not `true`.
        let failed = login("failure", marked);
        assert_eq!(
            learn_as(&failed, Action::Challenge, true),
            Action::Challenge
        );
        let plain = login("success", serde_json::json!({}));
        assert_eq!(learn_as(&plain, Action::Challenge, true), Action::Challenge);
        let text = login("success", serde_json::json!({"sekimori_observed": "true"}));
        assert_eq!(learn_as(&text, Action::Challenge, true), Action::Challenge);
    }
}
