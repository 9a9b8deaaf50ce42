//! No secret reaches the data directory or the logs: API keys are kept as
//! hashes, and events carrying a secret in the clear are refused whole.

mod common;

use common::{agent, create_key, post, Server};
use serde_json::json;

const MARKER: &str = "Zq7-cleartext-9931";

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

#[test]
fn secrets_never_reach_disk_or_logs() {
    let dir = tempfile::tempdir().expect("tmp");
    let data = dir.path().join("data");
    let log = dir.path().join("server.log");
    let key = create_key(&data, "ingest,read,admin");
    let key_secret = key.rsplit('_').next().expect("secret part").to_string();
    let server = Server::start(&data, &log, &[]);
    let a = agent();
    let url = format!("{}/v1/events", server.url);
    let base = json!({"id": "s0", "type": "login.attempt", "at": "2025-06-01T00:00:00Z", "service": "w",
                      "account": "a", "factor": "pin", "result": "failure", "secret_fp": format!("k1:{}", "0".repeat(64))});
    let places: Vec<(&str, serde_json::Value)> = vec![
        ("password", json!(MARKER)),
        ("pin", json!(MARKER)),
        ("attrs", json!({"otp": MARKER})),
        (
            "attrs",
            json!({"nested": {"deeper": [{"new_password": MARKER}]}}),
        ),
        ("actor", json!({"ip": "192.0.2.1", "api_key": MARKER})),
        ("attrs", json!({"card": {"CVV": MARKER}})),
    ];
    for (i, (field, value)) in places.into_iter().enumerate() {
        let mut e = base.clone();
        e["id"] = json!(format!("s{i}"));
        e[field] = value;
        let (status, body) = post(&a, &url, &key, &e).expect("answer");
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (400, Some("secret_in_clear")),
            "{body}"
        );
        assert!(
            !body.to_string().contains(MARKER),
            "the error echoes the secret"
        );
    }
    let (status, _) = post(&a, &url, &key, &base).expect("answer");
    assert_eq!(status, 200, "a clean event is accepted");
    let mut bad_factor = base.clone();
    bad_factor["factor"] = json!(MARKER);
    let (status, body) = post(&a, &url, &key, &bad_factor).expect("answer");
    assert_eq!(
        (status, body["error"]["path"].as_str()),
        (400, Some("factor"))
    );
    assert!(!body.to_string().contains(MARKER), "{body}");
    server.kill();
    let listed = common::run(&["keys", "list", "--data", data.to_str().expect("utf8")]);
    assert!(!contains(&listed.stdout, &key_secret));

    let mut files = vec![log.clone()];
    let mut stack = vec![data.clone()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).expect("dir") {
            let p = entry.expect("entry").path();
            if p.is_dir() {
                stack.push(p)
            } else {
                files.push(p)
            }
        }
    }
    assert!(
        files.len() >= 4,
        "data dir holds the db, FORMAT and keys: {files:?}"
    );
    for f in files {
        let bytes = std::fs::read(&f).expect("read");
        assert!(
            !contains(&bytes, MARKER),
            "{} holds a clear-text secret",
            f.display()
        );
        assert!(
            !contains(&bytes, &key_secret),
            "{} holds the API key secret",
            f.display()
        );
    }
}
