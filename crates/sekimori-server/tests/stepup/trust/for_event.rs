//! A transaction code vouches only for its own transaction's event, the
//! service's own event when another service used the same id.

use super::{at, challenge, enroll_ocra, error, payee_a, post, sign, verify_tx, S0_MS};
use crate::common::Harness;
use axum::http::StatusCode;
use serde_json::{json, Value};

#[tokio::test]
async fn a_code_for_one_yen_to_b_does_not_vouch_for_a_big_transfer_to_a() {
    let h = Harness::new().await;
    let key = enroll_ocra(&h, "b-2001").await;
    let (s, b) = h.event(big_transfer("t-big", "b-2001")).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let payee_b = "bank:0001-111-1111111";

    // Issued for the big transfer, a 1-yen transaction is refused.
    let (s, b) = challenge(&h, "b-2001", 1, payee_b, Some("t-big"), 10, S0_MS).await;
    assert_eq!(
        (s, error(&b)),
        (StatusCode::CONFLICT, Some("for_event_mismatch")),
        "{b}"
    );
    let (s, b) = challenge(&h, "b-2001", 1, payee_b, Some("no-such"), 10, S0_MS).await;
    assert_eq!(
        (s, error(&b)),
        (StatusCode::CONFLICT, Some("for_event_mismatch")),
        "{b}"
    );

    // A 1-yen code for payee B, presented for the big transfer: wrong_event,
    // and the mfa.result names no event (it releases nothing).
    let (_, b) = challenge(&h, "b-2001", 1, payee_b, None, 10, S0_MS).await;
    let id = b["challenge_id"].as_str().expect("id").to_string();
    let code = sign(&key, "b-2001", 1, payee_b, &id);
    let body = verify_tx("b-2001", &id, &code, 1, payee_b, 20, Some("t-big"));
    let (_, b) = post(&h, "/v1/stepup/verify", body, S0_MS + 10_000).await;
    assert_eq!(
        (&b["result"], &b["reason_code"]),
        (&json!("failure"), &json!("wrong_event")),
        "{b}"
    );
    let logged = h.logged_event(b["event_id"].as_str().expect("id")).await;
    assert!(logged.get("for_event").is_none(), "{logged}");
    // The code was not consumed: it still passes for its own transaction (naming nothing).
    let body = verify_tx("b-2001", &id, &code, 1, payee_b, 25, None);
    let (_, b) = post(&h, "/v1/stepup/verify", body, S0_MS + 12_000).await;
    assert_eq!(b["result"], "success", "{b}");

    // The right transaction, bound at issue: success names the event...
    let (s, b) = challenge(
        &h,
        "b-2001",
        900_000,
        payee_a(),
        Some("t-big"),
        30,
        S0_MS + 20_000,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["for_event"], "t-big");
    let id = b["challenge_id"].as_str().expect("id").to_string();
    let code = sign(&key, "b-2001", 900_000, payee_a(), &id);
    // ...and cannot be redirected to another event.
    let body = verify_tx(
        "b-2001",
        &id,
        &code,
        900_000,
        payee_a(),
        40,
        Some("t-other"),
    );
    let (_, b) = post(&h, "/v1/stepup/verify", body, S0_MS + 30_000).await;
    assert_eq!(b["reason_code"], "wrong_event", "{b}");
    let body = verify_tx("b-2001", &id, &code, 900_000, payee_a(), 41, None);
    let (_, b) = post(&h, "/v1/stepup/verify", body, S0_MS + 31_000).await;
    assert_eq!(b["result"], "success", "{b}");
    let logged = h.logged_event(b["event_id"].as_str().expect("id")).await;
    assert_eq!(logged["for_event"], "t-big", "{logged}");
}

#[tokio::test]
async fn for_event_is_the_services_own_event_when_another_service_used_the_id() {
    let h = Harness::new().await;
    enroll_ocra(&h, "b-2002").await;
    // Service `aaa` logs `t-same` first (ids are unique per service only).
    let (s, b) = h
        .event(
            json!({"id": "t-same", "type": "login.attempt", "at": at(4), "service": "aaa",
            "account": "b-2002", "factor": "passkey", "result": "success"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let (s, b) = h.event(big_transfer("t-same", "b-2002")).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    // The bank's challenge for its own `t-same` binds the bank's transfer.
    let (s, b) = challenge(&h, "b-2002", 900_000, payee_a(), Some("t-same"), 10, S0_MS).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["for_event"], "t-same");
}

/// Service bank's transfer `id` of 900,000 yen from `account` to payee A's
/// bank account, at `at(5)`.
fn big_transfer(id: &str, account: &str) -> Value {
    json!({"id": id, "type": "transfer", "at": at(5), "service": "bank",
        "actor": {"device": "dev-x", "ip": "198.51.100.23"}, "account": account,
        "amount_minor": 900_000, "currency": "JPY",
        "destination": {"kind": "bank", "bank_code": "0009", "branch": "456", "number": "7654321"}})
}
