//! The rule pack as written: YAML files in a directory, or one JSON document.
//! The merged, self-contained [`PackSource`] (list files inlined) is what is
//! published, stored and versioned.

use crate::action::{Action, HaltScope, RuleAction};
use sekimori_event::MfaMethod;
use serde::{Deserialize, Serialize};
use serde_json::Value as Json;
use std::collections::BTreeMap;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PackSource {
    pub pack: PackMeta,
    #[serde(default)]
    pub settings: SettingsSource,
    /// Currencies: the reference currency, operator rates, assets beyond ISO
    /// 4217, and what an amount in a currency nothing prices counts as.
    #[serde(default, skip_serializing_if = "MoneySource::is_empty")]
    pub money: MoneySource,
    /// Named values rules read as `params.name`: amounts per currency,
    /// durations, counts and ratios (see docs/rules.md, Params).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub params: BTreeMap<String, ParamSource>,
    /// Named conditions: CEL expressions a rule's `when` or a feature's
    /// `filter` reads as `conditions.name`, each written once (see
    /// docs/rules.md, Conditions).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub conditions: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub features: Vec<FeatureSource>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub lists: Vec<ListSource>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rules: Vec<RuleSource>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tests: Vec<TestSource>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PackMeta {
    pub name: String,
    pub version: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SettingsSource {
    /// How far behind the newest event time an event may arrive and still land
    /// in its own time bucket (default `5m`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lateness: Option<String>,
    /// Per-decision time budget in the server, in milliseconds (default 50).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_budget_ms: Option<u64>,
    /// What the server answers when the budget is exceeded: an event type or
    /// `default` mapped to an action (`allow` is fail-open).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub fallback: BTreeMap<String, Action>,
}

/// The pack's currencies.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MoneySource {
    /// The currency `rates` are quoted in (`JPY`). An amount param that lists
    /// it is converted into every currency with a rate that it does not list.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    /// Reference units one unit of the currency is worth, as an exact decimal
    /// string (`USD: "150.25"`): the operator keeps these current.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub rates: BTreeMap<String, String>,
    /// Assets beyond ISO 4217 and the built-in crypto list, with the decimals
    /// their amounts are counted in (`XYM: 6`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub assets: BTreeMap<String, u32>,
    /// What an amount in a currency that a param neither lists nor can
    /// convert counts as.
    #[serde(default, skip_serializing_if = "UnknownCurrency::is_default")]
    pub unknown_currency: UnknownCurrency,
}

impl MoneySource {
    pub fn is_empty(&self) -> bool {
        self == &MoneySource::default()
    }
}

/// What a money comparison answers for a currency it cannot price.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UnknownCurrency {
    /// The amount counts as past every threshold: `amount_at_least` and
    /// `amount_over` are true, `amount_under` false, so a money rule fires
    /// (fail safe) until the operator adds an amount or a rate.
    #[default]
    Exceeds,
}

impl UnknownCurrency {
    pub fn is_default(&self) -> bool {
        *self == UnknownCurrency::default()
    }
}

/// One param, its type as its only key: `{amount: {JPY: "200000", USD:
/// "1500"}}`, `{duration: 48h}`, `{count: 5}` or `{ratio: "15%"}`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "ParamRepr", into = "ParamRepr")]
pub enum ParamSource {
    /// Major units per currency, as decimal strings.
    Amount(BTreeMap<String, String>),
    /// `500ms`, `30s`, `15m`, `48h`, `30d`: milliseconds in CEL.
    Duration(String),
    /// A whole number.
    Count(i64),
    /// `"15%"`, `"2.5%"` or `"25bp"`: basis points in CEL (`"15%"` is 1500).
    Ratio(String),
}

/// A param as written: a map with exactly one of these keys (YAML would
/// otherwise want a tag, `!duration 48h`, for an enum).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ParamRepr {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    amount: Option<BTreeMap<String, String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    duration: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    count: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    ratio: Option<String>,
}

impl TryFrom<ParamRepr> for ParamSource {
    type Error = String;

    fn try_from(r: ParamRepr) -> Result<Self, String> {
        match (r.amount, r.duration, r.count, r.ratio) {
            (Some(a), None, None, None) => Ok(ParamSource::Amount(a)),
            (None, Some(d), None, None) => Ok(ParamSource::Duration(d)),
            (None, None, Some(c), None) => Ok(ParamSource::Count(c)),
            (None, None, None, Some(r)) => Ok(ParamSource::Ratio(r)),
            _ => Err(
                "a param is one of {amount: {CUR: \"1.00\", ...}}, {duration: 48h}, \
                      {count: 5} or {ratio: \"15%\"}"
                    .into(),
            ),
        }
    }
}

impl From<ParamSource> for ParamRepr {
    fn from(p: ParamSource) -> Self {
        let mut r = ParamRepr::default();
        match p {
            ParamSource::Amount(a) => r.amount = Some(a),
            ParamSource::Duration(d) => r.duration = Some(d),
            ParamSource::Count(c) => r.count = Some(c),
            ParamSource::Ratio(x) => r.ratio = Some(x),
        }
        r
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AggregateName {
    Count,
    Sum,
    Min,
    Max,
    DistinctCount,
    FirstSeen,
    LastSeen,
    /// Login risk after Freeman et al. (NDSS 2016): how much likelier this
    /// event's `attributes` are under the whole population than under the
    /// key's own history, in hundredths of a decimal log (see docs/rules.md).
    Risk,
    /// The transfer graph: `key` is the sending node, `of` a list of the
    /// receiving node's key parts; readings are an object of fan-out,
    /// fan-in, pass-through and cycle facts (see docs/rules.md, Graph).
    Graph,
    /// A bounded integer sketch of the key's past amounts (`of`): readings
    /// place this amount among them (see docs/rules.md, Relative amounts).
    Amounts,
    /// The key's hour-of-week profile: how much of its past activity fell
    /// in this event's hour of the week (see docs/rules.md, Relative amounts).
    Hours,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeatureSource {
    pub name: String,
    /// Event types that update this feature.
    pub on: Vec<String>,
    /// CEL condition over `event`; only matching events update the feature.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filter: Option<String>,
    /// CEL expressions over `event` whose values, together, are the group-by key.
    pub key: Vec<String>,
    pub aggregate: AggregateName,
    /// CEL expression for the aggregated value (sum, min, max, distinct_count).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub of: Option<String>,
    /// `30s`, `15m`, `1h`, `7d` (up to `90d`) or `ever`.
    pub window: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolution: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exact_limit: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_keys: Option<usize>,
    /// For `risk`: each entry is a hierarchy of CEL expressions, coarsest
    /// first (e.g. country, ASN, network, address); a finer level is only
    /// compared under a coarser value the key has used before.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attributes: Vec<Vec<String>>,
    /// Which events count: `all` (the default: every event the filter lets
    /// through, whatever its decision), `allowed` (events decided `allow`,
    /// and challenged events once their step-up passed, applied when the
    /// passing `mfa.result` arrives) or `unrefused` (`allow` or `challenge`,
    /// whatever the step-up's outcome). For the last two the update waits for
    /// the decision, and the value this event reads leaves the event itself
    /// out.
    #[serde(default, skip_serializing_if = "Counts::is_all")]
    pub counts: Counts,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// Which events a feature counts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Counts {
    #[default]
    All,
    Allowed,
    Unrefused,
}

impl Counts {
    pub fn is_all(&self) -> bool {
        *self == Counts::All
    }

    /// Whether an event decided `action` counts at once (a challenged event
    /// of an `allowed` feature waits for its step-up: see the engine).
    pub fn admits(self, action: crate::Action) -> bool {
        match self {
            Counts::All => true,
            Counts::Allowed => action == crate::Action::Allow,
            Counts::Unrefused => action <= crate::Action::Challenge,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListSource {
    pub name: String,
    #[serde(default)]
    pub items: Vec<String>,
    /// A text file beside the YAML, one item a line (`#` starts a comment).
    /// Inlined into `items` when the pack is loaded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleSource {
    pub name: String,
    pub on: Vec<String>,
    pub when: String,
    /// `allow`, `flag` (adds its reason and score, decides nothing),
    /// `challenge`, `review`, `deny`, `freeze` or `halt`.
    pub action: RuleAction,
    /// For `challenge`: the methods that satisfy this rule.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub methods: Vec<MfaMethod>,
    /// For `halt`: which scope of the event to halt.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub halt: Option<HaltScope>,
    #[serde(default)]
    pub score: i64,
    pub reason: String,
    /// Evaluated and recorded, never enforced.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub shadow: bool,
    /// A money guard (custody quorum, approver rejections, reconciliation,
    /// caps): no `allow` rule may override it. A pack in which an enforced
    /// `allow` rule shares an event type with a guard does not compile.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub guard: bool,
    /// A challenge of this rule is learned as admitted when the service
    /// marks the login observed (`attrs.sekimori_observed`, docs/rules.md
    /// "Observation and history import"). Only for a rule that steps up a
    /// client merely unfamiliar to the account, never for one that sees an
    /// attack in progress (a spray, a stuffing wave, failures): an observed
    /// login any other rule challenges teaches nothing, so a sprayer whose
    /// guess is right is never learned as the account's client.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub learn_when_observed: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TestSource {
    pub name: String,
    pub events: Vec<TestStep>,
    pub expect: Expect,
}

/// One event, or the same event repeated with `{i}` in its strings replaced by
/// the repetition number and `at` advanced by `every` (default `1s`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum TestStep {
    Repeat {
        repeat: u32,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        every: Option<String>,
        event: Json,
    },
    Event(Json),
}

/// What the decision on the last event of a test must be.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<Action>,
    /// The step-up methods a challenge must offer, in order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub methods: Option<Vec<MfaMethod>>,
    /// Rules that must have fired (shadow rules included).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fired: Vec<String>,
    /// Rules that must not have fired.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub not_fired: Vec<String>,
    /// Feature values the decision must report.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub features: BTreeMap<String, Json>,
}
