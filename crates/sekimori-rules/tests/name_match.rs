//! `name_match(a, b)` and `name_match_verdict(a, b)`: the holder-name matcher
//! of `sekimori-names`, as CEL functions for rules.

use sekimori_rules::{compile, Expr, ListValues, PackSource, Vars};
use serde_json::{json, Value};

/// Evaluates `source` over `event` (no features, no lists).
fn eval(source: &str, event: &Value) -> Result<Value, String> {
    let (expr, _) = Expr::compile(source)?;
    let (features, lists) = (json!({}), ListValues::new(std::iter::empty()));
    expr.eval(&Vars::new(event, &features, &lists))
}

fn score(a: &str, b: &str) -> i64 {
    let v = eval("name_match(event.a, event.b)", &json!({"a": a, "b": b})).expect("evaluates");
    v.as_i64().expect("an int")
}

fn verdict(a: &str, b: &str) -> String {
    let v = eval(
        "name_match_verdict(event.a, event.b)",
        &json!({"a": a, "b": b}),
    )
    .expect("evaluates");
    v.as_str().expect("a string").to_string()
}

#[test]
fn widths_scripts_and_romaji_match() {
    let same = [
        ("ﾔﾏﾀﾞ ﾀﾛｳ", "ヤマダ タロウ", 100, "equivalent"),
        ("やまだ たろう", "ヤマダ タロウ", 100, "equivalent"),
        ("ヤマダ タロウ", "ヤマダ タロウ", 100, "exact"),
        ("YAMADA TAROU", "ヤマダ タロウ", 100, "equivalent"),
        ("YAMADA TARO", "ﾔﾏﾀﾞ ﾀﾛｳ", 97, "equivalent"),
        ("タロウ ヤマダ", "ヤマダ タロウ", 95, "order_swapped"),
    ];
    for (a, b, s, v) in same {
        assert_eq!((score(a, b), verdict(a, b).as_str()), (s, v), "{a} / {b}");
        assert!(score(a, b) >= 90, "{a} / {b}");
    }
}

#[test]
fn look_alikes_and_other_names_do_not_match() {
    let s = score("ヤマダ タロウ", "ヤマダ ジロウ");
    assert!((50..90).contains(&s), "{s}");
    assert_eq!(verdict("ヤマダ タロウ", "ヤマダ ジロウ"), "similar");

    let s = score("ﾔﾏﾀﾞ ﾀﾛｳ", "スズキ ハナコ");
    assert!(s < 50, "{s}");
    assert_eq!(verdict("ﾔﾏﾀﾞ ﾀﾛｳ", "スズキ ハナコ"), "different");
    assert_eq!(verdict("SUZUKI HANAKO", "ヤマダ タロウ"), "different");
}

#[test]
fn an_empty_name_is_different() {
    assert_eq!(
        (score("", "ヤマダ"), verdict("", "ヤマダ").as_str()),
        (0, "different")
    );
    assert_eq!(
        (score(" ", " "), verdict(" ", " ").as_str()),
        (0, "different")
    );
}

#[test]
fn a_null_name_is_unknown() {
    for event in [
        json!({"a": null, "b": "ヤマダ"}),
        json!({"a": "ヤマダ", "b": null}),
        json!({"a": null, "b": null}),
    ] {
        assert_eq!(eval("name_match(event.a, event.b)", &event), Ok(json!(0)));
        assert_eq!(
            eval("name_match_verdict(event.a, event.b)", &event),
            Ok(json!("unknown"))
        );
    }
    assert_eq!(eval("name_match(null, 'ヤマダ')", &json!({})), Ok(json!(0)));
    assert_eq!(
        eval("name_match_verdict('ヤマダ', null)", &json!({})),
        Ok(json!("unknown"))
    );
}

#[test]
fn a_missing_field_is_an_evaluation_error_and_has_guards_it() {
    let event = json!({"a": "ヤマダ"});
    let err = eval("name_match(event.a, event.b) < 90", &event).expect_err("no key b");
    assert!(err.contains('b'), "{err}");
    assert_eq!(
        eval("has(event.b) && name_match(event.a, event.b) < 90", &event),
        Ok(json!(false))
    );
}

#[test]
fn a_value_of_another_type_is_an_evaluation_error() {
    let err = eval(
        "name_match(event.a, event.b)",
        &json!({"a": 1, "b": "ヤマダ"}),
    )
    .expect_err("an int is no name");
    assert!(
        err.contains("name_match") && err.contains("string") && err.contains("int"),
        "{err}"
    );
    let err = eval(
        "name_match_verdict(event.a, event.b)",
        &json!({"a": "ヤマダ", "b": ["ヤマダ"]}),
    )
    .expect_err("a list is no name");
    assert!(err.contains("name_match_verdict"), "{err}");
}

#[test]
fn an_overlong_name_scores_zero() {
    // `MAX_NAME_CHARS` is 100; the bound and the cost are tested in expr.rs.
    let long = "ア".repeat(101);
    assert_eq!(
        (score(&long, &long), verdict(&long, &long).as_str()),
        (0, "different")
    );
}

#[test]
fn calls_are_checked_when_compiled() {
    for bad in [
        "name_match('ヤマダ') > 0",
        "name_match('a', 'b', 'c') > 0",
        "'ヤマダ'.name_match('ヤマダ') > 0",
        "name_match(1, 'ヤマダ') > 0",
        "name_match_verdict('ヤマダ', ['ヤマダ']) == 'exact'",
        "name_match_verdict(true, 'ヤマダ') == 'exact'",
    ] {
        let err = Expr::compile(bad).expect_err(bad);
        assert!(err.contains("takes two names"), "{bad}: {err}");
    }
    for ok in [
        "name_match('a', null) == 0",
        "name_match(event.a, 'ヤマダ') >= 90",
        "name_match_verdict(event.a + ' ' + event.b, event.c) in ['exact', 'equivalent']",
    ] {
        Expr::compile(ok).unwrap_or_else(|e| panic!("{ok}: {e}"));
    }
}

#[test]
fn arguments_are_references_like_any_other() {
    let (_, refs) = Expr::compile("name_match(event.bank.holder_name, event.attrs.kyc_name) < 90")
        .expect("compiles");
    let paths: Vec<Vec<&str>> = refs
        .event_paths
        .iter()
        .map(|p| p.iter().map(String::as_str).collect())
        .collect();
    assert_eq!(
        paths,
        vec![vec!["attrs", "kyc_name"], vec!["bank", "holder_name"]]
    );
    let err = Expr::compile("name_match(wallet.name, 'x') < 90").expect_err("unknown root");
    assert!(err.contains("unknown variable `wallet`"), "{err}");
}

#[test]
fn a_misspelled_function_is_never_silently_true() {
    // The checker does not know the function names; the interpreter reports
    // an unknown one, so the rule reports an error and does not fire.
    let event = json!({"a": "ヤマダ", "b": "ヤマダ"});
    if let Ok((expr, _)) = Expr::compile("name_mach(event.a, event.b) < 90") {
        let (features, lists) = (json!({}), ListValues::new(std::iter::empty()));
        let err = expr
            .eval_bool(&Vars::new(&event, &features, &lists))
            .expect_err("unknown function");
        assert!(err.contains("name_mach"), "{err}");
    }
}

#[test]
fn a_plain_field_path_still_reads_the_event_directly() {
    // The fast path gives null for a missing field; the interpreter would fail.
    assert_eq!(eval("event.bank.holder_name", &json!({})), Ok(Value::Null));
    assert_eq!(
        eval(
            "event.bank.holder_name",
            &json!({"bank": {"holder_name": "ﾔﾏﾀﾞ ﾀﾛｳ"}})
        ),
        Ok(json!("ﾔﾏﾀﾞ ﾀﾛｳ"))
    );
}

#[test]
fn a_pack_rule_reviews_a_bank_account_in_another_name() {
    let src: PackSource = serde_json::from_value(json!({
        "pack": {"name": "t", "version": "1"},
        "rules": [
            {"name": "bank_holder_differs", "on": ["link.bank"],
             "when": "has(event.bank.holder_name) && has(event.attrs.kyc_name) \
                      && name_match(event.bank.holder_name, event.attrs.kyc_name) < 90",
             "action": "review", "reason": "The bank account is in another name."},
            {"name": "bank_holder_look_alike", "on": ["link.bank"],
             "when": "has(event.bank.holder_name) && has(event.attrs.kyc_name) \
                      && name_match_verdict(event.bank.holder_name, event.attrs.kyc_name) == 'similar'",
             "action": "deny", "reason": "The bank account is in a look-alike name."}
        ]
    }))
    .expect("shape");
    let pack = compile(src).unwrap_or_else(|e| panic!("{e:#?}"));
    let fires = |holder: Option<&str>, kyc: &str| -> Vec<bool> {
        let mut bank = json!({"bank_code": "0005", "branch": "123", "number": "4567890"});
        if let Some(h) = holder {
            bank["holder_name"] = json!(h);
        }
        let event = json!({
            "type": "link.bank", "account": "w-1", "bank": bank, "verified": [],
            "actor": {}, "attrs": {"kyc_name": kyc},
        });
        let features = json!({});
        let vars = Vars::new(&event, &features, &pack.list_values);
        pack.rules
            .iter()
            .map(|r| r.when.eval_bool(&vars).expect("evaluates"))
            .collect()
    };
    assert_eq!(fires(Some("ﾔﾏﾀﾞ ﾀﾛｳ"), "ヤマダ タロウ"), [false, false]);
    assert_eq!(fires(Some("ﾔﾏﾀﾞ ﾀﾛｳ"), "Yamada Taro"), [false, false]);
    assert_eq!(fires(Some("ﾔﾏﾀﾞ ｼﾞﾛｳ"), "ヤマダ タロウ"), [true, true]);
    assert_eq!(fires(Some("ｽｽﾞｷ ﾊﾅｺ"), "ヤマダ タロウ"), [true, false]);
    assert_eq!(fires(None, "ヤマダ タロウ"), [false, false]);
}

#[test]
fn a_pack_with_a_bad_name_call_is_refused() {
    let src: PackSource = serde_json::from_value(json!({
        "pack": {"name": "t", "version": "1"},
        "rules": [{"name": "r", "on": ["link.bank"],
                   "when": "name_match(event.bank.holder_name) < 90",
                   "action": "review", "reason": "r"}]
    }))
    .expect("shape");
    let errs = compile(src).expect_err("refused");
    assert!(
        errs.iter()
            .any(|e| e.location == "rule `r`" && e.problem.contains("takes two names")),
        "{errs:#?}"
    );
}
