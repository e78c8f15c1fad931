//! IPv4 and IPv6 address pools with leases owned by sessions.
//!
//! The first host address of each pool belongs to the server's TUN device. A session keeps its
//! lease while its cookie is valid, so a reconnect with the same cookie gets the same addresses
//! (openconnect gives up if they change). Allocation starts at a slot derived from the user name,
//! so a user tends to get the same address across sessions too (ocserv's `predictable-ips`).

use std::collections::HashSet;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::net::{Ipv4Addr, Ipv6Addr};

use ipnet::{Ipv4Net, Ipv6Net};

/// One address family's pool: host slots `2..size`, slot 1 is the server.
#[derive(Debug)]
struct Slots {
    size: u128,
    used: HashSet<u128>,
}

impl Slots {
    fn new(size: u128) -> Self {
        Self {
            size,
            used: HashSet::new(),
        }
    }

    /// Picks a free slot, starting at a user-derived one; `None` when the pool is exhausted.
    fn take(&mut self, user: &str) -> Option<u128> {
        let span = self.size.checked_sub(2)?; // slots 2..size exclusive of broadcast handled by caller
        if span == 0 || self.used.len() as u128 >= span {
            return None;
        }
        let mut h = DefaultHasher::new();
        user.hash(&mut h);
        let start = u128::from(h.finish()) % span;
        // The pool is not full, so a free slot exists within `span` probes; the bound keeps a
        // huge IPv6 pool from turning a bug into an endless loop.
        for i in 0..span.min(1 << 20) {
            let slot = 2 + (start + i) % span;
            if self.used.insert(slot) {
                return Some(slot);
            }
        }
        None
    }

    fn put(&mut self, slot: u128) {
        self.used.remove(&slot);
    }
}

/// The server's pools.
#[derive(Debug)]
pub struct Leases {
    v4: Option<(Ipv4Net, Slots)>,
    v6: Option<(Ipv6Net, u8, Slots)>,
}

impl Leases {
    /// Pools for the configured networks; `v6_prefix` is the prefix handed to each client.
    pub fn new(v4: Option<Ipv4Net>, v6: Option<Ipv6Net>, v6_prefix: u8) -> Self {
        let v4 = v4.map(|net| {
            // Exclude the network and broadcast addresses: usable slots are 1..2^host_bits-1.
            let size = 1u128 << (32 - net.prefix_len());
            (net, Slots::new(size.saturating_sub(1)))
        });
        let v6 = v6.map(|net| {
            let bits = u32::from(v6_prefix.saturating_sub(net.prefix_len()));
            let size = if bits >= 64 {
                1u128 << 64
            } else {
                1u128 << bits
            };
            (net, v6_prefix, Slots::new(size))
        });
        Self { v4, v6 }
    }

    /// The server's own IPv4 address and the pool prefix length.
    pub fn server_v4(&self) -> Option<(Ipv4Addr, u8)> {
        self.v4
            .as_ref()
            .map(|(net, _)| (nth_v4(net, 1), net.prefix_len()))
    }

    /// The server's own IPv6 address and the pool prefix length.
    pub fn server_v6(&self) -> Option<(Ipv6Addr, u8)> {
        self.v6
            .as_ref()
            .map(|(net, _, _)| (nth_v6(net, 1, 128), net.prefix_len()))
    }

    /// Leases an IPv4 address for `user`.
    pub fn take_v4(&mut self, user: &str) -> Option<Ipv4Addr> {
        let (net, slots) = self.v4.as_mut()?;
        slots.take(user).map(|slot| nth_v4(net, slot))
    }

    /// Leases an IPv6 address (or prefix, when the per-client prefix is shorter than 128).
    pub fn take_v6(&mut self, user: &str) -> Option<Ipv6Addr> {
        let (net, prefix, slots) = self.v6.as_mut()?;
        slots.take(user).map(|slot| nth_v6(net, slot, *prefix))
    }

    /// Returns an IPv4 lease to the pool.
    pub fn put_v4(&mut self, addr: Ipv4Addr) {
        if let Some((net, slots)) = self.v4.as_mut() {
            let slot = u32::from(addr).wrapping_sub(u32::from(net.network()));
            slots.put(u128::from(slot));
        }
    }

    /// Returns an IPv6 lease to the pool.
    pub fn put_v6(&mut self, addr: Ipv6Addr) {
        if let Some((net, prefix, slots)) = self.v6.as_mut() {
            let offset = u128::from(addr).wrapping_sub(u128::from(net.network()));
            slots.put(offset >> (128 - u32::from(*prefix)));
        }
    }

    /// Leased IPv4 addresses right now.
    pub fn used_v4(&self) -> usize {
        self.v4.as_ref().map_or(0, |(_, s)| s.used.len())
    }
}

fn nth_v4(net: &Ipv4Net, slot: u128) -> Ipv4Addr {
    // slot < 2^(32-prefix) by construction, so it fits in u32.
    Ipv4Addr::from(u32::from(net.network()).wrapping_add(slot as u32))
}

fn nth_v6(net: &Ipv6Net, slot: u128, prefix: u8) -> Ipv6Addr {
    let shift = 128 - u32::from(prefix);
    let offset = if shift >= 128 { 0 } else { slot << shift };
    Ipv6Addr::from(u128::from(net.network()).wrapping_add(offset))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v4_pool_hands_out_every_host_once_and_skips_server_and_broadcast() {
        let mut l = Leases::new(Some("10.1.0.0/29".parse().unwrap()), None, 128);
        assert_eq!(l.server_v4(), Some((Ipv4Addr::new(10, 1, 0, 1), 29)));
        let mut got: Vec<_> = (0..5)
            .map(|i| l.take_v4(&format!("u{i}")).unwrap())
            .collect();
        got.sort();
        let want: Vec<Ipv4Addr> = (2..=6).map(|h| Ipv4Addr::new(10, 1, 0, h)).collect();
        assert_eq!(got, want);
        assert_eq!(
            l.take_v4("more"),
            None,
            "/29 has 6 hosts, one is the server"
        );
        l.put_v4(Ipv4Addr::new(10, 1, 0, 4));
        assert_eq!(l.take_v4("again"), Some(Ipv4Addr::new(10, 1, 0, 4)));
    }

    #[test]
    fn slash30_has_exactly_one_client_address() {
        let mut l = Leases::new(Some("10.9.0.0/30".parse().unwrap()), None, 128);
        assert_eq!(l.take_v4("a"), Some(Ipv4Addr::new(10, 9, 0, 2)));
        assert_eq!(l.take_v4("b"), None);
    }

    #[test]
    fn same_user_gets_same_address_when_free() {
        let mut l = Leases::new(Some("10.2.0.0/24".parse().unwrap()), None, 128);
        let a = l.take_v4("alice").unwrap();
        l.put_v4(a);
        assert_eq!(l.take_v4("alice"), Some(a));
    }

    #[test]
    fn v6_prefixes_are_distinct_and_returnable() {
        let mut l = Leases::new(None, Some("fd00:77::/48".parse().unwrap()), 64);
        assert_eq!(l.server_v6(), Some(("fd00:77::1".parse().unwrap(), 48)));
        let a = l.take_v6("a").unwrap();
        let b = l.take_v6("b").unwrap();
        assert_ne!(a, b);
        assert_eq!(u128::from(a) & ((1u128 << 64) - 1), 0, "aligned to /64");
        l.put_v6(a);
        assert_eq!(l.take_v6("a"), Some(a));
        let mut l = Leases::new(None, Some("fd00:1::/120".parse().unwrap()), 128);
        let c = l.take_v6("c").unwrap();
        assert!(u128::from(c) & 0xff >= 2);
    }
}
