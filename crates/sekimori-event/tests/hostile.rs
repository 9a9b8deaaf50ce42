//! Hostile input: repeated keys, long or invisible field names, disguised
//! secret names.

use sekimori_event::{decode, decode_value, is_secret_field_name};
use serde_json::{json, Value};

const BASE: &str = r#"{"id":"e1","type":"transfer","at":"2026-11-20T13:05:00+09:00","service":"netbank",
  "actor":{"account":"b-1","ip":"198.51.100.23"},"account":"b-1","amount_minor":1000,"currency":"JPY",
  "destination":{"kind":"bank","bank_code":"0009","branch":"456","number":"7654321"}"#;

/// The base transfer with `extra` (a JSON fragment of fields) appended.
fn doc(extra: &str) -> Vec<u8> {
    format!("{BASE}{extra}}}").into_bytes()
}

#[test]
fn the_base_document_decodes() {
    decode(&doc("")).expect("valid");
}

#[test]
fn a_repeated_key_is_refused_with_its_path_at_any_depth() {
    let cases = [
        (r#","amount_minor":99999999"#, "amount_minor"),
        (r#","actor":{"account":"b-2"}"#, "actor"),
        (
            r#","attrs":{"a":{"b":[1,{"c":1,"c":2}]}}"#,
            "attrs.a.b[1].c",
        ),
        (r#","attrs":{"x":1,"x":1}"#, "attrs.x"),
    ];
    for (extra, path) in cases {
        let err = decode(&doc(extra)).expect_err(extra);
        assert_eq!(
            (err.code, err.path.as_str()),
            ("duplicate_field", path),
            "{extra}: {err}"
        );
        assert!(!err.message.contains("99999999"), "{}", err.message);
    }
    // Inside the destination object.
    let text = String::from_utf8(doc("")).expect("utf8").replace(
        r#""bank_code":"0009","#,
        r#""bank_code":"0009","bank_code":"0005","#,
    );
    let err = decode(text.as_bytes()).expect_err("dup in destination");
    assert_eq!(
        (err.code, err.path.as_str()),
        ("duplicate_field", "destination.bank_code")
    );
}

#[test]
fn broken_json_is_still_invalid_json() {
    assert_eq!(decode(b"{\"id\":").expect_err("cut").code, "invalid_json");
    assert_eq!(
        decode(b"{\"a\":1} x").expect_err("trailing").code,
        "invalid_json"
    );
}

fn base() -> Value {
    serde_json::from_slice(&doc("")).expect("base")
}

#[test]
fn attrs_names_are_bounded_at_every_depth() {
    let long = "n".repeat(65);
    for attrs in [
        json!({ long.clone(): 1 }),
        json!({"a": { long.clone(): 1 }}),
        json!({"a": [{"b": { long.clone(): 1 }}]}),
        json!({"a": {"": 1}}),
    ] {
        let mut v = base();
        v["attrs"] = attrs.clone();
        let err = decode_value(v).expect_err(&attrs.to_string());
        assert_eq!(err.code, "invalid_value", "{attrs}: {err}");
        assert!(err.path.starts_with("attrs"), "{err}");
    }
    let mut v = base();
    v["attrs"] = json!({"a": {"b": {"c": 1}}, "list": [{"k": "v"}]});
    decode_value(v).expect("short names at depth are fine");
}

#[test]
fn paths_never_echo_a_long_name_or_control_characters() {
    let hostile = format!("\u{1b}[31m\u{202e}{}\n", "x".repeat(10_000));
    let mut cases = Vec::new();
    // An unknown field in the body, in the actor, and a long attrs name.
    let mut v = base();
    v[hostile.as_str()] = json!(1);
    cases.push(v);
    let mut v = base();
    v["actor"][hostile.as_str()] = json!(1);
    cases.push(v);
    let mut v = base();
    v["attrs"] = json!({"a": { hostile.as_str(): 1 }});
    cases.push(v);
    let mut v = base();
    v["attrs"] = json!({ format!("{hostile}password"): 1 });
    cases.push(v);
    for v in cases {
        let err = decode_value(v).expect_err("hostile name");
        assert!(
            err.path.len() <= 64 * 4 + 64,
            "path of {} bytes",
            err.path.len()
        );
        assert!(!err.path.chars().any(char::is_control), "{:?}", err.path);
        assert!(!err.path.contains('\u{202e}'), "{:?}", err.path);
        assert!(err.path.contains('…'), "{:?}", err.path);
        assert!(!err.message.contains("xxxxxxxx"), "{}", err.message);
    }
    // A repeated hostile key, found while parsing bytes.
    let key = serde_json::to_string(&hostile).expect("key");
    let err = decode(&doc(&format!(r#","attrs":{{{key}:1,{key}:2}}"#))).expect_err("dup");
    assert_eq!(err.code, "duplicate_field");
    assert!(
        err.path.len() <= 128 && !err.path.chars().any(char::is_control),
        "{:?}",
        err.path
    );
}

#[test]
fn secret_names_are_found_after_unicode_normalisation() {
    for yes in [
        "ｐｉｎ",
        "ＰＡＳＳＷＯＲＤ",
        "pa\u{200b}ssword",
        "pass\u{00ad}word",
        "p\u{2060}i\u{feff}n",
        "new\u{3000}pin",
        "card\u{ff3f}pin",
        "pa\u{301}ssword",
        "ＯＴＰ",
        "api\u{200d}_key",
        "\u{202e}pin",
        "ſecret",
    ] {
        assert!(is_secret_field_name(yes), "{yes:?}");
        let mut v = base();
        v["attrs"] = json!({ yes: "x" });
        let err = decode_value(v).expect_err(yes);
        assert_eq!(err.code, "secret_in_clear", "{yes:?}: {err}");
    }
    for no in [
        "ｆａｃｔｏｒ",
        "アカウント",
        "shopping",
        "secret_fp",
        "口座",
    ] {
        assert!(!is_secret_field_name(no), "{no:?}");
    }
}

/// Review F5: a secret name split by an ASCII control or punctuation byte is
/// refused by `decode` with the existing code and the field's path (control
/// characters escaped), and the secret never reaches the log's bytes.
#[test]
fn secret_names_split_by_ascii_punctuation_or_controls_are_refused() {
    for (name, path) in [
        ("pass\tword", "attrs.pass\\u{9}word"),
        ("api:key", "attrs.api:key"),
        ("pass/word", "attrs.pass/word"),
        ("pin\0", "attrs.pin\\u{0}"),
        ("Card|PIN", "attrs.Card|PIN"),
    ] {
        let extra = format!(r#","attrs":{{{}:"hunter2"}}"#, Value::from(name));
        let err = decode(&doc(&extra)).expect_err(name);
        assert_eq!(
            (err.code, err.path.as_str()),
            ("secret_in_clear", path),
            "{name:?}: {err}"
        );
        assert!(!err.message.contains("hunter2"), "{}", err.message);
        // Nested, too.
        let extra = format!(
            r#","attrs":{{"login":{{{}:"hunter2"}}}}"#,
            Value::from(name)
        );
        let err = decode(&doc(&extra)).expect_err(name);
        assert_eq!(err.code, "secret_in_clear", "{name:?}: {err}");
    }
    // Names that only look split stay accepted.
    for name in ["secret:fp", "account/id", "device\tkind"] {
        let extra = format!(r#","attrs":{{{}:"x"}}"#, Value::from(name));
        decode(&doc(&extra)).expect(name);
    }
}
