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

/// Checks an error body against the code table; returns (code, path).
fn documented(route: &str, status: StatusCode, body: &Value) -> (String, Option<String>) {
    let e = &body["error"];
    let code = e["code"]
        .as_str()
        .unwrap_or_else(|| panic!("{route}: no code in {body}"));
    let (_, kind, want) = CODES
        .iter()
        .find(|(c, _, _)| *c == code)
        .unwrap_or_else(|| panic!("{route}: `{code}` is not in the table"));
    assert_eq!(status.as_u16(), *want, "{route}: {body}");
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
        // The wrong JSON type for the whole body.
        let (s, b) = h.call_text(method.clone(), &path, &key, "[1, 2]").await;
        let (code, _) = documented(&route, s, &b);
        assert!(
            ["invalid_type", "missing_field", "invalid_value"].contains(&code.as_str()),
            "{route}: {b}"
        );
        // An empty object: every route with a required field names it.
        let (s, b) = h.call_text(method.clone(), &path, &key, "{}").await;
        if s.is_client_error() {
            let (code, at) = documented(&route, s, &b);
            if code == "missing_field" {
                assert!(at.is_some_and(|p| !p.is_empty()), "{route}: {b}");
            }
        }
    }
}
