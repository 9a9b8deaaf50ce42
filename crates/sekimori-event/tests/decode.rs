//! Decoding: the shipped examples, a table of rejections, and a property test.

use proptest::prelude::*;
use sekimori_event::{decode, decode_value, EventKind};
use serde_json::{json, Value};
use std::collections::BTreeSet;

fn examples() -> Vec<Value> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/events");
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).expect("examples dir") {
        let path = entry.expect("entry").path();
        let text = std::fs::read_to_string(&path).expect("read example");
        for (n, line) in text.lines().enumerate() {
            let v =
                serde_json::from_str(line).unwrap_or_else(|e| panic!("{path:?}:{}: {e}", n + 1));
            out.push(v);
        }
    }
    out
}

#[test]
fn every_example_decodes_and_every_type_is_covered() {
    let mut seen = BTreeSet::new();
    for v in examples() {
        let event = decode_value(v.clone()).unwrap_or_else(|e| panic!("{v}: {e}"));
        seen.insert(event.kind);
    }
    let all: BTreeSet<EventKind> = EventKind::ALL.iter().copied().collect();
    assert_eq!(seen, all, "examples/events must cover every type");
}

#[test]
fn canonical_form_round_trips() {
    for v in examples() {
        let event = decode_value(v).expect("valid");
        let again = decode_value(event.to_json()).expect("canonical decodes");
        assert_eq!(event, again);
        assert_eq!(event.to_json(), again.to_json());
    }
}

fn base() -> Value {
    json!({"id":"e1","type":"transfer","at":"2026-11-20T13:05:00+09:00","service":"netbank",
      "actor":{"account":"b-1","ip":"198.51.100.23"},"account":"b-1","amount_minor":1000,"currency":"JPY",
      "destination":{"kind":"bank","bank_code":"0009","branch":"456","number":"7654321"}})
}

fn with(path: &[&str], value: Value) -> Value {
    let mut v = base();
    let mut cur = &mut v;
    for key in &path[..path.len() - 1] {
        cur = cur.get_mut(*key).expect("path exists");
    }
    let last = path[path.len() - 1];
    if value.is_null() {
        cur.as_object_mut().expect("object").remove(last);
    } else {
        cur[last] = value;
    }
    v
}

#[test]
fn rejections_name_code_and_path() {
    let cases: Vec<(Value, &str, &str)> = vec![
        (
            with(&["type"], json!("login.teleport")),
            "unknown_event_type",
            "type",
        ),
        (with(&["id"], Value::Null), "missing_field", "id"),
        (with(&["id"], json!("has space")), "invalid_value", "id"),
        (with(&["at"], json!("yesterday")), "invalid_value", "at"),
        (with(&["service"], json!(7)), "invalid_type", "service"),
        (
            with(&["actor", "ip"], json!("300.1.1.1")),
            "invalid_value",
            "actor.ip",
        ),
        (
            with(&["actor", "shoe_size"], json!(42)),
            "unknown_field",
            "actor.shoe_size",
        ),
        (
            with(&["actor", "country"], json!("jpn")),
            "invalid_value",
            "actor.country",
        ),
        (
            with(&["amount_minor"], json!(10.5)),
            "invalid_type",
            "amount_minor",
        ),
        (
            with(&["amount_minor"], json!(-1)),
            "invalid_value",
            "amount_minor",
        ),
        (
            with(&["amount_minor"], json!(u64::MAX)),
            "invalid_value",
            "amount_minor",
        ),
        (
            with(&["currency"], json!("yen")),
            "invalid_value",
            "currency",
        ),
        (with(&["account"], Value::Null), "missing_field", "account"),
        (with(&["colour"], json!("red")), "unknown_field", "colour"),
        (
            with(&["destination", "bank_code"], json!("12")),
            "invalid_value",
            "destination.bank_code",
        ),
        (
            with(&["destination", "kind"], json!("pigeon")),
            "invalid_value",
            "destination.kind",
        ),
        (
            with(&["destination", "branch"], Value::Null),
            "missing_field",
            "destination.branch",
        ),
        (with(&["attrs"], json!([1])), "invalid_type", "attrs"),
        (
            with(&["attrs"], json!({"note": {"password": "hunter2"}})),
            "secret_in_clear",
            "attrs.note.password",
        ),
        (with(&["pin"], json!("1234")), "secret_in_clear", "pin"),
        (
            with(&["actor", "otp"], json!("123456")),
            "secret_in_clear",
            "actor.otp",
        ),
    ];
    for (input, code, path) in cases {
        let err = decode_value(input.clone()).expect_err(&format!("should reject {input}"));
        assert_eq!(
            (err.code, err.path.as_str()),
            (code, path),
            "{input}: {err}"
        );
    }
}

#[test]
fn messages_never_echo_rejected_values() {
    for input in [
        with(&["attrs"], json!({"otp_code": "884422"})),
        with(&["currency"], json!("secret-884422")),
        with(&["amount_minor"], json!("x, expected 884422")),
        with(&["destination", "kind"], json!("x, expected 884422")),
    ] {
        let err = decode_value(input).expect_err("rejected");
        assert!(!err.to_string().contains("884422"), "{err}");
    }
    let login = json!({"id":"l1","type":"login.attempt","at":"2026-11-20T00:00:00Z","service":"s",
        "account":"a","factor":"884422","secret_fp":"k:00","result":"failure"});
    let err = decode_value(login).expect_err("bad factor");
    assert!(!err.to_string().contains("884422"), "{err}");
}

#[test]
fn a_password_login_may_leave_the_secret_unknown_but_a_fingerprint_has_its_form() {
    let mut login = json!({"id":"l1","type":"login.attempt","at":"2026-11-20T00:00:00Z","service":"s",
        "account":"a","factor":"pin","result":"failure"});
    let unknown = decode_value(login.clone()).expect("secret unknown (an sshd log)");
    assert!(unknown.to_json().get("secret_fp").is_none());
    login["secret_fp"] = json!("k1:1234");
    assert_eq!(
        decode_value(login.clone()).expect_err("short").code,
        "invalid_value"
    );
    login["secret_fp"] = json!(format!("k1:{}", "ab".repeat(32)));
    assert!(decode_value(login).is_ok());
}

#[test]
fn a_claimed_account_is_whatever_was_typed_kept_canonical() {
    let login = |account: Value| {
        json!({"id":"l1","type":"login.attempt","at":"2026-11-20T00:00:00Z","service":"s",
            "account":account,"factor":"password","result":"failure",
            "actor":{"ip":"198.51.100.7","user_agent":"SSH-2.0-Go\r\n\t","device":" ","session":"x\u{0}y"}})
    };
    let typed = [
        ("", ""),
        ("root", "root"),
        ("ro\tot", r"ro\u{0009}ot"),
        ("  admin", r"\u{0020}\u{0020}admin"),
        ("管理者", "管理者"),
    ];
    for (raw, kept) in typed {
        let e = decode_value(login(json!(raw))).unwrap_or_else(|e| panic!("{raw:?}: {e}"));
        assert_eq!(e.body.account(), Some(kept), "{raw:?}");
        // The canonical form decodes to itself: a replay gives the same keys.
        let again = decode_value(e.to_json()).expect("canonical decodes");
        assert_eq!(again.to_json(), e.to_json());
        assert_eq!(
            again.actor.user_agent.as_deref(),
            Some(r"SSH-2.0-Go\u{000D}\u{000A}\u{0009}")
        );
        assert_eq!(again.actor.device, None, "a blank device id is no device");
        assert_eq!(again.actor.session.as_deref(), Some(r"x\u{0000}y"));
    }
    let long = decode_value(login(json!("a".repeat(5000)))).expect("long claim");
    assert_eq!(long.body.account().map(|a| a.chars().count()), Some(128));
    // Other events' accounts are the service's own ids and stay strict.
    let mut transfer = base();
    transfer["account"] = json!("b\t1");
    assert_eq!(decode_value(transfer).expect_err("strict").path, "account");
}

#[test]
fn time_is_normalised_to_utc_milliseconds() {
    let e = decode_value(base()).expect("valid");
    assert_eq!(e.at_ms, 1_795_147_500_000);
    assert_eq!(e.to_json()["at"], "2026-11-20T04:05:00.000Z");
}

#[test]
fn ipv4_mapped_addresses_are_the_ipv4_client() {
    let e = decode_value(with(&["actor", "ip"], json!("::ffff:203.0.113.9"))).expect("valid");
    assert_eq!(e.to_json()["actor"]["ip"], "203.0.113.9");
}

#[test]
fn oversized_and_broken_json() {
    let big = vec![b' '; sekimori_event::MAX_EVENT_BYTES + 1];
    assert_eq!(decode(&big).expect_err("big").code, "too_large");
    assert_eq!(decode(b"{\"id\":").expect_err("cut").code, "invalid_json");
    assert_eq!(decode(b"[1,2]").expect_err("array").code, "invalid_type");
}

use sekimori_event::DECODE_CODES as CODES;

fn arb_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        "[a-z0-9:._ -]{0,12}".prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
            prop::collection::btree_map("[a-z_]{1,8}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Every JSON path (as key lists) into a value's objects.
fn paths(v: &Value, prefix: Vec<String>, out: &mut Vec<Vec<String>>) {
    if let Value::Object(m) = v {
        for (k, child) in m {
            let mut p = prefix.clone();
            p.push(k.clone());
            out.push(p.clone());
            paths(child, p, out);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn every_accepted_time_formats_and_parses_back(ms in sekimori_event::MIN_AT_MS..=sekimori_event::MAX_AT_MS) {
        let text = sekimori_event::format_rfc3339_ms(ms);
        prop_assert_eq!(sekimori_event::parse_rfc3339_ms(&text), Some(ms), "{}", text);
    }

    #[test]
    fn times_format_as_the_time_crate_formats_them(ms in -1_000_000i64..=sekimori_event::MAX_AT_MS + 1_000_000) {
        let clamped = ms.clamp(sekimori_event::MIN_AT_MS, sekimori_event::MAX_AT_MS);
        let t = time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(clamped) * 1_000_000)
            .expect("in range");
        let format = time::macros::format_description!(
            "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
        );
        prop_assert_eq!(sekimori_event::format_rfc3339_ms(ms), t.format(&format).expect("formats"));
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        if let Err(e) = decode(&bytes) {
            prop_assert!(CODES.contains(&e.code));
        }
    }

    #[test]
    fn mutated_examples_are_rejected_with_a_named_field(
        pick in any::<prop::sample::Index>(), at in any::<prop::sample::Index>(), value in arb_json()
    ) {
        let all = examples();
        let mut doc = all[pick.index(all.len())].clone();
        let mut ps = Vec::new();
        paths(&doc, vec![], &mut ps);
        let target = &ps[at.index(ps.len())];
        let mut cur = &mut doc;
        for key in &target[..target.len() - 1] {
            cur = cur.get_mut(key).expect("path");
        }
        cur[target.last().expect("non-empty").as_str()] = value;
        if let Err(e) = decode_value(doc) {
            prop_assert!(CODES.contains(&e.code), "unknown code {}", e.code);
            prop_assert!(!e.path.is_empty(), "rejection without a field path: {e}");
            let root = e.path.split(['.', '[']).next().unwrap_or_default();
            prop_assert_eq!(root, target[0].as_str(), "path {} does not point into {:?}", e.path, target);
        }
    }
}

#[test]
fn times_at_and_past_the_bounds_format_clamped() {
    for (ms, want) in [
        (i64::MIN, "1970-01-01T00:00:00.000Z"),
        (sekimori_event::MIN_AT_MS, "1970-01-01T00:00:00.000Z"),
        (1_700_000_000_123, "2023-11-14T22:13:20.123Z"),
        (sekimori_event::MAX_AT_MS, "9999-12-31T23:59:59.999Z"),
        (i64::MAX, "9999-12-31T23:59:59.999Z"),
    ] {
        assert_eq!(sekimori_event::format_rfc3339_ms(ms), want, "{ms}");
    }
}

/// Every object of every example (the envelope's `actor`, a destination, a
/// bank account, at any depth but inside free-form `attrs`), sent as the
/// array of its values (serde's positional form of a struct), is refused as
/// `invalid_type` at its path; the example itself decodes.
#[test]
fn an_array_where_an_object_belongs_is_refused_at_its_path() {
    fn objects(v: &Value, path: String, out: &mut Vec<String>) {
        if let Value::Object(map) = v {
            if !path.is_empty() {
                out.push(path.clone());
            }
            for (k, child) in map {
                if path.is_empty() && k == "attrs" {
                    continue;
                }
                let here = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                objects(child, here, out);
            }
        }
    }
    let mut checked = BTreeSet::new();
    for example in examples() {
        let mut paths = Vec::new();
        objects(&example, String::new(), &mut paths);
        for path in paths {
            let mut v = example.clone();
            let mut cur = &mut v;
            for key in path.split('.') {
                cur = cur.get_mut(key).expect("path exists");
            }
            let values: Vec<Value> = cur.as_object().expect("object").values().cloned().collect();
            *cur = Value::Array(values);
            let err = decode_value(v).expect_err("an array for an object");
            assert_eq!(
                (err.code, err.path.as_str()),
                ("invalid_type", path.as_str()),
                "{example}"
            );
            checked.insert(path);
        }
    }
    // The examples reach every kind of object the vocabulary has.
    for path in ["actor", "destination", "source", "bank"] {
        assert!(checked.contains(path), "no example has {path}");
    }
    // An array as the whole event, or as attrs.
    let mut v = base();
    v["attrs"] = json!([1]);
    assert_eq!(decode_value(v).expect_err("attrs").code, "invalid_type");
    assert_eq!(
        decode_value(json!([base()])).expect_err("array").code,
        "invalid_type"
    );
}
