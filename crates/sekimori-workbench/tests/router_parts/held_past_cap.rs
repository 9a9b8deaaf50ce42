//! The attacker's review 2026-12-05b, finding 6: a held payment after a
//! case's first 1,000 events is kept, decided, and blocks the close until
//! it is (before: only counted, so decide answered 404 and the case closed
//! with the payment still held).

use super::*;
use sekimori_workbench::cases::MAX_CASE_EVENTS;

#[tokio::test]
async fn a_held_transfer_after_a_full_case_is_kept_and_blocks_the_close() {
    let b = Bench::new();
    let blocked = "203.0.113.66";
    b.host
        .engine
        .lock()
        .expect("lock")
        .0
        .set_list("blocked_ips", [blocked.to_string()].into())
        .expect("declared");
    for i in 0..MAX_CASE_EVENTS + 5 {
        let action = b
            .event(json!({"id": format!("probe-{i}"), "type": "transfer",
                "service": "netbank", "account": "acct-900", "amount_minor": 100,
                "currency": "JPY", "at": "2026-11-23T02:30:00Z", "actor": {"ip": blocked},
                "destination": {"kind": "bank", "bank_code": "0009", "branch": "200",
                "number": "7100001"}}))
            .await;
        assert_eq!(action, "deny");
    }
    assert_eq!(held_transfer(&b).await, "review");
    let id = {
        let index = b.wb.sync().await.expect("index");
        let id = index.case_of_event("netbank", "xfer-1").expect("in a case");
        let c = index.case(id).expect("case");
        assert_eq!(c.events.len(), MAX_CASE_EVENTS);
        assert!(c
            .events
            .iter()
            .any(|e| e.event_id == "xfer-1" && e.is_held()));
        assert_eq!(c.more_events, 6, "5 denies past the cap, 1 made room");
        assert_eq!(index.undecided_held(id), 1);
        id
    };
    let admin = b.analyst("root", Role::Admin);
    let token = b.api_sign_in("root", &admin).await;
    let (status, _) = b
        .api("POST", &format!("/v1/cases/{id}/claim"), &token, None)
        .await;
    assert_eq!(status, StatusCode::OK);
    let close = json!({"disposition": "confirmed_fraud", "note": "a blocked address"});
    let (status, body) = b
        .api(
            "POST",
            &format!("/v1/cases/{id}/close"),
            &token,
            Some(close.clone()),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    let decline = json!({"event_id": "xfer-1", "outcome": "decline", "reason": "fraud"});
    let (status, body) = b
        .api(
            "POST",
            &format!("/v1/cases/{id}/decide"),
            &token,
            Some(decline),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let notices = b.host.notices.lock().expect("lock").clone();
    assert_eq!(notices.len(), 1, "the service hears of its payment");
    assert_eq!(notices[0].kind, "review.declined");
    let (status, body) = b
        .api(
            "POST",
            &format!("/v1/cases/{id}/close"),
            &token,
            Some(close),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
}
