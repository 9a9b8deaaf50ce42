//! The server clock bounds every challenge: an older `at` does not revive
//! an expired one, and a TOTP `at` far from the server clock is refused.

use super::{
    at, challenge, enroll_ocra, enroll_totp_for, payee_a, post, sign, totp_code, verify_tx, S0_MS,
    T0_MS,
};
use crate::common::Harness;
use axum::http::StatusCode;
use serde_json::json;

#[tokio::test]
async fn an_expired_tx_challenge_is_not_revived_by_an_older_at() {
    let h = Harness::new().await;
    let key = enroll_ocra(&h, "carol").await;
    let (s, b) = challenge(&h, "carol", 250_000, payee_a(), None, 10, S0_MS).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let id = b["challenge_id"].as_str().expect("id").to_string();
    let code = sign(&key, "carol", 250_000, payee_a(), &id);
    // `at` says 20 s after issue; the server clock says 5 minutes: expired.
    let body = verify_tx("carol", &id, &code, 250_000, payee_a(), 30, None);
    let (_, b) = post(&h, "/v1/stepup/verify", body, S0_MS + 300_000).await;
    assert_eq!(b["reason_code"], "expired", "{b}");
    // An older `at` and a server clock turned back do not revive it.
    let body = verify_tx("carol", &id, &code, 250_000, payee_a(), 15, None);
    let (_, b) = post(&h, "/v1/stepup/verify", body, S0_MS + 1_000).await;
    assert_eq!(b["reason_code"], "expired", "{b}");

    // An `at` before the challenge's own (a year earlier) is refused.
    let (_, b) = challenge(&h, "carol", 250_000, payee_a(), None, 400, S0_MS + 400_000).await;
    let id = b["challenge_id"].as_str().expect("id").to_string();
    let code = sign(&key, "carol", 250_000, payee_a(), &id);
    let body = verify_tx("carol", &id, &code, 250_000, payee_a(), -365 * 86_400, None);
    let (_, b) = post(&h, "/v1/stepup/verify", body, S0_MS + 401_000).await;
    assert_eq!(b["reason_code"], "before_issue", "{b}");
    let body = verify_tx("carol", &id, &code, 250_000, payee_a(), 410, None);
    let (_, b) = post(&h, "/v1/stepup/verify", body, S0_MS + 410_000).await;
    assert_eq!(b["result"], "success", "{b}");
}

#[tokio::test]
async fn totp_at_far_from_the_server_clock_is_refused() {
    let h = Harness::new().await;
    let seed = enroll_totp_for(&h, "bank", "tara").await;
    let body = json!({"account": "tara", "at": at(60), "method": "totp", "service": "bank",
        "code": totp_code(&seed, 60)});
    let (_, b) = post(&h, "/v1/stepup/verify", body.clone(), T0_MS + 3_600_000).await;
    assert_eq!(b["reason_code"], "clock_skew", "{b}");
    let (_, b) = post(&h, "/v1/stepup/verify", body, T0_MS + 75_000).await;
    assert_eq!(b["result"], "success", "{b}");
}
