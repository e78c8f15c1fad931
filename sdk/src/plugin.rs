//! The traits a plugin implements: [`Plugin`] plus one per kind, every hook defaulting to a no-op.

use std::fmt;

use wolfguard_plugin_api::model::{
    AuthFailure, AuthRequest, AuthStep, ConnectInfo, Listener, LogEvent, Packet, PacketVerdict,
    SessionInfo, Verdict,
};

use crate::{Config, Host};

/// A plugin: its name, what it provides and needs, and how it is built from its settings.
///
/// The host may call one instance from several threads at once (native plugins) or create one
/// instance per worker thread (WASM plugins), so hooks take `&self`; keep per-conversation state
/// in [`AuthRequest::state`] and shared state behind a lock.
pub trait Plugin: Sized + Send + Sync + 'static {
    /// The plugin's name in its manifest.
    const NAME: &'static str;
    /// The plugin's version in its manifest.
    const VERSION: &'static str = "0.0.0";

    /// Features this plugin provides to others (e.g. `auth:local`).
    fn provides() -> Vec<String> {
        Vec::new()
    }

    /// Features this plugin needs from plugins loaded before it.
    fn depends() -> Vec<String> {
        Vec::new()
    }

    /// Builds an instance from the plugin's settings. `host` stays valid for the instance's life.
    fn new(config: &Config, host: Host) -> Result<Self, PluginError>;
}

/// An authentication backend: a conversation of prompts and answers.
pub trait AuthPlugin: Plugin {
    /// The first step. `req.answers` holds what the first form already carried.
    fn auth_begin(&self, req: &AuthRequest) -> Result<AuthStep, PluginError> {
        let _ = req;
        Ok(AuthStep::reject("auth-begin not implemented"))
    }

    /// The answers to a [`AuthStep::Challenge`]; `req.state` is the challenge's state.
    fn auth_continue(&self, req: &AuthRequest) -> Result<AuthStep, PluginError> {
        let _ = req;
        Ok(AuthStep::reject("auth-continue not implemented"))
    }
}

/// Verdicts on connect attempts, auth failures and data-path packets.
pub trait FilterPlugin: Plugin {
    /// A connect attempt, before TLS.
    fn filter_connect(&self, info: &ConnectInfo) -> Result<Verdict, PluginError> {
        let _ = info;
        Ok(Verdict::Accept)
    }

    /// A failed authentication (for ban rules).
    fn filter_auth_failure(&self, failure: &AuthFailure) -> Result<Verdict, PluginError> {
        let _ = failure;
        Ok(Verdict::Accept)
    }

    /// A tunnel about to come up, after authentication and address assignment: `Reject` or
    /// `Drop` refuses it (contract 1.1; older hosts never call it).
    fn filter_session(&self, session: &SessionInfo) -> Result<Verdict, PluginError> {
        let _ = session;
        Ok(Verdict::Accept)
    }

    /// A batch of packets: push exactly one verdict per packet, in order, onto `out`.
    fn filter_packets(
        &self,
        batch: &[Packet<'_>],
        out: &mut Vec<PacketVerdict>,
    ) -> Result<(), PluginError> {
        out.extend(std::iter::repeat_n(PacketVerdict::Accept, batch.len()));
        Ok(())
    }
}

/// An event sink.
pub trait LogPlugin: Plugin {
    /// One daemon event. Ignore kinds you do not know.
    fn log_event(&self, event: &LogEvent) {
        let _ = event;
    }
}

/// Extra listeners or front ends.
pub trait TransportPlugin: Plugin {
    /// The listeners this plugin wants the daemon to open.
    fn listeners(&self) -> Vec<Listener> {
        Vec::new()
    }
}

/// Why a plugin could not be built or a hook failed. The host applies the plugin's failure
/// policy; the message goes to the daemon's log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PluginError(String);

impl PluginError {
    /// An error with `message`.
    pub fn new(message: impl Into<String>) -> Self {
        Self(message.into())
    }

    /// The message.
    pub fn message(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for PluginError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for PluginError {}

impl From<String> for PluginError {
    fn from(s: String) -> Self {
        Self(s)
    }
}

impl From<&str> for PluginError {
    fn from(s: &str) -> Self {
        Self(s.to_owned())
    }
}

impl From<std::io::Error> for PluginError {
    fn from(e: std::io::Error) -> Self {
        Self(e.to_string())
    }
}
