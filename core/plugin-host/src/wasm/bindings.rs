//! Host-side bindings of the WIT world and conversions between its types and the model.

use wolfguard_plugin_api::{
    AuthFailure, AuthRequest, AuthStep, ConnectInfo, Hook, Level, Listener, LogEvent, Manifest,
    PacketVerdict, PluginKind, Prompt, PromptKind, Verdict,
};

wasmtime::component::bindgen!({
    path: "../../plugin-api/wit",
    world: "plugin",
    // Host calls return `wasmtime::Result` so a call the sandbox does not allow traps.
    imports: { default: trappable },
});

pub(crate) use exports::wolfguard::plugin::hooks as guest;
pub(crate) use wolfguard::plugin::types as t;

pub(crate) fn manifest(m: t::Manifest) -> Manifest {
    Manifest {
        name: m.name,
        version: m.version,
        kinds: m
            .kinds
            .into_iter()
            .map(|k| match k {
                t::PluginKind::Auth => PluginKind::Auth,
                t::PluginKind::Filter => PluginKind::Filter,
                t::PluginKind::Logging => PluginKind::Logging,
                t::PluginKind::Transport => PluginKind::Transport,
            })
            .collect(),
        provides: m.provides,
        depends: m.depends,
        hooks: m.hooks.iter().filter_map(|h| Hook::parse(h)).collect(),
    }
}

pub(crate) fn level(l: t::Level) -> Level {
    match l {
        t::Level::Error => Level::Error,
        t::Level::Warn => Level::Warn,
        t::Level::Info => Level::Info,
        t::Level::Debug => Level::Debug,
        t::Level::Trace => Level::Trace,
    }
}

pub(crate) fn auth_request(r: &AuthRequest) -> t::AuthRequest {
    t::AuthRequest {
        conversation: r.conversation,
        peer: r.peer.clone(),
        group: r.group.clone(),
        state: r.state.clone(),
        answers: r
            .answers
            .iter()
            .map(|a| t::Answer {
                name: a.name.clone(),
                value: a.value.clone(),
            })
            .collect(),
    }
}

pub(crate) fn auth_step(s: t::AuthStep) -> AuthStep {
    match s {
        t::AuthStep::Accept(a) => AuthStep::Accept {
            user: a.user,
            groups: a.groups,
            attributes: a.attributes,
        },
        t::AuthStep::Reject(reason) => AuthStep::Reject { reason },
        t::AuthStep::Challenge(c) => AuthStep::Challenge {
            message: c.message,
            prompts: c
                .prompts
                .into_iter()
                .map(|p| Prompt {
                    name: p.name,
                    label: p.label,
                    kind: match p.kind {
                        t::PromptKind::Text => PromptKind::Text,
                        t::PromptKind::Password => PromptKind::Password,
                        t::PromptKind::Hidden => PromptKind::Hidden,
                    },
                })
                .collect(),
            state: c.state,
        },
    }
}

pub(crate) fn connect_info(c: &ConnectInfo) -> t::ConnectInfo {
    t::ConnectInfo {
        peer: c.peer.clone(),
        local: c.local.clone(),
        sni: c.sni.clone(),
    }
}

pub(crate) fn auth_failure(f: &AuthFailure) -> t::AuthFailure {
    t::AuthFailure {
        peer: f.peer.clone(),
        user: f.user.clone(),
        reason: f.reason.clone(),
    }
}

pub(crate) fn verdict(v: t::Verdict) -> Verdict {
    match v {
        t::Verdict::Accept => Verdict::Accept,
        t::Verdict::Drop => Verdict::Drop,
        t::Verdict::Reject(r) => Verdict::Reject(r),
    }
}

pub(crate) fn packet_verdict(v: t::PacketVerdict) -> PacketVerdict {
    match v {
        t::PacketVerdict::Accept => PacketVerdict::Accept,
        t::PacketVerdict::Drop => PacketVerdict::Drop,
        t::PacketVerdict::Reject => PacketVerdict::Reject,
    }
}

pub(crate) fn log_event(e: &LogEvent) -> t::Event {
    t::Event {
        kind: e.kind.clone(),
        session: e.session,
        fields: e.fields.clone(),
    }
}

pub(crate) fn listener(l: t::Listener) -> Listener {
    Listener {
        name: l.name,
        bind: l.bind,
        protocol: l.protocol,
    }
}
