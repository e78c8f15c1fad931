//! The host side of the calls plugins make: logging, counters and the key-value store, one
//! [`HostState`] per plugin, shared by all of its instances. Every WASM host call passes
//! through [`HostState::check`], the one permission gate.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, MutexGuard};

use wolfguard_plugin_api::Level;

use crate::error::CallError;
use crate::spec::{HostCall, Sandbox};

/// Largest value `kv_put` stores; larger values are refused (and logged).
pub const KV_MAX_VALUE: usize = 1 << 20;
/// Most keys one plugin may store.
pub const KV_MAX_KEYS: usize = 10_000;

/// Per-plugin state behind the host calls.
#[derive(Debug)]
pub(crate) struct HostState {
    name: String,
    /// `None` for trusted native plugins.
    allowed: Option<Vec<HostCall>>,
    counters: Mutex<BTreeMap<String, u64>>,
    kv: Mutex<HashMap<String, Vec<u8>>>,
}

impl HostState {
    pub(crate) fn new(name: &str, sandbox: Option<&Sandbox>) -> Self {
        Self {
            name: name.to_owned(),
            allowed: sandbox.map(|s| s.host_calls.clone()),
            counters: Mutex::new(BTreeMap::new()),
            kv: Mutex::new(HashMap::new()),
        }
    }

    /// The permission gate: may this plugin make `call`?
    pub(crate) fn check(&self, call: HostCall) -> Result<(), CallError> {
        match &self.allowed {
            Some(allowed) if !allowed.contains(&call) => Err(CallError::Denied(call.as_str())),
            _ => Ok(()),
        }
    }

    pub(crate) fn log(&self, level: Level, message: &str) {
        let plugin = self.name.as_str();
        match level {
            Level::Error => tracing::error!(plugin, "{message}"),
            Level::Warn => tracing::warn!(plugin, "{message}"),
            Level::Info => tracing::info!(plugin, "{message}"),
            Level::Debug => tracing::debug!(plugin, "{message}"),
            Level::Trace => tracing::trace!(plugin, "{message}"),
        }
    }

    pub(crate) fn counter_add(&self, name: &str, delta: u64) {
        let mut c = lock(&self.counters);
        let v = c.entry(name.to_owned()).or_default();
        *v = v.saturating_add(delta);
    }

    pub(crate) fn counters(&self) -> BTreeMap<String, u64> {
        lock(&self.counters).clone()
    }

    pub(crate) fn kv_get(&self, key: &str) -> Option<Vec<u8>> {
        lock(&self.kv).get(key).cloned()
    }

    pub(crate) fn kv_put(&self, key: &str, value: &[u8]) {
        let mut kv = lock(&self.kv);
        if value.len() > KV_MAX_VALUE || (kv.len() >= KV_MAX_KEYS && !kv.contains_key(key)) {
            drop(kv);
            tracing::warn!(plugin = %self.name, key, len = value.len(), "kv_put over limits");
            return;
        }
        kv.insert(key.to_owned(), value.to_vec());
    }
}

/// Each critical section above is a single map operation, so a poisoned lock still guards
/// consistent data.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}
