//! The WASM glue: wit-bindgen bindings of the world `wolfguard:plugin/plugin`, conversions
//! between its types and the model, and the per-instance plugin slot the export macro fills.

use std::sync::OnceLock;

use wolfguard_plugin_api::model::{
    Answer, AuthFailure, AuthRequest, AuthStep, ConnectInfo, Hook, Level, LogEvent, Packet,
    PacketVerdict, PluginKind, PromptKind, Verdict,
};

use crate::rt::{Exported, State};
use crate::{Config, Host};

pub use wit_bindgen;

/// Generated bindings. wit-bindgen emits unsafe ABI shims: its own unsafe, not ours.
#[allow(unsafe_code, missing_docs, clippy::all)]
pub mod bindings {
    wit_bindgen::generate!({
        path: "../plugin-api/wit",
        world: "plugin",
        pub_export_macro: true,
        runtime_path: "wolfguard_sdk::wasm::wit_bindgen::rt",
        default_bindings_module: "wolfguard_sdk::wasm::bindings",
    });
}

use bindings::wolfguard::plugin::host as imports;
pub use bindings::wolfguard::plugin::types;

/// The one plugin instance of this component instance (the host instantiates one component
/// instance per worker thread).
pub struct Slot<P> {
    cell: OnceLock<State<P>>,
}

/// The manifest of `P`, as WIT.
pub fn manifest<P: Exported>() -> types::Manifest {
    let m = P::hooks().manifest();
    types::Manifest {
        name: m.name,
        version: m.version,
        kinds: m.kinds.into_iter().map(kind).collect(),
        provides: m.provides,
        depends: m.depends,
        hooks: m.hooks.iter().map(|h| h.as_str().to_owned()).collect(),
    }
}

impl<P: Exported> Slot<P> {
    /// An empty slot.
    pub const fn new() -> Self {
        Self {
            cell: OnceLock::new(),
        }
    }

    fn get(&self) -> Result<&State<P>, String> {
        self.cell
            .get()
            .ok_or_else(|| "plugin called before instantiate".to_owned())
    }

    /// Builds the plugin from `settings`.
    pub fn instantiate(&self, settings: &str) -> Result<(), String> {
        let config = Config::parse(settings).map_err(|e| e.to_string())?;
        let plugin = P::new(&config, Host::wasm()).map_err(|e| e.to_string())?;
        self.cell
            .set(State {
                plugin,
                hooks: P::hooks(),
            })
            .map_err(|_| "plugin instantiated twice".to_owned())
    }

    /// `auth-begin` or `auth-continue`.
    pub fn auth(&self, req: types::AuthRequest, hook: Hook) -> Result<types::AuthStep, String> {
        let s = self.get()?;
        let f = match hook {
            Hook::AuthBegin => s.hooks.auth_begin,
            _ => s.hooks.auth_continue,
        };
        s.auth(f, hook, &auth_request(req)).map(auth_step)
    }

    /// `filter-connect`.
    pub fn filter_connect(&self, info: types::ConnectInfo) -> Result<types::Verdict, String> {
        let info = ConnectInfo {
            peer: info.peer,
            local: info.local,
            sni: info.sni,
        };
        self.get()?.filter_connect(&info).map(verdict)
    }

    /// `filter-auth-failure`.
    pub fn filter_auth_failure(&self, f: types::AuthFailure) -> Result<types::Verdict, String> {
        let f = AuthFailure {
            peer: f.peer,
            user: f.user,
            reason: f.reason,
        };
        self.get()?.filter_auth_failure(&f).map(verdict)
    }

    /// `filter-packets`.
    pub fn filter_packets(
        &self,
        batch: types::PacketBatch,
    ) -> Result<Vec<types::PacketVerdict>, String> {
        let n = batch.sessions.len();
        if batch.ingress.len() != n || batch.offsets.len() != n + 1 {
            return Err("malformed packet batch".to_owned());
        }
        let mut packets: Vec<Packet<'_>> = Vec::with_capacity(n);
        for i in 0..n {
            let (start, end) = (batch.offsets[i] as usize, batch.offsets[i + 1] as usize);
            let data = batch
                .data
                .get(start..end)
                .ok_or_else(|| "malformed packet batch".to_owned())?;
            packets.push(Packet {
                session: batch.sessions[i],
                ingress: batch.ingress[i],
                data,
            });
        }
        let mut out = Vec::with_capacity(n);
        self.get()?.filter_packets(&packets, &mut out)?;
        Ok(out
            .into_iter()
            .map(|v| match v {
                PacketVerdict::Accept => types::PacketVerdict::Accept,
                PacketVerdict::Drop => types::PacketVerdict::Drop,
                PacketVerdict::Reject => types::PacketVerdict::Reject,
            })
            .collect())
    }

    /// `extension`: the hooks added after contract 1.0, by name.
    pub fn extension(&self, name: &str, input: &[u8]) -> Result<Vec<u8>, String> {
        self.get()?.extension(name, input)
    }

    /// `log-event`.
    pub fn log_event(&self, e: types::Event) {
        if let Ok(s) = self.get() {
            s.log_event(&LogEvent {
                kind: e.kind,
                session: e.session,
                fields: e.fields,
            });
        }
    }

    /// `transport-listeners`.
    pub fn listeners(&self) -> Vec<types::Listener> {
        self.get()
            .map(|s| s.listeners())
            .unwrap_or_default()
            .into_iter()
            .map(|l| types::Listener {
                name: l.name,
                bind: l.bind,
                protocol: l.protocol,
            })
            .collect()
    }
}

impl<P: Exported> Default for Slot<P> {
    fn default() -> Self {
        Self::new()
    }
}

fn kind(k: PluginKind) -> types::PluginKind {
    match k {
        PluginKind::Auth => types::PluginKind::Auth,
        PluginKind::Filter => types::PluginKind::Filter,
        PluginKind::Logging => types::PluginKind::Logging,
        PluginKind::Transport => types::PluginKind::Transport,
    }
}

fn auth_request(r: types::AuthRequest) -> AuthRequest {
    AuthRequest {
        conversation: r.conversation,
        peer: r.peer,
        group: r.group,
        state: r.state,
        answers: r
            .answers
            .into_iter()
            .map(|a| Answer {
                name: a.name,
                value: a.value,
            })
            .collect(),
    }
}

fn auth_step(s: AuthStep) -> types::AuthStep {
    match s {
        AuthStep::Accept {
            user,
            groups,
            attributes,
        } => types::AuthStep::Accept(types::Accept {
            user,
            groups,
            attributes,
        }),
        AuthStep::Reject { reason } => types::AuthStep::Reject(reason),
        AuthStep::Challenge {
            message,
            prompts,
            state,
        } => types::AuthStep::Challenge(types::Challenge {
            message,
            prompts: prompts
                .into_iter()
                .map(|p| types::Prompt {
                    name: p.name,
                    label: p.label,
                    kind: match p.kind {
                        PromptKind::Text => types::PromptKind::Text,
                        PromptKind::Password => types::PromptKind::Password,
                        PromptKind::Hidden => types::PromptKind::Hidden,
                    },
                })
                .collect(),
            state,
        }),
    }
}

fn verdict(v: Verdict) -> types::Verdict {
    match v {
        Verdict::Accept => types::Verdict::Accept,
        Verdict::Drop => types::Verdict::Drop,
        Verdict::Reject(r) => types::Verdict::Reject(r),
    }
}

pub(crate) fn host_log(level: Level, message: &str) {
    let level = match level {
        Level::Error => types::Level::Error,
        Level::Warn => types::Level::Warn,
        Level::Info => types::Level::Info,
        Level::Debug => types::Level::Debug,
        Level::Trace => types::Level::Trace,
    };
    imports::log(level, message);
}

pub(crate) fn host_counter_add(name: &str, delta: u64) {
    imports::counter_add(name, delta);
}

pub(crate) fn host_kv_get(key: &str) -> Option<Vec<u8>> {
    imports::kv_get(key)
}

pub(crate) fn host_kv_put(key: &str, value: &[u8]) {
    imports::kv_put(key, value);
}
