//! Expressions at compile time: the deepest accepted ones evaluate on a
//! small stack, order-dependent comprehensions are refused, and every
//! reference (fields, features, lists) is checked statically.

mod common;

use common::{base, check};
use sekimori_rules::compile;
use serde_json::json;

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
