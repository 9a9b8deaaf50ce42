//! Source to [`Pack`]: every problem is found and reported at once, each naming
//! the feature, list, rule or test and what is wrong.

use crate::action::Action;
use crate::duration::parse_ms;
use crate::expr::{Expr, ListValues, Refs};
use crate::fields::KnownFields;
use crate::pack::{Feature, Pack, Plan, Rule, Settings};
use crate::source::*;
use sekimori_event::{EventKind, MfaMethod};
use sekimori_window::{Aggregate, FeatureConfig, FeatureStore, Window};
use std::collections::{BTreeMap, BTreeSet};
use xxhash_rust::xxh3::xxh3_64;

pub const MAX_FEATURES: usize = 1_000;
pub const MAX_RULES: usize = 10_000;
pub const MAX_LISTS: usize = 100;
pub const MAX_LIST_ITEMS: usize = 1_000_000;
pub const MAX_TESTS: usize = 1_000;
const DEFAULT_MAX_KEYS: usize = 1_000_000;
const DEFAULT_EXACT_LIMIT: u32 = 1_000;
const MAX_WINDOW_MS: i64 = 90 * 86_400_000;

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
struct Problems(Vec<PackError>);

impl Problems {
    fn add(&mut self, location: &str, problem: impl Into<String>) {
        self.0.push(PackError {
            location: location.to_string(),
            problem: problem.into(),
        });
    }
}

/// Compiles a self-contained source into a [`Pack`], or every problem found.
pub fn compile(source: PackSource) -> Result<Pack, Vec<PackError>> {
    let mut p = Problems::default();
    let known = KnownFields::new();
    check_meta(&source, &mut p);
    let settings = settings(&source.settings, &mut p);
    let lists = lists(&source.lists, &mut p);
    let features = features(
        &source.features,
        &known,
        &lists,
        settings.lateness_ms,
        &mut p,
    );
    let index: BTreeMap<&str, usize> = features
        .iter()
        .enumerate()
        .map(|(i, f)| (f.name.as_str(), i))
        .collect();
    let rules = rules(&source.rules, &known, &index, &lists, &mut p);
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
        plans,
    })
}

fn valid_name(name: &str) -> bool {
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
        if *action > Action::Deny || *action == Action::Challenge {
            p.add(
                "settings",
                format!("fallback for `{name}` may be allow, review or deny"),
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
    Settings {
        lateness_ms,
        time_budget_ms,
        fallback,
        default_fallback,
    }
}

fn lists(src: &[ListSource], p: &mut Problems) -> BTreeMap<String, BTreeSet<String>> {
    let mut out = BTreeMap::new();
    let mut total = 0;
    for l in src {
        let loc = format!("list `{}`", l.name);
        if !valid_name(&l.name) {
            p.add(&loc, "name must match [a-z][a-z0-9_]{0,63}");
        }
        if l.file.is_some() {
            p.add(
                &loc,
                "`file` must be inlined before compiling (load the pack from its directory)",
            );
        }
        total += l.items.len();
        if out
            .insert(l.name.clone(), l.items.iter().cloned().collect())
            .is_some()
        {
            p.add(&loc, "declared twice");
        }
    }
    if total > MAX_LIST_ITEMS {
        p.add(
            "pack",
            format!("lists hold {total} items; at most {MAX_LIST_ITEMS}"),
        );
    }
    out
}

fn kinds(on: &[String], loc: &str, p: &mut Problems) -> BTreeSet<EventKind> {
    if on.is_empty() {
        p.add(loc, "`on` must name at least one event type");
    }
    if on.len() == 1 && on[0] == "*" {
        return EventKind::ALL.iter().copied().collect();
    }
    on.iter()
        .filter_map(|name| {
            let kind = EventKind::parse(name);
            if kind.is_none() {
                p.add(loc, format!("`on` names unknown event type `{name}`"));
            }
            kind
        })
        .collect()
}

/// Compiles one expression and checks what it reads.
fn expr(
    src: &str,
    what: &str,
    ctx: &ExprContext<'_>,
    loc: &str,
    p: &mut Problems,
) -> Option<(Expr, Refs)> {
    match Expr::compile(src) {
        Err(e) => {
            p.add(loc, format!("{what} {e}"));
            None
        }
        Ok((e, refs)) => {
            ctx.check(&refs, what, loc, p);
            Some((e, refs))
        }
    }
}

struct ExprContext<'a> {
    known: &'a KnownFields,
    kinds: &'a BTreeSet<EventKind>,
    features: Option<&'a BTreeMap<&'a str, usize>>,
    lists: &'a BTreeMap<String, BTreeSet<String>>,
}

impl ExprContext<'_> {
    fn check(&self, refs: &Refs, what: &str, loc: &str, p: &mut Problems) {
        for path in &refs.event_paths {
            if let Err(e) = self.known.check(self.kinds, path) {
                p.add(loc, format!("{what} reads {e}"));
            }
        }
        for f in &refs.features {
            match self.features {
                None => p.add(
                    loc,
                    format!("{what} reads feature `{f}`, but features may not read features"),
                ),
                Some(index) if !index.contains_key(f.as_str()) => {
                    p.add(loc, format!("{what} reads unknown feature `{f}`"))
                }
                Some(_) => {}
            }
        }
        for l in refs.lists.iter().filter(|l| !self.lists.contains_key(*l)) {
            p.add(loc, format!("{what} reads unknown list `{l}`"));
        }
    }
}

fn features(
    src: &[FeatureSource],
    known: &KnownFields,
    lists: &BTreeMap<String, BTreeSet<String>>,
    lateness_ms: i64,
    p: &mut Problems,
) -> Vec<Feature> {
    let mut out: Vec<Feature> = Vec::new();
    for f in src {
        let loc = format!("feature `{}`", f.name);
        if !valid_name(&f.name) {
            p.add(&loc, "name must match [a-z][a-z0-9_]{0,63}");
        }
        if out.iter().any(|o| o.name == f.name) {
            p.add(&loc, "declared twice");
        }
        let on = kinds(&f.on, &loc, p);
        let ctx = ExprContext {
            known,
            kinds: &on,
            features: None,
            lists,
        };
        let filter = f
            .filter
            .as_deref()
            .and_then(|s| expr(s, "filter", &ctx, &loc, p))
            .map(|x| x.0);
        if f.key.is_empty() || f.key.len() > 4 {
            p.add(&loc, "key must have 1 to 4 parts");
        }
        let key: Vec<Expr> = f
            .key
            .iter()
            .filter_map(|k| expr(k, "key", &ctx, &loc, p))
            .map(|x| x.0)
            .collect();
        let needs_of = matches!(
            f.aggregate,
            AggregateName::Sum
                | AggregateName::Min
                | AggregateName::Max
                | AggregateName::DistinctCount
        );
        let of = match (&f.of, needs_of) {
            (Some(s), true) => expr(s, "of", &ctx, &loc, p).map(|x| x.0),
            (None, true) => {
                p.add(
                    &loc,
                    format!(
                        "aggregate {:?} needs `of`, the value to aggregate",
                        f.aggregate
                    ),
                );
                None
            }
            (Some(_), false) => {
                p.add(&loc, "`of` is only for sum, min, max and distinct_count");
                None
            }
            (None, false) => None,
        };
        let Some(config) = feature_config(f, lateness_ms, &loc, p) else {
            continue;
        };
        let spec = serde_json::to_vec(&(
            &f.name,
            &f.on,
            &f.filter,
            &f.key,
            &f.of,
            f.aggregate,
            &config,
        ))
        .unwrap_or_default();
        out.push(Feature {
            name: f.name.clone(),
            on,
            filter,
            key,
            of,
            config,
            spec_digest: xxh3_64(&spec),
        });
    }
    out
}

fn feature_config(
    f: &FeatureSource,
    lateness_ms: i64,
    loc: &str,
    p: &mut Problems,
) -> Option<FeatureConfig> {
    let window = match f.window.as_str() {
        "ever" => Ok(Window::Ever),
        w => parse_ms(w).and_then(|len| {
            if !(1_000..=MAX_WINDOW_MS).contains(&len) {
                return Err(format!("window `{w}` must be between 1s and 90d"));
            }
            match f.resolution.as_deref().map(parse_ms) {
                None => Window::sliding_default(len).map_err(|e| e.to_string()),
                Some(Ok(res)) => Window::sliding(len, res).map_err(|e| e.to_string()),
                Some(Err(e)) => Err(e),
            }
        }),
    };
    let window = window.map_err(|e| p.add(loc, e)).ok()?;
    let exact_limit = f.exact_limit.unwrap_or(DEFAULT_EXACT_LIMIT);
    if !(1..=100_000).contains(&exact_limit) {
        p.add(loc, "exact_limit must be 1 to 100000");
    }
    let aggregate = match f.aggregate {
        AggregateName::Count => Aggregate::Count,
        AggregateName::Sum => Aggregate::Sum,
        AggregateName::Min => Aggregate::Min,
        AggregateName::Max => Aggregate::Max,
        AggregateName::DistinctCount => Aggregate::DistinctCount { exact_limit },
        AggregateName::FirstSeen => Aggregate::FirstSeen,
        AggregateName::LastSeen => Aggregate::LastSeen,
    };
    let max_keys = f.max_keys.unwrap_or(DEFAULT_MAX_KEYS);
    if !(1..=100_000_000).contains(&max_keys) {
        p.add(loc, "max_keys must be 1 to 100000000");
    }
    let config = FeatureConfig {
        window,
        aggregate,
        max_keys,
        lateness_ms,
    };
    FeatureStore::new(config)
        .map_err(|e| p.add(loc, e.to_string()))
        .ok()?;
    Some(config)
}

fn rules(
    src: &[RuleSource],
    known: &KnownFields,
    index: &BTreeMap<&str, usize>,
    lists: &BTreeMap<String, BTreeSet<String>>,
    p: &mut Problems,
) -> Vec<Rule> {
    let mut out: Vec<Rule> = Vec::new();
    for r in src {
        let loc = format!("rule `{}`", r.name);
        if !valid_name(&r.name) {
            p.add(&loc, "name must match [a-z][a-z0-9_]{0,63}");
        }
        if out.iter().any(|o| o.name == r.name) {
            p.add(&loc, "declared twice");
        }
        check_rule_action(r, &loc, p);
        if r.reason.trim().is_empty() || r.reason.len() > 512 {
            p.add(
                &loc,
                "reason must be 1 to 512 characters: it is shown to analysts",
            );
        }
        if !(0..=1_000).contains(&r.score) {
            p.add(&loc, "score must be 0 to 1000");
        }
        let on = kinds(&r.on, &loc, p);
        let ctx = ExprContext {
            known,
            kinds: &on,
            features: Some(index),
            lists,
        };
        let Some((when, refs)) = expr(&r.when, "when", &ctx, &loc, p) else {
            continue;
        };
        let reads = refs
            .features
            .iter()
            .filter_map(|f| index.get(f.as_str()).copied())
            .collect();
        out.push(Rule {
            name: r.name.clone(),
            on,
            when,
            action: r.action,
            methods: r.methods.clone(),
            halt: r.halt,
            score: r.score,
            reason: r.reason.clone(),
            shadow: r.shadow,
            reads,
        });
    }
    out
}

fn check_rule_action(r: &RuleSource, loc: &str, p: &mut Problems) {
    match (r.action, r.methods.is_empty(), r.halt.is_some()) {
        (Action::Challenge, true, _) => p.add(loc, "a challenge must list its `methods`"),
        (Action::Challenge, false, false) => {}
        (_, false, _) => p.add(loc, "`methods` is only for challenge"),
        (Action::Halt, _, false) => p.add(loc, "a halt must name its `halt` scope"),
        (Action::Halt, _, true) => {}
        (_, _, true) => p.add(loc, "`halt` is only for halt"),
        _ => {}
    }
    let dup: BTreeSet<&MfaMethod> = r.methods.iter().collect();
    if dup.len() != r.methods.len() {
        p.add(loc, "`methods` lists a method twice");
    }
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
