//! Liveness of one tunnel channel: dead-peer detection, idle timeout and session expiry.
//!
//! The rules are ocserv's (§5.5, §6): when nothing has been received for 2×DPD the server
//! sends a DPD request, at most once per DPD interval; after 3×DPD of silence the peer is dead.
//! Only non-ICMP/IGMP traffic counts against the idle timeout ([`counts_for_idle`]), so a ping
//! loop does not keep an abandoned session alive.
//!
//! # Polling order
//!
//! [`Liveness`] never reads the clock. The daemon:
//! 1. reports events with `handle_rx(now)` (any frame from the peer, DPD and keepalive
//!    included), `handle_rx_data(now, packet)` and `handle_tx_data(now)`;
//! 2. calls [`poll`](Liveness::poll) until it returns `None`, acting on each action;
//! 3. arms its timer for [`poll_timeout`](Liveness::poll_timeout) and calls `poll` again when it
//!    fires.
//!
//! A terminal action (`Dead`, `IdleTimeout`, `SessionExpired`) is returned once; afterwards
//! `poll` and `poll_timeout` return `None`. Every deadline is reached when `now >= deadline`, so
//! a timer armed with `poll_timeout` always makes progress.

use std::time::{Duration, Instant};

/// What to watch. `None` or a zero duration disables a check (as 0 does in ocserv).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LivenessConfig {
    /// The DPD interval (`X-CSTP-DPD` / `X-DTLS-DPD`).
    pub dpd: Option<Duration>,
    /// Close the session after this long without counted traffic.
    pub idle_timeout: Option<Duration>,
    /// Absolute end of the session (`session-timeout` from first authentication).
    pub session_deadline: Option<Instant>,
}

/// Something the daemon must do now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use]
#[non_exhaustive]
pub enum LivenessAction {
    /// Send a DPD request on this channel.
    SendDpd,
    /// Nothing received for 3×DPD: close the channel (the cookie stays valid).
    Dead,
    /// No counted traffic within the idle timeout: close (the cookie stays valid).
    IdleTimeout,
    /// The session's lifetime is over: close and invalidate the cookie.
    SessionExpired,
}

/// Sans-IO liveness state for one channel (CSTP or DTLS). See the module docs for the polling
/// order.
#[derive(Debug, Clone)]
pub struct Liveness {
    dpd: Option<Duration>,
    idle_timeout: Option<Duration>,
    session_deadline: Option<Instant>,
    last_rx: Instant,
    last_activity: Instant,
    last_dpd_sent: Option<Instant>,
    finished: bool,
}

impl Liveness {
    /// Starts watching at `now`, as if a frame had just been received.
    pub fn new(config: LivenessConfig, now: Instant) -> Self {
        let nonzero = |d: Option<Duration>| d.filter(|d| !d.is_zero());
        Self {
            dpd: nonzero(config.dpd),
            idle_timeout: nonzero(config.idle_timeout),
            session_deadline: config.session_deadline,
            last_rx: now,
            last_activity: now,
            last_dpd_sent: None,
            finished: false,
        }
    }

    /// Any frame arrived from the peer (data, DPD request or response, keepalive).
    pub fn handle_rx(&mut self, now: Instant) {
        self.last_rx = self.last_rx.max(now);
    }

    /// A data packet arrived from the peer: counts as rx, and for idle unless it is ICMP/IGMP.
    pub fn handle_rx_data(&mut self, now: Instant, ip_packet: &[u8]) {
        self.handle_rx(now);
        if counts_for_idle(ip_packet) {
            self.last_activity = self.last_activity.max(now);
        }
    }

    /// A data packet that counts for idle was sent to the peer. The caller filters with
    /// [`counts_for_idle`], or uses [`handle_tx_packet`](Self::handle_tx_packet).
    pub fn handle_tx_data(&mut self, now: Instant) {
        self.last_activity = self.last_activity.max(now);
    }

    /// A data packet was sent to the peer; counts for idle unless it is ICMP/IGMP.
    pub fn handle_tx_packet(&mut self, now: Instant, ip_packet: &[u8]) {
        if counts_for_idle(ip_packet) {
            self.handle_tx_data(now);
        }
    }

    /// Whether a terminal action has been returned.
    pub fn is_finished(&self) -> bool {
        self.finished
    }

    /// The earliest instant at which [`poll`](Self::poll) has something to do.
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.finished {
            return None;
        }
        [
            self.session_deadline,
            self.dead_at(),
            self.idle_at(),
            self.next_dpd_at(),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// The next due action at `now`, if any. Terminal actions take precedence in the order
    /// `SessionExpired`, `Dead`, `IdleTimeout`; then `SendDpd`.
    pub fn poll(&mut self, now: Instant) -> Option<LivenessAction> {
        if self.finished {
            return None;
        }
        let due = |t: Option<Instant>| t.is_some_and(|t| now >= t);
        let terminal = if due(self.session_deadline) {
            Some(LivenessAction::SessionExpired)
        } else if due(self.dead_at()) {
            Some(LivenessAction::Dead)
        } else if due(self.idle_at()) {
            Some(LivenessAction::IdleTimeout)
        } else {
            None
        };
        if terminal.is_some() {
            self.finished = true;
            return terminal;
        }
        if due(self.next_dpd_at()) {
            self.last_dpd_sent = Some(now);
            return Some(LivenessAction::SendDpd);
        }
        None
    }

    fn dead_at(&self) -> Option<Instant> {
        self.last_rx.checked_add(self.dpd?.checked_mul(3)?)
    }

    fn idle_at(&self) -> Option<Instant> {
        self.last_activity.checked_add(self.idle_timeout?)
    }

    fn next_dpd_at(&self) -> Option<Instant> {
        let dpd = self.dpd?;
        let first = self.last_rx.checked_add(dpd.checked_mul(2)?)?;
        match self.last_dpd_sent {
            // Already probed during this silence: once per interval after that.
            Some(sent) if sent >= self.last_rx => Some(first.max(sent.checked_add(dpd)?)),
            _ => Some(first),
        }
    }
}

/// Whether an IP packet counts as activity for the idle timeout: everything except ICMP,
/// ICMPv6 (after any IPv6 extension headers) and IGMP. Unparseable packets count.
pub fn counts_for_idle(ip_packet: &[u8]) -> bool {
    const ICMP: u8 = 1;
    const IGMP: u8 = 2;
    const ICMPV6: u8 = 58;
    match ip_packet.first().map(|b| b >> 4) {
        Some(4) => !matches!(ip_packet.get(9), Some(&(ICMP | IGMP))),
        Some(6) => ipv6_upper_protocol(ip_packet) != Some(ICMPV6),
        _ => true,
    }
}

/// The upper-layer protocol of an IPv6 packet, skipping up to 8 extension headers.
fn ipv6_upper_protocol(pkt: &[u8]) -> Option<u8> {
    let mut next = *pkt.get(6)?;
    let mut offset = 40usize;
    for _ in 0..8 {
        let len = match next {
            // Hop-by-hop, routing, destination options: (len + 1) * 8.
            0 | 43 | 60 => (usize::from(*pkt.get(offset + 1)?) + 1) * 8,
            // Fragment: fixed 8 bytes.
            44 => 8,
            // Authentication header: (len + 2) * 4.
            51 => (usize::from(*pkt.get(offset + 1)?) + 2) * 4,
            upper => return Some(upper),
        };
        next = *pkt.get(offset)?;
        offset += len;
    }
    None
}

#[cfg(test)]
mod tests;
