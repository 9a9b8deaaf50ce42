//! Freezes and halts in force. A `freeze` or `halt` decision puts a hold in
//! place, and so can an operator (`Entry::Place`, the API's kill switch);
//! every later event it covers is answered with the same action until an
//! operator lifts it. Holds are state, restored like feature windows.

use crate::decision::{HoldKey, HoldScope, Reason, EVERY_SERVICE};
use crate::view::{account_of, scope_str};
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
    /// The holds that cover this event, as reasons: this service's holds
    /// (account, then each halt scope), then the ones of every service.
    /// The keys are looked up borrowed from the event ([`KeyParts`]): no
    /// key is built unless a hold is found.
    pub fn covering(&self, event: &Event) -> Vec<Reason> {
        if self.active.is_empty() {
            return Vec::new();
        }
        let mut keys: [Option<(HoldScope, &str)>; 1 + SCOPES.len()] = [None; 1 + SCOPES.len()];
        keys[0] = account_of(event).map(|a| (HoldScope::Account, a));
        for (slot, scope) in keys[1..].iter_mut().zip(SCOPES) {
            *slot = scope_str(event, scope).map(|v| (HoldScope::of_halt(scope), v));
        }
        let mut found = Vec::new();
        for service in [event.service.as_str(), EVERY_SERVICE] {
            for &(scope, key) in keys.iter().flatten() {
                let probe = Probe(service, scope, key);
                if let Some(h) = self.active.get(&probe as &dyn KeyParts) {
                    let key = HoldKey {
                        service: service.to_string(),
                        scope,
                        key: key.to_string(),
                    };
                    found.push(reason(key, h));
                }
            }
        }
        found
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

/// A hold key's parts, borrowed: the held map is searched with a
/// [`Probe`] of the event's own texts, in the order [`HoldKey`]'s derived
/// `Ord` gives (service, scope, key), so no owned key is built to look.
trait KeyParts {
    fn parts(&self) -> (&str, HoldScope, &str);
}

impl KeyParts for HoldKey {
    fn parts(&self) -> (&str, HoldScope, &str) {
        (&self.service, self.scope, &self.key)
    }
}

/// A key to look up: (service, scope, key), borrowed.
struct Probe<'a>(&'a str, HoldScope, &'a str);

impl KeyParts for Probe<'_> {
    fn parts(&self) -> (&str, HoldScope, &str) {
        (self.0, self.1, self.2)
    }
}

impl<'a> std::borrow::Borrow<dyn KeyParts + 'a> for HoldKey {
    fn borrow(&self) -> &(dyn KeyParts + 'a) {
        self
    }
}

impl PartialEq for dyn KeyParts + '_ {
    fn eq(&self, other: &Self) -> bool {
        self.parts() == other.parts()
    }
}

impl Eq for dyn KeyParts + '_ {}

impl PartialOrd for dyn KeyParts + '_ {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for dyn KeyParts + '_ {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.parts().cmp(&other.parts())
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The lookup by owned keys `covering` made before it borrowed them:
    /// the reference it is held to.
    fn covering_owned(holds: &Holds, event: &Event) -> Vec<Reason> {
        let mut keys = Vec::new();
        if let Some(acct) = account_of(event) {
            keys.push(HoldKey::account(event.service.as_str(), acct));
        }
        for scope in SCOPES {
            if let Some(v) = crate::view::scope_value(event, scope) {
                keys.push(HoldKey::for_halt(event.service.as_str(), scope, v));
            }
        }
        let everywhere: Vec<HoldKey> = keys.iter().map(|k| k.clone().everywhere()).collect();
        keys.extend(everywhere);
        keys.into_iter()
            .filter_map(|k| holds.active.get(&k).map(|h| reason(k, h)))
            .collect()
    }

    /// The borrowed lookup finds exactly the holds the owned keys found, in
    /// the same order, over holds of every scope on this service, another
    /// service and every service, with keys that sort next to the event's
    /// own (prefixes, a trailing NUL, the next scope), on events of types
    /// with and without each scope.
    #[test]
    fn borrowed_lookup_finds_what_owned_keys_find() {
        let events: Vec<Event> = include_str!("../../../examples/events/money.jsonl")
            .lines()
            .chain(include_str!("../../../examples/events/custody.jsonl").lines())
            .chain(include_str!("../../../examples/events/accounts.jsonl").lines())
            .map(|l| sekimori_event::decode(l.as_bytes()).expect("valid event"))
            .collect();
        let mut candidates = Vec::new();
        for e in &events {
            for service in [e.service.as_str(), "*", "other", ""] {
                let texts = account_of(e)
                    .map(|a| (HoldScope::Account, a.to_string()))
                    .into_iter()
                    .chain(SCOPES.into_iter().filter_map(|s| {
                        crate::view::scope_value(e, s).map(|v| (HoldScope::of_halt(s), v))
                    }));
                for (scope, text) in texts {
                    let mut shorter = text.clone();
                    shorter.pop();
                    for key in [text.clone(), format!("{text}\u{0}"), shorter] {
                        for scope in [scope, HoldScope::Bank, HoldScope::Account] {
                            candidates.push(HoldKey {
                                service: service.to_string(),
                                scope,
                                key: key.clone(),
                            });
                        }
                    }
                }
            }
        }
        assert!(candidates.len() > 200, "{}", candidates.len());
        let mut compared = 0;
        let mut found = 0;
        // Holds made of every 1st, 2nd, 3rd... candidate: many mixes.
        for step in 1..=7 {
            let mut holds = Holds::default();
            for (i, key) in candidates.iter().enumerate().filter(|(i, _)| i % step == 0) {
                let action = if key.scope == HoldScope::Account {
                    Action::Freeze
                } else {
                    Action::Halt
                };
                holds.place(
                    key.clone(),
                    Hold::operator(action, "op", &format!("n{i}"), 0),
                );
            }
            for e in &events {
                let want = covering_owned(&holds, e);
                assert_eq!(holds.covering(e), want, "{}", e.id);
                compared += 1;
                found += want.len();
            }
        }
        assert!(compared > 50 && found > compared, "{compared} {found}");
        assert!(Holds::default().covering(&events[0]).is_empty());
    }
}
