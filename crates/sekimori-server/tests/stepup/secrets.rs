//! `/v1/secrets/check` and the breach corpus.

use crate::common::Harness;
use crate::support::error;
use axum::http::{Method, StatusCode};
use serde_json::{json, Value};

#[tokio::test]
async fn secrets_check_breached_strong_and_pin() {
    let h = Harness::new().await;
    let check = |body: Value| h.post("/v1/secrets/check", body);

    // "password": SHA-1 5BAA61E4C9B93F3F0682250B6CF8331B7EE68FD8.
    let (s, b) = check(json!({"kind": "password", "sha1_prefix": "5baa6"})).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(
        (&b["mode"], &b["prefix"]),
        (&json!("range"), &json!("5BAA6"))
    );
    let suffixes: Vec<&str> = b["suffixes"]
        .as_array()
        .expect("suffixes")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(
        suffixes
            .iter()
            .any(|l| l.starts_with("1E4C9B93F3F0682250B6CF8331B7EE68FD8:")),
        "{suffixes:?}"
    );

    let (s, b) = check(json!({"kind": "password", "secret": "password"})).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(b["verdict"], "reject");
    assert!(b["codes"]
        .as_array()
        .expect("codes")
        .contains(&json!("breached")));

    let (s, b) = check(json!({"kind": "password",
        "secret": "quartz-Lantern-97-ferry-Marmot!", "user_inputs": ["kai"]}))
    .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        (&b["verdict"], &b["pwned_count"]),
        (&json!("ok"), &json!(0)),
        "{b}"
    );

    let (s, b) = check(json!({"kind": "pin", "secret": "1234"})).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(b["verdict"], "reject");
    assert!(b["codes"]
        .as_array()
        .expect("codes")
        .contains(&json!("sequential")));

    let cases = [
        (
            json!({"kind": "password", "sha1_prefix": "5BAAZ"}),
            "invalid_prefix",
            "sha1_prefix",
        ),
        (
            json!({"kind": "password", "sha1_prefix": "5BAA6", "secret": "x"}),
            "ambiguous",
            "secret",
        ),
        (json!({"kind": "password"}), "missing_secret", "secret"),
        (
            json!({"kind": "pin", "secret": "12a4"}),
            "invalid_pin",
            "secret",
        ),
        (
            json!({"kind": "pin", "secret": "2580", "birth_date": "1990-13-45"}),
            "invalid_birth_date",
            "birth_date",
        ),
        (
            json!({"kind": "pin", "secret": 7391}),
            "invalid_type",
            "secret",
        ),
        (
            json!({"kind": "pin", "secret": "7391", "note": "x"}),
            "unknown_field",
            "note",
        ),
        (
            json!({"kind": "token", "secret": "7391"}),
            "invalid_value",
            "kind",
        ),
        (json!({"secret": "7391"}), "missing_field", "kind"),
    ];
    for (body, code, path) in cases {
        let (s, b) = check(body.clone()).await;
        assert_eq!(
            (s, error(&b)),
            (StatusCode::BAD_REQUEST, (Some(code), Some(path))),
            "{body}"
        );
        assert!(
            !b.to_string().contains("7391"),
            "a secret is never echoed: {b}"
        );
    }

    let (s, text) = {
        let (status, bytes) = h
            .call_raw(
                Method::GET,
                "/v1/secrets/range/5BAA6",
                Some(&h.ingest),
                Value::Null,
            )
            .await;
        (status, String::from_utf8(bytes).expect("utf8"))
    };
    assert_eq!(s, StatusCode::OK);
    assert!(text.contains("1E4C9B93F3F0682250B6CF8331B7EE68FD8:"));
    assert!(text
        .split("\r\n")
        .all(|l| l.len() > 36 && l.as_bytes()[35] == b':'));
    let (s, b) = h
        .call(
            Method::GET,
            "/v1/secrets/range/xyz",
            Some(&h.ingest),
            Value::Null,
        )
        .await;
    assert_eq!(
        (s, error(&b)),
        (
            StatusCode::BAD_REQUEST,
            (Some("invalid_prefix"), Some("prefix"))
        )
    );
}

#[tokio::test]
async fn a_breach_corpus_flag_replaces_the_shipped_one() {
    let dir = tempfile::tempdir().expect("tempdir");
    let corpus = dir.path().join("corpus.txt");
    // SHA-1 of "sekimori-test-secret".
    let sha = {
        use sha1::Digest;
        hex::encode_upper(sha1::Sha1::digest(b"sekimori-test-secret"))
    };
    std::fs::write(&corpus, format!("{sha}:42\n")).expect("write");
    let h = Harness::with_config(|c| c.breach_corpus = Some(corpus)).await;
    let (_, b) = h
        .post(
            "/v1/secrets/check",
            json!({"kind": "password", "secret": "sekimori-test-secret"}),
        )
        .await;
    assert_eq!(b["pwned_count"], 42, "{b}");
    let (_, b) = h
        .post(
            "/v1/secrets/check",
            json!({"kind": "password", "sha1_prefix": "5BAA6"}),
        )
        .await;
    assert_eq!(b["suffixes"], json!([]));
}
