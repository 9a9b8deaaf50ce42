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

/// One event's answers, by number, each stamped with the event's
/// generation (reused from event to event: an answer of an earlier
/// generation is not an answer).
#[derive(Debug, Default)]
pub(crate) struct Memo {
    generation: u32,
    keys: Vec<(u32, Key)>,
    filters: Vec<(u32, Result<bool, String>)>,
}

impl Memo {
    /// Forgets the previous event's answers (a new generation).
    pub fn start(&mut self, shared: &Shared) {
        self.generation = self.generation.wrapping_add(1);
        if self.generation == 0
            || self.keys.len() != shared.keys
            || self.filters.len() != shared.filters
        {
            self.generation = 1;
            self.keys.clear();
            self.keys.resize(shared.keys, (0, Ok(None)));
            self.filters.clear();
            self.filters.resize(shared.filters, (0, Ok(false)));
        }
    }

    /// The hashed group-by key of feature `fi` (`f`), `None` when a part is
    /// null or missing: [`key_hash`] evaluated once per key list per event.
    pub fn key(&mut self, shared: &Shared, fi: usize, f: &Feature, vars: &Vars<'_>) -> Key {
        let Some(cell) = shared.key_of.get(fi).and_then(|&k| self.keys.get_mut(k)) else {
            return key_hash(f, vars);
        };
        if cell.0 != self.generation {
            *cell = (self.generation, key_hash(f, vars));
        }
        cell.1.clone()
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
        let Some(cell) = cell else {
            return filter.eval_bool(vars);
        };
        if cell.0 != self.generation {
            *cell = (self.generation, filter.eval_bool(vars));
        }
        cell.1.clone()
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

    /// A new event forgets the last one's answers, also when the
    /// generation counter wraps.
    #[test]
    fn a_new_event_forgets_the_last_ones_answers() {
        let pack = sekimori_rules::compile(
            sekimori_rules::embedded::default_pack().expect("embedded pack"),
        )
        .expect("compiles");
        let shared = Shared::new(&pack);
        let login = |account: &str| {
            sekimori_event::decode_value(json!({"id": "a", "type": "login.attempt",
                "at": "2026-06-24T00:00:00Z", "service": "bank", "account": account,
                "factor": "pin", "result": "failure"}))
            .expect("valid event")
        };
        let (one, two) = (login("acct-1"), login("acct-2"));
        let fi = pack
            .features
            .iter()
            .position(|f| {
                f.key.iter().any(|k| k.source() == "event.account")
                    && f.key
                        .iter()
                        .all(|k| ["event.service", "event.account"].contains(&k.source()))
            })
            .expect("a feature keyed by account");
        let f = &pack.features[fi];
        let mut memo = Memo::default();
        for generation in [0, u32::MAX - 1] {
            memo.start(&shared);
            memo.generation = generation;
            for event in [&one, &two, &one] {
                let view = EventRef::new(event);
                let vars = Vars::typed(&view, &[], &pack.features, &pack.list_values);
                memo.start(&shared);
                assert_ne!(memo.generation, 0);
                let want = key_hash(f, &vars);
                assert!(matches!(want, Ok(Some(_))));
                assert_eq!(memo.key(&shared, fi, f, &vars), want);
            }
        }
    }
}
