//! ASN enrichment from the IP before an event is logged.

use crate::common::{self, Harness};
use crate::support::{enroll_totp, totp_code, verify_totp};
use axum::http::{Method, StatusCode};
use serde_json::json;

#[tokio::test]
async fn asn_is_filled_from_the_ip_before_the_event_is_logged() {
    let db = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../data/asn/sekimori-test-asn.mmdb"
    );
    let h = Harness::with_config(|c| c.asn_db = Some(db.into())).await;
    let mut e = common::pin_failure("asn-1", "kai", 0);
    e["actor"] = json!({"ip": "100.64.1.2"});
    let (s, b) = h.event(e).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(h.logged_event("asn-1").await["actor"]["asn"], 9605);

    // A sender's own ASN is kept; an address outside the database stays without.
    let mut given = common::pin_failure("asn-2", "kai", 1);
    given["actor"] = json!({"ip": "100.64.1.2", "asn": 1});
    let mut unknown = common::pin_failure("asn-3", "kai", 2);
    unknown["actor"] = json!({"ip": "8.8.8.8"});
    let mut kddi = common::pin_failure("asn-4", "kai", 3);
    kddi["actor"] = json!({"ip": "100.65.0.9"});
    let (s, b) = h
        .call(
            Method::POST,
            "/v1/events/batch",
            Some(&h.ingest),
            json!({"events": [given, unknown, kddi]}),
        )
        .await;
    assert_eq!((s, &b["accepted"]), (StatusCode::OK, &json!(3)), "{b}");
    assert_eq!(h.logged_event("asn-2").await["actor"]["asn"], 1);
    assert!(h.logged_event("asn-3").await["actor"].get("asn").is_none());
    assert_eq!(h.logged_event("asn-4").await["actor"]["asn"], 2516);

    // The server's own mfa.result events are enriched the same way.
    let seed = enroll_totp(&h, "kai").await;
    let (_, b) = h
        .post(
            "/v1/stepup/verify",
            verify_totp("kai", &totp_code(&seed, 10), 10),
        )
        .await;
    let event = h.logged_event(b["event_id"].as_str().expect("id")).await;
    assert_eq!(event["actor"]["asn"], 64498);

    // Without the database nothing is added.
    let h = Harness::new().await;
    let mut e = common::pin_failure("asn-5", "kai", 0);
    e["actor"] = json!({"ip": "100.64.1.2"});
    h.event(e).await;
    assert!(h.logged_event("asn-5").await["actor"].get("asn").is_none());
}
