//! The DTLS side of a tunnel: handshake on the first ClientHello, record decryption into a
//! reusable inbox, encryption of outgoing frames, and the rule that decides which channel
//! carries traffic to the client.
//!
//! openconnect sends its first data over CSTP while DTLS comes up, moves to DTLS once the
//! handshake (and its MTU probe) succeeded, and moves back to CSTP when DTLS dies. The server
//! follows the client: DTLS is *active* after a completed handshake and whenever a DTLS record
//! arrives; it becomes inactive when the client sends data over CSTP, or when nothing arrived
//! over UDP for [`SWITCH_TO_TCP`] (ocserv's `switch-to-tcp-timeout`).

use std::net::SocketAddr;
use std::ops::Range;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rand::RngCore as _;
use tokio::net::UdpSocket;
use wolfguard_proto::connect::DtlsMode;
use wolfguard_proto::dtls;
use wolfguard_tls::{DtlsContext, DtlsKeys, DtlsSession, HandshakeStatus, ReadOutcome};

use crate::dataplane::Datagram;

/// Silence on UDP after which traffic to the client goes over CSTP again.
pub const SWITCH_TO_TCP: Duration = Duration::from_secs(25);
/// A handshake that has not completed by then is dropped (the client retries).
const HANDSHAKE_LIMIT: Duration = Duration::from_secs(30);

/// What a tunnel needs to accept DTLS: the id its ClientHello will carry and its keys.
#[derive(Debug, Clone)]
pub struct DtlsSetup {
    /// `X-DTLS-App-ID` or `X-DTLS-Session-ID`: the ClientHello session id that routes the flow
    /// to this tunnel.
    pub app_id: [u8; 32],
    /// The session's keys: the TLS exporter value or the client's master secret.
    pub keys: DtlsKeys,
    /// What the CONNECT response announces.
    pub mode: DtlsMode,
    /// The shared DTLS PSK context.
    pub ctx: DtlsContext,
    /// Largest datagram payload (link MTU minus IP and UDP headers).
    pub mtu: u16,
}

/// One tunnel's DTLS channel.
#[derive(Debug)]
pub struct DtlsChannel {
    setup: DtlsSetup,
    session: Option<DtlsSession>,
    started: Option<Instant>,
    peer: Option<SocketAddr>,
    socket: Option<Arc<UdpSocket>>,
    /// Whether traffic to the client goes over DTLS now.
    pub active: bool,
    last_rx: Instant,
    inbox: Vec<u8>,
    records: Vec<Range<usize>>,
    tmp: Vec<u8>,
    /// Client addresses this tunnel received datagrams from (to unregister them at the end).
    pub peers_seen: Vec<SocketAddr>,
    /// Payload bytes received over DTLS.
    pub rx_bytes: u64,
    /// Payload bytes sent over DTLS.
    pub tx_bytes: u64,
    /// Completed handshakes (1 normally; more after client DTLS reconnects).
    pub handshakes: u32,
}

impl DtlsChannel {
    /// A channel waiting for its first ClientHello.
    pub fn new(setup: DtlsSetup, now: Instant) -> Self {
        Self {
            setup,
            session: None,
            started: None,
            peer: None,
            socket: None,
            active: false,
            last_rx: now,
            inbox: Vec::with_capacity(16 * 1024),
            records: Vec::new(),
            tmp: vec![0; 16 * 1024 + 256],
            peers_seen: Vec::new(),
            rx_bytes: 0,
            tx_bytes: 0,
            handshakes: 0,
        }
    }

    /// Takes one datagram; afterwards [`Self::records`] yields the decrypted record payloads.
    pub fn receive(&mut self, d: Datagram, now: Instant) {
        self.inbox.clear();
        self.records.clear();
        if !self.peers_seen.contains(&d.peer) && self.peers_seen.len() < 16 {
            self.peers_seen.push(d.peer);
        }
        if dtls::is_client_hello(&d.bytes) {
            let restart = match &self.session {
                None => true,
                // A client restarting DTLS (after a timeout or rekey) sends a fresh ClientHello;
                // a retransmitted or cookie-bearing one belongs to the handshake in progress.
                Some(s) => s.is_connected() || self.peer != Some(d.peer),
            };
            if restart && !self.start_handshake(now) {
                return;
            }
        }
        let Some(session) = self.session.as_mut() else {
            return;
        };
        if session.is_connected() && self.peer != Some(d.peer) {
            // Only a record that decrypts moves the channel to a new address (NAT rebinding).
            tracing::debug!(old = ?self.peer, new = %d.peer, "DTLS datagram from a new address");
        }
        session.feed(&d.bytes);
        if !session.is_connected() {
            self.peer = Some(d.peer);
            self.socket = Some(d.socket);
            match session.handshake() {
                Ok(HandshakeStatus::Done) => {
                    self.handshakes += 1;
                    self.active = true;
                    self.last_rx = now;
                    tracing::info!(cipher = %session.cipher(), peer = %d.peer, "DTLS up");
                }
                Ok(HandshakeStatus::WantRead) => {}
                Err(e) => {
                    tracing::info!(error = %e, peer = %d.peer, "DTLS handshake failed");
                    self.flush();
                    self.session = None;
                    return;
                }
            }
            self.flush();
            return;
        }
        loop {
            match session.read(&mut self.tmp) {
                Ok(ReadOutcome::Data(n)) => {
                    let start = self.inbox.len();
                    self.inbox.extend_from_slice(&self.tmp[..n]);
                    self.records.push(start..start + n);
                }
                Ok(ReadOutcome::WantRead) => break,
                Ok(ReadOutcome::Closed) => {
                    self.session = None;
                    self.active = false;
                    break;
                }
                Err(e) => {
                    tracing::debug!(error = %e, "undecryptable DTLS datagram dropped");
                    break;
                }
            }
        }
        if !self.records.is_empty() {
            self.last_rx = now;
            self.active = true;
            self.peer = Some(d.peer);
            self.socket = Some(d.socket);
        }
        self.flush();
    }

    fn start_handshake(&mut self, now: Instant) -> bool {
        let mut cookie = [0u8; 32];
        rand::rng().fill_bytes(&mut cookie);
        match self
            .setup
            .ctx
            .new_session(self.setup.keys.clone(), cookie, self.setup.mtu)
        {
            Ok(s) => {
                self.session = Some(s);
                self.started = Some(now);
                self.active = false;
                true
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot create a DTLS session");
                false
            }
        }
    }

    /// The decrypted record payloads of the last datagram.
    pub fn records(&self) -> impl Iterator<Item = &[u8]> {
        self.records.iter().map(|r| &self.inbox[r.clone()])
    }

    /// Encrypts one DTLS frame (type byte + payload) and sends it. False when DTLS is not up or
    /// the frame does not fit; the caller then uses CSTP.
    pub fn send(&mut self, frame: &[u8]) -> bool {
        let Some(session) = self.session.as_mut().filter(|s| s.is_connected()) else {
            return false;
        };
        if session.write(frame).is_err() {
            return false;
        }
        self.tx_bytes += frame.len().saturating_sub(1) as u64;
        self.flush();
        true
    }

    fn flush(&mut self) {
        let (Some(session), Some(socket), Some(peer)) =
            (self.session.as_mut(), self.socket.as_ref(), self.peer)
        else {
            return;
        };
        // UDP: a full socket buffer drops, as the network would.
        session.drain_outgoing(|d| {
            let _ = socket.try_send_to(d, peer);
        });
    }

    /// When [`Self::handle_timeout`] wants to run next.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let handshake = self
            .session
            .as_ref()
            .and_then(|s| s.timeout())
            .zip(self.started);
        let handshake =
            handshake.map(|(t, started)| (Instant::now() + t).min(started + HANDSHAKE_LIMIT));
        let switch = self.active.then(|| self.last_rx + SWITCH_TO_TCP);
        match (handshake, switch) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Retransmits handshake flights, gives up stale handshakes, and falls back to CSTP after
    /// silence on UDP.
    pub fn handle_timeout(&mut self, now: Instant) {
        if let Some(s) = self.session.as_mut().filter(|s| !s.is_connected()) {
            let stale = self
                .started
                .is_some_and(|t| now.duration_since(t) >= HANDSHAKE_LIMIT);
            if stale || s.handle_timeout().is_err() {
                self.session = None;
            } else {
                self.flush();
            }
        }
        if self.active && now.duration_since(self.last_rx) >= SWITCH_TO_TCP {
            tracing::debug!("no UDP for {SWITCH_TO_TCP:?}: traffic to the client goes over CSTP");
            self.active = false;
        }
    }
}
