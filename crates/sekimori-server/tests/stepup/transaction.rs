//! Transaction signing (OCRA): a code is bound to its amount and payee,
//! single use, expires, and dies after five failures.

use crate::common::Harness;
use crate::support::{at, error, sign, tx, AMOUNT_MINOR};
use axum::http::StatusCode;
use serde_json::{json, Value};

/// The device's answer for the usual amount (`AMOUNT_MINOR`) to `payee`.
pub fn device_code(key: &[u8], account: &str, payee: &str, challenge_id: &str) -> String {
    sign(key, account, AMOUNT_MINOR, payee, challenge_id)
}

pub fn verify_tx(account: &str, challenge: &str, code: &str, payee: &str, seconds: i64) -> Value {
    json!({"account": account, "at": at(seconds), "method": "txsign", "challenge_id": challenge,
           "code": code, "transaction": tx(payee), "service": "bank"})
}

pub async fn enroll_ocra(h: &Harness, account: &str) -> Vec<u8> {
    let (s, b) = h
        .post(
            "/v1/stepup/ocra/enroll",
            json!({"account": account, "at": at(0)}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["suite"], "OCRA-1:HOTP-SHA256-8:QH64");
    hex::decode(b["device_key_hex"].as_str().expect("key")).expect("hex")
}

pub async fn tx_challenge(h: &Harness, account: &str, payee: &str, seconds: i64) -> String {
    let (s, b) = h
        .post(
            "/v1/stepup/tx/challenge",
            json!({"account": account, "at": at(seconds), "transaction": tx(payee)}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["question"].as_str().map(str::len), Some(64));
    assert_eq!(b["expires_at"], json!(at(seconds + 300)));
    b["challenge_id"].as_str().expect("id").to_string()
}

#[tokio::test]
async fn transaction_signing_is_bound_to_amount_and_payee_and_single_use() {
    let h = Harness::new().await;
    let (s, b) = h
        .post(
            "/v1/stepup/tx/challenge",
            json!({"account": "carol", "at": at(0), "transaction": tx("bank:0001-123-4567890")}),
        )
        .await;
    assert_eq!(
        (s, error(&b)),
        (
            StatusCode::CONFLICT,
            (Some("not_enrolled"), Some("account"))
        )
    );
    let key = enroll_ocra(&h, "carol").await;
    let (s, b) = h
        .post(
            "/v1/stepup/ocra/enroll",
            json!({"account": "carol", "at": at(1)}),
        )
        .await;
    assert_eq!(
        (s, error(&b).0),
        (StatusCode::CONFLICT, Some("already_enrolled"))
    );

    let payee = "bank:0001-123-4567890";
    let id = tx_challenge(&h, "carol", payee, 10).await;
    let code = device_code(&key, "carol", payee, &id);
    let (_, b) = h
        .post(
            "/v1/stepup/verify",
            verify_tx("carol", &id, &code, "bank:0009-999-0000001", 20),
        )
        .await;
    assert_eq!(
        (&b["result"], &b["reason_code"]),
        (&json!("failure"), &json!("tx_changed"))
    );
    let (_, b) = h
        .post(
            "/v1/stepup/verify",
            verify_tx("carol", &id, &code, payee, 30),
        )
        .await;
    assert_eq!(b["result"], "success", "{b}");
    assert_eq!(b["challenge_id"], json!(id));
    let event = h.logged_event(b["event_id"].as_str().expect("id")).await;
    assert_eq!(
        (&event["method"], &event["challenge_id"]),
        (&json!("txsign"), &json!(id))
    );
    let (_, b) = h
        .post(
            "/v1/stepup/verify",
            verify_tx("carol", &id, &code, payee, 40),
        )
        .await;
    assert_eq!(b["reason_code"], "used");

    // Another challenge answered too late, and one never issued to this account.
    let late = tx_challenge(&h, "carol", payee, 100).await;
    let code = device_code(&key, "carol", payee, &late);
    let (_, b) = h
        .post(
            "/v1/stepup/verify",
            verify_tx("carol", &late, &code, payee, 400),
        )
        .await;
    assert_eq!(
        (&b["result"], &b["reason_code"]),
        (&json!("failure"), &json!("expired"))
    );
    assert_eq!(
        h.logged_event(b["event_id"].as_str().expect("id")).await["result"],
        "expired"
    );
    enroll_ocra(&h, "dave").await;
    let (_, b) = h
        .post(
            "/v1/stepup/verify",
            verify_tx("dave", &id, &code, payee, 40),
        )
        .await;
    assert_eq!(b["reason_code"], "unknown_challenge");

    // Five failures kill a challenge.
    let id = tx_challenge(&h, "carol", payee, 500).await;
    for i in 0..5 {
        let (_, b) = h
            .post(
                "/v1/stepup/verify",
                verify_tx("carol", &id, "00000000", payee, 501 + i),
            )
            .await;
        assert_eq!(b["reason_code"], "wrong_code");
    }
    let code = device_code(&key, "carol", payee, &id);
    let (_, b) = h
        .post(
            "/v1/stepup/verify",
            verify_tx("carol", &id, &code, payee, 510),
        )
        .await;
    assert_eq!(b["reason_code"], "too_many_failures");
}
