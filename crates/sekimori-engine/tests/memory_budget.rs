//! The memory budget (issue 12 part 4): a flood of unique accounts,
//! addresses and devices keeps the engine's accounted state under its
//! budget, a reverse brute force started during the flood is still
//! detected, and eviction is deterministic (two runs, one digest; a
//! snapshot restored mid-flood and a replay through `Entry::Pack`'s
//! `memory_budget` end in the same state).
//!
//! Debug builds decide slowly (every rule is evaluated twice, see
//! `fast_eval.rs`), so the default flood is 5,000 entities (about 7,500
//! events) against a 2 MiB budget: the same shape as a million entities
//! against a few GiB. `SEKIMORI_FLOOD` and `SEKIMORI_FLOOD_BUDGET` (bytes)
//! run it bigger, e.g. `SEKIMORI_FLOOD=1000000 SEKIMORI_FLOOD_BUDGET=8388608
//! cargo test --release -p sekimori-engine --test memory_budget`.

use sekimori_engine::{Decision, Engine, Entry, MEMORY_KINDS};
use sekimori_event::{decode_value, format_rfc3339_ms, Event};
use sekimori_rules::{compile, load_pack, Action, Pack};
use serde_json::json;
use std::path::Path;
use std::sync::Arc;

const T0: i64 = 1_767_225_600_000;
/// Flood entities are 10 ms apart.
const STEP_MS: i64 = 10;
/// Flood entities between two attempts of the brute force.
const GAP: u64 = 200;

fn default_pack() -> Arc<Pack> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../rules/default");
    Arc::new(compile(load_pack(&dir).expect("loads")).expect("compiles"))
}

fn env(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn flood_entities() -> u64 {
    env("SEKIMORI_FLOOD", 5_000)
}

fn budget() -> u64 {
    env("SEKIMORI_FLOOD_BUDGET", 2 << 20)
}

/// The flood's events for entity `i`: a failed login (a stuffing attempt
/// with a fresh username, address and device); every fourth entity also
/// logs in and sends a transfer to a fresh payee, so money-side windows
/// and login-risk profiles grow too.
fn flood(i: u64, at_ms: i64) -> Vec<Event> {
    let ip = format!("10.{}.{}.{}", (i >> 16) & 255, (i >> 8) & 255, i & 255);
    let actor = json!({"ip": ip, "device": format!("dev-{i}")});
    let mut out = vec![json!({
        "id": format!("f{i}"), "type": "login.attempt", "at": format_rfc3339_ms(at_ms),
        "service": "bank", "account": format!("user-{i}"), "factor": "password",
        "result": "failure", "secret_fp": format!("k1:{:064x}", i.wrapping_mul(0x9E37_79B9)),
        "actor": actor})];
    if i.is_multiple_of(4) {
        out.push(json!({
            "id": format!("s{i}"), "type": "login.attempt", "at": format_rfc3339_ms(at_ms + 1),
            "service": "bank", "account": format!("user-{i}"), "factor": "password",
            "result": "success", "secret_fp": format!("k1:{:064x}", i + 1), "actor": actor}));
        out.push(json!({
            "id": format!("t{i}"), "type": "transfer", "at": format_rfc3339_ms(at_ms + 2),
            "service": "bank", "account": format!("user-{i}"), "amount_minor": 5000,
            "currency": "JPY", "actor": actor,
            "destination": {"kind": "bank", "bank_code": "0001", "branch": "100",
                            "number": format!("{:07}", i % 10_000_000)}}));
    }
    out.into_iter()
        .map(|v| decode_value(v).expect("valid event"))
        .collect()
}

/// One attempt of a reverse brute force: one PIN against account `n`.
fn spray(n: u64, at_ms: i64) -> Event {
    decode_value(json!({
        "id": format!("spray-{n}"), "type": "login.attempt", "at": format_rfc3339_ms(at_ms),
        "service": "bank", "account": format!("victim-{n}"), "factor": "pin",
        "result": "failure",
        "secret_fp": "k1:81dc9bdb52d04dc20036dbd8313ed055aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
        "actor": {"ip": format!("198.51.100.{}", n % 200), "device": format!("bot-{n}")}}))
    .expect("valid event")
}

struct Run {
    engine: Engine,
    /// The decisions of the brute force's attempts, in order.
    spray: Vec<Decision>,
    /// Largest accounted bytes seen at a check.
    peak: u64,
    /// The snapshot taken halfway, and the events after it.
    halfway: Option<(Vec<u8>, Vec<Event>)>,
}

/// The flood, with a reverse brute force in its second half: one attempt
/// every `gap` flood entities (`gap * 10 ms` and more of event time).
fn run(entities: u64, gap: u64, keep_tail: bool) -> Run {
    let mut engine = Engine::new(default_pack());
    engine.set_memory_budget(Some(budget()));
    let mut out = Run {
        engine,
        spray: Vec::new(),
        peak: 0,
        halfway: None,
    };
    let half = entities / 2;
    let mut tail = Vec::new();
    let mut at = T0;
    for i in 0..entities {
        let mut events = flood(i, at);
        if i >= half && (i - half).is_multiple_of(gap) && out.spray.len() < 12 {
            events.push(spray(out.spray.len() as u64, at + 3));
        }
        if i == half && keep_tail {
            out.halfway = Some((out.engine.snapshot(), Vec::new()));
        }
        for e in &events {
            let d = out.engine.decide(e);
            if e.id.starts_with("spray-") {
                out.spray.push(d);
            }
        }
        if out.halfway.is_some() && keep_tail {
            tail.extend(events);
        }
        if i.is_multiple_of(500) {
            let m = out.engine.memory();
            assert!(
                m.accounted_bytes <= budget(),
                "{} bytes accounted after {i} entities, budget {}",
                m.accounted_bytes,
                budget()
            );
            out.peak = out.peak.max(m.accounted_bytes);
        }
        at += STEP_MS;
    }
    if let Some((_, t)) = out.halfway.as_mut() {
        *t = tail;
    }
    out
}

#[test]
fn a_flood_stays_within_the_budget_and_a_reverse_brute_force_is_still_denied() {
    let entities = flood_entities();
    let a = run(entities, GAP, true);
    let m = a.engine.memory();
    eprintln!(
        "{entities} entities: {} bytes accounted (peak {}), budget {}, {} runs; evicted {:?}",
        m.accounted_bytes,
        a.peak,
        budget(),
        m.runs,
        MEMORY_KINDS.iter().zip(m.evicted).collect::<Vec<_>>()
    );
    assert!(m.accounted_bytes <= budget());
    assert!(
        m.runs > 0,
        "the flood must exceed the budget for this test to mean anything"
    );
    assert!(
        m.evicted[0] > 0 && m.evicted[3] > 0,
        "login counters and risk profiles were evicted: {:?}",
        m.evicted
    );
    // The spray: the same PIN failing on 8 accounts within the hour is
    // denied, though 250 flood events (2 s) came between attempts, while
    // the budget holds about 600 entities' worth (6 s) of the flood.
    let actions: Vec<Action> = a.spray.iter().map(|d| d.action).collect();
    assert_eq!(a.spray.len(), 12);
    let fired = |d: &Decision| {
        d.reasons
            .iter()
            .any(|r| r.rule == "secret_tried_across_accounts")
    };
    assert!(!fired(&a.spray[6]), "{actions:?}");
    assert!(fired(&a.spray[7]), "8th attempt: {:?}", a.spray[7]);
    assert_eq!(a.spray[11].features["accounts_failing_per_secret_1h"], 12);
    assert!(
        a.spray[7..].iter().all(|d| d.action == Action::Deny),
        "{actions:?}"
    );

    // Deterministic: a second run gives the same state and decisions, and
    // the same accounting and evictions, though its engine drew another
    // shard seed (every `Engine::new` does: the attacker's review, F1), so
    // its keys sit in other shards.
    let b = run(entities, GAP, false);
    assert_eq!(a.engine.state_digest(), b.engine.state_digest());
    assert_eq!(a.spray, b.spray);
    assert_eq!(a.engine.memory(), b.engine.memory());

    // A snapshot taken mid-flood, restored and fed the rest, ends the same:
    // the budget is in the snapshot and the accounting is of lengths only.
    let (snapshot, tail) = a.halfway.expect("halfway snapshot");
    let mut restored = Engine::restore(default_pack(), &snapshot).expect("restores");
    assert_eq!(restored.memory_budget(), Some(budget()));
    for e in &tail {
        restored.decide(e);
    }
    assert_eq!(restored.state_digest(), a.engine.state_digest());
    assert_eq!(restored.memory(), a.engine.memory());
}

#[test]
fn without_a_budget_the_same_flood_outgrows_it() {
    // The old behaviour, for contrast: nothing bounds the state but max_keys.
    let mut engine = Engine::new(default_pack());
    let mut at = T0;
    for i in 0..2_000 {
        for e in flood(i, at) {
            engine.decide(&e);
        }
        at += STEP_MS;
    }
    let m = engine.memory();
    assert_eq!((m.budget_bytes, m.runs), (None, 0));
    assert!(m.accounted_bytes > budget(), "{}", m.accounted_bytes);
}

fn pack_entry(pack: &Pack, memory_budget: Option<u64>) -> Entry {
    Entry::Pack {
        name: pack.name().into(),
        version: pack.version().into(),
        digest: pack.digest.clone(),
        memory_budget,
    }
}

#[test]
fn a_replay_applies_the_logged_budget_where_it_was_logged() {
    let pack = default_pack();
    let mut live = Engine::new(Arc::clone(&pack));
    let mut log = vec![pack_entry(&pack, None)];
    let mut at = T0;
    let mut feed = |engine: &mut Engine, log: &mut Vec<Entry>, from: u64, to: u64| {
        for i in from..to {
            for e in flood(i, at) {
                let decision = engine.decide(&e);
                let event = e.to_json();
                log.push(Entry::Event { event, decision });
            }
            at += STEP_MS;
        }
    };
    feed(&mut live, &mut log, 0, 1_500);
    // The server restarts with --max-memory: the live pack is logged again
    // with the budget, and the engine evicts at once.
    live.set_memory_budget(Some(1 << 20));
    log.push(pack_entry(&pack, Some(1 << 20)));
    assert!(live.memory().accounted_bytes <= 1 << 20);
    feed(&mut live, &mut log, 1_500, 2_500);
    // And again with no budget (0 in the log).
    live.set_memory_budget(None);
    log.push(pack_entry(&pack, Some(0)));
    feed(&mut live, &mut log, 2_500, 2_700);

    let mut again = Engine::new(Arc::clone(&pack));
    let mut loader = |_: &str| Ok(Arc::clone(&pack));
    for entry in &log {
        again
            .replay_entry(entry, &mut loader)
            .expect("replays to the logged decisions");
    }
    assert_eq!(again.state_digest(), live.state_digest());
    assert_eq!(again.memory_budget(), None);
    assert!(again.memory().runs > 0);
}

#[test]
fn holds_are_never_evicted() {
    let mut engine = Engine::new(default_pack());
    engine.set_memory_budget(Some(512 << 10));
    let key = sekimori_engine::HoldKey::account("bank", "frozen-holder");
    engine
        .place_hold(key.clone(), Action::Freeze, "ops", "called in", T0)
        .expect("placed");
    let mut at = T0;
    for i in 0..1_000 {
        for e in flood(i, at) {
            engine.decide(&e);
        }
        at += STEP_MS;
    }
    assert!(engine.memory().runs > 0);
    assert!(engine.holds().get(&key).is_some());
    assert!(engine.memory().pinned_bytes > 0);
}

/// One guess of a low-and-slow password attack on one account: a
/// different password each time, from one client.
fn guess(n: u64, at_ms: i64) -> Event {
    decode_value(json!({
        "id": format!("guess-{n}"), "type": "login.attempt", "at": format_rfc3339_ms(at_ms),
        "service": "bank", "account": "holder", "factor": "password", "result": "failure",
        "secret_fp": format!("k1:{:064x}", 0xdead_0000 + n),
        "actor": {"ip": "203.0.113.7", "device": "guesser"}}))
    .expect("valid event")
}

/// A password guess a minute on one account for 12 minutes; from just
/// after the second guess, a flood of fresh entities (one every 100 ms,
/// 600 between two guesses, twice what a 1 MiB budget holds) tries to
/// push the account's failure counter out so its count restarts at zero.
/// Returns the 1-based attempt first challenged or refused, and the
/// failure count each guess read.
fn slow_attack(flood_on: bool) -> (Option<usize>, Vec<i64>, Engine) {
    let mut engine = Engine::new(default_pack());
    engine.set_memory_budget(Some(1 << 20));
    let (mut first, mut counts) = (None, Vec::new());
    let mut i = 0u64;
    for n in 0..12u64 {
        let at = T0 + n as i64 * 60_000;
        let d = engine.decide(&guess(n, at));
        counts.push(
            d.features["login_failures_per_account_15m"]
                .as_i64()
                .unwrap_or(-1),
        );
        if first.is_none() && d.action >= Action::Challenge {
            first = Some(n as usize + 1);
        }
        if flood_on && n >= 1 {
            for k in 0..600 {
                for e in flood(i, at + 100 * (k + 1)) {
                    engine.decide(&e);
                }
                i += 1;
            }
        }
    }
    (first, counts, engine)
}

#[test]
fn a_flood_of_fresh_keys_does_not_reset_a_slow_attack_in_progress() {
    let (alone, alone_counts, _) = slow_attack(false);
    assert_eq!(alone, Some(10), "{alone_counts:?}");
    let (flooded, counts, engine) = slow_attack(true);
    let m = engine.memory();
    assert!(
        m.runs > 0 && m.evicted[0] > 0,
        "the flood must force evictions of login counters: {m:?}"
    );
    // Before the tiers, every guess after the flood began read a count of
    // one: the counter was evicted between two guesses, and the attack was
    // never challenged.
    assert_eq!(flooded, alone, "counts read under the flood: {counts:?}");
    assert_eq!(counts, alone_counts);
    // The flood's own single-use keys went instead.
    assert!(m.accounted_bytes <= 1 << 20);
}
