//! The fast path answers exactly as the value path: the same event when it
//! accepts, and `None` exactly when the value path refuses (so `decode`'s
//! errors are the value path's), on the shipped examples in every key order
//! and on mutations of them (unknown, secret-named, repeated, missing and
//! mistyped fields, arrays for objects, at every level).

use super::direct;
use crate::canonical::tests as gen;
use crate::*;
use proptest::prelude::*;
use serde_json::{json, Value};

/// The value path's answer.
fn slow(bytes: &[u8]) -> Result<Event, DecodeError> {
    parse_unique(bytes).and_then(decode_value)
}

/// Both paths agree: the fast one accepts exactly what the slow one does,
/// as the same event, and `decode` answers as the slow one.
fn agree(bytes: &[u8]) -> bool {
    let want = slow(bytes);
    let fast = direct::decode(bytes);
    assert_eq!(
        fast.as_ref(),
        want.as_ref().ok(),
        "{}",
        String::from_utf8_lossy(bytes)
    );
    assert_eq!(decode(bytes), want);
    want.is_ok()
}

fn examples() -> Vec<Value> {
    [
        include_str!("../../../examples/events/accounts.jsonl"),
        include_str!("../../../examples/events/money.jsonl"),
        include_str!("../../../examples/events/custody.jsonl"),
    ]
    .iter()
    .flat_map(|text| text.lines())
    .map(|line| serde_json::from_str(line).expect("an example is JSON"))
    .collect()
}

/// `v` as JSON text, each object's keys rotated by `turn` (so `type` comes
/// first, last or between), with `extra` fields appended to the top level
/// as they are (repeated keys included).
fn render(v: &Value, turn: usize, extra: &[(String, Value)], out: &mut String) {
    match v {
        Value::Object(m) => {
            let mut pairs: Vec<(&String, &Value)> = m.iter().collect();
            if !pairs.is_empty() {
                let n = turn % pairs.len();
                pairs.rotate_left(n);
            }
            out.push('{');
            let extra = extra.iter().map(|(k, v)| (k, v));
            for (i, (k, v)) in pairs.into_iter().chain(extra).enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(k.clone()).to_string());
                out.push(':');
                render(v, turn / 3 + 1, &[], out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                render(item, turn, &[], out);
            }
            out.push(']');
        }
        leaf => out.push_str(&leaf.to_string()),
    }
}

fn text_of(v: &Value, turn: usize, extra: &[(String, Value)]) -> Vec<u8> {
    let mut out = String::new();
    render(v, turn, extra, &mut out);
    out.into_bytes()
}

/// Every example in every key rotation, and the canonical form of each.
#[test]
fn examples_in_any_key_order_take_the_fast_path() {
    for v in examples() {
        for turn in 0..12 {
            let bytes = text_of(&v, turn, &[]);
            assert!(agree(&bytes), "{}", String::from_utf8_lossy(&bytes));
            let e = direct::decode(&bytes).expect("the fast path takes it");
            assert!(agree(&e.canonical_json()));
        }
    }
}

/// Every field name of the schema (envelope, actor, every body,
/// destination, bank account): none is a secret name, which is why the fast
/// path scans only `attrs`.
#[test]
fn no_schema_field_is_a_secret_name() {
    fn names(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::Object(m) => {
                if let Some(Value::Object(props)) = m.get("properties") {
                    out.extend(props.keys().cloned());
                }
                m.values().for_each(|c| names(c, out));
            }
            Value::Array(items) => items.iter().for_each(|c| names(c, out)),
            _ => {}
        }
    }
    let mut all = Vec::new();
    names(&json_schema(), &mut all);
    for must in [
        "id",
        "type",
        "attrs",
        "actor",
        "user_agent",
        "bank_code",
        "secret_fp",
    ] {
        assert!(all.iter().any(|n| n == must), "{must} not found");
    }
    for n in &all {
        assert!(!is_secret_field_name(n), "{n}");
    }
}

/// Names a mutation adds: secret ones, the envelope's, the bodies', unknown
/// ones, the empty name.
fn name() -> impl Strategy<Value = String> {
    prop_oneof![
        proptest::sample::select(vec![
            "pin",
            "password",
            "PIN",
            "new_otp",
            "api_key",
            "パスワード",
            "раss",
            "secret_fp",
            "id",
            "type",
            "at",
            "service",
            "customer",
            "actor",
            "attrs",
            "account",
            "amount_minor",
            "currency",
            "destination",
            "source",
            "bank",
            "kind",
            "ip",
            "asn",
            "device",
            "verified",
            "result",
            "holder_name",
            "bank_code",
            "x",
            "",
        ])
        .prop_map(str::to_string),
        "[a-z_]{1,8}",
    ]
}

fn value() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        Just(json!("x")),
        Just(json!(1)),
        Just(json!(-1.5)),
        Just(json!(true)),
        Just(json!([])),
        Just(json!({})),
        Just(json!(["pin"])),
        Just(json!({"pin": 1})),
        Just(json!({"kind": "bank", "bank_code": "0009", "branch": "456", "number": "7654321"})),
        Just(json!("2026-11-20T10:00:00Z")),
        Just(json!("login.attempt")),
        gen::json_leaf(),
    ]
}

#[derive(Clone, Debug)]
enum Mutation {
    /// Insert (or replace) a field in the object at this depth-first index.
    Put(usize, String, Value),
    /// Remove the field of this index from the object at that index.
    Remove(usize, usize),
    /// Replace an object by the array of its values.
    Arrayify(usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        4 => (0usize..8, name(), value()).prop_map(|(i, k, v)| Mutation::Put(i, k, v)),
        2 => (0usize..8, 0usize..16).prop_map(|(i, j)| Mutation::Remove(i, j)),
        1 => (1usize..8).prop_map(Mutation::Arrayify),
    ]
}

/// The number of objects in `v` (the document itself included).
fn count(v: &Value) -> usize {
    match v {
        Value::Object(m) => 1 + m.values().map(count).sum::<usize>(),
        Value::Array(items) => items.iter().map(count).sum(),
        _ => 0,
    }
}

/// Calls `f` on the object of depth-first index `target` (0: the document).
fn at(v: &mut Value, target: usize, seen: &mut usize, f: &mut dyn FnMut(&mut Value)) -> bool {
    if v.is_object() {
        if *seen == target {
            f(v);
            return true;
        }
        *seen += 1;
    }
    match v {
        Value::Object(m) => m.values_mut().any(|c| at(c, target, seen, f)),
        Value::Array(items) => items.iter_mut().any(|c| at(c, target, seen, f)),
        _ => false,
    }
}

/// A change to one object.
type Edit = Box<dyn FnMut(&mut Value)>;

fn apply(v: &mut Value, m: &Mutation) {
    let len = count(v).max(1);
    let (target, mut f): (usize, Edit) = match m.clone() {
        Mutation::Put(i, k, val) => (
            i % len,
            Box::new(move |o: &mut Value| {
                if let Value::Object(o) = o {
                    o.insert(k.clone(), val.clone());
                }
            }),
        ),
        Mutation::Remove(i, j) => (
            i % len,
            Box::new(move |o: &mut Value| {
                if let Value::Object(o) = o {
                    if let Some(key) = o.keys().nth(j % o.len().max(1)).cloned() {
                        o.remove(&key);
                    }
                }
            }),
        ),
        Mutation::Arrayify(i) if len > 1 => (
            1 + i % (len - 1),
            Box::new(|o: &mut Value| {
                let items: Vec<Value> = o
                    .as_object()
                    .into_iter()
                    .flat_map(|m| m.values().cloned())
                    .collect();
                *o = Value::Array(items);
            }),
        ),
        Mutation::Arrayify(_) => return,
    };
    at(v, target, &mut 0, &mut *f);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3000))]

    /// Mutated examples, in any key order, with repeated top-level keys:
    /// the two paths agree on every one.
    #[test]
    fn mutated_examples_answer_as_the_value_path(
        pick in any::<prop::sample::Index>(),
        turn in 0usize..12,
        muts in proptest::collection::vec(mutation(), 0..4),
        extra in proptest::collection::vec((name(), value()), 0..2),
    ) {
        let all = examples();
        let mut v = all[pick.index(all.len())].clone();
        for m in &muts {
            apply(&mut v, m);
        }
        agree(&text_of(&v, turn, &extra));
    }

    /// Generated events of every type written canonically (any text: most
    /// fail a check), and the same with `type` first.
    #[test]
    fn generated_events_answer_as_the_value_path(
        full in any::<bool>(),
        t in gen::text(),
        n in any::<i64>(),
        actor in gen::actor(),
        attrs in gen::attrs(),
        pick in any::<prop::sample::Index>(),
        turn in 0usize..12,
    ) {
        let all = gen::bodies(full, &t, n);
        let body = all[pick.index(all.len())].clone();
        let e = gen::event(body, actor, attrs, &t, 1_764_000_000_000);
        agree(&e.canonical_json());
        agree(&text_of(&e.to_json(), turn, &[]));
    }
}

/// A secret or unknown field inside the destination, the bank account or
/// the actor is refused by both paths, with the value path's error.
#[test]
fn fields_nested_in_schema_objects_are_refused_alike() {
    let base = examples()
        .into_iter()
        .find(|v| v["type"] == "transfer")
        .expect("a transfer example");
    for (object, key) in [
        ("destination", "pin"),
        ("destination", "foo"),
        ("actor", "password"),
        ("actor", "bar"),
    ] {
        let mut v = base.clone();
        v[object][key] = json!("1234");
        let bytes = text_of(&v, 0, &[]);
        assert!(!agree(&bytes), "{object}.{key} accepted");
        assert!(direct::decode(&bytes).is_none());
    }
}

/// A `"type":"NAME"` met before the top-level one (a key of `attrs`) makes
/// a wrong guess, which falls back; a `type` written with spaces is found
/// by the first pass. Both answer as the value path.
#[test]
fn a_misleading_or_spaced_type_answers_as_the_value_path() {
    let base = examples()
        .into_iter()
        .find(|v| v["type"] == "transfer")
        .expect("a transfer example");
    let mut text = String::from(r#"{"attrs":{"type":"purchase"},"#);
    let rest = text_of(&base, 0, &[]);
    text.push_str(std::str::from_utf8(&rest[1..]).expect("utf8"));
    assert!(agree(text.as_bytes()), "{text}");
    let spaced = String::from_utf8(rest)
        .expect("utf8")
        .replace(r#""type":"transfer""#, r#""type" : "transfer""#);
    assert!(spaced.contains(r#""type" : "#));
    assert!(agree(spaced.as_bytes()));
    assert!(direct::decode(spaced.as_bytes()).is_some());
}

/// A key repeated inside a schema object (the destination's tag and
/// fields, the actor, the bank account, `attrs`) is refused alike.
#[test]
fn repeated_keys_inside_schema_objects_are_refused_alike() {
    let dest =
        r#""destination":{"kind":"bank","bank_code":"0009","branch":"456","number":"7654321"}"#;
    let base = format!(
        r#"{{"id":"e1","type":"transfer","at":"2026-11-20T13:05:00Z","service":"s","account":"a","amount_minor":1,"currency":"JPY",{dest}}}"#
    );
    assert!(agree(base.as_bytes()));
    for (from, to) in [
        (r#""kind":"bank","#, r#""kind":"bank","kind":"crypto","#),
        (r#""kind":"bank","#, r#""kind":"bank","kind":"bank","#),
        (r#""branch":"456","#, r#""branch":"456","branch":"457","#),
        (
            r#""service":"s","#,
            r#""service":"s","actor":{"ip":"1.2.3.4","ip":"1.2.3.5"},"#,
        ),
        (
            r#""service":"s","#,
            r#""service":"s","attrs":{"a":{"b":1,"b":2}},"#,
        ),
        (r#""service":"s","#, r#""service":"s","id":"e2","#),
        (r#""service":"s","#, r#""service":"s","type":"transfer","#),
    ] {
        let doc = base.replacen(from, to, 1);
        assert_ne!(doc, base);
        assert!(!agree(doc.as_bytes()), "{doc}");
    }
}
