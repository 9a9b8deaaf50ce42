//! Step-up records are kept per (service, account); a legacy record is
//! adopted only by the service `--stepup-legacy-service` names.

use super::{at, enroll_totp_for, error, post, totp_code, T0_MS};
use crate::common::Harness;
use axum::http::StatusCode;
use serde_json::{json, Value};

#[tokio::test]
async fn step_up_records_are_per_service() {
    let h = Harness::new().await;
    let seed = enroll_totp_for(&h, "netbank", "cust-42").await;
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
    enroll_totp_for(&h, "qr-pay", "cust-42").await;
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
