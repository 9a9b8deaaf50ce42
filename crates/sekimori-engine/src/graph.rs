//! `aggregate: graph` features: the transfer graph of `sekimori-window`
//! (`FeatureStore::apply_edge`), fed with the event's two ends and amount.
//! A reading is an object (`features.g.cycle`, `features.g.fan_out`, ...).

use crate::view::key_hash_of;
use sekimori_rules::{Feature, Vars};
use sekimori_window::{FeatureStore, GraphRead};
use serde_json::Value as Json;

/// Applies the event's edge (when the filter lets it through and both ends
/// have a key) and returns the readings; an event without an edge reads
/// its sending node.
pub(crate) fn apply(
    f: &Feature,
    store: &mut FeatureStore,
    vars: &Vars<'_>,
    view: &Json,
    at_ms: i64,
    now_ms: i64,
) -> Result<Json, String> {
    let Some(source) = key_hash_of(f.key.iter().map(|k| k.eval_cow(vars)))? else {
        return Ok(reading(Some(GraphRead::default())));
    };
    let passes = match &f.filter {
        Some(filter) => filter.eval_bool(vars)?,
        None => true,
    };
    let destination = match (&f.of, passes) {
        (Some(of), true) => counterparty(&of.eval(vars)?)?,
        _ => None,
    };
    let read = match destination {
        Some(d) => {
            let amount = view.get("amount_minor").and_then(Json::as_i64).unwrap_or(0);
            store.apply_edge(source, d, amount, at_ms, now_ms)
        }
        None => store.read_node(source, now_ms),
    };
    Ok(reading(read))
}

/// The readings of the sending node without an edge (an event type the
/// feature does not update).
pub(crate) fn read(f: &Feature, store: &FeatureStore, vars: &Vars<'_>, now_ms: i64) -> Json {
    match key_hash_of(f.key.iter().map(|k| k.eval_cow(vars))) {
        Ok(Some(k)) => reading(store.read_node(k, now_ms)),
        _ => reading(Some(GraphRead::default())),
    }
}

/// The counterparty's key from `of`, a list of key parts hashed exactly as
/// `key` is (so a node sending and the same node receiving meet); `None`
/// when a part is null.
fn counterparty(v: &Json) -> Result<Option<u128>, String> {
    match v {
        Json::Array(parts) => key_hash_of(parts.iter().map(|p| Ok(std::borrow::Cow::Borrowed(p)))),
        Json::Null => Ok(None),
        _ => Err("`of` of a graph must be a list of the counterparty's key parts".into()),
    }
}

fn reading(read: Option<GraphRead>) -> Json {
    serde_json::to_value(read.unwrap_or_default()).unwrap_or(Json::Null)
}
