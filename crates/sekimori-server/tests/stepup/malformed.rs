//! Malformed step-up bodies get a 4xx with a stable code and the field's path.

use crate::common::Harness;
use crate::support::{at, enroll_totp, error, tx, verify_totp};
use axum::http::{Method, StatusCode};
use serde_json::{json, Value};

#[tokio::test]
async fn malformed_step_up_bodies_get_4xx_with_code_and_path() {
    let h = Harness::new().await;
    enroll_totp(&h, "jun").await;
    let ok = verify_totp("jun", "123456", 0);
    let with = |f: &dyn Fn(&mut Value)| {
        let mut b = ok.clone();
        f(&mut b);
        b
    };
    let cases: Vec<(Value, u16, &str, &str)> = vec![
        (
            with(&|b| {
                if let Some(m) = b.as_object_mut() {
                    m.remove("method");
                }
            }),
            400,
            "missing_field",
            "method",
        ),
        (
            with(&|b| b["code"] = json!(123456)),
            400,
            "invalid_type",
            "code",
        ),
        (
            with(&|b| b["method"] = json!("carrier-pigeon")),
            400,
            "invalid_value",
            "method",
        ),
        (
            with(&|b| b["method"] = json!("push")),
            400,
            "invalid_value",
            "method",
        ),
        (
            with(&|b| b["extra"] = json!(1)),
            400,
            "unknown_field",
            "extra",
        ),
        (
            with(&|b| b["transaction"] = tx("p")),
            400,
            "unknown_field",
            "transaction",
        ),
        (
            with(&|b| b["at"] = json!("yesterday")),
            400,
            "invalid_value",
            "at",
        ),
        (
            with(&|b| b["at"] = json!("2999-01-01T00:00:00Z")),
            422,
            "event_in_future",
            "at",
        ),
        (
            with(&|b| b["service"] = json!("Bad Service")),
            400,
            "invalid_value",
            "service",
        ),
        (
            with(&|b| b["account"] = json!("")),
            400,
            "invalid_value",
            "account",
        ),
        (
            with(&|b| b["actor"] = json!({"ip": "999.1.1.1"})),
            400,
            "invalid_value",
            "actor.ip",
        ),
        (
            with(&|b| b["method"] = json!("txsign")),
            400,
            "missing_field",
            "challenge_id",
        ),
        (
            json!({"account": "jun", "at": at(0), "method": "txsign", "challenge_id": "00",
                   "code": "1", "service": "bank"}),
            400,
            "missing_field",
            "transaction",
        ),
        (
            json!({"account": "jun", "at": at(0), "method": "txsign", "challenge_id": "00",
                   "code": "1", "service": "bank",
                   "transaction": {"amount_minor": 1, "currency": "yen", "payee": "p"}}),
            400,
            "invalid_value",
            "transaction.currency",
        ),
        (
            json!({"account": "jun", "at": at(0), "method": "txsign", "challenge_id": "00",
                   "code": "1", "service": "bank",
                   "transaction": {"amount_minor": 1.5, "currency": "JPY", "payee": "p"}}),
            400,
            "invalid_type",
            "transaction.amount_minor",
        ),
    ];
    for (body, status, code, path) in cases {
        let (s, b) = h.post("/v1/stepup/verify", body.clone()).await;
        assert_eq!(
            (s.as_u16(), error(&b)),
            (status, (Some(code), Some(path))),
            "{body} -> {b}"
        );
        assert!(
            !b.to_string().contains("123456"),
            "a code is never echoed: {b}"
        );
    }
    let (s, b) = h
        .call(
            Method::POST,
            "/v1/stepup/totp/enroll",
            Some(&h.read),
            json!({"account": "x", "at": at(0)}),
        )
        .await;
    assert_eq!(
        (s, error(&b).0),
        (StatusCode::FORBIDDEN, Some("insufficient_scope"))
    );
    let (s, b) = h
        .post(
            "/v1/stepup/totp/enroll",
            json!({"account": "a:b", "at": at(0)}),
        )
        .await;
    assert_eq!(
        (s, error(&b)),
        (
            StatusCode::BAD_REQUEST,
            (Some("invalid_value"), Some("account"))
        )
    );
    let (s, b) = h
        .post(
            "/v1/stepup/tx/challenge",
            json!({"account": "jun", "at": at(0)}),
        )
        .await;
    assert_eq!(
        (s, error(&b)),
        (
            StatusCode::BAD_REQUEST,
            (Some("missing_field"), Some("transaction"))
        )
    );
    let (s, b) = h
        .post(
            "/v1/stepup/webauthn/register/finish",
            json!({"account": "jun", "ceremony_id": "00", "at": at(0), "credential": {"id": 5}}),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{b}");
    assert_eq!(error(&b).1.map(|p| p.starts_with("credential")), Some(true));
    let (s, b) = h.post("/v1/stepup/verify", json!([1, 2])).await;
    assert_eq!(
        (s, error(&b).0),
        (StatusCode::BAD_REQUEST, Some("invalid_type"))
    );
}
