//! One CSTP tunnel on a data-path worker: TLS records ⇄ CSTP frames ⇄ TUN.
//!
//! The task owns the TCP socket, the TLS session and the tunnel's packet queue. Each loop turn it
//! flushes pending ciphertext, then waits for whichever comes first: bytes from the client,
//! packets for the client, a liveness deadline or a stop request from the control path. Every
//! exit path ends in the tail of [`run`], which removes the routes and detaches the session, so no
//! exit leaks a route or a lease.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpStream, UdpSocket};
use tokio::sync::{mpsc, watch};
use wolfguard_proto::auth::SessionCookie;
use wolfguard_proto::cstp::{self, PacketType};
use wolfguard_proto::icmp;
use wolfguard_proto::timers::{Liveness, LivenessAction, LivenessConfig, counts_for_idle};
use wolfguard_runtime::{DownReason, Event, SessionId};
use wolfguard_sys::AsyncDevice;
use wolfguard_tls::{ReadOutcome, TlsSession};

use crate::dataplane::{Datagram, DtlsRoute, Shared, source};
use crate::sessions::Stop;

mod dtls_channel;
mod filter;

use dtls_channel::DtlsChannel;
pub use dtls_channel::DtlsSetup;
use filter::{Filter, PacketBatch};
use wolfguard_plugin_host::api::PacketVerdict;

/// Packets queued towards one client before the TUN reader starts dropping them.
pub const QUEUE_DEPTH: usize = 512;
/// Packets encrypted per wake-up before the socket is flushed.
const BATCH: usize = 64;

/// Everything a worker needs to run a tunnel the control path accepted.
#[derive(Debug)]
pub struct TunnelJob {
    /// The client's TCP connection (moved out of the control runtime).
    pub tcp: std::net::TcpStream,
    /// Its TLS session, past the handshake.
    pub tls: TlsSession,
    /// Plaintext that arrived after the CONNECT request head.
    pub leftover: Vec<u8>,
    /// Session facts.
    pub params: TunnelParams,
}

/// Session facts a tunnel needs.
#[derive(Debug)]
pub struct TunnelParams {
    /// Session id (logs).
    pub session: u64,
    /// Connection id for [`crate::sessions::Sessions::detach`].
    pub conn: u64,
    /// The session's cookie.
    pub cookie: SessionCookie,
    /// User name (logs).
    pub user: String,
    /// Group chosen at login (logs).
    pub group: Option<String>,
    /// Client's TCP address.
    pub peer: SocketAddr,
    /// Leased IPv4 address.
    pub ipv4: Option<Ipv4Addr>,
    /// Leased IPv6 address.
    pub ipv6: Option<Ipv6Addr>,
    /// Liveness settings.
    pub liveness: LivenessConfig,
    /// Stop requests from the control path.
    pub stop: watch::Receiver<Stop>,
    /// The DTLS channel's id, keys and mode, when DTLS was announced to the client.
    pub dtls: Option<DtlsSetup>,
    /// The DTLS id's registration with the UDP demultiplexer (made before the response left).
    pub dtls_route: Option<DtlsRoute>,
    /// A TLS 1.2 client may renegotiate (`X-CSTP-Rekey-Method: ssl`) at most this often
    /// (`rekey_time / 2`, ocserv's rule): each renegotiation is a full handshake the server pays
    /// for, so a client renegotiating in a loop is disconnected.
    pub min_renegotiation_interval: Duration,
}

/// How a tunnel ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum End {
    /// The client sent DISCONNECT with a reason that ends the session (user logout).
    UserDisconnect,
    /// The client went away without ending the session (crash, pause, new-tunnel rekey).
    Temporary,
    /// Dead peer: no traffic for 3×DPD.
    DpdTimeout,
    /// Idle timeout: the cookie stays valid.
    Idle,
    /// Session timeout: the session ends.
    Expired,
    /// Kicked or server shutdown: DISCONNECT was sent, the session ends.
    Kicked,
    /// A newer connection took the session over.
    Replaced,
    /// The client broke the protocol or TLS failed.
    Error,
}

impl End {
    fn invalidates(self) -> bool {
        matches!(self, End::UserDisconnect | End::Expired | End::Kicked)
    }

    /// The reason as the event bus names it.
    fn down_reason(self) -> DownReason {
        match self {
            End::UserDisconnect => DownReason::UserDisconnect,
            End::Temporary => DownReason::Error("client went away (session kept)".into()),
            End::DpdTimeout => DownReason::DpdTimeout,
            End::Idle => DownReason::IdleTimeout,
            End::Expired => DownReason::SessionExpired,
            End::Kicked => DownReason::ServerDisconnect,
            End::Replaced => DownReason::Error("replaced by a newer connection".into()),
            End::Error => DownReason::Error("protocol or TLS error".into()),
        }
    }
}

struct Tunnel {
    tcp: TcpStream,
    tls: TlsSession,
    plain: Vec<u8>,
    tun: Arc<AsyncDevice>,
    liveness: Liveness,
    allowed: [Option<IpAddr>; 2],
    shared: Arc<Shared>,
    dtls: Option<DtlsChannel>,
    dtx: mpsc::Sender<Datagram>,
    dpd_scratch: Vec<u8>,
    rx_bytes: u64,
    tx_bytes: u64,
    scratch: BytesMut,
    /// TLS handshakes seen so far and when the last one completed.
    handshakes: (u32, Instant),
    min_renegotiation_interval: Duration,
    /// The session this tunnel serves (for events).
    session: SessionId,
    /// Batches packets for the data-path filter plugins (unused when none is loaded).
    filter: Filter,
    /// Client packets waiting for the filters' verdicts.
    ingress: PacketBatch,
    /// Packets for the client waiting for the filters' verdicts.
    egress: Vec<Bytes>,
    /// Whether the bus was last told the DTLS channel is up.
    dtls_reported: bool,
    /// Keepalives due after the first probe answer of the current DTLS session.
    wake_client: Option<WakeClient>,
    /// Receive slots for the tunnel's own UDP socket, made when it first has one.
    own_batch: Option<wolfguard_sys::udp::RecvBatch>,
    /// Where datagrams read from it are copied, so each becomes a cheap `Bytes`.
    chunk: BytesMut,
}

/// When the keepalives that wake openconnect after its first MTU probe go out, counted from
/// the probe's answer: soon after the client has gone to sleep, and twice more in case it had
/// not yet (a loaded machine). Three 1-byte records per DTLS session.
const WAKE_CLIENT_DELAYS: [Duration; 3] = [
    Duration::from_millis(2),
    Duration::from_millis(20),
    Duration::from_millis(150),
];

/// The keepalives that follow the first probe answer of a DTLS session (see
/// `Tunnel::handle_datagram`).
#[derive(Debug, Clone, Copy)]
struct WakeClient {
    /// The DTLS handshake count they belong to.
    handshake: u32,
    /// When the next one is due.
    at: Instant,
    /// How many went out.
    sent: u8,
    /// When the probe was answered.
    started: Instant,
}

/// Runs one tunnel to its end.
pub async fn run(job: TunnelJob, tun: Arc<AsyncDevice>, shared: Arc<Shared>) {
    let TunnelJob {
        tcp,
        tls,
        leftover,
        mut params,
    } = job;
    let tcp = match TcpStream::from_std(tcp) {
        Ok(t) => t,
        Err(e) => {
            tracing::warn!(error = %e, "cannot register tunnel socket");
            shared
                .sessions
                .detach(&params.cookie, params.conn, false, Instant::now());
            return;
        }
    };
    let _ = tcp.set_nodelay(true);
    let (tx, rx) = mpsc::channel(QUEUE_DEPTH);
    let addrs = [
        params.ipv4.map(IpAddr::V4),
        params.ipv6.map(|a| shared.route_key(IpAddr::V6(a))),
    ];
    for a in addrs.iter().flatten() {
        shared.router.insert(*a, tx.clone());
    }
    shared.counters.tunnels.fetch_add(1, Ordering::Relaxed);
    // DTLS: announce the App-ID so the UDP demultiplexer can route this client's ClientHello.
    // DTLS: the App-ID was registered with the UDP demultiplexer before the CONNECT response
    // left; datagrams may already be waiting.
    let mut route = params.dtls_route.take();
    let (dtx, drx) = match route.as_mut() {
        Some(r) => (
            r.tx.clone(),
            r.rx.take().unwrap_or_else(|| mpsc::channel(1).1),
        ),
        None => mpsc::channel::<Datagram>(1),
    };
    let dtls = params
        .dtls
        .clone()
        .map(|setup| DtlsChannel::new(setup, Instant::now()));
    let mut t = Tunnel {
        tcp,
        tls,
        plain: leftover,
        tun,
        liveness: Liveness::new(params.liveness, Instant::now()),
        allowed: addrs,
        shared: shared.clone(),
        dtls,
        dtx: dtx.clone(),
        dpd_scratch: Vec::new(),
        rx_bytes: 0,
        tx_bytes: 0,
        scratch: BytesMut::with_capacity(64),
        handshakes: (0, Instant::now()),
        min_renegotiation_interval: params.min_renegotiation_interval,
        own_batch: None,
        chunk: BytesMut::new(),
        session: SessionId(params.session),
        filter: Filter::new(),
        ingress: PacketBatch::default(),
        egress: Vec::new(),
        dtls_reported: false,
        wake_client: None,
    };
    t.handshakes.0 = t.tls.handshakes();
    tracing::info!(session = params.session, user = %params.user, group = ?params.group, peer = %params.peer,
        ipv4 = ?params.ipv4, ipv6 = ?params.ipv6, "tunnel up");
    shared.bus.publish(Event::SessionUp {
        session: SessionId(params.session),
        user: params.user.clone(),
        group: params.group.clone(),
        peer: params.peer,
        ipv4: params.ipv4,
        ipv6: params.ipv6,
    });
    let end = t.main_loop(rx, drx, params.stop.clone()).await;
    let (dtls_rx, dtls_tx, dtls_handshakes) = match &t.dtls {
        Some(d) => {
            for p in &d.peers_seen {
                shared.remove_peer(*p, &dtx);
            }
            (d.rx_bytes, d.tx_bytes, d.handshakes)
        }
        None => (0, 0, 0),
    };
    drop(route);
    for a in addrs.iter().flatten() {
        shared.router.remove(a, &tx);
    }
    shared.counters.tunnels.fetch_sub(1, Ordering::Relaxed);
    shared.sessions.detach(
        &params.cookie,
        params.conn,
        end.invalidates(),
        Instant::now(),
    );
    let session = SessionId(params.session);
    if t.dtls_reported {
        shared.bus.publish(Event::DtlsDown { session });
    }
    if matches!(end, End::DpdTimeout) {
        shared.bus.publish(Event::DpdTimeout {
            session,
            user: params.user.clone(),
        });
    }
    tracing::info!(session = params.session, user = %params.user, reason = ?end,
        rx_bytes = t.rx_bytes, tx_bytes = t.tx_bytes, dtls_rx_bytes = dtls_rx, dtls_tx_bytes = dtls_tx, dtls_handshakes, "tunnel down");
    shared.bus.publish(Event::SessionDown {
        session: SessionId(params.session),
        user: params.user.clone(),
        reason: end.down_reason(),
        rx_bytes: t.rx_bytes + dtls_rx,
        tx_bytes: t.tx_bytes + dtls_tx,
    });
}

impl Tunnel {
    async fn main_loop(
        &mut self,
        mut rx: mpsc::Receiver<Bytes>,
        mut drx: mpsc::Receiver<Datagram>,
        mut stop: watch::Receiver<Stop>,
    ) -> End {
        // Frames the client sent right behind the CONNECT request.
        if let Some(end) = self.process_plaintext().await {
            return end;
        }
        let mut rbuf = vec![0u8; 64 * 1024];
        loop {
            self.publish_dtls_edge();
            if self.flush().await.is_err() {
                return End::Temporary;
            }
            let dtls_wake = self.dtls.as_ref().and_then(DtlsChannel::poll_timeout);
            let dtls_wake = match (dtls_wake, self.wake_client.as_ref().map(|w| w.at)) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            let wake = match (self.liveness.poll_timeout(), dtls_wake) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            let dtls_on = self.dtls.is_some();
            let own = self.dtls.as_ref().and_then(DtlsChannel::own_socket);
            let own_ready = async {
                match &own {
                    Some(s) => s.readable().await,
                    None => std::future::pending().await,
                }
            };
            let sleep = async {
                match wake {
                    Some(at) => tokio::time::sleep_until(at.into()).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                biased;
                changed = stop.changed() => {
                    let what = if changed.is_ok() { *stop.borrow() } else { Stop::Shutdown };
                    match what {
                        Stop::Run => continue,
                        Stop::Replaced => return End::Replaced,
                        Stop::Kick | Stop::Shutdown => {
                            self.send_control(PacketType::Disconnect, &[]);
                            let _ = self.flush().await;
                            return End::Kicked;
                        }
                    }
                }
                ready = self.tcp.readable() => {
                    if ready.is_err() {
                        return End::Temporary;
                    }
                    match self.tcp.try_read(&mut rbuf) {
                        Ok(0) => self.tls.feed_eof(),
                        Ok(n) => self.tls.feed(&rbuf[..n]),
                        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
                        Err(_) => return End::Temporary,
                    }
                    if let Some(end) = self.pump_tls().await {
                        return end;
                    }
                }
                dgram = drx.recv(), if dtls_on => {
                    let Some(dgram) = dgram else { continue };
                    let end = self.handle_datagram(dgram);
                    if let Some(end) = end {
                        self.flush_ingress(false).await;
                        return end;
                    }
                    // Drain what else is queued in the same wake-up, as for TUN packets: one
                    // pass of the loop (timers, select) per batch instead of per datagram.
                    for _ in 1..BATCH {
                        match drx.try_recv() {
                            Ok(dgram) => {
                                if let Some(end) = self.handle_datagram(dgram) {
                                    self.flush_ingress(false).await;
                                    return end;
                                }
                            }
                            Err(_) => break,
                        }
                    }
                    self.flush_ingress(false).await;
                }
                ready = own_ready => {
                    if ready.is_ok() && let Some(own) = own {
                        let end = self.read_own_socket(&own);
                        self.flush_ingress(false).await;
                        if let Some(end) = end {
                            return end;
                        }
                    }
                }
                pkt = rx.recv() => {
                    let Some(pkt) = pkt else { return End::Error };
                    self.send_frame(pkt);
                    for _ in 1..BATCH {
                        match rx.try_recv() {
                            Ok(pkt) => self.send_frame(pkt),
                            Err(_) => break,
                        }
                    }
                    self.flush_egress();
                }
                () = sleep => {
                    self.wake_client_if_due(Instant::now());
                    if let Some(d) = self.dtls.as_mut() {
                        d.handle_timeout(Instant::now());
                    }
                    match self.liveness.poll(Instant::now()) {
                        Some(LivenessAction::SendDpd) => self.send_control(PacketType::DpdReq, &[]),
                        Some(LivenessAction::Dead) => return End::DpdTimeout,
                        Some(LivenessAction::IdleTimeout) => {
                            self.send_control(PacketType::Disconnect, &[]);
                            let _ = self.flush().await;
                            return End::Idle;
                        }
                        Some(LivenessAction::SessionExpired) => {
                            self.send_control(PacketType::Disconnect, &[]);
                            let _ = self.flush().await;
                            return End::Expired;
                        }
                        _ => {}
                    }
                }
            }
        }
    }

    /// Decrypts every buffered record and handles the frames in them.
    async fn pump_tls(&mut self) -> Option<End> {
        let mut tmp = [0u8; 16 * 1024 + 64];
        loop {
            match self.tls.read(&mut tmp) {
                Ok(ReadOutcome::Data(n)) => self.plain.extend_from_slice(&tmp[..n]),
                Ok(ReadOutcome::WantRead) => break,
                Ok(ReadOutcome::Closed) => {
                    // Handle what arrived before the close, then end.
                    return Some(self.process_plaintext().await.unwrap_or(End::Temporary));
                }
                Err(e) => {
                    tracing::debug!(error = %e, "TLS error in tunnel");
                    return Some(End::Error);
                }
            }
        }
        if self.tls.handshakes() > self.handshakes.0 {
            let now = Instant::now();
            let since = now.duration_since(self.handshakes.1);
            if since < self.min_renegotiation_interval {
                tracing::warn!(
                    since_last_ms = since.as_millis() as u64,
                    min_secs = self.min_renegotiation_interval.as_secs(),
                    "TLS renegotiation sooner than rekey_time/2: disconnecting"
                );
                return Some(End::Error);
            }
            tracing::info!("TLS session renegotiated (rekey)");
            self.handshakes = (self.tls.handshakes(), now);
        }
        self.process_plaintext().await
    }

    /// Parses and acts on every complete CSTP frame in `self.plain`.
    async fn process_plaintext(&mut self) -> Option<End> {
        let mut pos = 0;
        let now = Instant::now();
        let mut result = None;
        while pos < self.plain.len() {
            let (kind, range, used) = match cstp::decode_frame(&self.plain[pos..]) {
                Ok((kind, payload, used)) => {
                    let start = pos + (used - payload.len());
                    (kind, start..start + payload.len(), used)
                }
                Err(cstp::FrameError::InsufficientData) => break,
                Err(e) => {
                    tracing::info!(error = %e, "malformed CSTP frame; closing the tunnel");
                    result = Some(End::Error);
                    break;
                }
            };
            pos += used;
            self.liveness.handle_rx(now);
            match kind {
                PacketType::Data => {
                    // Data over CSTP means the client gave up on DTLS for now: follow it.
                    if let Some(d) = self.dtls.as_mut().filter(|d| d.active) {
                        d.active = false;
                    }
                    let packet = &self.plain[range];
                    // Anti-spoofing: a client may only send from its own addresses.
                    let key = source(packet).map(|s| self.shared.route_key(s));
                    if key.is_none_or(|s| !self.allowed.contains(&Some(s))) {
                        continue;
                    }
                    if self.shared.packet_filters.is_some() {
                        self.ingress.push(packet);
                        if self.ingress.len() >= filter::BATCH {
                            self.flush_ingress(true).await;
                        }
                        continue;
                    }
                    self.rx_bytes += packet.len() as u64;
                    if counts_for_idle(packet) {
                        self.liveness.handle_rx_data(now, packet);
                    }
                    // A full TUN queue pushes back on this client's TLS stream (TCP flow control
                    // then slows the sender) instead of dropping inside the tunnel.
                    if let Err(e) = self.tun.try_send(packet) {
                        if e.kind() == std::io::ErrorKind::WouldBlock {
                            let _ = self.tun.send(packet).await;
                        }
                    }
                }
                PacketType::DpdReq => {
                    let payload = self.plain[range].to_vec();
                    self.send_control(PacketType::DpdResp, &payload);
                }
                PacketType::DpdResp | PacketType::Keepalive => {}
                PacketType::Disconnect => {
                    let (reason, text) = cstp::parse_disconnect(&self.plain[range]);
                    tracing::info!(?reason, text = %text, "client disconnected");
                    result = Some(if reason.invalidates_session() {
                        End::UserDisconnect
                    } else {
                        End::Temporary
                    });
                    break;
                }
                PacketType::Compressed => {
                    // Compression is never negotiated, so a compressed frame is a protocol error.
                    result = Some(End::Error);
                    break;
                }
                // Unknown types are ignored, as ocserv does.
                _ => {}
            }
        }
        self.flush_ingress(true).await;
        self.plain.drain(..pos.min(self.plain.len()));
        result
    }

    /// Encrypts one pre-framed DATA packet (header already in place) as one TLS record, or
    /// queues it for the packet filters when some are loaded.
    fn send_frame(&mut self, frame: Bytes) {
        if self.shared.packet_filters.is_some() {
            self.egress.push(frame);
            if self.egress.len() >= filter::BATCH {
                self.flush_egress();
            }
            return;
        }
        self.deliver_frame(&frame);
    }

    /// Sends one pre-framed DATA packet to the client, over DTLS when it is up.
    fn deliver_frame(&mut self, frame: &[u8]) {
        let payload = frame.len().saturating_sub(cstp::HEADER_LEN);
        // The TUN reader wrote a CSTP header whose last byte is 0, which is also the DTLS type
        // byte of DATA: the frame from that byte on is a DTLS frame, no copy needed.
        if let Some(d) = self.dtls.as_mut().filter(|d| d.active) {
            if d.send(&frame[cstp::HEADER_LEN - 1..]) {
                if counts_for_idle(&frame[cstp::HEADER_LEN..]) {
                    self.liveness.handle_tx_data(Instant::now());
                }
                return;
            }
        }
        if self.tls.write(frame).is_ok() {
            self.tx_bytes += payload as u64;
            let now = Instant::now();
            if counts_for_idle(&frame[cstp::HEADER_LEN..]) {
                self.liveness.handle_tx_data(now);
            }
        }
    }

    /// Reads what the tunnel's own connected UDP socket holds (up to a few batches) and handles
    /// each datagram like one from the shared sockets, minus the hand-off between threads.
    fn read_own_socket(&mut self, own: &Arc<UdpSocket>) -> Option<End> {
        let max = self.dtls.as_ref().map_or(2048, DtlsChannel::max_datagram);
        let mut batch = self
            .own_batch
            .take()
            .unwrap_or_else(|| wolfguard_sys::udp::RecvBatch::with_count(max, 8));
        let end = self.drain_own_socket(own, &mut batch);
        self.own_batch = Some(batch);
        end
    }

    fn drain_own_socket(
        &mut self,
        own: &Arc<UdpSocket>,
        batch: &mut wolfguard_sys::udp::RecvBatch,
    ) -> Option<End> {
        use std::os::fd::AsFd as _;
        for _ in 0..8 {
            let n = match own.try_io(tokio::io::Interest::READABLE, || {
                wolfguard_sys::udp::recv_batch(own.as_fd(), batch)
            }) {
                Ok(n) => n,
                // WouldBlock: drained. Other errors: ICMP for an earlier send (the client's
                // port closed); the DTLS timers decide what that means.
                Err(_) => break,
            };
            self.shared
                .counters
                .udp_datagrams
                .fetch_add(n as u64, Ordering::Relaxed);
            let mut dgrams = Vec::with_capacity(n);
            for i in 0..n {
                let Some((data, peer)) = batch.get(i) else {
                    self.shared
                        .counters
                        .udp_unknown
                        .fetch_add(1, Ordering::Relaxed);
                    continue;
                };
                if self.chunk.capacity() < data.len() {
                    self.chunk = BytesMut::with_capacity(64 * 1024);
                }
                self.chunk.extend_from_slice(data);
                dgrams.push(Datagram {
                    peer,
                    bytes: self.chunk.split().freeze(),
                    socket: own.clone(),
                });
            }
            for d in dgrams {
                if let Some(end) = self.handle_datagram(d) {
                    return Some(end);
                }
            }
            if n < 8 {
                break;
            }
        }
        None
    }

    /// Handles one datagram of the DTLS channel and the frames it carried.
    fn handle_datagram(&mut self, dgram: Datagram) -> Option<End> {
        let now = Instant::now();
        let d = self.dtls.as_mut()?;
        let (ok_before, failed_before) = (d.handshakes, d.handshake_failures);
        d.receive(dgram, now);
        let c = &self.shared.counters;
        c.dtls_handshakes.fetch_add(
            u64::from(d.handshakes - ok_before),
            std::sync::atomic::Ordering::Relaxed,
        );
        c.dtls_handshake_failures.fetch_add(
            u64::from(d.handshake_failures - failed_before),
            std::sync::atomic::Ordering::Relaxed,
        );
        if let Some(moved) = d.take_moved_peer() {
            // Later datagrams from the new address take the fast path again.
            self.shared.add_peer(moved, &self.dtx);
            c.dtls_peer_moves
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
        self.dpd_scratch.clear();
        let mut end = None;
        let mut data_bytes = 0u64;
        for record in d.records() {
            self.liveness.handle_rx(now);
            let Some((&kind, payload)) = record.split_first() else {
                continue;
            };
            match PacketType::from_u8(kind) {
                PacketType::Data => {
                    let key = source(payload).map(|s| self.shared.route_key(s));
                    if key.is_none_or(|s| !self.allowed.contains(&Some(s))) {
                        continue;
                    }
                    if self.shared.packet_filters.is_some() {
                        // Judged in a batch once the wake-up's datagrams are read (and
                        // counted there if accepted).
                        self.ingress.push(payload);
                        continue;
                    }
                    data_bytes += payload.len() as u64;
                    if counts_for_idle(payload) {
                        self.liveness.handle_rx_data(now, payload);
                    }
                    // Datagram semantics: a full TUN queue drops, as a router would.
                    let _ = self.tun.try_send(payload);
                }
                // MTU probes must come back at full length (§5.5): keep the whole payload.
                PacketType::DpdReq => {
                    self.dpd_scratch.push(PacketType::DpdResp.to_u8());
                    self.dpd_scratch.extend_from_slice(payload);
                }
                PacketType::Disconnect => {
                    let (reason, text) = cstp::parse_disconnect(payload);
                    tracing::info!(?reason, text = %text, "client disconnected over DTLS");
                    end = Some(if reason.invalidates_session() {
                        End::UserDisconnect
                    } else {
                        End::Temporary
                    });
                }
                _ => {}
            }
        }
        d.rx_bytes += data_bytes;
        if !self.dpd_scratch.is_empty() {
            // Too large to echo (our MTU is smaller than the probe): answer with a bare DPD-RESP.
            if !d.send(&self.dpd_scratch) {
                d.send(&[PacketType::DpdResp.to_u8()]);
            }
            // openconnect 9.01 defers bringing its tunnel up by one main-loop turn after its
            // MTU probe ("Delaying tunnel with reason: DTLS MTU detection") and then sleeps
            // until a packet arrives or its 1-s timer fires. When our handshake and probe
            // answer complete within one of its turns, nothing else arrives, and the client's
            // interface came up a full second late (the 1.03-s DTLS connects of
            // docs/performance.md). Keepalives shortly after the first answer of each DTLS
            // session wake it; one sent at once would be read in the same turn, before it sleeps.
            if self.wake_client.is_none_or(|w| w.handshake != d.handshakes) {
                self.wake_client = Some(WakeClient {
                    handshake: d.handshakes,
                    at: now + WAKE_CLIENT_DELAYS[0],
                    sent: 0,
                    started: now,
                });
            }
        }
        end
    }

    /// Judges the queued client packets in batches and forwards those the filters accept to
    /// the TUN device (`wait`: push back on a full TUN queue, for the TCP-carried CSTP path).
    async fn flush_ingress(&mut self, wait: bool) {
        if self.ingress.is_empty() {
            return;
        }
        let shared = self.shared.clone();
        let Some(host) = shared.packet_filters.as_ref() else {
            self.ingress.clear();
            return;
        };
        let batch = std::mem::take(&mut self.ingress);
        let now = Instant::now();
        for start in (0..batch.len()).step_by(filter::BATCH) {
            let end = (start + filter::BATCH).min(batch.len());
            self.filter.judge(
                host,
                self.session.0,
                true,
                (start..end).map(|i| batch.get(i)),
            );
            for i in start..end {
                let packet = batch.get(i);
                match self.filter.verdicts[i - start] {
                    PacketVerdict::Accept => {
                        // Bytes accepted, on the channel they came in by (`wait`: CSTP).
                        if wait {
                            self.rx_bytes += packet.len() as u64;
                        } else if let Some(d) = self.dtls.as_mut() {
                            d.rx_bytes += packet.len() as u64;
                        }
                        if counts_for_idle(packet) {
                            self.liveness.handle_rx_data(now, packet);
                        }
                        if let Err(e) = self.tun.try_send(packet) {
                            if wait && e.kind() == std::io::ErrorKind::WouldBlock {
                                let _ = self.tun.send(packet).await;
                            }
                        }
                    }
                    verdict => {
                        shared.counters.filtered.fetch_add(1, Ordering::Relaxed);
                        if verdict == PacketVerdict::Reject {
                            self.reject(packet, true, now);
                        }
                    }
                }
            }
        }
        self.ingress = batch;
        self.ingress.clear();
    }

    /// Judges the queued packets for the client in one batch and sends those the filters
    /// accept.
    fn flush_egress(&mut self) {
        if self.egress.is_empty() {
            return;
        }
        let shared = self.shared.clone();
        let frames = std::mem::take(&mut self.egress);
        if let Some(host) = shared.packet_filters.as_ref() {
            let packets = frames
                .iter()
                .map(|f| f.get(cstp::HEADER_LEN..).unwrap_or_default());
            self.filter.judge(host, self.session.0, false, packets);
            let now = Instant::now();
            for (i, frame) in frames.iter().enumerate() {
                match self.filter.verdicts[i] {
                    PacketVerdict::Accept => self.deliver_frame(frame),
                    verdict => {
                        shared.counters.filtered.fetch_add(1, Ordering::Relaxed);
                        if verdict == PacketVerdict::Reject {
                            let packet = frame.get(cstp::HEADER_LEN..).unwrap_or_default();
                            self.reject(packet, false, now);
                        }
                    }
                }
            }
        }
        self.egress = frames;
        self.egress.clear();
    }

    /// Answers a rejected packet with an ICMP "administratively prohibited" error to its
    /// sender: the client (`ingress`) or the network behind the TUN device. Rate-limited; no
    /// error about errors, fragments or non-unicast packets (see [`wolfguard_proto::icmp`]).
    fn reject(&mut self, packet: &[u8], ingress: bool, now: Instant) {
        let mut icmp = Vec::new();
        if icmp::admin_prohibited(packet, &mut icmp).is_err() || !self.filter.icmp_allowed(now) {
            return;
        }
        self.shared
            .counters
            .icmp_rejects
            .fetch_add(1, Ordering::Relaxed);
        if ingress {
            let mut frame = BytesMut::with_capacity(cstp::HEADER_LEN + icmp.len());
            cstp::append_frame(&mut frame, PacketType::Data, &icmp);
            self.deliver_frame(&frame);
        } else {
            let _ = self.tun.try_send(&icmp);
        }
    }

    /// Sends the keepalive of [`WakeClient`] that is due, if any, and schedules the next.
    fn wake_client_if_due(&mut self, now: Instant) {
        let Some(w) = self.wake_client.as_mut() else {
            return;
        };
        if now < w.at {
            return;
        }
        if let Some(d) = self.dtls.as_mut().filter(|d| d.handshakes == w.handshake) {
            d.send(&[PacketType::Keepalive.to_u8()]);
        }
        w.sent += 1;
        match WAKE_CLIENT_DELAYS.get(usize::from(w.sent)) {
            Some(delay) => w.at = w.started + *delay,
            // Done for this session: `handshake` stays recorded so no new schedule starts.
            None => w.at = now + Duration::from_secs(86_400 * 365),
        }
    }

    /// Publishes `dtls-up` / `dtls-down` when the DTLS channel starts or stops carrying the
    /// tunnel (a handshake, a fallback to CSTP, silence on UDP, a close), once per change.
    fn publish_dtls_edge(&mut self) {
        let active = self.dtls.as_ref().is_some_and(|d| d.active);
        if active == self.dtls_reported {
            return;
        }
        self.dtls_reported = active;
        let session = self.session;
        self.shared.bus.publish(if active {
            Event::DtlsUp { session }
        } else {
            Event::DtlsDown { session }
        });
    }

    fn send_control(&mut self, kind: PacketType, payload: &[u8]) {
        self.scratch.clear();
        cstp::append_frame(&mut self.scratch, kind, payload);
        let _ = self.tls.write(&self.scratch);
    }

    async fn flush(&mut self) -> std::io::Result<()> {
        if let Some(d) = self.dtls.as_mut() {
            d.flush();
        }
        while self.tls.wants_write() {
            let n = self.tls.outgoing().len();
            self.tcp.write_all(self.tls.outgoing()).await?;
            self.tls.consume_outgoing(n);
        }
        Ok(())
    }
}

/// Liveness settings from configuration.
pub fn liveness_config(dpd: u32, idle: u32, deadline: Option<Instant>) -> LivenessConfig {
    LivenessConfig {
        dpd: (dpd > 0).then(|| Duration::from_secs(u64::from(dpd))),
        idle_timeout: (idle > 0).then(|| Duration::from_secs(u64::from(idle))),
        session_deadline: deadline,
    }
}
