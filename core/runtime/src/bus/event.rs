//! The events the daemon publishes. Plain owned data, no protocol types.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// The daemon-wide identifier of one VPN session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SessionId(pub u64);

/// Something that happened in the daemon, fanned out to every interested subscriber.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// A session authenticated and its tunnel (CSTP) came up.
    SessionUp {
        /// The session.
        session: SessionId,
        /// Authenticated user name.
        user: String,
        /// Selected group, if any.
        group: Option<String>,
        /// The client's address as seen by the listener.
        peer: SocketAddr,
        /// Tunnel IPv4 address leased to the client.
        ipv4: Option<Ipv4Addr>,
        /// Tunnel IPv6 address leased to the client.
        ipv6: Option<Ipv6Addr>,
    },
    /// A session ended; byte counts are totals over its lifetime.
    SessionDown {
        /// The session.
        session: SessionId,
        /// Its user.
        user: String,
        /// Why it ended.
        reason: DownReason,
        /// Bytes received from the client.
        rx_bytes: u64,
        /// Bytes sent to the client.
        tx_bytes: u64,
    },
    /// An authentication attempt finished.
    AuthResult {
        /// The user name the client offered.
        user: String,
        /// The client's address.
        peer: SocketAddr,
        /// Whether it succeeded.
        ok: bool,
        /// Why it failed (or a note on success), for logs and the IDPS.
        reason: Option<String>,
    },
    /// A session missed its dead-peer-detection deadline.
    DpdTimeout {
        /// The session.
        session: SessionId,
        /// Its user.
        user: String,
    },
    /// An address was banned by the IDPS.
    Ban {
        /// The banned address.
        ip: IpAddr,
        /// Unix time (seconds) when the ban lifts.
        until_secs: u64,
        /// The ban score that triggered it.
        score: u32,
    },
    /// A configuration reload finished.
    ConfigReloaded {
        /// Settings that took effect live.
        applied: Vec<String>,
        /// Settings that changed but need a restart.
        needs_restart: Vec<String>,
    },
    /// A session's DTLS channel came up.
    DtlsUp {
        /// The session.
        session: SessionId,
    },
    /// A session's DTLS channel went down (traffic falls back to CSTP).
    DtlsDown {
        /// The session.
        session: SessionId,
    },
}

/// The variant of an [`Event`] without its data, for [`EventFilter`](super::EventFilter)s.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum EventKind {
    /// [`Event::SessionUp`].
    SessionUp,
    /// [`Event::SessionDown`].
    SessionDown,
    /// [`Event::AuthResult`].
    AuthResult,
    /// [`Event::DpdTimeout`].
    DpdTimeout,
    /// [`Event::Ban`].
    Ban,
    /// [`Event::ConfigReloaded`].
    ConfigReloaded,
    /// [`Event::DtlsUp`].
    DtlsUp,
    /// [`Event::DtlsDown`].
    DtlsDown,
}

/// Why a session ended.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DownReason {
    /// The client disconnected (logout or `BYE`).
    UserDisconnect,
    /// An administrator or policy disconnected it.
    ServerDisconnect,
    /// Dead-peer detection gave up.
    DpdTimeout,
    /// No traffic for the idle timeout.
    IdleTimeout,
    /// The session's maximum lifetime passed.
    SessionExpired,
    /// An error ended it; the text is for humans.
    Error(String),
    /// The daemon is shutting down.
    Shutdown,
}

impl Event {
    /// The event's variant, without its data.
    pub fn kind(&self) -> EventKind {
        match self {
            Event::SessionUp { .. } => EventKind::SessionUp,
            Event::SessionDown { .. } => EventKind::SessionDown,
            Event::AuthResult { .. } => EventKind::AuthResult,
            Event::DpdTimeout { .. } => EventKind::DpdTimeout,
            Event::Ban { .. } => EventKind::Ban,
            Event::ConfigReloaded { .. } => EventKind::ConfigReloaded,
            Event::DtlsUp { .. } => EventKind::DtlsUp,
            Event::DtlsDown { .. } => EventKind::DtlsDown,
        }
    }
}

impl fmt::Display for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:016x}", self.0)
    }
}
