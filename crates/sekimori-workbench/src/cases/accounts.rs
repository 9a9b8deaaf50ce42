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

use super::bytes::{ACCOUNT_BYTES, ATTR_BYTES, LINK_ACCOUNT_BYTES, LINK_BYTES, SEQ_BYTES};
use super::{Case, Index, MAX_LINKS};
use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};

/// The accounts the index keeps timelines and links for, unless set.
pub const DEFAULT_MAX_ACCOUNTS: usize = 1_000_000;

type Key = (String, String);

/// One account's bounded history.
#[derive(Debug, Default)]
struct Account {
    /// Seqs of its latest events, oldest first.
    timeline: VecDeque<u64>,
    /// `device:..`, `ip:..`, `secret:..`, `bank:..`, `address:..`.
    attrs: BTreeSet<String>,
    /// The seq of the first event of this entry.
    since: u64,
    /// Events dropped from the front of the timeline (its own bound).
    dropped: u64,
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
    /// Their accounted bytes now.
    pub(super) bytes: usize,
    by_key: HashMap<Key, Account>,
    /// The seq of each account's latest event -> the account: the coldest first.
    recency: BTreeMap<u64, Key>,
    /// (service, link) -> accounts seen with it (the first [`MAX_LINKS`]).
    pub(super) shared: HashMap<Key, BTreeSet<String>>,
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

    /// Evicts the coldest accounts while past the count or the bytes (the
    /// latest account stays, whatever its size: it is bounded on its own).
    fn evict_past_bounds(&mut self) {
        while self.by_key.len() > self.max || (self.bytes > self.max_bytes && self.by_key.len() > 1)
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
        let key = (service.to_string(), account.to_string());
        let entry = match self.by_key.get_mut(&key) {
            Some(a) => {
                if let Some(last) = a.timeline.back() {
                    self.recency.remove(last);
                }
                a
            }
            None => {
                self.bytes += ACCOUNT_BYTES + service.len() + account.len();
                self.by_key.entry(key.clone()).or_insert_with(|| Account {
                    since: seq,
                    ..Account::default()
                })
            }
        };
        if entry.timeline.len() >= super::TIMELINE_EVENTS {
            entry.timeline.pop_front();
            entry.dropped += 1;
        } else {
            self.bytes += SEQ_BYTES;
        }
        entry.timeline.push_back(seq);
        for attr in attrs {
            if entry.attrs.len() >= MAX_LINKS && !entry.attrs.contains(&attr) {
                continue;
            }
            if entry.attrs.insert(attr.clone()) {
                self.bytes += ATTR_BYTES + attr.len();
            }
            let link = (service.to_string(), attr);
            let link_len = link.0.len() + link.1.len();
            let others = self.shared.entry(link).or_insert_with(|| {
                self.bytes += LINK_BYTES + link_len;
                BTreeSet::new()
            });
            if others.len() < MAX_LINKS && others.insert(account.to_string()) {
                self.bytes += LINK_ACCOUNT_BYTES + account.len();
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
        self.bytes -= account_bytes(&key, &gone);
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
        let (service, account) = key;
        for attr in gone.attrs {
            let link = (service.clone(), attr);
            if let Some(others) = self.shared.get_mut(&link) {
                if others.remove(&account) {
                    self.bytes -= LINK_ACCOUNT_BYTES + account.len();
                }
                if others.is_empty() {
                    self.bytes -= LINK_BYTES + link.0.len() + link.1.len();
                    self.shared.remove(&link);
                }
            }
        }
        true
    }

    /// The accounted bytes counted again from every entry and link (tests
    /// check the running count against it).
    #[cfg(test)]
    pub(super) fn recount(&self) -> usize {
        let entries: usize = self.by_key.iter().map(|(k, a)| account_bytes(k, a)).sum();
        let links: usize = self
            .shared
            .iter()
            .map(|(link, others)| {
                LINK_BYTES
                    + link.0.len()
                    + link.1.len()
                    + others
                        .iter()
                        .map(|a| LINK_ACCOUNT_BYTES + a.len())
                        .sum::<usize>()
            })
            .sum();
        entries + links
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

    pub(super) fn attrs(&self, service: &str, account: &str) -> Option<&BTreeSet<String>> {
        self.by_key
            .get(&(service.to_string(), account.to_string()))
            .map(|a| &a.attrs)
    }
}

/// An entry's accounted bytes (its links' entries are counted apart).
fn account_bytes(key: &Key, a: &Account) -> usize {
    ACCOUNT_BYTES
        + key.0.len()
        + key.1.len()
        + a.timeline.len() * SEQ_BYTES
        + a.attrs.iter().map(|x| ATTR_BYTES + x.len()).sum::<usize>()
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
