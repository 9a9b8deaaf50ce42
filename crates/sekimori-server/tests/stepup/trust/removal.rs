//! Removing an enrollment needs a recent pass of another factor, used up,
//! and is logged as a `credential.change`.

use super::{
    at, challenge, enroll_at, enroll_totp_for, error, payee_a, post, sign, totp_code, verify_totp,
    verify_tx, T0_MS,
};
use crate::common::Harness;
use axum::http::StatusCode;
use serde_json::{json, Value};

#[tokio::test]
async fn removing_an_enrollment_needs_another_factor_and_is_logged() {
    let h = Harness::new().await;
    let seed = enroll_totp_for(&h, "bank", "wen").await;
    let ms = |s: i64| T0_MS + s * 1000;
    // A second factor is added with a pass of the first.
    let (_, b) = post(
        &h,
        "/v1/stepup/verify",
        verify_totp("wen", &totp_code(&seed, 10), 10, "d-1"),
        ms(10),
    )
    .await;
    assert_eq!(b["result"], "success", "{b}");
    let (s, b) = enroll_at(&h, "ocra", "wen", 15, b["event_id"].as_str()).await;
    assert_eq!((s, &b["enrolled"]), (StatusCode::OK, &json!(true)), "{b}");
    let key = hex::decode(b["device_key_hex"].as_str().expect("key")).expect("hex");
    let (_, b) = post(
        &h,
        "/v1/stepup/verify",
        verify_totp("wen", &totp_code(&seed, 30), 30, "d-1"),
        ms(30),
    )
    .await;
    let totp_pass = b["event_id"].as_str().expect("id").to_string();
    let remove = |proof: &str, s: i64| json!({"account": "wen", "at": at(s), "service": "bank", "method": "totp", "proof_event": proof});
    let (s, b) = post(
        &h,
        "/v1/stepup/enrollments/remove",
        remove(&totp_pass, 40),
        ms(40),
    )
    .await;
    assert_eq!(
        (s, error(&b)),
        (StatusCode::FORBIDDEN, Some("proof_required")),
        "same method: {b}"
    );
    let (s, b) = post(
        &h,
        "/v1/stepup/enrollments/remove",
        remove("stepup-nope", 40),
        ms(40),
    )
    .await;
    assert_eq!(
        (s, error(&b)),
        (StatusCode::FORBIDDEN, Some("proof_required")),
        "{b}"
    );

    let b = one_yen_pass(&h, &key, "wen", 50, 55).await;
    assert_eq!(b["result"], "success", "{b}");
    let tx_pass = b["event_id"].as_str().expect("id").to_string();
    // Too old by the server clock.
    let (s, b) = post(
        &h,
        "/v1/stepup/enrollments/remove",
        remove(&tx_pass, 60),
        ms(55 + 301),
    )
    .await;
    assert_eq!(
        (s, error(&b)),
        (StatusCode::FORBIDDEN, Some("proof_required")),
        "{b}"
    );
    let (s, b) = post(
        &h,
        "/v1/stepup/enrollments/remove",
        remove(&tx_pass, 60),
        ms(60),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["removed"], true, "{b}");
    let change = h.logged_event(b["event_id"].as_str().expect("id")).await;
    assert_eq!(
        (
            &change["type"],
            &change["credential"],
            &change["attrs"]["by"]
        ),
        (
            &json!("credential.change"),
            &json!("otp_seed"),
            &json!("holder")
        )
    );
    // A proof is single use; the seed is gone and TOTP can be enrolled again.
    let (s, b) = post(
        &h,
        "/v1/stepup/enrollments/remove",
        remove(&tx_pass, 61),
        ms(61),
    )
    .await;
    assert_eq!(
        (s, error(&b)),
        (StatusCode::FORBIDDEN, Some("proof_required")),
        "{b}"
    );
    let (_, b) = post(
        &h,
        "/v1/stepup/verify",
        verify_totp("wen", &totp_code(&seed, 90), 90, "d-1"),
        ms(90),
    )
    .await;
    assert_eq!(error(&b), Some("not_enrolled"), "{b}");
    // TOTP again: wen still has the device, so it takes a pass of it.
    let (s, b) = enroll_at(&h, "totp", "wen", 100, None).await;
    assert_eq!(
        (s, error(&b)),
        (StatusCode::FORBIDDEN, Some("proof_required")),
        "{b}"
    );
    let b = one_yen_pass(&h, &key, "wen", 100, 100).await;
    let (s, b) = enroll_at(&h, "totp", "wen", 100, b["event_id"].as_str()).await;
    assert_eq!((s, &b["enrolled"]), (StatusCode::OK, &json!(true)), "{b}");
}

/// A one-yen transaction to payee A signed on `account`'s device: the
/// challenge issued at `issued` and verified at `verified` (seconds, the
/// server clock with them); returns the verification's answer.
async fn one_yen_pass(h: &Harness, key: &[u8], account: &str, issued: i64, verified: i64) -> Value {
    let ms = |s: i64| T0_MS + s * 1000;
    let (_, b) = challenge(h, account, 1, payee_a(), None, issued, ms(issued)).await;
    let id = b["challenge_id"].as_str().expect("id").to_string();
    let code = sign(key, account, 1, payee_a(), &id);
    let body = verify_tx(account, &id, &code, 1, payee_a(), verified, None);
    post(h, "/v1/stepup/verify", body, ms(verified)).await.1
}
