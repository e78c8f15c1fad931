//! The control-path front end: TLS handshake, the HTTP auth exchange and `CONNECT`.
//!
//! One task per TCP connection, on the control runtime. It never touches packets: once CONNECT
//! succeeds, the TCP socket and TLS session move to a data-path worker. Password checks run on
//! the priority pool, so a slow backend delays only the login that waits for it.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use wolfguard_proto::auth::{self, AuthForm, AuthPost, AuthPostKind, GroupOption};
use wolfguard_proto::connect::{self, ConnectRequest, DtlsChoice, DtlsMode, choose_dtls};
use wolfguard_proto::http::{self, Limits, Method, RequestHead, ResponseHead};
use wolfguard_proto::urls;
use wolfguard_runtime::Event;
use wolfguard_tls::{DtlsKeys, HandshakeStatus, ReadOutcome, TlsSession};

use crate::auth::Verdict;
use crate::dataplane::DtlsRoute;
use crate::server::{DtlsContexts, Server};
use crate::sessions::{AttachError, Attached};
use crate::tunnel::{DtlsSetup, TunnelJob, TunnelParams, liveness_config};

/// ocserv serves at most this many HTTP requests on one connection before closing it.
const MAX_REQUESTS: usize = 16;
/// Bound on the TLS handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Why a connection ended before (or instead of) becoming a tunnel.
#[derive(Debug, thiserror::Error)]
enum FrontError {
    #[error("I/O: {0}")]
    Io(#[from] std::io::Error),
    #[error("TLS: {0}")]
    Tls(#[from] wolfguard_tls::TlsError),
    #[error("client closed the connection")]
    Closed,
}

/// A TLS connection during the HTTP phase.
struct Conn {
    tcp: TcpStream,
    tls: TlsSession,
    peer: SocketAddr,
    plain: Vec<u8>,
}

impl Conn {
    async fn flush(&mut self) -> Result<(), FrontError> {
        while self.tls.wants_write() {
            let n = self.tls.outgoing().len();
            self.tcp.write_all(self.tls.outgoing()).await?;
            self.tls.consume_outgoing(n);
        }
        Ok(())
    }

    async fn read_ciphertext(&mut self) -> Result<(), FrontError> {
        let mut buf = [0u8; 16 * 1024];
        self.tcp.readable().await?;
        match self.tcp.try_read(&mut buf) {
            Ok(0) => {
                self.tls.feed_eof();
                Ok(())
            }
            Ok(n) => {
                self.tls.feed(&buf[..n]);
                Ok(())
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    async fn handshake(&mut self) -> Result<(), FrontError> {
        loop {
            let status = self.tls.handshake()?;
            self.flush().await?;
            if status == HandshakeStatus::Done {
                return Ok(());
            }
            self.read_ciphertext().await?;
        }
    }

    /// Reads until at least one more plaintext byte is buffered.
    async fn read_more(&mut self) -> Result<(), FrontError> {
        let mut tmp = [0u8; 16 * 1024];
        loop {
            match self.tls.read(&mut tmp)? {
                ReadOutcome::Data(n) => {
                    self.plain.extend_from_slice(&tmp[..n]);
                    return Ok(());
                }
                ReadOutcome::Closed => return Err(FrontError::Closed),
                ReadOutcome::WantRead => {
                    self.flush().await?;
                    self.read_ciphertext().await?;
                }
            }
        }
    }

    /// Sends a whole response; TLS records are at most 16 KiB each.
    async fn send(&mut self, bytes: &[u8]) -> Result<(), FrontError> {
        for chunk in bytes.chunks(16 * 1024) {
            self.tls.write(chunk)?;
        }
        self.flush().await
    }

    /// Reads one request: head and body.
    async fn request(
        &mut self,
        limits: &Limits,
    ) -> Result<Result<(RequestHead, Vec<u8>), u16>, FrontError> {
        let (head, used) = loop {
            match http::parse_request_head(&self.plain, limits) {
                Ok(Some(parsed)) => break parsed,
                Ok(None) => self.read_more().await?,
                Err(e) => {
                    tracing::debug!(peer = %self.peer, error = %e, "bad HTTP request");
                    return Ok(Err(if matches!(e, http::HttpError::HeadTooLarge { .. }) {
                        431
                    } else {
                        400
                    }));
                }
            }
        };
        let len = match head.content_length(limits) {
            Ok(n) => n,
            Err(_) => return Ok(Err(413)),
        };
        while self.plain.len() < used + len {
            self.read_more().await?;
        }
        let body = self.plain[used..used + len].to_vec();
        self.plain.drain(..used + len);
        Ok(Ok((head, body)))
    }
}

/// Per-connection state of the login conversation.
#[derive(Debug, Default)]
struct Conversation {
    failures: u32,
    username: Option<String>,
    group: Option<String>,
    /// The backend's open follow-up question, answered by the next POST's password field.
    challenge: Option<crate::auth::Challenge>,
    /// Follow-up questions asked in this login.
    rounds: u32,
}

/// Follow-up questions (OTP, challenges) one login may ask before it is refused.
const MAX_CHALLENGE_ROUNDS: u32 = 8;

/// Serves one accepted TCP connection.
pub async fn serve(server: Arc<Server>, tcp: TcpStream, peer: SocketAddr) {
    if !connect_allowed(&server, &tcp, peer).await {
        return;
    }
    let tls = match server.tls.new_session() {
        Ok(t) => t,
        Err(e) => {
            tracing::warn!(error = %e, "cannot create TLS session");
            return;
        }
    };
    let _ = tcp.set_nodelay(true);
    let mut conn = Conn {
        tcp,
        tls,
        peer,
        plain: Vec::new(),
    };
    match tokio::time::timeout(HANDSHAKE_TIMEOUT, conn.handshake()).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => {
            tracing::debug!(%peer, error = %e, "TLS handshake failed");
            let _ = conn.flush().await;
            return;
        }
        Err(_) => {
            tracing::debug!(%peer, "TLS handshake timed out");
            return;
        }
    }
    tracing::debug!(%peer, protocol = %conn.tls.protocol(), cipher = %conn.tls.cipher(), "TLS up");
    let auth_deadline = Duration::from_secs(u64::from(server.config.server.auth_timeout_secs));
    match tokio::time::timeout(auth_deadline, http_phase(&server, &mut conn)).await {
        Ok(Ok(Some(params))) => {
            // Move the connection out of the control runtime; the worker re-registers it.
            let Conn {
                tcp, tls, plain, ..
            } = conn;
            let (cookie, id) = (params.cookie.clone(), params.conn);
            let job = match tcp.into_std() {
                Ok(tcp) => TunnelJob {
                    tcp,
                    tls,
                    leftover: plain,
                    params,
                },
                Err(e) => {
                    tracing::warn!(%peer, error = %e, "cannot detach tunnel socket");
                    server.sessions.detach(&cookie, id, false, Instant::now());
                    return;
                }
            };
            if server.dataplane.dispatch(job).is_err() {
                server.sessions.detach(&cookie, id, false, Instant::now());
            }
        }
        Ok(Ok(None)) => {
            conn.tls.shutdown();
            let _ = conn.flush().await;
        }
        Ok(Err(e)) => tracing::debug!(%peer, error = %e, "connection ended"),
        Err(_) => tracing::info!(%peer, "authentication timed out"),
    }
}

/// Runs the HTTP requests of one connection. Returns the tunnel's parameters after a successful
/// CONNECT.
async fn http_phase(
    server: &Arc<Server>,
    conn: &mut Conn,
) -> Result<Option<TunnelParams>, FrontError> {
    let limits = Limits::default();
    let mut conv = Conversation::default();
    for _ in 0..MAX_REQUESTS {
        let (head, body) = match conn.request(&limits).await? {
            Ok(r) => r,
            Err(status) => {
                let reason = match status {
                    431 => "Request Header Fields Too Large",
                    413 => "Payload Too Large",
                    _ => "Bad Request",
                };
                conn.send(&http::simple_response(status, reason, None, b"", true))
                    .await?;
                return Ok(None);
            }
        };
        // Pipelined requests are refused, as ocserv does: answer this one, then close.
        let keep_alive = head.keep_alive() && conn.plain.is_empty();
        match head.method {
            Method::Connect => return connect(server, conn, &head).await,
            Method::Post => {
                let close = post(server, conn, &head, &body, &mut conv).await?;
                if close {
                    return Ok(None);
                }
            }
            Method::Get | Method::Head => {
                let resp = if urls::is_auth_path(&head.path) {
                    let form = login_form(server, &conv, None);
                    xml_response(&form.to_xml(), None)
                } else if let Some(page) = urls::static_get(&head.path) {
                    http::simple_response(
                        200,
                        "OK",
                        Some(page.content_type),
                        page.body,
                        !keep_alive,
                    )
                } else {
                    http::simple_response(404, "Not Found", None, b"", true)
                };
                conn.send(&resp).await?;
            }
            _ => {
                conn.send(&http::simple_response(404, "Not Found", None, b"", true))
                    .await?;
                return Ok(None);
            }
        }
        if !keep_alive {
            return Ok(None);
        }
    }
    Ok(None)
}

/// Handles an auth POST. Returns whether the connection must close.
async fn post(
    server: &Arc<Server>,
    conn: &mut Conn,
    head: &RequestHead,
    body: &[u8],
    conv: &mut Conversation,
) -> Result<bool, FrontError> {
    if !urls::is_auth_path(&head.path) {
        conn.send(&http::simple_response(404, "Not Found", None, b"", true))
            .await?;
        return Ok(true);
    }
    let post = match auth::parse_auth_post(body) {
        Ok(p) => p,
        Err(e) => {
            tracing::info!(peer = %conn.peer, error = %e, "malformed auth request");
            conn.send(&http::simple_response(400, "Bad Request", None, b"", true))
                .await?;
            return Ok(true);
        }
    };
    if post.kind == AuthPostKind::Logout {
        if let Some(cookie) = post
            .session_token
            .as_deref()
            .and_then(auth::SessionCookie::from_base64)
            .or_else(|| auth::webvpn_cookie_from_head(head))
        {
            server.sessions.invalidate(&cookie);
        }
        conn.send(&xml_response(&auth::complete_xml(None), None))
            .await?;
        return Ok(false);
    }
    let AuthPost {
        username,
        password,
        group_select,
        ..
    } = post;
    if let Some(g) = group_select {
        conv.group = Some(g);
    }
    if let Some(u) = username {
        // A user name starts a new login: a pending follow-up question is dropped.
        conv.challenge = None;
        conv.rounds = 0;
        conv.username = Some(u);
    }
    let (Some(user), Some(password)) = (conv.username.clone(), password) else {
        // init, or a username-only step: (re)send the form.
        let form = login_form(server, conv, None);
        conn.send(&xml_response(&form.to_xml(), None)).await?;
        return Ok(false);
    };
    let backend = server.auth.clone();
    let started = Instant::now();
    let (u, p) = (user.clone(), password);
    let pending = conv.challenge.take();
    let class = backend.priority();
    let verdict = match server.pool.submit(class, move || match pending {
        Some(challenge) => backend.answer(&u, &challenge, &p),
        None => backend.check(&u, &p),
    }) {
        Ok(job) => job
            .await
            .unwrap_or(Verdict::Reject("backend failed".into())),
        Err(_) => Verdict::Reject("auth pool saturated".into()),
    };
    let groups = match verdict {
        Verdict::Challenge(challenge) if conv.rounds < MAX_CHALLENGE_ROUNDS => {
            conv.rounds += 1;
            tracing::info!(peer = %conn.peer, user = %user, round = conv.rounds,
                "backend asked a follow-up question");
            let form = AuthForm {
                banner: None,
                message: challenge.message.clone(),
                error: None,
                ask_username: false,
                ask_password: true,
                password_label: challenge.label.clone(),
                password_name: auth::PasswordField::Secondary,
                groups: Vec::new(),
                selected_group: None,
                action: "/auth".into(),
            };
            conv.challenge = Some(challenge);
            conn.send(&xml_response(&form.to_xml(), None)).await?;
            return Ok(false);
        }
        Verdict::Challenge(_) => {
            tracing::info!(peer = %conn.peer, user = %user, rounds = conv.rounds,
                "too many follow-up questions; login refused");
            conn.send(&auth_failed()).await?;
            return Ok(true);
        }
        Verdict::Accept { groups } => {
            server
                .auth_counters
                .accepted
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            server.bus.publish(Event::AuthResult {
                user: user.clone(),
                peer: conn.peer,
                ok: true,
                reason: None,
            });
            groups
        }
        Verdict::Reject(why) => {
            server
                .auth_counters
                .rejected
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            server.bus.publish(Event::AuthResult {
                user: user.clone(),
                peer: conn.peer,
                ok: false,
                reason: Some(why.to_string()),
            });
            if let Some(host) = server
                .plugins
                .as_ref()
                .filter(|_| server.plugin_hooks.filter_auth_failure)
            {
                let failure = wolfguard_plugin_host::api::AuthFailure {
                    peer: conn.peer.to_string(),
                    user: user.clone(),
                    reason: why.to_string(),
                };
                let verdict = plugin_verdict(host.filter_auth_failure(failure)).await;
                if !matches!(verdict, Some(wolfguard_plugin_host::api::Verdict::Accept)) {
                    tracing::info!(peer = %conn.peer, user = %user, ?verdict,
                        "connection closed by an auth-failure filter plugin");
                    return Err(FrontError::Closed);
                }
            }
            conv.failures += 1;
            tracing::info!(peer = %conn.peer, user = %user, reason = %why,
                attempt = conv.failures, "authentication failed");
            if conv.failures >= server.config.auth.max_tries {
                conn.send(&auth_failed()).await?;
                return Ok(true);
            }
            conv.username = None;
            conv.rounds = 0;
            let form = login_form(server, conv, Some("Login failed."));
            conn.send(&xml_response(&form.to_xml(), None)).await?;
            return Ok(false);
        }
    };
    let group = match choose_group(server, conv.group.as_deref(), &groups) {
        Ok(g) => g,
        Err(()) => {
            tracing::info!(peer = %conn.peer, user = %user, group = ?conv.group, "group not allowed");
            conn.send(&auth_failed()).await?;
            return Ok(true);
        }
    };
    let (id, cookie) = server.sessions.create(&user, group.clone(), Instant::now());
    tracing::info!(session = id, user = %user, group = ?group, peer = %conn.peer,
        auth_ms = started.elapsed().as_millis() as u64, "authenticated");
    let value = cookie.to_base64();
    let cookies = [
        format!("webvpncontext={value}; Secure; HttpOnly"),
        format!("webvpn={value}; Secure; HttpOnly"),
    ];
    let banner = server.config.auth.banner.as_deref();
    conn.send(&xml_response(&auth::complete_xml(banner), Some(&cookies)))
        .await?;
    Ok(false)
}

/// The terminal refusal of a login (ocserv's `401 Authentication failed`), closing the
/// connection.
fn auth_failed() -> Vec<u8> {
    http::simple_response(401, "Authentication failed", None, b"", true)
}

/// Maps the submitted group to a configured one the user may use.
fn choose_group(
    server: &Server,
    submitted: Option<&str>,
    user_groups: &[String],
) -> Result<Option<String>, ()> {
    let options = group_options(server);
    let chosen = match submitted.filter(|s| !s.is_empty()) {
        Some(s) => Some(auth::resolve_group(s, &options).unwrap_or_else(|| s.to_owned())),
        None => server
            .config
            .auth
            .default_group
            .clone()
            .or_else(|| user_groups.first().cloned()),
    };
    match chosen {
        // Users listed without groups may pick any configured group.
        Some(g) if !user_groups.is_empty() && !user_groups.contains(&g) => Err(()),
        other => Ok(other),
    }
}

fn group_options(server: &Server) -> Vec<GroupOption> {
    server
        .config
        .auth
        .groups
        .iter()
        .map(|g| GroupOption {
            name: g.name.clone(),
            label: g.label.clone().unwrap_or_else(|| g.name.clone()),
        })
        .collect()
}

fn login_form(server: &Server, conv: &Conversation, error: Option<&str>) -> AuthForm {
    AuthForm {
        banner: server.config.auth.pre_login_banner.clone(),
        message: "Please enter your username and password.".into(),
        error: error.map(str::to_owned),
        ask_username: true,
        ask_password: true,
        password_label: "Password:".into(),
        password_name: auth::PasswordField::Password,
        groups: group_options(server),
        selected_group: conv
            .group
            .clone()
            .or_else(|| server.config.auth.default_group.clone()),
        action: "/auth".into(),
    }
}

fn xml_response(xml: &str, cookies: Option<&[String]>) -> Vec<u8> {
    let mut head = ResponseHead::new(200, "OK")
        .header("Connection", "Keep-Alive")
        .header("Content-Type", "text/xml")
        .header("Content-Length", &xml.len().to_string())
        .header("X-Transcend-Version", "1");
    for c in cookies.unwrap_or_default() {
        head = head.header("Set-Cookie", c);
    }
    let mut out = Vec::with_capacity(256 + xml.len());
    head.write(&mut out);
    out.extend_from_slice(xml.as_bytes());
    out
}

/// Decides this client's DTLS channel: a fresh id per CONNECT (App-ID or Session-ID), keyed by
/// this very TLS session's exporter (PSK-NEGOTIATE) or by the client's master secret
/// (resumption).
fn dtls_setup(
    server: &Server,
    d: &DtlsContexts,
    req: &ConnectRequest,
    tls: &mut wolfguard_tls::TlsSession,
) -> Option<DtlsSetup> {
    let mut id = [0u8; 32];
    rand::RngCore::fill_bytes(&mut rand::rng(), &mut id);
    let (keys, ctx, mode) = match choose_dtls(req, d.key_kind)? {
        DtlsChoice::Psk => {
            let key = tls.export_keying_material(wolfguard_tls::OPENCONNECT_PSK_LABEL, 32);
            let Ok(psk) = key
                .map_err(|e| tracing::warn!(error = %e, "no DTLS key"))
                .ok()?
                .try_into()
            else {
                return None;
            };
            (
                DtlsKeys::Psk(psk),
                d.psk.clone(),
                DtlsMode::Psk { app_id: id },
            )
        }
        DtlsChoice::Resume {
            dtls12_header,
            announced,
            suite,
        } => {
            let master_secret = req.dtls_master_secret?;
            let mode = DtlsMode::Resume {
                session_id: id,
                cipher: announced.to_owned(),
                dtls12: dtls12_header,
                mtu: server.dtls_data_mtu(req),
            };
            let keys = DtlsKeys::Resume {
                master_secret,
                suite: suite.to_owned(),
            };
            (keys, d.resume.clone()?, mode)
        }
        _ => return None,
    };
    // Connection ids only matter to DTLS 1.3 clients that ask for them (PSK mode).
    let cid = matches!(keys, DtlsKeys::Psk(_)).then(|| {
        let mut cid = [0u8; wolfguard_tls::CID_LEN];
        rand::RngCore::fill_bytes(&mut rand::rng(), &mut cid);
        cid
    });
    Some(DtlsSetup {
        app_id: id,
        cid,
        keys,
        ctx,
        mode,
        mtu: server.dtls_mtu(),
        local: None,
        min_renegotiation_interval: Duration::from_secs(u64::from(
            server.config.timeouts.rekey_time / 2,
        )),
    })
}

/// The verdict of a filter chain submitted to the pool; `None` when the pool refused or lost
/// the job (the callers then refuse: the filters' own failure policy could not run).
async fn plugin_verdict(
    job: Result<
        wolfguard_runtime::JobHandle<wolfguard_plugin_host::api::Verdict>,
        wolfguard_plugin_host::HostError,
    >,
) -> Option<wolfguard_plugin_host::api::Verdict> {
    job.ok()?.await.ok()
}

/// Asks the connect filters of the plugins (if any) whether to serve this TCP connection,
/// before any TLS work. Refused connections are closed without a word.
async fn connect_allowed(server: &Server, tcp: &TcpStream, peer: SocketAddr) -> bool {
    let Some(host) = server
        .plugins
        .as_ref()
        .filter(|_| server.plugin_hooks.filter_connect)
    else {
        return true;
    };
    let info = wolfguard_plugin_host::api::ConnectInfo {
        peer: peer.to_string(),
        local: tcp.local_addr().map(|a| a.to_string()).unwrap_or_default(),
        sni: None,
    };
    let verdict = plugin_verdict(host.filter_connect(info)).await;
    match verdict {
        Some(wolfguard_plugin_host::api::Verdict::Accept) => true,
        Some(v) => {
            tracing::info!(%peer, verdict = ?v, "connection refused by a filter plugin");
            false
        }
        // The pool refused or lost the job: the filters' failure policy could not run, so the
        // connection is refused (fail closed).
        None => {
            tracing::warn!(%peer, "connect filters unavailable; connection refused");
            false
        }
    }
}

/// Asks the session filters of the plugins (contract 1.1, if any is loaded) whether this
/// authenticated user may bring a tunnel up now, with the addresses just leased. The plugin's
/// reason goes to the log only; the client hears "session refused by policy".
async fn session_allowed(server: &Server, attached: &Attached, peer: SocketAddr) -> bool {
    let Some(host) = server
        .plugins
        .as_ref()
        .filter(|_| server.plugin_hooks.filter_session)
    else {
        return true;
    };
    let addresses = [attached.ipv4.map(IpAddr::V4), attached.ipv6.map(IpAddr::V6)];
    let info = wolfguard_plugin_host::api::SessionInfo {
        session: attached.id,
        user: attached.user.clone(),
        groups: attached.group.iter().cloned().collect(),
        peer: peer.to_string(),
        addresses: addresses.iter().flatten().map(IpAddr::to_string).collect(),
    };
    let verdict = plugin_verdict(host.filter_session(info)).await;
    match verdict {
        Some(wolfguard_plugin_host::api::Verdict::Accept) => true,
        Some(v) => {
            tracing::info!(%peer, user = %attached.user, session = attached.id, verdict = ?v,
                "session refused by a filter plugin");
            false
        }
        None => {
            tracing::warn!(%peer, user = %attached.user, "session filters unavailable; session refused");
            false
        }
    }
}

/// Handles `CONNECT /CSCOSSLC/tunnel`.
async fn connect(
    server: &Arc<Server>,
    conn: &mut Conn,
    head: &RequestHead,
) -> Result<Option<TunnelParams>, FrontError> {
    if !connect::is_tunnel_path(&head.path) {
        conn.send(&connect::connect_error_response(404, "Not Found", None))
            .await?;
        return Ok(None);
    }
    let req = match ConnectRequest::from_head(head) {
        Ok(r) => r,
        Err(e) => {
            tracing::info!(peer = %conn.peer, error = %e, "malformed CONNECT");
            conn.send(&connect::connect_error_response(400, "Bad Request", None))
                .await?;
            return Ok(None);
        }
    };
    let Some(cookie) = req.cookie.clone() else {
        conn.send(&connect::connect_error_response(
            401,
            "Cookie is not acceptable",
            None,
        ))
        .await?;
        return Ok(None);
    };
    let now = Instant::now();
    let attached =
        match server
            .sessions
            .attach(&cookie, req.want_ipv4, req.want_ipv6 && req.full_ipv6, now)
        {
            Ok(a) => a,
            Err(e) => {
                tracing::info!(peer = %conn.peer, error = %e, "CONNECT refused");
                let resp = match e {
                    AttachError::UnknownCookie | AttachError::TooManySameUser => {
                        connect::connect_error_response(401, "Cookie is not acceptable", None)
                    }
                    AttachError::PoolExhausted | AttachError::ServerFull => {
                        connect::connect_error_response(
                            503,
                            "Service Unavailable",
                            Some(&e.to_string()),
                        )
                    }
                };
                conn.send(&resp).await?;
                return Ok(None);
            }
        };
    if !session_allowed(server, &attached, conn.peer).await {
        // Refused by policy: the session ends here, so its cookie cannot be replayed.
        server
            .sessions
            .detach(&cookie, attached.conn, true, Instant::now());
        conn.send(&connect::connect_error_response(
            403,
            "Forbidden",
            Some("session refused by policy"),
        ))
        .await?;
        return Ok(None);
    }
    let mut dtls = server
        .dtls
        .as_ref()
        .filter(|_| crate::server::dtls_port(server, conn.tcp.local_addr().ok()))
        .and_then(|d| dtls_setup(server, d, &req, &mut conn.tls));
    if let Some(d) = dtls.as_mut() {
        d.local = conn.tcp.local_addr().ok();
    }
    let dtls_route = dtls.as_ref().map(|d| {
        DtlsRoute::register(
            &server.dataplane.shared,
            d.app_id,
            d.cid,
            crate::tunnel::QUEUE_DEPTH,
        )
    });
    let udp_port = conn.tcp.local_addr().map_or(443, |a| a.port());
    let response = server.connect_response(
        &req,
        &attached,
        conn.peer.is_ipv6(),
        dtls.as_ref(),
        udp_port,
    );
    let mut head_bytes = Vec::with_capacity(1024);
    response.write(&mut head_bytes);
    if let Err(e) = conn.send(&head_bytes).await {
        server
            .sessions
            .detach(&cookie, attached.conn, false, Instant::now());
        return Err(e);
    }
    conn.tls.release_secrets();
    let timeouts = &server.config.timeouts;
    let params = TunnelParams {
        session: attached.id,
        conn: attached.conn,
        cookie,
        user: attached.user.clone(),
        group: attached.group.clone(),
        peer: conn.peer,
        ipv4: attached.ipv4,
        ipv6: attached.ipv6,
        dtls,
        dtls_route,
        liveness: liveness_config(
            server.dpd_for(&req),
            timeouts.idle_timeout,
            attached.deadline,
        ),
        stop: attached.stop,
        min_renegotiation_interval: Duration::from_secs(u64::from(timeouts.rekey_time / 2)),
    };
    Ok(Some(params))
}
