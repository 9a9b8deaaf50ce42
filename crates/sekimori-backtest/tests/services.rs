//! Rule quality per service: two tenants on one log, each with labels of
//! its own, report different precision, recall and friction; a report for
//! one service counts only its events and labels (ids are unique within a
//! service only, so a label of one tenant never lands on the other's
//! event of the same id). Every expected number is counted by hand.

use sekimori_backtest::{run, PackQuality, Report, Request, Window};
use sekimori_engine::{Entry, Prepared};
use sekimori_ledger::{wait, Ledger};
use sekimori_rules::{compile, load_embedded, Pack};
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
"#;

fn pack(version: &str, rules: &str) -> Arc<Pack> {
    let header = format!("pack:\n  name: test\n  version: \"{version}\"\n");
    let source = load_embedded(&[("pack.yaml", &header), ("rules.yaml", rules)]).expect("loads");
    Arc::new(compile(source).expect("compiles"))
}

fn transfer(service: &str, id: &str, at_ms: i64, amount: i64) -> Prepared {
    let e = sekimori_event::decode_value(serde_json::json!({
        "id": id, "type": "transfer", "service": service,
        "at": sekimori_event::format_rfc3339_ms(at_ms),
        "account": format!("acct-{id}"), "amount_minor": amount, "currency": "JPY",
        "destination": {"kind": "account", "account": "payee-1"}}))
    .expect("valid event");
    Prepared::new(e)
}

fn label(ledger: &mut Ledger, service: &str, id: &str, label: &str) {
    let entry = Entry::Label {
        service: service.into(),
        event_id: id.into(),
        label: label.into(),
        by: "key:test".into(),
        at: "2026-02-01T00:00:00Z".into(),
        note: String::new(),
    };
    wait(ledger.append_audit(&entry).expect("an audit entry")).expect("durable");
}

/// bank: x0 deny (chargeback), b1 challenge (confirmed_fraud), b2 allow.
/// shop: x0 deny (customer_confirmed), s1 challenge (legitimate),
/// s2 challenge (chargeback), s3 allow (customer_denied).
/// The shared id `x0` has opposite labels in the two services.
fn world(dir: &std::path::Path) -> Arc<Store> {
    let store = Arc::new(Store::open(dir).expect("store"));
    let mut ledger = Ledger::open(Arc::clone(&store), pack("1", RULES), 1_000_000).expect("opens");
    let events = [
        ("bank", "x0", 200_000),
        ("shop", "x0", 200_000),
        ("bank", "b1", 50_000),
        ("shop", "s1", 50_000),
        ("shop", "s2", 20_000),
        ("bank", "b2", 1_000),
        ("shop", "s3", 1_000),
    ];
    for (i, (service, id, amount)) in events.iter().enumerate() {
        let at = T0 + DAY + i as i64 * 60_000;
        wait(ledger.decide(&transfer(service, id, at, *amount)).1).expect("durable");
    }
    for (service, id, l) in [
        ("bank", "x0", "chargeback"),
        ("bank", "b1", "confirmed_fraud"),
        ("shop", "x0", "customer_confirmed"),
        ("shop", "s1", "legitimate"),
        ("shop", "s2", "chargeback"),
        ("shop", "s3", "customer_denied"),
    ] {
        label(&mut ledger, service, id, l);
    }
    drop(ledger);
    store
}

fn report(store: &Store, service: Option<&str>, candidate: Option<Arc<Pack>>) -> Report {
    run(
        store,
        &Request {
            window: Window {
                from_ms: T0 + DAY,
                to_ms: T0 + 2 * DAY,
            },
            candidate,
            sample: 10,
            service: service.map(str::to_string),
        },
    )
    .expect("runs")
}

/// (caught, TP, FP, misses, precision, recall, challenged, refused).
type Row = (u64, u64, u64, u64, Option<u64>, Option<u64>, u64, u64);

fn row(q: &PackQuality) -> Row {
    (
        q.caught,
        q.true_positives,
        q.false_positives,
        q.misses,
        q.precision_bp,
        q.recall_bp,
        q.friction.challenged,
        q.friction.refused,
    )
}

const BANK: Row = (2, 2, 0, 0, Some(10_000), Some(10_000), 0, 0);
const SHOP: Row = (3, 1, 2, 1, Some(3_333), Some(5_000), 1, 1);

#[test]
fn each_service_has_its_own_precision_recall_and_friction() {
    let dir = tempfile::tempdir().expect("tmp");
    let store = world(dir.path());
    let all = report(&store, None, None);
    assert_eq!(all.service, None);
    assert_eq!(all.window.events, 7);
    // Every service together: TP x0(bank) b1 s2, FP x0(shop) s1, miss s3.
    assert_eq!(
        row(&all.quality.packs[0]),
        (5, 3, 2, 1, Some(6_000), Some(7_500), 1, 1)
    );
    let names: Vec<&str> = all.services.iter().map(|s| s.service.as_str()).collect();
    assert_eq!(names, ["bank", "shop"]);
    assert_eq!(row(&all.services[0].packs[0]), BANK);
    assert_eq!(row(&all.services[1].packs[0]), SHOP);
    assert_ne!(
        all.services[0].packs[0].precision_bp,
        all.services[1].packs[0].precision_bp
    );
    assert_eq!(
        (
            all.services[0].packs[0].events,
            all.services[1].packs[0].events
        ),
        (3, 4)
    );

    // One service's report: its rows, its rules, its labels.
    let shop = report(&store, Some("shop"), None);
    assert_eq!(shop.service.as_deref(), Some("shop"));
    assert_eq!(shop.window.events, 4);
    assert_eq!(row(&shop.quality.packs[0]), SHOP);
    assert_eq!(shop.services.len(), 1);
    assert_eq!(row(&shop.services[0].packs[0]), SHOP);
    let big = |r: &Report| {
        let b = r
            .quality
            .rules
            .iter()
            .find(|q| q.rule == "big_transfer")
            .expect("fired");
        (b.fired, b.true_positives, b.false_positives, b.precision_bp)
    };
    assert_eq!(big(&shop), (1, 0, 1, Some(0)));
    assert_eq!(
        shop.labels.by_label.values().sum::<u64>(),
        4,
        "the bank's labels are not the shop's"
    );
    assert_eq!(
        (shop.labels.events_fraud, shop.labels.events_legitimate),
        (2, 2)
    );
    let bank = report(&store, Some("bank"), None);
    assert_eq!(row(&bank.quality.packs[0]), BANK);
    assert_eq!(big(&bank), (1, 1, 0, Some(10_000)));
    // A service with no events: an empty report, not an error.
    let none = report(&store, Some("nobody"), None);
    assert_eq!(none.window.events, 0);
    assert!(none.quality.packs.is_empty() && none.services.is_empty());

    // Byte for byte the same, twice.
    let a = serde_json::to_string(&report(&store, Some("shop"), None)).expect("json");
    let b = serde_json::to_string(&shop).expect("json");
    assert_eq!(a, b);
}

#[test]
fn a_backtest_for_one_service_counts_its_events_only() {
    let dir = tempfile::tempdir().expect("tmp");
    let store = world(dir.path());
    let no_medium = r#"
rules:
  - name: big_transfer
    on: [transfer]
    when: event.amount_minor >= 100000
    action: deny
    reason: big
"#;
    let r = report(&store, Some("shop"), Some(pack("2", no_medium)));
    let b = r.backtest.expect("a backtest");
    // Every event was decided again, but the shop's only are counted: the
    // bank's b1 changes too, and is not the shop's.
    assert_eq!((b.decided, b.changed), (4, 2));
    let ids: Vec<(&str, &str)> = b
        .sample
        .iter()
        .map(|c| (c.service.as_str(), c.event_id.as_str()))
        .collect();
    assert_eq!(ids, [("shop", "s1"), ("shop", "s2")]);
    assert_eq!(row(&b.logged), SHOP);
    // Candidate: caught x0 only (FP); s2 now a miss too.
    assert_eq!(
        (
            b.candidate.true_positives,
            b.candidate.false_positives,
            b.candidate.misses
        ),
        (0, 1, 2)
    );
    let all = report(&store, None, Some(pack("2", no_medium)));
    assert_eq!(all.backtest.expect("a backtest").changed, 3);
}

#[test]
fn the_text_and_the_page_show_the_breakdown() {
    use sekimori_backtest::html;
    let dir = tempfile::tempdir().expect("tmp");
    let store = world(dir.path());
    let all = report(&store, None, None);
    let text = sekimori_backtest::text::render(&all, 40);
    assert!(text.contains("By service"), "{text}");
    let shop_line = text
        .lines()
        .find(|l| l.starts_with("shop "))
        .expect("a shop row");
    assert!(shop_line.contains("33.33%") && shop_line.contains("50.00%"));
    let q = html::PageQuery {
        from: "2026-01-02",
        to: "2026-01-03",
        candidate: None,
        service: Some("shop"),
    };
    let page = html::page_body_for(&store, &html::JA, "/ui/quality", &q).into_string();
    assert!(
        page.contains("name=\"service\" type=\"text\" value=\"shop\""),
        "{page}"
    );
    assert!(page.contains("<code>shop</code>") && page.contains("33.33%"));
    assert!(!page.contains("<code>bank</code>"));
    let en = html::report(&html::EN, &all).into_string();
    assert!(en.contains("By service") && en.contains("<code>bank</code>"));
    // A service name is escaped like anything a service sent.
    let q = html::PageQuery {
        service: Some("<b>x</b>"),
        ..q
    };
    let page = html::page_body_for(&store, &html::EN, "/ui/quality", &q).into_string();
    assert!(!page.contains("<b>x</b>") && page.contains("&lt;b&gt;x&lt;/b&gt;"));
}
