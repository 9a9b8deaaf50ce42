//! `export` writes the log as JSONL; `import` rebuilds an identical engine.

mod common;

use common::{agent, create_key, login, post, run, Server};
use sekimori_ledger::Ledger;
use sekimori_rules::compile;
use sekimori_store::Store;
use std::sync::Arc;

#[test]
fn export_then_import_rebuilds_the_same_state() {
    let dir = tempfile::tempdir().expect("tmp");
    let (data, log) = (dir.path().join("data"), dir.path().join("server.log"));
    let key = create_key(&data, "ingest,read,admin");
    let server = Server::start(&data, &log, &[]);
    let a = agent();
    let send = |range: std::ops::Range<u64>| {
        for n in range {
            let url = format!("{}/v1/events", server.url);
            post(&a, &url, &key, &login(&format!("e{n}"), n)).expect("answer");
        }
    };
    send(0..120);
    let list = serde_json::json!({"items": ["198.51.100.3"]});
    let mut resp = a
        .put(format!("{}/v1/lists/blocked_ips", server.url))
        .header("authorization", &format!("Bearer {key}"))
        .send_json(&list)
        .expect("put");
    assert_eq!(
        resp.status().as_u16(),
        200,
        "{:?}",
        resp.body_mut().read_to_string()
    );
    let freeze = serde_json::json!({"hold": {"scope": "account", "key": "acct-3"},
        "action": "freeze", "reason": "holder reported a stolen phone"});
    let (status, placed) =
        post(&a, &format!("{}/v1/holds", server.url), &key, &freeze).expect("answer");
    assert_eq!(status, 200, "{placed}");
    send(120..200);
    let running = run(&[
        "export",
        "--data",
        data.to_str().expect("utf8"),
        "--out",
        "/dev/null",
    ]);
    assert!(String::from_utf8_lossy(&running.stderr).contains("stop the server first"));
    server.kill();

    let dump = dir.path().join("log.jsonl");
    let o = run(&[
        "export",
        "--data",
        data.to_str().expect("utf8"),
        "--out",
        dump.to_str().expect("utf8"),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let copy = dir.path().join("copy");
    let o = run(&[
        "import",
        dump.to_str().expect("utf8"),
        "--data",
        copy.to_str().expect("utf8"),
    ]);
    let msg = String::from_utf8_lossy(&o.stderr);
    assert!(
        o.status.success()
            && msg.contains("200 events imported")
            && msg.contains("0 decisions differ"),
        "{msg}"
    );

    let pack = Arc::new(
        compile(sekimori_rules::embedded::default_pack().expect("pack")).expect("compiles"),
    );
    let digest = |d: &std::path::Path| {
        let store = Arc::new(Store::open(d).expect("open"));
        Ledger::open(store, Arc::clone(&pack), 1_000_000)
            .expect("restore")
            .engine()
            .state_digest()
    };
    assert_eq!(digest(&data), digest(&copy));
    let again = run(&[
        "import",
        dump.to_str().expect("utf8"),
        "--data",
        copy.to_str().expect("utf8"),
    ]);
    assert!(String::from_utf8_lossy(&again.stderr).contains("needs an empty data directory"));
}
