//! Analyst administration in a replicated shard: analysts are records of
//! the shard's log (`analyst/<login>` of `Entry::StepUp`), so the first
//! admin made with `sekimori users create` on a node is adopted when it
//! leads, an analyst an admin creates on the leader (password, TOTP and a
//! passkey) signs in on the next leader after a SIGKILL, a reset on the
//! leader holds on the next one, and messages published to the stream by
//! anyone but the leader (a forged admin, an old record replayed) change
//! nobody.

use crate::check::Stream;
use crate::common::{agent, post, ANALYST_PASSWORD};
use crate::harness::Node;
use crate::{serial, start_nodes, test_dir, wait_leader};
use sekimori_engine::Entry;
use sekimori_webauthn::{CreationChallengeResponse, RequestChallengeResponse, Url};
use serde_json::{json, Value};
use std::time::{Duration, Instant};
use webauthn_authenticator_rs::{softpasskey::SoftPasskey, WebauthnAuthenticator};

/// The nodes' relying party's origin (`serve`'s default).
const ORIGIN: &str = "http://localhost:7878";
const NEW_PASSWORD: &str = "a brand new passphrase";

/// TOTP time steps used so far, per seed: each sign-in takes a fresh one
/// (a step is single use per analyst, across nodes).
pub(crate) struct Steps(pub(crate) std::collections::BTreeMap<String, Vec<i64>>);

impl Steps {
    pub(crate) fn code(&mut self, uri: &str) -> String {
        let used = self.0.entry(uri.to_string()).or_default();
        let mut now = sekimori_workbench::system_clock()();
        while used.contains(&(now / 30_000)) {
            now += 30_000;
        }
        used.push(now / 30_000);
        sekimori_workbench::testing::totp_code(uri, now)
    }
}

pub(crate) fn sign_in(node: &Node, login: &str, password: &str, code: &str) -> (u16, Value) {
    post(
        &agent(),
        &format!("{}/v1/workbench/sessions", node.url()),
        "",
        &json!({"login": login, "password": password, "code": code}),
    )
    .expect("answer")
}

pub(crate) fn signed_in(
    node: &Node,
    login: &str,
    password: &str,
    uri: &str,
    steps: &mut Steps,
) -> String {
    let (s, b) = sign_in(node, login, password, &steps.code(uri));
    assert_eq!(s, 200, "{login} signs in on {}: {b}", node.url());
    b["token"].as_str().expect("token").to_string()
}

pub(crate) fn call(node: &Node, path: &str, token: &str, body: Value) -> Value {
    let (s, b) = post(&agent(), &format!("{}{path}", node.url()), token, &body).expect("answer");
    assert_eq!(s, 200, "{path}: {b}");
    b
}

pub(crate) fn create(node: &Node, admin: &str, login: &str, role: &str) -> String {
    let b = call(
        node,
        "/v1/analysts",
        admin,
        json!({"login": login, "role": role, "password": ANALYST_PASSWORD}),
    );
    b["otpauth_uri"].as_str().expect("uri").to_string()
}

fn register_passkey(node: &Node, token: &str, dev: &mut SoftPasskey) {
    let started = call(
        node,
        "/v1/workbench/passkeys/register/start",
        token,
        json!({"name": "laptop"}),
    );
    let options: CreationChallengeResponse =
        serde_json::from_value(started["options"].clone()).expect("options");
    let credential = dev
        .do_registration(Url::parse(ORIGIN).expect("url"), options)
        .expect("registers");
    call(
        node,
        "/v1/workbench/passkeys/register/finish",
        token,
        json!({"ceremony": started["ceremony"], "credential": credential}),
    );
}

fn passkey_sign_in(node: &Node, login: &str, dev: &mut SoftPasskey) -> (u16, Value) {
    let started = call(
        node,
        "/v1/workbench/passkeys/sign-in/start",
        "",
        json!({"login": login}),
    );
    let options: RequestChallengeResponse =
        serde_json::from_value(started["options"].clone()).expect("options");
    let credential = dev
        .do_authentication(Url::parse(ORIGIN).expect("url"), options)
        .expect("signs");
    post(
        &agent(),
        &format!("{}/v1/workbench/passkeys/sign-in/finish", node.url()),
        "",
        &json!({"ceremony": started["ceremony"], "credential": credential}),
    )
    .expect("answer")
}

/// Waits until `node` adopted the analysts `sekimori users create` left
/// pending in its data directory.
pub(crate) fn wait_adopted(node: &Node) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !node.data.join("analysts.json.adopted").exists() {
        assert!(Instant::now() < deadline, "{} never adopted", node.url());
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The last value the stream wrote under `key` before `before` (a seq).
fn written(stream: &Stream, key: &str, before: u64) -> (u64, Vec<u8>) {
    stream
        .records()
        .into_iter()
        .filter(|(seq, _)| *seq < before)
        .flat_map(|(seq, r)| r.stepup.into_iter().map(move |w| (seq, w)))
        .filter(|(_, (k, _))| k == key)
        .filter_map(|(seq, (_, v))| v.map(|v| (seq, v)))
        .next_back()
        .unwrap_or_else(|| panic!("{key} is in the stream"))
}

/// A message as the leader would write it, published by someone else.
/// Entries are signed (attacker's review F1: an unsigned or wrongly signed
/// one stops the follower before it applies anything, `forged_entry`), so
/// these are signed as the shard's key signs them, as one holding
/// `stepup.key` could: the analyst guard behind the entry's MAC is what
/// refuses them here (records with made-up MACs, old records replayed).
fn forge(stream: &Stream, writes: Vec<(String, Vec<u8>)>) {
    let entry = Entry::StepUp {
        what: "analyst".into(),
        writes: writes
            .iter()
            .map(|(k, v)| (k.clone(), Some(String::from_utf8(v.clone()).expect("utf8"))))
            .collect(),
    };
    stream.publish_signed(&sekimori_ledger::Record {
        event: None,
        bytes: entry.to_bytes(),
        pack: None,
        stepup: writes.into_iter().map(|(k, v)| (k, Some(v))).collect(),
    });
}

/// A record as a forger without `stepup.key` makes one: the body is sealed
/// in every genuine record, so the forger writes its own (an analyst made
/// with `sekimori users create` in a directory of its own: its password,
/// its TOTP), changed by `edit`, in the form before sealing (body in the
/// clear), at rev `rev` (a follower takes exactly the next one), with a
/// made-up MAC. Returns it and the forged analyst's TOTP URI.
fn forged(login: &str, rev: u64, edit: impl FnOnce(&mut Value)) -> (Vec<u8>, String) {
    let dir = tempfile::tempdir().expect("tmp");
    let uri = crate::common::users_create(dir.path(), login, "analyst");
    let file = std::fs::read(dir.path().join("analysts.json")).expect("analysts.json");
    let mut records: Vec<Value> = serde_json::from_slice(&file).expect("records");
    let mut body = records.remove(0);
    edit(&mut body);
    (record(rev, &body.to_string()), uri)
}

/// The clear form of a record with body `body`, at `rev`, its MAC made up.
fn record(rev: u64, body: &str) -> Vec<u8> {
    serde_json::to_vec(&json!({"rev": rev, "body": body, "mac": "00".repeat(32)})).expect("json")
}

fn rev(value: &[u8]) -> u64 {
    let v: Value = serde_json::from_slice(value).expect("record");
    v["rev"].as_u64().expect("rev")
}

#[test]
fn analysts_live_in_the_log_and_survive_failover_unforged() {
    let _one = serial();
    let dir = test_dir();
    let nats = crate::harness::Nats::start(dir.path());
    let (mut nodes, _key) = start_nodes(dir.path(), &nats, 2);
    let stream = Stream::connect(&nats.urls());
    let first = wait_leader(&nodes, Duration::from_secs(30));
    let mut steps = Steps(Default::default());

    // The shard's first admin: made by the operator on the leader's data
    // directory, pending until the leader adopts it into the log.
    let root_uri = crate::common::users_create(&nodes[first].data, "root", "admin");
    wait_adopted(&nodes[first]);
    let root = signed_in(
        &nodes[first],
        "root",
        ANALYST_PASSWORD,
        &root_uri,
        &mut steps,
    );
    // A change of analysts through the CLI is refused on a cluster node.
    let out = crate::common::run(&[
        "users",
        "disable",
        "--login",
        "root",
        "--data",
        nodes[first].data.to_str().expect("utf8"),
    ]);
    assert!(!out.status.success(), "users disable on a cluster node");
    assert!(String::from_utf8_lossy(&out.stderr).contains("shard's log"));

    // Three analysts made on the leader by the admin: aiko with a passkey,
    // ken to be reset, yuki whose record a forger will try to promote.
    let aiko_uri = create(&nodes[first], &root, "aiko", "supervisor");
    let ken_uri = create(&nodes[first], &root, "ken", "analyst");
    let yuki_uri = create(&nodes[first], &root, "yuki", "analyst");
    let aiko = signed_in(
        &nodes[first],
        "aiko",
        ANALYST_PASSWORD,
        &aiko_uri,
        &mut steps,
    );
    let mut dev = SoftPasskey::new(true);
    register_passkey(&nodes[first], &aiko, &mut dev);
    let (s, b) = passkey_sign_in(&nodes[first], "aiko", &mut dev);
    assert_eq!(s, 200, "passkey sign-in on the first leader: {b}");
    // ken is reset on the leader: a new password and TOTP seed.
    let reset = call(
        &nodes[first],
        "/v1/analysts/ken/reset",
        &root,
        json!({"password": NEW_PASSWORD}),
    );
    let ken_new_uri = reset["otpauth_uri"].as_str().expect("uri").to_string();
    assert_ne!(ken_new_uri, ken_uri);
    // An analyst the operator leaves pending on the follower's data
    // directory: adopted when that node opens its workbench as leader.
    let ren_uri = crate::common::users_create(&nodes[1 - first].data, "ren", "analyst");
    let last = stream.last_seq();
    let (created_at, ken_before) = written(&stream, "analyst/ken", last + 1);
    let (_, ken_first) = written(&stream, "analyst/ken", created_at);
    let (_, yuki) = written(&stream, "analyst/yuki", last + 1);
    let (_, index) = written(&stream, "analyst/", last + 1);
    assert_ne!(
        ken_first, ken_before,
        "the reset is a later write of ken's record"
    );

    // The leader dies; before the other node leads, someone who can
    // publish to the shard's subject (but has no stepup.key) forges:
    // yuki made an admin, a new admin `mallory`, and ken's record before
    // the reset replayed.
    nodes[first].kill();
    // Every genuine record is sealed: nothing of yuki's body, her hash or
    // her role is in the stream.
    let clear = String::from_utf8_lossy(&yuki).to_string();
    assert!(
        clear.contains("\"sealed\"") && !clear.contains("argon2"),
        "{clear}"
    );
    let (promoted, _) = forged("yuki", rev(&yuki) + 1, |b| b["role"] = json!("admin"));
    let (mallory, mallory_uri) = forged("mallory", 1, |b| b["role"] = json!("admin"));
    let with_mallory = record(
        rev(&index) + 1,
        &json!(["aiko", "ken", "mallory", "root", "yuki"]).to_string(),
    );
    // And a rev pushed out of the leader's reach: refused by the follower.
    let (jumped, _) = forged("yuki", u64::MAX, |b| b["role"] = json!("admin"));
    forge(
        &stream,
        vec![
            ("analyst/yuki".into(), promoted),
            ("analyst/mallory".into(), mallory),
            ("analyst/".into(), with_mallory),
        ],
    );
    forge(&stream, vec![("analyst/ken".into(), ken_first)]);
    forge(&stream, vec![("analyst/ken".into(), jumped)]);
    let next = 1 - first;
    assert_eq!(wait_leader(&nodes, Duration::from_secs(30)), next);
    let follower_log =
        std::fs::read_to_string(dir.path().join(format!("s{next}.log"))).unwrap_or_default();
    assert!(
        follower_log.contains("does not verify or does not raise its record's rev"),
        "the follower refused the forged and the replayed records"
    );

    // On the new leader: aiko signs in with password and TOTP, and with
    // her passkey (its counter moved on through the log).
    signed_in(
        &nodes[next],
        "aiko",
        ANALYST_PASSWORD,
        &aiko_uri,
        &mut steps,
    );
    let (s, b) = passkey_sign_in(&nodes[next], "aiko", &mut dev);
    assert_eq!(s, 200, "passkey sign-in on the new leader: {b}");
    assert_eq!(b["login"], "aiko");
    // ren, pending on this node, was adopted when it began to lead.
    assert!(nodes[next].data.join("analysts.json.adopted").exists());
    signed_in(&nodes[next], "ren", ANALYST_PASSWORD, &ren_uri, &mut steps);
    // ken's reset holds: the old password and seed are refused, the new
    // ones sign in.
    let (s, _) = sign_in(&nodes[next], "ken", ANALYST_PASSWORD, &steps.code(&ken_uri));
    assert_eq!(s, 401, "ken's credentials from before the reset");
    signed_in(&nodes[next], "ken", NEW_PASSWORD, &ken_new_uri, &mut steps);
    // The forged records never reached the follower's table (their MAC
    // fails there): mallory is nobody, and yuki, whose record a forger
    // rewrote at exactly the next rev, is not locked out: she signs in as
    // the analyst she is.
    let (s, b) = sign_in(
        &nodes[next],
        "mallory",
        ANALYST_PASSWORD,
        &steps.code(&mallory_uri),
    );
    assert_eq!(s, 401, "mallory: {b}");
    signed_in(
        &nodes[next],
        "yuki",
        ANALYST_PASSWORD,
        &yuki_uri,
        &mut steps,
    );
    let root = signed_in(
        &nodes[next],
        "root",
        ANALYST_PASSWORD,
        &root_uri,
        &mut steps,
    );
    let (s, list) = crate::common::get(
        &agent(),
        &format!("{}/v1/analysts", nodes[next].url()),
        &root,
    );
    assert_eq!(s, 200, "{list}");
    let admins: Vec<&str> = list["analysts"]
        .as_array()
        .expect("analysts")
        .iter()
        .filter(|a| a["role"] == "admin")
        .filter_map(|a| a["login"].as_str())
        .collect();
    assert_eq!(admins, ["root"], "{list}");

    // Every analyst change and the CLI's adoption are audit acts in the log.
    let mut acts = Vec::new();
    let mut ren_created = 0;
    for (_, r) in stream.records() {
        if let Ok(Entry::Analyst { by, act, .. }) = Entry::from_bytes(&r.bytes) {
            acts.push(format!("{by}:{}", act["type"].as_str().unwrap_or("")));
            if act["type"] == "create_analyst" && act["login"] == "ren" {
                ren_created += 1;
            }
        }
    }
    // ren was made by the CLI before that node was marked: one act, not
    // the CLI's and the adoption's.
    assert_eq!(ren_created, 1, "{acts:?}");
    for want in [
        "cli:create_analyst",
        "root:create_analyst",
        "root:reset_analyst",
        "aiko:passkey_registered",
    ] {
        assert!(acts.iter().any(|a| a == want), "{want} in {acts:?}");
    }

    // The new leader's log exported and imported (the stream's forged
    // messages are in it, as entries): analyst records come only with the
    // shard's key, each one whose MAC holds and that raises its rev by one,
    // so the import's table is the node's own and no forged record is in it.
    nodes[next].kill();
    let path = |p: &std::path::Path| p.to_str().expect("utf8").to_string();
    let dump = dir.path().join("log.jsonl");
    let data = path(&nodes[next].data);
    let out = crate::common::run(&["export", "--data", &data, "--out", &path(&dump)]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let import = |name: &str, extra: &[&str]| {
        let into = dir.path().join(name);
        crate::harness::shared_stepup_key(&into);
        let (dump, into_s) = (path(&dump), path(&into));
        let mut args = vec!["import", dump.as_str(), "--data", into_s.as_str()];
        args.extend(extra);
        let out = crate::common::run(&args);
        let err = String::from_utf8_lossy(&out.stderr).to_string();
        assert!(out.status.success(), "{err}");
        (into, err)
    };
    let analysts = |d: &std::path::Path| {
        let store = sekimori_store::Store::open(d).expect("store");
        let keys = store.stepup_keys("analyst/").expect("keys");
        keys.into_iter()
            .map(|k| {
                let v = store.stepup(&k).expect("reads").expect("stored");
                (k, v)
            })
            .collect::<Vec<_>>()
    };
    let (plain, err) = import("plain", &[]);
    assert!(err.contains("pass --shard"), "{err}");
    assert!(analysts(&plain).is_empty(), "no shard named: no analyst");
    let (checked, err) = import("checked", &["--shard", "bank"]);
    assert!(
        err.contains("analyst/mallory does not verify"),
        "the forged records are refused: {err}"
    );
    let imported = analysts(&checked);
    let keys: Vec<&str> = imported.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        keys,
        [
            "analyst/",
            "analyst/aiko",
            "analyst/ken",
            "analyst/ren",
            "analyst/root",
            "analyst/yuki"
        ]
    );
    assert_eq!(
        imported,
        analysts(&nodes[next].data),
        "the node's own records"
    );
}
