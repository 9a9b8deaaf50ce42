//! What the workbench needs from the server it is mounted in, as a trait,
//! so this crate never depends on the server (the server depends on it):
//! append an entry through the ledger, send a signed webhook, check an API
//! key. The log itself is read straight from the store.

use crate::error::WbError;
use sekimori_engine::Entry;
use sekimori_notify::Notice;
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
}
