//! Freezes and halts in force. A `freeze` or `halt` decision puts a hold in
//! place; every later event it covers is answered with the same action until
//! an operator lifts it. Holds are state, restored like feature windows.

use crate::decision::{HoldKey, HoldScope, Reason};
use crate::view::{account_of, scope_value};
use sekimori_event::Event;
use sekimori_rules::{Action, HaltScope};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Why a hold is in force.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hold {
    pub action: Action,
    pub rule: String,
    pub event_id: String,
    pub since_ms: i64,
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
            keys.push(HoldKey::account(acct));
        }
        for scope in SCOPES {
            if let Some(v) = scope_value(event, scope) {
                keys.push(HoldKey::for_halt(scope, v));
            }
        }
        keys.into_iter()
            .filter_map(|k| self.active.get(&k).map(|h| reason(k, h)))
            .collect()
    }

    pub fn place(&mut self, key: HoldKey, hold: Hold) {
        self.active.entry(key).or_insert(hold);
    }

    /// Lifts a hold; false when none was in force.
    pub fn lift(&mut self, key: &HoldKey) -> bool {
        self.active.remove(key).is_some()
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
    Reason {
        rule,
        action: hold.action,
        score: 0,
        reason: format!(
            "{} `{}` held since {} by rule `{}` (event {}) until an operator lifts it",
            key.scope_name(),
            key.key,
            sekimori_event::format_rfc3339_ms(hold.since_ms),
            hold.rule,
            hold.event_id
        ),
        shadow: false,
        methods: Vec::new(),
        hold: Some(key),
    }
}
