//! Entity profiles (`aggregate: amounts | hours`) and named conditions.

mod common;

use common::{base, check};
use sekimori_rules::{compile, PackSource};
use serde_json::{json, Value};

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
