//! Money guards, flag rules and fallbacks: an enforced allow never stands
//! beside a guard, a guard holds something, a flag only flags, and a
//! degraded answer fails closed.

mod common;

use common::{base, check};
use sekimori_rules::{compile, PackSource};
use serde_json::{json, Value};

/// A pack with a money guard on `wallet.outflow` and, beside it, the rule
/// given (the informational hot-share rule written as an allow, say).
fn guarded_pack(other: Value) -> Result<sekimori_rules::Pack, Vec<sekimori_rules::PackError>> {
    let v = json!({
        "pack": {"name": "t", "version": "1"},
        "rules": [
            {"name": "withdrawal_rejected_by_approver", "on": ["wallet.outflow"],
             "when": "event.amount_minor > 0", "action": "deny", "guard": true,
             "reason": "An approver rejected this withdrawal request."},
            other
        ]
    });
    compile(serde_json::from_value::<PackSource>(v).expect("shape"))
}

#[test]
fn an_enforced_allow_beside_a_money_guard_is_refused() {
    let allow = |on: Value, action: &str, shadow: bool| {
        json!({"name": "hot_share_above_5_percent", "on": on, "action": action, "shadow": shadow,
               "when": "event.amount_minor > 0", "reason": "Hot holdings above 5%."})
    };
    for on in [json!(["wallet.outflow"]), json!(["*"])] {
        let Err(errs) = guarded_pack(allow(on, "allow", false)) else {
            panic!("an allow on wallet.outflow beside a guard must be refused")
        };
        assert!(
            errs.iter()
                .any(|e| e.location == "rule `hot_share_above_5_percent`"
                    && e.problem.contains("`withdrawal_rejected_by_approver`")
                    && e.problem.contains("`wallet.outflow`")),
            "{errs:#?}"
        );
    }
    // Informing is what `flag` is for; a shadow allow never votes; an allow
    // on types no guard judges is the allow-list it is meant to be.
    guarded_pack(allow(json!(["wallet.outflow"]), "flag", false)).expect("flag compiles");
    guarded_pack(allow(json!(["wallet.outflow"]), "allow", true)).expect("shadow compiles");
    guarded_pack(allow(json!(["withdrawal.request"]), "allow", false))
        .expect("an allow elsewhere compiles");
}

#[test]
fn a_guard_must_hold_something() {
    for action in ["allow", "flag"] {
        let rule = json!({"name": "not_a_guard", "on": ["withdrawal.request"], "action": action,
                          "guard": true, "when": "true", "reason": "r"});
        let Err(errs) = guarded_pack(rule) else {
            panic!("a guard that {action}s must be refused")
        };
        assert!(
            errs.iter().any(|e| e.location == "rule `not_a_guard`"
                && e.problem
                    .contains("a guard must challenge, review, deny, freeze or halt")),
            "{errs:#?}"
        );
    }
}

#[test]
fn a_flag_rule_compiles_and_serializes_as_flag() {
    let pack = guarded_pack(
        json!({"name": "note", "on": ["wallet.outflow"], "action": "flag",
                                   "score": 5, "when": "true", "reason": "r"}),
    )
    .expect("compiles");
    assert_eq!(pack.rules[1].action, sekimori_rules::RuleAction::Flag);
    assert!(pack.rules[0].guard && !pack.rules[1].guard);
    let json = serde_json::to_value(&pack.source).expect("json");
    assert_eq!(json["rules"][1]["action"], "flag");
    assert_eq!(json["rules"][0]["guard"], true);
    assert!(json["rules"][1].get("guard").is_none());
}

/// Issue 12.1: a degraded answer is the safe side. A `challenge` fallback
/// offers the methods the pack's rules step the type up with; a type that
/// vouches for someone never falls back to `allow`.
#[test]
fn fallbacks_fail_closed_and_never_vouch() {
    use sekimori_event::{EventKind, MfaMethod};
    use sekimori_rules::{fallback_methods, Action};
    // A challenge fallback on a type some rule steps up compiles, with its methods.
    let mut v = base();
    v["settings"] = json!({"fallback": {"login.attempt": "challenge"}});
    let pack = compile(serde_json::from_value(v).expect("shape")).expect("valid");
    assert_eq!(
        pack.settings.fallback_for(EventKind::LoginAttempt),
        Action::Challenge
    );
    assert_eq!(
        fallback_methods(&pack.rules, EventKind::LoginAttempt),
        vec![MfaMethod::Totp]
    );
    // ...but not on a type no rule steps up.
    check(
        |v| v["settings"] = json!({"fallback": {"transfer": "challenge"}}),
        "settings",
        "no enforced rule on transfer offers a step-up method",
    );
    // An mfa.result or withdrawal.approval answered allow could release a
    // parked event or pass a quorum.
    for kind in ["mfa.result", "withdrawal.approval"] {
        check(
            |v| v["settings"] = json!({"fallback": {kind: "allow"}}),
            "settings",
            &format!("fallback for `{kind}` may not be allow"),
        );
    }
    // `default: allow` fails open elsewhere, never for them.
    let mut v = base();
    v["settings"] = json!({"fallback": {"default": "allow"}});
    let pack = compile(serde_json::from_value(v).expect("shape")).expect("valid");
    assert_eq!(
        pack.settings.fallback_for(EventKind::Purchase),
        Action::Allow
    );
    assert_eq!(
        pack.settings.fallback_for(EventKind::MfaResult),
        Action::Review
    );
    assert_eq!(
        pack.settings.fallback_for(EventKind::WithdrawalApproval),
        Action::Review
    );
}
