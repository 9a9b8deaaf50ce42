//! What several features of one event share, computed once per event.
//!
//! Most features of a type are keyed by the same few lists (`[event.service,
//! event.account]` keys a dozen) and gated by the same few filters
//! (`event.result == 'failure'`). A key or a filter reads only the event and
//! the lists (the feature step evaluates them with no feature values), so
//! the same source text gives the same answer for every feature of one
//! event: the pack's distinct key lists and filter texts are numbered once
//! ([`Shared`]), and each event evaluates each at most once ([`Memo`]), the
//! error included (every feature still reports it as its own).

use sekimori_rules::{Feature, Pack, Vars};
use std::collections::BTreeMap;

/// The pack's distinct key lists and filters, and which each feature uses.
#[derive(Debug, Default)]
pub(crate) struct Shared {
    /// `key_of[i]`: the number of feature `i`'s key list.
    key_of: Vec<usize>,
    /// `filter_of[i]`: the number of feature `i`'s filter, if it has one.
    filter_of: Vec<Option<usize>>,
    keys: usize,
    filters: usize,
}

impl Shared {
    pub fn new(pack: &Pack) -> Shared {
        let mut keys: BTreeMap<Vec<&str>, usize> = BTreeMap::new();
        let mut filters: BTreeMap<&str, usize> = BTreeMap::new();
        let mut shared = Shared::default();
        for f in &pack.features {
            let sources: Vec<&str> = f.key.iter().map(|k| k.source()).collect();
            let n = keys.len();
            shared.key_of.push(*keys.entry(sources).or_insert(n));
            shared.filter_of.push(f.filter.as_ref().map(|filter| {
                let n = filters.len();
                *filters.entry(filter.source()).or_insert(n)
            }));
        }
        shared.keys = keys.len();
        shared.filters = filters.len();
        shared
    }
}

type Key = Result<Option<u128>, String>;

/// One event's answers, by number (reused from event to event: cleared
/// when an event starts).
#[derive(Debug, Default)]
pub(crate) struct Memo {
    keys: Vec<Option<Key>>,
    filters: Vec<Option<Result<bool, String>>>,
}

impl Memo {
    /// Forgets the previous event's answers.
    pub fn start(&mut self, shared: &Shared) {
        self.keys.clear();
        self.keys.resize(shared.keys, None);
        self.filters.clear();
        self.filters.resize(shared.filters, None);
    }

    /// The hashed group-by key of feature `fi` (`f`), `None` when a part is
    /// null or missing: [`key_hash`] evaluated once per key list per event.
    pub fn key(&mut self, shared: &Shared, fi: usize, f: &Feature, vars: &Vars<'_>) -> Key {
        let Some(cell) = shared.key_of.get(fi).and_then(|&k| self.keys.get_mut(k)) else {
            return key_hash(f, vars);
        };
        cell.get_or_insert_with(|| key_hash(f, vars)).clone()
    }

    /// Whether feature `fi`'s filter lets this event in (`true` without a
    /// filter), evaluated once per filter text per event.
    pub fn filter(
        &mut self,
        shared: &Shared,
        fi: usize,
        f: &Feature,
        vars: &Vars<'_>,
    ) -> Result<bool, String> {
        let Some(filter) = &f.filter else {
            return Ok(true);
        };
        let cell = shared
            .filter_of
            .get(fi)
            .copied()
            .flatten()
            .and_then(|n| self.filters.get_mut(n));
        match cell {
            Some(cell) => cell.get_or_insert_with(|| filter.eval_bool(vars)).clone(),
            None => filter.eval_bool(vars),
        }
    }
}

/// The hashed group-by key, `None` when a part is null or missing.
pub(crate) fn key_hash(f: &Feature, vars: &Vars<'_>) -> Key {
    crate::view::key_hash_parts(f.key.iter().map(|k| k.eval_part(vars)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use sekimori_rules::EventRef;
    use serde_json::json;

    /// Every feature's memoised key and filter equal its own evaluation, on
    /// events of several types with and without the fields keys read (so
    /// a wrong numbering, which hands one feature another's answer, fails).
    #[test]
    fn memoised_answers_are_each_features_own() {
        let pack = sekimori_rules::compile(
            sekimori_rules::embedded::default_pack().expect("embedded pack"),
        )
        .expect("compiles");
        let shared = Shared::new(&pack);
        assert!(shared.keys < pack.features.len(), "keys are shared");
        assert!(shared.filters < pack.features.len(), "filters are shared");
        let fp = format!("k1:{}", "ab".repeat(32));
        let mut events = vec![
            json!({"id": "a", "type": "login.attempt", "at": "2026-06-24T00:00:00Z",
                   "service": "bank", "account": "acct-1", "factor": "password",
                   "result": "failure", "secret_fp": fp,
                   "actor": {"ip": "203.0.113.7", "device": "d1"}}),
            json!({"id": "b", "type": "login.attempt", "at": "2026-06-24T00:00:01Z",
                   "service": "bank", "account": "acct-2", "factor": "pin",
                   "result": "success", "actor": {"ip": "2001:db8::1"}}),
        ];
        for file in [
            include_str!("../../../../examples/events/accounts.jsonl"),
            include_str!("../../../../examples/events/money.jsonl"),
            include_str!("../../../../examples/events/custody.jsonl"),
        ] {
            events.extend(file.lines().map(|l| serde_json::from_str(l).expect("json")));
        }
        let mut memo = Memo::default();
        for doc in events {
            let event = sekimori_event::decode_value(doc).expect("valid event");
            let view = EventRef::new(&event);
            let vars = Vars::typed(&view, &[], &pack.features, &pack.list_values);
            memo.start(&shared);
            for (fi, f) in pack.features.iter().enumerate() {
                let own = f.filter.as_ref().map_or(Ok(true), |x| x.eval_bool(&vars));
                assert_eq!(
                    key_hash(f, &vars),
                    memo.key(&shared, fi, f, &vars),
                    "{}",
                    f.name
                );
                assert_eq!(own, memo.filter(&shared, fi, f, &vars), "{}", f.name);
            }
            // and again, answered from the memo
            for (fi, f) in pack.features.iter().enumerate().rev() {
                assert_eq!(
                    key_hash(f, &vars),
                    memo.key(&shared, fi, f, &vars),
                    "{}",
                    f.name
                );
            }
        }
    }
}
