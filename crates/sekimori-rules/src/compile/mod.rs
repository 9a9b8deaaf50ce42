//! Source to [`Pack`]: every problem is found and reported at once, each naming
//! the feature, list, rule or test and what is wrong.

mod conditions;
mod exprs;
mod features;
mod rules;

pub use conditions::MAX_CONDITIONS;

use crate::action::Action;
use crate::duration::parse_ms;
use crate::expr::ListValues;
use crate::fields::KnownFields;
use crate::pack::{Feature, Pack, Plan, Rule, Settings};
use crate::source::*;
use sekimori_event::EventKind;
use std::collections::{BTreeMap, BTreeSet};
use xxhash_rust::xxh3::xxh3_64;

pub const MAX_FEATURES: usize = 1_000;
pub const MAX_RULES: usize = 10_000;
pub const MAX_LISTS: usize = 100;
pub const MAX_LIST_ITEMS: usize = 1_000_000;
pub const MAX_TESTS: usize = 1_000;

/// One problem in a pack.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, thiserror::Error)]
#[error("{location}: {problem}")]
pub struct PackError {
    /// `rule \`name\``, `feature \`name\``, `list \`name\``, `test \`name\``, `settings` or `pack`.
    pub location: String,
    pub problem: String,
}

/// Collects problems while compiling.
#[derive(Default)]
pub(crate) struct Problems(Vec<PackError>);

impl Problems {
    pub(crate) fn add(&mut self, location: &str, problem: impl Into<String>) {
        self.0.push(PackError {
            location: location.to_string(),
            problem: problem.into(),
        });
    }

    pub(crate) fn into_errors(self) -> Vec<PackError> {
        self.0
    }

    #[cfg(test)]
    pub(crate) fn into_strings(self) -> Vec<String> {
        self.0.iter().map(ToString::to_string).collect()
    }
}

/// Compiles a self-contained source into a [`Pack`], or every problem found.
pub fn compile(source: PackSource) -> Result<Pack, Vec<PackError>> {
    let mut p = Problems::default();
    let known = KnownFields::new();
    check_meta(&source, &mut p);
    let settings = settings(&source.settings, &mut p);
    let lists = lists(&source.lists, &mut p);
    let params = crate::params::compile(&source.money, &source.params, &mut p);
    conditions::check(&source.conditions, &mut p);
    let mut features = features::features(
        &source.features,
        &known,
        &lists,
        settings.lateness_ms,
        &params,
        &source.conditions,
        &mut p,
    );
    let index: BTreeMap<&str, usize> = features
        .iter()
        .enumerate()
        .map(|(i, f)| (f.name.as_str(), i))
        .collect();
    let mut rules = rules::rules(
        &source.rules,
        &known,
        &index,
        &lists,
        &params,
        &source.conditions,
        &mut p,
    );
    // `features.name` in a rule reads the decision's slot of that feature.
    for rule in &mut rules {
        rule.when.bind_features(&|name| index.get(name).copied());
    }
    // Conditions several rules or filters share are evaluated once per event.
    let mut conditions: Vec<&mut crate::expr::Expr> = rules
        .iter_mut()
        .map(|r| &mut r.when)
        .chain(features.iter_mut().filter_map(|f| f.filter.as_mut()))
        .collect();
    crate::expr::Expr::share_conditions(&mut conditions);
    check_challenge_fallbacks(&settings, &rules, &mut p);
    check_tests(&source, &mut p);
    if !p.0.is_empty() {
        return Err(p.0);
    }
    let plans = plans(&features, &rules);
    let digest = format!(
        "{:016x}",
        xxh3_64(&serde_json::to_vec(&source).unwrap_or_default())
    );
    let list_values = ListValues::new(lists.iter().map(|(k, v)| (k.as_str(), v)));
    Ok(Pack {
        source,
        digest,
        settings,
        features,
        rules,
        lists,
        list_values,
        params,
        plans,
    })
}

/// Reports a name that breaks the pattern, or that is declared twice.
pub(crate) fn check_name(loc: &str, name: &str, taken: bool, p: &mut Problems) {
    if !valid_name(name) {
        p.add(loc, "name must match [a-z][a-z0-9_]{0,63}");
    }
    if taken {
        p.add(loc, "declared twice");
    }
}

pub(crate) fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && name.len() <= 64
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

fn check_meta(s: &PackSource, p: &mut Problems) {
    let ok_version = (1..=64).contains(&s.pack.version.len())
        && s.pack
            .version
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-+".contains(&b));
    if !ok_version {
        p.add(
            "pack",
            "version must be 1 to 64 characters of [A-Za-z0-9._+-]",
        );
    }
    if s.pack.name.is_empty() || s.pack.name.len() > 64 {
        p.add("pack", "name must be 1 to 64 characters");
    }
    let limits = [
        ("features", s.features.len(), MAX_FEATURES),
        ("rules", s.rules.len(), MAX_RULES),
        ("lists", s.lists.len(), MAX_LISTS),
        ("tests", s.tests.len(), MAX_TESTS),
    ];
    for (what, n, max) in limits {
        if n > max {
            p.add("pack", format!("{n} {what}; at most {max}"));
        }
    }
}

/// Event types that vouch for a person or a payment: their fallback may not be `allow`.
pub const VOUCHING: &[EventKind] = &[EventKind::MfaResult, EventKind::WithdrawalApproval];

fn settings(s: &SettingsSource, p: &mut Problems) -> Settings {
    let lateness_ms = match s.lateness.as_deref().map(parse_ms) {
        None => 300_000,
        Some(Ok(ms)) if (0..=86_400_000).contains(&ms) => ms,
        Some(Ok(_)) => {
            p.add("settings", "lateness must be between 0 and 1d");
            0
        }
        Some(Err(e)) => {
            p.add("settings", format!("lateness: {e}"));
            0
        }
    };
    let time_budget_ms = s.time_budget_ms.unwrap_or(50);
    if !(1..=10_000).contains(&time_budget_ms) {
        p.add("settings", "time_budget_ms must be 1 to 10000");
    }
    let mut fallback = BTreeMap::new();
    let mut default_fallback = Action::Review;
    for (name, action) in &s.fallback {
        if *action > Action::Deny {
            p.add(
                "settings",
                format!("fallback for `{name}` may be allow, challenge, review or deny"),
            );
        }
        // A degraded answer must never vouch for someone: an `mfa.result`
        // or `withdrawal.approval` answered `allow` without the engine's
        // decision could release a parked event or pass a quorum.
        if *action == Action::Allow && VOUCHING.iter().any(|k| k.as_str() == name) {
            p.add(
                "settings",
                format!(
                    "fallback for `{name}` may not be allow: a degraded answer must never release a parked event or count as a vote"
                ),
            );
        }
        match (name.as_str(), EventKind::parse(name)) {
            ("default", _) => default_fallback = *action,
            (_, Some(kind)) => {
                fallback.insert(kind, *action);
            }
            (_, None) => p.add(
                "settings",
                format!("fallback names unknown event type `{name}`"),
            ),
        }
    }
    if default_fallback == Action::Allow {
        // `default: allow` never reaches the types that vouch for someone.
        for kind in VOUCHING {
            fallback.entry(*kind).or_insert(Action::Review);
        }
    }
    Settings {
        lateness_ms,
        time_budget_ms,
        fallback,
        default_fallback,
    }
}

/// The step-up methods a `challenge` fallback offers for `kind`: every method
/// an enforced `challenge` rule on that type offers, in the methods' order.
/// Empty when no rule steps this type up (the fallback then cannot be a
/// challenge; see [`check_challenge_fallbacks`]).
pub fn fallback_methods(rules: &[Rule], kind: EventKind) -> Vec<sekimori_event::MfaMethod> {
    let mut methods: Vec<sekimori_event::MfaMethod> = rules
        .iter()
        .filter(|r| {
            !r.shadow && r.action.verdict() == Some(Action::Challenge) && r.on.contains(&kind)
        })
        .flat_map(|r| r.methods.iter().copied())
        .collect();
    methods.sort();
    methods.dedup();
    methods
}

/// A `challenge` fallback needs methods to offer: some enforced rule on that
/// type must step up.
fn check_challenge_fallbacks(settings: &Settings, rules: &[Rule], p: &mut Problems) {
    for (kind, action) in &settings.fallback {
        if *action == Action::Challenge && fallback_methods(rules, *kind).is_empty() {
            p.add(
                "settings",
                format!(
                    "fallback for `{kind}` is challenge, but no enforced rule on {kind} offers a step-up method to challenge with; choose review or deny"
                ),
            );
        }
    }
}

fn lists(src: &[ListSource], p: &mut Problems) -> BTreeMap<String, BTreeSet<String>> {
    let mut out = BTreeMap::new();
    let mut total = 0;
    for l in src {
        let loc = format!("list `{}`", l.name);
        check_name(&loc, &l.name, out.contains_key(&l.name), p);
        if l.file.is_some() {
            p.add(
                &loc,
                "`file` must be inlined before compiling (load the pack from its directory)",
            );
        }
        total += l.items.len();
        out.insert(l.name.clone(), l.items.iter().cloned().collect());
    }
    if total > MAX_LIST_ITEMS {
        p.add(
            "pack",
            format!("lists hold {total} items; at most {MAX_LIST_ITEMS}"),
        );
    }
    out
}

fn check_tests(s: &PackSource, p: &mut Problems) {
    let rule_names: BTreeSet<&str> = s.rules.iter().map(|r| r.name.as_str()).collect();
    let feature_names: BTreeSet<&str> = s.features.iter().map(|f| f.name.as_str()).collect();
    for t in &s.tests {
        let loc = format!("test `{}`", t.name);
        if t.events.is_empty() {
            p.add(&loc, "needs at least one event");
        }
        for r in t.expect.fired.iter().chain(&t.expect.not_fired) {
            if !rule_names.contains(r.as_str()) && !r.starts_with("hold.") {
                p.add(&loc, format!("expects unknown rule `{r}`"));
            }
        }
        for f in t
            .expect
            .features
            .keys()
            .filter(|f| !feature_names.contains(f.as_str()))
        {
            p.add(&loc, format!("expects unknown feature `{f}`"));
        }
    }
}

fn plans(features: &[Feature], rules: &[Rule]) -> BTreeMap<EventKind, Plan> {
    let mut plans = BTreeMap::new();
    for &kind in EventKind::ALL {
        let updates = (0..features.len())
            .filter(|&i| features[i].on.contains(&kind))
            .collect();
        let rules_for: Vec<usize> = (0..rules.len())
            .filter(|&i| rules[i].on.contains(&kind))
            .collect();
        let reads: BTreeSet<usize> = rules_for
            .iter()
            .flat_map(|&r| rules[r].reads.iter().copied())
            .collect();
        let plan = Plan {
            updates,
            rules: rules_for,
            reads: reads.into_iter().collect(),
        };
        plans.insert(kind, plan);
    }
    plans
}
