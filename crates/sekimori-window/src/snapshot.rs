//! Serialization: keys are written sorted (deterministic bytes) and validated on load.

use serde::{Deserialize, Serialize, Serializer};

use crate::state::KeyState;
use crate::{FeatureConfig, FeatureStore, Key, WindowError};

/// The serialized form of a feature's windows, borrowed: written alike by
/// a [`FeatureStore`] and by a member of a group (`group`).
#[derive(Serialize)]
pub(crate) struct SnapshotRef<'a> {
    pub config: &'a FeatureConfig,
    pub keys: Vec<(Key, &'a KeyState)>,
    pub last_sweep_ms: Option<i64>,
    pub evicted_total: u64,
}

/// The serialized form of a [`FeatureStore`].
#[derive(Deserialize)]
pub(crate) struct Snapshot {
    config: FeatureConfig,
    keys: Vec<(Key, KeyState)>,
    last_sweep_ms: Option<i64>,
    evicted_total: u64,
}

/// Written settled (a sweep in progress is finished on a copy).
impl Serialize for FeatureStore {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let settled = self.settled();
        let s = settled.as_ref();
        SnapshotRef {
            config: &s.config,
            keys: s.sorted_keys(),
            last_sweep_ms: s.last_sweep_ms,
            evicted_total: s.evicted_total,
        }
        .serialize(serializer)
    }
}

fn invalid(reason: impl Into<String>) -> WindowError {
    WindowError::InvalidSnapshot {
        reason: reason.into(),
    }
}

impl TryFrom<Snapshot> for FeatureStore {
    type Error = WindowError;

    fn try_from(s: Snapshot) -> Result<FeatureStore, WindowError> {
        let mut store = FeatureStore::new(s.config)?;
        if s.keys.len() > s.config.max_keys {
            return Err(invalid(format!(
                "{} keys exceed max_keys {}",
                s.keys.len(),
                s.config.max_keys
            )));
        }
        let mut keys = crate::store::Keys::default();
        for (key, mut state) in s.keys {
            if !state.state.is_valid_for(&s.config) {
                return Err(invalid(format!(
                    "state of key {key:#x} does not fit the config"
                )));
            }
            state.state.settle();
            if keys.insert(key, state).is_some() {
                return Err(invalid(format!("key {key:#x} appears twice")));
            }
        }
        store.accounted = keys.values().map(KeyState::accounted).sum();
        store.keys = keys;
        store.last_sweep_ms = s.last_sweep_ms;
        store.evicted_total = s.evicted_total;
        Ok(store)
    }
}
