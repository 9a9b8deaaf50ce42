//! `sekimori serve --notify-url URL --notify-secret-file FILE`: the secret
//! comes from a file and is never logged; on SIGTERM, notices the webhook
//! did not take go to DATA/notices-dead-letter.jsonl.

mod common;

use common::{agent, create_key, post, run, Server};
use serde_json::json;
use std::time::{Duration, Instant};

const SECRET: &str = "whsec_cli_test_do_not_log";

#[test]
fn notices_flags_secret_file_and_dead_letters_at_shutdown() {
    let dir = tempfile::tempdir().expect("tmp");
    let (data, log, secret) = (
        dir.path().join("data"),
        dir.path().join("server.log"),
        dir.path().join("notify.secret"),
    );
    std::fs::write(&secret, format!("{SECRET}\n")).expect("secret");
    // Nothing listens there: the notice waits for a retry until shutdown.
    let hook = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        format!("http://{}/hook", l.local_addr().expect("addr"))
    };
    let other = dir.path().join("other");
    let o = run(&[
        "serve",
        "--data",
        other.to_str().expect("utf8"),
        "--listen",
        "127.0.0.1:0",
        "--notify-url",
        &hook,
    ]);
    assert!(!o.status.success(), "--notify-url alone is refused");
    assert!(String::from_utf8_lossy(&o.stderr).contains("--notify-secret-file"));

    let key = create_key(&data, "ingest");
    let secret_arg = secret.to_str().expect("utf8");
    let server = Server::start(
        &data,
        &log,
        &["--notify-url", &hook, "--notify-secret-file", secret_arg],
    );
    let charge = json!({"id": "ch-1", "type": "charge", "service": "wallet", "at": "2026-11-20T00:00:00Z",
        "account": "a1", "amount_minor": 100, "currency": "JPY",
        "source": {"kind": "bank", "bank_code": "0001", "branch": "001", "number": "0000001"}});
    let (status, _) = post(
        &agent(),
        &format!("{}/v1/events", server.url),
        &key,
        &charge,
    )
    .expect("answer");
    assert_eq!(status, 200);

    let mut child = server.child;
    let pid = child.id().to_string();
    assert!(std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill")
        .success());
    let deadline = Instant::now() + Duration::from_secs(30);
    while child.try_wait().expect("wait").is_none() {
        assert!(Instant::now() < deadline, "the server did not stop");
        std::thread::sleep(Duration::from_millis(50));
    }
    let dead =
        std::fs::read_to_string(data.join("notices-dead-letter.jsonl")).expect("dead letters");
    assert!(dead.contains(r#""id":"ch-1""#), "{dead}");
    let logged = std::fs::read_to_string(&log).expect("log");
    assert!(!logged.contains(SECRET), "the secret is never logged");
    assert!(!dead.contains(SECRET));
}
