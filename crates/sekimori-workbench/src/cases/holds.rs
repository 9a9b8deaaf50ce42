//! What the index keeps of the workbench's holds and list items, from the
//! log: the lifts asked for and not yet done (four eyes: who asked), and
//! the list items the workbench added with their expiry.

use super::Index;
use crate::acts::Act;
use sekimori_engine::HoldKey;
use std::collections::BTreeMap;

/// The most lift requests and timed list items kept (the oldest go).
pub const MAX_PENDING: usize = 10_000;

/// A list item the workbench added, and until when (server time).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TimedItem {
    pub list: String,
    pub item: String,
    pub expires_ms: i64,
    pub by: String,
}

impl Index {
    /// Applies an act that is not about one case only.
    pub(super) fn apply_global(&mut self, by: &str, act: &Act) {
        match act {
            Act::RequestLift { hold, .. } if self.lift_requests.len() < MAX_PENDING => {
                self.lift_requests.insert(hold.clone(), by.to_string());
            }
            Act::LiftHold { hold, .. } | Act::PlaceHold { hold, .. } => {
                self.lift_requests.remove(hold);
            }
            Act::ListAdd {
                already_listed: true,
                ..
            } => {}
            Act::ListAdd {
                list,
                item,
                expires_at,
                ..
            } => {
                let key = (list.clone(), item.clone());
                if self.timed_items.len() < MAX_PENDING || self.timed_items.contains_key(&key) {
                    let expires_ms = sekimori_event::parse_rfc3339_ms(expires_at).unwrap_or(0);
                    self.timed_items.insert(key, (expires_ms, by.to_string()));
                }
            }
            Act::ListExpire { list, item } => {
                self.timed_items.remove(&(list.clone(), item.clone()));
            }
            _ => {}
        }
    }

    /// Who asked for `hold` to be lifted, if a lift waits for its second eyes.
    pub fn lift_requested_by(&self, hold: &HoldKey) -> Option<&str> {
        self.lift_requests.get(hold).map(String::as_str)
    }

    /// The list items the workbench added that have not expired yet (by
    /// list, then item).
    pub fn timed_items(&self) -> Vec<TimedItem> {
        self.timed_items
            .iter()
            .map(|((list, item), (expires_ms, by))| TimedItem {
                list: list.clone(),
                item: item.clone(),
                expires_ms: *expires_ms,
                by: by.clone(),
            })
            .collect()
    }

    /// Whether the workbench put `item` on `list` and its expiry is pending.
    pub fn is_timed_item(&self, list: &str, item: &str) -> bool {
        self.timed_items
            .contains_key(&(list.to_string(), item.to_string()))
    }

    /// The timed items past their expiry at server time `now_ms`.
    pub fn expired_items(&self, now_ms: i64) -> Vec<(String, String)> {
        self.timed_items
            .iter()
            .filter(|(_, (exp, _))| *exp <= now_ms)
            .map(|(k, _)| k.clone())
            .collect()
    }
}

/// The lifts asked for, by hold.
pub(super) type LiftRequests = BTreeMap<HoldKey, String>;
/// (list, item) -> (expiry in server time, who added it).
pub(super) type TimedItems = BTreeMap<(String, String), (i64, String)>;
