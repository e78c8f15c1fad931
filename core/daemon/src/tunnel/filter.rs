//! Data-path packet filters inside one tunnel: packets are gathered into batches (up to
//! [`BATCH`]) and each batch crosses into the filter plugins once, as the plugin contract's
//! `filter-packets` hook is designed for.
//!
//! ```text
//!   CSTP frames / DTLS records ──push──► PacketBatch (copied: data + ends)
//!   TUN frames (already Bytes) ──────────────────────────┐
//!                                                        ▼
//!                        host.filter_packets(≤ 64 packets) ─► one verdict per packet
//!   Accept ─► forwarded   Drop ─► counted   Reject ─► counted + ICMP "administratively
//!                                                     prohibited" to the sender (rate-limited)
//! ```
//!
//! Nothing here runs when no plugin filters packets: the tunnel forwards inline as before.

use std::time::{Duration, Instant};

use wolfguard_plugin_host::PluginHost;
use wolfguard_plugin_host::api::{Packet, PacketVerdict};

/// Packets per call into the filter plugins.
pub(super) const BATCH: usize = 64;
/// ICMP errors one tunnel may generate per [`ICMP_WINDOW`] (a burst; then silence).
const ICMP_PER_WINDOW: u32 = 10;
const ICMP_WINDOW: Duration = Duration::from_secs(1);

/// Packets waiting for a verdict, copied out of the buffers they arrived in.
#[derive(Debug, Default)]
pub(super) struct PacketBatch {
    data: Vec<u8>,
    ends: Vec<usize>,
}

impl PacketBatch {
    /// Queues a copy of `packet`.
    pub(super) fn push(&mut self, packet: &[u8]) {
        self.data.extend_from_slice(packet);
        self.ends.push(self.data.len());
    }

    /// Packets queued.
    pub(super) fn len(&self) -> usize {
        self.ends.len()
    }

    /// Whether nothing is queued.
    pub(super) fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// Packet `i`.
    pub(super) fn get(&self, i: usize) -> &[u8] {
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        &self.data[start..self.ends[i]]
    }

    /// Forgets every packet (keeps the buffers).
    pub(super) fn clear(&mut self) {
        self.data.clear();
        self.ends.clear();
    }
}

/// Filters packets in batches and keeps the tunnel's ICMP budget.
#[derive(Debug)]
pub(super) struct Filter {
    /// Verdicts of the last batch, one per packet.
    pub(super) verdicts: Vec<PacketVerdict>,
    icmp_window: (Instant, u32),
}

impl Filter {
    pub(super) fn new() -> Self {
        Self {
            verdicts: Vec::with_capacity(BATCH),
            icmp_window: (Instant::now(), 0),
        }
    }

    /// Asks every packet filter about `packets` (at most [`BATCH`]) in one call each and leaves
    /// one verdict per packet in [`verdicts`](Self::verdicts).
    pub(super) fn judge<'a>(
        &mut self,
        host: &PluginHost,
        session: u64,
        ingress: bool,
        packets: impl Iterator<Item = &'a [u8]>,
    ) {
        // One small allocation per batch (64 × 32 bytes), next to a call into every plugin.
        let batch: Vec<Packet<'a>> = packets
            .map(|data| Packet {
                session,
                ingress,
                data,
            })
            .collect();
        host.filter_packets(&batch, &mut self.verdicts);
    }

    /// Whether the tunnel may send one more ICMP error now.
    pub(super) fn icmp_allowed(&mut self, now: Instant) -> bool {
        if now.duration_since(self.icmp_window.0) >= ICMP_WINDOW {
            self.icmp_window = (now, 0);
        }
        if self.icmp_window.1 >= ICMP_PER_WINDOW {
            return false;
        }
        self.icmp_window.1 += 1;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_batch_keeps_packets_apart_and_in_order() {
        let mut b = PacketBatch::default();
        assert!(b.is_empty());
        b.push(&[1, 2, 3]);
        b.push(&[]);
        b.push(&[4]);
        assert_eq!(b.len(), 3);
        assert_eq!(b.get(0), &[1, 2, 3]);
        assert_eq!(b.get(1), &[] as &[u8]);
        assert_eq!(b.get(2), &[4]);
        b.clear();
        assert!(b.is_empty());
    }

    #[test]
    fn icmp_errors_are_limited_per_window() {
        let mut f = Filter::new();
        let t0 = Instant::now();
        let sent = (0..50).filter(|_| f.icmp_allowed(t0)).count();
        assert_eq!(sent, ICMP_PER_WINDOW as usize);
        assert!(f.icmp_allowed(t0 + ICMP_WINDOW));
    }
}
