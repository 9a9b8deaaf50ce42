//! The warm-up before the measured period (issue 13): the services import
//! the logins their own authentication admitted and mark the history's
//! successful logins observed, as a service switching sekimori on does; in
//! the measured period honest people answer every step-up they are asked
//! for, and most pass.

use sekimori_rules::compile;
use sekimori_sim::{run_warmed, Baseline, Config, Score, Size, Warmup, WorldKind, SCENARIOS};
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::Arc;

/// The measured period starts here (docs/scenarios.md); the sparse world's
/// one day of history the day before.
const START: &str = "2026-06-24T00:00:00Z";
const HISTORY: &str = "2026-06-23T00:00:00Z";

fn run(warmup: Warmup) -> (Score, Vec<Value>) {
    let source = sekimori_rules::load_pack(
        &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../rules/default"),
    )
    .expect("pack");
    let config = Config {
        size: Size::Small,
        seed: 3,
        scenarios: SCENARIOS.iter().map(|s| s.to_string()).collect(),
        pack: Arc::new(compile(source).expect("compiles")),
    };
    let mut sent = Vec::new();
    let mut sink = |e: &Value| sent.push(e.clone());
    let r = run_warmed(
        &config,
        WorldKind::Sparse,
        warmup,
        Baseline::Sekimori,
        Baseline::Sekimori.defender(&config.pack),
        Some(&mut sink),
        &mut |_| {},
    )
    .expect("runs");
    (r.score, sent)
}

fn at(e: &Value) -> &str {
    e["at"].as_str().expect("at")
}

fn marked(e: &Value) -> bool {
    e["attrs"][sekimori_engine::OBSERVED_ATTR] == Value::Bool(true)
}

fn success(e: &Value) -> bool {
    e["type"] == "login.attempt" && e["result"] == "success"
}

#[test]
fn services_import_admitted_logins_and_mark_the_history_observed() {
    let (score, sent) = run(Warmup::Observed);
    assert!(
        score.invalid_events.is_empty(),
        "{:?}",
        score.invalid_events
    );
    // RFC 3339 in UTC with milliseconds: the text orders as the time does.
    let imported: Vec<&Value> = sent.iter().filter(|e| at(e) < HISTORY).collect();
    assert!(!imported.is_empty(), "the services import their history");
    assert_eq!(imported.len() as u64, score.warmup.imported_logins);
    let mut per_account: BTreeMap<(String, String), u64> = BTreeMap::new();
    for e in &imported {
        assert!(success(e) && marked(e), "only admitted logins: {e}");
        let key = (e["service"].to_string(), e["account"].to_string());
        *per_account.entry(key).or_default() += 1;
    }
    assert!(
        per_account
            .values()
            .all(|&n| n <= sekimori_sim::import::PER_ACCOUNT),
        "bounded per account"
    );
    assert!(
        imported.windows(2).all(|w| at(w[0]) <= at(w[1])),
        "in time order"
    );
    // The history's successful logins are marked, nothing else is, and
    // nothing from the measured period is.
    let history: Vec<&Value> = sent
        .iter()
        .filter(|e| at(e) >= HISTORY && at(e) < START)
        .collect();
    assert!(history.iter().any(|e| success(e)));
    for e in sent.iter().filter(|e| at(e) >= HISTORY) {
        assert_eq!(marked(e), success(e) && at(e) < START, "{e}");
    }
    // The tally agrees with what was sent.
    let history_logins = history.iter().filter(|e| success(e)).count() as u64;
    assert!(score.warmup.history_logins <= history_logins);
    assert!(score.warmup.history_logins > 0);
}

#[test]
fn honest_people_answer_their_step_ups_and_the_warm_up_spares_them() {
    let (observed, _) = run(Warmup::Observed);
    let (unanswered, sent) = run(Warmup::Unanswered);
    assert!(!sent.iter().any(marked), "no mark without the warm-up");
    assert!(sent.iter().all(|e| at(e) >= HISTORY), "no import");
    assert_eq!(unanswered.warmup.imported_logins, 0);
    for w in [&observed.warmup, &unanswered.warmup] {
        // Every honest step-up is answered (the service reports its
        // result); honest people pass 93% of them.
        assert!(w.stepups_answered > 100, "{w:?}");
        let pass = w.stepups_passed * 1000 / w.stepups_answered;
        assert!((880..=970).contains(&pass), "{pass}/1000 passed");
    }
    // Accounts known from the warm-up are spared more than new ones.
    let w = &observed.warmup;
    assert!(w.measured_logins_known > w.measured_logins_new);
    assert!(
        w.measured_challenged_known * w.measured_logins_new
            <= w.measured_challenged_new * w.measured_logins_known,
        "{w:?}"
    );
    assert!(
        observed.honest.login_challenges < unanswered.honest.login_challenges,
        "observed {} vs unanswered {}",
        observed.honest.login_challenges,
        unanswered.honest.login_challenges
    );
}
