//! The contract's data types as plain Rust, shared by the SDK (plugin side) and the host.
//!
//! Both transports carry exactly these values: [`native`](crate::native) converts them to and from
//! abi_stable types, and the WIT world `wit/wolfguard.wit` declares the same records for WASM.

use std::fmt;

/// The roles a plugin can play. Complete by definition of the contract version: a new role is a
/// new contract version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PluginKind {
    /// Authenticates users through a conversation of prompts and answers.
    Auth,
    /// Gives verdicts on connect attempts, auth failures and packets.
    Filter,
    /// Receives the daemon's events.
    Logging,
    /// Declares extra listeners or front ends.
    Transport,
}

/// A hook of the contract, as named in manifests and capability lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Hook {
    /// [`PluginKind::Auth`]: first step of a conversation.
    AuthBegin,
    /// [`PluginKind::Auth`]: the client's answers to a challenge.
    AuthContinue,
    /// [`PluginKind::Filter`]: a new TCP/UDP connect attempt.
    FilterConnect,
    /// [`PluginKind::Filter`]: a batch of data-path packets.
    FilterPackets,
    /// [`PluginKind::Filter`]: an authentication failed (contract 0.2).
    FilterAuthFailure,
    /// [`PluginKind::Logging`]: one daemon event.
    LogEvent,
    /// [`PluginKind::Transport`]: the listeners the plugin wants.
    TransportListeners,
}

/// What a plugin declares about itself.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Manifest {
    /// The plugin's own name (the daemon names instances after its `[plugins.<name>]` table).
    pub name: String,
    /// The plugin's version, free-form (usually its crate version).
    pub version: String,
    /// The roles it plays.
    pub kinds: Vec<PluginKind>,
    /// Features it provides to others, e.g. `auth:local`.
    pub provides: Vec<String>,
    /// Features it needs from plugins loaded before it.
    pub depends: Vec<String>,
    /// The hooks it implements.
    pub hooks: Vec<Hook>,
}

/// One form field the client filled in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// Field name, e.g. `username`.
    pub name: String,
    /// What the client sent.
    pub value: String,
}

/// How a prompt is shown to the user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PromptKind {
    /// Echoed text.
    Text,
    /// Not echoed.
    Password,
    /// Not shown; sent back as is.
    Hidden,
}

/// One form field to ask the client for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prompt {
    /// Field name the answer comes back under.
    pub name: String,
    /// Label shown to the user.
    pub label: String,
    /// How it is shown.
    pub kind: PromptKind,
}

/// One step of an auth conversation, as the host hands it to the plugin.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AuthRequest {
    /// Identifies the conversation across steps (chosen by the host).
    pub conversation: u64,
    /// The client's address, `ip:port`.
    pub peer: String,
    /// The group the client selected, if any.
    pub group: Option<String>,
    /// Empty on begin; afterwards the blob the plugin returned with its last challenge. The host
    /// keeps it so any instance of the plugin can continue the conversation.
    pub state: Vec<u8>,
    /// The client's answers (on begin: whatever the first form already carried).
    pub answers: Vec<Answer>,
}

/// What an auth plugin answers to one step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthStep {
    /// The user is authenticated.
    Accept {
        /// Authenticated user name.
        user: String,
        /// Groups the user belongs to.
        groups: Vec<String>,
        /// Extra attributes (routes, limits, …) for the session.
        attributes: Vec<(String, String)>,
    },
    /// Authentication failed; the reason is logged, never shown to the client.
    Reject {
        /// Why, for logs.
        reason: String,
    },
    /// Ask the client for more.
    Challenge {
        /// Message shown above the form.
        message: String,
        /// Fields to ask for.
        prompts: Vec<Prompt>,
        /// Opaque plugin state, handed back in the next [`AuthRequest::state`].
        state: Vec<u8>,
    },
}

/// A connect attempt, before any TLS.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ConnectInfo {
    /// The client's address, `ip:port`.
    pub peer: String,
    /// The listener's address, `ip:port`.
    pub local: String,
    /// The TLS server name, when already known.
    pub sni: Option<String>,
}

/// A failed authentication, for filters that count failures (contract 0.2).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AuthFailure {
    /// The client's address, `ip:port`.
    pub peer: String,
    /// The user name offered.
    pub user: String,
    /// Why it failed.
    pub reason: String,
}

/// A filter's verdict on a connect attempt, an auth failure or a session.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    /// Let it through (other filters still run).
    Accept,
    /// Silently drop it.
    Drop,
    /// Refuse it with a reason.
    Reject(String),
}

/// One data-path packet, borrowed from the host's batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Packet<'a> {
    /// The session the packet belongs to.
    pub session: u64,
    /// From the client towards the network (`true`) or back (`false`).
    pub ingress: bool,
    /// The IP packet.
    pub data: &'a [u8],
}

/// A filter's verdict on one packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum PacketVerdict {
    /// Forward it.
    Accept = 0,
    /// Drop it silently.
    Drop = 1,
    /// Drop it and answer with an ICMP error.
    Reject = 2,
}

/// A daemon event as logging plugins see it: stable and enum-ish. `kind` names the event
/// (see [`LogEvent::KINDS`]); new kinds may appear in minor contract versions, so plugins must
/// ignore kinds they do not know.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LogEvent {
    /// The event's name, e.g. `session-up`.
    pub kind: String,
    /// The session it concerns, if any.
    pub session: Option<u64>,
    /// Its data as name/value pairs, in a stable order per kind.
    pub fields: Vec<(String, String)>,
}

/// An extra listener a transport plugin asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listener {
    /// Its name, for logs.
    pub name: String,
    /// Address to bind, `ip:port`.
    pub bind: String,
    /// Protocol it speaks, e.g. `tcp`, `udp`, `unix`.
    pub protocol: String,
}

/// Severity of a message a plugin logs through the host.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Level {
    /// Something failed.
    Error,
    /// Something looks wrong.
    Warn,
    /// Normal operation.
    Info,
    /// Details for debugging.
    Debug,
    /// Very verbose details.
    Trace,
}

impl PluginKind {
    /// All kinds, in manifest order.
    pub const ALL: [PluginKind; 4] = [Self::Auth, Self::Filter, Self::Logging, Self::Transport];

    /// The kind's name in manifests and config: `auth`, `filter`, `logging`, `transport`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Auth => "auth",
            Self::Filter => "filter",
            Self::Logging => "logging",
            Self::Transport => "transport",
        }
    }

    /// Parses [`as_str`](Self::as_str)'s output.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

impl Hook {
    /// All hooks of this contract version.
    pub const ALL: [Hook; 7] = [
        Self::AuthBegin,
        Self::AuthContinue,
        Self::FilterConnect,
        Self::FilterPackets,
        Self::FilterAuthFailure,
        Self::LogEvent,
        Self::TransportListeners,
    ];

    /// The hook's name in manifests and capability lists, e.g. `auth-begin`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::AuthBegin => "auth-begin",
            Self::AuthContinue => "auth-continue",
            Self::FilterConnect => "filter-connect",
            Self::FilterPackets => "filter-packets",
            Self::FilterAuthFailure => "filter-auth-failure",
            Self::LogEvent => "log-event",
            Self::TransportListeners => "transport-listeners",
        }
    }

    /// Parses [`as_str`](Self::as_str)'s output; unknown names (from a newer contract) are `None`.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|h| h.as_str() == s)
    }

    /// Whether the hook crosses through the `extension` entry point (added after contract 1.0)
    /// rather than a field of its own in the native root module or a function of the WIT world.
    pub const fn is_extension(self) -> bool {
        let _ = self;
        false
    }

    /// The kind of plugin that implements this hook.
    pub const fn kind(self) -> PluginKind {
        match self {
            Self::AuthBegin | Self::AuthContinue => PluginKind::Auth,
            Self::FilterConnect | Self::FilterPackets | Self::FilterAuthFailure => {
                PluginKind::Filter
            }
            Self::LogEvent => PluginKind::Logging,
            Self::TransportListeners => PluginKind::Transport,
        }
    }
}

impl AuthStep {
    /// A rejection with `reason`.
    pub fn reject(reason: impl Into<String>) -> Self {
        Self::Reject {
            reason: reason.into(),
        }
    }
}

impl AuthRequest {
    /// The value of answer `name`, if the client sent one.
    pub fn answer(&self, name: &str) -> Option<&str> {
        self.answers
            .iter()
            .find(|a| a.name == name)
            .map(|a| a.value.as_str())
    }
}

impl PacketVerdict {
    /// The verdict of wire code `code`; unknown codes are treated as [`PacketVerdict::Drop`].
    pub const fn from_code(code: u8) -> Self {
        match code {
            0 => Self::Accept,
            2 => Self::Reject,
            _ => Self::Drop,
        }
    }
}

impl LogEvent {
    /// The kinds the daemon publishes in this contract version.
    pub const KINDS: [&'static str; 8] = [
        "session-up",
        "session-down",
        "auth-result",
        "dpd-timeout",
        "ban",
        "config-reloaded",
        "dtls-up",
        "dtls-down",
    ];

    /// The value of field `name`, if present.
    pub fn field(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

impl Level {
    /// All levels, most severe first.
    pub const ALL: [Level; 5] = [
        Self::Error,
        Self::Warn,
        Self::Info,
        Self::Debug,
        Self::Trace,
    ];
}

impl fmt::Display for PluginKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Display for Hook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
