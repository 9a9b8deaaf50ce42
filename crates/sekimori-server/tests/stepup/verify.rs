//! `/v1/stepup/verify` under attack: a verification that could only fail
//! (not enrolled, TOTP locked or backing off) is refused before anything is
//! checked or ingested; verifications in flight are bounded per key and
//! per account; and a stranger's wrong codes on a dormant account do not
//! keep its holder out beyond the NIST back-off design.

use crate::common::Harness;
use crate::support::{at, enroll_totp, error, totp_code, wrong_code};
use axum::http::StatusCode;
use sekimori_stepup::totp_backoff_ms;
use serde_json::{json, Value};

fn verify(account: &str, code: &str, seconds: i64, device: &str) -> Value {
    json!({"account": account, "at": at(seconds), "method": "totp", "code": code,
        "actor": {"device": device}})
}

/// How many events the log holds.
fn logged(h: &Harness) -> u64 {
    let mut seq = 1;
    while h.app.store.get(seq).expect("read").is_some() {
        seq += 1;
    }
    seq - 1
}

#[tokio::test]
async fn a_verification_that_can_only_fail_is_refused_before_it_is_logged() {
    let h = Harness::new().await;
    let before = logged(&h);
    for method in ["totp", "txsign", "webauthn"] {
        let mut body = json!({"account": "nobody", "at": at(10), "method": method});
        match method {
            "totp" => body["code"] = json!("123456"),
            "txsign" => {
                body["code"] = json!("12345678");
                body["challenge_id"] = json!("00");
                body["transaction"] =
                    json!({"amount_minor": 1, "currency": "JPY", "payee": "account:x"});
            }
            _ => {
                body["challenge_id"] = json!("00");
                body["credential"] = json!({"id": "AA", "rawId": "AA", "type": "public-key",
                    "response": {"authenticatorData": "AA", "clientDataJSON": "AA",
                                 "signature": "AA"}});
            }
        }
        let (s, b) = h.post("/v1/stepup/verify", body).await;
        assert_eq!(
            (s, error(&b).0),
            (StatusCode::CONFLICT, Some("not_enrolled")),
            "{method}: {b}"
        );
    }
    assert_eq!(logged(&h), before, "nothing was ingested");
}

#[tokio::test]
async fn verifications_in_flight_are_bounded_per_account() {
    let h = Harness::new().await;
    let seed = enroll_totp(&h, "ria").await;
    // The account is busy (its lock held): two verifications wait for it,
    let guard = h.app.stepup.lock("bank", "ria").await;
    let code = totp_code(&seed, 30);
    let (a, b, c) = tokio::join!(
        h.post("/v1/stepup/verify", verify("ria", &code, 30, "d-1")),
        h.post("/v1/stepup/verify", verify("ria", &code, 30, "d-1")),
        async {
            tokio::time::sleep(std::time::Duration::from_millis(300)).await;
            // a third is refused at once, without waiting or being logged,
            let third = h
                .post("/v1/stepup/verify", verify("ria", &code, 30, "d-2"))
                .await;
            drop(guard);
            third
        }
    );
    assert_eq!(
        (c.0, error(&c.1).0),
        (StatusCode::TOO_MANY_REQUESTS, Some("stepup_busy")),
        "{}",
        c.1
    );
    // and the two go through once the account is free (one code, once).
    let mut results = [a.1["result"].clone(), b.1["result"].clone()];
    results.sort_by_key(|v| v.to_string());
    assert_eq!(results, [json!("failure"), json!("success")], "{a:?} {b:?}");
    // The places are given back.
    let (s, b) = h
        .post(
            "/v1/stepup/verify",
            verify("ria", &totp_code(&seed, 60), 60, "d-1"),
        )
        .await;
    assert_eq!(
        (s, &b["result"]),
        (StatusCode::OK, &json!("success")),
        "{b}"
    );
}

#[tokio::test]
async fn a_stranger_cannot_keep_the_holder_of_a_dormant_account_out() {
    let h = Harness::new().await;
    let seed = enroll_totp(&h, "sol").await;
    let (_, b) = h
        .post(
            "/v1/stepup/verify",
            verify("sol", &totp_code(&seed, 30), 30, "d-holder"),
        )
        .await;
    assert_eq!(b["result"], "success", "{b}");
    // A week of silence; then a stranger tries wrong codes from a new
    // device each time (more devices than are remembered), each as soon as
    // the account's back-off allows.
    let mut t = 30 + 7 * 86_400;
    for i in 0..40u32 {
        let (s, b) = h
            .post(
                "/v1/stepup/verify",
                verify("sol", wrong_code(&seed, t), t, &format!("d-evil-{i}")),
            )
            .await;
        assert_eq!(
            (s, &b["reason_code"]),
            (StatusCode::OK, &json!("wrong_code")),
            "{i}: {b}"
        );
        t += totp_backoff_ms(i + 1) / 1000 + 1;
    }
    // Right after the last failure the account backs off: a new device is
    // refused (not checked, not logged) with the back-off's end,
    let t = t - 30;
    let (s, b) = h
        .post(
            "/v1/stepup/verify",
            verify("sol", &totp_code(&seed, t), t, "d-new"),
        )
        .await;
    assert_eq!(
        (s, error(&b).0),
        (StatusCode::TOO_MANY_REQUESTS, Some("totp_throttled")),
        "{b}"
    );
    assert!(
        b["error"]["details"]["retry_after_s"].as_i64() > Some(0),
        "{b}"
    );
    // but the holder's device, familiar since its pass a week ago, is not,
    let (_, b) = h
        .post(
            "/v1/stepup/verify",
            verify("sol", &totp_code(&seed, t), t, "d-holder"),
        )
        .await;
    assert_eq!(b["result"], "success", "{b}");
    // and its pass clears the account's count: the stranger starts over,
    // far from the 100-failure lock.
    let t = t + 30;
    let (s, b) = h
        .post(
            "/v1/stepup/verify",
            verify("sol", wrong_code(&seed, t), t, "d-evil-99"),
        )
        .await;
    assert_eq!(
        (s, &b["reason_code"]),
        (StatusCode::OK, &json!("wrong_code")),
        "{b}"
    );
    let record = h.app.stepup.load("bank", "sol").await.expect("record");
    let totp = record
        .record
        .state
        .totp_enrollment("sol")
        .expect("enrolled");
    assert_eq!(totp.failed_attempts, 1);
}

#[tokio::test]
async fn verifications_that_can_only_fail_take_no_place_in_flight() {
    let h = Harness::new().await;
    // The account `nobody` (no factor) is busy, its lock held. A stranger's
    // verifications for it are refused at once, before they take a place in
    // flight or wait for the lock: they never crowd out a holder.
    let guard = h.app.stepup.lock("bank", "nobody").await;
    let strangers = async {
        let mut answers = Vec::new();
        for i in 0..5 {
            let body = verify("nobody", "000000", 30, &format!("x-{i}"));
            answers.push(h.post("/v1/stepup/verify", body).await);
        }
        answers
    };
    let answers = tokio::time::timeout(std::time::Duration::from_secs(20), strangers)
        .await
        .expect("refused without waiting for the account's lock");
    drop(guard);
    for (s, b) in answers {
        assert_eq!(
            (s, error(&b).0),
            (StatusCode::CONFLICT, Some("not_enrolled")),
            "{b}"
        );
    }
}
