//! The case index's byte budget ([`Index::with_max_bytes`],
//! [`DEFAULT_MAX_INDEX_BYTES`] unless set). The account bound
//! ([`super::DEFAULT_MAX_ACCOUNTS`]) counts accounts; an attacker's
//! accounts with long timelines or many long links would still grow
//! memory far past it. So the index also accounts the bytes of what it
//! keeps per account and per label, as allocations: every string and
//! vector by its capacity rounded as a heap allocator rounds it
//! ([`heap`]), each hash table by its capacity ([`table`]), each tree
//! entry at a node's share ([`RECENCY_BYTES`]). The count depends on the
//! log alone (and the target's type sizes), so a replay gives the same
//! count; a test recounts it from every container the index holds.
//!
//! - per account: its key, held once ([`ARC_KEY_BYTES`] plus the service
//!   and id), its place in the recency order, its timeline (by capacity)
//!   and its sorted links (by capacity, plus each link's text);
//! - per link (a device, address, secret or destination of a service):
//!   its key's two strings, its sorted accounts (by capacity, plus each id);
//! - per labelled event: its key's two strings, its place in its service's
//!   label order (the id again), its labels (by capacity, plus each
//!   label's and author's text); and the labels' table.
//!
//! Labels may take at most a [`LABELS_SHARE`]th of the budget, shared
//! fairly between the services that label: when a label does not fit, a
//! service past its fair share (the labels' bytes over the services with
//! labels) loses its own oldest labelled events, any other service's label
//! takes the place of the oldest labelled events of the service holding
//! the most. One API key flooding labels therefore evicts its own labels,
//! never another service's within its share. Labels evicted or too big to
//! keep are counted in `labels_dropped` and the metric
//! `sekimori_workbench_index_dropped_total{what="label"}`; the log keeps
//! them and the backtest reads them there. The accounts take the rest:
//! past it the coldest accounts are evicted, as past the account bound.
//! The bench (`benches/support/accounts_memory.rs`) measures the resident
//! bytes against the accounted ones.

use super::Index;
use std::collections::{BTreeMap, HashMap};

/// The accounted bytes the index keeps for timelines, links and labels,
/// unless set: 1 GiB.
pub const DEFAULT_MAX_INDEX_BYTES: usize = 1 << 30;
/// The smallest budget (a smaller one is raised to it).
pub const MIN_INDEX_BYTES: usize = 64 * 1024;
/// Labels may take at most 1/`LABELS_SHARE` of the budget.
pub const LABELS_SHARE: usize = 4;

/// An account's key allocation: an `Arc`'s two counts and two string
/// headers, rounded.
pub const ARC_KEY_BYTES: usize = heap(16 + 2 * size_of::<String>());
/// One entry of a B-tree of `u64` to a pointer-sized or string value: a
/// node of 11 entries (~200 to ~460 bytes) at least 5 full, and its share
/// of the inner nodes.
pub const RECENCY_BYTES: usize = 48;
/// One entry of a service's label order (its event id counted apart).
pub const ORDER_BYTES: usize = 64;

/// The bytes an allocation of `n` takes: a header word, 16-byte rounding,
/// 32 at least (glibc's malloc; mimalloc's size classes of small blocks
/// are no larger). Nothing for 0 (no allocation).
pub const fn heap(n: usize) -> usize {
    if n == 0 {
        return 0;
    }
    let r = (n + 8).div_ceil(16) * 16;
    if r < 32 {
        32
    } else {
        r
    }
}

/// A string's allocation (strings here are built to their length).
pub fn string(s: &str) -> usize {
    heap(s.len())
}

/// A `HashMap<K, V>` holding `capacity` entries: its buckets (a power of
/// two, 8/7 of the capacity) of one slot and one control byte each, a
/// group of control bytes more.
pub fn table<K, V>(capacity: usize) -> usize {
    if capacity == 0 {
        return 0;
    }
    let buckets = if capacity < 8 {
        (capacity + 1).next_power_of_two()
    } else {
        (capacity * 8 / 7).next_power_of_two()
    };
    heap(buckets * (size_of::<(K, V)>() + 1) + 16)
}

/// One labelled event's labels (label, by), and the seq of its first
/// label (its place in its service's label order).
#[derive(Debug, Default)]
pub(super) struct Labelled {
    pub(super) first: u64,
    pub(super) list: Vec<(String, String)>,
}

/// A service's labelled events, oldest first, and their bytes.
#[derive(Debug, Default)]
pub(super) struct LabelOrder {
    bytes: usize,
    order: BTreeMap<u64, String>,
}

/// Every labelled event's bytes but the table's.
fn labelled_bytes(key: &(String, String), l: &Labelled) -> usize {
    string(&key.0)
        + string(&key.1)
        + ORDER_BYTES
        + string(&key.1)
        + heap(l.list.capacity() * size_of::<(String, String)>())
        + l.list
            .iter()
            .map(|(a, b)| string(a) + string(b))
            .sum::<usize>()
}

/// What the index's timelines, links and labels take, in accounted bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IndexBytes {
    /// Accounts' timelines and links.
    pub accounts: usize,
    /// Labels of the events of cases.
    pub labels: usize,
    /// The budget of both.
    pub max: usize,
}

impl Index {
    /// Keeps the accounted bytes of timelines, links and labels within
    /// `max` (at least [`MIN_INDEX_BYTES`]): the coldest accounts go first,
    /// labels past their share go as [`bytes`](self) says.
    pub fn with_max_bytes(mut self, max: usize) -> Index {
        self.max_bytes = max.max(MIN_INDEX_BYTES);
        if self.label_accounted() > self.max_bytes / LABELS_SHARE {
            // A budget set lower than the labels already kept (only ever
            // at start, on an empty index in practice): drop them all.
            self.labels = HashMap::new();
            self.label_orders.clear();
            self.label_bytes = 0;
        }
        self.sync_account_bytes();
        self
    }

    /// The accounted bytes now and the budget.
    pub fn index_bytes(&self) -> IndexBytes {
        IndexBytes {
            accounts: self.accounts.accounted(),
            labels: self.label_accounted(),
            max: self.max_bytes,
        }
    }

    /// The labels' accounted bytes: the events' and their table's.
    fn label_accounted(&self) -> usize {
        self.label_bytes + table::<(String, String), Labelled>(self.labels.capacity())
    }

    /// The accounts' allowance follows the labels' bytes.
    pub(super) fn sync_account_bytes(&mut self) {
        let allowance = self.max_bytes.saturating_sub(self.label_accounted());
        if allowance != self.accounts.max_bytes() {
            self.accounts.set_max_bytes(allowance);
        }
        // Not on every entry: a gauge is a registry lookup.
        if self.last_seq.is_multiple_of(4096) {
            metrics::gauge!("sekimori_workbench_index_bytes", "what" => "accounts")
                .set(self.accounts.accounted() as f64);
            metrics::gauge!("sekimori_workbench_index_bytes", "what" => "labels")
                .set(self.label_accounted() as f64);
        }
    }

    /// Counts labels not kept (evicted, or too big for the share).
    fn label_dropped(&mut self, n: u64) {
        self.labels_dropped += n;
        metrics::counter!("sekimori_workbench_index_dropped_total", "what" => "label").increment(n);
        if self.labels_dropped % 1000 < n {
            tracing::warn!(
                budget = self.max_bytes,
                "case index: labels past their share of the byte budget are not kept (the log keeps them)"
            );
        }
    }

    /// What keeping one more label `label` by `by` on `key` would add.
    fn label_cost(&self, key: &(String, String), label: &str, by: &str) -> usize {
        let (was, grown) = match self.labels.get(key) {
            Some(l) => {
                let cap = l.list.capacity();
                let next = if l.list.len() < cap {
                    cap
                } else {
                    (cap * 2).max(4)
                };
                (
                    heap(cap * size_of::<(String, String)>()),
                    heap(next * size_of::<(String, String)>()),
                )
            }
            None => (
                0,
                string(&key.0)
                    + string(&key.1)
                    + ORDER_BYTES
                    + string(&key.1)
                    + heap(4 * size_of::<(String, String)>()),
            ),
        };
        grown - was + string(label) + string(by)
    }

    /// Keeps `label` by `by` on the event `key` of a case, within the
    /// labels' share of the budget and the service's fair part of it.
    pub(super) fn keep_label(&mut self, key: (String, String), label: &str, by: &str) {
        if self
            .labels
            .get(&key)
            .is_some_and(|l| l.list.len() >= super::MAX_CASE_ITEMS)
        {
            return;
        }
        let share = self.max_bytes / LABELS_SHARE;
        loop {
            let cost = self.label_cost(&key, label, by);
            // The table grows when this is a new event and it is full.
            let table_next =
                if self.labels.contains_key(&key) || self.labels.len() < self.labels.capacity() {
                    0
                } else {
                    table::<(String, String), Labelled>((self.labels.capacity() * 2).max(3))
                        - table::<(String, String), Labelled>(self.labels.capacity())
                };
            if self.label_accounted() + cost + table_next <= share {
                break;
            }
            let services =
                self.label_orders.len() + usize::from(!self.label_orders.contains_key(&key.0));
            let fair = share / services.max(1);
            let own = self.label_orders.get(&key.0).map_or(0, |o| o.bytes);
            let victim = if own + cost > fair {
                Some(key.0.clone())
            } else {
                self.label_orders
                    .iter()
                    .filter(|(_, o)| !o.order.is_empty())
                    .max_by(|a, b| a.1.bytes.cmp(&b.1.bytes).then_with(|| b.0.cmp(a.0)))
                    .map(|(s, _)| s.clone())
            };
            let oldest = victim.and_then(|s| {
                let o = self.label_orders.get(&s)?;
                let (_, id) = o.order.first_key_value()?;
                Some((s, id.clone()))
            });
            let Some(oldest) = oldest else {
                self.label_dropped(1);
                return;
            };
            let n = self.labels.get(&oldest).map_or(0, |l| l.list.len() as u64);
            self.drop_labels(&oldest);
            self.label_dropped(n);
        }
        let first = self.last_seq;
        let entry = match self.labels.get_mut(&key) {
            Some(l) => l,
            None => {
                let order = self.label_orders.entry(key.0.clone()).or_default();
                order.order.insert(first, key.1.clone());
                self.labels.entry(key.clone()).or_insert(Labelled {
                    first,
                    list: Vec::with_capacity(4),
                })
            }
        };
        let before = if entry.list.is_empty() {
            0
        } else {
            labelled_bytes(&key, entry)
        };
        entry.list.push((label.to_string(), by.to_string()));
        let added = labelled_bytes(&key, entry) - before;
        self.label_bytes += added;
        if let Some(o) = self.label_orders.get_mut(&key.0) {
            o.bytes += added;
        }
        self.sync_account_bytes();
    }

    /// Drops the labels of the event `key` (its case or the event went).
    pub(super) fn drop_labels(&mut self, key: &(String, String)) {
        if let Some(l) = self.labels.remove(key) {
            let bytes = labelled_bytes(key, &l);
            self.label_bytes -= bytes;
            if let Some(o) = self.label_orders.get_mut(&key.0) {
                o.bytes -= bytes;
                o.order.remove(&l.first);
                if o.order.is_empty() {
                    self.label_orders.remove(&key.0);
                }
            }
            self.sync_account_bytes();
        }
    }

    /// The labels' bytes counted again from every labelled event, and
    /// each service's part (tests check the running counts against it).
    #[cfg(test)]
    pub(super) fn label_recount(&self) -> (usize, HashMap<String, usize>) {
        let mut by: HashMap<String, usize> = HashMap::new();
        for (key, l) in &self.labels {
            *by.entry(key.0.clone()).or_default() += labelled_bytes(key, l);
            let placed = self
                .label_orders
                .get(&key.0)
                .and_then(|o| o.order.get(&l.first));
            assert_eq!(placed, Some(&key.1), "{key:?} in its service's order");
        }
        let total = by.values().sum::<usize>()
            + table::<(String, String), Labelled>(self.labels.capacity());
        (total, by)
    }

    /// Each service's labels' bytes as counted on the way.
    #[cfg(test)]
    pub(super) fn label_parts(&self) -> HashMap<String, usize> {
        self.label_orders
            .iter()
            .map(|(s, o)| (s.clone(), o.bytes))
            .collect()
    }
}

#[cfg(test)]
#[path = "bytes_tests.rs"]
mod tests;
