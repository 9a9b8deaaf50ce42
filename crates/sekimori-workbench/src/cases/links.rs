//! Linked accounts: the devices, IP addresses, secret fingerprints and
//! payment destinations (a bank account, a wallet address) each account
//! used, the accounts seen with each, and what is known of an entity from
//! its cases.

use super::{Disposition, Index};
use serde_json::Value as Json;
use std::collections::BTreeMap;

/// What an event links its account by: `device:..`, `ip:..`, `secret:..`
/// (the secret's fingerprint: one password or PIN tried on many accounts),
/// `bank:bank-branch-number` and `address:..` (where money went). An ATM
/// or a payee id is not a link (shared by strangers, or the service's own
/// per-account id).
pub(super) fn attrs_of(event: &Json) -> Vec<String> {
    let mut out = Vec::new();
    let s = |p: &str| event.pointer(p).and_then(Json::as_str);
    for (kind, ptr) in [
        ("device", "/actor/device"),
        ("ip", "/actor/ip"),
        ("secret", "/secret_fp"),
        ("address", "/destination/address"),
    ] {
        if let Some(v) = s(ptr) {
            out.push(format!("{kind}:{v}"));
        }
    }
    if let (Some(b), Some(br), Some(n)) = (
        s("/destination/bank_code"),
        s("/destination/branch"),
        s("/destination/number"),
    ) {
        out.push(format!("bank:{b}-{br}-{n}"));
    }
    out
}

impl Index {
    /// The accounts of `service` that share a device or an address with
    /// `account`: (account, what they share), at most `limit`, in order.
    pub fn linked(&self, service: &str, account: &str, limit: usize) -> Vec<(String, String)> {
        let mut out: BTreeMap<String, String> = BTreeMap::new();
        let Some(attrs) = self.accounts.attrs(service, account) else {
            return Vec::new();
        };
        for attr in attrs {
            let Some(accounts) = self
                .accounts
                .shared
                .get(&(service.to_string(), attr.clone()))
            else {
                continue;
            };
            for a in accounts.iter().filter(|a| *a != account) {
                if out.len() < limit || out.contains_key(a) {
                    out.entry(a.clone()).or_insert_with(|| attr.clone());
                }
            }
        }
        out.into_iter().collect()
    }

    /// What is known of an entity: `fraud` (a case closed as confirmed
    /// fraud), `open` (an open case), `closed` (cases, none fraud) or `clean`.
    pub fn standing(&self, service: &str, entity: &str) -> &'static str {
        let ids = self
            .entity_cases
            .get(&(service.to_string(), entity.to_string()))
            .map_or(&[][..], Vec::as_slice);
        let cases = ids.iter().filter_map(|id| self.cases.get(id));
        let mut standing = "clean";
        for c in cases {
            match &c.closed {
                Some(cl) if cl.disposition == Disposition::ConfirmedFraud => return "fraud",
                None => standing = "open",
                Some(_) if standing == "clean" => standing = "closed",
                Some(_) => {}
            }
        }
        standing
    }
}
