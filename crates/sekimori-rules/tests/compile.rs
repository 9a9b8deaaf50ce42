//! Invalid packs are rejected with the part and the problem named.

use sekimori_rules::{compile, load_pack, PackSource};
use serde_json::{json, Value};

fn base() -> Value {
    json!({
        "pack": {"name": "t", "version": "1"},
        "features": [{"name": "fails_15m", "on": ["login.attempt"], "filter": "event.result == 'failure'",
                      "key": ["event.account"], "aggregate": "count", "window": "15m"}],
        "lists": [{"name": "vip", "items": ["a"]}],
        "rules": [{"name": "guess", "on": ["login.attempt"], "when": "features.fails_15m >= 10",
                   "action": "challenge", "methods": ["totp"], "reason": "r"}]
    })
}

fn check(edit: impl FnOnce(&mut Value), location: &str, problem: &str) {
    let mut v = base();
    edit(&mut v);
    let src: PackSource = serde_json::from_value(v).expect("shape");
    let Err(errs) = compile(src) else {
        panic!("must be rejected: {location} {problem}")
    };
    assert!(
        errs.iter()
            .any(|e| e.location == location && e.problem.contains(problem)),
        "wanted {location}: …{problem}…, got {errs:#?}"
    );
}

#[test]
fn the_base_pack_compiles() {
    let src: PackSource = serde_json::from_value(base()).expect("shape");
    let pack = compile(src).expect("valid");
    assert_eq!(
        pack.plan(sekimori_event::EventKind::LoginAttempt).rules,
        vec![0]
    );
    assert!(pack
        .plan(sekimori_event::EventKind::Transfer)
        .rules
        .is_empty());
}

#[test]
fn rejections_name_the_part_and_the_problem() {
    check(
        |v| v["rules"][0]["when"] = json!("features.nope > 1"),
        "rule `guess`",
        "unknown feature `nope`",
    );
    check(
        |v| v["rules"][0]["when"] = json!("features.fails_15m >"),
        "rule `guess`",
        "does not parse",
    );
    check(
        |v| v["rules"][0]["when"] = json!("event.amount_minor > 5"),
        "rule `guess`",
        "unknown field `event.amount_minor`",
    );
    check(
        |v| v["rules"][0]["when"] = json!("event.actor.shoe > 5"),
        "rule `guess`",
        "unknown field `event.actor.shoe`",
    );
    check(
        |v| v["rules"][0]["when"] = json!("wallet.x == 1"),
        "rule `guess`",
        "unknown variable `wallet`",
    );
    check(
        |v| v["rules"][0]["when"] = json!("event.account in lists.nope"),
        "rule `guess`",
        "unknown list `nope`",
    );
    check(
        |v| v["rules"][0]["when"] = json!("1 + ".repeat(1100) + "1"),
        "rule `guess`",
        "longer than 4096 bytes",
    );
    check(
        |v| v["rules"][0]["when"] = json!(vec!["event.account == 'x'"; 150].join(" || ")),
        "rule `guess`",
        "more than 512 nodes",
    );
    check(
        |v| v["rules"][0]["on"] = json!(["login.teleport"]),
        "rule `guess`",
        "unknown event type `login.teleport`",
    );
    check(
        |v| v["rules"][0]["methods"] = json!([]),
        "rule `guess`",
        "must list its `methods`",
    );
    check(
        |v| v["rules"][0]["action"] = json!("halt"),
        "rule `guess`",
        "`methods` is only for challenge",
    );
    check(
        |v| v["rules"][0]["name"] = json!("Bad Name"),
        "rule `Bad Name`",
        "name must match",
    );
    check(
        |v| v["rules"][0]["score"] = json!(5000),
        "rule `guess`",
        "score must be 0 to 1000",
    );
    check(
        |v| v["features"][0]["window"] = json!("91d"),
        "feature `fails_15m`",
        "between 1s and 90d",
    );
    check(
        |v| v["features"][0]["window"] = json!("15 minutes"),
        "feature `fails_15m`",
        "unknown unit",
    );
    check(
        |v| v["features"][0]["aggregate"] = json!("sum"),
        "feature `fails_15m`",
        "needs `of`",
    );
    check(
        |v| v["features"][0]["filter"] = json!("features.fails_15m > 1"),
        "feature `fails_15m`",
        "features may not read features",
    );
    check(
        |v| v["features"][0]["key"] = json!([]),
        "feature `fails_15m`",
        "1 to 4 parts",
    );
    check(
        |v| v["settings"] = json!({"fallback": {"login.attempt": "halt"}}),
        "settings",
        "fallback for `login.attempt`",
    );
    check(
        |v| v["pack"]["version"] = json!("has space"),
        "pack",
        "version must be",
    );
    check(
        |v| v["tests"] = json!([{"name": "x", "events": [{}], "expect": {"fired": ["ghost"]}}]),
        "test `x`",
        "unknown rule `ghost`",
    );
}

#[test]
fn brackets_inside_strings_do_not_count_as_nesting() {
    let mut v = base();
    v["rules"][0]["when"] = json!(format!("event.account != '{}' && ((true))", "(".repeat(60)));
    compile(serde_json::from_value(v).expect("shape")).expect("valid");
}

#[test]
fn every_problem_is_reported_at_once() {
    let mut v = base();
    v["rules"][0]["when"] = json!("features.nope > 1");
    v["features"][0]["window"] = json!("91d");
    let Err(errs) = compile(serde_json::from_value(v).expect("shape")) else {
        panic!("rejected")
    };
    assert!(errs.len() >= 2, "{errs:#?}");
}

#[test]
fn yaml_errors_name_file_and_line() {
    let dir = tempfile_dir();
    std::fs::write(
        dir.join("pack.yaml"),
        "pack:\n  name: t\n  version: 1\nrules:\n  - name: [unclosed\n",
    )
    .expect("write");
    let err = load_pack(&dir).expect_err("bad yaml").to_string();
    assert!(err.contains("pack.yaml") && err.contains("line"), "{err}");
    std::fs::remove_dir_all(&dir).ok();
}

fn tempfile_dir() -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("sekimori-rules-test-{}", std::process::id()));
    std::fs::create_dir_all(&d).expect("mkdir");
    d
}

/// The deepest expressions the compiler accepts compile and evaluate on a
/// 2 MiB stack, even in a debug build (parser and interpreter both recurse).
#[test]
fn the_deepest_accepted_expressions_evaluate_on_a_small_stack() {
    type Shape = (&'static str, fn(usize) -> String);
    let shapes: [Shape; 3] = [
        ("||", |n| vec!["false"; n].join(" || ") + " || true"),
        ("+", |n| format!("{} == {n}", vec!["1"; n].join(" + "))),
        ("()", |n| format!("{}true{}", "(".repeat(n), ")".repeat(n))),
    ];
    for (name, make) in shapes {
        let result = std::thread::Builder::new()
            .stack_size(2 * 1024 * 1024)
            .spawn(move || {
                let deepest = (1..200)
                    .take_while(|&n| sekimori_rules::Expr::compile(&make(n)).is_ok())
                    .last();
                let deepest = deepest.expect("some depth fits");
                let (e, _) = sekimori_rules::Expr::compile(&make(deepest)).expect("compiles");
                let (ev, f) = (json!({}), json!({}));
                let lists = sekimori_rules::ListValues::new(std::iter::empty());
                (
                    deepest,
                    e.eval_bool(&sekimori_rules::Vars::new(&ev, &f, &lists)),
                )
            })
            .expect("thread")
            .join()
            .expect("no stack overflow");
        assert!(result.0 >= 8, "{name}: only {} levels accepted", result.0);
        assert_eq!(result.1, Ok(true), "{name} at {} levels", result.0);
    }
}

#[test]
fn order_dependent_comprehensions_are_refused() {
    for when in [
        "size(event.attrs.map(k, k)) > 0",
        "event.attrs.filter(k, k == 'a').size() > 0",
    ] {
        check(
            |v| v["rules"][0]["when"] = json!(when),
            "rule `guess`",
            "no fixed order",
        );
    }
    for ok in [
        "event.attrs.exists(k, k == 'a')",
        "[1, 2, 3].map(x, x * 2)[0] == 2",
        "event.attrs.all(k, k != 'b')",
    ] {
        let mut v = base();
        v["rules"][0]["when"] = json!(ok);
        compile(serde_json::from_value(v).expect("shape"))
            .unwrap_or_else(|e| panic!("{ok}: {e:?}"));
    }
}

#[test]
fn every_reference_is_checked_statically() {
    let cases = [
        ("size(features) > 0", "read `features` by name"),
        ("features['fa' + 'ils_15m'] > 0", "read `features` by name"),
        (
            "[features].exists(f, f.fails_15m > 0)",
            "read `features` by name",
        ),
        ("size(lists) > 0", "read `lists` by name"),
        (
            "event.account.owner == 'x'",
            "`event.account` has no fields",
        ),
        ("event.actor.ipp == 'x'", "unknown field `event.actor.ipp`"),
    ];
    for (when, problem) in cases {
        check(
            |v| v["rules"][0]["when"] = json!(when),
            "rule `guess`",
            problem,
        );
    }
    check(
        |v| {
            v["rules"][0]["on"] = json!(["transfer"]);
            v["rules"][0]["when"] = json!("event.destination.bank_cod == '0001'");
        },
        "rule `guess`",
        "unknown field `event.destination.bank_cod`",
    );
    let mut ok = base();
    ok["rules"][0]["on"] = json!(["transfer", "link.bank"]);
    ok["rules"][0]["when"] = json!("event.destination.bank_code == '0001' || event.bank.holder_name == 'x' || event.attrs.any.depth == 1 || features['fails_15m'] > 0");
    compile(serde_json::from_value(ok).expect("shape")).unwrap_or_else(|e| panic!("{e:?}"));
}

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

/// `aggregate: amounts` and `hours` are entity profiles: no time window (their
/// counts halve), an amount to learn for `amounts` and none for `hours`.
#[test]
fn profiles_are_checked() {
    let feature = |agg: &str, window: &str, of: Option<&str>| {
        let mut f = json!({"name": "p", "on": ["transfer"], "key": ["event.account"],
                           "aggregate": agg, "window": window});
        if let Some(of) = of {
            f["of"] = json!(of);
        }
        f
    };
    let push =
        |f: Value| move |v: &mut Value| v["features"].as_array_mut().expect("features").push(f);
    check(
        push(feature("amounts", "30d", Some("event.amount_minor"))),
        "feature `p`",
        "window must be `ever`",
    );
    check(
        push(feature("amounts", "ever", None)),
        "feature `p`",
        "needs `of`",
    );
    check(
        push(feature("hours", "ever", Some("event.amount_minor"))),
        "feature `p`",
        "`of` is only for",
    );
    let mut v = base();
    v["features"]
        .as_array_mut()
        .expect("features")
        .push(feature("amounts", "ever", Some("event.amount_minor")));
    v["features"].as_array_mut().expect("features").push(
        json!({"name": "h", "on": ["transfer"], "key": ["event.account"],
                     "aggregate": "hours", "window": "ever", "counts": "allowed"}),
    );
    let pack = compile(serde_json::from_value(v).expect("shape")).expect("valid");
    assert_eq!(
        pack.features[1].profile,
        Some(sekimori_rules::ProfileKind::Amounts)
    );
    assert_eq!(
        pack.features[2].profile,
        Some(sekimori_rules::ProfileKind::Hours)
    );
    assert_eq!(pack.features[0].profile, None);
}

/// Named conditions: written once, read by rules and feature filters as
/// `conditions.name`, exactly the expression they stand for.
#[test]
fn named_conditions_expand_where_they_are_read() {
    let mut v = base();
    v["conditions"] =
        json!({"failing": "event.result == 'failure'", "many": "features.fails_15m >= 10"});
    v["features"][0]["filter"] = json!("conditions.failing");
    v["rules"][0]["when"] = json!("conditions.many && conditions.failing");
    let src: PackSource = serde_json::from_value(v.clone()).expect("shape");
    let with = compile(src).expect("valid");
    // The same pack written out in full keeps the feature's state apart
    // only by the parentheses of the expansion: the spec has the expanded
    // text, so a changed condition starts the feature afresh.
    let mut changed = v.clone();
    changed["conditions"]["failing"] = json!("event.result == 'success'");
    let other = compile(serde_json::from_value(changed).expect("shape")).expect("valid");
    assert_ne!(with.features[0].spec_digest, other.features[0].spec_digest);
    // A rule change in a condition does not touch a feature that does not read it.
    let mut rule_only = v.clone();
    rule_only["conditions"]["many"] = json!("features.fails_15m >= 11");
    let third = compile(serde_json::from_value(rule_only).expect("shape")).expect("valid");
    assert_eq!(with.features[0].spec_digest, third.features[0].spec_digest);
    check(
        |v| v["rules"][0]["when"] = json!("conditions.nope"),
        "rule `guess`",
        "reads unknown condition `nope`",
    );
    check(
        |v| {
            v["conditions"] = json!({"a": "true", "b": "conditions.a"});
        },
        "condition `b`",
        "may not read another condition",
    );
    check(
        |v| {
            v["conditions"] = json!({"a": "event.nope_field == 1"});
            v["rules"][0]["when"] = json!("conditions.a");
        },
        "rule `guess`",
        "nope_field",
    );
}
