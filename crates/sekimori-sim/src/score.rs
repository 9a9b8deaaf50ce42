//! What a run measured: per scenario, money targeted and stolen, victims and
//! time to the first block; for honest people, how often they were bothered.

use crate::defender::Verdict;
use crate::sim::Origin;
use sekimori_rules::Action;
use serde::Serialize;
use serde_json::Value as Json;
use std::collections::{BTreeMap, BTreeSet};

/// Fixed prices for valuing crypto in yen (docs/scenarios.md): ¥110.9 per XEM
/// (Coincheck, January 2018: 58 billion yen for 523 M XEM) and ¥700,000 per
/// BTC (Zaif, September 2018).
pub const JPY_PER_1000_XEM: i128 = 110_900;
pub const JPY_PER_BTC: i128 = 700_000;

/// Micro-XEM to yen, rounded down (i128 inside: 523 M XEM overflows i64 otherwise).
pub fn xem_micro_to_jpy(micro: i64) -> i64 {
    (i128::from(micro) * JPY_PER_1000_XEM / 1_000_000_000) as i64
}

/// Satoshi to yen, rounded down.
pub fn sat_to_jpy(sat: i64) -> i64 {
    (i128::from(sat) * JPY_PER_BTC / 100_000_000) as i64
}

/// One scenario's tally.
#[derive(Debug, Default, Clone)]
pub struct Attack {
    pub targeted_jpy: i64,
    pub stolen_jpy: i64,
    pub victims: BTreeSet<String>,
    pub onset_ms: Option<i64>,
    pub first_block_ms: Option<i64>,
    /// Per rule: this scenario's events it challenged and refused.
    pub by_rule: BTreeMap<String, [u64; 2]>,
    /// Stolen yen over time, for the loss curves.
    pub losses: Vec<(i64, i64)>,
}

/// Honest people's experience.
#[derive(Debug, Default, Clone, Serialize)]
pub struct Honest {
    pub events: u64,
    pub login_events: u64,
    pub money_events: u64,
    pub login_challenges: u64,
    pub money_challenges: u64,
    pub refused: u64,
    pub delayed_jpy: i64,
    /// Logins from carrier CGNAT addresses (100.64.0.0/10), shared by about
    /// a thousand people each in the medium world, and how many of those
    /// were challenged or refused.
    pub cgnat_logins: u64,
    pub cgnat_login_challenges: u64,
    pub cgnat_login_refusals: u64,
    /// The exchange's own custody events (requests, approvals, signing and
    /// chain reports): not a person's action, so counted apart.
    pub custody_events: u64,
    /// Custody events held for review (allow-list delay, quorum) or refused.
    pub custody_holds: u64,
    pub custody_refusals: u64,
    /// Payouts that waited because sekimori held them, their yen, and the
    /// total wait from the customer's withdrawal to signing.
    pub custody_delayed_payouts: u64,
    pub custody_delayed_jpy: i64,
    pub custody_delay_ms: i64,
    /// Honest fan-in: split-bill transfers from many friends into one
    /// collector's wallet, and how many of them sekimori challenged or held.
    pub fan_in_transfers: u64,
    pub fan_in_flagged: u64,
    /// Per (service, login or money): actions, challenged, refused.
    pub by_service: BTreeMap<(String, &'static str), [u64; 3]>,
    /// Per (rule, login or money): honest actions it challenged and refused
    /// (a decision with two rules counts under both).
    pub by_rule: BTreeMap<(String, &'static str), [u64; 2]>,
}

/// Whether an address is in the shared address space carriers use for CGNAT.
fn is_cgnat(ip: &str) -> bool {
    ip.parse::<std::net::Ipv4Addr>()
        .is_ok_and(|a| a.octets()[0] == 100 && (a.octets()[1] & 0xc0) == 64)
}

/// A ground-truth record: written to its own file, never sent to the engine.
#[derive(Debug, Clone, Serialize)]
pub struct Truth {
    pub scenario: &'static str,
    pub event_id: String,
    pub action: Action,
}

#[derive(Debug, Default)]
pub struct Score {
    pub attacks: BTreeMap<&'static str, Attack>,
    pub honest: Honest,
    pub truth: Vec<Truth>,
    /// Events the simulator built that did not decode (a simulator bug if any).
    pub invalid_events: Vec<String>,
    /// Labels posted, by label: how many, and how many said the opposite
    /// of the truth.
    pub labels: BTreeMap<&'static str, [u64; 2]>,
    /// Per enforced rule behind a challenge or refusal: events, how many
    /// were truly an attack's, and how many the labels later called fraud
    /// and legitimate (rule quality as an operator sees it, beside the truth).
    pub rule_labels: BTreeMap<String, [u64; 4]>,
    /// What the engine was taught before the measured period, and what
    /// became of honest step-ups (issue 13: whether history teaches).
    pub warmup: WarmupTally,
}

/// The warm-up: the history before the measured period (and the service's
/// import of its older admitted logins, when it sends one), and how honest
/// people's step-ups were answered.
#[derive(Debug, Default, Clone, Serialize)]
pub struct WarmupTally {
    /// Logins the service imported from its own records before the history
    /// (successful logins its authentication admitted).
    pub imported_logins: u64,
    /// Honest successful logins sent in the history, and how many of them
    /// the engine challenged or refused there (not enforced: the service
    /// runs sekimori in observation, so no step-up is asked or answered).
    pub history_logins: u64,
    pub history_challenged: u64,
    pub history_refused: u64,
    /// Honest successful logins in the measured period: on an account with
    /// an admitted login in the history or import, and without; and how
    /// many of each were challenged.
    pub measured_logins_known: u64,
    pub measured_challenged_known: u64,
    pub measured_logins_new: u64,
    pub measured_challenged_new: u64,
    /// Step-ups honest people were asked for in the measured period: all
    /// answered (the service reports the challenge and its result), and
    /// how many passed.
    pub stepups_answered: u64,
    pub stepups_passed: u64,
    /// (service, account) pairs with an admitted login before the measured
    /// period. Simulator state only.
    #[serde(skip)]
    pub known: std::collections::HashSet<String>,
}

impl WarmupTally {
    /// An honest successful login's verdict, in the history or after it.
    pub(crate) fn login(&mut self, event: &Json, action: Action, in_history: bool, imported: bool) {
        let key = format!(
            "{}/{}",
            event["service"].as_str().unwrap_or_default(),
            event["account"].as_str().unwrap_or_default()
        );
        let challenged = u64::from(action == Action::Challenge);
        if imported {
            self.imported_logins += 1;
            self.known.insert(key);
        } else if in_history {
            self.history_logins += 1;
            self.history_challenged += challenged;
            self.history_refused += u64::from(action >= Action::Review);
            if action <= Action::Challenge {
                self.known.insert(key);
            }
        } else if self.known.contains(&key) {
            self.measured_logins_known += 1;
            self.measured_challenged_known += challenged;
        } else {
            self.measured_logins_new += 1;
            self.measured_challenged_new += challenged;
        }
    }
}

const MONEY: &[&str] = &["charge", "transfer", "purchase", "withdrawal"];

const CUSTODY: &[&str] = &[
    "withdrawal.request",
    "withdrawal.approval",
    "wallet.outflow",
];

impl Score {
    pub(crate) fn observe(
        &mut self,
        origin: Origin,
        event: &Json,
        verdict: &Verdict,
        rules: &[String],
        at_ms: i64,
    ) {
        let kind = event["type"].as_str().unwrap_or_default();
        match origin {
            Origin::Honest => self.honest_event(kind, event, verdict, rules),
            Origin::Attack(scenario) => {
                let a = self.attacks.entry(scenario).or_default();
                for rule in rules {
                    let row = a.by_rule.entry(rule.clone()).or_default();
                    row[0] += u64::from(verdict.action == Action::Challenge);
                    row[1] += u64::from(verdict.action >= Action::Review);
                }
                a.onset_ms.get_or_insert(at_ms);
                // A refusal blocks; a challenge only if the attacker fails it
                // (recorded by `Ctx::goes_through` through `blocked`).
                if verdict.action >= Action::Review && a.first_block_ms.is_none() {
                    a.first_block_ms = Some(at_ms);
                }
                let event_id = event["id"].as_str().unwrap_or_default().to_string();
                self.truth.push(Truth {
                    scenario,
                    event_id,
                    action: verdict.action,
                });
            }
        }
    }

    fn honest_event(&mut self, kind: &str, event: &Json, verdict: &Verdict, rules: &[String]) {
        if kind.starts_with("mfa.") {
            return; // the service's own reports of a challenge, not an action
        }
        let h = &mut self.honest;
        if CUSTODY.contains(&kind) {
            h.custody_events += 1;
            h.custody_holds += u64::from(verdict.action == Action::Review);
            h.custody_refusals += u64::from(verdict.action > Action::Review);
            return;
        }
        h.events += 1;
        let challenged = verdict.action == Action::Challenge;
        let refused = verdict.action >= Action::Review;
        h.refused += u64::from(refused);
        let class = match kind {
            "login.attempt" => Some("login"),
            k if MONEY.contains(&k) => Some("money"),
            _ => None,
        };
        if let Some(class) = class {
            let service = match event["service"].as_str().unwrap_or_default() {
                // The 35 banks' PIN checks, as one row.
                s if s.starts_with("bank-") && s != "bank-atm" => "bank-*".to_string(),
                s => s.to_string(),
            };
            let row = h.by_service.entry((service, class)).or_default();
            row[0] += 1;
            row[1] += u64::from(challenged);
            row[2] += u64::from(refused);
            for rule in rules {
                let row = h.by_rule.entry((rule.clone(), class)).or_default();
                row[0] += u64::from(challenged);
                row[1] += u64::from(refused);
            }
        }
        if kind == "login.attempt" {
            h.login_events += 1;
            h.login_challenges += u64::from(challenged);
            if event["actor"]["ip"].as_str().is_some_and(is_cgnat) {
                h.cgnat_logins += 1;
                h.cgnat_login_challenges += u64::from(challenged);
                h.cgnat_login_refusals += u64::from(refused);
            }
        } else if MONEY.contains(&kind) {
            h.money_events += 1;
            h.money_challenges += u64::from(challenged);
            if refused {
                let amount = event["amount_minor"].as_i64().unwrap_or(0);
                h.delayed_jpy += match event["currency"].as_str() {
                    Some("BTC") => sat_to_jpy(amount),
                    Some("XEM") => xem_micro_to_jpy(amount),
                    Some("USD") => crate::integration::cents_to_jpy(amount),
                    _ => amount,
                };
            }
        }
    }

    /// The enforced rules behind one decision, its truth and its label to come.
    pub(crate) fn rule_labels(&mut self, origin: Origin, rules: &[String], label: Option<&str>) {
        let fraud = matches!(origin, Origin::Attack(_));
        let says = label.and_then(crate::labels::says_fraud);
        for rule in rules {
            let row = self.rule_labels.entry(rule.clone()).or_default();
            row[0] += 1;
            row[1] += u64::from(fraud);
            row[2] += u64::from(says == Some(true));
            row[3] += u64::from(says == Some(false));
        }
    }

    /// A label posted to the defender.
    pub fn label(&mut self, label: &crate::labels::Label, wrong: bool) {
        let row = self.labels.entry(label.label).or_default();
        row[0] += 1;
        row[1] += u64::from(wrong);
    }

    /// An honest payout the custody desk could only sign after waiting.
    pub fn custody_delay(&mut self, jpy: i64, waited_ms: i64) {
        let h = &mut self.honest;
        h.custody_delayed_payouts += 1;
        h.custody_delayed_jpy += jpy;
        h.custody_delay_ms += waited_ms;
    }

    /// Registers an attack on the books: money the attacker goes after.
    pub fn targeted(&mut self, scenario: &'static str, jpy: i64) {
        self.attacks.entry(scenario).or_default().targeted_jpy += jpy;
    }

    /// An attack step stopped by a challenge the attacker could not pass.
    pub fn blocked(&mut self, scenario: &'static str, at_ms: i64) {
        let a = self.attacks.entry(scenario).or_default();
        a.first_block_ms.get_or_insert(at_ms);
    }

    /// Money that left for the attacker.
    pub fn stolen(&mut self, scenario: &'static str, victim: &str, jpy: i64, at_ms: i64) {
        let a = self.attacks.entry(scenario).or_default();
        if jpy <= 0 {
            return;
        }
        a.stolen_jpy += jpy;
        a.victims.insert(victim.to_string());
        a.losses.push((at_ms, a.stolen_jpy));
    }
}
