//! The scorecard: `scorecard.json` (stable shape), `scorecard.md`, and the
//! ground truth, kept in its own file.

use crate::defender::Baseline;
use crate::integration::WorldKind;
use crate::score::Score;
use crate::world::Size;

fn is_dense(k: &WorldKind) -> bool {
    *k == WorldKind::Dense
}
use serde::Serialize;
use std::fmt::Write as _;

#[derive(Debug, Serialize)]
pub struct Row {
    pub scenario: String,
    pub baseline: &'static str,
    pub targeted_jpy: i64,
    pub stolen_jpy: i64,
    pub victims: usize,
    pub first_block_after_s: Option<i64>,
}

#[derive(Debug, Serialize)]
pub struct HonestRow {
    pub baseline: &'static str,
    /// The warm-up before the measured period and the honest step-ups.
    pub warmup: crate::score::WarmupTally,
    pub events: u64,
    pub login_events: u64,
    pub money_events: u64,
    pub login_challenge_rate: f64,
    pub money_challenge_rate: f64,
    pub deny_rate: f64,
    pub delayed_jpy: i64,
    /// Honest logins from carrier CGNAT addresses, and the share of them
    /// challenged and refused (people behind one shared address keep working).
    pub cgnat_logins: u64,
    pub cgnat_login_challenge_rate: f64,
    pub cgnat_login_refused_rate: f64,
    /// The exchange's custody events (not people's actions): how many, how
    /// many sekimori held for review or refused, and the honest payouts it
    /// delayed (allow-list delay, quorum): count, yen and mean wait in minutes.
    pub custody_events: u64,
    pub custody_holds: u64,
    pub custody_refusals: u64,
    pub custody_delayed_payouts: u64,
    pub custody_delayed_jpy: i64,
    pub custody_mean_delay_min: i64,
    /// Honest fan-in (split bills into a collector's wallet): transfers, and
    /// the share sekimori challenged or held.
    pub fan_in_transfers: u64,
    pub fan_in_flagged_rate: f64,
    /// Honest logins and money actions per service: how many, and the
    /// share challenged and refused.
    pub by_service: Vec<ServiceRow>,
    /// Per enforced rule: the honest logins and money actions it challenged
    /// and refused (counts; a decision two rules made counts under both).
    pub by_rule: Vec<RuleRow>,
}

#[derive(Debug, Serialize)]
pub struct RuleRow {
    pub rule: String,
    pub class: &'static str,
    pub challenged: u64,
    pub refused: u64,
}

/// Per scenario and enforced rule: the attack's events the rule challenged
/// and refused (a challenge stops an attacker only without the factor).
#[derive(Debug, Serialize)]
pub struct AttackRuleRow {
    pub scenario: String,
    pub baseline: &'static str,
    pub rule: String,
    pub challenged: u64,
    pub refused: u64,
}

#[derive(Debug, Serialize)]
pub struct ServiceRow {
    pub service: String,
    pub class: &'static str,
    pub events: u64,
    pub challenge_rate: f64,
    pub refused_rate: f64,
}

/// Labels the services and analysts posted during one baseline's run.
#[derive(Debug, Serialize)]
pub struct LabelRow {
    pub baseline: &'static str,
    pub label: &'static str,
    pub posted: u64,
    /// Saying the opposite of the truth.
    pub wrong: u64,
}

/// An enforced rule as an operator sees it through the labels, beside the
/// truth only the simulator knows.
#[derive(Debug, Serialize)]
pub struct RuleQualityRow {
    pub baseline: &'static str,
    pub rule: String,
    /// Events it challenged or refused.
    pub events: u64,
    /// Of those, an attack's.
    pub attack: u64,
    pub true_precision: f64,
    pub labelled_fraud: u64,
    pub labelled_legitimate: u64,
    /// Labelled fraud over labelled: what the operator measures.
    pub labelled_precision: f64,
}

#[derive(Debug, Serialize)]
pub struct Scorecard {
    pub seed: u64,
    pub size: Size,
    /// Dense or sparse (left out of the JSON for the dense world, so older
    /// scorecards keep their shape).
    #[serde(skip_serializing_if = "is_dense")]
    pub world: WorldKind,
    pub rule_pack: String,
    pub rows: Vec<Row>,
    pub honest: Vec<HonestRow>,
    pub attack_rules: Vec<AttackRuleRow>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub labels: Vec<LabelRow>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub rule_quality: Vec<RuleQualityRow>,
}

/// A rate rounded to six decimals, so the JSON is stable across platforms.
fn rate(n: u64, d: u64) -> f64 {
    if d == 0 {
        0.0
    } else {
        (n as f64 / d as f64 * 1e6).round() / 1e6
    }
}

impl Scorecard {
    pub fn new(seed: u64, size: Size, rule_pack: String) -> Scorecard {
        Scorecard {
            seed,
            size,
            world: WorldKind::Dense,
            rule_pack,
            rows: Vec::new(),
            honest: Vec::new(),
            labels: Vec::new(),
            rule_quality: Vec::new(),
            attack_rules: Vec::new(),
        }
    }

    pub fn add(&mut self, baseline: Baseline, scenarios: &[String], score: &Score) {
        for (label, [posted, wrong]) in &score.labels {
            self.labels.push(LabelRow {
                baseline: baseline.name(),
                label,
                posted: *posted,
                wrong: *wrong,
            });
        }
        for (rule, [events, attack, lf, ll]) in &score.rule_labels {
            self.rule_quality.push(RuleQualityRow {
                baseline: baseline.name(),
                rule: rule.clone(),
                events: *events,
                attack: *attack,
                true_precision: rate(*attack, *events),
                labelled_fraud: *lf,
                labelled_legitimate: *ll,
                labelled_precision: rate(*lf, lf + ll),
            });
        }
        for s in scenarios {
            let a = score.attacks.get(s.as_str()).cloned().unwrap_or_default();
            let first_block_after_s = match (a.onset_ms, a.first_block_ms) {
                (Some(on), Some(block)) => Some((block - on) / 1000),
                _ => None,
            };
            self.rows.push(Row {
                scenario: s.clone(),
                baseline: baseline.name(),
                targeted_jpy: a.targeted_jpy,
                stolen_jpy: a.stolen_jpy,
                victims: a.victims.len(),
                first_block_after_s,
            });
            for (rule, [c, r]) in &a.by_rule {
                self.attack_rules.push(AttackRuleRow {
                    scenario: s.clone(),
                    baseline: baseline.name(),
                    rule: rule.clone(),
                    challenged: *c,
                    refused: *r,
                });
            }
        }
        let h = &score.honest;
        self.honest.push(HonestRow {
            baseline: baseline.name(),
            events: h.events,
            login_events: h.login_events,
            money_events: h.money_events,
            login_challenge_rate: rate(h.login_challenges, h.login_events),
            money_challenge_rate: rate(h.money_challenges, h.money_events),
            deny_rate: rate(h.refused, h.events),
            delayed_jpy: h.delayed_jpy,
            cgnat_logins: h.cgnat_logins,
            cgnat_login_challenge_rate: rate(h.cgnat_login_challenges, h.cgnat_logins),
            cgnat_login_refused_rate: rate(h.cgnat_login_refusals, h.cgnat_logins),
            custody_events: h.custody_events,
            custody_holds: h.custody_holds,
            custody_refusals: h.custody_refusals,
            custody_delayed_payouts: h.custody_delayed_payouts,
            custody_delayed_jpy: h.custody_delayed_jpy,
            custody_mean_delay_min: h
                .custody_delay_ms
                .checked_div(h.custody_delayed_payouts as i64)
                .unwrap_or(0)
                / 60_000,
            fan_in_transfers: h.fan_in_transfers,
            fan_in_flagged_rate: rate(h.fan_in_flagged, h.fan_in_transfers),
            warmup: score.warmup.clone(),
            by_service: h
                .by_service
                .iter()
                .map(|((service, class), [n, c, r])| ServiceRow {
                    service: service.clone(),
                    class,
                    events: *n,
                    challenge_rate: rate(*c, *n),
                    refused_rate: rate(*r, *n),
                })
                .collect(),
            by_rule: h
                .by_rule
                .iter()
                .map(|((rule, class), [c, r])| RuleRow {
                    rule: rule.clone(),
                    class,
                    challenged: *c,
                    refused: *r,
                })
                .collect(),
        });
    }

    pub fn markdown(&self) -> String {
        let mut md = String::new();
        let _ = writeln!(
            md,
            "# Scorecard\n\nseed {}, size {:?}, world {}, rule pack {}\n",
            self.seed,
            self.size,
            self.world.name(),
            self.rule_pack
        );
        if self.world == WorldKind::Sparse {
            let _ = writeln!(
                md,
                "The services send US dollars; every amount here is in yen at ¥{} per dollar.\n",
                crate::integration::JPY_PER_USD
            );
        }
        let _ = writeln!(md, "## Attacks\n\n| scenario | baseline | targeted ¥ | stolen ¥ | victims | first block after |");
        let _ = writeln!(md, "| --- | --- | ---: | ---: | ---: | ---: |");
        for r in &self.rows {
            let block = r
                .first_block_after_s
                .map_or("never".to_string(), |s| format!("{s} s"));
            let _ = writeln!(
                md,
                "| {} | {} | {} | {} | {} | {} |",
                r.scenario,
                r.baseline,
                yen(r.targeted_jpy),
                yen(r.stolen_jpy),
                r.victims,
                block
            );
        }
        let _ = writeln!(md, "\n## Honest people\n\n| baseline | events | logins | money events | login challenge rate | money challenge rate | refused rate | delayed ¥ | CGNAT logins | CGNAT challenged | CGNAT refused |");
        let _ = writeln!(
            md,
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
        );
        for h in &self.honest {
            let _ = writeln!(
                md,
                "| {} | {} | {} | {} | {:.4} | {:.4} | {:.4} | {} | {} | {:.4} | {:.4} |",
                h.baseline,
                h.events,
                h.login_events,
                h.money_events,
                h.login_challenge_rate,
                h.money_challenge_rate,
                h.deny_rate,
                yen(h.delayed_jpy),
                h.cgnat_logins,
                h.cgnat_login_challenge_rate,
                h.cgnat_login_refused_rate
            );
        }
        let _ = writeln!(md, "\n## Honest custody and fan-in\n\nCustody: the exchange's own payout events (requests, approvals, signing, chain reports), held for review (allow-list delay, quorum) or refused, and the payouts that waited. Fan-in: split bills paid into a collector's wallet by many friends.\n\n| baseline | custody events | held | refused | payouts delayed | delayed ¥ | mean delay | fan-in transfers | fan-in flagged |");
        let _ = writeln!(
            md,
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
        );
        for h in &self.honest {
            let _ = writeln!(
                md,
                "| {} | {} | {} | {} | {} | {} | {} min | {} | {:.4} |",
                h.baseline,
                h.custody_events,
                h.custody_holds,
                h.custody_refusals,
                h.custody_delayed_payouts,
                yen(h.custody_delayed_jpy),
                h.custody_mean_delay_min,
                h.fan_in_transfers,
                h.fan_in_flagged_rate
            );
        }
        let _ = writeln!(md, "\n## Honest friction by service\n\nHonest people's logins and money actions (charges, transfers, purchases, withdrawals) per service: the share challenged and refused.\n\n| baseline | service | kind | actions | challenged | refused |");
        let _ = writeln!(md, "| --- | --- | --- | ---: | ---: | ---: |");
        for h in &self.honest {
            for r in &h.by_service {
                let _ = writeln!(
                    md,
                    "| {} | {} | {} | {} | {:.4} | {:.4} |",
                    h.baseline, r.service, r.class, r.events, r.challenge_rate, r.refused_rate
                );
            }
        }
        self.warmup_markdown(&mut md);
        let _ = writeln!(md, "\n## Honest friction by rule\n\nThe enforced rules behind each honest login or money action that was challenged or refused (a decision two rules made counts under both; only sekimori names its rules).\n\n| baseline | rule | kind | challenged | refused |");
        let _ = writeln!(md, "| --- | --- | --- | ---: | ---: |");
        for h in &self.honest {
            for r in &h.by_rule {
                let _ = writeln!(
                    md,
                    "| {} | {} | {} | {} | {} |",
                    h.baseline, r.rule, r.class, r.challenged, r.refused
                );
            }
        }
        let _ = writeln!(md, "\n## Attack events by rule\n\nPer scenario, the enforced rules behind the attack's events that were challenged or refused (an attacker with the factor passes a challenge).\n\n| scenario | baseline | rule | challenged | refused |");
        let _ = writeln!(md, "| --- | --- | --- | ---: | ---: |");
        for r in &self.attack_rules {
            let _ = writeln!(
                md,
                "| {} | {} | {} | {} | {} |",
                r.scenario, r.baseline, r.rule, r.challenged, r.refused
            );
        }
        self.labels_markdown(&mut md);
        md
    }

    /// Labels posted, and rule quality as the operator measures it from
    /// them beside the truth.
    fn labels_markdown(&self, md: &mut String) {
        if self.labels.is_empty() {
            return;
        }
        let _ = writeln!(md, "\n## Labels posted\n\nWhat services (chargebacks weeks later, the victim's \"not me\" days later, an honest customer's \"it was me\") and analysts (dispositions of held events, with errors) told the engine, late, through the labels path; `wrong` says the opposite of the truth.\n\n| baseline | label | posted | wrong |");
        let _ = writeln!(md, "| --- | --- | ---: | ---: |");
        for l in &self.labels {
            let _ = writeln!(
                md,
                "| {} | {} | {} | {} |",
                l.baseline, l.label, l.posted, l.wrong
            );
        }
        if self.rule_quality.is_empty() {
            return;
        }
        let _ = writeln!(md, "\n## Rule quality as an operator sees it\n\nPer enforced rule behind a challenge or refusal: its events, how many were an attack's (truth), and what the labels say (fraud, legitimate; the rest unlabelled). `sekimori backtest` computes the labelled side from a stored log.\n\n| baseline | rule | events | attack | true precision | labelled fraud | labelled legitimate | labelled precision |");
        let _ = writeln!(
            md,
            "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |"
        );
        for r in &self.rule_quality {
            let _ = writeln!(
                md,
                "| {} | {} | {} | {} | {:.4} | {} | {} | {} |",
                r.baseline,
                r.rule,
                r.events,
                r.attack,
                r.true_precision,
                r.labelled_fraud,
                r.labelled_legitimate,
                if r.labelled_fraud + r.labelled_legitimate == 0 {
                    "-".to_string()
                } else {
                    format!("{:.4}", r.labelled_precision)
                }
            );
        }
    }
}

/// Yen with thousands separators.
fn yen(v: i64) -> String {
    let digits = v.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if v < 0 {
        format!("-{out}")
    } else {
        out
    }
}

impl Scorecard {
    /// The warm-up table: what the engine was taught before the measured
    /// period, and what became of honest successful logins and step-ups.
    fn warmup_markdown(&self, md: &mut String) {
        let _ = writeln!(md, "\n## Warm-up and honest step-ups\n\nBefore the measured period: the logins the service imported from its records, and the honest successful logins of the history with what the engine would have done (not enforced: observation). In the measured period: honest successful logins on accounts admitted before it (known) or not (new), challenged; every honest step-up is answered, most pass.\n\n| baseline | imported | history logins | would challenge | would refuse | known logins | challenged | new logins | challenged | step-ups answered | passed |");
        let _ = writeln!(
            md,
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
        );
        for h in &self.honest {
            let w = &h.warmup;
            let _ = writeln!(
                md,
                "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
                h.baseline,
                w.imported_logins,
                w.history_logins,
                w.history_challenged,
                w.history_refused,
                w.measured_logins_known,
                w.measured_challenged_known,
                w.measured_logins_new,
                w.measured_challenged_new,
                w.stepups_answered,
                w.stepups_passed
            );
        }
    }
}
