//! Calls from a plugin back into the daemon.

use std::sync::Arc;

use wolfguard_plugin_api::model::Level;

use crate::testing::MockState;

/// The daemon, as a plugin sees it: a logger, counters and a small key-value store, all scoped
/// to this plugin. Cheap to clone; keep one in your plugin.
///
/// For WASM plugins each call is checked against the capabilities the plugin's manifest
/// declares; a call the manifest does not allow fails the hook that made it.
#[derive(Clone)]
pub struct Host {
    inner: Inner,
}

#[derive(Clone)]
enum Inner {
    #[cfg(not(target_arch = "wasm32"))]
    Native(Arc<wolfguard_plugin_api::native::FfiHostBox>),
    #[cfg(target_arch = "wasm32")]
    Wasm,
    Mock(Arc<MockState>),
}

impl Host {
    #[cfg(not(target_arch = "wasm32"))]
    pub(crate) fn native(host: wolfguard_plugin_api::native::FfiHostBox) -> Self {
        Self {
            inner: Inner::Native(Arc::new(host)),
        }
    }

    #[cfg(target_arch = "wasm32")]
    pub(crate) fn wasm() -> Self {
        Self { inner: Inner::Wasm }
    }

    pub(crate) fn mock(state: Arc<MockState>) -> Self {
        Self {
            inner: Inner::Mock(state),
        }
    }

    /// Logs `message` at `level` through the daemon's logger, tagged with the plugin's name.
    pub fn log(&self, level: Level, message: &str) {
        match &self.inner {
            #[cfg(not(target_arch = "wasm32"))]
            Inner::Native(h) => h.log(level.into(), message.into()),
            #[cfg(target_arch = "wasm32")]
            Inner::Wasm => crate::wasm::host_log(level, message),
            Inner::Mock(m) => m.log(level, message),
        }
    }

    /// Logs at [`Level::Error`].
    pub fn error(&self, message: &str) {
        self.log(Level::Error, message);
    }

    /// Logs at [`Level::Warn`].
    pub fn warn(&self, message: &str) {
        self.log(Level::Warn, message);
    }

    /// Logs at [`Level::Info`].
    pub fn info(&self, message: &str) {
        self.log(Level::Info, message);
    }

    /// Logs at [`Level::Debug`].
    pub fn debug(&self, message: &str) {
        self.log(Level::Debug, message);
    }

    /// Adds `delta` to this plugin's counter `name` (exported as a daemon metric).
    pub fn counter_add(&self, name: &str, delta: u64) {
        match &self.inner {
            #[cfg(not(target_arch = "wasm32"))]
            Inner::Native(h) => h.counter_add(name.into(), delta),
            #[cfg(target_arch = "wasm32")]
            Inner::Wasm => crate::wasm::host_counter_add(name, delta),
            Inner::Mock(m) => m.counter_add(name, delta),
        }
    }

    /// Reads `key` from this plugin's key-value store (shared by all its instances).
    pub fn kv_get(&self, key: &str) -> Option<Vec<u8>> {
        match &self.inner {
            #[cfg(not(target_arch = "wasm32"))]
            Inner::Native(h) => h.kv_get(key.into()).into_option().map(|v| v.into_vec()),
            #[cfg(target_arch = "wasm32")]
            Inner::Wasm => crate::wasm::host_kv_get(key),
            Inner::Mock(m) => m.kv_get(key),
        }
    }

    /// Writes `key` in this plugin's key-value store.
    pub fn kv_put(&self, key: &str, value: &[u8]) {
        match &self.inner {
            #[cfg(not(target_arch = "wasm32"))]
            Inner::Native(h) => h.kv_put(key.into(), value.into()),
            #[cfg(target_arch = "wasm32")]
            Inner::Wasm => crate::wasm::host_kv_put(key, value),
            Inner::Mock(m) => m.kv_put(key, value),
        }
    }
}

impl std::fmt::Debug for Host {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match &self.inner {
            #[cfg(not(target_arch = "wasm32"))]
            Inner::Native(_) => "native",
            #[cfg(target_arch = "wasm32")]
            Inner::Wasm => "wasm",
            Inner::Mock(_) => "mock",
        };
        f.debug_struct("Host").field("kind", &kind).finish()
    }
}
