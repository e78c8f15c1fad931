//! The OpenConnect / AnyConnect protocol, without I/O.
//!
//! `wolfguard-proto` turns bytes a VPN client sent into typed values, and typed values into the
//! exact bytes the real `openconnect` 9.x client and Cisco Secure Client expect back. It covers
//! the parts of the protocol that are plain text or plain framing:
//!
//! - [`http`]: HTTP/1.x request heads as the VPN front end sees them (size caps, no chunked
//!   bodies, case-preserving responses), plus the response builder the other modules use.
//! - [`icmp`]: the ICMP "administratively prohibited" error answering a packet a filter rejects.
//! - [`auth`]: the XML "aggregate auth" exchange: `init` / `auth-reply` / `logout` POST bodies
//!   (and the legacy urlencoded form), the `auth-request` form, the `complete` document, the
//!   `webvpn` session cookie and group-name resolution.
//! - [`connect`]: `CONNECT /CSCOSSLC/tunnel`, its `X-CSTP-*` / `X-DTLS-*` request headers, User-
//!   Agent classification, and the `200 CONNECTED` response with headers in exact case and
//!   ocserv order.
//! - [`mtu`]: the data-MTU arithmetic of ocserv (`calc_mtu_values`).
//! - [`cstp`]: the 8-byte `STF\x01` framing of the TLS tunnel stream and BYE reasons.
//! - [`timers`]: dead-peer detection, idle and session timeouts for one channel, driven by an
//!   injected clock.
//! - [`urls`]: the static pages Cisco clients fetch during connection setup.
//!
//! # What it does not do
//!
//! It contains no networking code, no TLS or DTLS, no threads and no clock: the daemon reads
//! sockets, decrypts with `wolfguard-tls`, and passes the bytes and `now: Instant` in. It does
//! not decide policy either: whether a password is right, which address a user gets, which
//! routes apply or whether a cookie is still valid are the daemon's (and its plugins') business.
//! This crate only guarantees that whatever the daemon decides is expressed on the wire the way
//! the clients parse it, and that nothing a peer sends can make it panic or allocate without
//! bound (every parser has explicit limits).
//!
//! # Data flow
//!
//! ```text
//!  client ──TLS──▶ daemon ──plaintext bytes──▶ http::parse_request_head ──▶ RequestHead
//!                                                        │
//!          ┌─────────────── POST / , /auth ──────────────┤─────────── GET /1/… ──▶ urls
//!          ▼                                             ▼
//!   auth::parse_auth_post ──▶ AuthPost        connect::ConnectRequest::from_head
//!          │  (daemon runs the auth backend)             │  (daemon checks the cookie,
//!          ▼                                             ▼   leases addresses, mtu::data_mtu)
//!   AuthForm::to_xml / auth::complete_xml     ConnectResponse::write ──▶ "200 CONNECTED"
//!          │                                             │
//!          └──────▶ http::ResponseHead ──▶ bytes ──▶ daemon ──TLS──▶ client
//!
//!  after CONNECT, on the same TLS stream:
//!   TLS plaintext ──▶ cstp::decode_frame ──▶ (PacketType, payload) ──▶ daemon / tun
//!   tun packet ─────▶ cstp::append_frame ──▶ one TLS record per frame ──▶ client
//!   every rx/tx ────▶ timers::Liveness::handle_* ; poll_timeout / poll ──▶ LivenessAction
//! ```
//!
//! The wire reference is `openconnect-protocol.md` in the project's shared docs; section numbers
//! quoted in this crate (§2.5, §3.3, …) refer to it.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod auth;
pub mod connect;
pub mod cstp;
pub mod dtls;
pub mod http;
pub mod icmp;
pub mod mtu;
pub mod timers;
pub mod urls;
