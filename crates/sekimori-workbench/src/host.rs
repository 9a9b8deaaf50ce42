//! What the workbench needs from the server it is mounted in, as a trait,
//! so this crate never depends on the server (the server depends on it):
//! append an entry through the ledger, send a signed webhook, check an API
//! key. The log itself is read straight from the store.

use crate::error::WbError;
use sekimori_engine::{Entry, HoldKey};
use sekimori_notify::Notice;
use sekimori_rules::Action;
use std::future::Future;
use std::pin::Pin;

/// A boxed future (the trait stays object safe).
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

pub trait Host: Send + Sync + 'static {
    /// Appends `entry` to the log through the ledger (the next seq, under
    /// the ledger's lock); resolves once it is durable.
    fn append(&self, entry: Entry) -> BoxFuture<'_, Result<(), WbError>>;

    /// Queues a signed webhook notice for the service (`--notify-url`,
    /// through `sekimori-notify`); `false` when notices are off. Never
    /// blocks on the network.
    fn notify(&self, notice: Notice) -> bool;

    /// The name of the API key `bearer` when it may post labels for
    /// `service` (the `ingest` scope, bound to the service); else
    /// [`WbError::BadKey`].
    fn label_key(&self, bearer: &str, service: &str) -> Result<String, WbError>;

    /// Places a hold through the ledger (the engine's own hold, logged as
    /// `Entry::Place` with `by` and `reason`, as `POST /v1/holds` does);
    /// `Ok(false)` when a hold is already in force on the key.
    fn place_hold(
        &self,
        hold: HoldKey,
        action: Action,
        by: String,
        reason: String,
    ) -> BoxFuture<'_, Result<bool, WbError>>;

    /// Lifts a hold through the ledger (`Entry::Lift`); `Ok(false)` when
    /// no such hold is in force.
    fn lift_hold(
        &self,
        hold: HoldKey,
        by: String,
        reason: String,
    ) -> BoxFuture<'_, Result<bool, WbError>>;

    /// The holds in force on `service` (and those of every service), with
    /// their action and since when (RFC 3339).
    fn holds(&self, service: String) -> BoxFuture<'_, Vec<(HoldKey, Action, String)>>;

    /// Adds and removes API-managed items of a list the live pack declares,
    /// through the ledger (`Entry::List`, the whole API set, as
    /// `PUT /v1/lists/{name}` writes it), read and written under one lock.
    /// True when an item of `add` was not on the list (the pack's items or
    /// the API's) before.
    fn edit_list(
        &self,
        name: String,
        add: Vec<String>,
        remove: Vec<String>,
        by: String,
    ) -> BoxFuture<'_, Result<bool, WbError>>;

    /// The lists the live pack declares.
    fn lists(&self) -> BoxFuture<'_, Vec<String>>;

    /// Appends step-up table writes (`analyst/...` records: the analysts of
    /// a replicated shard, [`crate::analyst_log`]) as one `Entry::StepUp`
    /// through the ledger, which writes them into this node's table ahead
    /// of the entry; resolves once durable (for a replicated shard: in the
    /// stream's quorum and this node's store). A host without a ledger
    /// refuses.
    fn append_stepup(
        &self,
        what: String,
        writes: Vec<(String, Option<Vec<u8>>)>,
    ) -> BoxFuture<'_, Result<(), WbError>> {
        let _ = (what, writes);
        Box::pin(async {
            Err(WbError::Unavailable(
                "this host keeps no replicated analysts",
            ))
        })
    }
}
