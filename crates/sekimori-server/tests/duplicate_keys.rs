//! A key repeated in one JSON object is refused by every route that parses
//! JSON, with `duplicate_field` and the path of the repeated key.

mod common;

use axum::http::{Method, StatusCode};
use common::Harness;
use serde_json::Value;

fn transfer(id: &str, fields: &str) -> String {
    format!(
        r#"{{"id":"{id}","type":"transfer","at":"2026-11-20T13:05:00+09:00","service":"netbank",
        "actor":{{"account":"b-1"}},"account":"b-1","currency":"JPY",
        "destination":{{"kind":"bank","bank_code":"0009","branch":"456","number":"7654321"}}{fields}}}"#
    )
}

fn code_and_path(b: &Value) -> (&str, &str) {
    (
        b["error"]["code"].as_str().unwrap_or_default(),
        b["error"]["path"].as_str().unwrap_or_default(),
    )
}

#[tokio::test]
async fn a_single_event_with_a_repeated_key_is_refused_and_not_stored() {
    let h = Harness::new().await;
    let body = transfer("dup-1", r#","amount_minor":1,"amount_minor":99999999"#);
    let (status, b) = h
        .call_text(Method::POST, "/v1/events", &h.ingest, &body)
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{b}");
    assert_eq!(
        code_and_path(&b),
        ("duplicate_field", "amount_minor"),
        "{b}"
    );
    assert!(!b.to_string().contains("99999999"), "{b}");
    let (status, _) = h
        .call(
            Method::GET,
            "/v1/decisions/dup-1",
            Some(&h.read),
            Value::Null,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_batch_refuses_only_the_item_with_a_repeated_key() {
    let h = Harness::new().await;
    let good = transfer("batch-ok", r#","amount_minor":1000"#);
    let bad = transfer(
        "batch-dup",
        r#","amount_minor":1000,"attrs":{"a":{"b":1,"b":2}}"#,
    );
    let body = format!(r#"{{"events":[{good},{bad}]}}"#);
    let (status, b) = h
        .call_text(Method::POST, "/v1/events/batch", &h.ingest, &body)
        .await;
    assert_eq!(status, StatusCode::OK, "{b}");
    assert_eq!(b["accepted"], 1, "{b}");
    assert!(b["results"][0].get("decision").is_some(), "{b}");
    assert_eq!(
        code_and_path(&b["results"][1]),
        ("duplicate_field", "events[1].attrs.a.b"),
        "{b}"
    );
    // Two `events` arrays: the whole batch is refused.
    let body = format!(r#"{{"events":[{good}],"events":[]}}"#);
    let (status, b) = h
        .call_text(Method::POST, "/v1/events/batch", &h.ingest, &body)
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{b}");
    assert_eq!(code_and_path(&b), ("duplicate_field", "events"), "{b}");
}

#[tokio::test]
async fn other_json_bodies_refuse_repeated_keys() {
    let h = Harness::new().await;
    // parse_quiet (holds), nested.
    let body = r#"{"hold":{"scope":"asset","key":"XEM","key":"BTC"},"action":"halt","reason":"r"}"#;
    let (status, b) = h.call_text(Method::POST, "/v1/holds", &h.admin, body).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{b}");
    assert_eq!(code_and_path(&b), ("duplicate_field", "hold.key"), "{b}");
    // parse_json (hold lift).
    let body = r#"{"hold":{"scope":"asset","key":"XEM"},"reason":"a","reason":"b"}"#;
    let (status, b) = h
        .call_text(Method::POST, "/v1/holds/lift", &h.admin, body)
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{b}");
    assert_eq!(code_and_path(&b), ("duplicate_field", "reason"), "{b}");
    // Step-up bodies (parse_quiet).
    let body = r#"{"account":"b-1","account":"b-2","at":"2026-11-20T13:05:00Z"}"#;
    let (status, b) = h
        .call_text(Method::POST, "/v1/stepup/totp/enroll", &h.ingest, body)
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{b}");
    assert_eq!(code_and_path(&b), ("duplicate_field", "account"), "{b}");
}

#[tokio::test]
async fn hostile_names_are_cut_in_error_paths() {
    let h = Harness::new().await;
    // `\u001b` in the JSON text: an ESC character in the name.
    let name = format!("\\u001b[2J{}", "y".repeat(5000));
    let body = transfer("long-1", &format!(r#","amount_minor":1,"{name}":1"#));
    let (status, b) = h
        .call_text(Method::POST, "/v1/events", &h.ingest, &body)
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{b}");
    let (code, path) = code_and_path(&b);
    assert_eq!(code, "unknown_field", "{b}");
    assert!(path.len() <= 70 && path.ends_with('…'), "{path:?}");
    assert!(!path.chars().any(char::is_control), "{path:?}");
    let body = format!(
        r#"{{"hold":{{"scope":"asset","key":"XEM","{name}":1}},"action":"halt","reason":"r"}}"#
    );
    let (status, b) = h
        .call_text(Method::POST, "/v1/holds", &h.admin, &body)
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{b}");
    let path = b["error"]["path"].as_str().unwrap_or_default();
    assert!(
        path.len() <= 80 && !path.chars().any(char::is_control),
        "{b}"
    );
}
