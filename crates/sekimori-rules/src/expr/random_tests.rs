//! The compiled condition programs against the interpreter on RANDOM
//! condition trees, not only the default pack's rules (attacker's review,
//! "Tests"): trees of `&&`, `||`, `!`, `?:`, `has()`, comparisons, `in` and
//! integer arithmetic over leaves that are `true`, `false`, a missing field,
//! `null`, integers at the edges (0, -1, `i64::MIN`, `i64::MAX`, sums that
//! overflow), strings, feature reads and lists, written as CEL text and
//! compiled as the pack compiles them (`Expr::compile`, features bound to
//! the default pack's slots, subexpressions shared across the case's
//! expressions, with a subtree repeated so the per-event cache answers).
//!
//! On generated events and feature values: whenever the compiled form
//! answers (a boolean program's `true`/`false`, or the value tree's value)
//! the interpreter answers exactly the same, so where the interpreter
//! errors the compiled form never answers (the interpreter applies CEL's
//! absorption itself: `error && false` is `false`). Release builds run no
//! cross-check, so this test is the guard for shapes the default pack does
//! not have.
//!
//! It found one real difference (`x && true` and `x || false` were folded
//! to `x` when `x` is not a boolean; fixed in `optimize.rs`'s `junction`,
//! kept as [`folding_keeps_a_non_boolean_operand_an_error`]). It was seen
//! to fail when `Bool::All` treats an unanswered operand as `true`.

use super::program_tests::{default_pack, interpreted_bool};
use super::*;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use serde_json::json;
use std::cell::Cell;

/// How many random cases (each several expressions, evaluated twice).
const CASES: u32 = 3000;

/// The leaves, with `F0`..`F2` standing for three of the default pack's
/// feature names.
const LEAVES: &[&str] = &[
    "true",
    "false",
    "null",
    "0",
    "-1",
    "9223372036854775807",
    "(-9223372036854775807 - 1)",
    "(9223372036854775807 + 1)",
    "'a'",
    "''",
    "event.nope",
    "event.account",
    "event.result",
    "event.actor.ip",
    "features.F0",
    "features.F1",
    "features.F1.count",
    "features.F2",
    "features.missing_feature",
    "[1, 'a', null]",
    "[features.F0, 0]",
    "has(event.actor.ip)",
    "has(event.actor.asn)",
    "has(event.nope.x)",
];

/// Conditions a pack writes over the same inputs, as leaves too (so that
/// most trees answer and the absorption of errors is reached often).
const CONDITIONS: &[&str] = &[
    "event.result == 'success'",
    "event.account != 'a'",
    "features.F0 >= 1",
    "features.F1.count < 2",
    "features.F2 == null",
    "event.nope == 1",
    "'a' in [features.F2, 'b']",
];

/// A generated condition tree; its CEL text is its `Display`, every
/// operator bracketed.
#[derive(Debug, Clone)]
enum T {
    Leaf(&'static str),
    Not(Box<T>),
    /// `&&` when true, `||` when false.
    Junction(bool, Box<T>, Box<T>),
    Cond(Box<T>, Box<T>, Box<T>),
    /// A comparison, `in` or arithmetic.
    Op(&'static str, Box<T>, Box<T>),
}

impl std::fmt::Display for T {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            T::Leaf(s) => f.write_str(s),
            T::Not(a) => write!(f, "!{a}"),
            T::Junction(all, a, b) => write!(f, "({a} {} {b})", if *all { "&&" } else { "||" }),
            T::Cond(c, a, b) => write!(f, "({c} ? {a} : {b})"),
            T::Op(op, a, b) => write!(f, "({a} {op} {b})"),
        }
    }
}

fn and(all: bool, a: &T, b: &T) -> T {
    T::Junction(all, Box::new(a.clone()), Box::new(b.clone()))
}

fn tree() -> impl Strategy<Value = T> {
    let leaf = prop_oneof![
        1 => proptest::sample::select(LEAVES).prop_map(T::Leaf),
        1 => proptest::sample::select(CONDITIONS).prop_map(T::Leaf),
    ];
    leaf.prop_recursive(4, 24, 3, |inner| {
        let pair = || (inner.clone(), inner.clone());
        prop_oneof![
            3 => pair().prop_map(|(a, b)| T::Junction(true, Box::new(a), Box::new(b))),
            3 => pair().prop_map(|(a, b)| T::Junction(false, Box::new(a), Box::new(b))),
            1 => inner.clone().prop_map(|a| T::Not(Box::new(a))),
            1 => (inner.clone(), inner.clone(), inner.clone())
                .prop_map(|(c, a, b)| T::Cond(Box::new(c), Box::new(a), Box::new(b))),
            2 => (
                inner.clone(),
                proptest::sample::select(&["==", "!=", "<", ">=", "in", "+", "-", "*"][..]),
                inner.clone()
            )
                .prop_map(|(a, op, b)| T::Op(op, Box::new(a), Box::new(b))),
        ]
    })
}

/// A feature's value for one case (`None`: not read for this event).
fn feature_value() -> impl Strategy<Value = Option<Json>> {
    let int = proptest::sample::select(&[0i64, -1, 1, 2, i64::MAX, i64::MIN][..]);
    prop_oneof![
        1 => Just(None),
        1 => Just(Some(Json::Null)),
        4 => int.clone().prop_map(|i| Some(json!(i))),
        1 => Just(Some(json!("a"))),
        2 => int.prop_map(|i| Some(json!({ "count": i }))),
        1 => Just(Some(json!([1, "a"]))),
    ]
}

#[derive(Debug, Clone)]
struct Case {
    shared: T,
    others: [T; 3],
    values: [Option<Json>; 3],
    success: bool,
    account: &'static str,
    actor: bool,
}

fn case() -> impl Strategy<Value = Case> {
    (
        tree(),
        [tree(), tree(), tree()],
        [feature_value(), feature_value(), feature_value()],
        any::<bool>(),
        proptest::sample::select(&["a", "b", ""][..]),
        any::<bool>(),
    )
        .prop_map(|(shared, others, values, success, account, actor)| Case {
            shared,
            others,
            values,
            success,
            account,
            actor,
        })
}

/// What the runs saw, to check that the inputs reach every kind of answer.
#[derive(Default)]
struct Seen {
    checked: Cell<u64>,
    answered: Cell<u64>,
    interpreter_errors: Cell<u64>,
    answered_true: Cell<u64>,
    values: Cell<u64>,
    shared: Cell<u64>,
    uncompiled: Cell<u64>,
}

fn bump(c: &Cell<u64>) {
    c.set(c.get() + 1);
}

fn check(pack: &crate::Pack, names: &[String], c: &Case, seen: &Seen) -> Result<(), TestCaseError> {
    let name = |t: &T| {
        t.to_string()
            .replace("F0", &names[0])
            .replace("F1", &names[1])
            .replace("F2", &names[2])
    };
    let (s, t) = (&c.shared, &c.others);
    let not_s = T::Not(Box::new(s.clone()));
    let trees = [
        s.clone(),
        and(true, s, &t[0]),
        and(false, &t[1], &not_s),
        T::Cond(
            Box::new(s.clone()),
            Box::new(t[2].clone()),
            Box::new(t[0].clone()),
        ),
        and(true, &and(false, &t[0], s), &t[1]),
        t[0].clone(),
        t[1].clone(),
        t[2].clone(),
    ];
    let sources: Vec<(String, &T)> = trees.iter().map(|t| (name(t), t)).collect();
    let mut exprs = Vec::new();
    for (src, _) in &sources {
        match Expr::compile(src) {
            Ok((e, _)) => exprs.push(e),
            // Past the bracket or size bounds: the pack refuses it too.
            Err(_) => bump(&seen.uncompiled),
        }
    }
    let index = |n: &str| pack.features.iter().position(|f| f.name == n);
    for e in &mut exprs {
        e.bind_features(&index);
    }
    let mut refs: Vec<&mut Expr> = exprs.iter_mut().collect();
    if Expr::share_conditions(&mut refs) > 0 {
        bump(&seen.shared);
    }

    let mut event = json!({
        "id": "e1", "type": "login.attempt", "at": "2026-01-01T00:00:00Z",
        "service": "s", "account": c.account, "factor": "password",
        "result": if c.success { "success" } else { "failure" },
    });
    if c.actor {
        event["actor"] = json!({"ip": "192.0.2.1"});
    }
    let event = sekimori_event::decode_value(event).expect("a valid login");
    let r = EventRef::new(&event);
    let mut slots: Vec<Option<Json>> = vec![None; pack.features.len()];
    for (n, v) in names.iter().zip(&c.values) {
        if let Some(i) = index(n) {
            slots[i] = v.clone();
        }
    }
    let vars = Vars::typed(&r, &slots, &pack.features, &pack.list_values);
    // Twice, the second time in reverse order: shared answers come from
    // the cache filled by other expressions.
    let order: Vec<usize> = (0..exprs.len()).chain((0..exprs.len()).rev()).collect();
    for i in order {
        let e = &exprs[i];
        let reference = e.eval_interpreted(&vars);
        let compiled = e.fast_bool(&vars);
        let value = e.fast(&vars).ok().and_then(fast::to_json);
        let context = || format!("`{}` on {}", e.source(), r.view());
        bump(&seen.checked);
        if reference.is_err() {
            bump(&seen.interpreter_errors);
        }
        if let Ok(b) = compiled {
            prop_assert_eq!(
                Ok(Json::Bool(b)),
                reference.clone(),
                "the compiled program answered where the interpreter did not: {}",
                context()
            );
            bump(&seen.answered);
            if b {
                bump(&seen.answered_true);
            }
        }
        if let Some(v) = value {
            prop_assert_eq!(
                Ok(v),
                reference.clone(),
                "the compiled value differs: {}",
                context()
            );
            bump(&seen.values);
        }
        // The public path (compiled, else the interpreter) is the interpreter's.
        prop_assert_eq!(
            e.eval_bool(&vars).ok(),
            interpreted_bool(&reference),
            "eval_bool: {}",
            context()
        );
    }
    Ok(())
}

/// Every random case.
#[test]
fn random_conditions_answer_as_the_interpreter() {
    let pack = default_pack();
    let names: Vec<String> = pack
        .features
        .iter()
        .take(3)
        .map(|f| f.name.clone())
        .collect();
    assert_eq!(names.len(), 3, "the default pack has features");
    let seen = Seen::default();
    let mut runner = TestRunner::new(Config {
        cases: CASES,
        failure_persistence: None,
        ..Config::default()
    });
    let result = runner.run(&case(), |c| check(&pack, &names, &c, &seen));
    if let Err(e) = result {
        panic!("{e}");
    }
    let get = |c: &Cell<u64>| c.get();
    let (checked, answered) = (get(&seen.checked), get(&seen.answered));
    eprintln!(
        "{checked} checked: {answered} answered by the program ({} true), {} values, \
         {} interpreter errors; {} cases shared a subtree; {} sources past the bounds",
        get(&seen.answered_true),
        get(&seen.values),
        get(&seen.interpreter_errors),
        get(&seen.shared),
        get(&seen.uncompiled),
    );
    // The generated inputs reach every kind of answer.
    assert!(answered * 10 > checked, "{answered} of {checked} answered");
    assert!(get(&seen.answered_true) * 10 > answered);
    assert!(get(&seen.interpreter_errors) * 10 > checked);
    assert!(u64::from(CASES) < get(&seen.shared) * 2);
    assert!(get(&seen.uncompiled) * 20 < checked);
}

/// The differences the random test found, as conditions: an `&&` (`||`)
/// with a constant `true` (`false`) operand was folded to the other
/// operand even when that is not a boolean, so a comparison over it
/// answered where the interpreter errors ("no matching overload for
/// '_&&_'"). Fixed in `optimize.rs`'s `junction`.
#[test]
fn folding_keeps_a_non_boolean_operand_an_error() {
    let event = sekimori_event::decode_value(json!({
        "id": "e1", "type": "login.attempt", "at": "2026-01-01T00:00:00Z",
        "service": "s", "account": "a", "factor": "password", "result": "success",
    }))
    .expect("a valid login");
    let r = EventRef::new(&event);
    let lists = ListValues::new(std::iter::empty());
    let vars = Vars::typed(&r, &[], &[], &lists);
    let mut wrong = Vec::new();
    for src in [
        "(null && true) == null",
        "(event.account && true) == 'a'",
        "(event.account || false) == 'a'",
        "(1 && true) < 2",
        "(event.result && true) in ['success']",
        "!((null && true) == null)",
    ] {
        let (e, _) = Expr::compile(src).expect("compiles");
        let compiled = e.fast_bool(&vars).ok();
        let reference = e.eval_interpreted(&vars);
        if compiled.is_some() && compiled.map(Json::Bool) != reference.clone().ok() {
            wrong.push(format!(
                "`{src}`: compiled {compiled:?}, interpreter {reference:?}"
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}
