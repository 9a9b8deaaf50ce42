//! `sekimori serve` carries the workbench: `users create` makes an analyst
//! while the server's data directory is in use, the analyst signs in with
//! password and TOTP, and the tour's brute force is a case in the queue;
//! a hold and a list item placed from the case act in the engine.

mod common;

use common::{agent, create_key, post, Server};
use serde_json::{json, Value};

const PASSWORD: &str = common::ANALYST_PASSWORD;

fn users_create(data: &std::path::Path, login: &str) -> String {
    common::users_create(data, login, "admin")
}

fn users_create_as(data: &std::path::Path, login: &str, role: &str) -> String {
    common::users_create(data, login, role)
}

#[test]
fn the_workbench_is_served_at_ui_with_the_tours_case() {
    let dir = tempfile::tempdir().expect("tmp");
    let (data, log) = (dir.path().join("data"), dir.path().join("server.log"));
    let key = create_key(&data, "ingest,read,admin");
    let uri = users_create(&data, "aiko");
    assert!(uri.starts_with("otpauth://totp/"), "{uri}");
    let stored = std::fs::read_to_string(data.join("analysts.json")).expect("analysts");
    assert!(!stored.contains(PASSWORD), "only the argon2 hash is kept");
    let server = Server::start(&data, &log, &[]);
    let a = agent();
    for i in 1..=8 {
        let e = json!({"id": format!("tour-{i}"), "type": "login.attempt",
            "at": format!("2026-11-23T02:00:0{i}Z"), "service": "netbank",
            "actor": {"ip": format!("198.51.100.{i}")}, "account": format!("acct-00{i}"),
            "factor": "pin", "result": "failure",
            "secret_fp": "k1:81dc9bdb52d04dc20036dbd8313ed055aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"});
        let (status, _) = post(&a, &format!("{}/v1/events", server.url), &key, &e).expect("answer");
        assert_eq!(status, 200);
    }
    let page = a
        .get(&format!("{}/ui/login?lang=ja", server.url))
        .call()
        .expect("page")
        .body_mut()
        .read_to_string()
        .expect("html");
    assert!(page.contains("サインイン") && page.contains(r#"name="csrf""#));

    let now = sekimori_workbench::system_clock()();
    let code = sekimori_workbench::testing::totp_code(&uri, now);
    let (status, session) = post(
        &a,
        &format!("{}/v1/workbench/sessions", server.url),
        "",
        &json!({"login": "aiko", "password": PASSWORD, "code": code}),
    )
    .expect("answer");
    assert_eq!(status, 200, "{session}");
    let token = session["token"].as_str().expect("token");
    let (status, cases) = common::get(&a, &format!("{}/v1/cases", server.url), token);
    assert_eq!(status, 200, "{cases}");
    let list = cases["cases"].as_array().expect("cases");
    assert_eq!(list.len(), 1, "{cases}");
    assert_eq!(list[0]["entity"], "acct-008");
    let id = list[0]["id"].as_u64().expect("id");
    let (status, case): (u16, Value) =
        common::get(&a, &format!("{}/v1/cases/{id}", server.url), token);
    assert_eq!(status, 200);
    assert_eq!(
        case["decisions"][0][1]["reasons"][0]["rule"],
        "secret_tried_across_accounts"
    );
    // Analyst actions go through the ledger: claimed, then closed with a
    // disposition (a label on each of the case's events).
    let (status, body) = post(
        &a,
        &format!("{}/v1/cases/{id}/claim", server.url),
        token,
        &json!({}),
    )
    .expect("answer");
    assert_eq!(status, 200, "{body}");
    let (status, body) = post(
        &a,
        &format!("{}/v1/cases/{id}/close", server.url),
        token,
        &json!({"disposition": "confirmed_fraud", "note": "one PIN across eight accounts"}),
    )
    .expect("answer");
    assert_eq!(status, 200, "{body}");
    let (status, body) = post(
        &a,
        &format!("{}/v1/cases/{id}/close", server.url),
        token,
        &json!({"disposition": "legitimate", "note": "again"}),
    )
    .expect("answer");
    assert_eq!(status, 409, "a closed case cannot be closed again: {body}");
    server.kill();

    // The case index is rebuilt from the log alone: after a restart the
    // case is still closed, with its disposition.
    let server = Server::start(&data, &log, &[]);
    // A code of another time step than the first sign-in's (a used step is
    // refused: replay).
    let mut later = sekimori_workbench::system_clock()();
    if later / 30_000 == now / 30_000 {
        later += 30_000;
    }
    let (status, session) = post(
        &a,
        &format!("{}/v1/workbench/sessions", server.url),
        "",
        &json!({"login": "aiko", "password": PASSWORD,
                "code": sekimori_workbench::testing::totp_code(&uri, later)}),
    )
    .expect("answer");
    assert_eq!(status, 200, "{session}");
    let token = session["token"].as_str().expect("token");
    let (status, case): (u16, Value) =
        common::get(&a, &format!("{}/v1/cases/{id}", server.url), token);
    assert_eq!(status, 200, "{case}");
    let text = case.to_string();
    assert!(
        text.contains("confirmed_fraud"),
        "the disposition survived the restart: {text}"
    );
    server.kill();
}

fn sign_in(a: &ureq::Agent, url: &str, login: &str, uri: &str) -> String {
    let code = sekimori_workbench::testing::totp_code(uri, sekimori_workbench::system_clock()());
    let (status, session) = post(
        a,
        &format!("{url}/v1/workbench/sessions"),
        "",
        &json!({"login": login, "password": PASSWORD, "code": code}),
    )
    .expect("answer");
    assert_eq!(status, 200, "{session}");
    session["token"].as_str().expect("token").to_string()
}

#[test]
fn holds_and_list_items_from_a_case_act_in_the_engine() {
    let dir = tempfile::tempdir().expect("tmp");
    let (data, log) = (dir.path().join("data"), dir.path().join("server.log"));
    let key = create_key(&data, "ingest,read,admin");
    let aiko = users_create(&data, "aiko");
    let mei = users_create_as(&data, "mei", "supervisor");
    let server = Server::start(&data, &log, &[]);
    let a = agent();
    let url = server.url.clone();
    for i in 1..=8 {
        let e = json!({"id": format!("tour-{i}"), "type": "login.attempt",
            "at": format!("2026-11-23T02:00:0{i}Z"), "service": "netbank",
            "actor": {"ip": format!("198.51.100.{i}")}, "account": format!("acct-00{i}"),
            "factor": "pin", "result": "failure",
            "secret_fp": "k1:81dc9bdb52d04dc20036dbd8313ed055aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"});
        let (status, _) = post(&a, &format!("{url}/v1/events"), &key, &e).expect("answer");
        assert_eq!(status, 200);
    }
    let token = sign_in(&a, &url, "aiko", &aiko);
    let (_, cases) = common::get(&a, &format!("{url}/v1/cases"), &token);
    let id = cases["cases"][0]["id"].as_u64().expect("case");

    // A freeze from the case is the engine's hold, by the analyst, with why.
    let (status, body) = post(
        &a,
        &format!("{url}/v1/cases/{id}/holds"),
        &token,
        &json!({"scope": "account", "key": "acct-008", "reason": "PIN sprayed"}),
    )
    .expect("answer");
    assert_eq!(status, 200, "{body}");
    let (_, holds) = common::get(&a, &format!("{url}/v1/holds"), &key);
    let held = holds["holds"].as_array().expect("holds").iter().any(|h| {
        h["hold"]["key"] == "acct-008" && h["by"] == "analyst:aiko" && h["reason"] == "PIN sprayed"
    });
    assert!(held, "{holds}");

    // A list item from the case: the engine refuses the address at once.
    let (status, body) = post(
        &a,
        &format!("{url}/v1/cases/{id}/lists"),
        &token,
        &json!({"list": "blocked_ips", "item": "203.0.113.66", "expires_in_hours": 24,
                "reason": "the sprayer's address"}),
    )
    .expect("answer");
    assert_eq!(status, 200, "{body}");
    let e = json!({"id": "after-list", "type": "login.attempt", "at": "2026-11-23T02:05:00Z",
        "service": "netbank", "actor": {"ip": "203.0.113.66"}, "account": "acct-050",
        "factor": "password", "result": "success"});
    let (status, decision) = post(&a, &format!("{url}/v1/events"), &key, &e).expect("answer");
    assert_eq!(status, 200);
    assert_eq!(decision["decision"]["action"], "deny", "{decision}");
    assert_eq!(decision["decision"]["reasons"][0]["rule"], "blocked_ip");

    // Lifting takes two supervisors: aiko asks, mei (made by the CLI) lifts.
    let lift = json!({"scope": "account", "key": "acct-008", "reason": "holder verified"});
    let (status, body) = post(
        &a,
        &format!("{url}/v1/cases/{id}/holds/lift"),
        &token,
        &lift,
    )
    .expect("answer");
    assert_eq!(
        (status, body["outcome"].as_str()),
        (200, Some("requested")),
        "{body}"
    );
    let mei_token = sign_in(&a, &url, "mei", &mei);
    let (status, body) = post(
        &a,
        &format!("{url}/v1/cases/{id}/holds/lift"),
        &mei_token,
        &lift,
    )
    .expect("answer");
    assert_eq!(
        (status, body["outcome"].as_str()),
        (200, Some("lifted")),
        "{body}"
    );
    let (_, holds) = common::get(&a, &format!("{url}/v1/holds"), &key);
    let still = holds["holds"]
        .as_array()
        .expect("holds")
        .iter()
        .any(|h| h["hold"]["key"] == "acct-008" && h["by"].is_string());
    assert!(!still, "lifted: {holds}");
    server.kill();
}

/// `sekimori users ...` with a password on stdin; its output.
fn users(args: &[&str], data: &std::path::Path, password: Option<&str>) -> std::process::Output {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let mut child = Command::new(common::BIN)
        .arg("users")
        .args(args)
        .arg("--data")
        .arg(data)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawns");
    if let Some(p) = password {
        let mut stdin = child.stdin.take().expect("stdin");
        stdin
            .write_all(format!("{p}\n").as_bytes())
            .expect("password");
    }
    child.wait_with_output().expect("runs")
}

/// Every analyst change the operator's CLI makes is an audit act in the
/// log, by `cli`: made before the server starts or while it runs.
#[test]
fn the_clis_analyst_changes_are_logged_by_cli() {
    let dir = tempfile::tempdir().expect("tmp");
    let (data, log) = (dir.path().join("data"), dir.path().join("server.log"));
    users_create(&data, "root");
    let server = Server::start(&data, &log, &[]);
    users_create_as(&data, "bo", "analyst");
    for args in [
        &["disable", "--login", "bo"][..],
        &["enable", "--login", "bo"][..],
    ] {
        let o = users(args, &data, None);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    }
    let o = users(
        &["reset", "--login", "bo"],
        &data,
        Some("another long passphrase"),
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    // The server takes the queued acts in within a second; the file goes
    // only once the log holds them (see the test below).
    wait_gone(&data.join("analysts.acts"), 50);
    server.kill();
    let text = exported(&data, &dir.path().join("dump.jsonl"));
    let acts: Vec<(String, String, String)> = text
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|e| e["entry"] == "analyst")
        .map(|e| {
            (
                e["by"].as_str().unwrap_or("").to_string(),
                e["act"]["type"].as_str().unwrap_or("").to_string(),
                e["act"]["login"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    for (act, login) in [
        ("create_analyst", "root"),
        ("create_analyst", "bo"),
        ("disable_analyst", "bo"),
        ("enable_analyst", "bo"),
        ("reset_analyst", "bo"),
    ] {
        assert!(
            acts.contains(&("cli".into(), act.into(), login.into())),
            "{act} {login} by cli in {acts:?}"
        );
    }
}

/// The CLI's queued acts leave `analysts.acts` only once the log holds
/// them: a server killed the moment the file is gone has logged every act
/// queued before, each once. (The file was once emptied before the acts
/// were appended, and a kill in between lost them.) Twenty acts queued
/// before the server starts are taken in as one batch, so a file that goes
/// before the appends shows here as acts missing from the export.
#[test]
fn the_clis_queued_acts_leave_the_file_only_once_logged() {
    let dir = tempfile::tempdir().expect("tmp");
    let (data, log) = (dir.path().join("data"), dir.path().join("server.log"));
    users_create(&data, "root");
    users_create_as(&data, "bo", "analyst");
    const ROUNDS: usize = 10;
    for _ in 0..ROUNDS {
        for args in [
            &["disable", "--login", "bo"][..],
            &["enable", "--login", "bo"][..],
        ] {
            let o = users(args, &data, None);
            assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        }
    }
    let queued = data.join("analysts.acts");
    let lines = std::fs::read_to_string(&queued).expect("queued acts");
    assert_eq!(lines.lines().count(), 2 + 2 * ROUNDS, "{lines}");
    let server = Server::start(&data, &log, &[]);
    wait_gone(&queued, 1);
    // At once: nothing more is given the server to finish.
    server.kill();
    let text = exported(&data, &dir.path().join("dump.jsonl"));
    let acts: Vec<(String, String)> = text
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|e| e["entry"] == "analyst" && e["by"] == "cli")
        .map(|e| {
            (
                e["act"]["type"].as_str().unwrap_or("").to_string(),
                e["act"]["login"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    let count = |act: &str, login: &str| {
        acts.iter()
            .filter(|(a, l)| a.as_str() == act && l.as_str() == login)
            .count()
    };
    assert_eq!(count("create_analyst", "root"), 1, "{acts:?}");
    assert_eq!(count("create_analyst", "bo"), 1, "{acts:?}");
    assert_eq!(count("disable_analyst", "bo"), ROUNDS, "{acts:?}");
    assert_eq!(count("enable_analyst", "bo"), ROUNDS, "{acts:?}");
    assert_eq!(
        acts.len(),
        2 + 2 * ROUNDS,
        "nothing else, nothing twice: {acts:?}"
    );
}

/// Waits (20 s at most, polling every `poll_ms`) until the server has taken
/// in the CLI's queued acts: the file goes only once the log holds them.
fn wait_gone(queued: &std::path::Path, poll_ms: u64) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while queued.exists() {
        assert!(std::time::Instant::now() < deadline, "acts never logged");
        std::thread::sleep(std::time::Duration::from_millis(poll_ms));
    }
}

/// `sekimori export` of `data` to `dump`, and the dump's text.
fn exported(data: &std::path::Path, dump: &std::path::Path) -> String {
    let o = common::run(&[
        "export",
        "--data",
        data.to_str().expect("utf8"),
        "--out",
        dump.to_str().expect("utf8"),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    std::fs::read_to_string(dump).expect("dump")
}
