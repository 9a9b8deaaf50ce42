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
//! An account that comes back after its eviction starts a new entry; the
//! entry keeps the seq it started at (`since`), so a case page can say
//! that the account's history before it was evicted.

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
        while self.by_key.len() > self.max {
            self.evict_coldest();
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
            None => self.by_key.entry(key.clone()).or_insert_with(|| Account {
                since: seq,
                ..Account::default()
            }),
        };
        if entry.timeline.len() >= super::TIMELINE_EVENTS {
            entry.timeline.pop_front();
            entry.dropped += 1;
        }
        entry.timeline.push_back(seq);
        for attr in attrs {
            if entry.attrs.len() >= MAX_LINKS && !entry.attrs.contains(&attr) {
                continue;
            }
            entry.attrs.insert(attr.clone());
            let others = self.shared.entry((service.to_string(), attr)).or_default();
            if others.len() < MAX_LINKS {
                others.insert(account.to_string());
            }
        }
        self.recency.insert(seq, key);
        while self.by_key.len() > self.max {
            self.evict_coldest();
        }
    }

    /// Drops the account whose latest event is the oldest, and its links.
    fn evict_coldest(&mut self) {
        let Some((_, key)) = self.recency.pop_first() else {
            return;
        };
        let Some(gone) = self.by_key.remove(&key) else {
            return;
        };
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
                others.remove(&account);
                if others.is_empty() {
                    self.shared.remove(&link);
                }
            }
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

    pub(super) fn attrs(&self, service: &str, account: &str) -> Option<&BTreeSet<String>> {
        self.by_key
            .get(&(service.to_string(), account.to_string()))
            .map(|a| &a.attrs)
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
