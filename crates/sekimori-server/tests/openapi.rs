//! The OpenAPI document: generated from the code, committed at the
//! repository's `openapi.json`, served at `/openapi.json`, and in step with
//! the router, the error codes and docs/errors.md.

mod common;

use axum::http::{Method, StatusCode};
use common::Harness;
use sekimori_server::error::{ErrorCode, CODES};
use sekimori_server::routes::openapi;
use serde_json::Value;
use std::collections::BTreeSet;

const COMMITTED: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../openapi.json");
const REGENERATE: &str =
    "SEKIMORI_WRITE_OPENAPI=1 cargo test -p sekimori-server --test openapi committed_document_is_current";

#[test]
fn committed_document_is_current() {
    let fresh = openapi::document_text();
    if std::env::var_os("SEKIMORI_WRITE_OPENAPI").is_some() {
        std::fs::write(COMMITTED, &fresh).expect("write openapi.json");
        return;
    }
    let committed = std::fs::read_to_string(COMMITTED).unwrap_or_default();
    assert!(
        committed == fresh,
        "openapi.json is stale (the routes or their types changed); regenerate it with:\n  {REGENERATE}"
    );
}

/// The server's routes (with a cluster node's `/v1/cluster`) and the
/// workbench's REST routes (its pages are not API).
fn api_routes() -> Vec<(String, String)> {
    let mut routes: Vec<(String, String)> = sekimori_server::routes::ROUTES
        .iter()
        .chain(
            sekimori_workbench::ROUTES
                .iter()
                .filter(|(_, p)| p.starts_with("/v1/")),
        )
        .map(|(m, p)| (m.to_string(), p.to_string()))
        .collect();
    routes.sort();
    routes
}

/// Served by the server's own router (the harness), not by the
/// workbench's.
fn server_route(path: &str) -> bool {
    sekimori_server::routes::ROUTES
        .iter()
        .any(|(_, p)| *p == path)
}

#[test]
fn documents_exactly_the_routes() {
    assert_eq!(openapi::operations(), api_routes());
}

#[test]
fn operation_ids_are_unique() {
    let doc = openapi::document();
    let mut seen = BTreeSet::new();
    for (method, path) in openapi::operations() {
        let id = doc["paths"][&path][&method]["operationId"]
            .as_str()
            .unwrap_or_else(|| panic!("{method} {path} has no operationId"));
        assert!(seen.insert(id.to_string()), "operationId {id} twice");
    }
}

#[test]
fn the_workbench_part_names_nothing_the_server_part_does() {
    assert_eq!(openapi::workbench_collisions(), Vec::<String>::new());
}

/// The workbench's error body and codes: docs/errors.md's second table
/// lists the workbench's codes (with their status) and a follower's
/// `not_leader`.
#[test]
fn errors_md_lists_the_workbench_and_cluster_codes() {
    let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/errors.md"))
        .expect("docs/errors.md");
    let section = doc
        .split("\n## ")
        .find(|s| s.starts_with("The workbench's API and cluster nodes"))
        .expect("a section `## The workbench's API and cluster nodes`");
    let mut rows: Vec<String> = section
        .lines()
        .filter(|l| l.starts_with("| `"))
        .map(|l| l.split(" | ").take(2).collect::<Vec<_>>().join(" | "))
        .collect();
    let mut want: Vec<String> = sekimori_workbench::web::openapi::ERROR_CODES
        .iter()
        .map(|(code, status)| format!("| `{code}` | {status}"))
        .chain(["| `not_leader` | 503".to_string()])
        .collect();
    rows.sort();
    want.sort();
    assert_eq!(rows, want);
    let schema = &openapi::document()["components"]["schemas"]["WorkbenchErrorCode"]["enum"];
    let codes: Vec<&str> = sekimori_workbench::web::openapi::ERROR_CODES
        .iter()
        .map(|(c, _)| *c)
        .collect();
    assert_eq!(schema, &serde_json::json!(codes));
}

/// Every route the document names is routed (not the fallback's 404
/// `not_found`), so the list the document is checked against is the router's.
#[tokio::test]
async fn every_documented_route_is_routed() {
    let h = Harness::new().await;
    for (method, path) in openapi::operations() {
        // The workbench's (its own test), and a cluster node's (404
        // `not_found` by design on this embedded server).
        if !server_route(&path) || path == "/v1/cluster" {
            continue;
        }
        let path = path
            .replace("{event_id}", "no-such-event")
            .replace("{name}", "no_such_list")
            .replace("{prefix}", "5BAA6");
        let m = Method::from_bytes(method.to_uppercase().as_bytes()).expect("method");
        let (_, body) = h.call(m, &path, None, Value::Null).await;
        assert_ne!(
            body["error"]["code"], "not_found",
            "{method} {path} is documented but not routed"
        );
    }
}

#[test]
fn self_contained_and_3_1() {
    let doc = openapi::document();
    assert_eq!(doc["openapi"], "3.1.0");
    let text = serde_json::to_string(doc).expect("json");
    assert!(!text.contains("sekimori.invalid"), "an external reference");
    assert!(
        !text.contains("#/$defs/"),
        "a reference into the event schema's own $defs"
    );
    // Every reference resolves inside the document.
    let mut refs = BTreeSet::new();
    collect_refs(doc, &mut refs);
    for r in &refs {
        let name = r
            .strip_prefix("#/components/schemas/")
            .unwrap_or_else(|| panic!("reference outside components/schemas: {r}"));
        assert!(
            doc["components"]["schemas"].get(name).is_some(),
            "{r} does not resolve"
        );
    }
    // The event schema is there, with its sixteen types.
    let event = &doc["components"]["schemas"]["Event"];
    assert_eq!(event["oneOf"].as_array().map(Vec::len), Some(16));
}

fn collect_refs(v: &Value, out: &mut BTreeSet<String>) {
    match v {
        Value::Object(m) => {
            if let Some(Value::String(r)) = m.get("$ref") {
                out.insert(r.clone());
            }
            m.values().for_each(|v| collect_refs(v, out));
        }
        Value::Array(a) => a.iter().for_each(|v| collect_refs(v, out)),
        _ => {}
    }
}

#[test]
fn every_operation_has_security_and_the_error_body() {
    let doc = openapi::document();
    for (method, path) in openapi::operations() {
        let op = &doc["paths"][&path][&method];
        // Unauthenticated: the probes, the cluster's status and the
        // analysts' sign-ins (password, and passkey start and finish).
        let open = [
            "/healthz",
            "/readyz",
            "/v1/cluster",
            "/v1/workbench/sessions",
            "/v1/workbench/passkeys/sign-in/start",
            "/v1/workbench/passkeys/sign-in/finish",
        ]
        .contains(&path.as_str());
        let security = op["security"].as_array().expect("security");
        // An empty requirement (`{}`) lets a request in with no credential:
        // an open operation has only that (`[]` or `[{}]`), any other
        // names a scheme in every requirement (no optional credential).
        let anonymous = |r: &Value| r.as_object().is_some_and(|o| o.is_empty());
        if open {
            assert!(
                security.iter().all(anonymous),
                "{method} {path} is open: security {security:?}"
            );
        } else {
            assert!(
                !security.is_empty() && !security.iter().any(anonymous),
                "{method} {path} needs a credential: security {security:?}"
            );
        }
        if !server_route(&path) || path == "/v1/cluster" {
            // The workbench's and the cluster's: the error body on every
            // error answer.
            let errors: Vec<&Value> = op["responses"]
                .as_object()
                .expect("responses")
                .iter()
                .filter(|(s, _)| !s.starts_with('2'))
                .map(|(_, r)| &r["content"]["application/json"]["schema"]["$ref"])
                .collect();
            let want = if path == "/v1/cluster" {
                "#/components/schemas/Error"
            } else {
                "#/components/schemas/WorkbenchError"
            };
            assert!(!errors.is_empty(), "{method} {path} has no error answer");
            assert!(errors.iter().all(|r| *r == want), "{method} {path}");
            continue;
        }
        if open {
            continue;
        }
        for status in ["401", "403", "500"] {
            assert_eq!(
                op["responses"][status]["content"]["application/json"]["schema"]["$ref"],
                "#/components/schemas/Error",
                "{method} {path} lacks the error body for {status}"
            );
        }
    }
    assert_eq!(
        doc["paths"]["/metrics"]["get"]["responses"]["200"]["content"]
            .as_object()
            .map(|c| c.keys().cloned().collect::<Vec<_>>()),
        Some(vec!["text/plain; version=0.0.4".to_string()])
    );
}

#[test]
fn the_error_schema_lists_every_code() {
    let doc = openapi::document();
    let codes: Vec<&str> = doc["components"]["schemas"]["ErrorCode"]["enum"]
        .as_array()
        .expect("enum")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    let all: Vec<&str> = ErrorCode::ALL.iter().map(|c| c.as_str()).collect();
    assert_eq!(codes, all);
}

/// docs/errors.md has one row per code, with its type and status, in the
/// enum's order.
#[test]
fn errors_md_is_the_error_enum() {
    let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/errors.md"))
        .expect("docs/errors.md");
    // The first table (the server's ErrorCode); later sections have their own.
    let main = doc.split("\n## ").next().unwrap_or_default();
    let rows: Vec<String> = main
        .lines()
        .filter(|l| l.starts_with("| `"))
        .map(|l| l.split(" | ").take(3).collect::<Vec<_>>().join(" | "))
        .collect();
    let want: Vec<String> = CODES
        .iter()
        .map(|(code, kind, status)| format!("| `{code}` | {kind} | {status}"))
        .collect();
    assert_eq!(rows, want, "docs/errors.md's table differs from ErrorCode");
}

/// Every code the server's sources name (`ApiError::new("code", ...)`) and
/// every code the event decoder gives is in the enum.
#[test]
fn every_code_named_in_the_sources_is_in_the_enum() {
    for code in sekimori_event::DECODE_CODES {
        assert!(ErrorCode::from_code(code).is_some(), "decoder code {code}");
    }
    let src = concat!(env!("CARGO_MANIFEST_DIR"), "/src");
    let mut named = BTreeSet::new();
    walk(std::path::Path::new(src), &mut named);
    assert!(named.len() > 30, "found only {named:?}");
    for code in named {
        assert!(ErrorCode::from_code(&code).is_some(), "unknown code {code}");
    }
}

fn walk(dir: &std::path::Path, out: &mut BTreeSet<String>) {
    for entry in std::fs::read_dir(dir).expect("dir").flatten() {
        let p = entry.path();
        if p.is_dir() {
            walk(&p, out);
        } else if p.extension().is_some_and(|e| e == "rs") {
            let text = std::fs::read_to_string(&p).expect("source");
            for part in text.split("ApiError::new(").skip(1) {
                let part = part.trim_start();
                if let Some(rest) = part.strip_prefix('"') {
                    if let Some(code) = rest.split('"').next() {
                        out.insert(code.to_string());
                    }
                }
            }
        }
    }
}

#[tokio::test]
async fn served_document_is_the_generated_one() {
    let h = Harness::new().await;
    let (status, body) = h
        .call(Method::GET, "/openapi.json", Some(&h.read), Value::Null)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(&body, openapi::document());
}

#[test]
fn no_schema_name_is_used_twice() {
    assert_eq!(openapi::collisions(), Vec::<String>::new());
}

/// `/v1/cluster` on a server that is not a node of a shard: GET is the
/// documented 404 `not_found` (in the `Error` body), another method 405.
#[tokio::test]
async fn cluster_route_of_an_embedded_server() {
    let h = Harness::new().await;
    let (status, body) = h.call(Method::GET, "/v1/cluster", None, Value::Null).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["error"]["code"], "not_found");
    assert!(body["error"]["message"]
        .as_str()
        .is_some_and(|m| m.contains("replicated shard")));
    let (status, _) = h.call(Method::POST, "/v1/cluster", None, Value::Null).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    let doc = openapi::document();
    assert!(doc["paths"]["/v1/cluster"]["get"]["responses"]["404"].is_object());
    assert_eq!(
        doc["paths"]["/v1/cluster"]["get"]["security"],
        serde_json::json!([])
    );
}
