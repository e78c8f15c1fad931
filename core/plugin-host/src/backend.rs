//! The one interface the host calls plugins through, whatever runs them. Native and WASM
//! plugins implement it; the chains and the failure policies in `lib.rs` only see this trait,
//! so an engine can be swapped without touching them.

use wolfguard_plugin_api::{
    AuthFailure, AuthRequest, AuthStep, ConnectInfo, Hook, Listener, LogEvent, Manifest, Packet,
    PacketVerdict, Verdict,
};

use crate::error::{CallError, PluginLoadError};

/// A loaded plugin's calls. Every method may be called from many threads at once.
pub(crate) trait Backend: Send + Sync {
    /// The manifest the plugin declared (for WASM: of the currently loaded component).
    fn manifest(&self) -> Manifest;

    /// Whether the host may call `hook` (the plugin implements it and its sandbox allows it).
    fn has_hook(&self, hook: Hook) -> bool;

    /// `auth-begin` (`hook == AuthBegin`) or `auth-continue`.
    fn auth(&self, hook: Hook, req: &AuthRequest) -> Result<AuthStep, CallError>;

    /// `filter-connect`.
    fn filter_connect(&self, info: &ConnectInfo) -> Result<Verdict, CallError>;

    /// `filter-auth-failure`.
    fn filter_auth_failure(&self, failure: &AuthFailure) -> Result<Verdict, CallError>;

    /// `filter-packets`: appends exactly one verdict per packet to `out` on success.
    fn filter_packets(
        &self,
        batch: &[Packet<'_>],
        out: &mut Vec<PacketVerdict>,
    ) -> Result<(), CallError>;

    /// `extension`: a hook added after contract 1.0, by name, JSON in and out
    /// ([`wolfguard_plugin_api::ext`]). A plugin that does not know the hook gives
    /// [`CallError::NotImplemented`].
    fn extension(&self, hook: Hook, input: &[u8]) -> Result<Vec<u8>, CallError>;

    /// `log-event`.
    fn log_event(&self, event: &LogEvent) -> Result<(), CallError>;

    /// `transport-listeners`.
    fn listeners(&self) -> Result<Vec<Listener>, CallError>;

    /// Replaces the plugin's code with the current file, keeping its settings.
    fn reload(&self) -> Result<(), PluginLoadError> {
        Err(PluginLoadError::ReloadUnsupported)
    }
}
