//! The Prometheus endpoint: `GET /metrics` in text format 0.0.4 on the `[metrics] listen`
//! addresses, plain HTTP, one request per connection.
//!
//! Everything here is read from counters the data and control paths keep anyway (relaxed
//! atomics, the pool's snapshot, the session table's counts), so a scrape never touches the
//! packet path. Requests are parsed with the same bounded parser as the VPN front end; anything
//! but `GET /metrics` gets a plain error status, and a peer that sends nothing for 5 s is
//! dropped.

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use anyhow::Context as _;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};
use wolfguard_proto::http::{self, Limits, Method};
use wolfguard_runtime::pool::Priority;

use crate::server::Server;

/// How long a scraper may take to send its request.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);
/// At most this many scrapes are served at once; more wait in the kernel's backlog.
const MAX_CONCURRENT: usize = 16;

/// Binds every metrics address; errors name the address.
pub fn bind(addrs: &[SocketAddr]) -> anyhow::Result<Vec<TcpListener>> {
    let mut listeners = Vec::new();
    for addr in addrs {
        let l = wolfguard_sys::tcp_listener(*addr)
            .and_then(TcpListener::from_std)
            .with_context(|| format!("cannot listen on metrics.listen {addr}"))?;
        tracing::info!(%addr, "metrics endpoint listening");
        listeners.push(l);
    }
    Ok(listeners)
}

/// Serves scrapes on `listeners` until the task is aborted.
pub async fn serve(server: Arc<Server>, listeners: Vec<TcpListener>) {
    let permits = Arc::new(tokio::sync::Semaphore::new(MAX_CONCURRENT));
    let mut tasks = tokio::task::JoinSet::new();
    for l in listeners {
        let server = server.clone();
        let permits = permits.clone();
        tasks.spawn(async move {
            loop {
                let Ok((tcp, _)) = l.accept().await else {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                };
                let Ok(permit) = permits.clone().acquire_owned().await else {
                    return;
                };
                let server = server.clone();
                tokio::spawn(async move {
                    let _ = answer(&server, tcp).await;
                    drop(permit);
                });
            }
        });
    }
    while tasks.join_next().await.is_some() {}
}

async fn answer(server: &Server, mut tcp: TcpStream) -> std::io::Result<()> {
    let limits = Limits {
        max_head: 4096,
        max_headers: 32,
        max_body: 0,
    };
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 1024];
    let head = loop {
        let n = match tokio::time::timeout(REQUEST_TIMEOUT, tcp.read(&mut chunk)).await {
            Ok(Ok(0)) | Err(_) => return Ok(()),
            Ok(Ok(n)) => n,
            Ok(Err(e)) => return Err(e),
        };
        buf.extend_from_slice(&chunk[..n]);
        match http::parse_request_head(&buf, &limits) {
            Ok(Some((head, _))) => break head,
            Ok(None) => {}
            Err(_) => {
                let resp = http::simple_response(400, "Bad Request", None, b"", true);
                return tcp.write_all(&resp).await;
            }
        }
    };
    let resp = match (&head.method, head.path.split('?').next()) {
        (Method::Get, Some("/metrics")) => {
            let body = render(server);
            http::simple_response(
                200,
                "OK",
                Some("text/plain; version=0.0.4; charset=utf-8"),
                body.as_bytes(),
                true,
            )
        }
        (Method::Get | Method::Head, _) => http::simple_response(404, "Not Found", None, b"", true),
        _ => http::simple_response(405, "Method Not Allowed", None, b"", true),
    };
    tcp.write_all(&resp).await?;
    tcp.shutdown().await
}

/// One metric family: HELP and TYPE lines, then samples.
fn family(out: &mut String, name: &str, kind: &str, help: &str, samples: &[(&str, f64)]) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
    for (labels, value) in samples {
        if labels.is_empty() {
            let _ = writeln!(out, "{name} {value}");
        } else {
            let _ = writeln!(out, "{name}{{{labels}}} {value}");
        }
    }
}

/// The whole exposition.
pub fn render(server: &Server) -> String {
    let mut out = String::with_capacity(4096);
    let c = &server.dataplane.shared.counters;
    let load = |a: &std::sync::atomic::AtomicU64| a.load(Ordering::Relaxed) as f64;
    let (sessions, tunnels, leases) = server.sessions.counts();
    family(
        &mut out,
        "wolfguard_sessions",
        "gauge",
        "Authenticated sessions (cookies) alive.",
        &[("", sessions as f64)],
    );
    family(
        &mut out,
        "wolfguard_tunnels",
        "gauge",
        "Sessions with a connected tunnel.",
        &[("", tunnels as f64)],
    );
    family(
        &mut out,
        "wolfguard_ipv4_leases",
        "gauge",
        "IPv4 pool addresses leased.",
        &[("", leases as f64)],
    );
    let a = &server.auth_counters;
    family(
        &mut out,
        "wolfguard_logins_total",
        "counter",
        "Password checks by result.",
        &[
            ("result=\"accepted\"", load(&a.accepted)),
            ("result=\"rejected\"", load(&a.rejected)),
        ],
    );
    family(
        &mut out,
        "wolfguard_tun_no_route_total",
        "counter",
        "Packets from the TUN device with no tunnel for their destination.",
        &[("", load(&c.no_route))],
    );
    family(
        &mut out,
        "wolfguard_tun_queue_full_total",
        "counter",
        "Packets dropped because a tunnel's queue was full.",
        &[("", load(&c.queue_full))],
    );
    family(
        &mut out,
        "wolfguard_udp_datagrams_total",
        "counter",
        "Datagrams received on the DTLS sockets.",
        &[("", load(&c.udp_datagrams))],
    );
    family(
        &mut out,
        "wolfguard_udp_unknown_total",
        "counter",
        "Datagrams dropped before any TLS work: garbage, unknown or forged App-IDs and CIDs, truncated datagrams.",
        &[("", load(&c.udp_unknown))],
    );
    family(
        &mut out,
        "wolfguard_udp_queue_full_total",
        "counter",
        "Datagrams dropped because a tunnel's DTLS queue was full.",
        &[("", load(&c.udp_queue_full))],
    );
    family(
        &mut out,
        "wolfguard_dtls_handshakes_total",
        "counter",
        "DTLS handshakes by result.",
        &[
            ("result=\"ok\"", load(&c.dtls_handshakes)),
            ("result=\"failed\"", load(&c.dtls_handshake_failures)),
        ],
    );
    family(
        &mut out,
        "wolfguard_filtered_packets_total",
        "counter",
        "Packets dropped or rejected by data-path filter plugins.",
        &[("", load(&c.filtered))],
    );
    family(
        &mut out,
        "wolfguard_icmp_rejects_total",
        "counter",
        "ICMP administratively-prohibited errors sent for packets a filter rejected.",
        &[("", load(&c.icmp_rejects))],
    );
    family(
        &mut out,
        "wolfguard_dtls_peer_moves_total",
        "counter",
        "DTLS flows that moved to a new client address without a handshake (NAT rebinding, connection ids).",
        &[("", load(&c.dtls_peer_moves))],
    );
    let stats = server.pool.stats();
    let classes = [
        Priority::Critical,
        Priority::High,
        Priority::Medium,
        Priority::Low,
    ];
    let label = |p: Priority| format!("class=\"{}\"", format!("{p:?}").to_ascii_lowercase());
    let labels: Vec<String> = classes.iter().map(|&p| label(p)).collect();
    let per_class = |f: &dyn Fn(&wolfguard_runtime::pool::ClassStats) -> f64| -> Vec<(&str, f64)> {
        classes
            .iter()
            .zip(&labels)
            .map(|(&p, l)| (l.as_str(), f(stats.class(p))))
            .collect()
    };
    family(
        &mut out,
        "wolfguard_pool_threads",
        "gauge",
        "Worker threads of the blocking-work pool ([pool] threads).",
        &[("", stats.threads as f64)],
    );
    let reserved = server.config.pool.reserved();
    family(
        &mut out,
        "wolfguard_pool_reserved_threads",
        "gauge",
        "Pool threads reserved per class ([pool] reserved_*).",
        &labels
            .iter()
            .zip(reserved)
            .map(|(l, r)| (l.as_str(), f64::from(r)))
            .collect::<Vec<_>>(),
    );
    family(
        &mut out,
        "wolfguard_pool_queued",
        "gauge",
        "Blocking jobs waiting for a pool thread.",
        &per_class(&|s| s.queued as f64),
    );
    family(
        &mut out,
        "wolfguard_pool_running",
        "gauge",
        "Blocking jobs running.",
        &per_class(&|s| s.running as f64),
    );
    family(
        &mut out,
        "wolfguard_pool_started_total",
        "counter",
        "Blocking jobs started.",
        &per_class(&|s| s.started as f64),
    );
    family(
        &mut out,
        "wolfguard_pool_rejected_total",
        "counter",
        "Blocking jobs refused because the class queue was full.",
        &per_class(&|s| s.rejected as f64),
    );
    family(
        &mut out,
        "wolfguard_pool_wait_seconds_total",
        "counter",
        "Total time jobs waited in the queue.",
        &per_class(&|s| s.total_wait.as_secs_f64()),
    );
    family(
        &mut out,
        "wolfguard_pool_wait_seconds_max",
        "gauge",
        "Longest time any job waited in the queue.",
        &per_class(&|s| s.max_wait.as_secs_f64()),
    );
    out
}
