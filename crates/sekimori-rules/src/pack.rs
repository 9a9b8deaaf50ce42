//! The compiled, validated pack the engine runs.

use crate::action::{Action, HaltScope, RuleAction};
use crate::expr::{Expr, ListValues};
use crate::source::PackSource;
use sekimori_event::{EventKind, MfaMethod};
use sekimori_window::FeatureConfig;
use std::collections::{BTreeMap, BTreeSet};

/// A pack that passed every check; immutable once built.
#[derive(Debug)]
pub struct Pack {
    /// The self-contained source it was compiled from.
    pub source: PackSource,
    /// Hex digest of the canonical JSON of `source`.
    pub digest: String,
    pub settings: Settings,
    pub features: Vec<Feature>,
    pub rules: Vec<Rule>,
    pub lists: BTreeMap<String, BTreeSet<String>>,
    pub list_values: ListValues,
    /// The params, compiled (rules read them as constants).
    pub params: crate::params::Params,
    pub(crate) plans: BTreeMap<EventKind, Plan>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Settings {
    pub lateness_ms: i64,
    pub time_budget_ms: u64,
    pub fallback: BTreeMap<EventKind, Action>,
    pub default_fallback: Action,
}

impl Settings {
    /// The answer when the time budget runs out for this event type.
    pub fn fallback_for(&self, kind: EventKind) -> Action {
        self.fallback
            .get(&kind)
            .copied()
            .unwrap_or(self.default_fallback)
    }
}

/// One declared fact.
#[derive(Debug)]
pub struct Feature {
    pub name: String,
    pub on: BTreeSet<EventKind>,
    pub filter: Option<Expr>,
    pub key: Vec<Expr>,
    pub of: Option<Expr>,
    pub config: FeatureConfig,
    /// For `aggregate: risk`, the attribute hierarchies (coarsest first); the
    /// engine keeps a profile store instead of a window store.
    pub risk: Option<Vec<Vec<Expr>>>,
    /// For `aggregate: amounts | hours`, the profile kept per key; the
    /// engine keeps a profile store instead of a window store.
    pub profile: Option<ProfileKind>,
    /// Whether only allowed events update it.
    pub counts: crate::source::Counts,
    /// Digest of everything that shapes this feature's state: a new pack keeps
    /// the state of a feature whose spec digest is unchanged.
    pub spec_digest: u64,
}

/// What an entity profile feature keeps per key (see docs/rules.md,
/// Relative amounts).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProfileKind {
    /// A log-scale histogram of past amounts.
    Amounts,
    /// Counts of past activity per hour of the week.
    Hours,
}

/// One declared rule.
#[derive(Debug)]
pub struct Rule {
    pub name: String,
    pub on: BTreeSet<EventKind>,
    pub when: Expr,
    /// What it does when it fires; `flag` only adds its reason and score.
    pub action: RuleAction,
    pub methods: Vec<MfaMethod>,
    pub halt: Option<HaltScope>,
    pub score: i64,
    pub reason: String,
    pub shadow: bool,
    /// A money guard: an `allow` never overrides its verdict.
    pub guard: bool,
    /// Its challenge is learned as admitted on a login the service marks
    /// observed (see `RuleSource::learn_when_observed`).
    pub learn_when_observed: bool,
    /// Indices into [`Pack::features`] of the features this rule reads.
    pub reads: Vec<usize>,
}

/// What to do for one event type, precomputed.
#[derive(Debug, Default, Clone)]
pub struct Plan {
    /// Features this type updates.
    pub updates: Vec<usize>,
    /// Rules evaluated for this type, in pack order.
    pub rules: Vec<usize>,
    /// Features read by those rules (each read once per decision).
    pub reads: Vec<usize>,
}

impl Pack {
    pub fn name(&self) -> &str {
        &self.source.pack.name
    }

    pub fn version(&self) -> &str {
        &self.source.pack.version
    }

    /// The precomputed plan for an event type (empty when nothing applies).
    pub fn plan(&self, kind: EventKind) -> &Plan {
        static EMPTY: Plan = Plan {
            updates: Vec::new(),
            rules: Vec::new(),
            reads: Vec::new(),
        };
        self.plans.get(&kind).unwrap_or(&EMPTY)
    }
}
