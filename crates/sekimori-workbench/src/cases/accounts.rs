//! What the index keeps per account: its timeline (the seqs of its latest
//! events) and its links (the devices, addresses, secrets and destinations
//! it used), and per link the accounts seen with it.
//!
//! Each entry is bounded ([`super::TIMELINE_EVENTS`] seqs, [`MAX_LINKS`]
//! links, [`MAX_LINKS`] accounts per link), and so is their number: at most
//! `max` accounts ([`DEFAULT_MAX_ACCOUNTS`] unless set). Past it the
//! coldest account (the one whose latest event is the oldest in log order)
//! goes, with its timeline and its place in every link; `evicted` counts
//! them. An attacker minting millions of accounts therefore evicts its own
//! single-use accounts first, and memory stays within the bound. Nothing is
//! lost for good: the log holds every event, and a restart rebuilds the
//! index from it (with the same evictions: they depend on the log alone).
//!
//! Their bytes are bounded too ([`super::bytes`]): the entries' accounted
//! bytes (timelines, links, each link's accounts, from lengths only) stay
//! within an allowance, the index's byte budget less what its labels take;
//! past it the coldest accounts go in the same order. A few accounts with
//! long timelines and many long links cannot grow memory past what the
//! operator set, however few they are.
//!
//! An account that comes back after its eviction starts a new entry; the
//! entry keeps the seq it started at (`since`), so a case page can say
//! that the account's history before it was evicted.

use super::bytes::{heap, string, table, ARC_KEY_BYTES, RECENCY_BYTES};
use super::{Case, Index, MAX_LINKS};
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Arc;

/// The accounts the index keeps timelines and links for, unless set.
pub const DEFAULT_MAX_ACCOUNTS: usize = 1_000_000;

/// (service, account), held once: the map's key and the recency order's
/// value are the same allocation.
type Key = Arc<(String, String)>;

/// One account's bounded history.
#[derive(Debug, Default)]
struct Account {
    /// Seqs of its latest events, oldest first.
    timeline: VecDeque<u64>,
    /// `device:..`, `ip:..`, `secret:..`, `bank:..`, `address:..`, sorted
    /// (a small sorted vector: a tree's first node alone is ~290 bytes).
    attrs: Vec<String>,
    /// The seq of the first event of this entry.
    since: u64,
    /// Events dropped from the front of the timeline (its own bound).
    dropped: u64,
}

impl Account {
    /// Its heap bytes apart from the key: the timeline's and the links'
    /// allocations by capacity, each link's text.
    fn heap_bytes(&self) -> usize {
        heap(self.timeline.capacity() * size_of::<u64>())
            + heap(self.attrs.capacity() * size_of::<String>())
            + self.attrs.iter().map(|a| string(a)).sum::<usize>()
    }
}

/// Inserts `v` into the sorted `list`; `true` when it was not there.
fn insert_sorted(list: &mut Vec<String>, v: &str) -> bool {
    match list.binary_search_by(|x| x.as_str().cmp(v)) {
        Ok(_) => false,
        Err(at) => {
            list.insert(at, v.to_string());
            true
        }
    }
}

/// An account's timeline as the index holds it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct History {
    /// Seqs, oldest first.
    pub seqs: Vec<u64>,
    /// The seq the entry started at: earlier events of the account are not
    /// in the index (the entry was evicted and started again), `None`: no
    /// entry (never seen, or evicted since).
    pub since: Option<u64>,
    /// Older events dropped by the timeline's own bound.
    pub dropped: u64,
}

/// Every account's bounded history, and the coldest-first order.
#[derive(Debug)]
pub(super) struct Accounts {
    max: usize,
    /// The most accounted bytes the entries and links may take.
    max_bytes: usize,
    /// The entries' and links' accounted bytes now, apart from the two
    /// hash tables' (counted from their capacity: [`Accounts::accounted`]).
    bytes: usize,
    by_key: HashMap<Key, Account>,
    /// The seq of each account's latest event -> the account: the coldest first.
    recency: BTreeMap<u64, Key>,
    /// (service, link) -> accounts seen with it (the first [`MAX_LINKS`]), sorted.
    pub(super) shared: HashMap<(String, String), Vec<String>>,
    /// Accounts evicted to stay within `max`.
    pub(super) evicted: u64,
}

impl Accounts {
    pub(super) fn new(max: usize) -> Accounts {
        Accounts {
            max: max.max(1),
            max_bytes: usize::MAX,
            bytes: 0,
            by_key: HashMap::new(),
            recency: BTreeMap::new(),
            shared: HashMap::new(),
            evicted: 0,
        }
    }

    pub(super) fn max(&self) -> usize {
        self.max
    }

    pub(super) fn set_max(&mut self, max: usize) {
        self.max = max.max(1);
        self.evict_past_bounds();
    }

    /// Sets the bytes the entries and links may take, and evicts down to it.
    pub(super) fn set_max_bytes(&mut self, max_bytes: usize) {
        self.max_bytes = max_bytes;
        self.evict_past_bounds();
    }

    pub(super) fn max_bytes(&self) -> usize {
        self.max_bytes
    }

    /// The accounted bytes: the entries and links, and the two hash
    /// tables by their capacity (a table holds its slots whether full or
    /// not; it grows by doubling and does not shrink).
    pub(super) fn accounted(&self) -> usize {
        self.bytes
            + table::<Key, Account>(self.by_key.capacity())
            + table::<(String, String), Vec<String>>(self.shared.capacity())
    }

    /// Evicts the coldest accounts while past the count or the bytes (the
    /// latest account stays, whatever its size: it is bounded on its own).
    fn evict_past_bounds(&mut self) {
        while self.by_key.len() > self.max
            || (self.accounted() > self.max_bytes && self.by_key.len() > 1)
        {
            if !self.evict_coldest() {
                break;
            }
        }
    }

    pub(super) fn len(&self) -> usize {
        self.by_key.len()
    }

    /// The event at `seq` of `account`, with the links it carries.
    pub(super) fn record(&mut self, seq: u64, service: &str, account: &str, attrs: Vec<String>) {
        let probe = (service.to_string(), account.to_string());
        let key = match self.by_key.get_key_value(&probe) {
            Some((k, _)) => k.clone(),
            None => {
                let key = Arc::new(probe);
                self.bytes += ARC_KEY_BYTES + string(service) + string(account) + RECENCY_BYTES;
                self.by_key.insert(
                    key.clone(),
                    Account {
                        since: seq,
                        ..Account::default()
                    },
                );
                key
            }
        };
        let Some(entry) = self.by_key.get_mut(&key) else {
            return;
        };
        if let Some(last) = entry.timeline.back() {
            self.recency.remove(last);
        }
        let before = entry.heap_bytes();
        if entry.timeline.len() >= super::TIMELINE_EVENTS {
            entry.timeline.pop_front();
            entry.dropped += 1;
        }
        entry.timeline.push_back(seq);
        let mut links = Vec::new();
        for attr in attrs {
            if entry.attrs.len() >= MAX_LINKS && entry.attrs.binary_search(&attr).is_err() {
                continue;
            }
            insert_sorted(&mut entry.attrs, &attr);
            links.push(attr);
        }
        self.bytes += entry.heap_bytes() - before;
        for attr in links {
            let link = (service.to_string(), attr);
            let others = match self.shared.get_mut(&link) {
                Some(o) => o,
                None => {
                    self.bytes += string(&link.0) + string(&link.1);
                    self.shared.entry(link).or_default()
                }
            };
            if others.len() < MAX_LINKS {
                let cap = others.capacity();
                if insert_sorted(others, account) {
                    self.bytes += string(account) + heap(others.capacity() * size_of::<String>())
                        - heap(cap * size_of::<String>());
                }
            }
        }
        self.recency.insert(seq, key);
        self.evict_past_bounds();
    }

    /// Drops the account whose latest event is the oldest, and its links;
    /// `false` when there is none.
    fn evict_coldest(&mut self) -> bool {
        let Some((_, key)) = self.recency.pop_first() else {
            return false;
        };
        let Some(gone) = self.by_key.remove(&key) else {
            return true;
        };
        self.bytes -= ARC_KEY_BYTES + string(&key.0) + string(&key.1) + RECENCY_BYTES;
        self.bytes -= gone.heap_bytes();
        self.evicted += 1;
        metrics::counter!("sekimori_workbench_index_dropped_total", "what" => "account")
            .increment(1);
        if self.evicted % 10_000 == 1 {
            tracing::warn!(
                bound = self.max,
                evicted = self.evicted,
                "case index: the coldest accounts' timelines and links are evicted (the log keeps them)"
            );
        }
        let (service, account) = &*key;
        for attr in gone.attrs {
            let link = (service.clone(), attr);
            if let Some(others) = self.shared.get_mut(&link) {
                let cap = others.capacity();
                if let Ok(at) = others.binary_search_by(|x| x.as_str().cmp(account)) {
                    others.remove(at);
                    self.bytes -= string(account);
                }
                if others.is_empty() {
                    self.bytes -=
                        heap(cap * size_of::<String>()) + string(&link.0) + string(&link.1);
                    self.shared.remove(&link);
                }
            }
        }
        true
    }

    /// The accounted bytes counted again from every container the index
    /// holds: each entry with its key, each key in the recency order (a
    /// key there that is not the entry's own allocation is counted again:
    /// a second copy of the key is memory too), each link with its
    /// accounts, and the tables. Tests check the running count against it.
    #[cfg(test)]
    pub(super) fn recount(&self) -> usize {
        let key_bytes = |k: &Key| ARC_KEY_BYTES + string(&k.0) + string(&k.1);
        let entries: usize = self
            .by_key
            .iter()
            .map(|(k, a)| key_bytes(k) + a.heap_bytes())
            .sum();
        let recency: usize = self
            .recency
            .values()
            .map(|k| {
                let own = self
                    .by_key
                    .get_key_value(&**k)
                    .is_some_and(|(held, _)| Arc::ptr_eq(held, k));
                RECENCY_BYTES + if own { 0 } else { key_bytes(k) }
            })
            .sum();
        let links: usize = self
            .shared
            .iter()
            .map(|(link, others)| {
                string(&link.0)
                    + string(&link.1)
                    + heap(others.capacity() * size_of::<String>())
                    + others.iter().map(|a| string(a)).sum::<usize>()
            })
            .sum();
        entries
            + recency
            + links
            + table::<Key, Account>(self.by_key.capacity())
            + table::<(String, String), Vec<String>>(self.shared.capacity())
    }

    /// Puts a copy of the latest account's key in the recency order in
    /// place of the shared one (what the index once did: tests check that
    /// the recount catches it).
    #[cfg(test)]
    pub(super) fn duplicate_a_key_for_test(&mut self) {
        if let Some(mut last) = self.recency.last_entry() {
            let copy = Arc::new((**last.get()).clone());
            last.insert(copy);
        }
    }

    pub(super) fn history(&self, service: &str, account: &str) -> History {
        match self.by_key.get(&(service.to_string(), account.to_string())) {
            Some(a) => History {
                seqs: a.timeline.iter().copied().collect(),
                since: Some(a.since),
                dropped: a.dropped,
            },
            None => History::default(),
        }
    }

    pub(super) fn attrs(&self, service: &str, account: &str) -> Option<&[String]> {
        self.by_key
            .get(&(service.to_string(), account.to_string()))
            .map(|a| a.attrs.as_slice())
    }
}

impl Index {
    /// The account's timeline with what the index no longer holds of it.
    pub fn history(&self, service: &str, account: &str) -> History {
        self.accounts.history(service, account)
    }

    /// Whether the index dropped history of case `c`'s account: the
    /// account's entry was evicted (none now), or started again after the
    /// case opened. The log still holds every event.
    pub fn history_evicted(&self, c: &Case) -> bool {
        c.entity_is_account
            && self
                .accounts
                .history(&c.service, &c.entity)
                .since
                .is_none_or(|since| since > c.id)
    }

    /// Keeps timelines and links for at most `max` accounts (the coldest
    /// go first; see [`accounts`]).
    pub fn with_max_accounts(mut self, max: usize) -> Index {
        self.accounts.set_max(max);
        self
    }

    /// The accounts with a timeline, their bound, and how many were evicted.
    pub fn account_stats(&self) -> (usize, usize, u64) {
        (
            self.accounts.len(),
            self.accounts.max(),
            self.accounts.evicted,
        )
    }

    /// (service, link) entries of the linked-accounts map.
    pub fn link_count(&self) -> usize {
        self.accounts.shared.len()
    }
}
