//! The simulator: reproducible, honest about what the engine sees, and its
//! incidents cost money when nothing defends.

use sekimori_rules::compile;
use sekimori_sim::{
    run, run_with, scorecard, Baseline, Config, Defender, Label, Size, Verdict, SCENARIOS,
};
use serde_json::Value;
use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::rc::Rc;
use std::sync::Arc;

fn config(seed: u64) -> Config {
    let source = sekimori_rules::load_pack(
        &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../rules/default"),
    )
    .expect("pack");
    Config {
        size: Size::Small,
        seed,
        scenarios: SCENARIOS.iter().map(|s| s.to_string()).collect(),
        pack: Arc::new(compile(source).expect("compiles")),
    }
}

#[test]
fn the_same_seed_gives_the_same_scorecard_and_another_seed_does_not() {
    let a = scorecard(&config(7), |_| {}).expect("runs");
    let b = scorecard(&config(7), |_| {}).expect("runs");
    let c = scorecard(&config(8), |_| {}).expect("runs");
    let json = |s: &sekimori_sim::Scorecard| serde_json::to_string_pretty(s).expect("json");
    assert_eq!(json(&a), json(&b));
    assert_eq!(a.markdown(), b.markdown());
    assert_ne!(json(&a), json(&c));
    assert_eq!(a.rows.len(), SCENARIOS.len() * Baseline::ALL.len());
    assert_eq!(a.honest.len(), Baseline::ALL.len());
}

#[test]
fn with_no_defense_every_scenario_loses_money_and_sekimori_stops_the_takeovers() {
    let card = scorecard(&config(1), |r| {
        assert!(
            r.score.invalid_events.is_empty(),
            "{:?}",
            r.score.invalid_events
        )
    })
    .expect("runs");
    let stolen = |scenario: &str, baseline: &str| {
        card.rows
            .iter()
            .find(|r| r.scenario == scenario && r.baseline == baseline)
            .expect("row")
            .stolen_jpy
    };
    for s in SCENARIOS {
        assert!(stolen(s, "none") > 0, "{s} steals nothing undefended");
    }
    assert!(
        stolen("coincheck-key", "none") > 57_000_000_000,
        "Coincheck lost about 58 billion yen"
    );
    assert!(stolen("docomo-koza", "sekimori") * 10 < stolen("docomo-koza", "none"));
    assert!(stolen("coincheck-key", "sekimori") < stolen("coincheck-key", "none"));
    // Issue 4's bar (measured at medium size in the scorecards): the default
    // pack stops at least 99% of what each takeover scenario steals undefended.
    for s in [
        "docomo-koza",
        "crypto-stuffing-2018",
        "password-spray",
        "phishing-ato",
        "7pay",
        "sbi",
        "mitb",
    ] {
        assert!(
            stolen(s, "sekimori") * 100 <= stolen(s, "none"),
            "{s}: sekimori let {} of {} through",
            stolen(s, "sekimori"),
            stolen(s, "none")
        );
    }
    // usd-drain (a service with no device ids): 99.2% with pack
    // 2026.12.05-12 (94.8% before: every client of such a service looked
    // familiar to the login risk); what is left is the first transfer on
    // accounts with no history.
    assert!(
        stolen("usd-drain", "sekimori") * 50 <= stolen("usd-drain", "none"),
        "usd-drain: sekimori let {} of {} through",
        stolen("usd-drain", "sekimori"),
        stolen("usd-drain", "none")
    );
    let honest = card
        .honest
        .iter()
        .find(|h| h.baseline == "sekimori")
        .expect("row");
    assert!(
        honest.deny_rate < 0.0005,
        "honest people are rarely refused: {}",
        honest.deny_rate
    );
    // Two days of history leave more people unknown than medium's seven, so
    // the bar here is looser than issue 13's 0.005. Measured with pack
    // 2026.12.05-11: 0.026 (0.033 before it), almost all of it logins with
    // no history at the service from a device never seen before, while
    // `scanner-rotation` sprays the 25 commonest passwords across the
    // exchange (the per-secret rules and the attacked-account rule); see
    // docs/scorecards/small-seed1.md, "Honest friction by rule".
    assert!(
        honest.login_challenge_rate < 0.03,
        "honest logins are rarely stepped up: {}",
        honest.login_challenge_rate
    );
    assert!(honest.cgnat_logins > 0);
    assert_eq!(
        honest.cgnat_login_refused_rate, 0.0,
        "CGNAT users keep working"
    );
}

/// Every string value in a JSON document, with the key it sits under.
fn fields(v: &Value, key: &str, out: &mut Vec<(String, String)>) {
    match v {
        Value::Object(m) => m.iter().for_each(|(k, x)| fields(x, k, out)),
        Value::Array(a) => a.iter().for_each(|x| fields(x, key, out)),
        Value::String(s) => out.push((key.to_string(), s.clone())),
        _ => {}
    }
}

/// The sekimori defender, recording every label it is given and the event
/// time each event had when the label came.
struct Recorder {
    inner: Box<dyn Defender>,
    newest_ms: i64,
    labels: Rc<RefCell<Vec<(Label, i64)>>>,
}

impl Defender for Recorder {
    fn decide(&mut self, event: &sekimori_event::Event) -> Verdict {
        self.newest_ms = self.newest_ms.max(event.at_ms);
        self.inner.decide(event)
    }

    fn rules(&self) -> Vec<String> {
        self.inner.rules()
    }

    fn label(&mut self, label: &Label) {
        self.labels
            .borrow_mut()
            .push((label.clone(), self.newest_ms));
    }
}

#[test]
fn the_engine_sees_no_ground_truth() {
    let c = config(3);
    let labels = Rc::new(RefCell::new(Vec::new()));
    let recorder = Recorder {
        inner: Baseline::Sekimori.defender(&c.pack),
        newest_ms: i64::MIN,
        labels: Rc::clone(&labels),
    };
    let r = run_with(
        &c,
        Baseline::Sekimori,
        Box::new(recorder),
        true,
        &mut |_| {},
    )
    .expect("runs");
    let sent = r.sent.expect("recorded");
    let attack_ids: BTreeSet<&str> = r.score.truth.iter().map(|t| t.event_id.as_str()).collect();
    assert!(!attack_ids.is_empty());
    labels_are_late_partial_and_not_the_truth(&sent, &attack_ids, &labels.borrow());
    let truth_words = [
        "scenario", "attack", "victim", "stolen", "truth", "honest", "origin",
    ];
    let (mut honest_uas, mut attack_uas) = (BTreeSet::new(), BTreeSet::new());
    let mut honest_pin_checks = 0;
    for (n, e) in sent.iter().enumerate() {
        let text = e.to_string().to_lowercase();
        for w in truth_words {
            assert!(!text.contains(w), "event {n} mentions `{w}`: {e}");
        }
        let id = e["id"].as_str().expect("id");
        assert_eq!(
            id,
            format!("ev-{:09}", n + 1),
            "ids come from one counter, in order"
        );
        let mut f = Vec::new();
        fields(e, "", &mut f);
        for (k, v) in &f {
            if k == "account"
                && v.len() == 10
                && ["w-", "x-", "s-"].iter().any(|p| v.starts_with(p))
            {
                assert!(
                    v[2..].chars().all(|c| c.is_ascii_hexdigit()),
                    "service account ids share one form: {v}"
                );
            }
            if k == "address" && v.starts_with("bc1q") {
                assert!(v.len() == 36, "bitcoin addresses share one form: {v}");
            }
            if k == "factor" && v == "pin" && !attack_ids.contains(id) {
                honest_pin_checks += 1;
            }
            if k == "device" {
                assert!(
                    v.len() == 16 && v.starts_with("dev-"),
                    "device ids share one form: {v}"
                );
            }
            if k == "user_agent" {
                if attack_ids.contains(id) {
                    attack_uas.insert(v.clone())
                } else {
                    honest_uas.insert(v.clone())
                };
            }
        }
    }
    assert!(
        honest_pin_checks > 0,
        "banks report honest PIN checks too, not only attackers'"
    );
    assert!(
        attack_uas.is_subset(&honest_uas),
        "attackers' user agents are ones honest people use"
    );
}

/// The simulator must not distort the engine's windows: sent in order, no
/// event is further behind the newest event time than the default pack's
/// allowed lateness (5 minutes), so none is clamped.
#[test]
fn events_arrive_within_the_allowed_lateness() {
    let r = run(&config(5), Baseline::None, true, &mut |_| {}).expect("runs");
    let mut newest = i64::MIN;
    for e in r.sent.expect("recorded") {
        let at = sekimori_event::parse_rfc3339_ms(e["at"].as_str().expect("at")).expect("time");
        assert!(
            at >= newest.saturating_sub(300_000),
            "{} is {} s behind the newest event",
            e["id"],
            newest.saturating_sub(at) / 1000
        );
        newest = newest.max(at);
    }
}

/// Whatever the seed, the simulator only builds events the vocabulary accepts
/// (no negative amounts from emptied accounts, no malformed ids).
#[test]
fn every_seed_builds_valid_events() {
    for seed in 10..14 {
        let r = run(&config(seed), Baseline::None, false, &mut |_| {}).expect("runs");
        assert!(
            r.score.invalid_events.is_empty(),
            "seed {seed}: {:?}",
            &r.score.invalid_events[..1]
        );
    }
}

/// Labels name events already sent, come later than them and in time
/// order, through the service's or an analyst's name only, cover some of
/// the attack and not all of it, and are sometimes wrong.
fn labels_are_late_partial_and_not_the_truth(
    sent: &[Value],
    attack_ids: &BTreeSet<&str>,
    labels: &[(Label, i64)],
) {
    assert!(!labels.is_empty(), "services and analysts report something");
    let at: BTreeMap<(&str, &str), i64> = sent
        .iter()
        .map(|e| {
            let t = sekimori_event::parse_rfc3339_ms(e["at"].as_str().expect("at")).expect("time");
            (
                (
                    e["service"].as_str().expect("service"),
                    e["id"].as_str().expect("id"),
                ),
                t,
            )
        })
        .collect();
    let mut last = i64::MIN;
    let (mut fraud_on_honest, mut legit_on_attack, mut labelled_attack) = (0, 0, BTreeSet::new());
    for (l, newest) in labels {
        assert!(l.at_ms >= last, "labels come in time order");
        last = l.at_ms;
        let sent_at = at
            .get(&(l.service.as_str(), l.event_id.as_str()))
            .unwrap_or_else(|| panic!("label on an event never sent: {l:?}"));
        assert!(l.at_ms > *sent_at, "a label comes after its event: {l:?}");
        // Delivered when due: by then no event is further ahead of it than
        // an actor's step reaches (the 5 minutes of allowed lateness).
        assert!(*newest <= l.at_ms + 300_000, "delivered when due: {l:?}");
        assert!(
            l.by == "analyst-sim" || l.by == format!("key:{}", l.service),
            "{l:?}"
        );
        let attack = attack_ids.contains(l.event_id.as_str());
        if attack {
            labelled_attack.insert(l.event_id.as_str());
        }
        match l.label {
            "chargeback" | "customer_denied" | "confirmed_fraud" => {
                fraud_on_honest += u64::from(!attack)
            }
            "customer_confirmed" | "legitimate" | "false_positive" => {
                legit_on_attack += u64::from(attack)
            }
            "unable_to_verify" => {}
            other => panic!("not a label of the vocabulary: {other}"),
        }
    }
    assert!(!labelled_attack.is_empty() && labelled_attack.len() < attack_ids.len());
    assert!(
        fraud_on_honest + legit_on_attack > 0,
        "labels are not the ground truth"
    );
}
