//! Kill switches through the API: `POST /v1/holds` places a freeze or halt as
//! a rule would; it is logged, replayed after a restart, listed and lifted.

mod common;

use axum::http::{Method, StatusCode};
use common::Harness;
use serde_json::{json, Value};

fn charge(id: &str, currency: &str, n: i64) -> Value {
    json!({"id": id, "type": "charge", "service": "wallet",
           "at": sekimori_event::format_rfc3339_ms(1_795_000_000_000 + n * 1000),
           "account": "a1", "amount_minor": 100, "currency": currency,
           "source": {"kind": "bank", "bank_code": "0001", "branch": "001", "number": "0000001"}})
}

fn xem_halt(reason: &str) -> Value {
    json!({"hold": {"scope": "asset", "key": "XEM"}, "action": "halt", "reason": reason})
}

async fn place(h: &Harness, body: Value) -> (StatusCode, Value) {
    h.call(Method::POST, "/v1/holds", Some(&h.admin), body)
        .await
}

async fn holds(h: &Harness) -> Value {
    h.call(Method::GET, "/v1/holds", Some(&h.read), Value::Null)
        .await
        .1
}

fn error(b: &Value) -> (Option<&str>, Option<&str>) {
    (b["error"]["code"].as_str(), b["error"]["path"].as_str())
}

#[tokio::test]
async fn an_asset_halt_placed_through_the_api_holds_across_restarts_until_lifted() {
    let h = Harness::new().await;
    let before = sekimori_server::ledger::wall_clock_ms();
    let (s, b) = place(&h, xem_halt("hot wallet key leaked")).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(
        (&b["placed"], &b["action"], &b["by"]),
        (
            &json!({"service": "*", "scope": "asset", "key": "XEM"}),
            &json!("halt"),
            &json!("admin")
        )
    );

    let (_, d) = h.event(charge("c1", "XEM", 0)).await;
    assert_eq!(d["decision"]["action"], json!("halt"), "{d}");
    assert_eq!(
        d["decision"]["reasons"][0]["rule"],
        json!("hold.asset_halted")
    );
    let (_, other) = h.event(charge("c2", "JPY", 1)).await;
    assert_ne!(
        other["decision"]["action"],
        json!("halt"),
        "other assets flow"
    );

    let listed = holds(&h).await;
    let hold = &listed["holds"][0];
    assert_eq!(
        (&hold["by"], &hold["reason"], &hold["action"]),
        (
            &json!("admin"),
            &json!("hot wallet key leaked"),
            &json!("halt")
        )
    );
    assert!(
        hold.get("rule").is_none() && hold.get("event_id").is_none(),
        "{hold}"
    );
    let since =
        sekimori_event::parse_rfc3339_ms(hold["since"].as_str().expect("since")).expect("RFC 3339");
    assert!(
        (before..before + 60_000).contains(&since),
        "the request's time"
    );

    let (s, b) = place(&h, xem_halt("again")).await;
    assert_eq!(
        (s.as_u16(), error(&b)),
        (409, (Some("hold_exists"), Some("hold")))
    );
    assert_eq!(
        b["error"]["details"]["reason"],
        json!("hot wallet key leaked")
    );

    // The log alone (no snapshot) rebuilds the hold and the same decisions.
    let h = h.restart().await;
    assert_eq!(h.app.ledger.lock().await.replay_mismatches, 0);
    assert_eq!(
        holds(&h).await,
        listed,
        "who, when and why come from the log"
    );
    let (_, d) = h.event(charge("c3", "XEM", 2)).await;
    assert_eq!(d["decision"]["action"], json!("halt"));

    // And so does a snapshot.
    h.app.snapshot().await.expect("snapshot");
    let h = h.restart().await;
    assert_eq!(holds(&h).await, listed);

    let lift = json!({"hold": {"scope": "asset", "key": "XEM"}, "reason": "keys rotated"});
    let (s, _) = h
        .call(Method::POST, "/v1/holds/lift", Some(&h.admin), lift)
        .await;
    assert_eq!(s, StatusCode::OK);
    let (_, d) = h.event(charge("c4", "XEM", 3)).await;
    assert_ne!(d["decision"]["action"], json!("halt"), "{d}");
    let h = h.restart().await;
    assert_eq!(h.app.ledger.lock().await.replay_mismatches, 0);
    assert_eq!(holds(&h).await, json!({"holds": []}));
}

#[tokio::test]
async fn an_account_freeze_answers_the_accounts_events() {
    let h = Harness::new().await;
    let body = json!({"hold": {"scope": "account", "key": "a1"}, "action": "freeze",
                      "reason": "holder called: phone stolen"});
    assert_eq!(place(&h, body).await.0, StatusCode::OK);
    let (_, d) = h.event(charge("c1", "JPY", 0)).await;
    assert_eq!(d["decision"]["action"], json!("freeze"));
    assert_eq!(
        d["decision"]["reasons"][0]["rule"],
        json!("hold.account_frozen")
    );
    assert!(d["decision"]["reasons"][0]["reason"]
        .as_str()
        .is_some_and(|r| r.contains("phone stolen")));
}

#[tokio::test]
async fn bad_placements_are_refused_with_code_and_path() {
    let h = Harness::new().await;
    let cases = [
        (
            json!({"hold": {"scope": "asset", "key": "XEM"}, "action": "freeze", "reason": "x"}),
            422,
            "invalid_hold_action",
            "action",
        ),
        (
            json!({"hold": {"scope": "account", "key": "a1"}, "action": "halt", "reason": "x"}),
            422,
            "invalid_hold_action",
            "action",
        ),
        (xem_halt("   "), 400, "invalid_value", "reason"),
        (
            json!({"hold": {"scope": "asset", "key": "XEM"}, "action": "deny", "reason": "x"}),
            400,
            "invalid_value",
            "action",
        ),
        (
            json!({"hold": {"scope": "planet", "key": "XEM"}, "action": "halt", "reason": "x"}),
            400,
            "invalid_value",
            "hold.scope",
        ),
        (
            json!({"hold": {"scope": "asset", "key": "xem"}, "action": "halt", "reason": "x"}),
            400,
            "invalid_value",
            "hold.key",
        ),
        (
            json!({"hold": {"scope": "bank", "key": "12345"}, "action": "halt", "reason": "x"}),
            400,
            "invalid_value",
            "hold.key",
        ),
        (
            json!({"hold": {"scope": "asset", "key": "XEM"}, "action": "halt"}),
            400,
            "missing_field",
            "reason",
        ),
        (
            json!({"hold": {"scope": "asset", "key": "XEM"}, "action": "halt", "reason": "x", "until": 1}),
            400,
            "unknown_field",
            "until",
        ),
    ];
    for (body, status, code, path) in cases {
        let (s, b) = place(&h, body.clone()).await;
        assert_eq!(
            (s.as_u16(), error(&b)),
            (status, (Some(code), Some(path))),
            "{body} -> {b}"
        );
    }
    let (s, b) = h
        .call(Method::POST, "/v1/holds", Some(&h.read), xem_halt("x"))
        .await;
    assert_eq!((s.as_u16(), error(&b).0), (403, Some("insufficient_scope")));
    assert_eq!(holds(&h).await, json!({"holds": []}), "nothing was placed");
}
