//! What [`export_plugin!`](crate::export_plugin) builds on: a table of the hooks a type
//! implements, shared by the native and the WASM glue. Not part of the public API.

use wolfguard_plugin_api::ext;
use wolfguard_plugin_api::model::{
    AuthFailure, AuthRequest, AuthStep, ConnectInfo, Hook, Listener, LogEvent, Manifest, Packet,
    PacketVerdict, PluginKind, SessionInfo, Verdict,
};

use crate::{AuthPlugin, FilterPlugin, LogPlugin, Plugin, PluginError, TransportPlugin};

type AuthFn<P> = fn(&P, &AuthRequest) -> Result<AuthStep, PluginError>;
type VerdictFn<P, T> = fn(&P, &T) -> Result<Verdict, PluginError>;
type PacketsFn<P> = fn(&P, &[Packet<'_>], &mut Vec<PacketVerdict>) -> Result<(), PluginError>;

/// Implemented by `export_plugin!` for the exported type.
pub trait Exported: Plugin {
    /// The hooks of the kinds named in `export_plugin!`.
    fn hooks() -> Hooks<Self>;
}

/// The hooks a plugin type implements; `None` where its kind was not exported.
pub struct Hooks<P> {
    kinds: Vec<PluginKind>,
    /// [`Hook::AuthBegin`].
    pub auth_begin: Option<AuthFn<P>>,
    /// [`Hook::AuthContinue`].
    pub auth_continue: Option<AuthFn<P>>,
    /// [`Hook::FilterConnect`].
    pub filter_connect: Option<VerdictFn<P, ConnectInfo>>,
    /// [`Hook::FilterAuthFailure`].
    pub filter_auth_failure: Option<VerdictFn<P, AuthFailure>>,
    /// [`Hook::FilterPackets`].
    pub filter_packets: Option<PacketsFn<P>>,
    /// [`Hook::FilterSession`].
    pub filter_session: Option<VerdictFn<P, SessionInfo>>,
    /// [`Hook::LogEvent`].
    pub log_event: Option<fn(&P, &LogEvent)>,
    /// [`Hook::TransportListeners`].
    pub transport_listeners: Option<fn(&P) -> Vec<Listener>>,
}

impl<P: Plugin> Hooks<P> {
    /// No hooks.
    pub fn new() -> Self {
        Self {
            kinds: Vec::new(),
            auth_begin: None,
            auth_continue: None,
            filter_connect: None,
            filter_auth_failure: None,
            filter_packets: None,
            filter_session: None,
            log_event: None,
            transport_listeners: None,
        }
    }

    /// Adds the [`AuthPlugin`] hooks.
    pub fn auth(mut self) -> Self
    where
        P: AuthPlugin,
    {
        self.kinds.push(PluginKind::Auth);
        self.auth_begin = Some(P::auth_begin);
        self.auth_continue = Some(P::auth_continue);
        self
    }

    /// Adds the [`FilterPlugin`] hooks.
    pub fn filter(mut self) -> Self
    where
        P: FilterPlugin,
    {
        self.kinds.push(PluginKind::Filter);
        self.filter_session = Some(P::filter_session);
        self.filter_connect = Some(P::filter_connect);
        self.filter_auth_failure = Some(P::filter_auth_failure);
        self.filter_packets = Some(P::filter_packets);
        self
    }

    /// Adds the [`LogPlugin`] hook.
    pub fn logging(mut self) -> Self
    where
        P: LogPlugin,
    {
        self.kinds.push(PluginKind::Logging);
        self.log_event = Some(P::log_event);
        self
    }

    /// Adds the [`TransportPlugin`] hook.
    pub fn transport(mut self) -> Self
    where
        P: TransportPlugin,
    {
        self.kinds.push(PluginKind::Transport);
        self.transport_listeners = Some(P::listeners);
        self
    }

    /// The manifest these hooks describe.
    pub fn manifest(&self) -> Manifest {
        let has = [
            (Hook::AuthBegin, self.auth_begin.is_some()),
            (Hook::AuthContinue, self.auth_continue.is_some()),
            (Hook::FilterConnect, self.filter_connect.is_some()),
            (Hook::FilterPackets, self.filter_packets.is_some()),
            (Hook::FilterAuthFailure, self.filter_auth_failure.is_some()),
            (Hook::FilterSession, self.filter_session.is_some()),
            (Hook::LogEvent, self.log_event.is_some()),
            (Hook::TransportListeners, self.transport_listeners.is_some()),
        ];
        Manifest {
            name: P::NAME.to_owned(),
            version: P::VERSION.to_owned(),
            kinds: self.kinds.clone(),
            provides: P::provides(),
            depends: P::depends(),
            hooks: has.into_iter().filter(|h| h.1).map(|h| h.0).collect(),
        }
    }
}

impl<P: Plugin> Default for Hooks<P> {
    fn default() -> Self {
        Self::new()
    }
}

/// The plugin and its hooks, as one instance holds them.
pub struct State<P> {
    /// The plugin.
    pub plugin: P,
    /// Its hooks.
    pub hooks: Hooks<P>,
}

impl<P: Exported> State<P> {
    /// Calls auth hook `f` (`auth_begin` or `auth_continue`).
    pub fn auth(
        &self,
        f: Option<AuthFn<P>>,
        hook: Hook,
        req: &AuthRequest,
    ) -> Result<AuthStep, String> {
        let f = f.ok_or_else(|| not_exported(hook))?;
        f(&self.plugin, req).map_err(|e| e.to_string())
    }

    /// Calls `filter_connect`.
    pub fn filter_connect(&self, info: &ConnectInfo) -> Result<Verdict, String> {
        let f = self
            .hooks
            .filter_connect
            .ok_or_else(|| not_exported(Hook::FilterConnect))?;
        f(&self.plugin, info).map_err(|e| e.to_string())
    }

    /// Calls `filter_auth_failure`.
    pub fn filter_auth_failure(&self, failure: &AuthFailure) -> Result<Verdict, String> {
        let f = self
            .hooks
            .filter_auth_failure
            .ok_or_else(|| not_exported(Hook::FilterAuthFailure))?;
        f(&self.plugin, failure).map_err(|e| e.to_string())
    }

    /// Calls `filter_packets` and checks it gave one verdict per packet.
    pub fn filter_packets(
        &self,
        batch: &[Packet<'_>],
        out: &mut Vec<PacketVerdict>,
    ) -> Result<(), String> {
        let f = self
            .hooks
            .filter_packets
            .ok_or_else(|| not_exported(Hook::FilterPackets))?;
        let before = out.len();
        f(&self.plugin, batch, out).map_err(|e| e.to_string())?;
        if out.len() - before != batch.len() {
            return Err(format!(
                "filter-packets gave {} verdicts for {} packets",
                out.len() - before,
                batch.len()
            ));
        }
        Ok(())
    }

    /// Calls `filter_session`.
    pub fn filter_session(&self, session: &SessionInfo) -> Result<Verdict, String> {
        let f = self
            .hooks
            .filter_session
            .ok_or_else(|| not_exported(Hook::FilterSession))?;
        f(&self.plugin, session).map_err(|e| e.to_string())
    }

    /// The `extension` entry point: dispatches the hooks added after contract 1.0 by name, with
    /// JSON input and output ([`ext`]). A name this SDK does not know is [`ext::unknown`].
    pub fn extension(&self, name: &str, input: &[u8]) -> Result<Vec<u8>, String> {
        match Hook::parse(name) {
            Some(Hook::FilterSession) => {
                let session: SessionInfo = ext::decode(name, input)?;
                Ok(ext::encode(&self.filter_session(&session)?))
            }
            _ => Err(ext::unknown(name)),
        }
    }

    /// Calls `log_event` if exported.
    pub fn log_event(&self, event: &LogEvent) {
        if let Some(f) = self.hooks.log_event {
            f(&self.plugin, event);
        }
    }

    /// Calls `transport_listeners` if exported.
    pub fn listeners(&self) -> Vec<Listener> {
        self.hooks
            .transport_listeners
            .map(|f| f(&self.plugin))
            .unwrap_or_default()
    }
}

fn not_exported(hook: Hook) -> String {
    format!("hook {hook} is not exported by this plugin")
}
