//! The session table: cookies, leases and which connection currently carries each session.
//!
//! A session is born when authentication completes (the `webvpn` cookie is its key) and lives
//! until it is invalidated (user disconnect, kick, session timeout) or its cookie expires
//! `cookie_timeout` after its last connection ended. Leases belong to the session, so a client
//! that reconnects with its cookie gets the same addresses. This lives on the control path only:
//! one mutex, never touched per packet.

use std::collections::HashMap;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use rand::RngCore;
use tokio::sync::watch;
use wolfguard_proto::auth::SessionCookie;

use crate::leases::Leases;

/// Why a running tunnel is asked to stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    /// Keep running.
    Run,
    /// Another connection took over the same cookie: close silently.
    Replaced,
    /// The administrator or a policy removed the session: send DISCONNECT.
    Kick,
    /// The server is shutting down: send DISCONNECT.
    Shutdown,
}

/// Where a session stands.
#[derive(Debug)]
enum Phase {
    /// Authenticated, no tunnel yet or the tunnel ended at `since`.
    Idle { since: Instant },
    /// A tunnel runs; `conn` identifies it and `stop` asks it to end.
    Connected {
        conn: u64,
        stop: watch::Sender<Stop>,
    },
}

/// One authenticated session.
#[derive(Debug)]
pub struct Session {
    /// Numeric id for logs and the operator (occtl's `ID`).
    pub id: u64,
    /// The user name.
    pub user: String,
    /// The group chosen at login, if any.
    pub group: Option<String>,
    /// Hard end of the session (`session_timeout`), if configured.
    pub deadline: Option<Instant>,
    /// Leased IPv4 address, once a tunnel has been opened.
    pub ipv4: Option<Ipv4Addr>,
    /// Leased IPv6 address, once a tunnel has been opened.
    pub ipv6: Option<Ipv6Addr>,
    phase: Phase,
}

/// What a CONNECT gets when its cookie is accepted.
#[derive(Debug)]
pub struct Attached {
    /// Session id.
    pub id: u64,
    /// Connection id to pass back to [`Sessions::detach`].
    pub conn: u64,
    /// User name.
    pub user: String,
    /// Chosen group.
    pub group: Option<String>,
    /// Leased addresses.
    pub ipv4: Option<Ipv4Addr>,
    /// Leased IPv6 address.
    pub ipv6: Option<Ipv6Addr>,
    /// Session deadline.
    pub deadline: Option<Instant>,
    /// Tells the tunnel to stop.
    pub stop: watch::Receiver<Stop>,
}

/// Why a cookie was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AttachError {
    /// Unknown, forged, invalidated or expired cookie.
    #[error("cookie is not acceptable")]
    UnknownCookie,
    /// The user already has `max_same_clients` tunnels.
    #[error("too many connections for this user")]
    TooManySameUser,
    /// The address pool has no free address.
    #[error("no free address in the pool")]
    PoolExhausted,
    /// The server refuses more tunnels (`max_clients`).
    #[error("server is full")]
    ServerFull,
}

/// Limits applied to sessions.
#[derive(Debug, Clone)]
pub struct SessionLimits {
    /// How long a cookie stays valid without a tunnel.
    pub cookie_timeout: Duration,
    /// Maximum session length, if any.
    pub session_timeout: Option<Duration>,
    /// Concurrent tunnels per user (0 = unlimited).
    pub max_same_clients: u32,
    /// Concurrent tunnels in total.
    pub max_clients: u32,
}

#[derive(Debug)]
struct Inner {
    by_cookie: HashMap<[u8; 32], Session>,
    leases: Leases,
}

/// All sessions of the server.
#[derive(Debug)]
pub struct Sessions {
    inner: Mutex<Inner>,
    limits: SessionLimits,
    next_id: AtomicU64,
}

impl Sessions {
    /// An empty table over the given pools.
    pub fn new(leases: Leases, limits: SessionLimits) -> Self {
        Self {
            inner: Mutex::new(Inner {
                by_cookie: HashMap::new(),
                leases,
            }),
            limits,
            next_id: AtomicU64::new(1),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A panic while holding the lock leaves plain data behind; keep serving.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Records a completed authentication and returns its fresh cookie.
    pub fn create(&self, user: &str, group: Option<String>, now: Instant) -> (u64, SessionCookie) {
        let mut cookie = [0u8; 32];
        rand::rng().fill_bytes(&mut cookie);
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let session = Session {
            id,
            user: user.to_owned(),
            group,
            deadline: self.limits.session_timeout.map(|t| now + t),
            ipv4: None,
            ipv6: None,
            phase: Phase::Idle { since: now },
        };
        self.lock().by_cookie.insert(cookie, session);
        (id, SessionCookie(cookie))
    }

    /// Binds a CONNECT to the session behind `cookie`, leasing addresses on first use. A tunnel
    /// already running for the same cookie is told to stop (session reuse, as ocserv does).
    pub fn attach(
        &self,
        cookie: &SessionCookie,
        want_v4: bool,
        want_v6: bool,
        now: Instant,
    ) -> Result<Attached, AttachError> {
        let mut inner = self.lock();
        let connected = inner
            .by_cookie
            .values()
            .filter(|s| matches!(s.phase, Phase::Connected { .. }))
            .count();
        let Inner { by_cookie, leases } = &mut *inner;
        let Some(session) = by_cookie.get(&cookie.0) else {
            return Err(AttachError::UnknownCookie);
        };
        if expired(session, &self.limits, now) {
            return Err(AttachError::UnknownCookie);
        }
        let reuse = matches!(session.phase, Phase::Connected { .. });
        if !reuse && self.limits.max_clients > 0 && connected >= self.limits.max_clients as usize {
            return Err(AttachError::ServerFull);
        }
        if !reuse && self.limits.max_same_clients > 0 {
            let user = &session.user;
            let same = by_cookie
                .values()
                .filter(|s| &s.user == user && matches!(s.phase, Phase::Connected { .. }))
                .count();
            if same >= self.limits.max_same_clients as usize {
                return Err(AttachError::TooManySameUser);
            }
        }
        let Some(session) = by_cookie.get_mut(&cookie.0) else {
            return Err(AttachError::UnknownCookie);
        };
        if want_v4 && session.ipv4.is_none() {
            session.ipv4 = leases.take_v4(&session.user);
        }
        if want_v6 && session.ipv6.is_none() {
            session.ipv6 = leases.take_v6(&session.user);
        }
        if session.ipv4.is_none() && session.ipv6.is_none() {
            return Err(AttachError::PoolExhausted);
        }
        if let Phase::Connected { stop, .. } = &session.phase {
            let _ = stop.send(Stop::Replaced);
        }
        let conn = self.next_id.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = watch::channel(Stop::Run);
        session.phase = Phase::Connected { conn, stop: tx };
        Ok(Attached {
            id: session.id,
            conn,
            user: session.user.clone(),
            group: session.group.clone(),
            ipv4: session.ipv4,
            ipv6: session.ipv6,
            deadline: session.deadline,
            stop: rx,
        })
    }

    /// Records that tunnel `conn` ended. With `invalidate` (user disconnect, kick, timeout) the
    /// session and its leases go at once; otherwise the cookie stays valid for reconnects.
    pub fn detach(&self, cookie: &SessionCookie, conn: u64, invalidate: bool, now: Instant) {
        let mut inner = self.lock();
        let Some(session) = inner.by_cookie.get_mut(&cookie.0) else {
            return;
        };
        // A newer connection may own the session already; then this one has nothing to undo.
        if !matches!(session.phase, Phase::Connected { conn: c, .. } if c == conn) {
            return;
        }
        session.phase = Phase::Idle { since: now };
        if invalidate {
            remove(&mut inner, &cookie.0);
        }
    }

    /// Invalidates a session by cookie (logout), stopping its tunnel.
    pub fn invalidate(&self, cookie: &SessionCookie) -> bool {
        let mut inner = self.lock();
        if let Some(Session {
            phase: Phase::Connected { stop, .. },
            ..
        }) = inner.by_cookie.get(&cookie.0)
        {
            let _ = stop.send(Stop::Kick);
        }
        remove(&mut inner, &cookie.0)
    }

    /// Drops sessions whose cookie expired; returns how many went.
    pub fn sweep(&self, now: Instant) -> usize {
        let mut inner = self.lock();
        let dead: Vec<[u8; 32]> = inner
            .by_cookie
            .iter()
            .filter(|(_, s)| expired(s, &self.limits, now))
            .map(|(k, _)| *k)
            .collect();
        for key in &dead {
            if let Some(Session {
                phase: Phase::Connected { stop, .. },
                ..
            }) = inner.by_cookie.get(key)
            {
                let _ = stop.send(Stop::Kick);
            }
            remove(&mut inner, key);
        }
        dead.len()
    }

    /// Asks every running tunnel to stop because the server shuts down.
    pub fn shutdown_all(&self) {
        for s in self.lock().by_cookie.values() {
            if let Phase::Connected { stop, .. } = &s.phase {
                let _ = stop.send(Stop::Shutdown);
            }
        }
    }

    /// (sessions, connected tunnels, leased IPv4 addresses).
    pub fn counts(&self) -> (usize, usize, usize) {
        let inner = self.lock();
        let connected = inner
            .by_cookie
            .values()
            .filter(|s| matches!(s.phase, Phase::Connected { .. }))
            .count();
        (inner.by_cookie.len(), connected, inner.leases.used_v4())
    }
}

fn expired(s: &Session, limits: &SessionLimits, now: Instant) -> bool {
    if s.deadline.is_some_and(|d| now >= d) {
        return true;
    }
    match s.phase {
        Phase::Idle { since } => now.saturating_duration_since(since) > limits.cookie_timeout,
        Phase::Connected { .. } => false,
    }
}

fn remove(inner: &mut Inner, key: &[u8; 32]) -> bool {
    let Some(s) = inner.by_cookie.remove(key) else {
        return false;
    };
    if let Some(a) = s.ipv4 {
        inner.leases.put_v4(a);
    }
    if let Some(a) = s.ipv6 {
        inner.leases.put_v6(a);
    }
    tracing::info!(session = s.id, user = %s.user, ipv4 = ?s.ipv4, "session released");
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(max_same: u32, cookie_secs: u64) -> Sessions {
        let leases = Leases::new(Some("10.0.0.0/29".parse().unwrap()), None, 128);
        Sessions::new(
            leases,
            SessionLimits {
                cookie_timeout: Duration::from_secs(cookie_secs),
                session_timeout: None,
                max_same_clients: max_same,
                max_clients: 100,
            },
        )
    }

    #[test]
    fn reconnect_with_cookie_keeps_address_and_replaces_old_tunnel() {
        let t = table(0, 300);
        let now = Instant::now();
        let (_, cookie) = t.create("alice", None, now);
        let a = t.attach(&cookie, true, false, now).unwrap();
        let b = t.attach(&cookie, true, false, now).unwrap();
        assert_eq!(a.ipv4, b.ipv4);
        assert_eq!(*a.stop.borrow(), Stop::Replaced);
        t.detach(&cookie, a.conn, false, now); // the old tunnel's late detach changes nothing
        assert_eq!(t.counts().1, 1);
    }

    #[test]
    fn forged_and_expired_cookies_are_refused() {
        let t = table(0, 10);
        let now = Instant::now();
        assert_eq!(
            t.attach(&SessionCookie([7; 32]), true, false, now)
                .unwrap_err(),
            AttachError::UnknownCookie
        );
        let (_, cookie) = t.create("bob", None, now);
        let later = now + Duration::from_secs(11);
        assert_eq!(
            t.attach(&cookie, true, false, later).unwrap_err(),
            AttachError::UnknownCookie
        );
        assert_eq!(t.sweep(later), 1);
        assert_eq!(t.counts(), (0, 0, 0));
    }

    #[test]
    fn user_disconnect_frees_lease_at_once_temporary_close_after_cookie_timeout() {
        let t = table(0, 10);
        let now = Instant::now();
        let (_, c1) = t.create("u1", None, now);
        let a = t.attach(&c1, true, false, now).unwrap();
        t.detach(&c1, a.conn, true, now);
        assert_eq!(t.counts(), (0, 0, 0));
        let (_, c2) = t.create("u2", None, now);
        let b = t.attach(&c2, true, false, now).unwrap();
        t.detach(&c2, b.conn, false, now);
        assert_eq!(t.counts(), (1, 0, 1));
        assert_eq!(t.sweep(now + Duration::from_secs(5)), 0);
        assert_eq!(t.sweep(now + Duration::from_secs(11)), 1);
        assert_eq!(t.counts(), (0, 0, 0));
    }

    #[test]
    fn max_same_clients_and_pool_exhaustion() {
        let t = table(1, 300);
        let now = Instant::now();
        let (_, c1) = t.create("carol", None, now);
        let (_, c2) = t.create("carol", None, now);
        t.attach(&c1, true, false, now).unwrap();
        assert_eq!(
            t.attach(&c2, true, false, now).unwrap_err(),
            AttachError::TooManySameUser
        );
        let t = table(0, 300);
        for i in 0..5 {
            let (_, c) = t.create(&format!("u{i}"), None, now);
            t.attach(&c, true, false, now).unwrap();
        }
        let (_, c) = t.create("u9", None, now);
        assert_eq!(
            t.attach(&c, true, false, now).unwrap_err(),
            AttachError::PoolExhausted
        );
    }
}
