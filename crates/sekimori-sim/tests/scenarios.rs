//! Issue 13's scenarios and the sparse world: each is the same for a seed,
//! builds only events the vocabulary accepts, and does what its playbook
//! says. No detection rates here: those are the committed scorecards'.

use sekimori_rules::compile;
use sekimori_sim::{run_streaming_in, Baseline, Config, Size, WorldKind};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

fn config(seed: u64, scenario: &str) -> Config {
    let source = sekimori_rules::load_pack(
        &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../rules/default"),
    )
    .expect("pack");
    Config {
        size: Size::Small,
        seed,
        scenarios: vec![scenario.to_string()],
        pack: Arc::new(compile(source).expect("compiles")),
    }
}

/// The attack's events (by ground truth) and the run's stolen yen, with no
/// defense (`Baseline::None`).
fn attack(seed: u64, scenario: &str, kind: WorldKind) -> (Vec<Value>, i64) {
    let mut sent = Vec::new();
    let mut sink = |e: &Value| sent.push(e.clone());
    let r = run_streaming_in(
        &config(seed, scenario),
        kind,
        Baseline::None,
        Baseline::None.defender(&config(seed, scenario).pack),
        Some(&mut sink),
        &mut |_| {},
    )
    .expect("runs");
    assert!(
        r.score.invalid_events.is_empty(),
        "{scenario}: {:?}",
        &r.score.invalid_events[..1]
    );
    let ids: BTreeSet<&str> = r.score.truth.iter().map(|t| t.event_id.as_str()).collect();
    let mine = sent
        .iter()
        .filter(|e| ids.contains(e["id"].as_str().unwrap_or_default()))
        .cloned()
        .collect();
    let stolen = r.score.attacks.get(scenario).map_or(0, |a| a.stolen_jpy);
    (mine, stolen)
}

const NEW: &[&str] = &[
    "scanner-rotation",
    "first-in-bot",
    "usd-drain",
    "cycle-ring",
    "structuring",
];

#[test]
fn each_new_scenario_is_the_same_for_a_seed_and_steals_undefended() {
    for s in NEW {
        let (a, stolen_a) = attack(21, s, WorldKind::Dense);
        let (b, stolen_b) = attack(21, s, WorldKind::Dense);
        assert_eq!(a, b, "{s}: the same seed sends the same events");
        assert_eq!(stolen_a, stolen_b);
        assert!(stolen_a > 0, "{s} steals nothing undefended");
        let (c, _) = attack(22, s, WorldKind::Dense);
        assert_ne!(a, c, "{s}: another seed, another run");
        for e in &a {
            sekimori_event::decode_value(e.clone()).expect("decodes");
        }
    }
}

#[test]
fn the_scanner_rotates_many_usernames_and_passwords_from_three_addresses() {
    let (events, _) = attack(3, "scanner-rotation", WorldKind::Dense);
    let logins: Vec<&Value> = events
        .iter()
        .filter(|e| e["type"] == "login.attempt")
        .collect();
    let ips: BTreeSet<&str> = logins
        .iter()
        .filter_map(|e| e["actor"]["ip"].as_str())
        .collect();
    let users: BTreeSet<&str> = logins
        .iter()
        .filter_map(|e| e["account"].as_str())
        .collect();
    let secrets: BTreeSet<&str> = logins
        .iter()
        .filter_map(|e| e["secret_fp"].as_str())
        .collect();
    assert!(ips.len() <= 3, "{} addresses", ips.len());
    assert!(users.len() >= 300, "{} usernames", users.len());
    assert!(secrets.len() >= 20, "{} passwords", secrets.len());
    assert!(logins.iter().all(|e| e["actor"].get("device").is_none()));
    assert!(logins
        .iter()
        .any(|e| e["failure_reason"] == "unknown_account"));
    // Rotation: one account's consecutive tries are far apart.
    let mut last: BTreeMap<&str, i64> = BTreeMap::new();
    for e in &logins {
        let at =
            sekimori_event::parse_rfc3339_ms(e["at"].as_str().unwrap_or_default()).expect("time");
        let account = e["account"].as_str().unwrap_or_default();
        if let Some(before) = last.insert(account, at) {
            assert!(at - before >= 300_000, "{account} tried twice within 5 min");
        }
    }
}

#[test]
fn the_first_in_bot_logs_in_hourly_from_one_client_per_account_then_drains() {
    let (events, _) = attack(4, "first-in-bot", WorldKind::Dense);
    let mut per_account: BTreeMap<&str, Vec<&Value>> = BTreeMap::new();
    for e in events.iter().filter(|e| e["type"] == "login.attempt") {
        per_account
            .entry(e["account"].as_str().unwrap_or_default())
            .or_default()
            .push(e);
    }
    // Fresh accounts only (no login yet, the services' imported past
    // included: about one exchange account in ten in the small world):
    // 6 for this seed since the warm-up (d3cb046), 10 or more before.
    assert!(per_account.len() >= 5, "{} accounts", per_account.len());
    let drained: BTreeSet<&str> = events
        .iter()
        .filter(|e| e["type"] == "withdrawal")
        .filter_map(|e| e["account"].as_str())
        .collect();
    for (account, logins) in &per_account {
        let clients: BTreeSet<String> = logins.iter().map(|e| e["actor"].to_string()).collect();
        assert_eq!(clients.len(), 1, "{account}: one client throughout");
        if drained.contains(account) {
            assert_eq!(logins.len(), 24, "{account}: 24 logins before the drain");
        }
    }
    assert!(!drained.is_empty());
}

#[test]
fn the_usd_drain_sends_dollars_no_device_and_takes_the_whole_balance() {
    let (events, _) = attack(5, "usd-drain", WorldKind::Dense);
    let transfers: Vec<&Value> = events.iter().filter(|e| e["type"] == "transfer").collect();
    assert!(!transfers.is_empty());
    assert!(events.iter().all(|e| e["actor"].get("device").is_none()));
    assert!(transfers.iter().all(|e| e["currency"] == "USD"));
    let mut out: BTreeMap<&str, (i64, i64)> = BTreeMap::new();
    for t in &transfers {
        let account = t["account"].as_str().unwrap_or_default();
        let e = out.entry(account).or_insert((0, 0));
        e.0 += t["amount_minor"].as_i64().unwrap_or(0);
        if e.1 == 0 {
            e.1 = t["balance_before_minor"].as_i64().unwrap_or(0);
        }
    }
    if transfers[0].get("balance_before_minor").is_some() {
        for (account, (taken, before)) in out {
            assert!(taken >= before - 500, "{account}: {taken} of {before}");
        }
    }
}

#[test]
fn the_cycle_ring_stays_under_every_amount_and_money_comes_back_around() {
    let (events, _) = attack(6, "cycle-ring", WorldKind::Dense);
    let mut edges: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for e in events.iter().filter(|e| e["type"] == "transfer") {
        let amount = e["amount_minor"].as_i64().unwrap_or(0);
        assert!(amount < 100_000, "{amount}");
        edges
            .entry(e["account"].as_str().unwrap_or_default())
            .or_default()
            .insert(e["destination"]["account"].as_str().unwrap_or_default());
    }
    assert!(edges.len() >= 9, "three rings of 3-5");
    // From every member, following its one payee returns to it in 3-5 hops.
    for &start in edges.keys() {
        let (mut at, mut hops) = (start, 0);
        loop {
            at = edges[at].iter().next().copied().unwrap_or_default();
            hops += 1;
            if at == start || hops > 5 {
                break;
            }
        }
        assert!(
            at == start && (3..=5).contains(&hops),
            "{start}: {hops} hops"
        );
    }
}

#[test]
fn structuring_stays_one_step_under_the_new_payee_threshold_in_both_worlds() {
    for (kind, piece, currency) in [
        (WorldKind::Dense, 199_000, "JPY"),
        (WorldKind::Sparse, 149_900, "USD"),
    ] {
        let (events, stolen) = attack(7, "structuring", kind);
        let transfers: Vec<&Value> = events.iter().filter(|e| e["type"] == "transfer").collect();
        assert!(transfers.len() >= 10, "{kind:?}: {}", transfers.len());
        for t in &transfers {
            assert_eq!(t["amount_minor"], piece, "{kind:?}");
            assert_eq!(t["currency"], currency);
        }
        assert!(stolen > 0);
    }
}

#[test]
fn the_sparse_world_sends_no_device_asn_or_country_and_no_yen() {
    let cfg = config(9, "usd-drain");
    let mut sent = Vec::new();
    let mut sink = |e: &Value| sent.push(e.clone());
    run_streaming_in(
        &cfg,
        WorldKind::Sparse,
        Baseline::None,
        Baseline::None.defender(&cfg.pack),
        Some(&mut sink),
        &mut |_| {},
    )
    .expect("runs");
    assert!(sent.len() > 1_000);
    for e in &sent {
        for k in ["device", "asn", "country"] {
            assert!(e["actor"].get(k).is_none(), "{k} in {e}");
        }
        assert_ne!(e["type"], "device.bind");
        assert_ne!(e["currency"], "JPY");
    }
    // One day of history: the first event after the services' import (of
    // admitted logins, marked observed) is a day before the measured period.
    let history = 1_782_259_200_000 - 86_400_000;
    let at = |e: &Value| {
        sekimori_event::parse_rfc3339_ms(e["at"].as_str().unwrap_or_default()).expect("time")
    };
    let observed = |e: &Value| e["attrs"][sekimori_engine::OBSERVED_ATTR] == Value::Bool(true);
    let (imported, lived): (Vec<&Value>, Vec<&Value>) = sent.iter().partition(|e| at(e) < history);
    assert!(imported
        .iter()
        .all(|e| observed(e) && e["type"] == "login.attempt" && e["result"] == "success"));
    assert!(lived.first().is_some_and(|e| at(e) < history + 3_600_000));
}
