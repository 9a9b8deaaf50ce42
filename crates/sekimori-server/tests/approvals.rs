//! Quorum approvals need the approver's own key: a `withdrawal.approval` is
//! accepted only from a key with the `approve` scope whose name is the
//! event's `approver` (Coincheck 2018: an intruder on the signer host holds
//! the ingest key, and must not forge the other approvals).

mod common;

use axum::http::{Method, StatusCode};
use common::Harness;
use sekimori_server::keys::{create_key, Scope};
use serde_json::{json, Value};

fn approval(id: &str, approver: &str) -> Value {
    json!({"id": id, "type": "withdrawal.approval", "service": "exchange",
           "at": "2026-11-20T16:05:00Z", "request_id": "wr-77", "approver": approver,
           "vote": "approve"})
}

fn login(id: &str) -> Value {
    json!({"id": id, "type": "login.attempt", "service": "exchange", "at": "2026-11-20T16:00:00Z",
           "account": "a1", "factor": "passkey", "result": "success"})
}

fn key(h: &Harness, name: &str, scopes: Vec<Scope>) -> String {
    create_key(h.dir.path(), name, scopes).expect("key").1
}

async fn post(h: &Harness, key: &str, event: Value) -> (StatusCode, Value) {
    h.call(Method::POST, "/v1/events", Some(key), event).await
}

fn error(b: &Value) -> (Option<&str>, Option<&str>) {
    (b["error"]["code"].as_str(), b["error"]["path"].as_str())
}

#[tokio::test]
async fn an_approval_needs_the_approvers_own_approve_key() {
    let h = Harness::new().await;
    let sato = key(&h, "ops-sato", vec![Scope::Approve]);
    let both = key(&h, "ops-mei", vec![Scope::Ingest, Scope::Approve]);

    // The ingest key of the signer host cannot vote for anyone.
    let (s, b) = h.event(approval("a1", "ops-sato")).await;
    assert_eq!(
        (s, error(&b)),
        (
            StatusCode::FORBIDDEN,
            (Some("approver_scope_required"), Some("approver"))
        )
    );
    // An approver cannot vote as another approver.
    let (s, b) = post(&h, &sato, approval("a2", "ops-kenji")).await;
    assert_eq!(
        (s, error(&b)),
        (
            StatusCode::FORBIDDEN,
            (Some("approver_mismatch"), Some("approver"))
        )
    );
    // An approve-only key posts approvals and nothing else.
    let (s, b) = post(&h, &sato, login("l1")).await;
    assert_eq!(
        (s, error(&b)),
        (
            StatusCode::FORBIDDEN,
            (Some("insufficient_scope"), Some("type"))
        )
    );
    for id in ["a1", "a2", "l1"] {
        let (s, _) = h
            .call(
                Method::GET,
                &format!("/v1/decisions/{id}"),
                Some(&h.read),
                Value::Null,
            )
            .await;
        assert_eq!(s, StatusCode::NOT_FOUND, "refused events are not stored");
    }

    let (s, b) = post(&h, &sato, approval("a3", "ops-sato")).await;
    assert_eq!((s, &b["durable"]), (StatusCode::OK, &json!(true)), "{b}");
    let (s, b) = post(&h, &both, approval("a4", "ops-mei")).await;
    assert_eq!((s, &b["durable"]), (StatusCode::OK, &json!(true)), "{b}");
    // A key with both scopes still ingests everything else.
    assert_eq!(post(&h, &both, login("l2")).await.0, StatusCode::OK);
    // A read key may post nothing.
    let (s, b) = post(&h, &h.read, approval("a5", "reader")).await;
    assert_eq!(
        (s, error(&b).0),
        (StatusCode::FORBIDDEN, Some("insufficient_scope"))
    );
}

#[tokio::test]
async fn in_a_batch_each_forged_approval_is_refused_alone() {
    let h = Harness::new().await;
    let sato = key(&h, "ops-sato", vec![Scope::Approve]);
    let body = json!({"events": [login("l1"), approval("a1", "ops-sato")]});
    let (s, b) = h
        .call(Method::POST, "/v1/events/batch", Some(&h.ingest), body)
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        (b["accepted"].as_u64(), b["rejected"].as_u64()),
        (Some(1), Some(1))
    );
    assert_eq!(
        error(&b["results"][1]),
        (Some("approver_scope_required"), Some("events[1].approver"))
    );

    let body =
        json!({"events": [approval("a2", "ops-kenji"), login("l2"), approval("a3", "ops-sato")]});
    let (s, b) = h
        .call(Method::POST, "/v1/events/batch", Some(&sato), body)
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        error(&b["results"][0]),
        (Some("approver_mismatch"), Some("events[0].approver"))
    );
    assert_eq!(
        error(&b["results"][1]),
        (Some("insufficient_scope"), Some("events[1].type"))
    );
    assert_eq!(b["results"][2]["decision"]["event_id"], json!("a3"), "{b}");
    assert_eq!(b["accepted"].as_u64(), Some(1));
}
