//! A stand-in for the daemon in `cargo test`.
//!
//! ```
//! use wolfguard_sdk::testing::MockHost;
//!
//! let mock = MockHost::new();
//! mock.host().counter_add("logins", 2);
//! mock.host().info("hello");
//! assert_eq!(mock.counter("logins"), 2);
//! assert_eq!(mock.logs()[0].1, "hello");
//! ```

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};

use wolfguard_plugin_api::model::Level;

use crate::{Config, Host, Plugin, PluginError};

/// Records what a plugin logs and counts, and keeps its key-value store in memory.
#[derive(Debug, Clone, Default)]
pub struct MockHost {
    state: Arc<MockState>,
}

#[derive(Debug, Default)]
pub(crate) struct MockState {
    logs: Mutex<Vec<(Level, String)>>,
    counters: Mutex<BTreeMap<String, u64>>,
    kv: Mutex<HashMap<String, Vec<u8>>>,
}

impl MockHost {
    /// An empty mock.
    pub fn new() -> Self {
        Self::default()
    }

    /// A [`Host`] handle that records into this mock.
    pub fn host(&self) -> Host {
        Host::mock(self.state.clone())
    }

    /// Builds plugin `P` from `settings` (TOML text) with this mock as its host.
    pub fn instantiate<P: Plugin>(&self, settings: &str) -> Result<P, PluginError> {
        P::new(&Config::parse(settings)?, self.host())
    }

    /// Everything logged so far, in order.
    pub fn logs(&self) -> Vec<(Level, String)> {
        lock(&self.state.logs).clone()
    }

    /// The value of counter `name` (0 if never bumped).
    pub fn counter(&self, name: &str) -> u64 {
        lock(&self.state.counters).get(name).copied().unwrap_or(0)
    }

    /// The stored value of `key`.
    pub fn kv(&self, key: &str) -> Option<Vec<u8>> {
        self.state.kv_get(key)
    }
}

impl MockState {
    pub(crate) fn log(&self, level: Level, message: &str) {
        lock(&self.logs).push((level, message.to_owned()));
    }

    pub(crate) fn counter_add(&self, name: &str, delta: u64) {
        *lock(&self.counters).entry(name.to_owned()).or_default() += delta;
    }

    pub(crate) fn kv_get(&self, key: &str) -> Option<Vec<u8>> {
        lock(&self.kv).get(key).cloned()
    }

    pub(crate) fn kv_put(&self, key: &str, value: &[u8]) {
        lock(&self.kv).insert(key.to_owned(), value.to_vec());
    }
}

/// A test double never leaves its data half-written, so a poisoned lock is still usable.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}
