//! TOTP: enroll, verify, a replayed step, a wrong code, an account not enrolled.

use crate::common::Harness;
use crate::support::{at, enroll_totp, error, totp_code, verify_totp};
use axum::http::StatusCode;
use serde_json::json;

#[tokio::test]
async fn totp_enroll_verify_and_replay() {
    let h = Harness::new().await;
    let seed = enroll_totp(&h, "alice").await;
    let (s, b) = h
        .post(
            "/v1/stepup/totp/enroll",
            json!({"account": "alice", "at": at(1)}),
        )
        .await;
    assert_eq!(
        (s, error(&b)),
        (StatusCode::CONFLICT, (Some("already_enrolled"), None))
    );

    let code = totp_code(&seed, 60);
    let (s, b) = h
        .post("/v1/stepup/verify", verify_totp("alice", &code, 60))
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["result"], "success");
    assert_eq!(b["strong"], true);
    assert!(b.get("reason_code").is_none());
    let event_id = b["event_id"].as_str().expect("event id");
    assert!(event_id.starts_with("stepup-"));
    assert_eq!(b["decision"]["event_type"], "mfa.result");
    let logged = h.durable_decision(event_id).await;
    assert_eq!(logged["event_type"], "mfa.result");
    let event = h.logged_event(event_id).await;
    assert_eq!(
        (
            &event["method"],
            &event["result"],
            &event["service"],
            &event["account"]
        ),
        (
            &json!("totp"),
            &json!("success"),
            &json!("bank"),
            &json!("alice")
        )
    );
    assert_eq!(event["actor"]["device"], "d-1");
    assert!(
        !event.to_string().contains(&code),
        "the code is never logged"
    );

    // The same code again, even a step later: refused as a replay.
    let (_, b) = h
        .post("/v1/stepup/verify", verify_totp("alice", &code, 70))
        .await;
    assert_eq!(
        (&b["result"], &b["reason_code"]),
        (&json!("failure"), &json!("replayed"))
    );
    let wrong = if code == "000000" { "000001" } else { "000000" };
    let (_, b) = h
        .post("/v1/stepup/verify", verify_totp("alice", wrong, 90))
        .await;
    assert_eq!(b["reason_code"], "wrong_code");
    let failed = h.logged_event(b["event_id"].as_str().expect("id")).await;
    assert_eq!(failed["result"], "failure");
    let (_, b) = h
        .post("/v1/stepup/verify", verify_totp("bob", &code, 90))
        .await;
    assert_eq!(error(&b), (Some("not_enrolled"), Some("method")), "{b}");
}
