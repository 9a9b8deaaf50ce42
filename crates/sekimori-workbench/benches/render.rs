//! Server time of the workbench's two busiest answers with 100,000 open
//! cases in the index: the queue (rank every open case visible to the
//! analyst, take the first 200, render the HTML page) and the index update
//! for one more logged decision. The cases are synthetic log entries (a
//! `review` transfer of a distinct account each, amounts and times spread),
//! applied through `Index::apply` as the server applies the log.
//!
//! ```sh
//! cargo bench -p sekimori-workbench --bench render
//! ```

use divan::{black_box, Bencher};
use sekimori_engine::{Decision, Entry, PackRef, Reason};
use sekimori_rules::{Action, RuleAction};
use sekimori_workbench::analysts::Role;
use sekimori_workbench::i18n::Locale;
use sekimori_workbench::queue::{queue, Filter};
use sekimori_workbench::sessions::Session;
use sekimori_workbench::Index;
use serde_json::json;

const CASES: u64 = 100_000;
/// 2026-12-05T09:00:00Z.
const NOW_MS: i64 = 1_796_461_200_000;

fn main() {
    divan::main();
}

fn entry(i: u64) -> Entry {
    let at = sekimori_event::format_rfc3339_ms(NOW_MS - 3_600_000 * 72 + (i as i64) * 2_000);
    let amount = 1_000 + (i * 7_919) % 5_000_000;
    let decision = Decision {
        event_id: format!("t-{i}"),
        event_type: "transfer".into(),
        at: at.clone(),
        action: Action::Review,
        methods: Vec::new(),
        score: (i % 120) as i64,
        reasons: vec![Reason {
            rule: "drain_after_credential_change".into(),
            action: RuleAction::Review,
            score: 60,
            reason: "This leaves the account nearly empty".into(),
            shadow: false,
            methods: Vec::new(),
            hold: None,
        }],
        features: Default::default(),
        pack: PackRef {
            name: "default".into(),
            version: "bench".into(),
        },
        late: false,
        errors: Vec::new(),
    };
    Entry::Event {
        event: json!({"id": format!("t-{i}"), "type": "transfer", "service": "netbank",
            "at": at, "account": format!("acct-{i}"), "amount_minor": amount, "currency": "JPY"}),
        decision,
    }
}

fn index() -> Index {
    let mut index = Index::default();
    for i in 1..=CASES {
        index.apply(i, &entry(i));
    }
    index
}

fn session() -> Session {
    Session {
        login: "aiko".into(),
        role: Role::Analyst,
        csrf: "0".repeat(64),
        created_ms: NOW_MS,
        last_ms: NOW_MS,
        locale: Locale::Ja,
        tz: "Asia/Tokyo".into(),
    }
}

/// The queue page: rank 100,000 open cases, render the first 200.
#[divan::bench(sample_count = 20)]
fn queue_page_100k(bencher: Bencher) {
    let index = index();
    assert_eq!(index.open_count(), CASES as usize);
    let s = session();
    bencher.bench_local(|| {
        let rows = queue(&index, "aiko", &Filter::default(), NOW_MS, 200);
        let html = sekimori_workbench::pages::queue::page(&s, &Filter::default(), &rows, NOW_MS);
        black_box(html.into_string().len())
    });
}

/// The queue with a filter that keeps one case in a hundred.
#[divan::bench(sample_count = 20)]
fn queue_filtered_100k(bencher: Bencher) {
    let index = index();
    let s = session();
    let filter = Filter {
        min_age_hours: Some(71),
        ..Filter::default()
    };
    bencher.bench_local(|| {
        let rows = queue(&index, "aiko", &filter, NOW_MS, 200);
        let html = sekimori_workbench::pages::queue::page(&s, &filter, &rows, NOW_MS);
        black_box(html.into_string().len())
    });
}

/// One more logged decision applied to an index of 100,000 cases.
#[divan::bench(sample_count = 20)]
fn apply_one_entry_100k(bencher: Bencher) {
    let mut index = index();
    let mut seq = CASES;
    bencher.bench_local(|| {
        seq += 1;
        index.apply(seq, &entry(seq));
    });
}
