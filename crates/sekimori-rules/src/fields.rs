//! Which `event.*` fields exist, per event type, read from the published JSON
//! Schema so a rule cannot name a field the vocabulary does not have.

use sekimori_event::{json_schema, EventKind};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

/// Fields the engine adds to every event's view: `at_ms` (event time in ms).
pub const DERIVED_TOP: &[&str] = &["at_ms"];
/// Fields the engine adds to `actor`: `ip_net` (the /24 of an IPv4 or /48 of
/// an IPv6 address) and `ip_host` (an IPv4 address, or the /64 of an IPv6 one).
pub const DERIVED_ACTOR: &[&str] = &["ip_net", "ip_host"];
/// Fields the engine adds to `destination` and `source`: `id`, one canonical
/// string per counterparty (`bank:0005-123-4567890`, `crypto:<address>`,
/// `atm:<id>`, `account:<id>`), to key features on.
pub const DERIVED_COUNTERPARTY: &[&str] = &["id"];

/// What may follow a top-level field: anything (`attrs`), or named fields
/// (none for a scalar such as `account`).
#[derive(Clone, Debug)]
enum Sub {
    Any,
    Fields(BTreeSet<String>),
}

pub(crate) struct KnownFields {
    top: BTreeMap<String, BTreeSet<String>>,
    sub: BTreeMap<String, Sub>,
}

impl KnownFields {
    pub(crate) fn new() -> Self {
        let schema = json_schema();
        let defs = &schema["$defs"];
        let mut top = BTreeMap::new();
        let mut sub: BTreeMap<String, Sub> = BTreeMap::new();
        for variant in schema["oneOf"].as_array().into_iter().flatten() {
            let kind = variant["title"].as_str().unwrap_or_default().to_string();
            let props = variant["properties"]
                .as_object()
                .cloned()
                .unwrap_or_default();
            for (name, prop) in &props {
                let next = fields_of(prop, defs);
                let merged = match (sub.remove(name), next) {
                    (Some(Sub::Any), _) | (_, Sub::Any) => Sub::Any,
                    (Some(Sub::Fields(a)), Sub::Fields(b)) => {
                        Sub::Fields(a.union(&b).cloned().collect())
                    }
                    (None, n) => n,
                };
                sub.insert(name.clone(), merged);
            }
            let mut names: BTreeSet<String> = props.keys().cloned().collect();
            names.extend(DERIVED_TOP.iter().map(|s| s.to_string()));
            top.insert(kind, names);
        }
        if let Some(Sub::Fields(actor)) = sub.get_mut("actor") {
            actor.extend(DERIVED_ACTOR.iter().map(|s| s.to_string()));
        }
        for party in ["destination", "source"] {
            if let Some(Sub::Fields(f)) = sub.get_mut(party) {
                f.extend(DERIVED_COUNTERPARTY.iter().map(|s| s.to_string()));
            }
        }
        sub.insert("attrs".into(), Sub::Any);
        KnownFields { top, sub }
    }

    /// Checks `event.<path>` against the types in `kinds`: the first field must
    /// exist in at least one of them, and the second must exist in that field.
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
        let Some(second) = path.get(1) else {
            return Ok(());
        };
        match self.sub.get(first) {
            Some(Sub::Any) => Ok(()),
            Some(Sub::Fields(f)) if f.contains(second) => Ok(()),
            Some(Sub::Fields(f)) if f.is_empty() => Err(format!("`event.{first}` has no fields")),
            _ => Err(format!("unknown field `event.{first}.{second}`")),
        }
    }
}

/// The named fields a property schema allows beneath it (following `$ref`,
/// `oneOf`, `anyOf`); `Any` for an object without declared properties.
fn fields_of(prop: &Value, defs: &Value) -> Sub {
    let resolved = match prop["$ref"]
        .as_str()
        .and_then(|r| r.strip_prefix("#/$defs/"))
    {
        Some(name) => &defs[name],
        None => prop,
    };
    let mut out = BTreeSet::new();
    if let Some(p) = resolved["properties"].as_object() {
        out.extend(p.keys().cloned());
    } else if resolved["type"] == "object" {
        return Sub::Any;
    }
    for alt in ["oneOf", "anyOf"] {
        for variant in resolved[alt].as_array().into_iter().flatten() {
            match fields_of(variant, defs) {
                Sub::Any => return Sub::Any,
                Sub::Fields(f) => out.extend(f),
            }
        }
    }
    Sub::Fields(out)
}
