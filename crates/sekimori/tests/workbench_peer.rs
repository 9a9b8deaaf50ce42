//! `sekimori serve` gives the workbench each request's peer address, so
//! the sign-in back-off per (login, address) works in the real server, not
//! only in the workbench's in-process tests (which pass the address by hand).

mod common;

use common::{agent, post, users_create, Server, ANALYST_PASSWORD};
use serde_json::json;

#[test]
fn wrong_passwords_from_one_address_back_off_in_the_real_server() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let uri = users_create(&data, "aiko", "analyst");
    let server = Server::start(&data, &dir.path().join("serve.log"), &[]);
    let a = agent();
    let url = format!("{}/v1/workbench/sessions", server.url);
    let wrong = json!({"login": "aiko", "password": "not the password", "code": "000000"});
    let free = sekimori_workbench::throttle::PAIR_FREE_FAILURES;
    let mut statuses = Vec::new();
    for _ in 0..=free {
        statuses.push(post(&a, &url, "", &wrong).expect("answer").0);
    }
    // The free failures are refused as wrong; the next one from the same
    // address waits out the back-off. Without the peer address only the
    // per-login slow-down applies, which never refuses: 401 every time.
    let (first, last) = statuses.split_at(free as usize);
    assert!(first.iter().all(|s| *s == 401), "{statuses:?}");
    assert_eq!(last, [429], "{statuses:?}");
    // The right password and code from this address wait too (the pair is
    // backing off), and the failed sign-ins are logged with the address.
    let code = sekimori_workbench::testing::totp_code(&uri, sekimori_workbench::system_clock()());
    let right = json!({"login": "aiko", "password": ANALYST_PASSWORD, "code": code});
    assert_eq!(post(&a, &url, "", &right).expect("answer").0, 429);
    server.kill();
    let export = dir.path().join("log.jsonl");
    let out = common::run(&[
        "export",
        "--data",
        data.to_str().expect("utf8"),
        "--out",
        export.to_str().expect("utf8"),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let log = std::fs::read_to_string(&export).expect("export");
    let failed: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("sign_in_failed"))
        .collect();
    assert_eq!(failed.len(), free as usize, "{log}");
    assert!(failed.iter().all(|l| l.contains("127.0.0.1")), "{failed:?}");
}
