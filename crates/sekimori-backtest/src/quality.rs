//! Rule quality: per pack version and per rule, what fired on events later
//! labelled fraud or legitimate, what was missed, and the friction on events
//! not labelled fraud. Counts are integers; ratios are basis points
//! (1/10,000), rounded down, absent when their denominator is zero.

use crate::labels::Class;
use sekimori_engine::Decision;
use sekimori_rules::{Action, RuleAction};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

/// `num / den` in basis points, rounded down; `None` when `den` is 0.
pub fn bp(num: u64, den: u64) -> Option<u64> {
    (den > 0).then(|| ((u128::from(num) * 10_000) / u128::from(den)) as u64)
}

/// Challenges and refusals (review or worse) on events not labelled fraud.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[schema(as = QualityFriction)]
pub struct Friction {
    pub challenged: u64,
    pub refused: u64,
}

impl Friction {
    fn add(&mut self, action: Action) {
        match action {
            Action::Allow => {}
            Action::Challenge => self.challenged += 1,
            _ => self.refused += 1,
        }
    }
}

/// One pack version's decisions against the labels. An event is *caught*
/// when its decision is not `allow` (challenge or worse).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[schema(as = QualityPack)]
pub struct PackQuality {
    pub version: String,
    pub events: u64,
    pub labelled_fraud: u64,
    pub labelled_legitimate: u64,
    /// Decisions other than `allow`.
    pub caught: u64,
    /// Caught and labelled fraud.
    pub true_positives: u64,
    /// Caught and labelled legitimate.
    pub false_positives: u64,
    /// Labelled fraud and allowed: no enforced rule caught it.
    pub misses: u64,
    pub precision_bp: Option<u64>,
    pub recall_bp: Option<u64>,
    /// Challenges and refusals of events not labelled fraud.
    pub friction: Friction,
}

/// One rule of one pack version.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[schema(as = QualityRule)]
pub struct RuleQuality {
    pub version: String,
    pub rule: String,
    /// Evaluated and recorded, never enforced: its friction is what it
    /// would have caused.
    pub shadow: bool,
    /// The rule's own action (`flag`, `challenge`, ...).
    pub action: String,
    pub fired: u64,
    /// Fired on an event labelled fraud.
    pub true_positives: u64,
    /// Fired on an event labelled legitimate.
    pub false_positives: u64,
    pub unlabelled: u64,
    pub precision_bp: Option<u64>,
    /// Of the events labelled fraud of the event types the rule runs on
    /// (under the same pack version), the share it fired on.
    pub recall_bp: Option<u64>,
    /// The challenges (its action `challenge`) or refusals (`review` or
    /// worse) it voted for on events not labelled fraud; for a shadow rule,
    /// what it would have caused.
    pub friction: Friction,
}

/// One service's decisions, per pack version: its own precision, recall
/// and honest friction (what the other tenants' events do not dilute).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[schema(as = QualityService)]
pub struct ServiceQuality {
    pub service: String,
    pub packs: Vec<PackQuality>,
}

/// Per-service tallies: one [`Tally`] of pack rows per service seen.
#[derive(Debug, Default)]
pub struct ByService {
    services: BTreeMap<String, Tally>,
}

impl ByService {
    /// One decision of `service`'s event and its class.
    pub fn add(&mut self, service: &str, decision: &Decision, class: Option<Class>) {
        if let Some(t) = self.services.get_mut(service) {
            t.add_pack_row(decision, class);
            return;
        }
        let mut t = Tally::default();
        t.add_pack_row(decision, class);
        self.services.insert(service.to_string(), t);
    }

    /// The rows, by service name.
    pub fn finish(self) -> Vec<ServiceQuality> {
        self.services
            .into_iter()
            .map(|(service, t)| ServiceQuality {
                service,
                packs: t.finish().packs,
            })
            .collect()
    }
}

/// The quality of a set of decisions: per pack version, then per rule.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[schema(as = QualityTables)]
pub struct Quality {
    pub packs: Vec<PackQuality>,
    /// By pack version, then the rules that fired most first, then by name.
    pub rules: Vec<RuleQuality>,
}

#[derive(Default)]
struct VersionTally {
    q: PackQuality,
    fraud_by_type: BTreeMap<String, u64>,
}

/// Accumulates decisions and their labels, in log order.
#[derive(Default)]
pub struct Tally {
    versions: BTreeMap<String, VersionTally>,
    rules: BTreeMap<(String, String), RuleQuality>,
    /// (version, rule) -> the event types it runs on, when the pack is known.
    types: BTreeMap<(String, String), BTreeSet<String>>,
    known: BTreeSet<String>,
}

impl std::fmt::Debug for Tally {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tally")
            .field("versions", &self.versions.len())
            .field("rules", &self.rules.len())
            .finish()
    }
}

impl Tally {
    /// Whether the rules of `version` are known (see [`Tally::learn_pack`]).
    pub fn knows(&self, version: &str) -> bool {
        self.known.contains(version)
    }

    /// The event types each rule of `version` runs on (for per-rule recall).
    pub fn learn_pack(&mut self, version: &str, rules: &[sekimori_rules::RuleSource]) {
        self.known.insert(version.to_string());
        for r in rules {
            self.types.insert(
                (version.to_string(), r.name.clone()),
                r.on.iter().cloned().collect(),
            );
        }
    }

    /// One decision and its event's class, under its pack version.
    pub fn add(&mut self, decision: &Decision, class: Option<Class>) {
        self.add_as(&decision.pack.version, decision, class);
    }

    /// The same, under the name `version` (e.g. every logged version as one).
    pub fn add_as(&mut self, version: &str, decision: &Decision, class: Option<Class>) {
        self.add_pack_row_as(version, decision, class);
        self.add_rules_as(version, decision, class);
    }

    /// The decision in its pack version's row only (no rule rows).
    fn add_pack_row(&mut self, decision: &Decision, class: Option<Class>) {
        self.add_pack_row_as(&decision.pack.version, decision, class);
    }

    fn add_pack_row_as(&mut self, version: &str, decision: &Decision, class: Option<Class>) {
        let v = match self.versions.get_mut(version) {
            Some(v) => v,
            None => self.versions.entry(version.to_string()).or_default(),
        };
        let q = &mut v.q;
        q.events += 1;
        let caught = decision.action != Action::Allow;
        match class {
            Some(Class::Fraud) => {
                q.labelled_fraud += 1;
                *v.fraud_by_type
                    .entry(decision.event_type.clone())
                    .or_default() += 1;
                if caught {
                    q.true_positives += 1;
                } else {
                    q.misses += 1;
                }
            }
            Some(Class::Legitimate) => {
                q.labelled_legitimate += 1;
                q.false_positives += u64::from(caught);
            }
            None => {}
        }
        q.caught += u64::from(caught);
        if class != Some(Class::Fraud) {
            q.friction.add(decision.action);
        }
    }

    fn add_rules_as(&mut self, version: &str, decision: &Decision, class: Option<Class>) {
        let version = &version.to_string();
        for r in &decision.reasons {
            let row = self
                .rules
                .entry((version.clone(), r.rule.clone()))
                .or_insert_with(|| RuleQuality {
                    version: version.clone(),
                    rule: r.rule.clone(),
                    shadow: r.shadow,
                    action: r.action.name().to_string(),
                    ..RuleQuality::default()
                });
            row.fired += 1;
            match class {
                Some(Class::Fraud) => row.true_positives += 1,
                Some(Class::Legitimate) => row.false_positives += 1,
                None => row.unlabelled += 1,
            }
            if class != Some(Class::Fraud) {
                if let Some(a) = RuleAction::verdict(r.action) {
                    row.friction.add(a);
                }
            }
        }
    }

    /// The finished tables.
    pub fn finish(self) -> Quality {
        let mut packs = Vec::new();
        let mut fraud_by_type = BTreeMap::new();
        for (version, v) in self.versions {
            let mut q = v.q;
            q.version.clone_from(&version);
            q.precision_bp = bp(q.true_positives, q.true_positives + q.false_positives);
            q.recall_bp = bp(q.true_positives, q.labelled_fraud);
            fraud_by_type.insert(version, (q.labelled_fraud, v.fraud_by_type));
            packs.push(q);
        }
        let mut rules: Vec<RuleQuality> = self
            .rules
            .into_iter()
            .map(|(key, mut r)| {
                r.precision_bp = bp(r.true_positives, r.true_positives + r.false_positives);
                let (all, by_type) = fraud_by_type
                    .get(&r.version)
                    .map(|(n, t)| (*n, Some(t)))
                    .unwrap_or((0, None));
                let fraud = match (self.types.get(&key), by_type) {
                    (Some(on), Some(t)) => on.iter().filter_map(|k| t.get(k)).sum(),
                    // A hold, or a pack not stored: every fraud event of the version.
                    _ => all,
                };
                r.recall_bp = bp(r.true_positives, fraud);
                r
            })
            .collect();
        rules.sort_by(|a, b| {
            (
                a.version.as_str(),
                std::cmp::Reverse(a.fired),
                a.rule.as_str(),
            )
                .cmp(&(
                    b.version.as_str(),
                    std::cmp::Reverse(b.fired),
                    b.rule.as_str(),
                ))
        });
        Quality { packs, rules }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basis_points_round_down_and_need_a_denominator() {
        assert_eq!(bp(1, 3), Some(3_333));
        assert_eq!(bp(2, 3), Some(6_666));
        assert_eq!(bp(5, 5), Some(10_000));
        assert_eq!(bp(0, 0), None);
        assert_eq!(bp(u64::MAX, u64::MAX), Some(10_000));
    }
}
