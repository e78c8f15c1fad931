//! Routes and address leases as the CONNECT response writes them.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// A route for `X-CSTP-Split-Include` / `X-CSTP-Split-Exclude`.
///
/// Displays as `10.20.0.0/255.255.0.0` for IPv4 (dotted netmask, as clients expect) and as
/// `fd00:99::/64` for IPv6. Host bits are cleared and the prefix clamped when rendering.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Route {
    /// Network address.
    pub addr: IpAddr,
    /// Prefix length (0–32 for IPv4, 0–128 for IPv6).
    pub prefix: u8,
}

impl Route {
    /// A route, or `None` if the prefix is too long for the address family.
    pub fn new(addr: IpAddr, prefix: u8) -> Option<Self> {
        let max = if addr.is_ipv4() { 32 } else { 128 };
        (prefix <= max).then_some(Self { addr, prefix })
    }

    /// The network address with host bits cleared.
    pub fn network(&self) -> IpAddr {
        match self.addr {
            IpAddr::V4(a) => IpAddr::V4(Ipv4Addr::from(u32::from(a) & v4_mask(self.prefix))),
            IpAddr::V6(a) => IpAddr::V6(Ipv6Addr::from(u128::from(a) & v6_mask(self.prefix))),
        }
    }
}

impl fmt::Display for Route {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.network() {
            IpAddr::V4(net) => write!(f, "{net}/{}", Ipv4Addr::from(v4_mask(self.prefix))),
            IpAddr::V6(net) => write!(f, "{net}/{}", self.prefix.min(128)),
        }
    }
}

fn v4_mask(prefix: u8) -> u32 {
    u32::MAX
        .checked_shl(32 - u32::from(prefix.min(32)))
        .unwrap_or(0)
}

fn v6_mask(prefix: u8) -> u128 {
    u128::MAX
        .checked_shl(128 - u32::from(prefix.min(128)))
        .unwrap_or(0)
}

/// The client's IPv4 lease: `X-CSTP-Address` and `X-CSTP-Netmask`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ipv4Lease {
    /// The client's address.
    pub address: Ipv4Addr,
    /// The pool's netmask.
    pub netmask: Ipv4Addr,
}

/// The client's IPv6 lease: `X-CSTP-Address-IP6: address/prefix`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ipv6Lease {
    /// The client's address.
    pub address: Ipv6Addr,
    /// The prefix length of the network.
    pub prefix: u8,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_render_and_mask() {
        let r = |s: &str, p| Route::new(s.parse().unwrap(), p).unwrap().to_string();
        assert_eq!(r("10.20.3.4", 16), "10.20.0.0/255.255.0.0");
        assert_eq!(r("10.20.3.4", 32), "10.20.3.4/255.255.255.255");
        assert_eq!(r("1.2.3.4", 0), "0.0.0.0/0.0.0.0");
        assert_eq!(r("fd00:99::1", 64), "fd00:99::/64");
        assert_eq!(r("::", 0), "::/0");
        assert_eq!(Route::new("1.2.3.4".parse().unwrap(), 33), None);
        assert_eq!(Route::new("::1".parse().unwrap(), 129), None);
        // Fields are public: an invalid prefix is clamped, never a panic.
        let bad = Route {
            addr: "1.2.3.4".parse().unwrap(),
            prefix: 200,
        };
        assert_eq!(bad.to_string(), "1.2.3.4/255.255.255.255");
    }
}
