//! Rule quality and backtests over a real store, written through the ledger
//! as the server writes it; every expected number is computed by hand.

use sekimori_backtest::{run, Class, Report, Request, Window};
use sekimori_engine::{Entry, Prepared};
use sekimori_ledger::{wait, Ledger};
use sekimori_rules::{compile, load_embedded, Action, Pack};
use sekimori_store::Store;
use std::sync::Arc;

const DAY: i64 = 86_400_000;
/// 2026-01-01T00:00:00Z.
const T0: i64 = 1_767_225_600_000;

const RULES: &str = r#"
rules:
  - name: big_transfer
    on: [transfer]
    when: event.amount_minor >= 100000
    action: deny
    reason: big
  - name: medium_transfer
    on: [transfer]
    when: event.amount_minor >= 10000
    action: challenge
    methods: [totp]
    reason: medium
  - name: shadow_small
    on: [transfer]
    when: event.amount_minor >= 5000
    action: deny
    shadow: true
    reason: small
  - name: any_login
    on: [login.attempt]
    when: "false"
    action: deny
    reason: never
"#;

/// The test pack, version `v`, with the rules named in `drop` left out.
fn pack(version: &str, drop: &[&str]) -> Arc<Pack> {
    let mut rules = RULES.to_string();
    for name in drop {
        let start = rules
            .find(&format!("  - name: {name}\n"))
            .expect("rule present");
        let end = rules[start + 4..]
            .find("  - name: ")
            .map(|i| start + 4 + i)
            .unwrap_or(rules.len());
        rules.replace_range(start..end, "");
    }
    let header = format!("pack:\n  name: test\n  version: \"{version}\"\n");
    let source = load_embedded(&[("pack.yaml", &header), ("rules.yaml", &rules)]).expect("loads");
    Arc::new(compile(source).expect("compiles"))
}

fn transfer(id: &str, at_ms: i64, amount: i64) -> Prepared {
    let e = sekimori_event::decode_value(serde_json::json!({
        "id": id, "type": "transfer", "service": "bank",
        "at": sekimori_event::format_rfc3339_ms(at_ms),
        "account": format!("acct-{id}"), "amount_minor": amount, "currency": "JPY",
        "destination": {"kind": "account", "account": "payee-1"}}))
    .expect("valid event");
    Prepared::new(e)
}

fn label(ledger: &mut Ledger, id: &str, label: &str) {
    let entry = Entry::Label {
        service: "bank".into(),
        event_id: id.into(),
        label: label.into(),
        by: "key:test".into(),
        at: "2026-02-01T00:00:00Z".into(),
        note: String::new(),
    };
    wait(ledger.append_audit(&entry).expect("an audit entry")).expect("durable");
}

/// Day 0: one big transfer (outside the window). Day 1: t0..t5 below.
/// Labels: t0 chargeback, t1 customer_confirmed, t2 confirmed_fraud,
/// t3 customer_denied, t5 legitimate, t4 none; d0 chargeback.
fn world(dir: &std::path::Path) -> Arc<Store> {
    world_with(dir, false)
}

/// The same, with a snapshot of the state after day 0 when `snapshot`.
fn world_with(dir: &std::path::Path, snapshot: bool) -> Arc<Store> {
    let store = Arc::new(Store::open(dir).expect("store"));
    let mut ledger = Ledger::open(Arc::clone(&store), pack("1", &[]), 1_000_000).expect("opens");
    wait(ledger.decide(&transfer("d0", T0, 500_000)).1).expect("durable");
    if snapshot {
        wait(ledger.snapshot()).expect("snapshot written");
    }
    let amounts = [200_000, 50_000, 20_000, 6_000, 1_000, 150_000];
    for (i, a) in amounts.iter().enumerate() {
        let id = format!("t{i}");
        let (d, durable) = ledger.decide(&transfer(&id, T0 + DAY + i as i64 * 60_000, *a));
        wait(durable).expect("durable");
        let want = match *a {
            x if x >= 100_000 => Action::Deny,
            x if x >= 10_000 => Action::Challenge,
            _ => Action::Allow,
        };
        assert_eq!(d.action, want, "{id}");
    }
    // An event on day 2 ends the window.
    wait(ledger.decide(&transfer("n0", T0 + 2 * DAY, 1_000)).1).expect("durable");
    for (id, l) in [
        ("t0", "chargeback"),
        ("t1", "customer_confirmed"),
        ("t2", "confirmed_fraud"),
        ("t3", "customer_denied"),
        ("t5", "legitimate"),
        ("d0", "chargeback"),
        ("t4", "unable_to_verify"),
    ] {
        label(&mut ledger, id, l);
    }
    drop(ledger);
    store
}

fn day1() -> Window {
    Window {
        from_ms: T0 + DAY,
        to_ms: T0 + 2 * DAY,
    }
}

fn quality(store: &Store) -> Report {
    run(
        store,
        &Request {
            window: day1(),
            candidate: None,
            sample: 10,
            service: None,
        },
    )
    .expect("runs")
}

#[test]
fn rule_quality_matches_the_hand_count_and_a_planted_label_moves_it() {
    let dir = tempfile::tempdir().expect("tmp");
    let store = world(dir.path());
    let r = quality(&store);
    assert_eq!(r.window.events, 6, "d0 and n0 are outside the window");
    let p = &r.quality.packs[0];
    assert_eq!(p.version, "1");
    // Caught: t0 t1 t2 t5. Fraud: t0 t2 t3. Legitimate: t1 t5.
    assert_eq!(
        (p.caught, p.true_positives, p.false_positives, p.misses),
        (4, 2, 2, 1)
    );
    assert_eq!((p.precision_bp, p.recall_bp), (Some(5_000), Some(6_666)));
    // Friction on events not labelled fraud: t1 challenged, t5 refused.
    assert_eq!((p.friction.challenged, p.friction.refused), (1, 1));
    let rule = |name: &str| {
        r.quality
            .rules
            .iter()
            .find(|q| q.rule == name)
            .unwrap_or_else(|| panic!("{name} fired"))
    };
    let big = rule("big_transfer");
    assert_eq!(
        (big.fired, big.true_positives, big.false_positives),
        (2, 1, 1)
    );
    assert_eq!(
        (big.precision_bp, big.recall_bp),
        (Some(5_000), Some(3_333))
    );
    assert_eq!((big.friction.challenged, big.friction.refused), (0, 1));
    let medium = rule("medium_transfer");
    assert_eq!((medium.fired, medium.true_positives), (4, 2));
    assert_eq!(
        (medium.friction.challenged, medium.friction.refused),
        (2, 0)
    );
    let shadow = rule("shadow_small");
    assert!(shadow.shadow && !medium.shadow);
    assert_eq!(
        (shadow.fired, shadow.true_positives, shadow.false_positives),
        (5, 3, 2)
    );
    assert_eq!(
        (shadow.precision_bp, shadow.recall_bp),
        (Some(6_000), Some(10_000))
    );
    // What it would have refused, had it been enforced: t1 and t5.
    assert_eq!(shadow.friction.refused, 2);
    assert!(r.quality.rules.iter().all(|q| q.rule != "any_login"));
    assert_eq!(r.labels.by_label["unable_to_verify"], 1);

    // A late chargeback on t1 overturns the customer's word.
    let mut ledger = Ledger::open(Arc::clone(&store), pack("1", &[]), 1_000_000).expect("reopens");
    label(&mut ledger, "t1", "chargeback");
    drop(ledger);
    let r = quality(&store);
    let p = &r.quality.packs[0];
    assert_eq!((p.true_positives, p.false_positives, p.misses), (3, 1, 1));
    assert_eq!((p.precision_bp, p.recall_bp), (Some(7_500), Some(7_500)));
    assert_eq!(r.labels.conflicts, 1);
}

fn backtest(store: &Store, candidate: Arc<Pack>) -> Report {
    run(
        store,
        &Request {
            window: day1(),
            candidate: Some(candidate),
            sample: 10,
            service: None,
        },
    )
    .expect("runs")
}

#[test]
fn dropping_a_rule_changes_exactly_the_events_it_decided() {
    let dir = tempfile::tempdir().expect("tmp");
    let store = world(dir.path());
    let r = backtest(&store, pack("2-no-medium", &["medium_transfer"]));
    let b = r.backtest.expect("a backtest");
    assert_eq!((b.decided, b.changed), (6, 2));
    let changed: Vec<(&str, Action, Action, Option<Class>)> = b
        .sample
        .iter()
        .map(|c| (c.event_id.as_str(), c.from, c.to, c.label))
        .collect();
    assert_eq!(
        changed,
        [
            (
                "t1",
                Action::Challenge,
                Action::Allow,
                Some(Class::Legitimate)
            ),
            ("t2", Action::Challenge, Action::Allow, Some(Class::Fraud)),
        ]
    );
    assert_eq!(b.transitions.len(), 1);
    assert_eq!((b.transitions[0].events, b.transitions[0].fraud), (2, 1));
    // Logged: as in the rule-quality test. Candidate: caught t0 t5, TP t0.
    assert_eq!(
        (b.logged.precision_bp, b.logged.recall_bp),
        (Some(5_000), Some(6_666))
    );
    assert_eq!(
        (
            b.candidate.true_positives,
            b.candidate.false_positives,
            b.candidate.misses
        ),
        (1, 1, 2)
    );
    assert_eq!(
        (b.candidate.precision_bp, b.candidate.recall_bp),
        (Some(5_000), Some(3_333))
    );
    assert_eq!(b.version, "2-no-medium");
    assert!(b.rules.iter().all(|q| q.rule != "medium_transfer"));

    // Dropping the deny instead: t0 and t5 fall to the challenge.
    let r = backtest(&store, pack("3-no-big", &["big_transfer"]));
    let b = r.backtest.expect("a backtest");
    let changed: Vec<(&str, Action)> = b
        .sample
        .iter()
        .map(|c| (c.event_id.as_str(), c.to))
        .collect();
    assert_eq!(
        changed,
        [("t0", Action::Challenge), ("t5", Action::Challenge)]
    );
    assert_eq!(b.candidate.precision_bp, b.logged.precision_bp);
}

#[test]
fn the_same_log_and_pack_give_the_same_report_byte_for_byte() {
    let dir = tempfile::tempdir().expect("tmp");
    let store = world(dir.path());
    let a =
        serde_json::to_string(&backtest(&store, pack("2", &["medium_transfer"]))).expect("json");
    let b =
        serde_json::to_string(&backtest(&store, pack("2", &["medium_transfer"]))).expect("json");
    assert_eq!(a, b);
    let text_a = sekimori_backtest::text::render(&backtest(&store, pack("2", &[])), 50);
    let text_b = sekimori_backtest::text::render(&backtest(&store, pack("2", &[])), 50);
    assert_eq!(text_a, text_b);
    // The stored pack itself as the candidate changes nothing.
    let same = backtest(&store, pack("1", &[]))
        .backtest
        .expect("a backtest");
    assert_eq!((same.decided, same.changed), (6, 0));
    assert_eq!(same.logged.precision_bp, same.candidate.precision_bp);
    assert!(text_a.contains("precision") && text_a.contains("50.00%"));
}

#[test]
fn an_empty_window_reports_nothing_and_fails_nothing() {
    let dir = tempfile::tempdir().expect("tmp");
    let store = world(dir.path());
    let r = run(
        &store,
        &Request {
            window: Window {
                from_ms: T0 + 10 * DAY,
                to_ms: T0 + 11 * DAY,
            },
            candidate: Some(pack("2", &[])),
            sample: 10,
            service: None,
        },
    )
    .expect("runs");
    assert_eq!(r.window.events, 0);
    assert!(r.quality.packs.is_empty());
    assert_eq!(r.backtest.expect("a backtest").decided, 0);
}

#[test]
fn the_page_shows_both_packs_and_escapes_what_services_sent() {
    use sekimori_backtest::html;
    let dir = tempfile::tempdir().expect("tmp");
    let store = world(dir.path());
    let mut r = backtest(&store, pack("2", &["medium_transfer"]));
    let b = r.backtest.as_mut().expect("a backtest");
    b.sample[0].event_id = "<script>alert(1)</script>".into();
    let en = html::report(&html::EN, &r).into_string();
    assert!(en.contains("shadow_small") && en.contains(">shadow<"));
    assert!(
        en.contains("<th scope=\"row\">logged</th>") && en.contains("<th scope=\"row\">2</th>")
    );
    assert!(en.contains("50.00%") && en.contains("33.33%"));
    assert!(!en.contains("<script>") && en.contains("&lt;script&gt;"));
    let ja = html::report(&html::JA, &r).into_string();
    assert!(ja.contains("適合率") && ja.contains("再現率"));
    let form = html::form(
        &html::JA,
        "/ui/quality",
        "2026-01-02",
        "2026-01-03",
        &["1".into()],
        Some("1"),
    )
    .into_string();
    assert!(form.contains("<label for=\"q-from\">") && form.contains("selected"));
}

#[test]
fn the_page_backtests_a_stored_version_and_shows_errors_in_place() {
    use sekimori_backtest::html;
    let dir = tempfile::tempdir().expect("tmp");
    let store = world(dir.path());
    let empty = html::page_body(&store, &html::EN, "/ui/quality", "", "", None).into_string();
    assert!(empty.contains("<option value=\"1\">1</option>") && !empty.contains("<table"));
    let same = html::page_body(
        &store,
        &html::EN,
        "/ui/quality",
        "2026-01-02",
        "2026-01-03",
        Some("1"),
    )
    .into_string();
    assert!(same.contains("0 / 6 decisions changed"), "{same}");
    let bad = html::page_body(
        &store,
        &html::EN,
        "/ui/quality",
        "2026-01-02",
        "2026-01-03",
        Some("9"),
    )
    .into_string();
    assert!(bad.contains("role=\"alert\"") && bad.contains("No stored pack has this version"));
    let backwards = html::page_body(
        &store,
        &html::JA,
        "/ui/quality",
        "2026-01-03",
        "2026-01-02",
        None,
    )
    .into_string();
    assert!(backwards.contains("role=\"alert\"") && backwards.contains("期間が正しくありません"));
}

#[test]
fn a_snapshot_before_the_window_gives_the_same_backtest() {
    let (a, b) = (
        tempfile::tempdir().expect("tmp"),
        tempfile::tempdir().expect("tmp"),
    );
    let plain = backtest(&world_with(a.path(), false), pack("2", &["big_transfer"]));
    let snap = backtest(&world_with(b.path(), true), pack("2", &["big_transfer"]));
    let (mut p, s) = (
        plain.backtest.clone().expect("a backtest"),
        snap.backtest.clone().expect("a backtest"),
    );
    assert!(s.state.contains("from the snapshot at 2"), "{}", s.state);
    assert!(!p.state.contains("snapshot"), "{}", p.state);
    assert_eq!(s.changed, 2);
    p.state.clone_from(&s.state);
    assert_eq!(p, s);
    assert_eq!(plain.quality, snap.quality);
}
