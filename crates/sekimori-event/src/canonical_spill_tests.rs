//! A field is never dropped from the log's JSON (attacker's review F6): every
//! object of every type fits the stack's capacity, counted from the schema
//! generated from the types and from events with every field present, and
//! a field past the capacity is written all the same.

use super::{Fields, F, MAX_FIELDS};
use crate::json_schema;
use serde_json::{Map, Value};

/// The largest object (most properties) anywhere in `v`, with its path.
fn largest(v: &Value, path: &str, best: &mut (usize, String)) {
    match v {
        Value::Object(m) => {
            if let Some(Value::Object(props)) = m.get("properties") {
                if props.len() > best.0 {
                    *best = (props.len(), path.to_string());
                }
            }
            for (k, c) in m {
                largest(c, &format!("{path}/{k}"), best);
            }
        }
        Value::Array(items) => {
            for (i, c) in items.iter().enumerate() {
                largest(c, &format!("{path}[{i}]"), best);
            }
        }
        _ => {}
    }
}

/// The most keys of one object anywhere in `v`.
fn most_keys(v: &Value) -> usize {
    match v {
        Value::Object(m) => m.values().map(most_keys).fold(m.len(), usize::max),
        Value::Array(items) => items.iter().map(most_keys).max().unwrap_or(0),
        _ => 0,
    }
}

#[test]
fn no_object_has_more_fields_than_the_stack_holds() {
    // Every property of every type (envelope and body together), the
    // actor, every destination kind and the bank account, as the schema
    // generated from the types declares them.
    let mut best = (0, String::new());
    largest(&json_schema(), "", &mut best);
    assert!(
        best.0 <= MAX_FIELDS,
        "{} has {} fields; the stack holds {MAX_FIELDS}: raise MAX_FIELDS",
        best.1,
        best.0
    );
    // The count saw whole event objects (the envelope's 7 and a body).
    assert!(best.0 > 10, "{best:?}");
    // And the events themselves, every type with every optional field.
    let mut attrs = Map::new();
    attrs.insert("note".into(), Value::from("x"));
    let mut n = 0;
    for body in super::tests::bodies(true, "t", 1) {
        let e = super::tests::event(body, super::tests::full_actor("t"), attrs.clone(), "t", 0);
        let most = most_keys(&e.to_json());
        assert!(most <= MAX_FIELDS, "{most} fields in {e:?}");
        n = n.max(most);
    }
    assert!(n > 10, "{n}");
}

/// Names in no order, more than the stack holds.
const NAMES: [&str; 27] = [
    "zq", "ab", "mk", "ca", "zz", "ba", "aa", "yy", "xa", "mm", "kk", "ll", "qq", "pp", "oo", "nn",
    "jj", "ii", "hh", "gg", "ff", "ee", "dd", "cc", "bb", "a", "z",
];

#[test]
fn a_field_past_the_stack_is_written_not_dropped() {
    assert!(NAMES.len() > MAX_FIELDS);
    let text = "v\"\\é".to_string();
    let mut f = Fields::new();
    let mut want = Map::new();
    for (i, name) in NAMES.iter().enumerate() {
        let n = i64::try_from(i).expect("small") - 13;
        if i % 3 == 0 {
            f.put(name, F::Str(&text));
            want.insert((*name).into(), Value::from(text.clone()));
        } else {
            f.put(name, F::Int(n));
            want.insert((*name).into(), Value::from(n));
        }
    }
    let mut out = Vec::new();
    f.write(&mut out);
    assert_eq!(
        String::from_utf8_lossy(&out),
        String::from_utf8_lossy(&serde_json::to_vec(&want).expect("map")),
    );
    let back: Map<String, Value> = serde_json::from_slice(&out).expect("json");
    assert_eq!(back.len(), NAMES.len());
}
