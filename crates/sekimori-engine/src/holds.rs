//! Freezes and halts in force. A `freeze` or `halt` decision puts a hold in
//! place, and so can an operator (`Entry::Place`, the API's kill switch);
//! every later event it covers is answered with the same action until an
//! operator lifts it. Holds are state, restored like feature windows.

use crate::decision::{HoldKey, HoldScope, Reason};
use crate::view::{account_of, scope_value};
use sekimori_event::Event;
use sekimori_rules::{Action, HaltScope};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Why a hold is in force. A rule's hold names the rule and the event; an
/// operator's hold names the operator (`by`, the API key's name) and `reason`.
///
/// Snapshots are postcard, which has no field names: every field is always
/// written (no `skip_serializing_if`), and a new field means a new snapshot
/// version (see `state.rs`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hold {
    pub action: Action,
    /// The rule that placed it; empty for an operator's hold.
    pub rule: String,
    /// The event whose decision placed it; empty for an operator's hold.
    pub event_id: String,
    /// Event time for a rule's hold; the logged request time for an operator's.
    pub since_ms: i64,
    /// The operator who placed it (an API key's name); `None` for a rule's hold.
    #[serde(default)]
    pub by: Option<String>,
    /// Why the operator placed it; `None` for a rule's hold.
    #[serde(default)]
    pub reason: Option<String>,
}

impl Hold {
    /// A hold an operator placed.
    pub fn operator(action: Action, by: &str, reason: &str, since_ms: i64) -> Hold {
        Hold {
            action,
            rule: String::new(),
            event_id: String::new(),
            since_ms,
            by: Some(by.to_string()),
            reason: Some(reason.to_string()),
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Holds {
    active: BTreeMap<HoldKey, Hold>,
}

const SCOPES: [HaltScope; 4] = [
    HaltScope::Service,
    HaltScope::Asset,
    HaltScope::Wallet,
    HaltScope::Bank,
];

impl Holds {
    /// The holds that cover this event, as reasons.
    pub fn covering(&self, event: &Event) -> Vec<Reason> {
        if self.active.is_empty() {
            return Vec::new();
        }
        let mut keys = Vec::new();
        if let Some(acct) = account_of(event) {
            keys.push(HoldKey::account(event.service.as_str(), acct));
        }
        for scope in SCOPES {
            if let Some(v) = scope_value(event, scope) {
                keys.push(HoldKey::for_halt(event.service.as_str(), scope, v));
            }
        }
        // This service's holds, then the ones of every service.
        let everywhere: Vec<HoldKey> = keys.iter().map(|k| k.clone().everywhere()).collect();
        keys.extend(everywhere);
        keys.into_iter()
            .filter_map(|k| self.active.get(&k).map(|h| reason(k, h)))
            .collect()
    }

    /// Places a hold unless one is already in force on the key (the first
    /// one stays); true when placed.
    pub fn place(&mut self, key: HoldKey, hold: Hold) -> bool {
        match self.active.entry(key) {
            std::collections::btree_map::Entry::Vacant(slot) => {
                slot.insert(hold);
                true
            }
            std::collections::btree_map::Entry::Occupied(_) => false,
        }
    }

    /// The hold in force on a key.
    pub fn get(&self, key: &HoldKey) -> Option<&Hold> {
        self.active.get(key)
    }

    /// Lifts a hold; false when none was in force.
    pub fn lift(&mut self, key: &HoldKey) -> bool {
        self.active.remove(key).is_some()
    }

    /// Holds in force.
    pub fn len(&self) -> usize {
        self.active.len()
    }

    pub fn is_empty(&self) -> bool {
        self.active.is_empty()
    }

    pub fn list(&self) -> impl Iterator<Item = (&HoldKey, &Hold)> {
        self.active.iter()
    }
}

fn reason(key: HoldKey, hold: &Hold) -> Reason {
    let rule = match key.scope {
        HoldScope::Account => "hold.account_frozen".to_string(),
        _ => format!("hold.{}_halted", key.scope_name()),
    };
    let since = sekimori_event::format_rfc3339_ms(hold.since_ms);
    let reason = match (&hold.by, &hold.reason) {
        (Some(by), why) => format!(
            "{} `{}` held since {} by operator `{}` ({}) until an operator lifts it",
            key.scope_name(),
            key.key,
            since,
            by,
            why.as_deref().unwrap_or("no reason recorded")
        ),
        (None, _) => format!(
            "{} `{}` held since {} by rule `{}` (event {}) until an operator lifts it",
            key.scope_name(),
            key.key,
            since,
            hold.rule,
            hold.event_id
        ),
    };
    Reason {
        rule,
        action: hold.action.into(),
        score: 0,
        reason,
        shadow: false,
        methods: Vec::new(),
        hold: Some(key),
    }
}

/// A hold's key as snapshots up to version 4 wrote it, before holds had a
/// service: it restores as a hold of every service, which is what it was.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub(crate) struct HoldKeyV4 {
    scope: crate::decision::HoldScope,
    key: String,
}

impl From<HoldKeyV4> for HoldKey {
    fn from(old: HoldKeyV4) -> HoldKey {
        HoldKey {
            service: crate::decision::EVERY_SERVICE.to_string(),
            scope: old.scope,
            key: old.key,
        }
    }
}

/// Holds as snapshot versions 3 and 4 wrote them (keys without a service).
#[derive(Debug, Default, Serialize, Deserialize)]
pub(crate) struct HoldsV4 {
    active: BTreeMap<HoldKeyV4, Hold>,
}

impl From<HoldsV4> for Holds {
    fn from(old: HoldsV4) -> Holds {
        Holds {
            active: old.active.into_iter().map(|(k, h)| (k.into(), h)).collect(),
        }
    }
}

#[cfg(test)]
impl HoldsV4 {
    /// A version-4 hold, for the snapshot compatibility tests.
    pub(crate) fn with(scope: crate::decision::HoldScope, key: &str, hold: Hold) -> HoldsV4 {
        HoldsV4 {
            active: BTreeMap::from([(
                HoldKeyV4 {
                    scope,
                    key: key.into(),
                },
                hold,
            )]),
        }
    }
}

/// Holds as snapshot version 2 wrote them (before `by` and `reason`).
#[derive(Debug, Default, Serialize, Deserialize)]
pub(crate) struct HoldsV2 {
    active: BTreeMap<HoldKeyV4, HoldV2>,
}

#[derive(Debug, Serialize, Deserialize)]
struct HoldV2 {
    action: Action,
    rule: String,
    event_id: String,
    since_ms: i64,
}

impl From<HoldsV2> for Holds {
    fn from(old: HoldsV2) -> Holds {
        let active = old
            .active
            .into_iter()
            .map(|(k, h)| {
                let hold = Hold {
                    action: h.action,
                    rule: h.rule,
                    event_id: h.event_id,
                    since_ms: h.since_ms,
                    by: None,
                    reason: None,
                };
                (k.into(), hold)
            })
            .collect();
        Holds { active }
    }
}

#[cfg(test)]
impl HoldsV2 {
    /// A version-2 hold, for the snapshot compatibility test.
    pub(crate) fn with(
        scope: crate::decision::HoldScope,
        key: &str,
        action: Action,
        rule: &str,
        since_ms: i64,
    ) -> HoldsV2 {
        let key = HoldKeyV4 {
            scope,
            key: key.into(),
        };
        let hold = HoldV2 {
            action,
            rule: rule.into(),
            event_id: "e1".into(),
            since_ms,
        };
        HoldsV2 {
            active: BTreeMap::from([(key, hold)]),
        }
    }
}
