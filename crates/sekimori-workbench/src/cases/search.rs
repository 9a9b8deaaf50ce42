//! Search: the cases whose events carry an account, a device, an IP
//! address, a payee (its id, a bank account `bank-branch-number`, a wallet
//! address or an ATM) or an event id. The terms are indexed as the log is
//! applied, so the search is in step with the log and rebuilt from it; a
//! device or an address also finds the cases of every account seen with it
//! (the linked-accounts map, [`super::MAX_LINKS`] accounts each).

use super::{Case, Index};
use serde::Serialize;
use serde_json::Value as Json;
use std::collections::BTreeMap;

/// Cases remembered per term (the latest are kept).
pub const MAX_TERM_CASES: usize = 256;
/// The distinct terms a case is indexed under (past it, an event's further
/// terms are counted in `terms_dropped`, not indexed), so an eviction
/// takes the case out of every term it is in.
pub const TERMS_PER_CASE: usize = 64;
/// The kinds of term, in the order a search tries them.
pub const KINDS: &[&str] = &["event", "account", "device", "ip", "payee"];

/// A case found, and what matched.
#[derive(Clone, Debug, Serialize)]
pub struct SearchHit {
    pub case: u64,
    /// `event`, `account`, `device`, `ip` or `payee`.
    pub matched: &'static str,
}

/// The payee terms of an event.
fn payees(event: &Json) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(p) = event.get("payee_id").and_then(Json::as_str) {
        out.push(p.to_string());
    }
    if let Some(d) = event.get("destination") {
        let s = |k: &str| d.get(k).and_then(Json::as_str);
        if let (Some(b), Some(br), Some(n)) = (s("bank_code"), s("branch"), s("number")) {
            out.push(format!("{b}-{br}-{n}"));
        }
        for k in ["address", "atm_id", "wallet"] {
            if let Some(v) = s(k) {
                out.push(v.to_string());
            }
        }
    }
    out
}

impl Index {
    /// Indexes case `case` under an event's terms (its id is found through
    /// the event -> case map instead), within [`TERMS_PER_CASE`] per case
    /// and the index's bound on all terms.
    pub(super) fn index_terms(&mut self, case: u64, entity: &str, event: &Json) {
        let mut terms = vec![format!("account:{entity}")];
        for (kind, ptr) in [("device", "/actor/device"), ("ip", "/actor/ip")] {
            if let Some(v) = event.pointer(ptr).and_then(Json::as_str) {
                terms.push(format!("{kind}:{v}"));
            }
        }
        terms.extend(payees(event).into_iter().map(|p| format!("payee:{p}")));
        for t in terms {
            let Some(c) = self.cases.get_mut(&case) else {
                return;
            };
            if !c.terms.contains(&t) {
                let room = c.terms.len() < TERMS_PER_CASE
                    && (self.terms.len() < self.max_terms || self.terms.contains_key(&t));
                if !room {
                    self.terms_dropped += 1;
                    metrics::counter!("sekimori_workbench_index_dropped_total", "what" => "term")
                        .increment(1);
                    continue;
                }
                c.terms.push(t.clone());
            }
            let ids = self.terms.entry(t).or_default();
            if ids.last() != Some(&case) && !ids.contains(&case) {
                if ids.len() >= MAX_TERM_CASES {
                    ids.remove(0);
                }
                ids.push(case);
            }
        }
    }

    /// The cases matching `query` exactly as one of the [`KINDS`] (or only
    /// `kind`), newest first, at most `limit`.
    pub fn search(&self, query: &str, kind: Option<&str>, limit: usize) -> Vec<SearchHit> {
        let q = query.trim();
        let mut found: BTreeMap<u64, &'static str> = BTreeMap::new();
        if q.is_empty() {
            return Vec::new();
        }
        for k in KINDS.iter().filter(|k| kind.is_none_or(|x| x == **k)) {
            if *k == "event" {
                for service in &self.services {
                    if let Some(id) = self.by_event.get(&(service.clone(), q.to_string())) {
                        found.entry(*id).or_insert(k);
                    }
                }
                continue;
            }
            for id in self.terms.get(&format!("{k}:{q}")).into_iter().flatten() {
                found.entry(*id).or_insert(k);
            }
            if *k == "device" || *k == "ip" {
                // Every account seen with it, in any service.
                let attr = format!("{k}:{q}");
                for service in &self.services {
                    let Some(accounts) = self.accounts.shared.get(&(service.clone(), attr.clone()))
                    else {
                        continue;
                    };
                    for a in accounts {
                        let key = (service.clone(), a.clone());
                        for id in self.entity_cases.get(&key).into_iter().flatten() {
                            found.entry(*id).or_insert(k);
                        }
                    }
                }
            }
        }
        found
            .into_iter()
            .rev()
            .filter(|(id, _)| self.cases.contains_key(id))
            .take(limit)
            .map(|(case, matched)| SearchHit { case, matched })
            .collect()
    }

    /// Takes an evicted case out of the terms it was indexed under.
    pub(super) fn unindex_terms(&mut self, case: u64, terms: &[String]) {
        for t in terms {
            if let Some(ids) = self.terms.get_mut(t) {
                ids.retain(|x| *x != case);
                if ids.is_empty() {
                    self.terms.remove(t);
                }
            }
        }
    }

    /// How many search terms the index holds.
    pub fn term_count(&self) -> usize {
        self.terms.len()
    }

    /// The cases of a search, for a listing.
    pub fn hits<'a>(&'a self, hits: &[SearchHit]) -> Vec<(&'a Case, &'static str)> {
        hits.iter()
            .filter_map(|h| self.cases.get(&h.case).map(|c| (c, h.matched)))
            .collect()
    }
}
