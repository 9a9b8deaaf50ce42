//! What the durable log holds, in order: every accepted event with its
//! decision, and every operator action that changes how later events are
//! decided. Replaying the entries in order rebuilds the engine exactly.

use crate::decision::{Decision, HoldKey};
use crate::engine::Engine;
use sekimori_rules::{Action, Pack};
use serde::{Deserialize, Serialize};
use serde_json::Value as Json;
use std::collections::BTreeSet;
use std::sync::Arc;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "entry", rename_all = "snake_case")]
pub enum Entry {
    /// An accepted event (canonical JSON) and the decision returned for it.
    Event { event: Json, decision: Decision },
    /// A rule pack went live; with `memory_budget`, also the memory budget
    /// the engine decides under from here on (`0`: unbounded). A server
    /// that starts with another budget than its engine holds logs the live
    /// pack again with the new budget: pack and budget together are the
    /// decision configuration, and a replay applies both at the same point.
    /// Absent (older logs, or unchanged): the budget stays as it was.
    Pack {
        name: String,
        version: String,
        digest: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        memory_budget: Option<u64>,
    },
    /// The API-managed items of a list were replaced.
    List {
        name: String,
        items: Vec<String>,
        by: String,
    },
    /// An operator placed a freeze or halt through the API (a kill switch).
    /// `at` is the request's wall-clock time (RFC 3339), read from here on
    /// replay, never from a clock.
    Place {
        hold: HoldKey,
        action: Action,
        by: String,
        reason: String,
        at: String,
    },
    /// An operator lifted a freeze or halt.
    Lift {
        hold: HoldKey,
        by: String,
        reason: String,
    },
    /// An analyst's action in the workbench (`sekimori-workbench`): who
    /// (`by`, the analyst's login), when (`at`, the server's wall clock,
    /// RFC 3339), what (`act`, the workbench's own typed action: a claim, a
    /// note, an approval or decline of a held event, a case closed...) and
    /// why. The engine keeps no state from it: replay skips it. An analyst's
    /// change of decision state (a hold lifted, a list edited) is logged as
    /// its own `Place` / `Lift` / `List` entry beside this one.
    Analyst {
        by: String,
        at: String,
        act: Json,
        #[serde(default, skip_serializing_if = "String::is_empty")]
        why: String,
    },
    /// A label on one event of `service`: an analyst's disposition
    /// (`confirmed_fraud`, `false_positive`, `legitimate`,
    /// `unable_to_verify`) or what the service learnt later
    /// (`chargeback`, `dispute`, `customer_confirmed`, `customer_denied`).
    /// `by` is the analyst or the API key's name, `at` the server's wall
    /// clock (RFC 3339). Feedback for rule quality and backtests; the engine
    /// keeps no state from it.
    Label {
        service: String,
        event_id: String,
        label: String,
        by: String,
        at: String,
        #[serde(default, skip_serializing_if = "String::is_empty")]
        note: String,
    },
    /// Step-up records written (issue 15: replicated with the log): each
    /// `(key, record)` is a record of the server's step-up table as the
    /// store keeps it (JSON: seeds and device keys sealed, codes hashed,
    /// challenge ids, deadlines, failure counts; never a secret in the
    /// clear), `None` deleting it. `what` says which change it was
    /// (`issued`, `passed`, `failed`, `enrolled`...). Every node applies the
    /// writes to its own table in log order, so a challenge issued by one
    /// leader is verified, once, by the next. The engine keeps no state from it.
    #[serde(rename = "stepup")]
    StepUp {
        what: String,
        writes: Vec<(String, Option<String>)>,
    },
}

impl Entry {
    pub fn to_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<Entry, String> {
        serde_json::from_slice(bytes).map_err(|e| format!("log entry does not decode: {e}"))
    }
}

impl Engine {
    /// Re-applies one log entry. A pack entry is resolved through `load_pack`.
    /// For an event, the decision is recomputed; a difference from the logged
    /// one is returned as an error (it would mean non-determinism).
    pub fn replay_entry(
        &mut self,
        entry: &Entry,
        load_pack: &mut dyn FnMut(&str) -> Result<Arc<Pack>, String>,
    ) -> Result<(), String> {
        match entry {
            Entry::Event { event, decision } => {
                let e = sekimori_event::decode_value(event.clone()).map_err(|e| e.to_string())?;
                let again = self.decide(&e);
                if &again != decision {
                    return Err(format!("event {} decided differently on replay", e.id));
                }
            }
            Entry::Pack {
                version,
                digest,
                memory_budget,
                ..
            } => {
                let pack = load_pack(version)?;
                let stored = pack.digest.clone();
                self.set_pack(pack);
                if let Some(bytes) = memory_budget {
                    self.set_memory_budget((*bytes > 0).then_some(*bytes));
                }
                if stored != *digest {
                    return Err(format!(
                        "pack {version} is stored with digest {stored}, but {digest} went live"
                    ));
                }
            }
            Entry::List { name, items, .. } => {
                let items: BTreeSet<String> = items.iter().cloned().collect();
                self.set_list(name, items)?;
            }
            Entry::Place {
                hold,
                action,
                by,
                reason,
                at,
            } => {
                let at_ms = sekimori_event::parse_rfc3339_ms(at)
                    .ok_or_else(|| format!("hold placement time `{at}` is not RFC 3339"))?;
                // Placed only when no hold was in force when it was logged;
                // the same holds are in force on replay.
                self.place_hold(hold.clone(), *action, by, reason, at_ms)?;
            }
            Entry::Lift { hold, .. } => {
                self.lift_hold(hold);
            }
            // Audit and feedback only: no decision state.
            Entry::Analyst { .. } | Entry::Label { .. } | Entry::StepUp { .. } => {}
        }
        Ok(())
    }
}
