//! Which `event.*` fields exist, per event type, read from the published JSON
//! Schema so a rule cannot name a field the vocabulary does not have.

use sekimori_event::{json_schema, EventKind};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

/// Fields the engine adds to every event's view: `at_ms` (event time in ms).
pub const DERIVED_TOP: &[&str] = &["at_ms"];
/// Fields the engine adds to `actor`: `ip_net` (the /24 of an IPv4 or /48 of an IPv6 address).
pub const DERIVED_ACTOR: &[&str] = &["ip_net"];

pub(crate) struct KnownFields {
    top: BTreeMap<String, BTreeSet<String>>,
    actor: BTreeSet<String>,
}

impl KnownFields {
    pub(crate) fn new() -> Self {
        let schema = json_schema();
        let mut top = BTreeMap::new();
        for variant in schema["oneOf"].as_array().into_iter().flatten() {
            let kind = variant["title"].as_str().unwrap_or_default().to_string();
            let mut names: BTreeSet<String> = keys(&variant["properties"]);
            names.extend(DERIVED_TOP.iter().map(|s| s.to_string()));
            top.insert(kind, names);
        }
        let mut actor = keys(&schema["$defs"]["Actor"]["properties"]);
        actor.extend(DERIVED_ACTOR.iter().map(|s| s.to_string()));
        KnownFields { top, actor }
    }

    /// Checks `event.<path>` against the types in `kinds`: the first field must
    /// exist in at least one of them; fields of `actor` are checked too.
    pub(crate) fn check(&self, kinds: &BTreeSet<EventKind>, path: &[String]) -> Result<(), String> {
        let Some(first) = path.first() else {
            return Ok(());
        };
        let exists = kinds
            .iter()
            .any(|k| self.top.get(k.as_str()).is_some_and(|f| f.contains(first)));
        if !exists {
            let names: Vec<&str> = kinds.iter().map(|k| k.as_str()).collect();
            return Err(format!(
                "unknown field `event.{first}` (not in {})",
                names.join(", ")
            ));
        }
        match (first.as_str(), path.get(1)) {
            ("actor", Some(f)) if !self.actor.contains(f) => {
                Err(format!("unknown field `event.actor.{f}`"))
            }
            _ => Ok(()),
        }
    }
}

fn keys(v: &Value) -> BTreeSet<String> {
    v.as_object()
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default()
}
