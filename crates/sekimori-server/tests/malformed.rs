//! Issue 12.5: every route that takes a body answers malformed input with the
//! documented error shape: a stable code from the table (docs/errors.md),
//! its status and type, a message, and the path of the offending field.

mod common;

use axum::http::{Method, StatusCode};
use common::Harness;
use sekimori_server::error::CODES;
use sekimori_server::keys::{create_key, Scope};
use sekimori_server::routes::ROUTES;
use serde_json::Value;

/// The routes that read a JSON body, with their path parameters filled in.
fn body_routes() -> Vec<(Method, String)> {
    ROUTES
        .iter()
        .filter(|(m, p)| (*m == "post" || *m == "put") && *p != "/v1/packs/reload")
        .map(|(m, p)| {
            let method = if *m == "put" {
                Method::PUT
            } else {
                Method::POST
            };
            (method, p.replace("{name}", "blocked_ips"))
        })
        .collect()
}

/// Checks an error body against the code table; returns (code, path). The
/// stream answers 200 once it starts and each refused line is a line of
/// that answer, with the code, type and path a single event would get
/// (here the body is one line, read as the answer).
fn documented(route: &str, status: StatusCode, body: &Value) -> (String, Option<String>) {
    let e = &body["error"];
    let code = e["code"]
        .as_str()
        .unwrap_or_else(|| panic!("{route}: no code in {body}"));
    let (_, kind, want) = CODES
        .iter()
        .find(|(c, _, _)| *c == code)
        .unwrap_or_else(|| panic!("{route}: `{code}` is not in the table"));
    if route.ends_with("/v1/events/stream") {
        assert_eq!(status, StatusCode::OK, "{route}: {body}");
    } else {
        assert_eq!(status.as_u16(), *want, "{route}: {body}");
    }
    assert_eq!(e["type"].as_str(), Some(*kind), "{route}: {body}");
    assert!(
        e["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{route}: {body}"
    );
    (code.to_string(), e["path"].as_str().map(str::to_string))
}

#[tokio::test]
async fn every_route_answers_malformed_bodies_with_a_documented_error_and_its_path() {
    let h = Harness::new().await;
    let all = vec![
        Scope::Ingest,
        Scope::Read,
        Scope::Admin,
        Scope::Approve,
        Scope::Custody,
        Scope::Stepup,
    ];
    let key = create_key(h.dir.path(), "everything", all).expect("key").1;
    let routes = body_routes();
    assert!(routes.len() >= 15, "{routes:?}");
    for (method, path) in routes {
        let route = format!("{method} {path}");
        // Not JSON.
        let (s, b) = h
            .call_text(method.clone(), &path, &key, "{\"events\": [")
            .await;
        let (code, _) = documented(&route, s, &b);
        assert_eq!(code, "invalid_json", "{route}: {b}");
        // A key given twice: refused at its path, never "last one wins"
        // (the batch route has no field `k` at all).
        let (s, b) = h
            .call_text(method.clone(), &path, &key, r#"{"k": 1, "k": 2}"#)
            .await;
        let (code, at) = documented(&route, s, &b);
        assert!(
            ["duplicate_field", "unknown_field"].contains(&code.as_str())
                && at.as_deref() == Some("k"),
            "{route}: {b}"
        );
        let dup = r#"{"events": [], "events": []}"#;
        if path == "/v1/events/batch" {
            let (s, b) = h.call_text(method.clone(), &path, &key, dup).await;
            assert_eq!(
                documented(&route, s, &b).0,
                "duplicate_field",
                "{route}: {b}"
            );
        }
        // The wrong JSON type for the whole body: an array is never read as
        // an object's fields in order (serde's positional form).
        for body in ["[1, 2]", "[[]]", "[]"] {
            let (s, b) = h.call_text(method.clone(), &path, &key, body).await;
            let (code, _) = documented(&route, s, &b);
            assert_eq!(code, "invalid_type", "{route} {body}: {b}");
        }
        // An empty object: every route with a required field names it.
        let (s, b) = h.call_text(method.clone(), &path, &key, "{}").await;
        if s.is_client_error() || b.get("error").is_some() {
            let (code, at) = documented(&route, s, &b);
            if code == "missing_field" {
                assert!(at.is_some_and(|p| !p.is_empty()), "{route}: {b}");
            }
        }
    }
}

/// An array where a body has an object, below the top: `invalid_type` at
/// that object's path (serde would read it positionally).
#[tokio::test]
async fn an_array_for_a_nested_object_is_refused_at_its_path() {
    let h = Harness::new().await;
    let all = vec![Scope::Ingest, Scope::Admin, Scope::Stepup];
    let key = create_key(h.dir.path(), "everything", all).expect("key").1;
    let at = "2026-11-20T13:05:00Z";
    let cases = [
        (
            "/v1/events",
            format!(
                r#"{{"id":"e1","type":"login.attempt","at":"{at}","service":"s","actor":[null,"198.51.100.1"],"account":"a","factor":"password","result":"success"}}"#
            ),
            "actor",
        ),
        (
            "/v1/events",
            format!(
                r#"{{"id":"e2","type":"transfer","at":"{at}","service":"s","account":"a","amount_minor":1,"currency":"JPY","destination":["bank","0001","001","1234567"]}}"#
            ),
            "destination",
        ),
        (
            "/v1/holds",
            r#"{"hold":["*","account","a"],"action":"freeze","reason":"r"}"#.to_string(),
            "hold",
        ),
        (
            "/v1/stepup/tx/challenge",
            format!(
                r#"{{"account":"a","at":"{at}","service":"s","transaction":[1,"JPY","bank:0001-001-1234567"]}}"#
            ),
            "transaction",
        ),
    ];
    for (path, body, field) in cases {
        let (s, b) = h.call_text(Method::POST, path, &key, &body).await;
        let (code, at) = documented(path, s, &b);
        assert_eq!(
            (code.as_str(), at.as_deref()),
            ("invalid_type", Some(field)),
            "{path}: {b}"
        );
    }
    // In a batch, the item's own error, at its path.
    let batch = format!(
        r#"{{"events":[{{"id":"e3","type":"login.attempt","at":"{at}","service":"s","actor":[null],"account":"a","factor":"password","result":"success"}}]}}"#
    );
    let (s, b) = h
        .call_text(Method::POST, "/v1/events/batch", &key, &batch)
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["results"][0]["error"]["code"], "invalid_type", "{b}");
    assert_eq!(b["results"][0]["error"]["path"], "events[0].actor", "{b}");
}
