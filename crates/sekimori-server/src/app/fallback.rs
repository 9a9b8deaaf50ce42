//! The answer past the time budget: the pack's fallback for the type.

use super::Answer;
use sekimori_engine::{Decision, PackRef, Reason};
use sekimori_event::{format_rfc3339_ms, EventKind};
use sekimori_rules::{Action, Pack};

/// The answer when the time budget ran out: the pack's fallback for the
/// type of the event `id` of `kind` at `at_ms`.
pub(super) fn fallback(
    pack: &Pack,
    budget_ms: u64,
    id: String,
    kind: EventKind,
    at_ms: i64,
) -> Answer {
    let mut action = pack.settings.fallback_for(kind);
    let mut methods = Vec::new();
    if action == Action::Challenge {
        // The methods the pack's own rules step this type up with; a pack
        // that has none for the type (only possible through `default`)
        // holds the event for review instead.
        methods = sekimori_rules::fallback_methods(&pack.rules, kind);
        if methods.is_empty() {
            action = Action::Review;
        }
    }
    let reason = Reason {
        rule: "budget.fallback".into(),
        action: action.into(),
        score: 0,
        reason: format!(
            "no decision within the {} ms budget; the pack's fallback for {} applies",
            budget_ms, kind
        ),
        shadow: false,
        methods: methods.clone(),
        hold: None,
    };
    let decision = Decision {
        event_id: id,
        event_type: kind.as_str().into(),
        at: format_rfc3339_ms(at_ms),
        action,
        methods,
        score: 0,
        reasons: vec![reason],
        features: Default::default(),
        pack: PackRef {
            name: pack.name().into(),
            version: pack.version().into(),
        },
        late: false,
        errors: Vec::new(),
    };
    Answer {
        decision,
        duplicate: false,
        durable: false,
        degraded: Some("time_budget_exceeded"),
    }
}

#[cfg(test)]
mod tests {
    use super::fallback;
    use sekimori_rules::{compile, Action};
    use serde_json::json;

    #[test]
    fn past_the_budget_each_type_gets_the_packs_fallback() {
        let pack = compile(crate::embedded::default_pack().expect("pack")).expect("compiles");
        let cases = [
            (
                json!({"type": "login.attempt", "account": "a", "factor": "passkey", "result": "success"}),
                Action::Challenge,
            ),
            (
                json!({"type": "mfa.result", "account": "a", "method": "totp", "challenge_id": "c",
                    "result": "success"}),
                Action::Review,
            ),
            (
                json!({"type": "wallet.outflow", "wallet": "w", "stage": "signing", "amount_minor": 1,
                    "currency": "XEM", "address": "N1"}),
                Action::Deny,
            ),
            (
                json!({"type": "transfer", "account": "a", "amount_minor": 1, "currency": "JPY",
                    "destination": {"kind": "account", "account": "b"}}),
                Action::Review,
            ),
        ];
        for (mut body, want) in cases {
            body["id"] = json!("x");
            body["at"] = json!("2026-01-01T00:00:00Z");
            body["service"] = json!("s");
            let event = sekimori_event::decode_value(body).expect("valid");
            let answer = fallback(
                &pack,
                pack.settings.time_budget_ms,
                event.id.clone(),
                event.kind,
                event.at_ms,
            );
            assert_eq!(answer.decision.action, want, "{}", event.kind);
            assert_eq!(
                (answer.durable, answer.degraded),
                (false, Some("time_budget_exceeded"))
            );
            assert_eq!(answer.decision.reasons[0].rule, "budget.fallback");
            // A challenge offers the methods the pack's own rules step the type up with.
            assert_eq!(
                answer.decision.methods.is_empty(),
                want != Action::Challenge,
                "{}",
                event.kind
            );
        }
    }
}
