//! The data path: one worker thread per core, each with its own single-threaded runtime and its
//! own TUN queue; tunnels are pinned to a worker for their whole life.
//!
//! ```text
//!            ┌────────────── worker 0 (thread, current-thread runtime) ──────────────┐
//!  TUN q0 ──►│ tun_reader: read into a 64 KiB chunk, prefix the CSTP header in place, │
//!            │   look up dst IP in the Router (lock-free snapshot) ──► tunnel's queue  │
//!            │ tunnel tasks: TLS ⇄ CSTP frames ⇄ TUN q0 writes                        │
//!            └────────────────────────────────────────────────────────────────────────┘
//! ```
//!
//! Packets read from a queue may belong to a tunnel pinned to another worker; they cross over
//! through that tunnel's bounded channel (`Bytes`, so only a reference count moves). Steering
//! packets to the owning worker's queue with TUNSETSTEERINGEBPF removes that hop later without
//! changing this structure. Nothing on this path takes a lock: the routing table is an
//! `ArcSwap` snapshot that tunnel tasks replace when they start and end, and packet buffers
//! are carved out of 64 KiB chunks, so there is one allocation per chunk, not per packet.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::thread::JoinHandle;

use arc_swap::ArcSwap;
use bytes::{Bytes, BytesMut};
use tokio::net::UdpSocket;
use tokio::sync::mpsc;
use wolfguard_proto::{cstp, dtls};
use wolfguard_sys::{AsyncDevice, SyncDevice};

use crate::sessions::Sessions;
use crate::tunnel::{self, TunnelJob};

/// Largest IP packet read from the TUN device.
pub const MAX_PACKET: usize = 16384 - cstp::HEADER_LEN;

/// Counters of the data path, served on the metrics endpoint and logged at shutdown.
#[derive(Debug, Default)]
pub struct Counters {
    /// Packets from TUN with no tunnel for their destination.
    pub no_route: AtomicU64,
    /// Packets dropped because the tunnel's queue was full.
    pub queue_full: AtomicU64,
    /// Tunnels running right now.
    pub tunnels: AtomicUsize,
    /// Datagrams from unknown peers that were not a ClientHello for a live App-ID: garbage,
    /// forged or stale ids. Dropped before any TLS state exists.
    pub udp_unknown: AtomicU64,
    /// Datagrams dropped because the tunnel's DTLS queue was full.
    pub udp_queue_full: AtomicU64,
    /// Datagrams received on the DTLS sockets.
    pub udp_datagrams: AtomicU64,
    /// Completed DTLS handshakes.
    pub dtls_handshakes: AtomicU64,
    /// DTLS handshakes that failed (wrong key, refused full handshake in resumption mode, …).
    pub dtls_handshake_failures: AtomicU64,
    /// DTLS flows that moved to a new client address without a new handshake.
    pub dtls_peer_moves: AtomicU64,
    /// Packets a data-path filter plugin dropped or rejected.
    pub filtered: AtomicU64,
    /// ICMP "administratively prohibited" errors sent for rejected packets.
    pub icmp_rejects: AtomicU64,
}

/// Largest datagram read from a UDP socket.
pub const MAX_DATAGRAM: usize = 16 * 1024 + 256;
/// Socket buffer asked for each UDP socket (the kernel caps it at net.core.rmem_max).
const UDP_BUFFER: usize = 8 * 1024 * 1024;

/// A lock-free lookup table from a key to the owning tunnel's queue, replaced wholesale (under a
/// writer mutex) when tunnels start and end — rare compared to lookups, which happen per packet.
#[derive(Debug)]
pub struct RouteTable<K, T> {
    table: ArcSwap<HashMap<K, mpsc::Sender<T>>>,
    writers: Mutex<()>,
}

impl<K, T> Default for RouteTable<K, T> {
    fn default() -> Self {
        Self {
            table: ArcSwap::from_pointee(HashMap::new()),
            writers: Mutex::new(()),
        }
    }
}

impl<K: std::hash::Hash + Eq + Clone, T> RouteTable<K, T> {
    /// Routes `key` to `tx`.
    pub fn insert(&self, key: K, tx: mpsc::Sender<T>) {
        let _w = self.writers.lock().unwrap_or_else(|e| e.into_inner());
        let mut next = HashMap::clone(&self.table.load());
        next.insert(key, tx);
        self.table.store(Arc::new(next));
    }

    /// Removes `key` if it still routes to `tx` (a newer tunnel may own it already).
    pub fn remove(&self, key: &K, tx: &mpsc::Sender<T>) {
        let _w = self.writers.lock().unwrap_or_else(|e| e.into_inner());
        let current = self.table.load();
        if current.get(key).is_some_and(|t| t.same_channel(tx)) {
            let mut next = HashMap::clone(&current);
            next.remove(key);
            self.table.store(Arc::new(next));
        }
    }

    /// Removes `key` whoever it routes to.
    pub fn remove_any(&self, key: &K) {
        let _w = self.writers.lock().unwrap_or_else(|e| e.into_inner());
        let current = self.table.load();
        if current.contains_key(key) {
            let mut next = HashMap::clone(&current);
            next.remove(key);
            self.table.store(Arc::new(next));
        }
    }

    fn lookup(&self, key: &K) -> Option<mpsc::Sender<T>> {
        self.table.load().get(key).cloned()
    }
}

/// Destination IP → the owning tunnel's packet queue.
pub type Router = RouteTable<IpAddr, Bytes>;

/// A datagram for a tunnel's DTLS channel: where it came from, its bytes, and the socket it
/// arrived on (replies leave through the same one, so the client sees the same source address).
#[derive(Debug)]
pub struct Datagram {
    /// The client's address.
    pub peer: SocketAddr,
    /// The whole datagram.
    pub bytes: Bytes,
    /// The socket it arrived on.
    pub socket: Arc<UdpSocket>,
}

/// Shared state every worker sees.
#[derive(Debug)]
pub struct Shared {
    /// Routing table.
    pub router: Router,
    /// Session table (for detaching when a tunnel ends).
    pub sessions: Arc<Sessions>,
    /// The daemon's event bus (session up/down, DTLS up/down); publishing never blocks.
    pub bus: Arc<wolfguard_runtime::EventBus>,
    /// The plugin host, when some loaded plugin filters data-path packets (`None` costs the
    /// packet path nothing).
    pub packet_filters: Option<wolfguard_plugin_host::PluginHost>,
    /// Counters.
    pub counters: Counters,
    /// MTU of the TUN device: no packet read from it is larger.
    pub tun_mtu: usize,
    /// Prefix length each client gets from the IPv6 pool (128 = one address).
    pub v6_prefix: u8,
    /// DTLS App-ID → the tunnel that announced it (touched only by new UDP flows).
    pub dtls_ids: Mutex<HashMap<[u8; 32], mpsc::Sender<Datagram>>>,
    /// DTLS connection id → its tunnel (DTLS 1.3 clients that negotiated connection ids): an
    /// exact route for records arriving from a new address.
    pub cids: RouteTable<[u8; dtls::SERVER_CID_LEN], Datagram>,
    /// Client UDP address → its tunnel, learnt from the ClientHello.
    pub peers: RouteTable<SocketAddr, Datagram>,
    /// Client IP → its tunnel, only for IPs exactly one tunnel uses: the fallback for a DTLS
    /// flow whose source port changed (NAT rebinding), as ocserv's `match_ip_only`.
    pub peer_ips: RouteTable<IpAddr, Datagram>,
    peer_ip_counts: Mutex<HashMap<IpAddr, usize>>,
}

impl Shared {
    /// Records that `peer` belongs to the tunnel behind `tx`.
    pub fn add_peer(&self, peer: SocketAddr, tx: &mpsc::Sender<Datagram>) {
        self.peers.insert(peer, tx.clone());
        let mut counts = self
            .peer_ip_counts
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        let n = counts.entry(peer.ip()).or_insert(0);
        *n += 1;
        if *n == 1 {
            self.peer_ips.insert(peer.ip(), tx.clone());
        } else if !self
            .peer_ips
            .lookup(&peer.ip())
            .is_some_and(|t| t.same_channel(tx))
        {
            // Two tunnels behind one address: the IP alone no longer identifies a tunnel.
            self.peer_ips.remove_any(&peer.ip());
        }
    }

    /// Forgets `peer` if it still belongs to the tunnel behind `tx`.
    pub fn remove_peer(&self, peer: SocketAddr, tx: &mpsc::Sender<Datagram>) {
        if !self.peers.lookup(&peer).is_some_and(|t| t.same_channel(tx)) {
            return;
        }
        self.peers.remove(&peer, tx);
        let mut counts = self
            .peer_ip_counts
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if let Some(n) = counts.get_mut(&peer.ip()) {
            *n -= 1;
            if *n == 0 {
                counts.remove(&peer.ip());
                self.peer_ips.remove_any(&peer.ip());
            }
        }
    }

    /// The routing-table key of an address: IPv6 addresses are cut to the per-client prefix, so
    /// a client that was handed a /64 is reached (and may send) from all of it.
    pub fn route_key(&self, ip: IpAddr) -> IpAddr {
        match ip {
            IpAddr::V6(a) if self.v6_prefix < 128 => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.v6_prefix))
                    .unwrap_or(0);
                IpAddr::V6((u128::from(a) & mask).into())
            }
            other => other,
        }
    }
}

/// A DTLS id registered with the UDP demultiplexer, and the queue its datagrams arrive on.
/// Registered on the control path *before* the CONNECT response leaves, so the client's first
/// ClientHello (sent the moment it reads the response) is never dropped as unknown — that drop
/// cost a 1 s DTLS retransmission on most connects. Dropping the route unregisters the id.
#[derive(Debug)]
pub struct DtlsRoute {
    shared: Arc<Shared>,
    id: [u8; 32],
    cid: Option<[u8; dtls::SERVER_CID_LEN]>,
    /// Sender side, for registering peer addresses.
    pub tx: mpsc::Sender<Datagram>,
    /// Receiver side, taken by the tunnel.
    pub rx: Option<mpsc::Receiver<Datagram>>,
}

impl DtlsRoute {
    /// Registers `id` (and the connection id `cid`, if any); datagrams for them queue up
    /// (bounded) until the tunnel starts reading.
    pub fn register(
        shared: &Arc<Shared>,
        id: [u8; 32],
        cid: Option<[u8; dtls::SERVER_CID_LEN]>,
        depth: usize,
    ) -> Self {
        let (tx, rx) = mpsc::channel(depth);
        shared
            .dtls_ids
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(id, tx.clone());
        if let Some(cid) = cid {
            shared.cids.insert(cid, tx.clone());
        }
        Self {
            shared: shared.clone(),
            id,
            cid,
            tx,
            rx: Some(rx),
        }
    }
}

impl Drop for DtlsRoute {
    fn drop(&mut self) {
        let mut ids = self
            .shared
            .dtls_ids
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if ids.get(&self.id).is_some_and(|t| t.same_channel(&self.tx)) {
            ids.remove(&self.id);
        }
        drop(ids);
        if let Some(cid) = self.cid {
            self.shared.cids.remove(&cid, &self.tx);
        }
    }
}

/// The data-path workers have exited.
#[derive(Debug, Clone, Copy, thiserror::Error)]
#[error("the data-path workers have stopped")]
pub struct WorkersGone;

/// Handles to the worker threads.
#[derive(Debug)]
pub struct DataPlane {
    senders: Vec<mpsc::UnboundedSender<TunnelJob>>,
    next: AtomicUsize,
    threads: Mutex<Vec<JoinHandle<()>>>,
    /// State shared with the workers.
    pub shared: Arc<Shared>,
}

impl DataPlane {
    /// Starts one worker per TUN queue.
    pub fn start(
        queues: Vec<SyncDevice>,
        tun_mtu: u16,
        v6_prefix: u8,
        udp: &[SocketAddr],
        sessions: Arc<Sessions>,
        bus: Arc<wolfguard_runtime::EventBus>,
        packet_filters: Option<wolfguard_plugin_host::PluginHost>,
    ) -> std::io::Result<Self> {
        let shared = Arc::new(Shared {
            router: Router::default(),
            sessions,
            bus,
            packet_filters,
            counters: Counters::default(),
            tun_mtu: usize::from(tun_mtu).min(MAX_PACKET),
            v6_prefix,
            dtls_ids: Mutex::new(HashMap::new()),
            cids: RouteTable::default(),
            peers: RouteTable::default(),
            peer_ips: RouteTable::default(),
            peer_ip_counts: Mutex::new(HashMap::new()),
        });
        let mut senders = Vec::new();
        let mut threads = Vec::new();
        for (i, queue) in queues.into_iter().enumerate() {
            let (tx, rx) = mpsc::unbounded_channel();
            let shared = shared.clone();
            // Each worker binds its own SO_REUSEPORT socket per address; bind errors surface
            // here, before any thread starts.
            let sockets = udp
                .iter()
                .map(|a| wolfguard_sys::udp_socket(*a, UDP_BUFFER))
                .collect::<std::io::Result<Vec<_>>>()?;
            let handle = std::thread::Builder::new()
                .name(format!("wg-data-{i}"))
                .spawn(move || worker(i, queue, sockets, rx, shared))?;
            senders.push(tx);
            threads.push(handle);
        }
        Ok(Self {
            senders,
            next: AtomicUsize::new(0),
            threads: Mutex::new(threads),
            shared,
        })
    }

    /// Pins a new tunnel to the next worker (round robin). Fails only when the workers are
    /// gone (shutdown); the job is dropped then and the caller detaches the session.
    pub fn dispatch(&self, job: TunnelJob) -> Result<(), WorkersGone> {
        let i = self.next.fetch_add(1, Ordering::Relaxed) % self.senders.len().max(1);
        match self.senders.get(i) {
            Some(tx) => tx.send(job).map_err(|_| WorkersGone),
            None => Err(WorkersGone),
        }
    }

    /// Stops accepting tunnels and waits for the workers (tunnels must have been told to stop).
    pub fn join(mut self) {
        let c = &self.shared.counters;
        tracing::info!(
            no_route = c.no_route.load(Ordering::Relaxed),
            queue_full = c.queue_full.load(Ordering::Relaxed),
            udp_unknown = c.udp_unknown.load(Ordering::Relaxed),
            udp_queue_full = c.udp_queue_full.load(Ordering::Relaxed),
            udp_datagrams = c.udp_datagrams.load(Ordering::Relaxed),
            dtls_handshakes = c.dtls_handshakes.load(Ordering::Relaxed),
            dtls_handshake_failures = c.dtls_handshake_failures.load(Ordering::Relaxed),
            "data path counters at shutdown"
        );
        self.senders.clear();
        let threads = std::mem::take(&mut *self.threads.lock().unwrap_or_else(|e| e.into_inner()));
        for t in threads {
            let _ = t.join();
        }
    }
}

fn worker(
    index: usize,
    queue: SyncDevice,
    sockets: Vec<std::net::UdpSocket>,
    mut jobs: mpsc::UnboundedReceiver<TunnelJob>,
    shared: Arc<Shared>,
) {
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            tracing::error!(worker = index, error = %e, "cannot start data worker runtime");
            return;
        }
    };
    rt.block_on(async move {
        let tun = match AsyncDevice::new(queue) {
            Ok(t) => Arc::new(t),
            Err(e) => {
                tracing::error!(worker = index, error = %e, "cannot register TUN queue");
                return;
            }
        };
        let mut readers = vec![tokio::spawn(tun_reader(tun.clone(), shared.clone()))];
        for s in sockets {
            match UdpSocket::from_std(s) {
                Ok(s) => readers.push(tokio::spawn(udp_reader(Arc::new(s), shared.clone()))),
                Err(e) => tracing::error!(worker = index, error = %e, "cannot register UDP socket"),
            }
        }
        let mut running = tokio::task::JoinSet::new();
        while let Some(job) = jobs.recv().await {
            running.spawn(tunnel::run(job, tun.clone(), shared.clone()));
            // Reap finished tunnels so the set does not grow without bound.
            while running.try_join_next().is_some() {}
        }
        // The control path closed the job queue: tunnels were told to stop; let them finish
        // their goodbyes for a bounded time.
        let _ = tokio::time::timeout(std::time::Duration::from_secs(3), async {
            while running.join_next().await.is_some() {}
        })
        .await;
        for r in readers {
            r.abort();
        }
    });
}

/// Reads packets from this worker's TUN queue and hands each to the tunnel owning its
/// destination. The CSTP header is written in front of the packet in the same buffer, so the
/// tunnel can encrypt the frame without copying it again.
async fn tun_reader(tun: Arc<AsyncDevice>, shared: Arc<Shared>) {
    const CHUNK: usize = 64 * 1024;
    let hdr = cstp::HEADER_LEN;
    let mut buf = BytesMut::with_capacity(CHUNK);
    loop {
        buf.clear();
        buf.reserve(hdr + shared.tun_mtu);
        buf.resize(hdr + shared.tun_mtu, 0);
        let n = match tun.recv(&mut buf[hdr..]).await {
            Ok(n) => n,
            Err(e) => {
                tracing::warn!(error = %e, "TUN read failed; data worker stops reading");
                return;
            }
        };
        if n == 0 {
            continue;
        }
        buf.truncate(hdr + n);
        buf[..hdr].copy_from_slice(&cstp::encode_header(cstp::PacketType::Data, n));
        let frame = buf.split().freeze();
        let Some(dst) = destination(&frame[hdr..]) else {
            continue;
        };
        match shared.router.lookup(&shared.route_key(dst)) {
            Some(tx) => {
                if tx.try_send(frame).is_err() {
                    shared.counters.queue_full.fetch_add(1, Ordering::Relaxed);
                }
            }
            None => {
                shared.counters.no_route.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}

/// Reads datagrams from one of this worker's UDP sockets and hands each to its tunnel. A known
/// peer is one table lookup; a new peer must send a record with a live connection id, or open
/// with a ClientHello whose session id (DTLS 1.2) or PSK identity (DTLS 1.3) is the App-ID of a
/// live tunnel; otherwise the datagram is counted and dropped without any TLS work.
async fn udp_reader(socket: Arc<UdpSocket>, shared: Arc<Shared>) {
    use std::os::fd::AsFd as _;
    const CHUNK: usize = 256 * 1024;
    let mut batch = wolfguard_sys::udp::RecvBatch::new(MAX_DATAGRAM);
    let mut chunk = BytesMut::with_capacity(CHUNK);
    loop {
        // One recvmmsg per wake-up moves up to 32 datagrams; each is copied once into a shared
        // chunk so the tunnel gets a cheap `Bytes` and the receive slots are reused at once.
        if socket.readable().await.is_err() {
            return;
        }
        let n = match socket.try_io(tokio::io::Interest::READABLE, || {
            wolfguard_sys::udp::recv_batch(socket.as_fd(), &mut batch)
        }) {
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
            Err(e) => {
                // ICMP errors for earlier sends surface here on some kernels; keep reading.
                tracing::trace!(error = %e, "UDP receive error");
                continue;
            }
        };
        shared
            .counters
            .udp_datagrams
            .fetch_add(n as u64, Ordering::Relaxed);
        for i in 0..n {
            let Some((data, peer)) = batch.get(i) else {
                shared.counters.udp_unknown.fetch_add(1, Ordering::Relaxed);
                continue;
            };
            if chunk.capacity() < data.len() {
                chunk = BytesMut::with_capacity(CHUNK);
            }
            chunk.extend_from_slice(data);
            let bytes = chunk.split().freeze();
            route_datagram(&shared, &socket, peer, bytes);
        }
    }
}

/// Hands one datagram to its tunnel, or counts and drops it.
fn route_datagram(shared: &Shared, socket: &Arc<UdpSocket>, peer: SocketAddr, bytes: Bytes) {
    let tx = match shared.peers.lookup(&peer) {
        Some(tx) => tx,
        None => {
            let by_cid = dtls::record_connection_id(&bytes, dtls::SERVER_CID_LEN)
                .and_then(|c| <[u8; dtls::SERVER_CID_LEN]>::try_from(c).ok())
                .and_then(|c| shared.cids.lookup(&c));
            if let Some(tx) = by_cid {
                // Not learnt here: CIDs are visible on the wire, so only a record that
                // decrypts moves the tunnel (and its fast-path entry) to this address.
                deliver(shared, socket, peer, bytes, tx);
                return;
            }
            let id = dtls::client_hello_app_id(&bytes);
            let known = id.and_then(|id| {
                shared
                    .dtls_ids
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .get(&id)
                    .cloned()
            });
            match known {
                Some(tx) => {
                    shared.add_peer(peer, &tx);
                    tx
                }
                // Not a ClientHello: perhaps a known client whose NAT mapping changed. The
                // tunnel accepts the new address only if the record decrypts.
                None if id.is_none() => match shared.peer_ips.lookup(&peer.ip()) {
                    Some(tx) => tx,
                    None => {
                        shared.counters.udp_unknown.fetch_add(1, Ordering::Relaxed);
                        return;
                    }
                },
                None => {
                    shared.counters.udp_unknown.fetch_add(1, Ordering::Relaxed);
                    return;
                }
            }
        }
    };
    deliver(shared, socket, peer, bytes, tx);
}

/// Queues one datagram for its tunnel (dropping it when the tunnel's queue is full).
fn deliver(
    shared: &Shared,
    socket: &Arc<UdpSocket>,
    peer: SocketAddr,
    bytes: Bytes,
    tx: mpsc::Sender<Datagram>,
) {
    let dgram = Datagram {
        peer,
        bytes,
        socket: socket.clone(),
    };
    match tx.try_send(dgram) {
        Ok(()) => {}
        Err(mpsc::error::TrySendError::Full(_)) => {
            shared
                .counters
                .udp_queue_full
                .fetch_add(1, Ordering::Relaxed);
        }
        // The tunnel ended; forget the flow so the client's next ClientHello is looked up
        // afresh.
        Err(mpsc::error::TrySendError::Closed(_)) => shared.remove_peer(peer, &tx),
    }
}

/// The destination address of an IPv4 or IPv6 packet.
pub fn destination(packet: &[u8]) -> Option<IpAddr> {
    match packet.first()? >> 4 {
        4 => {
            let b: [u8; 4] = packet.get(16..20)?.try_into().ok()?;
            Some(IpAddr::from(b))
        }
        6 => {
            let b: [u8; 16] = packet.get(24..40)?.try_into().ok()?;
            Some(IpAddr::from(b))
        }
        _ => None,
    }
}

/// The source address of an IPv4 or IPv6 packet.
pub fn source(packet: &[u8]) -> Option<IpAddr> {
    match packet.first()? >> 4 {
        4 => {
            let b: [u8; 4] = packet.get(12..16)?.try_into().ok()?;
            Some(IpAddr::from(b))
        }
        6 => {
            let b: [u8; 16] = packet.get(8..24)?.try_into().ok()?;
            Some(IpAddr::from(b))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_read_from_both_families_and_garbage_is_ignored() {
        let mut v4 = [0u8; 20];
        v4[0] = 0x45;
        v4[12..16].copy_from_slice(&[10, 0, 0, 2]);
        v4[16..20].copy_from_slice(&[10, 0, 0, 1]);
        assert_eq!(destination(&v4), Some("10.0.0.1".parse().unwrap()));
        assert_eq!(source(&v4), Some("10.0.0.2".parse().unwrap()));
        let mut v6 = [0u8; 40];
        v6[0] = 0x60;
        v6[39] = 1;
        assert_eq!(destination(&v6), Some("::1".parse().unwrap()));
        assert_eq!(destination(&v4[..19]), None);
        assert_eq!(destination(&[]), None);
        assert_eq!(destination(&[0x50; 40]), None);
    }

    #[test]
    fn v6_route_keys_cover_the_clients_whole_prefix() {
        let shared = |p| Shared {
            router: Router::default(),
            sessions: Arc::new(Sessions::new(
                crate::leases::Leases::new(None, None, 128),
                crate::sessions::SessionLimits {
                    cookie_timeout: std::time::Duration::from_secs(1),
                    session_timeout: None,
                    max_same_clients: 0,
                    max_clients: 0,
                },
            )),
            bus: Arc::new(wolfguard_runtime::EventBus::new()),
            packet_filters: None,
            counters: Counters::default(),
            tun_mtu: 1400,
            v6_prefix: p,
            dtls_ids: Mutex::new(HashMap::new()),
            cids: RouteTable::default(),
            peers: RouteTable::default(),
            peer_ips: RouteTable::default(),
            peer_ip_counts: Mutex::new(HashMap::new()),
        };
        let a: IpAddr = "fd00:77:0:5::1234".parse().unwrap();
        assert_eq!(
            shared(64).route_key(a),
            "fd00:77:0:5::".parse::<IpAddr>().unwrap()
        );
        assert_eq!(shared(128).route_key(a), a);
        let v4: IpAddr = "10.0.0.9".parse().unwrap();
        assert_eq!(shared(64).route_key(v4), v4);
    }

    #[test]
    fn router_remove_only_removes_its_own_channel() {
        let r = Router::default();
        let (a, _ra) = mpsc::channel(1);
        let (b, _rb) = mpsc::channel(1);
        let ip: IpAddr = "10.0.0.2".parse().unwrap();
        r.insert(ip, a.clone());
        r.insert(ip, b.clone()); // reconnect took over the address
        r.remove(&ip, &a);
        assert!(r.lookup(&ip).is_some_and(|t| t.same_channel(&b)));
        r.remove(&ip, &b);
        assert!(r.lookup(&ip).is_none());
    }
}
