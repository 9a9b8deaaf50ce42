//! The HTTP API end to end, in process.

mod common;

use axum::http::{Method, StatusCode};
use common::{pin_failure, Harness};
use serde_json::{json, Value};

#[tokio::test]
async fn health_is_open_everything_else_needs_a_scoped_key() {
    let h = Harness::new().await;
    assert_eq!(
        h.call(Method::GET, "/healthz", None, Value::Null).await.0,
        StatusCode::OK
    );
    assert_eq!(
        h.call(Method::GET, "/readyz", None, Value::Null).await.0,
        StatusCode::OK
    );
    let (s, b) = h
        .call(Method::POST, "/v1/events", None, pin_failure("a", "x", 0))
        .await;
    assert_eq!(
        (s, b["error"]["code"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("missing_api_key"))
    );
    let (s, b) = h
        .call(
            Method::POST,
            "/v1/events",
            Some("sk_0000_ffff"),
            pin_failure("a", "x", 0),
        )
        .await;
    assert_eq!(
        (s, b["error"]["code"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("invalid_api_key"))
    );
    let (s, b) = h
        .call(
            Method::POST,
            "/v1/events",
            Some(&h.read),
            pin_failure("a", "x", 0),
        )
        .await;
    assert_eq!(
        (s, b["error"]["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("insufficient_scope"))
    );
    let (s, _) = h
        .call(Method::GET, "/metrics", Some(&h.read), Value::Null)
        .await;
    assert_eq!(s, StatusCode::OK);
    let (s, b) = h
        .call(Method::GET, "/openapi.json", Some(&h.read), Value::Null)
        .await;
    assert_eq!(
        (s, b["openapi"].as_str().map(|v| v.starts_with("3."))),
        (StatusCode::OK, Some(true))
    );
    let (s, b) = h
        .call(Method::GET, "/v1/nope", Some(&h.read), Value::Null)
        .await;
    assert_eq!(
        (s, b["error"]["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("not_found"))
    );
}

#[tokio::test]
async fn a_single_event_reports_where_its_time_went() {
    let h = Harness::new().await.with_metrics().await;
    let (s, _) = h
        .call(
            Method::POST,
            "/v1/events",
            Some(&h.ingest),
            pin_failure("stages-1", "stages", 0),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let (s, text) = h
        .call_raw(Method::GET, "/metrics", Some(&h.read), Value::Null)
        .await;
    assert_eq!(s, StatusCode::OK);
    let text = String::from_utf8(text).expect("Prometheus text is UTF-8");
    for name in [
        sekimori_server::telemetry::LOCK_WAIT,
        sekimori_server::telemetry::ENGINE,
        sekimori_server::telemetry::DURABLE_WAIT,
    ] {
        let count = text
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{name}_count ")))
            .and_then(|n| n.trim().parse::<u64>().ok());
        assert!(count >= Some(1), "{name} recorded: {text}");
    }
}

#[tokio::test]
async fn bad_events_get_4xx_with_code_and_path() {
    let h = Harness::new().await;
    let mut bad_ip = pin_failure("b1", "x", 0);
    bad_ip["actor"]["ip"] = json!("999.1.1.1");
    let mut secret = pin_failure("b2", "x", 0);
    secret["attrs"] = json!({"card": {"cvv": "123"}});
    let mut future = pin_failure("b3", "x", 0);
    future["at"] = json!("2999-01-01T00:00:00Z");
    let cases = [
        (bad_ip, 400, "invalid_value", "actor.ip"),
        (secret, 400, "secret_in_clear", "attrs.card.cvv"),
        (future, 422, "event_in_future", "at"),
        (
            json!({"id": "b4", "type": "nope"}),
            400,
            "unknown_event_type",
            "type",
        ),
    ];
    for (event, status, code, path) in cases {
        let (s, b) = h.event(event).await;
        assert_eq!(
            (
                s.as_u16(),
                b["error"]["code"].as_str(),
                b["error"]["path"].as_str()
            ),
            (status, Some(code), Some(path)),
            "{b}"
        );
    }
    let big = json!({"id": "b5", "pad": "x".repeat(2 * 1024 * 1024)});
    let (s, b) = h.event(big).await;
    assert_eq!(
        (s.as_u16(), b["error"]["code"].as_str()),
        (413, Some("body_too_large"))
    );
    let (s, _) = h
        .call(Method::GET, "/v1/decisions/b1", Some(&h.read), Value::Null)
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND, "rejected events are not stored");
}

#[tokio::test]
async fn the_same_id_twice_returns_the_original_and_counts_once() {
    let h = Harness::new().await;
    let (_, first) = h.event(pin_failure("d1", "acct", 0)).await;
    let (_, again) = h.event(pin_failure("d1", "acct", 5)).await;
    assert_eq!(again["duplicate"], json!(true));
    assert_eq!(again["decision"], first["decision"]);
    let (_, next) = h.event(pin_failure("d2", "acct", 6)).await;
    assert_eq!(
        next["decision"]["features"]["login_failures_per_account_15m"],
        json!(2)
    );
    let (s, got) = h
        .call(
            Method::GET,
            "/v1/decisions/d1",
            Some(&h.ingest),
            Value::Null,
        )
        .await;
    assert_eq!((s, &got["decision"]), (StatusCode::OK, &first["decision"]));
}

#[tokio::test]
async fn batch_accepts_the_good_and_names_the_bad() {
    let h = Harness::new().await;
    let mut bad = pin_failure("k2", "a", 1);
    bad["factor"] = json!("fingerprint");
    let body = json!({"events": [pin_failure("k1", "a", 0), bad, pin_failure("k3", "a", 2)]});
    let (s, b) = h
        .call(Method::POST, "/v1/events/batch", Some(&h.ingest), body)
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        (b["accepted"].as_u64(), b["rejected"].as_u64()),
        (Some(2), Some(1))
    );
    assert_eq!(b["results"][1]["error"]["path"], json!("events[1].factor"));
    assert_eq!(
        b["results"][2]["decision"]["features"]["login_failures_per_account_15m"],
        json!(2)
    );
    let many = json!({"events": vec![pin_failure("m", "a", 0); 1001]});
    let (s, b) = h
        .call(Method::POST, "/v1/events/batch", Some(&h.ingest), many)
        .await;
    assert_eq!(
        (s.as_u16(), b["error"]["code"].as_str()),
        (413, Some("batch_too_large"))
    );
}

#[tokio::test]
async fn racing_requests_on_one_key_never_see_the_same_count() {
    let h = std::sync::Arc::new(Harness::new().await);
    let mut tasks = Vec::new();
    for i in 0..64 {
        let h = std::sync::Arc::clone(&h);
        tasks.push(tokio::spawn(async move {
            h.event(pin_failure(&format!("r{i}"), "target", 0)).await
        }));
    }
    let mut counts = Vec::new();
    for (i, t) in tasks.into_iter().enumerate() {
        let (s, mut b) = t.await.expect("task");
        assert_eq!(s, StatusCode::OK, "{b}");
        // Past the time budget the answer is the fallback; the same id, sent
        // again, then returns the real decision.
        while b["durable"] != json!(true) {
            assert!(
                b["degraded"] == json!("time_budget_exceeded") || b["duplicate"] == json!(true),
                "{b}"
            );
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            b = h.event(pin_failure(&format!("r{i}"), "target", 0)).await.1;
        }
        counts.push(
            b["decision"]["features"]["login_failures_per_account_15m"]
                .as_u64()
                .expect("count"),
        );
    }
    counts.sort_unstable();
    assert_eq!(
        counts,
        (1..=64).collect::<Vec<u64>>(),
        "each request saw a distinct count"
    );
}

#[tokio::test]
async fn an_invalid_pack_is_refused_and_the_old_one_keeps_serving() {
    let h = Harness::new().await;
    let (_, current) = h
        .call(Method::GET, "/v1/packs/current", Some(&h.read), Value::Null)
        .await;
    let mut source = current["source"].clone();
    source["pack"]["version"] = json!("broken-1");
    source["rules"][0]["when"] = json!("features.no_such_feature > 3");
    let (s, b) = h
        .call(Method::POST, "/v1/packs", Some(&h.admin), source.clone())
        .await;
    assert_eq!(
        (s.as_u16(), b["error"]["code"].as_str()),
        (422, Some("invalid_pack"))
    );
    let problem = &b["error"]["details"][0];
    assert!(
        problem["location"]
            .as_str()
            .is_some_and(|l| l.starts_with("rule `")),
        "{b}"
    );
    assert!(
        problem["problem"]
            .as_str()
            .is_some_and(|p| p.contains("no_such_feature")),
        "{b}"
    );
    let (_, still) = h
        .call(Method::GET, "/v1/packs/current", Some(&h.read), Value::Null)
        .await;
    assert_eq!(still["version"], current["version"]);
    let (s, _) = h.event(pin_failure("after", "x", 0)).await;
    assert_eq!(s, StatusCode::OK, "the old pack still decides");

    let mut failing_test = current["source"].clone();
    failing_test["pack"]["version"] = json!("strict-1");
    failing_test["rules"][0]["when"] = json!("features.login_failures_per_account_15m >= 1000");
    let (s, b) = h
        .call(Method::POST, "/v1/packs", Some(&h.admin), failing_test)
        .await;
    assert_eq!(
        (s.as_u16(), b["error"]["code"].as_str()),
        (422, Some("pack_tests_failed")),
        "{b}"
    );
    let (s, _) = h
        .call(
            Method::POST,
            "/v1/packs",
            Some(&h.ingest),
            current["source"].clone(),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn publishing_swaps_atomically_and_versions_are_immutable() {
    let h = Harness::new().await;
    let (_, current) = h
        .call(Method::GET, "/v1/packs/current", Some(&h.read), Value::Null)
        .await;
    let mut next = current["source"].clone();
    next["pack"]["version"] = json!("next-1");
    next["rules"][1]["reason"] = json!("reworded");
    let (s, b) = h
        .call(Method::POST, "/v1/packs", Some(&h.admin), next.clone())
        .await;
    assert_eq!(
        (s, b["changed"].as_bool()),
        (StatusCode::OK, Some(true)),
        "{b}"
    );
    let (_, d) = h.event(pin_failure("p1", "x", 0)).await;
    assert_eq!(d["decision"]["pack"]["version"], json!("next-1"));
    next["rules"][1]["reason"] = json!("reworded again");
    let (s, b) = h
        .call(Method::POST, "/v1/packs", Some(&h.admin), next)
        .await;
    assert_eq!(
        (s.as_u16(), b["error"]["code"].as_str()),
        (409, Some("pack_version_exists"))
    );
    let (_, hist) = h
        .call(Method::GET, "/v1/packs", Some(&h.read), Value::Null)
        .await;
    assert_eq!(hist["packs"].as_array().map(Vec::len), Some(2));
    assert_eq!(hist["current"], json!("next-1"));
}

#[tokio::test]
async fn lists_and_holds_through_the_api() {
    let h = Harness::new().await;
    let (s, _) = h
        .call(
            Method::PUT,
            "/v1/lists/blocked_ips",
            Some(&h.admin),
            json!({"items": ["203.0.113.5"]}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let (_, d) = h.event(pin_failure("l1", "x", 0)).await;
    assert_eq!(d["decision"]["action"], json!("deny"));
    let (s, b) = h
        .call(
            Method::PUT,
            "/v1/lists/nope",
            Some(&h.admin),
            json!({"items": []}),
        )
        .await;
    assert_eq!(
        (s.as_u16(), b["error"]["code"].as_str()),
        (404, Some("list_not_found"))
    );

    let not_me = json!({"id": "n1", "type": "report.not_me", "at": "2026-11-20T00:00:00Z", "service": "w", "account": "vic"});
    assert_eq!(
        h.event(not_me).await.1["decision"]["action"],
        json!("freeze")
    );
    let (_, holds) = h
        .call(Method::GET, "/v1/holds", Some(&h.read), Value::Null)
        .await;
    assert_eq!(
        holds["holds"][0]["hold"],
        json!({"service": "w", "scope": "account", "key": "vic"})
    );
    let lift = json!({"hold": {"service": "w", "scope": "account", "key": "vic"},
        "reason": "holder verified at branch"});
    assert_eq!(
        h.call(Method::POST, "/v1/holds/lift", Some(&h.admin), lift.clone())
            .await
            .0,
        StatusCode::OK
    );
    let (s, b) = h
        .call(Method::POST, "/v1/holds/lift", Some(&h.admin), lift)
        .await;
    assert_eq!(
        (s.as_u16(), b["error"]["code"].as_str()),
        (404, Some("hold_not_found"))
    );
}

#[tokio::test]
async fn state_survives_a_restart() {
    let h = Harness::new().await;
    for i in 0..5 {
        h.event(pin_failure(&format!("s{i}"), "acct", i)).await;
    }
    let dir = h.dir.path().to_path_buf();
    let Harness {
        dir: keep,
        app,
        router,
        ..
    } = h;
    drop(router);
    drop(app);
    let app = common::open(common::config(&dir, None)).await;
    let d = app
        .ingest(sekimori_event::decode_value(pin_failure("s5", "acct", 5)).expect("event"))
        .await
        .expect("ok");
    assert_eq!(
        d.decision.features["login_failures_per_account_15m"],
        json!(6)
    );
    drop(keep);
}

// The document against the routes: tests/openapi.rs.

#[test]
fn every_error_code_is_documented_with_its_status() {
    let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/errors.md"))
        .expect("docs/errors.md");
    for (code, kind, status) in sekimori_server::error::CODES {
        let row = format!("| `{code}` | {kind} | {status} |");
        assert!(doc.contains(&row), "docs/errors.md lacks the row {row}");
    }
    // The server's table: the first (the workbench's and the cluster's
    // codes follow in a section of their own, checked by tests/openapi.rs).
    let main = doc.split("\n## ").next().unwrap_or_default();
    let documented = main.lines().filter(|l| l.starts_with("| `")).count();
    assert_eq!(
        documented,
        sekimori_server::error::CODES.len(),
        "docs/errors.md lists a code the server does not have"
    );
}

#[tokio::test]
async fn concurrent_publishes_of_one_version_cannot_both_win() {
    let h = std::sync::Arc::new(Harness::new().await);
    let (_, current) = h
        .call(Method::GET, "/v1/packs/current", Some(&h.read), Value::Null)
        .await;
    let mut tasks = Vec::new();
    for reason in ["first wording", "second wording"] {
        let mut source = current["source"].clone();
        source["pack"]["version"] = json!("race-1");
        source["rules"][1]["reason"] = json!(reason);
        let h = std::sync::Arc::clone(&h);
        tasks.push(tokio::spawn(async move {
            h.call(Method::POST, "/v1/packs", Some(&h.admin), source)
                .await
                .0
        }));
    }
    let mut statuses = Vec::new();
    for t in tasks {
        statuses.push(t.await.expect("task").as_u16());
    }
    statuses.sort_unstable();
    assert_eq!(statuses, vec![200, 409]);
}

#[tokio::test]
async fn an_oversized_batch_item_is_refused_alone() {
    let h = Harness::new().await;
    let mut big = pin_failure("big", "a", 0);
    big["attrs"] = json!({"blob": "x".repeat(70 * 1024)});
    let body = json!({"events": [big, pin_failure("small", "a", 1)]});
    let (s, b) = h
        .call(Method::POST, "/v1/events/batch", Some(&h.ingest), body)
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(b["results"][0]["error"]["code"], json!("too_large"));
    assert_eq!(b["results"][0]["error"]["path"], json!("events[0]"));
    assert!(b["results"][1]["decision"].is_object());
}
