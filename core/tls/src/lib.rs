//! wolfguard's only door to wolfSSL.
//!
//! This crate wraps the handful of wolfSSL calls the VPN needs behind a safe, sans-IO API: the
//! caller feeds ciphertext it read from a socket, pulls plaintext out, pushes plaintext in and
//! drains the ciphertext wolfSSL produced. No socket is ever handed to wolfSSL; its I/O callbacks
//! only touch two in-memory queues owned by the session. That keeps wolfSSL out of the async
//! runtime's way and lets one task own each connection.
//!
//! ```text
//!   socket bytes ──feed()──► [incoming] ──wolfSSL_read──► plaintext ──► caller
//!   caller ──write()──► wolfSSL_write ──► [outgoing] ──outgoing()/consume()──► socket
//! ```
//!
//! What it does:
//! - a [`ServerContext`] (TLS 1.2/1.3 server, certificate chain and key from PEM files, group
//!   preference `X25519MLKEM768` first, a secure default cipher policy that configuration may
//!   tighten but never widen), shareable across threads;
//! - a [`TlsSession`] per connection (`Send`, not `Sync`), with the
//!   `EXPORTER-openconnect-psk` keying-material exporter that DTLS PSK-NEGOTIATE needs;
//! - a [`DtlsContext`] and [`DtlsSession`] for the DTLS 1.2 data channel in datagram style:
//!   PSK-NEGOTIATE keyed by that exporter, or resumption of a client-sent master secret in which
//!   anything but an abbreviated handshake is refused;
//! - [`key_kind`], which tells RSA from ECDSA keys (resumption suites must suit the key).
//!
//! What it does not do: sockets, timers, HTTP or CSTP. Those live in `wolfguard-proto` and the
//! daemon. Every `unsafe` block here carries a `// SAFETY:` comment; this crate and
//! `wolfguard-sys` are the only ones allowed to contain any.
#![allow(unsafe_code)]
#![warn(missing_docs)]

mod context;
mod dtls;
mod error;
mod ffi;
mod key;
mod session;

#[cfg(feature = "client")]
pub use context::ClientContext;
pub use context::{DEFAULT_CIPHER_LIST, DEFAULT_GROUPS, ServerConfig, ServerContext, TlsVersion};
pub use dtls::{
    CID_LEN, DTLS13_CIPHER_LIST, DtlsContext, DtlsKeys, DtlsPskContext, DtlsSession,
    PSK_CIPHER_LIST,
};
pub use error::TlsError;
pub use key::key_kind;
pub use session::{HandshakeStatus, ReadOutcome, TlsSession};

/// The RFC 5705 label openconnect uses to derive the DTLS pre-shared key from the CSTP session.
pub const OPENCONNECT_PSK_LABEL: &str = "EXPORTER-openconnect-psk";
