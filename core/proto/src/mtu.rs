//! Tunnel MTU arithmetic (§5.6), following ocserv's `calc_mtu_values`.
//!
//! One tun MTU must fit both channels, so the data MTU is what a DTLS record can carry inside
//! the link MTU:
//!
//! ```text
//!  |<------------------------------ base (link) MTU ------------------------------>|
//!  | IP 20/40 | UDP 8 | DTLS hdr 13 | nonce 8 | type 1 | IP packet ... | tag 16     |
//!  |<-- transport --->|<------ DTLS crypto overhead (here AES-GCM = 38) ----------->|
//!                                             |<--- data MTU --->|
//! ```
//!
//! Worked example (IPv4, base 1500, PSK AES-256-GCM): 1500 − 38 − 28 = **1434**, which is what
//! openconnect 9.01 gets from ocserv. Below 1280 bytes IPv6 cannot be carried and is withdrawn.

/// IPv4 header + UDP header: transport overhead of DTLS over IPv4.
pub const IPV4_UDP_OVERHEAD: u16 = 20 + 8;
/// IPv6 header + UDP header: transport overhead of DTLS over IPv6.
pub const IPV6_UDP_OVERHEAD: u16 = 40 + 8;
/// DTLS 1.x record header.
pub const DTLS_RECORD_HEADER: u16 = 13;
/// The one-byte DTLS payload type (§5.5), counted as overhead.
pub const DTLS_TYPE_BYTE: u16 = 1;
/// PSK AES-128/256-GCM (and DTLS 1.2 AES-GCM resumption): header 13 + explicit nonce 8 + tag 16
/// + type 1.
pub const PSK_AES_GCM_OVERHEAD: u16 = DTLS_RECORD_HEADER + 8 + 16 + DTLS_TYPE_BYTE;
/// PSK ChaCha20-Poly1305: header 13 + tag 16 + type 1 (no explicit nonce).
pub const PSK_CHACHA20_POLY1305_OVERHEAD: u16 = DTLS_RECORD_HEADER + 16 + DTLS_TYPE_BYTE;
/// AES-CBC with HMAC-SHA1 (legacy `AES128-SHA` / `AES256-SHA`): header 13 + IV 16 + MAC 20 +
/// worst-case padding 16 + type 1.
pub const AES_CBC_SHA1_OVERHEAD: u16 = DTLS_RECORD_HEADER + 16 + 20 + 16 + DTLS_TYPE_BYTE;
/// openconnect's worst-case DTLS overhead (`DTLS_OVERHEAD` in its sources), which it subtracts
/// when it derives `X-CSTP-MTU` from its base MTU.
pub const CLIENT_WORST_CASE_OVERHEAD: u16 = 82;
/// Smallest base MTU taken from a client (smaller values are ignored).
pub const MIN_BASE_MTU: u16 = 800;
/// Largest base MTU taken from a client (larger values are ignored).
pub const MAX_BASE_MTU: u16 = 16384;
/// The IPv6 minimum link MTU (RFC 8200): below it IPv6 is not offered.
pub const IPV6_MIN_MTU: u16 = 1280;

/// The result of [`data_mtu`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use]
pub struct MtuValues {
    /// The link MTU in use (`X-CSTP-Base-MTU`).
    pub base_mtu: u16,
    /// The tunnel's data MTU (`X-CSTP-MTU`, tun MTU).
    pub data_mtu: u16,
    /// Whether IPv6 may be assigned: the data MTU is at least 1280.
    pub ipv6_allowed: bool,
}

/// Computes the base and data MTU for one tunnel.
///
/// - `link_mtu`: the server's MTU for this user (tun/default MTU, per-user override, and the
///   TCP path MTU if the daemon knows it — the caller passes their minimum).
/// - `client_base_mtu`: `X-CSTP-Base-MTU`; taken only within [`MIN_BASE_MTU`]..=[`MAX_BASE_MTU`],
///   and only to lower the link MTU.
/// - `client_ipv6_transport`: the client reached us over IPv6 (40-byte IP header).
/// - `dtls_overhead`: the DTLS crypto overhead of the suite in use, type byte included (e.g.
///   [`PSK_AES_GCM_OVERHEAD`]). Pass the same value when DTLS is off, so the MTU stays the same
///   if it comes up later.
///
/// Never panics; with absurd inputs the data MTU saturates at 0 (and IPv6 is refused).
pub fn data_mtu(
    link_mtu: u16,
    client_base_mtu: Option<u16>,
    client_ipv6_transport: bool,
    dtls_overhead: u16,
) -> MtuValues {
    let client = client_base_mtu.filter(|m| (MIN_BASE_MTU..=MAX_BASE_MTU).contains(m));
    let base_mtu = client.map_or(link_mtu, |c| c.min(link_mtu));
    let transport = if client_ipv6_transport {
        IPV6_UDP_OVERHEAD
    } else {
        IPV4_UDP_OVERHEAD
    };
    let data_mtu = base_mtu
        .saturating_sub(dtls_overhead)
        .saturating_sub(transport);
    MtuValues {
        base_mtu,
        data_mtu,
        ipv6_allowed: data_mtu >= IPV6_MIN_MTU,
    }
}

/// The base MTU implied by a client that sent only `X-CSTP-MTU` (no `X-CSTP-Base-MTU`): its MTU
/// plus transport and openconnect's worst-case DTLS overhead (§5.6). Use it as one more bound on
/// `link_mtu`. `None` when the value is outside [`MIN_BASE_MTU`]..=[`MAX_BASE_MTU`].
pub fn base_from_client_mtu(client_mtu: u16, client_ipv6_transport: bool) -> Option<u16> {
    if !(MIN_BASE_MTU..=MAX_BASE_MTU).contains(&client_mtu) {
        return None;
    }
    let transport = if client_ipv6_transport {
        IPV6_UDP_OVERHEAD
    } else {
        IPV4_UDP_OVERHEAD
    };
    Some(
        client_mtu
            .saturating_add(transport)
            .saturating_add(CLIENT_WORST_CASE_OVERHEAD),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overhead_constants() {
        assert_eq!(PSK_AES_GCM_OVERHEAD, 38);
        assert_eq!(PSK_CHACHA20_POLY1305_OVERHEAD, 30);
        assert_eq!(AES_CBC_SHA1_OVERHEAD, 66);
    }

    #[test]
    fn table() {
        // (link, client base, ipv6 transport, overhead) -> (base, data, ipv6)
        type Case = ((u16, Option<u16>, bool, u16), (u16, u16, bool));
        let cases: &[Case] = &[
            (
                (1500, Some(1500), false, PSK_AES_GCM_OVERHEAD),
                (1500, 1434, true),
            ),
            (
                (1500, None, false, PSK_AES_GCM_OVERHEAD),
                (1500, 1434, true),
            ),
            (
                (1500, Some(1500), false, AES_CBC_SHA1_OVERHEAD),
                (1500, 1406, true),
            ),
            (
                (1500, Some(1500), true, PSK_AES_GCM_OVERHEAD),
                (1500, 1414, true),
            ),
            (
                (1500, Some(1400), false, PSK_AES_GCM_OVERHEAD),
                (1400, 1334, true),
            ),
            // A larger client value never raises the link MTU.
            (
                (1500, Some(9000), false, PSK_AES_GCM_OVERHEAD),
                (1500, 1434, true),
            ),
            // Out-of-range client values are ignored.
            (
                (1500, Some(799), false, PSK_AES_GCM_OVERHEAD),
                (1500, 1434, true),
            ),
            (
                (1500, Some(0), false, PSK_AES_GCM_OVERHEAD),
                (1500, 1434, true),
            ),
            (
                (1500, Some(16385), false, PSK_AES_GCM_OVERHEAD),
                (1500, 1434, true),
            ),
            // Small but valid: IPv6 withdrawn below 1280.
            (
                (1500, Some(1345), false, PSK_AES_GCM_OVERHEAD),
                (1345, 1279, false),
            ),
            (
                (1500, Some(1346), false, PSK_AES_GCM_OVERHEAD),
                (1346, 1280, true),
            ),
            (
                (1500, Some(800), false, PSK_AES_GCM_OVERHEAD),
                (800, 734, false),
            ),
            // Nonsense server input saturates instead of panicking.
            ((10, None, true, u16::MAX), (10, 0, false)),
            (
                (u16::MAX, Some(u16::MAX), false, 0),
                (u16::MAX, u16::MAX - 28, true),
            ),
        ];
        for &((link, client, v6, over), (base, data, ipv6)) in cases {
            let got = data_mtu(link, client, v6, over);
            assert_eq!(
                got,
                MtuValues {
                    base_mtu: base,
                    data_mtu: data,
                    ipv6_allowed: ipv6
                },
                "{link} {client:?} {v6} {over}"
            );
        }
    }

    #[test]
    fn client_mtu_only() {
        // openconnect 9.01 with base 1500 sends X-CSTP-MTU 1390 = 1500 - 82 - 8 - 20.
        assert_eq!(base_from_client_mtu(1390, false), Some(1500));
        assert_eq!(base_from_client_mtu(1390, true), Some(1520));
        assert_eq!(base_from_client_mtu(100, false), None);
        assert_eq!(base_from_client_mtu(u16::MAX, false), None);
        assert_eq!(base_from_client_mtu(16384, true), Some(16384 + 48 + 82));
    }
}
