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
use std::os::fd::AsFd as _;
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
    /// The connection id offered to DTLS 1.3 clients (PSK mode only); its records then route
    /// by it wherever they come from.
    pub cid: Option<[u8; wolfguard_tls::CID_LEN]>,
    /// The session's keys: the TLS exporter value or the client's master secret.
    pub keys: DtlsKeys,
    /// What the CONNECT response announces.
    pub mode: DtlsMode,
    /// The shared DTLS context of the chosen mode (PSK-NEGOTIATE or resumption).
    pub ctx: DtlsContext,
    /// Largest datagram payload (link MTU minus IP and UDP headers).
    pub mtu: u16,
    /// The server address the client reached (the CSTP connection's local address, whose port
    /// is also the UDP port). Once DTLS is up the tunnel binds a socket here connected to the
    /// client, so that client's datagrams come straight to the tunnel's thread.
    pub local: Option<SocketAddr>,
    /// A renegotiation of the DTLS session sooner than this after the previous handshake ends
    /// the session (`timeouts.rekey_time / 2`, ocserv's rule, as for CSTP).
    pub min_renegotiation_interval: Duration,
}

/// Socket buffer of a tunnel's own connected UDP socket (the listening sockets get 8 MiB).
const OWN_SOCKET_BUFFER: usize = 1 << 20;

/// A handshake in progress and where it runs.
#[derive(Debug)]
struct Pending {
    session: DtlsSession,
    peer: SocketAddr,
    socket: Arc<UdpSocket>,
    started: Instant,
    retransmit_at: Instant,
}

/// One tunnel's DTLS channel.
#[derive(Debug)]
pub struct DtlsChannel {
    setup: DtlsSetup,
    /// The established session, if any.
    session: Option<DtlsSession>,
    /// A handshake in progress. The established session keeps carrying traffic until it
    /// completes (as ocserv does), so a stray or forged ClientHello cannot cut a working channel.
    pending: Option<Pending>,
    peer: Option<SocketAddr>,
    socket: Option<Arc<UdpSocket>>,
    /// This tunnel's socket connected to `peer`, when one could be made.
    own: Option<Arc<UdpSocket>>,
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
    /// Handshakes that failed.
    pub handshake_failures: u32,
    /// Renegotiations refused for coming too soon.
    pub renegotiations_refused: u32,
    /// The current session's handshake count and when it last changed.
    session_handshakes: (u32, Instant),
    moved_to: Option<SocketAddr>,
}

impl DtlsChannel {
    /// A channel waiting for its first ClientHello.
    pub fn new(setup: DtlsSetup, now: Instant) -> Self {
        Self {
            setup,
            session: None,
            pending: None,
            peer: None,
            socket: None,
            own: None,
            active: false,
            last_rx: now,
            inbox: Vec::with_capacity(16 * 1024),
            records: Vec::new(),
            tmp: vec![0; 16 * 1024 + 256],
            peers_seen: Vec::new(),
            rx_bytes: 0,
            tx_bytes: 0,
            handshakes: 0,
            handshake_failures: 0,
            renegotiations_refused: 0,
            session_handshakes: (0, now),
            moved_to: None,
        }
    }

    /// Takes one datagram; afterwards [`Self::records`] yields the decrypted record payloads.
    pub fn receive(&mut self, d: Datagram, now: Instant) {
        self.inbox.clear();
        self.records.clear();
        if !self.peers_seen.contains(&d.peer) && self.peers_seen.len() < 64 {
            self.peers_seen.push(d.peer);
        }
        // Handshake records: DTLS 1.2 alert/CCS/handshake content types, or (DTLS 1.3) any
        // encrypted record in the unified header format, which carries the client's Finished.
        let handshake_record = matches!(d.bytes.first(), Some(20..=22))
            || d.bytes
                .first()
                .is_some_and(|b| b & 0b1110_0000 == 0b0010_0000);
        if dtls::is_client_hello(&d.bytes) {
            // A retransmitted or cookie-bearing ClientHello continues the handshake of its
            // address; any other starts a new one (a client restarting DTLS uses a new socket).
            if self.pending.as_ref().is_none_or(|p| p.peer != d.peer) {
                self.start_handshake(&d, now);
            }
        }
        if handshake_record && self.pending.as_ref().is_some_and(|p| p.peer == d.peer) {
            self.continue_handshake(d, now);
            return;
        }
        let Some(session) = self.session.as_mut() else {
            return;
        };
        session.feed(&d.bytes);
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
        if let Some(count) = self.session.as_ref().map(DtlsSession::handshakes)
            && count > self.session_handshakes.0
        {
            let since = now.duration_since(self.session_handshakes.1);
            if since < self.setup.min_renegotiation_interval {
                // A client renegotiating in a loop costs a handshake each time: the session
                // ends, traffic goes over CSTP, and the client may start DTLS afresh.
                tracing::warn!(
                    since_last_ms = since.as_millis() as u64,
                    min_secs = self.setup.min_renegotiation_interval.as_secs(),
                    "DTLS renegotiation sooner than rekey_time/2: DTLS session closed"
                );
                self.renegotiations_refused += 1;
                self.session = None;
                self.active = false;
                self.records.clear();
                self.inbox.clear();
                return;
            }
            tracing::info!("DTLS session renegotiated (rekey)");
            self.session_handshakes = (count, now);
        }
        tracing::trace!(
            len = d.bytes.len(),
            records = self.records.len(),
            "DTLS datagram"
        );
        // Only a record that decrypted may move the channel to a new address (NAT rebinding).
        if !self.records.is_empty() {
            self.last_rx = now;
            self.active = true;
            if self.peer != Some(d.peer) {
                tracing::info!(old = ?self.peer, new = %d.peer, "DTLS peer moved");
                self.moved_to = Some(d.peer);
                self.peer = Some(d.peer);
                self.socket = Some(d.socket);
                self.connect_own_socket();
            } else if self.socket.is_none() {
                self.socket = Some(d.socket);
            }
        }
        self.flush();
    }

    fn start_handshake(&mut self, d: &Datagram, now: Instant) {
        let mut cookie = [0u8; 32];
        rand::rng().fill_bytes(&mut cookie);
        match self.setup.ctx.new_session(
            self.setup.keys.clone(),
            cookie,
            self.setup.mtu,
            self.setup.cid,
        ) {
            Ok(session) => {
                self.pending = Some(Pending {
                    session,
                    peer: d.peer,
                    socket: d.socket.clone(),
                    started: now,
                    retransmit_at: now + Duration::from_secs(1),
                });
            }
            Err(e) => tracing::warn!(error = %e, "cannot create a DTLS session"),
        }
    }

    fn continue_handshake(&mut self, d: Datagram, now: Instant) {
        let Some(mut p) = self.pending.take() else {
            return;
        };
        p.session.feed(&d.bytes);
        let result = p.session.handshake();
        let mut flights = 0;
        p.session.drain_outgoing(|out| {
            flights += 1;
            let _ = send_now(&p.socket, p.peer, out, &[out.len()]);
        });
        tracing::trace!(peer = %p.peer, ?result, datagrams_out = flights, "DTLS handshake step");
        match result {
            Ok(HandshakeStatus::Done) => {
                tracing::info!(
                    version = %p.session.version(),
                    cipher = %p.session.cipher(),
                    cid = p.session.cid_in_use(),
                    peer = %p.peer,
                    "DTLS up"
                );
                self.handshakes += 1;
                self.session_handshakes = (p.session.handshakes(), now);
                self.session = Some(p.session);
                self.peer = Some(p.peer);
                self.socket = Some(p.socket);
                self.active = true;
                self.last_rx = now;
                self.connect_own_socket();
            }
            Ok(HandshakeStatus::WantRead) => {
                p.retransmit_at = now + p.session.timeout().unwrap_or(Duration::from_secs(1));
                self.pending = Some(p);
            }
            Err(e) => {
                self.handshake_failures += 1;
                tracing::info!(error = %e, peer = %p.peer, "DTLS handshake failed");
            }
        }
    }

    /// Binds a socket on the server address connected to the current peer and sends through it
    /// from now on; the kernel then hands this client's datagrams to it rather than to the
    /// shared listening sockets. Without one (no local address known, or the bind failed)
    /// everything keeps flowing through the listening sockets.
    fn connect_own_socket(&mut self) {
        self.own = None;
        let (Some(local), Some(peer)) = (self.setup.local, self.peer) else {
            return;
        };
        let made = wolfguard_sys::udp::udp_connected(local, peer, OWN_SOCKET_BUFFER)
            .and_then(UdpSocket::from_std);
        match made {
            Ok(s) => {
                let s = Arc::new(s);
                self.socket = Some(s.clone());
                self.own = Some(s);
            }
            Err(e) => tracing::debug!(error = %e, %local, %peer, "no connected UDP socket"),
        }
    }

    /// This tunnel's own connected socket, to read the client's datagrams from.
    pub fn own_socket(&self) -> Option<Arc<UdpSocket>> {
        self.own.clone()
    }

    /// Largest datagram this channel expects (for receive buffers).
    pub fn max_datagram(&self) -> usize {
        usize::from(self.setup.mtu).max(1500) + 256
    }

    /// The address the established session moved to with the last datagram, once.
    pub fn take_moved_peer(&mut self) -> Option<SocketAddr> {
        self.moved_to.take()
    }

    /// The decrypted record payloads of the last datagram.
    pub fn records(&self) -> impl Iterator<Item = &[u8]> {
        self.records.iter().map(|r| &self.inbox[r.clone()])
    }

    /// Encrypts one DTLS frame (type byte + payload) into the outgoing queue; [`Self::flush`]
    /// sends the queue. False when DTLS is not up or the frame does not fit; the caller then
    /// uses CSTP.
    pub fn send(&mut self, frame: &[u8]) -> bool {
        let Some(session) = self.session.as_mut().filter(|s| s.is_connected()) else {
            return false;
        };
        if session.write(frame).is_err() {
            return false;
        }
        self.tx_bytes += frame.len().saturating_sub(1) as u64;
        true
    }

    /// Sends every queued datagram with as few system calls as possible (`sendmmsg`, up to
    /// [`wolfguard_sys::udp::BATCH`] datagrams each). UDP semantics: what does not fit the
    /// socket buffer is dropped, as the network would; DTLS and the tunnelled protocols cope.
    pub fn flush(&mut self) {
        let (Some(session), Some(socket), Some(peer)) =
            (self.session.as_mut(), self.socket.as_ref(), self.peer)
        else {
            return;
        };
        session.drain_outgoing_batch(|flat, lens| {
            let sent = send_now(socket, peer, flat, lens);
            tracing::trace!(queued = lens.len(), ?sent, "DTLS flush");
        });
    }

    /// When [`Self::handle_timeout`] wants to run next.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let handshake = self
            .pending
            .as_ref()
            .map(|p| p.retransmit_at.min(p.started + HANDSHAKE_LIMIT));
        let switch = self.active.then(|| self.last_rx + SWITCH_TO_TCP);
        match (handshake, switch) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Retransmits handshake flights, gives up stale handshakes, and falls back to CSTP after
    /// silence on UDP.
    pub fn handle_timeout(&mut self, now: Instant) {
        if let Some(mut p) = self.pending.take() {
            if now.duration_since(p.started) >= HANDSHAKE_LIMIT {
                tracing::debug!(peer = %p.peer, "DTLS handshake abandoned");
            } else if now >= p.retransmit_at {
                if p.session.handle_timeout().is_ok() {
                    p.session.drain_outgoing(|out| {
                        let _ = send_now(&p.socket, p.peer, out, &[out.len()]);
                    });
                    p.retransmit_at = now + p.session.timeout().unwrap_or(Duration::from_secs(1));
                    self.pending = Some(p);
                }
            } else {
                self.pending = Some(p);
            }
        }
        if self.active && now.duration_since(self.last_rx) >= SWITCH_TO_TCP {
            tracing::debug!("no UDP for {SWITCH_TO_TCP:?}: traffic to the client goes over CSTP");
            self.active = false;
        }
    }
}

/// Sends datagrams now, without consulting tokio's cached write readiness: that cache is empty
/// for a socket registered in this very turn (the tunnel's own socket right after the
/// handshake), and `try_send_to`/`try_io` would then drop the datagram without trying — which
/// lost openconnect's first MTU-probe answer and cost it a 1-s retry. The call is non-blocking
/// (`MSG_DONTWAIT`); a full socket buffer drops, as UDP may.
fn send_now(
    socket: &UdpSocket,
    peer: SocketAddr,
    flat: &[u8],
    lens: &[usize],
) -> std::io::Result<usize> {
    wolfguard_sys::udp::send_batch(socket.as_fd(), peer, flat, lens)
}

#[cfg(test)]
mod tests {
    //! The renegotiation limit with a real DTLS 1.2 peer: `openssl s_client` with a PSK, which
    //! renegotiates on its `R` command (openconnect cannot be made to renegotiate on demand).
    use std::io::Write as _;
    use std::process::{Command, Stdio};

    use bytes::Bytes;

    use super::*;

    const PSK: [u8; 32] = [0x42; 32];

    /// Handshakes with s_client, has it renegotiate right away, and returns the channel.
    fn renegotiate_once(min_renegotiation_interval: Duration) -> DtlsChannel {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let sock = Arc::new(UdpSocket::bind("127.0.0.1:0").await.unwrap());
            let port = sock.local_addr().unwrap().port();
            let hex: String = PSK.iter().map(|b| format!("{b:02x}")).collect();
            let mut child = Command::new("openssl")
                .args(["s_client", "-dtls1_2", "-connect"])
                .arg(format!("127.0.0.1:{port}"))
                .args(["-psk", &hex, "-psk_identity", "psk", "-cipher"])
                .arg("PSK-AES256-GCM-SHA384")
                .stdin(Stdio::piped())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("openssl is installed");
            let setup = DtlsSetup {
                app_id: [7; 32],
                cid: None,
                keys: DtlsKeys::Psk(PSK),
                mode: DtlsMode::Psk { app_id: [7; 32] },
                ctx: DtlsContext::new().unwrap(),
                mtu: 1400,
                local: None,
                min_renegotiation_interval,
            };
            let mut ch = DtlsChannel::new(setup, Instant::now());
            let mut buf = vec![0u8; 4096];
            let mut typed = false;
            let deadline = Instant::now() + Duration::from_secs(10);
            while Instant::now() < deadline && ch.renegotiations_refused == 0 {
                let got =
                    tokio::time::timeout(Duration::from_millis(100), sock.recv_from(&mut buf));
                if let Ok(Ok((n, peer))) = got.await {
                    let d = Datagram {
                        peer,
                        bytes: Bytes::copy_from_slice(&buf[..n]),
                        socket: sock.clone(),
                    };
                    ch.receive(d, Instant::now());
                } else {
                    ch.handle_timeout(Instant::now());
                }
                if ch.handshakes == 1 && !typed {
                    child.stdin.as_mut().unwrap().write_all(b"R\n").unwrap();
                    typed = true;
                }
                if typed && ch.session.as_ref().is_some_and(|s| s.handshakes() >= 2) {
                    break;
                }
            }
            let _ = child.kill();
            let _ = child.wait();
            ch
        })
    }

    #[test]
    fn a_renegotiation_sooner_than_the_limit_closes_the_dtls_session() {
        let ch = renegotiate_once(Duration::from_secs(3600));
        assert_eq!(ch.handshakes, 1, "the first handshake completed");
        assert_eq!(ch.renegotiations_refused, 1);
        assert!(ch.session.is_none() && !ch.active);
    }

    #[test]
    fn a_renegotiation_after_the_limit_rekeys_in_place() {
        let ch = renegotiate_once(Duration::ZERO);
        assert_eq!(ch.renegotiations_refused, 0);
        assert_eq!(ch.session.as_ref().map(DtlsSession::handshakes), Some(2));
    }
}
