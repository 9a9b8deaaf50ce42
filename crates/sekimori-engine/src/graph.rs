//! `aggregate: graph` features: the transfer graph of `sekimori-window`
//! (`FeatureStore::apply_edge`), fed with the event's two ends and amount.
//! A reading is an object (`features.g.cycle`, `features.g.fan_out`, ...).

use crate::view::key_hash_parts;
use sekimori_event::{Body, Event};
use sekimori_rules::{Feature, Part, Vars};
use sekimori_window::{FeatureStore, GraphRead};
use serde_json::Value as Json;

/// Applies the event's edge (when the filter lets it through and both ends
/// have a key) and returns the readings; an event without an edge reads
/// its sending node.
pub(crate) fn apply(
    f: &Feature,
    store: &mut FeatureStore,
    vars: &Vars<'_>,
    event: &Event,
    at_ms: i64,
    now_ms: i64,
) -> Result<Json, String> {
    let Some(source) = key_hash_parts(f.key.iter().map(|k| k.eval_part(vars)))? else {
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
            let amount = amount_minor(event).unwrap_or(0);
            store.apply_edge(source, d, amount, at_ms, now_ms)
        }
        None => store.read_node(source, now_ms),
    };
    Ok(reading(read))
}

/// The readings of the sending node without an edge (an event type the
/// feature does not update).
pub(crate) fn read(f: &Feature, store: &FeatureStore, vars: &Vars<'_>, now_ms: i64) -> Json {
    match key_hash_parts(f.key.iter().map(|k| k.eval_part(vars))) {
        Ok(Some(k)) => reading(store.read_node(k, now_ms)),
        _ => reading(Some(GraphRead::default())),
    }
}

/// The counterparty's key from `of`, a list of key parts hashed exactly as
/// `key` is (so a node sending and the same node receiving meet); `None`
/// when a part is null.
fn counterparty(v: &Json) -> Result<Option<u128>, String> {
    match v {
        Json::Array(parts) => key_hash_parts(parts.iter().map(|p| Ok(Part::of_json(p)))),
        Json::Null => Ok(None),
        _ => Err("`of` of a graph must be a list of the counterparty's key parts".into()),
    }
}

/// The event's `amount_minor`, for the types that have one.
fn amount_minor(event: &Event) -> Option<i64> {
    Some(match &event.body {
        Body::Charge(b) => b.amount_minor,
        Body::Transfer(b) => b.amount_minor,
        Body::Purchase(b) => b.amount_minor,
        Body::Withdrawal(b) => b.amount_minor,
        Body::WalletOutflow(b) => b.amount_minor,
        Body::WithdrawalRequest(b) => b.amount_minor,
        _ => return None,
    })
}

fn reading(read: Option<GraphRead>) -> Json {
    serde_json::to_value(read.unwrap_or_default()).unwrap_or(Json::Null)
}
