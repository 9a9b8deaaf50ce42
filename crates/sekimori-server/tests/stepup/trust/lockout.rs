//! A stranger cannot lock the holder out of TOTP; an operator resets a
//! TOTP locked by a hundred failures.

use super::{at, enroll_totp_for, error, post, totp_code, verify_totp, wrong_code, T0_MS};
use crate::common::Harness;
use axum::http::{Method, StatusCode};
use serde_json::json;

#[tokio::test]
async fn a_stranger_cannot_lock_the_holder_out_of_totp() {
    let h = Harness::new().await;
    let seed = enroll_totp_for(&h, "bank", "uma").await;
    let ms = |s: i64| T0_MS + s * 1000;
    let (_, b) = post(
        &h,
        "/v1/stepup/verify",
        verify_totp("uma", &totp_code(&seed, 30), 30, "d-holder"),
        ms(30),
    )
    .await;
    assert_eq!(b["result"], "success", "{b}");
    // One wrong code every 15 minutes, for two hours, from another device.
    let mut t = 30;
    for _ in 0..8 {
        t += 900;
        let (_, b) = post(
            &h,
            "/v1/stepup/verify",
            verify_totp("uma", wrong_code(&seed, t), t, "d-evil"),
            ms(t),
        )
        .await;
        assert_eq!(b["result"], "failure", "{b}");
    }
    // 30 minutes later... no: right away, a device that never passed is held back,
    let t = t + 60;
    let (_, b) = post(
        &h,
        "/v1/stepup/verify",
        verify_totp("uma", &totp_code(&seed, t), t, "d-new"),
        ms(t),
    )
    .await;
    // refused before it is checked or logged, with the back-off's end.
    assert_eq!(error(&b), Some("totp_throttled"), "{b}");
    assert!(b.get("event_id").is_none(), "{b}");
    // the holder's own device with the right code passes.
    let t = t + 30;
    let (_, b) = post(
        &h,
        "/v1/stepup/verify",
        verify_totp("uma", &totp_code(&seed, t), t, "d-holder"),
        ms(t),
    )
    .await;
    assert_eq!(b["result"], "success", "{b}");
}

#[tokio::test]
async fn an_admin_resets_a_totp_locked_by_a_hundred_failures() {
    let h = Harness::new().await;
    let seed = enroll_totp_for(&h, "bank", "vic").await;
    let mut t = 0;
    for i in 0..100 {
        t += 3_600;
        let (_, b) = post(
            &h,
            "/v1/stepup/verify",
            verify_totp("vic", wrong_code(&seed, t), t, &format!("d-{i}")),
            T0_MS + t * 1000,
        )
        .await;
        assert_eq!(b["reason_code"], "wrong_code", "{i}: {b}");
    }
    t += 3_600;
    let (_, b) = post(
        &h,
        "/v1/stepup/verify",
        verify_totp("vic", &totp_code(&seed, t), t, "d-0"),
        T0_MS + t * 1000,
    )
    .await;
    assert_eq!(error(&b), Some("totp_locked"), "{b}");
    let reset = json!({"account": "vic", "at": at(t), "service": "bank", "reason": "holder called, id checked"});
    let (s, b) = post(
        &h,
        "/v1/stepup/enrollments/reset",
        reset.clone(),
        T0_MS + t * 1000,
    )
    .await;
    assert_eq!(
        (s, error(&b)),
        (StatusCode::FORBIDDEN, Some("insufficient_scope")),
        "{b}"
    );
    let admin = h.admin.clone();
    let (s, b) = h
        .call(
            Method::POST,
            "/v1/stepup/enrollments/reset",
            Some(&admin),
            reset,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["throttle_reset"], true);
    let change = h
        .logged_event(b["events"][0]["event_id"].as_str().expect("id"))
        .await;
    assert_eq!(
        (&change["type"], &change["attrs"]["change"]),
        (&json!("credential.change"), &json!("reset"))
    );
    let t = t + 30;
    let (_, b) = post(
        &h,
        "/v1/stepup/verify",
        verify_totp("vic", &totp_code(&seed, t), t, "d-0"),
        T0_MS + t * 1000,
    )
    .await;
    assert_eq!(b["result"], "success", "{b}");
}
