//! Issue 12.2: services are tenants. A key speaks only for the services it
//! is bound to; one service's events never freeze, halt or read another's;
//! custody outflows and step-up outcomes need scopes of their own.

mod common;

use axum::http::{Method, StatusCode};
use common::Harness;
use sekimori_server::keys::{create_key, create_key_for, Scope};
use serde_json::{json, Value};

fn key(h: &Harness, name: &str, scopes: Vec<Scope>, services: &[&str]) -> String {
    let services = Some(services.iter().map(|s| s.to_string()).collect());
    create_key_for(h.dir.path(), name, scopes, services)
        .expect("key")
        .1
}

fn code(b: &Value) -> (Option<&str>, Option<&str>) {
    (b["error"]["code"].as_str(), b["error"]["path"].as_str())
}

fn login(id: &str, service: &str) -> Value {
    json!({"id": id, "type": "login.attempt", "service": service, "at": "2026-11-20T00:02:00Z",
        "account": "cust-42", "factor": "passkey", "result": "success",
        "actor": {"ip": "198.51.100.7", "device": "d-1"}})
}

async fn post(h: &Harness, key: &str, event: Value) -> (StatusCode, Value) {
    h.call(Method::POST, "/v1/events", Some(key), event).await
}

#[tokio::test]
async fn a_key_speaks_only_for_its_services() {
    let h = Harness::new().await;
    let qr = key(&h, "qr-pay", vec![Scope::Ingest], &["qr-pay"]);
    let ex = key(&h, "exchange", vec![Scope::Ingest], &["exchange"]);

    // An event for another service is refused, single and in a batch.
    let (s, b) = post(&h, &qr, login("x1", "exchange")).await;
    assert_eq!(
        (s, code(&b)),
        (
            StatusCode::FORBIDDEN,
            (Some("service_not_permitted"), Some("service"))
        )
    );
    let (s, b) = h
        .call(
            Method::POST,
            "/v1/events/batch",
            Some(&qr),
            json!({"events": [login("x2", "qr-pay"), login("x3", "exchange")]}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(b["accepted"], json!(1));
    assert_eq!(
        code(&b["results"][1]),
        (Some("service_not_permitted"), Some("events[1].service"))
    );

    // "not me" at qr-pay freezes qr-pay's cust-42 only.
    let not_me = json!({"id": "n1", "type": "report.not_me", "service": "qr-pay",
        "at": "2026-11-20T00:01:00Z", "account": "cust-42"});
    assert_eq!(
        post(&h, &qr, not_me).await.1["decision"]["action"],
        json!("freeze")
    );
    assert_eq!(
        post(&h, &qr, login("q1", "qr-pay")).await.1["decision"]["action"],
        json!("freeze")
    );
    let (s, b) = post(&h, &ex, login("e1", "exchange")).await;
    assert_eq!(s, StatusCode::OK);
    assert_ne!(b["decision"]["action"], json!("freeze"), "{b}");

    // A decision is read only by a key of its service; another sees nothing.
    let (s, _) = h
        .call(Method::GET, "/v1/decisions/q1", Some(&qr), Value::Null)
        .await;
    assert_eq!(s, StatusCode::OK);
    let (s, b) = h
        .call(Method::GET, "/v1/decisions/q1", Some(&ex), Value::Null)
        .await;
    assert_eq!(
        (s, code(&b).0),
        (StatusCode::NOT_FOUND, Some("decision_not_found"))
    );

    // Ids are unique within a service: another service's use of an id is
    // another event with its own decision (qr-pay's account is frozen,
    // exchange's is not), never the first one's answer nor a refusal.
    let (s, b) = post(&h, &ex, login("q1", "exchange")).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["duplicate"], json!(false), "{b}");
    assert_ne!(b["decision"]["action"], json!("freeze"), "{b}");
    let ex_action = b["decision"]["action"].clone();
    // A repeat from each service gets that service's original decision.
    let (_, b) = post(&h, &ex, login("q1", "exchange")).await;
    assert_eq!(
        (&b["duplicate"], &b["decision"]["action"]),
        (&json!(true), &ex_action)
    );
    let (_, b) = post(&h, &qr, login("q1", "qr-pay")).await;
    assert_eq!(
        (&b["duplicate"], &b["decision"]["action"]),
        (&json!(true), &json!("freeze"))
    );
    // Each reads its own decision of q1.
    for (k, want) in [(&qr, json!("freeze")), (&ex, ex_action.clone())] {
        let (s, b) = h
            .call(Method::GET, "/v1/decisions/q1", Some(k), Value::Null)
            .await;
        assert_eq!(
            (s, &b["decision"]["action"]),
            (StatusCode::OK, &want),
            "{b}"
        );
    }
    // A key of both services names the one it means.
    let both = key(&h, "both", vec![Scope::Read], &["qr-pay", "exchange"]);
    let (s, b) = h
        .call(Method::GET, "/v1/decisions/q1", Some(&both), Value::Null)
        .await;
    assert_eq!(
        (s, code(&b)),
        (
            StatusCode::BAD_REQUEST,
            (Some("missing_field"), Some("service"))
        )
    );
    let (s, b) = h
        .call(
            Method::GET,
            "/v1/decisions/q1?service=exchange",
            Some(&both),
            Value::Null,
        )
        .await;
    assert_eq!(
        (s, &b["decision"]["action"]),
        (StatusCode::OK, &ex_action),
        "{b}"
    );
    // Naming a service the key does not speak for reads as absent.
    let (s, b) = h
        .call(
            Method::GET,
            "/v1/decisions/q1?service=qr-pay",
            Some(&ex),
            Value::Null,
        )
        .await;
    assert_eq!(
        (s, code(&b).0),
        (StatusCode::NOT_FOUND, Some("decision_not_found"))
    );
}

#[tokio::test]
async fn holds_belong_to_their_service() {
    let h = Harness::new().await;
    let qr = key(&h, "qr-pay", vec![Scope::Ingest], &["qr-pay"]);
    let qr_ops = key(&h, "qr-ops", vec![Scope::Admin, Scope::Read], &["qr-pay"]);
    let ex_ops = key(&h, "ex-ops", vec![Scope::Admin, Scope::Read], &["exchange"]);
    let not_me = json!({"id": "n1", "type": "report.not_me", "service": "qr-pay",
        "at": "2026-11-20T00:01:00Z", "account": "cust-42"});
    post(&h, &qr, not_me).await;
    let hold = json!({"service": "qr-pay", "scope": "account", "key": "cust-42"});

    // Another service's operator neither sees nor lifts it.
    let (_, seen) = h
        .call(Method::GET, "/v1/holds", Some(&ex_ops), Value::Null)
        .await;
    assert_eq!(seen["holds"], json!([]));
    let lift = json!({"hold": hold, "reason": "not mine to lift"});
    let (s, b) = h
        .call(Method::POST, "/v1/holds/lift", Some(&ex_ops), lift.clone())
        .await;
    assert_eq!(
        (s, code(&b)),
        (
            StatusCode::FORBIDDEN,
            (Some("service_not_permitted"), Some("hold.service"))
        )
    );
    // A bound operator cannot place a hold of every service, nor publish packs.
    let global = json!({"hold": {"service": "*", "scope": "asset", "key": "BTC"},
        "action": "halt", "reason": "x"});
    let (s, b) = h
        .call(Method::POST, "/v1/holds", Some(&qr_ops), global)
        .await;
    assert_eq!(
        (s, code(&b).0),
        (StatusCode::FORBIDDEN, Some("service_not_permitted"))
    );
    let (s, b) = h
        .call(
            Method::PUT,
            "/v1/lists/blocked_ips",
            Some(&qr_ops),
            json!({"items": []}),
        )
        .await;
    assert_eq!(
        (s, code(&b).0),
        (StatusCode::FORBIDDEN, Some("service_not_permitted"))
    );

    // Its own operator sees and lifts it.
    let (_, seen) = h
        .call(Method::GET, "/v1/holds", Some(&qr_ops), Value::Null)
        .await;
    assert_eq!(seen["holds"][0]["hold"], hold);
    let (s, _) = h
        .call(Method::POST, "/v1/holds/lift", Some(&qr_ops), lift)
        .await;
    assert_eq!(s, StatusCode::OK);
}

#[tokio::test]
async fn custody_outflows_and_step_up_outcomes_need_their_own_scopes() {
    let h = Harness::new().await;
    let shop = key(&h, "shop", vec![Scope::Ingest], &["exchange"]);
    let signer = key(
        &h,
        "signer",
        vec![Scope::Ingest, Scope::Custody],
        &["exchange"],
    );
    let idp = key(&h, "idp", vec![Scope::Ingest, Scope::Stepup], &["exchange"]);
    let outflow = |id: &str| {
        json!({"id": id, "type": "wallet.outflow", "service": "exchange", "at": "2026-11-20T00:00:00Z",
            "wallet": "hot-1", "stage": "signing", "amount_minor": 5, "currency": "XEM",
            "address": "NADDR", "request_id": id})
    };
    // A bogus outflow from any ingest key no longer halts the hot wallet.
    let (s, b) = post(&h, &shop, outflow("o1")).await;
    assert_eq!(
        (s, code(&b)),
        (
            StatusCode::FORBIDDEN,
            (Some("custody_scope_required"), Some("type"))
        )
    );
    let (_, holds) = h
        .call(Method::GET, "/v1/holds", Some(&h.read), Value::Null)
        .await;
    assert_eq!(holds["holds"], json!([]));
    // The custodian's signer reports it (and an unexplained outflow halts).
    let (s, b) = post(&h, &signer, outflow("o2")).await;
    assert_eq!(
        (s, &b["decision"]["action"]),
        (StatusCode::OK, &json!("halt"))
    );

    // An mfa.result through /v1/events vouches for a person: stepup scope only.
    let result = |id: &str| {
        json!({"id": id, "type": "mfa.result", "service": "exchange", "at": "2026-11-20T00:00:00Z",
            "account": "cust-42", "method": "totp", "challenge_id": "c1", "result": "success"})
    };
    let (s, b) = post(&h, &shop, result("m1")).await;
    assert_eq!(
        (s, code(&b)),
        (
            StatusCode::FORBIDDEN,
            (Some("stepup_scope_required"), Some("type"))
        )
    );
    let (s, _) = post(&h, &idp, result("m2")).await;
    assert_eq!(s, StatusCode::OK);
}

#[test]
fn key_names_are_unique_and_not_empty() {
    let dir = tempfile::tempdir().expect("tempdir");
    assert!(create_key(dir.path(), "", vec![Scope::Read]).is_err());
    assert!(create_key(dir.path(), " ops", vec![Scope::Read]).is_err());
    assert!(create_key(dir.path(), "ops", vec![Scope::Read]).is_ok());
    let again = create_key(dir.path(), "ops", vec![Scope::Admin]);
    assert!(again.is_err_and(|e| e.to_string().contains("already named")));
    assert!(create_key_for(dir.path(), "svc", vec![Scope::Ingest], Some(vec![])).is_err());
}

/// A key written before keys were bound (no `services` in keys.json): an
/// upgrade never widens it. A service's key speaks for no service until it
/// is created again with `--services`; an admin key stays the operator's.
#[tokio::test]
async fn keys_from_before_binding_are_not_widened_by_an_upgrade() {
    let h = Harness::new().await;
    let path = h.dir.path().join(sekimori_server::keys::KEYS_FILE);
    let mut records: Value =
        serde_json::from_slice(&std::fs::read(&path).expect("keys.json")).expect("json");
    for r in records.as_array_mut().expect("array") {
        r.as_object_mut().expect("record").remove("services");
    }
    // A rename, as `sekimori keys` writes: the server sees a new file.
    let tmp = h.dir.path().join("keys.json.new");
    std::fs::write(&tmp, serde_json::to_vec(&records).expect("bytes")).expect("write");
    std::fs::rename(&tmp, &path).expect("rename");
    let (s, b) = post(&h, &h.ingest, login("old-1", "netbank")).await;
    assert_eq!(
        (s, code(&b).0),
        (StatusCode::FORBIDDEN, Some("service_not_permitted")),
        "{b}"
    );
    let global = json!({"hold": {"service": "*", "scope": "asset", "key": "BTC"},
        "action": "halt", "reason": "drill"});
    let (s, b) = h
        .call(Method::POST, "/v1/holds", Some(&h.admin), global)
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
}
