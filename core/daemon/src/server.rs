//! Wiring: builds every part from the configuration, runs the listeners, shuts down cleanly.
//!
//! ```text
//!  listeners ─► front::serve (control runtime) ─► priority pool (password checks)
//!                    │ CONNECT accepted
//!                    ▼
//!              DataPlane workers (one thread + TUN queue each) ◄─► TUN device
//! ```

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use wolfguard_config::Config;
use wolfguard_proto::connect::KeyKind;
use wolfguard_proto::connect::{
    ConnectRequest, ConnectResponse, DtlsHeaders, Ipv4Lease, Ipv6Lease, RekeyMethod, Route,
};
use wolfguard_proto::mtu;
use wolfguard_runtime::EventBus;
use wolfguard_runtime::pool::{PoolConfig, PriorityPool};
use wolfguard_sys::{NatConfig, NatGuard, TunConfig, TunQueues};
use wolfguard_tls::{DtlsContext, ServerContext};

use crate::auth::{Authenticator, PasswordFile};
use crate::dataplane::DataPlane;
use crate::front;
use crate::leases::Leases;
use crate::sessions::{Attached, SessionLimits, Sessions};
use crate::tunnel::DtlsSetup;

/// Connections allowed in the TLS/HTTP phase at once; more wait in the kernel's backlog.
const MAX_PENDING: usize = 1024;

/// The running server's shared parts.
pub struct Server {
    /// The validated configuration.
    pub config: Config,
    /// TLS context for the VPN front end.
    pub tls: ServerContext,
    /// Sessions and leases.
    pub sessions: Arc<Sessions>,
    /// The data path.
    pub dataplane: DataPlane,
    /// Where blocking work runs.
    pub pool: Arc<PriorityPool>,
    /// The loaded plugins, when any `[plugins.<name>]` table exists.
    pub plugins: Option<wolfguard_plugin_host::PluginHost>,
    /// Which optional plugin hooks are present (so connections skip empty chains).
    pub plugin_hooks: crate::plugins::HookSet,
    /// The event bus: auth results, sessions up/down, DTLS up/down. Subscribers (logging
    /// plugins, later the management API) get bounded queues; publishing never blocks.
    pub bus: Arc<EventBus>,
    /// Login counters for the metrics endpoint.
    pub auth_counters: AuthCounters,
    /// The password backend.
    pub auth: Arc<dyn Authenticator>,
    /// The TUN device's MTU (largest data MTU handed out).
    pub tun_mtu: u16,
    /// The masquerade table, when `network.nat` is on; removed when the server drops.
    pub nat: Option<NatGuard>,
    /// The DTLS contexts, when `server.dtls` is on.
    pub dtls: Option<DtlsContexts>,
}

/// The DTLS contexts: PSK-NEGOTIATE always, resumption when the certificate key allows it.
#[derive(Debug)]
pub struct DtlsContexts {
    /// PSK-NEGOTIATE.
    pub psk: DtlsContext,
    /// Resumption (Cisco `X-DTLS12-CipherSuite`, openconnect `OC-DTLS1_2-*`).
    pub resume: Option<DtlsContext>,
    /// The server key's kind, which decides the resumption suites.
    pub key_kind: KeyKind,
}

impl Server {
    /// Builds the server: TLS context, pools, TUN device and data-path workers.
    pub fn build(config: Config) -> anyhow::Result<Self> {
        let tls = ServerContext::new(&wolfguard_tls::ServerConfig {
            certificate: config.server.certificate.clone(),
            private_key: config.server.private_key.clone(),
            min_version: match config.tls.min_version {
                wolfguard_config::TlsVersion::Tls13 => wolfguard_tls::TlsVersion::Tls13,
                _ => wolfguard_tls::TlsVersion::Tls12,
            },
            cipher_list: config
                .tls
                .cipher_list
                .as_ref()
                .map(|c| c.as_str().split(':').map(str::to_owned).collect()),
            groups: config
                .tls
                .groups
                .iter()
                .map(|g| g.as_str().to_owned())
                .collect(),
        })
        .context("TLS setup failed")?;
        create_private_dir(&config.server.state_dir)?;
        let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
        let pool_config = PoolConfig {
            threads: config.pool.thread_count(cpus),
            reserved: config.pool.reserved().map(|r| r as usize),
            queue_depth: config.pool.queue_depth as usize,
        };
        let pool = Arc::new(PriorityPool::new(pool_config).with_context(|| {
            format!(
                "cannot start the thread pool ([pool] threads = {}, reserved {:?}); fix: \
                 reserve fewer threads than pool.threads",
                config.pool.thread_count(cpus),
                config.pool.reserved()
            )
        })?);
        let bus = Arc::new(EventBus::new());
        // Plugins load before anything listens, so a broken critical plugin stops start-up.
        let plugins = crate::plugins::load(&config, pool.clone(), &bus)?;
        let hooks = crate::plugins::HookSet::of(plugins.as_ref());
        let auth: Arc<dyn Authenticator> =
            match plugins.as_ref().and_then(crate::plugins::PluginAuth::first) {
                Some(p) => Arc::new(p),
                None if config.auth.password_file.as_os_str().is_empty() => anyhow::bail!(
                    "no authentication backend: set auth.password_file, or configure an auth \
                     plugin in a [plugins.<name>] table (see docs/plugins/authoring.md)"
                ),
                None => Arc::new(
                    PasswordFile::open(&config.auth.password_file).map_err(anyhow::Error::msg)?,
                ),
            };
        let net = &config.network;
        let leases = Leases::new(net.ipv4_pool, net.ipv6_pool, net.ipv6_prefix);
        // The TUN MTU is the data MTU for the configured link MTU; clients with a smaller path
        // get a smaller X-CSTP-MTU, which only limits what they send.
        let tun_mtu = mtu::data_mtu(net.mtu, None, false, mtu::PSK_AES_GCM_OVERHEAD).data_mtu;
        let workers = config.server.worker_count();
        let queues = TunQueues::create(&TunConfig {
            name: net.tun_name.as_str().to_owned(),
            mtu: tun_mtu,
            ipv4: leases.server_v4(),
            ipv6: leases.server_v6(),
            queues: workers,
        })
        .context("TUN setup failed (wolfguard needs CAP_NET_ADMIN and /dev/net/tun)")?;
        tracing::info!(device = %queues.name, queues = queues.queues.len(), mtu = tun_mtu, "TUN device up");
        let nat = if net.nat {
            let guard = NatGuard::install(&NatConfig {
                tun: queues.name.clone(),
                ipv4_pool: net.ipv4_pool.map(|n| n.to_string()),
                ipv6_pool: net.ipv6_pool.map(|n| n.to_string()),
            })
            .context("cannot set up NAT (network.nat = true)")?;
            tracing::info!(device = %queues.name, "forwarding and masquerading the pools");
            Some(guard)
        } else {
            None
        };
        let t = &config.timeouts;
        let sessions = Arc::new(Sessions::new(
            leases,
            SessionLimits {
                cookie_timeout: Duration::from_secs(u64::from(t.cookie_timeout)),
                session_timeout: (t.session_timeout > 0)
                    .then(|| Duration::from_secs(u64::from(t.session_timeout))),
                max_same_clients: config.server.max_same_clients,
                max_clients: config.server.max_clients,
            },
        ));
        let udp: &[std::net::SocketAddr] = if config.server.dtls {
            &config.server.listen
        } else {
            &[]
        };
        let dtls = if config.server.dtls {
            let c = &config.server;
            let key_kind = wolfguard_tls::key_kind(&c.private_key).context("DTLS setup failed")?;
            let resume = DtlsContext::resume(&c.certificate, &c.private_key)
                .map_err(|e| tracing::warn!(error = %e, "DTLS resumption mode disabled"))
                .ok();
            Some(DtlsContexts {
                psk: DtlsContext::new().context("DTLS setup failed")?,
                resume,
                key_kind,
            })
        } else {
            None
        };
        let dataplane = DataPlane::start(
            queues.queues,
            tun_mtu,
            net.ipv6_prefix,
            udp,
            sessions.clone(),
            bus.clone(),
            plugins.clone().filter(|_| hooks.filter_packets),
        )
        .context("cannot start data-path workers")?;
        Ok(Self {
            config,
            tls,
            sessions,
            dataplane,
            pool,
            plugin_hooks: hooks,
            plugins,
            bus,
            auth_counters: AuthCounters::default(),
            auth,
            tun_mtu,
            nat,
            dtls,
        })
    }

    /// `X-DTLS-MTU` for resumption mode: the same data MTU as CSTP, so one tun MTU fits both.
    pub fn dtls_data_mtu(&self, req: &ConnectRequest) -> u16 {
        let net = &self.config.network;
        mtu::data_mtu(net.mtu, req.base_mtu, false, mtu::PSK_AES_GCM_OVERHEAD)
            .data_mtu
            .min(self.tun_mtu)
    }

    /// Largest DTLS datagram payload: the link MTU less IPv4 and UDP headers.
    pub fn dtls_mtu(&self) -> u16 {
        self.config.network.mtu.saturating_sub(28)
    }

    /// The CONNECT response for an accepted session.
    pub fn connect_response(
        &self,
        req: &ConnectRequest,
        s: &Attached,
        tcp_v6: bool,
        dtls: Option<&DtlsSetup>,
        udp_port: u16,
    ) -> ConnectResponse {
        let net = &self.config.network;
        let t = &self.config.timeouts;
        let mtus = mtu::data_mtu(net.mtu, req.base_mtu, tcp_v6, mtu::PSK_AES_GCM_OVERHEAD);
        let ipv6 = if mtus.ipv6_allowed && req.full_ipv6 {
            s.ipv6
        } else {
            None
        };
        let routes = |nets: &[ipnet::IpNet], v6: bool| -> Vec<Route> {
            nets.iter()
                .filter(|n| matches!(n, ipnet::IpNet::V6(_)) == v6)
                .filter_map(|n| Route::new(n.network(), n.prefix_len()))
                .collect()
        };
        let mut include = routes(&net.routes, false);
        let mut exclude = routes(&net.no_routes, false);
        if ipv6.is_some() {
            include.extend(routes(&net.routes, true));
            exclude.extend(routes(&net.no_routes, true));
        }
        ConnectResponse {
            server_name: Some(self.config.server.server_name.clone()),
            hostname: req.hostname.clone(),
            client: req.client,
            dpd: Some(self.dpd_for(req)),
            keepalive: Some(t.keepalive),
            default_domain: net.default_domain.as_ref().map(|d| d.as_str().to_owned()),
            ipv4: s
                .ipv4
                .zip(self.sessions_netmask())
                .map(|(address, netmask)| Ipv4Lease { address, netmask }),
            ipv6: ipv6.map(|address| Ipv6Lease {
                address,
                prefix: self.v6_prefix(),
            }),
            full_ipv6: req.full_ipv6,
            dns: net
                .dns
                .iter()
                .copied()
                .filter(|d| d.is_ipv4() || ipv6.is_some())
                .collect(),
            split_dns: net
                .split_dns
                .iter()
                .map(|d| d.as_str().to_owned())
                .collect(),
            tunnel_all_dns: net.tunnel_all_dns || net.routes.is_empty(),
            split_include: include,
            split_exclude: exclude,
            idle_timeout: (t.idle_timeout > 0).then_some(t.idle_timeout),
            session_timeout: (t.session_timeout > 0).then_some(t.session_timeout),
            session_timeout_remaining: s
                .deadline
                .map(|d| d.saturating_duration_since(Instant::now()).as_secs() as u32),
            rekey_time: Some(t.rekey_time),
            rekey_method: match t.rekey_method {
                wolfguard_config::RekeyMethod::NewTunnel => RekeyMethod::NewTunnel,
                _ => RekeyMethod::Ssl,
            },
            base_mtu: Some(mtus.base_mtu),
            mtu: mtus.data_mtu.min(self.tun_mtu),
            banner: self.config.auth.banner.clone(),
            dtls: dtls.map(|d| DtlsHeaders {
                port: udp_port,
                dpd: Some(self.dpd_for(req)),
                keepalive: Some(t.keepalive),
                // As ocserv: the DTLS timer runs 10 s behind the CSTP one, and `ssl` means the
                // client renegotiates the DTLS session in place (RFC 5746, enabled on every
                // server session); with `new-tunnel` the method is omitted and openconnect
                // opens a fresh DTLS session after its CSTP reconnect.
                rekey_time: Some(t.rekey_time.saturating_add(10)),
                rekey_method: match t.rekey_method {
                    wolfguard_config::RekeyMethod::NewTunnel => None,
                    _ => Some(RekeyMethod::Ssl),
                },
                mode: d.mode.clone(),
                content_encoding: None,
            }),
            ..ConnectResponse::default()
        }
    }

    /// The DPD interval for this client: mobile clients get `mobile_dpd` (ocserv's rule), so
    /// phones are not woken every 90 s.
    pub fn dpd_for(&self, req: &ConnectRequest) -> u32 {
        let t = &self.config.timeouts;
        if req.mobile { t.mobile_dpd } else { t.dpd }
    }

    fn sessions_netmask(&self) -> Option<std::net::Ipv4Addr> {
        self.config.network.ipv4_pool.map(|n| n.netmask())
    }

    fn v6_prefix(&self) -> u8 {
        self.config.network.ipv6_prefix
    }
}

/// Creates `dir` (and parents) if missing; a new directory is readable by root only.
fn create_private_dir(dir: &std::path::Path) -> anyhow::Result<()> {
    use std::os::unix::fs::DirBuilderExt as _;
    if dir.is_dir() {
        return Ok(());
    }
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .with_context(|| format!("cannot create server.state_dir {}", dir.display()))
}

/// Password-check outcomes, for the metrics endpoint.
#[derive(Debug, Default)]
pub struct AuthCounters {
    /// Accepted logins.
    pub accepted: std::sync::atomic::AtomicU64,
    /// Rejected logins (wrong password, unknown or locked user, backend failure).
    pub rejected: std::sync::atomic::AtomicU64,
}

/// The extra front-end listeners transport plugins ask for. Protocol `tcp` (alias `cstp`) is
/// the VPN front end itself (TLS, the auth exchange, CONNECT, CSTP) on another address; DTLS
/// stays on the `server.listen` ports, so clients of these listeners are not offered it. A
/// listener that cannot bind stops start-up, naming the plugin and the address, as for
/// `server.listen`; an unknown protocol or unparsable address is logged and skipped.
fn plugin_listeners(server: &Server) -> anyhow::Result<Vec<TcpListener>> {
    let Some(host) = server.plugins.as_ref() else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for (plugin, l) in host.listeners() {
        if !matches!(l.protocol.as_str(), "tcp" | "cstp") {
            tracing::warn!(%plugin, listener = %l.name, protocol = %l.protocol,
                "listener skipped: this daemon serves only protocol \"tcp\" (the VPN front end)");
            continue;
        }
        let Ok(addr) = l.bind.parse::<std::net::SocketAddr>() else {
            tracing::warn!(%plugin, listener = %l.name, bind = %l.bind,
                "listener skipped: bind is not an ip:port address");
            continue;
        };
        let listener = wolfguard_sys::tcp_listener(addr)
            .and_then(TcpListener::from_std)
            .with_context(|| {
                format!(
                    "plugins.{plugin}: cannot listen on {addr} (listener `{}`)",
                    l.name
                )
            })?;
        tracing::info!(%plugin, listener = %l.name, %addr, "listening (TCP, from a transport plugin)");
        out.push(listener);
    }
    Ok(out)
}

/// Whether a connection that arrived on local address `local` may use DTLS: only the
/// `server.listen` ports have the UDP sockets behind them.
pub fn dtls_port(server: &Server, local: Option<std::net::SocketAddr>) -> bool {
    local.is_some_and(|local| {
        server
            .config
            .server
            .listen
            .iter()
            .any(|a| a.port() == local.port())
    })
}

/// Runs the server until SIGINT or SIGTERM.
pub async fn run(server: Arc<Server>) -> anyhow::Result<()> {
    let mut listeners = Vec::new();
    for addr in &server.config.server.listen {
        let l = wolfguard_sys::tcp_listener(*addr)
            .and_then(TcpListener::from_std)
            .with_context(|| format!("cannot listen on {addr}"))?;
        tracing::info!(%addr, "listening (TCP)");
        listeners.push(l);
    }
    listeners.extend(plugin_listeners(&server)?);
    let pending = Arc::new(Semaphore::new(MAX_PENDING));
    let mut tasks = tokio::task::JoinSet::new();
    for l in listeners {
        let server = server.clone();
        let pending = pending.clone();
        tasks.spawn(async move {
            loop {
                let (tcp, peer) = match l.accept().await {
                    Ok(x) => x,
                    Err(e) => {
                        // EMFILE and friends: back off instead of spinning.
                        tracing::warn!(error = %e, "accept failed");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        continue;
                    }
                };
                let Ok(permit) = pending.clone().acquire_owned().await else {
                    return;
                };
                let server = server.clone();
                tokio::spawn(async move {
                    front::serve(server, tcp, peer).await;
                    drop(permit);
                });
            }
        });
    }
    let sweeper = {
        let server = server.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(1));
            loop {
                tick.tick().await;
                if server.sessions.sweep(Instant::now()) > 0 {
                    let (sessions, tunnels, leases) = server.sessions.counts();
                    tracing::debug!(sessions, tunnels, leases, "expired sessions swept");
                }
            }
        })
    };
    // Bound here, so a taken metrics port fails start-up with its address named.
    let metrics = crate::metrics::bind(&server.config.metrics.listen)?;
    let metrics =
        (!metrics.is_empty()).then(|| tokio::spawn(crate::metrics::serve(server.clone(), metrics)));
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate())?;
    let mut hup = signal(SignalKind::hangup())?;
    loop {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {
                tracing::info!("SIGINT: shutting down");
                break;
            }
            _ = term.recv() => {
                tracing::info!("SIGTERM: shutting down");
                break;
            }
            _ = hup.recv() => {
                tracing::info!("SIGHUP: reloading WASM plugins");
                crate::plugins::reload(&server).await;
            }
        }
    }
    tasks.abort_all();
    sweeper.abort();
    if let Some(m) = metrics {
        m.abort();
    }
    server.sessions.shutdown_all();
    Ok(())
}
