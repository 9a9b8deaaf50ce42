//! The case index's byte budget ([`Index::with_max_bytes`],
//! [`DEFAULT_MAX_INDEX_BYTES`] unless set). The account bound
//! ([`super::DEFAULT_MAX_ACCOUNTS`]) counts accounts; an attacker's
//! accounts with long timelines or many long links would still grow
//! memory far past it. So the index also accounts the bytes of what it
//! keeps per account and per label, from lengths only (the same log gives
//! the same count, on any machine):
//!
//! - per account: [`ACCOUNT_BYTES`] plus its service and id, [`SEQ_BYTES`]
//!   per timeline seq, [`ATTR_BYTES`] plus the text per link it holds;
//! - per link (a device, address, secret or destination of a service):
//!   [`LINK_BYTES`] plus its text, [`LINK_ACCOUNT_BYTES`] plus the id per
//!   account remembered with it;
//! - per labelled event: [`LABEL_KEY_BYTES`] plus its service and id,
//!   [`LABEL_BYTES`] plus the label and its author per label.
//!
//! Labels may take at most a [`LABELS_SHARE`]th of the budget: past it a
//! label is not kept in the index (counted in `labels_dropped` and the
//! metric `sekimori_workbench_index_dropped_total{what="label"}`; the log
//! keeps it and the backtest reads it there). The accounts take the rest:
//! past it the coldest accounts are evicted, as past the account bound.
//! The per-item constants are an estimate of the maps' overhead on a
//! 64-bit target; the bench (`benches/support/accounts_memory.rs`) measures
//! the resident bytes against the accounted ones.

use super::Index;

/// The accounted bytes the index keeps for timelines, links and labels,
/// unless set: 1 GiB.
pub const DEFAULT_MAX_INDEX_BYTES: usize = 1 << 30;
/// The smallest budget (a smaller one is raised to it).
pub const MIN_INDEX_BYTES: usize = 64 * 1024;
/// Labels may take at most 1/`LABELS_SHARE` of the budget.
pub const LABELS_SHARE: usize = 4;

/// An account's entry: the map's slot, the key's two string headers, the
/// timeline and link set headers, its place in the recency order.
pub const ACCOUNT_BYTES: usize = 160;
/// One seq of a timeline.
pub const SEQ_BYTES: usize = 8;
/// One link an account holds: a string header and its share of a tree node.
pub const ATTR_BYTES: usize = 48;
/// One link's entry in the linked-accounts map.
pub const LINK_BYTES: usize = 96;
/// One account remembered with a link.
pub const LINK_ACCOUNT_BYTES: usize = 48;
/// One labelled event's entry.
pub const LABEL_KEY_BYTES: usize = 96;
/// One label (two string headers).
pub const LABEL_BYTES: usize = 56;

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
    /// labels past their share are not kept. See [`bytes`](self).
    pub fn with_max_bytes(mut self, max: usize) -> Index {
        self.max_bytes = max.max(MIN_INDEX_BYTES);
        if self.label_bytes > self.max_bytes / LABELS_SHARE {
            // A budget set lower than the labels already kept (only ever
            // at start, on an empty index in practice): drop them all.
            self.labels.clear();
            self.label_bytes = 0;
        }
        self.sync_account_bytes();
        self
    }

    /// The accounted bytes now and the budget.
    pub fn index_bytes(&self) -> IndexBytes {
        IndexBytes {
            accounts: self.accounts.bytes,
            labels: self.label_bytes,
            max: self.max_bytes,
        }
    }

    /// The accounts' allowance follows the labels' bytes.
    pub(super) fn sync_account_bytes(&mut self) {
        let allowance = self.max_bytes.saturating_sub(self.label_bytes);
        if allowance != self.accounts.max_bytes() {
            self.accounts.set_max_bytes(allowance);
        }
        // Not on every entry: a gauge is a registry lookup.
        if self.last_seq.is_multiple_of(4096) {
            metrics::gauge!("sekimori_workbench_index_bytes", "what" => "accounts")
                .set(self.accounts.bytes as f64);
            metrics::gauge!("sekimori_workbench_index_bytes", "what" => "labels")
                .set(self.label_bytes as f64);
        }
    }

    /// Keeps `label` by `by` on the event `key` of a case, within the
    /// labels' share of the budget.
    pub(super) fn keep_label(&mut self, key: (String, String), label: &str, by: &str) {
        let list_len = self.labels.get(&key).map(Vec::len);
        if list_len.is_some_and(|n| n >= super::MAX_CASE_ITEMS) {
            return;
        }
        let cost = LABEL_BYTES
            + label.len()
            + by.len()
            + list_len.map_or(LABEL_KEY_BYTES + key.0.len() + key.1.len(), |_| 0);
        if self.label_bytes + cost > self.max_bytes / LABELS_SHARE {
            self.labels_dropped += 1;
            metrics::counter!("sekimori_workbench_index_dropped_total", "what" => "label")
                .increment(1);
            if self.labels_dropped % 1000 == 1 {
                tracing::warn!(
                    budget = self.max_bytes,
                    "case index: labels past their share of the byte budget are not kept (the log keeps them)"
                );
            }
            return;
        }
        self.label_bytes += cost;
        self.labels
            .entry(key)
            .or_default()
            .push((label.to_string(), by.to_string()));
        self.sync_account_bytes();
    }

    /// Drops the labels of the event `key` (its case or the event went).
    pub(super) fn drop_labels(&mut self, key: &(String, String)) {
        if let Some(list) = self.labels.remove(key) {
            let bytes = LABEL_KEY_BYTES
                + key.0.len()
                + key.1.len()
                + list
                    .iter()
                    .map(|(l, b)| LABEL_BYTES + l.len() + b.len())
                    .sum::<usize>();
            self.label_bytes -= bytes;
            self.sync_account_bytes();
        }
    }
}

#[cfg(test)]
#[path = "bytes_tests.rs"]
mod tests;
