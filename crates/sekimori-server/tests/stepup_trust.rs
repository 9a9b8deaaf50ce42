//! Issue 12: step-up that cannot be forged. The server clock bounds every
//! challenge, a transaction code vouches only for its own transaction's
//! event, a stranger cannot lock the holder out of TOTP, enrollments are
//! removed with a second factor or by an operator, and records are kept per
//! (service, account).

mod common;

use axum::http::{Method, StatusCode};
use common::Harness;
use sekimori_stepup::{device_response, Algorithm, Transaction};
use serde_json::{json, Value};

/// A fixed `at` in the past (2026-11-18), so codes are the same every run.
const T0_MS: i64 = 1_795_000_000_000;
/// The server clock at the first request: a fortnight later.
const S0_MS: i64 = T0_MS + 14 * 86_400_000;

fn at(seconds: i64) -> String {
    sekimori_event::format_rfc3339_ms(T0_MS + seconds * 1000)
}

/// Posts with the key `key`, the server's step-up clock at `server_ms`.
async fn post(h: &Harness, path: &str, body: Value, server_ms: i64) -> (StatusCode, Value) {
    h.app.stepup.clock.set(server_ms);
    let key = h.ingest.clone();
    h.call(Method::POST, path, Some(&key), body).await
}

fn error(b: &Value) -> Option<&str> {
    b["error"]["code"].as_str()
}

fn payee_a() -> &'static str {
    "bank:0009-456-7654321"
}

fn tx_json(amount_minor: i64, payee: &str) -> Value {
    json!({"amount_minor": amount_minor, "currency": "JPY", "payee": payee})
}

fn sign(key: &[u8], account: &str, amount_minor: i64, payee: &str, challenge_id: &str) -> String {
    let tx = Transaction {
        account: account.into(),
        amount_minor,
        currency: "JPY".into(),
        payee: payee.into(),
    };
    let nonce: [u8; 16] = hex::decode(challenge_id)
        .expect("hex")
        .try_into()
        .expect("16 bytes");
    device_response(key, &tx, &nonce).expect("ocra")
}

async fn enroll_ocra(h: &Harness, account: &str) -> Vec<u8> {
    let (s, b) = post(
        h,
        "/v1/stepup/ocra/enroll",
        json!({"account": account, "at": at(0), "service": "bank"}),
        S0_MS,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    hex::decode(b["device_key_hex"].as_str().expect("key")).expect("hex")
}

async fn enroll_totp(h: &Harness, service: &str, account: &str) -> Vec<u8> {
    let (s, b) = post(
        h,
        "/v1/stepup/totp/enroll",
        json!({"account": account, "at": at(0), "service": service}),
        T0_MS,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    sekimori_stepup::seed_from_otpauth_uri(b["otpauth_uri"].as_str().expect("uri"))
        .expect("seed")
        .expose()
        .to_vec()
}

/// Enrolls at `seconds` (the server clock with it), with a proof when given.
async fn enroll_at(
    h: &Harness,
    method: &str,
    account: &str,
    seconds: i64,
    proof: Option<&str>,
) -> (StatusCode, Value) {
    let mut body = json!({"account": account, "at": at(seconds), "service": "bank"});
    if let Some(p) = proof {
        body["proof_event"] = json!(p);
    }
    let path = format!("/v1/stepup/{method}/enroll");
    post(h, &path, body, T0_MS + seconds * 1000).await
}

fn totp_code(seed: &[u8], seconds: i64) -> String {
    let unix = u64::try_from(T0_MS / 1000 + seconds).expect("positive");
    sekimori_stepup::totp(Algorithm::Sha1, seed, unix, 30, 6).expect("totp")
}

fn wrong_code(seed: &[u8], seconds: i64) -> &'static str {
    if totp_code(seed, seconds) == "000000" {
        "111111"
    } else {
        "000000"
    }
}

async fn challenge(
    h: &Harness,
    account: &str,
    amount_minor: i64,
    payee: &str,
    for_event: Option<&str>,
    seconds: i64,
    server_ms: i64,
) -> (StatusCode, Value) {
    let mut body = json!({"account": account, "at": at(seconds), "service": "bank",
        "transaction": tx_json(amount_minor, payee)});
    if let Some(e) = for_event {
        body["for_event"] = json!(e);
    }
    post(h, "/v1/stepup/tx/challenge", body, server_ms).await
}

#[allow(clippy::too_many_arguments)]
fn verify_tx(
    account: &str,
    id: &str,
    code: &str,
    amount_minor: i64,
    payee: &str,
    seconds: i64,
    for_event: Option<&str>,
) -> Value {
    let mut body = json!({"account": account, "at": at(seconds), "method": "txsign",
        "challenge_id": id, "code": code, "transaction": tx_json(amount_minor, payee),
        "service": "bank"});
    if let Some(e) = for_event {
        body["for_event"] = json!(e);
    }
    body
}

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
    let seed = enroll_totp(&h, "bank", "tara").await;
    let body = json!({"account": "tara", "at": at(60), "method": "totp", "service": "bank",
        "code": totp_code(&seed, 60)});
    let (_, b) = post(&h, "/v1/stepup/verify", body.clone(), T0_MS + 3_600_000).await;
    assert_eq!(b["reason_code"], "clock_skew", "{b}");
    let (_, b) = post(&h, "/v1/stepup/verify", body, T0_MS + 75_000).await;
    assert_eq!(b["result"], "success", "{b}");
}

#[tokio::test]
async fn a_code_for_one_yen_to_b_does_not_vouch_for_a_big_transfer_to_a() {
    let h = Harness::new().await;
    let key = enroll_ocra(&h, "b-2001").await;
    let (s, b) = h
        .event(json!({"id": "t-big", "type": "transfer", "at": at(5), "service": "bank",
            "actor": {"device": "dev-x", "ip": "198.51.100.23"}, "account": "b-2001",
            "amount_minor": 900_000, "currency": "JPY",
            "destination": {"kind": "bank", "bank_code": "0009", "branch": "456", "number": "7654321"}}))
        .await;
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

fn verify_totp(account: &str, code: &str, seconds: i64, device: &str) -> Value {
    json!({"account": account, "at": at(seconds), "method": "totp", "code": code,
        "service": "bank", "actor": {"device": device, "ip": "203.0.113.5"}})
}

#[tokio::test]
async fn a_stranger_cannot_lock_the_holder_out_of_totp() {
    let h = Harness::new().await;
    let seed = enroll_totp(&h, "bank", "uma").await;
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
    let seed = enroll_totp(&h, "bank", "vic").await;
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

#[tokio::test]
async fn removing_an_enrollment_needs_another_factor_and_is_logged() {
    let h = Harness::new().await;
    let seed = enroll_totp(&h, "bank", "wen").await;
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

    let (_, b) = challenge(&h, "wen", 1, payee_a(), None, 50, ms(50)).await;
    let id = b["challenge_id"].as_str().expect("id").to_string();
    let code = sign(&key, "wen", 1, payee_a(), &id);
    let (_, b) = post(
        &h,
        "/v1/stepup/verify",
        verify_tx("wen", &id, &code, 1, payee_a(), 55, None),
        ms(55),
    )
    .await;
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
    let (_, b) = challenge(&h, "wen", 1, payee_a(), None, 100, ms(100)).await;
    let id = b["challenge_id"].as_str().expect("id").to_string();
    let code = sign(&key, "wen", 1, payee_a(), &id);
    let (_, b) = post(
        &h,
        "/v1/stepup/verify",
        verify_tx("wen", &id, &code, 1, payee_a(), 100, None),
        ms(100),
    )
    .await;
    let (s, b) = enroll_at(&h, "totp", "wen", 100, b["event_id"].as_str()).await;
    assert_eq!((s, &b["enrolled"]), (StatusCode::OK, &json!(true)), "{b}");
}

#[tokio::test]
async fn step_up_records_are_per_service() {
    let h = Harness::new().await;
    let seed = enroll_totp(&h, "netbank", "cust-42").await;
    let body = |service: &str| {
        json!({"account": "cust-42", "at": at(60), "method": "totp", "service": service,
            "code": totp_code(&seed, 60)})
    };
    let (_, b) = post(&h, "/v1/stepup/verify", body("qr-pay"), T0_MS + 60_000).await;
    assert_eq!(
        error(&b),
        Some("not_enrolled"),
        "qr-pay's cust-42 is another account: {b}"
    );
    enroll_totp(&h, "qr-pay", "cust-42").await;
    let (_, b) = post(&h, "/v1/stepup/verify", body("netbank"), T0_MS + 60_000).await;
    assert_eq!(b["result"], "success", "{b}");
    // The enrollment routes need the service too.
    let (s, b) = post(
        &h,
        "/v1/stepup/totp/enroll",
        json!({"account": "x", "at": at(0)}),
        T0_MS,
    )
    .await;
    assert_eq!(
        (s, b["error"]["path"].as_str()),
        (StatusCode::BAD_REQUEST, Some("service")),
        "{b}"
    );
}

#[tokio::test]
async fn legacy_records_are_adopted_only_by_the_legacy_service() {
    let dir_key = |h: &Harness| -> [u8; 32] {
        std::fs::read(h.dir.path().join("stepup.key"))
            .expect("key")
            .try_into()
            .expect("32 bytes")
    };
    let h = Harness::new().await;
    // A record as the server wrote it before records were kept per service.
    let mut rng = rand::rng();
    let sealer = sekimori_stepup::Sealer::new(&dir_key(&h));
    let mut record: sekimori_stepup::AccountRecord<Value> = Default::default();
    let uri = record
        .state
        .enroll_totp(&sealer, "old-1", "sekimori", T0_MS, &mut rng)
        .expect("enroll");
    let seed = sekimori_stepup::seed_from_otpauth_uri(uri.expose())
        .expect("seed")
        .expose()
        .to_vec();
    let bytes = serde_json::to_vec(&record).expect("json");
    h.app
        .store
        .submit(sekimori_store::Op::StepUp {
            entries: vec![("account/old-1".to_string(), Some(bytes))],
        })
        .await
        .expect("written")
        .expect("durable");
    let body = json!({"account": "old-1", "at": at(60), "method": "totp", "service": "bank",
        "code": totp_code(&seed, 60)});
    let (_, b) = post(&h, "/v1/stepup/verify", body.clone(), T0_MS + 60_000).await;
    assert_eq!(
        error(&b),
        Some("not_enrolled"),
        "without the flag no service adopts it: {b}"
    );

    let h = h
        .restart_with(|c| c.stepup_legacy_service = Some("bank".into()))
        .await;
    let (_, b) = post(&h, "/v1/stepup/verify", body, T0_MS + 60_000).await;
    assert_eq!(b["result"], "success", "{b}");
    assert!(
        h.app.store.stepup("account/old-1").expect("read").is_none(),
        "moved"
    );
    assert!(h
        .app
        .store
        .stepup("tenant/bank/old-1")
        .expect("read")
        .is_some());
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
    let (s, b) = h
        .event(json!({"id": "t-same", "type": "transfer", "at": at(5), "service": "bank",
            "actor": {"device": "dev-x", "ip": "198.51.100.23"}, "account": "b-2002",
            "amount_minor": 900_000, "currency": "JPY",
            "destination": {"kind": "bank", "bank_code": "0009", "branch": "456", "number": "7654321"}}))
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    // The bank's challenge for its own `t-same` binds the bank's transfer.
    let (s, b) = challenge(&h, "b-2002", 900_000, payee_a(), Some("t-same"), 10, S0_MS).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["for_event"], "t-same");
}
