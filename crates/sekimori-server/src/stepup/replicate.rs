//! Step-up records through the log (issue 15): every write of the step-up
//! table is an `Entry::StepUp` appended through the ledger, which writes
//! the records into this node's table ahead of the entry; a follower of a
//! replicated shard (and `sekimori import`) writes them the same way from
//! the entry. So a challenge issued by one leader is known, with its
//! failure count and whether it was used, to the node that leads next, and
//! a restored or joining node holds the same records as the leader.
//!
//! The entry carries the records as the store keeps them (seeds and device
//! keys sealed under `stepup.key`, SMS / e-mail codes as keyed hashes,
//! challenge ids, deadlines): never a secret in the clear. Every node of a
//! shard needs the same `stepup.key` to open them.

use super::{Entry, StepUp};
use crate::app::App;
use crate::error::ApiError;
use serde_json::Value;
use std::collections::BTreeSet;
use std::sync::{Arc, Weak};

impl StepUp {
    /// Logs step-up writes through `app`'s ledger from now on (set once,
    /// when the app is built: the app holds this service).
    pub fn attach(&self, app: Weak<App>) {
        let _ = self.log.set(app);
    }

    /// Appends `entries` as one `Entry::StepUp` and waits until the log
    /// (for a replicated shard: a quorum of the stream) and this node's
    /// store hold them. `None` when no ledger is attached.
    pub(super) async fn log_writes(&self, entries: &[Entry]) -> Option<Result<(), ApiError>> {
        let app = self.log.get()?;
        Some(self.append(app, entries).await)
    }

    async fn append(&self, app: &Weak<App>, entries: &[Entry]) -> Result<(), ApiError> {
        let app: Arc<App> = app.upgrade().ok_or_else(super::failed)?;
        let what = self.what_changed(entries).await?;
        let durable = {
            let mut ledger = app.ledger.lock().await;
            if !app.is_ready() {
                return Err(super::failed());
            }
            ledger
                .append_stepup(&what, entries.to_vec())
                .map_err(ApiError::internal)?
        };
        app.settle(durable).await.map_err(|_| super::failed())
    }

    /// What a write changes, for the log's readers: `issued` (a challenge,
    /// code or ceremony opened), `consumed` (one closed: used, expired or
    /// dropped), `passed` (a recent pass recorded), `failed` (a challenge's
    /// or a code's failures counted, nothing else), `enrolled` (a factor
    /// added, removed or changed), `migrated`, `updated` otherwise; several,
    /// comma-separated and sorted. Read from the record as stored before
    /// (the caller holds the account's lock).
    async fn what_changed(&self, entries: &[Entry]) -> Result<String, ApiError> {
        let mut what = BTreeSet::new();
        for (key, new) in entries {
            if !key.starts_with("tenant/") {
                what.insert(if key.starts_with("credential/") {
                    "enrolled"
                } else {
                    "migrated"
                });
                continue;
            }
            let old = self.read(key.clone()).await?;
            let parse = |b: &Option<Vec<u8>>| -> Value {
                b.as_deref()
                    .and_then(|b| serde_json::from_slice(b).ok())
                    .unwrap_or(Value::Null)
            };
            changes(&parse(&old), &parse(new), &mut what);
        }
        if what.is_empty() {
            what.insert("updated");
        }
        Ok(what.into_iter().collect::<Vec<_>>().join(","))
    }
}

/// Adds what changed between two JSON records of one account to `what`.
fn changes(old: &Value, new: &Value, what: &mut BTreeSet<&'static str>) {
    let at = |v: &Value, path: &[&str]| -> Value {
        path.iter()
            .try_fold(v, |v, k| v.get(k))
            .cloned()
            .unwrap_or(Value::Null)
    };
    let keys = |v: &Value| -> BTreeSet<String> {
        v.as_object()
            .map(|m| m.keys().cloned().collect())
            .unwrap_or_default()
    };
    let num = |v: &Value, k: &str| v.get(k).and_then(Value::as_u64).unwrap_or(0);
    for path in [
        &["state", "challenges"][..],
        &["otps"][..],
        &["ceremonies"][..],
    ] {
        let (o, n) = (at(old, path), at(new, path));
        let (ok, nk) = (keys(&o), keys(&n));
        if nk.difference(&ok).next().is_some() {
            what.insert("issued");
        }
        if ok.difference(&nk).next().is_some() {
            what.insert("consumed");
        }
        // A transaction challenge or a code kept in place: used, or failed.
        for k in ok.intersection(&nk) {
            let (a, b) = (&o[k.as_str()], &n[k.as_str()]);
            if b.get("used") == Some(&Value::Bool(true)) && a.get("used") != b.get("used") {
                what.insert("consumed");
            }
            if num(b, "failures") > num(a, "failures") {
                what.insert("failed");
            }
        }
    }
    let passes = |v: &Value| at(v, &["passes"]).as_array().map_or(0, Vec::len);
    if at(old, &["passes"]) != at(new, &["passes"]) && passes(new) >= passes(old) {
        what.insert("passed");
    }
    for path in [
        &["state", "totp"][..],
        &["state", "ocra"][..],
        &["passkeys"][..],
    ] {
        let (o, n) = (at(old, path), at(new, path));
        if o == n {
            continue;
        }
        if path[0] == "state" && keys(&o) == keys(&n) {
            // A TOTP's last used step and failures live in its enrollment.
            what.insert("verified");
        } else {
            what.insert("enrolled");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn what(old: Value, new: Value) -> String {
        let mut w = BTreeSet::new();
        changes(&old, &new, &mut w);
        w.into_iter().collect::<Vec<_>>().join(",")
    }

    #[test]
    fn a_change_is_named_from_the_records() {
        let rec = |challenges: Value, passes: Value| json!({"state": {"challenges": challenges}, "otps": {}, "passes": passes});
        let none = rec(json!({}), json!([]));
        let open = rec(json!({"c1": {"failures": 0, "used": false}}), json!([]));
        let failed = rec(json!({"c1": {"failures": 1, "used": false}}), json!([]));
        let used = rec(
            json!({"c1": {"failures": 1, "used": true}}),
            json!([{"m": "txsign"}]),
        );
        assert_eq!(what(none.clone(), open.clone()), "issued");
        assert_eq!(what(open.clone(), failed.clone()), "failed");
        assert_eq!(what(failed, used), "consumed,passed");
        assert_eq!(what(open, none.clone()), "consumed");
        let enrolled =
            json!({"state": {"challenges": {}, "totp": {"a": {}}}, "otps": {}, "passes": []});
        assert_eq!(what(none, enrolled), "enrolled");
    }
}
