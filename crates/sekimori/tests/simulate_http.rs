//! The simulator drives a running server over HTTP as well as in process.

mod common;

use common::{create_key, create_named_key, run, Server};

#[test]
fn simulate_against_a_running_server() {
    let dir = tempfile::tempdir().expect("tmp");
    let (data, log, out) = (
        dir.path().join("data"),
        dir.path().join("server.log"),
        dir.path().join("sim"),
    );
    // The simulated services report their hot wallets' outflows (custody)
    // and run their own MFA (stepup), as a real exchange and bank would.
    let key = create_key(&data, "ingest,custody,stepup");
    // The custody desk's approvers each vote with their own `approve` key.
    let approvers: Vec<String> = ["ops-aiko", "ops-kenji", "ops-mei"]
        .iter()
        .map(|name| format!("{name}={}", create_named_key(&data, name, "approve")))
        .collect();
    let server = Server::start(&data, &log, &[]);
    let started = std::time::Instant::now();
    let o = run(&[
        "simulate",
        "--size",
        "small",
        "--seed",
        "4",
        "--scenario",
        "docomo-koza,zaif",
        "--url",
        &server.url,
        "--key",
        &key,
        "--out",
        out.to_str().expect("utf8"),
        "--approver-key",
        &approvers[0],
        "--approver-key",
        &approvers[1],
        "--approver-key",
        &approvers[2],
    ]);
    server.kill();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    eprintln!("simulate over HTTP took {:?}", started.elapsed());
    let card: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("scorecard.json")).expect("json"))
            .expect("parses");
    let stolen = |scenario: &str, baseline: &str| {
        card["rows"]
            .as_array()
            .expect("rows")
            .iter()
            .find(|r| r["scenario"] == scenario && r["baseline"] == baseline)
            .and_then(|r| r["stolen_jpy"].as_i64())
            .expect("row")
    };
    assert!(
        stolen("zaif", "sekimori") < stolen("zaif", "none"),
        "the server halted the drain"
    );
    assert!(
        stolen("docomo-koza", "sekimori") * 10 < stolen("docomo-koza", "none"),
        "the server stopped the reverse brute force"
    );
}
