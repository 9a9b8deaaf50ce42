//! Params in rules: amounts per currency (listed, converted by rate, and the
//! unknown-currency fallback), durations, and the errors a bad use gets.

use sekimori_rules::{compile, ListValues, Pack, PackSource, Vars};
use serde_json::{json, Value as Json};

fn source(when: &str) -> Json {
    json!({
        "pack": {"name": "t", "version": "1"},
        "money": {"reference": "JPY", "rates": {"USD": "150", "GBP": "190.5", "KRW": "0.108"}},
        "params": {
            "large": {"amount": {"JPY": "200000", "EUR": "1400", "BTC": "0.01"}},
            "young": {"duration": "48h"},
            "share": {"ratio": "15%"},
            "senders": {"count": 5}
        },
        "rules": [{"name": "r", "on": ["transfer"], "when": when, "action": "review", "reason": "r"}]
    })
}

fn pack(when: &str) -> Result<Pack, Vec<String>> {
    let src: PackSource = serde_json::from_value(source(when)).expect("source");
    compile(src).map_err(|e| e.iter().map(ToString::to_string).collect())
}

/// The rule's answer for one transfer, checked against the interpreter.
fn fires(pack: &Pack, amount: i64, currency: &str) -> bool {
    let event = json!({"type": "transfer", "amount_minor": amount, "currency": currency,
                       "at_ms": 1_000});
    let (features, lists) = (json!({}), ListValues::new(std::iter::empty()));
    let vars = Vars::new(&event, &features, &lists);
    let when = &pack.rules[0].when;
    let fast = when.eval_bool(&vars).expect("evaluates");
    assert_eq!(
        when.eval_interpreted(&vars),
        Ok(Json::Bool(fast)),
        "fast and interpreted differ"
    );
    fast
}

#[test]
fn amount_at_least_in_listed_converted_and_unknown_currencies() {
    let p = pack("amount_at_least(event.amount_minor, event.currency, params.large)").expect("ok");
    assert!(p.rules[0].when.is_fast(), "compiled for the fast evaluator");
    // Listed.
    assert!(fires(&p, 200_000, "JPY"));
    assert!(!fires(&p, 199_999, "JPY"));
    assert!(fires(&p, 140_000, "EUR"));
    assert!(!fires(&p, 139_999, "EUR"));
    assert!(fires(&p, 1_000_000, "BTC"));
    assert!(!fires(&p, 999_999, "BTC"));
    // By rate, rounded down: 200,000 / 150 = 1,333.33 USD -> 133,333 cents.
    assert!(fires(&p, 133_333, "USD"));
    assert!(!fires(&p, 133_332, "USD"));
    // 200,000 / 190.5 = 1,049.86... GBP -> 104,986 pence.
    assert!(fires(&p, 104_986, "GBP"));
    assert!(!fires(&p, 104_985, "GBP"));
    assert!(fires(&p, 1_851_851, "KRW"));
    assert!(!fires(&p, 1_851_850, "KRW"));
    // Neither listed nor rated: past every threshold (fail safe).
    assert!(fires(&p, 1, "CHF"));
    assert!(fires(&p, 1, "DOGE"));
}

#[test]
fn over_under_and_priced() {
    let over = pack("amount_over(event.amount_minor, event.currency, params.large)").expect("ok");
    assert!(!fires(&over, 200_000, "JPY"));
    assert!(fires(&over, 200_001, "JPY"));
    assert!(fires(&over, 1, "CHF"));
    let under = pack("amount_under(event.amount_minor, event.currency, params.large)").expect("ok");
    assert!(fires(&under, 199_999, "JPY"));
    assert!(!fires(&under, 200_000, "JPY"));
    assert!(
        !fires(&under, 1, "CHF"),
        "an unpriced amount is never under"
    );
    let priced = pack("amount_priced(event.currency, params.large)").expect("ok");
    assert!(fires(&priced, 1, "USD"));
    assert!(!fires(&priced, 1, "CHF"));
}

#[test]
fn scalar_params_are_integers() {
    let p = pack(
        "event.at_ms < params.young && params.share == 1500 && params.senders == 5 \
         && amount_at_least(event.amount_minor, event.currency, params.large)",
    )
    .expect("ok");
    assert!(p.rules[0].when.is_fast());
    assert!(fires(&p, 200_000, "JPY"));
    assert!(!fires(&p, 100, "JPY"));
}

#[test]
fn misuse_is_a_compile_error() {
    let cases = [
        ("params.nope > 1", "reads unknown param `nope`"),
        (
            "event.amount_minor > params.large",
            "an amount per currency, outside a money function",
        ),
        ("params.large['JPY'] > 1", "outside a money function"),
        (
            "amount_at_least(event.amount_minor, params.large)",
            "calls `amount_at_least` wrongly",
        ),
        (
            "amount_at_least(event.amount_minor, event.currency, 5)",
            "must be an amount param",
        ),
        (
            "amount_over(event.amount_minor, event.currency, params.young)",
            "is not an amount",
        ),
        ("params['young'] > 1", "read a param as `params.name`"),
    ];
    for (when, want) in cases {
        let errors = pack(when)
            .err()
            .unwrap_or_else(|| panic!("{when} compiled"));
        assert!(
            errors
                .iter()
                .any(|e| e.starts_with("rule `r`: when") && e.contains(want)),
            "{when}: {errors:?}"
        );
    }
}

#[test]
fn feature_keys_and_values_may_not_read_params() {
    for (field, expr) in [
        ("key", json!(["params.senders"])),
        ("of", json!("params.senders")),
    ] {
        let mut src = source("true");
        src["features"] = json!([{"name": "f", "on": ["transfer"], "key": ["event.account"],
            "aggregate": "sum", "of": "event.amount_minor", "window": "1h"}]);
        src["features"][0][field] = expr;
        let errors = compile(serde_json::from_value(src).expect("ok")).expect_err("an error");
        assert!(
            errors[0].to_string().contains("only rules may"),
            "{field}: {errors:?}"
        );
    }
}

/// A filter may read params (a band under a money threshold); the values
/// it reads are part of the feature's spec, so a changed value starts the
/// feature afresh, and a feature whose filter reads none keeps its spec.
#[test]
fn a_feature_filter_may_read_params_and_its_values_shape_the_spec() {
    let digest = |senders: i64, filter: &str| {
        let mut src = source("true");
        src["params"]["senders"]["count"] = json!(senders);
        src["features"] = json!([{"name": "f", "on": ["transfer"], "key": ["event.account"],
            "filter": filter, "aggregate": "count", "window": "1h"}]);
        let pack = compile(serde_json::from_value(src).expect("ok")).expect("compiles");
        pack.features[0].spec_digest
    };
    let reads = "amount_at_least(event.amount_minor, event.currency, params.large) \
                 && event.amount_minor > params.senders";
    assert_ne!(
        digest(5, reads),
        digest(6, reads),
        "a changed param starts it afresh"
    );
    assert_eq!(digest(5, reads), digest(5, reads));
    let plain = "event.amount_minor > 5";
    assert_eq!(
        digest(5, plain),
        digest(6, plain),
        "a filter without params keeps its spec"
    );
}

#[test]
fn bad_amounts_name_the_param_and_currency() {
    let mut src = source("true");
    src["params"]["large"]["amount"]["JPY"] = json!("1.234");
    let errors = compile(serde_json::from_value(src).expect("ok")).expect_err("an error");
    assert_eq!(
        errors[0].to_string(),
        "param `large`: JPY: `1.234` has 3 decimals, but JPY has 0 (its minor unit is 1/1)"
    );
}

#[test]
fn a_pack_without_params_serializes_as_before() {
    let src: PackSource =
        serde_json::from_value(json!({"pack": {"name": "t", "version": "1"}})).expect("ok");
    let text = serde_json::to_string(&src).expect("ok");
    assert!(
        !text.contains("money") && !text.contains("params"),
        "{text}"
    );
}

#[test]
fn loading_names_the_file_of_a_bad_param() {
    let files = [
        (
            "pack.yaml",
            "pack: {name: t, version: '1'}\nmoney: {reference: JPY}\n",
        ),
        (
            "payments.yaml",
            "params:\n  large: {amount: {JPY: \"1.5\", USD: \"10\"}}\n  window: {duration: 2w}\n",
        ),
    ];
    let err = sekimori_rules::load_embedded(&files)
        .expect_err("a bad amount")
        .to_string();
    assert!(
        err.contains("payments.yaml: param `large`: JPY: `1.5` has 1 decimals, but JPY has 0"),
        "{err}"
    );
    assert!(err.contains("payments.yaml: param `window`: `2w`"), "{err}");
}

#[test]
fn a_param_declared_in_two_files_names_both() {
    let files = [
        (
            "a.yaml",
            "pack: {name: t, version: '1'}\nparams:\n  n: {count: 1}\n",
        ),
        ("b.yaml", "params:\n  n: {count: 2}\n"),
    ];
    let err = sekimori_rules::load_embedded(&files)
        .expect_err("declared twice")
        .to_string();
    assert_eq!(err, "b.yaml: param `n` is declared in a.yaml already");
}

#[test]
fn a_param_has_exactly_one_type() {
    let files = [(
        "a.yaml",
        "pack: {name: t, version: '1'}\nparams:\n  n: {count: 1, duration: 1h}\n",
    )];
    let err = sekimori_rules::load_embedded(&files)
        .expect_err("two types")
        .to_string();
    assert!(err.contains("a param is one of"), "{err}");
    let files = [(
        "a.yaml",
        "pack: {name: t, version: '1'}\nparams:\n  n: {weight: 1}\n",
    )];
    assert!(sekimori_rules::load_embedded(&files).is_err());
}
