//! The answer for one event, with everything needed to explain it.

use sekimori_event::MfaMethod;
use sekimori_rules::{Action, HaltScope, RuleAction};
use serde::{Deserialize, Serialize};

mod record;

pub(crate) use record::FeatureNames;
pub use record::{Features, Iter as FeaturesIter};

/// One decision. Serialized with a fixed field order, so the same events give
/// byte-identical decision logs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Decision {
    pub event_id: String,
    pub event_type: String,
    /// The event's own time (UTC, milliseconds).
    pub at: String,
    pub action: Action,
    /// For `challenge`: the methods the service may use.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub methods: Vec<MfaMethod>,
    /// Sum of the scores of the enforced rules that fired (`flag` rules included).
    pub score: i64,
    /// Every rule that fired, enforced and shadow, in pack order, and any hold that applied.
    pub reasons: Vec<Reason>,
    /// The value of every feature the evaluated rules read (null: no data or no key).
    pub features: Features,
    pub pack: PackRef,
    /// The event arrived later than the allowed lateness; its time was clamped.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub late: bool,
    /// Rules or features that could not be evaluated (the rule did not fire).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<EvalError>,
}

/// Why the decision is what it is: a rule that fired or a hold in force.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Reason {
    /// The rule name, or `hold.account_frozen` / `hold.<scope>_halted` for holds.
    pub rule: String,
    /// The rule's action (`flag` for a rule that only informs), or the hold's.
    pub action: RuleAction,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub score: i64,
    pub reason: String,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub shadow: bool,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub methods: Vec<MfaMethod>,
    /// For freeze and halt: what was (or is) held.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hold: Option<HoldKey>,
}

fn is_zero(v: &i64) -> bool {
    *v == 0
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PackRef {
    pub name: String,
    pub version: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EvalError {
    /// `rule <name>` or `feature <name>`.
    pub source: String,
    pub error: String,
}

/// What a freeze or halt holds: an account, or a scope of the business, of
/// one service (tenant). On the wire:
/// `{"service": "netbank", "scope": "account", "key": "w-9"}`.
///
/// Services are tenants: account `w-9` of `netbank` is not account `w-9` of
/// `qr-pay`, and a hold one service's events place never covers another's.
/// [`EVERY_SERVICE`] (`*`) covers every service: an operator's global kill
/// switch (an unbound admin key), and every hold placed before holds had a
/// service (log entries and snapshots from then restore as such).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HoldKey {
    #[serde(default = "every_service")]
    pub service: String,
    pub scope: HoldScope,
    pub key: String,
}

/// The service of a hold that covers every service.
pub const EVERY_SERVICE: &str = "*";

fn every_service() -> String {
    EVERY_SERVICE.to_string()
}

/// The kinds of hold: a frozen account, or a halted service, asset, wallet or bank.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HoldScope {
    Account,
    Service,
    Asset,
    Wallet,
    Bank,
}

impl HoldScope {
    /// The kind of hold a halt of `scope` places.
    pub(crate) fn of_halt(scope: HaltScope) -> HoldScope {
        match scope {
            HaltScope::Service => HoldScope::Service,
            HaltScope::Asset => HoldScope::Asset,
            HaltScope::Wallet => HoldScope::Wallet,
            HaltScope::Bank => HoldScope::Bank,
        }
    }
}

impl HoldKey {
    /// Account `key` of `service`.
    pub fn account(service: impl Into<String>, key: impl Into<String>) -> HoldKey {
        HoldKey {
            service: service.into(),
            scope: HoldScope::Account,
            key: key.into(),
        }
    }

    /// A halt of `key` in `scope`, of `service`.
    pub fn for_halt(service: impl Into<String>, scope: HaltScope, key: String) -> HoldKey {
        HoldKey {
            service: service.into(),
            scope: HoldScope::of_halt(scope),
            key,
        }
    }

    /// The same hold, of every service.
    pub fn everywhere(mut self) -> HoldKey {
        self.service = EVERY_SERVICE.to_string();
        self
    }

    /// Whether this hold belongs to every service.
    pub fn is_everywhere(&self) -> bool {
        self.service == EVERY_SERVICE
    }

    /// Whether `action` can hold this key: `freeze` an account, `halt` any
    /// other scope.
    pub fn fits(&self, action: Action) -> bool {
        match self.scope {
            HoldScope::Account => action == Action::Freeze,
            _ => action == Action::Halt,
        }
    }

    /// `account`, `service`, `asset`, `wallet` or `bank`.
    pub fn scope_name(&self) -> &'static str {
        match self.scope {
            HoldScope::Account => "account",
            HoldScope::Service => "service",
            HoldScope::Asset => "asset",
            HoldScope::Wallet => "wallet",
            HoldScope::Bank => "bank",
        }
    }
}
