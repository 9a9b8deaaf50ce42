//! The test host: appends straight to the store after the engine's own
//! entries, applies holds and lists to the engine as the ledger would,
//! collects notices and knows one API key.

use super::{LABEL_KEY, T0};
use sekimori_engine::{Engine, Entry, HoldKey};
use sekimori_notify::Notice;
use sekimori_rules::Action;
use sekimori_store::{EventKey, Op, Store};
use sekimori_workbench::{BoxFuture, Host, WbError};
use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

#[derive(Debug)]
pub struct TestHost {
    pub store: Arc<Store>,
    pub engine: Mutex<(Engine, u64)>,
    pub notices: Mutex<Vec<Notice>>,
    /// A real signed webhook, when the test has a receiver.
    pub notifier: Option<sekimori_notify::Notifier>,
}

impl TestHost {
    pub fn submit(&self, key: Option<EventKey>, entry: &Entry) -> sekimori_ledger_like::Durable {
        let mut g = self.engine.lock().expect("lock");
        g.1 += 1;
        self.store.submit(Op::Append {
            seq: g.1,
            event: key,
            bytes: entry.to_bytes(),
        })
    }
}

mod sekimori_ledger_like {
    pub type Durable = tokio::sync::oneshot::Receiver<Result<(), sekimori_store::StoreError>>;
}

impl Host for TestHost {
    fn append(&self, entry: Entry) -> BoxFuture<'_, Result<(), WbError>> {
        let rx = self.submit(None, &entry);
        Box::pin(async move {
            rx.await
                .map_err(|e| WbError::Storage(e.to_string()))?
                .map_err(|e| WbError::Storage(e.to_string()))
        })
    }

    fn notify(&self, notice: Notice) -> bool {
        if let Some(n) = &self.notifier {
            n.send(notice.clone()).expect("queued");
        }
        self.notices.lock().expect("lock").push(notice);
        true
    }

    fn label_key(&self, bearer: &str, service: &str) -> Result<String, WbError> {
        if bearer == LABEL_KEY && service == "netbank" {
            Ok("labels".into())
        } else {
            Err(WbError::BadKey)
        }
    }

    fn place_hold(
        &self,
        hold: HoldKey,
        action: Action,
        by: String,
        reason: String,
    ) -> BoxFuture<'_, Result<bool, WbError>> {
        let at_ms = T0;
        let placed = {
            let mut g = self.engine.lock().expect("lock");
            g.0.place_hold(hold.clone(), action, &by, &reason, at_ms)
        };
        Box::pin(async move {
            match placed.map_err(|e| WbError::invalid("action", e))? {
                false => Ok(false),
                true => {
                    let entry = Entry::Place {
                        hold,
                        action,
                        by,
                        reason,
                        at: sekimori_event::format_rfc3339_ms(at_ms),
                    };
                    self.append_raw(entry).await.map(|()| true)
                }
            }
        })
    }

    fn lift_hold(
        &self,
        hold: HoldKey,
        by: String,
        reason: String,
    ) -> BoxFuture<'_, Result<bool, WbError>> {
        let lifted = self.engine.lock().expect("lock").0.lift_hold(&hold);
        Box::pin(async move {
            if !lifted {
                return Ok(false);
            }
            self.append_raw(Entry::Lift { hold, by, reason })
                .await
                .map(|()| true)
        })
    }

    fn holds(&self, service: String) -> BoxFuture<'_, Vec<(HoldKey, Action, String)>> {
        let g = self.engine.lock().expect("lock");
        let out =
            g.0.holds()
                .list()
                .filter(|(k, _)| k.is_everywhere() || k.service == service)
                .map(|(k, h)| {
                    (
                        k.clone(),
                        h.action,
                        sekimori_event::format_rfc3339_ms(h.since_ms),
                    )
                })
                .collect();
        Box::pin(async move { out })
    }

    fn edit_list(
        &self,
        name: String,
        add: Vec<String>,
        remove: Vec<String>,
        by: String,
    ) -> BoxFuture<'_, Result<bool, WbError>> {
        let mut added = false;
        let set = {
            let mut g = self.engine.lock().expect("lock");
            let base = g.0.pack().lists.get(&name).cloned();
            match (g.0.list(&name), base) {
                (Some(all), Some(base)) => {
                    let mut api: BTreeSet<String> = all.difference(&base).cloned().collect();
                    for r in &remove {
                        api.remove(r);
                    }
                    added = add.iter().any(|a| !all.contains(a));
                    api.extend(add);
                    g.0.set_list(&name, api.clone()).expect("declared");
                    Some(api)
                }
                _ => None,
            }
        };
        Box::pin(async move {
            let Some(items) = set else {
                return Err(WbError::NotFound("list"));
            };
            self.append_raw(Entry::List {
                name,
                items: items.into_iter().collect(),
                by,
            })
            .await
            .map(|()| added)
        })
    }

    fn lists(&self) -> BoxFuture<'_, Vec<String>> {
        let names = self
            .engine
            .lock()
            .expect("lock")
            .0
            .pack()
            .lists
            .keys()
            .cloned()
            .collect();
        Box::pin(async move { names })
    }
}

impl TestHost {
    async fn append_raw(&self, entry: Entry) -> Result<(), WbError> {
        let rx = self.submit(None, &entry);
        rx.await
            .map_err(|e| WbError::Storage(e.to_string()))?
            .map_err(|e| WbError::Storage(e.to_string()))
    }
}
