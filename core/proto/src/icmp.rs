//! ICMP errors for refused packets: what a firewall answers when a filter *rejects* (rather than
//! silently drops) a tunnelled packet, so the sender's stack fails fast instead of retrying.
//!
//! [`admin_prohibited`] turns one IP packet into the complete error packet to send back to its
//! source: ICMPv4 destination unreachable / communication administratively prohibited (type 3,
//! code 13, RFC 1812 §5.2.7.1) or ICMPv6 destination unreachable / administratively prohibited
//! (type 1, code 1, RFC 4443 §3.1). The error's source address is the refused packet's
//! destination, as if that host had answered; the daemon needs no address of its own.
//!
//! The rules of RFC 1812 §4.3.2.7 and RFC 4443 §2.4 (e) decide when *no* error may be sent:
//! never about an ICMP error, a non-first fragment, or a packet to or from a multicast,
//! broadcast, unspecified or loopback address. Malformed packets get no answer either.
//! Rate limiting is the caller's job.
//!
//! ```text
//!   refused packet ──► checks (version, lengths, fragment, addresses, ICMP error?) ──► Err(why)
//!                               │ ok
//!                               ▼
//!   [IP header src=dst' dst=src'][ICMP type/code, checksum][as much of the refused packet as fits]
//!   IPv4: at most 576 bytes in all; IPv6: at most 1280 (the minimum MTU)
//! ```

use std::fmt;

/// Largest ICMPv4 error: RFC 1812 §4.3.2.3 quotes "as much as possible without the error
/// exceeding 576 bytes".
pub const MAX_V4_ERROR: usize = 576;
/// Largest ICMPv6 error: RFC 4443 §2.4 (c), the IPv6 minimum MTU.
pub const MAX_V6_ERROR: usize = 1280;

const V4_HEADER: usize = 20;
const V6_HEADER: usize = 40;
const ICMP_HEADER: usize = 8;
const HOP_LIMIT: u8 = 64;
/// Extension headers walked before giving up on a packet (a real one has a few at most).
const MAX_EXTENSION_HEADERS: usize = 8;

/// Why no ICMP error may be sent about a packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum NoError {
    /// Not a well-formed IPv4 or IPv6 packet (too short, bad version or lengths).
    Malformed,
    /// A fragment other than the first.
    NotFirstFragment,
    /// The packet is itself an ICMP error (or an ICMP type that is not a query).
    IcmpError,
    /// Its source is not a unicast address an error could go to.
    BadSource,
    /// It went to a multicast, broadcast, unspecified or loopback address.
    NotUnicast,
}

impl fmt::Display for NoError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Malformed => "malformed IP packet",
            Self::NotFirstFragment => "not the first fragment",
            Self::IcmpError => "an ICMP error (or non-query ICMP type)",
            Self::BadSource => "source is not a unicast address",
            Self::NotUnicast => "destination is multicast or broadcast",
        })
    }
}

impl std::error::Error for NoError {}

/// Writes into `out` (cleared first) the ICMP "administratively prohibited" error answering
/// `packet`, addressed to its source; or says why none may be sent.
pub fn admin_prohibited(packet: &[u8], out: &mut Vec<u8>) -> Result<(), NoError> {
    out.clear();
    match packet.first().map(|b| b >> 4) {
        Some(4) => v4(packet, out),
        Some(6) => v6(packet, out),
        _ => Err(NoError::Malformed),
    }
}

fn v4(p: &[u8], out: &mut Vec<u8>) -> Result<(), NoError> {
    if p.len() < V4_HEADER {
        return Err(NoError::Malformed);
    }
    let ihl = usize::from(p[0] & 0x0f) * 4;
    let total = usize::from(u16::from_be_bytes([p[2], p[3]]));
    if ihl < V4_HEADER || total < ihl || total > p.len() {
        return Err(NoError::Malformed);
    }
    let p = &p[..total];
    if u16::from_be_bytes([p[6], p[7]]) & 0x1fff != 0 {
        return Err(NoError::NotFirstFragment);
    }
    let src: [u8; 4] = [p[12], p[13], p[14], p[15]];
    let dst: [u8; 4] = [p[16], p[17], p[18], p[19]];
    // Unspecified, loopback, multicast, class E and limited broadcast are not error targets.
    let special = |a: [u8; 4]| a[0] == 0 || a[0] == 127 || a[0] >= 224;
    if special(src) {
        return Err(NoError::BadSource);
    }
    // The error comes *from* the destination, so it must be an address a packet may come from.
    if special(dst) {
        return Err(NoError::NotUnicast);
    }
    if p[9] == 1 {
        // Only ICMP queries and replies may be answered with an error.
        match p.get(ihl) {
            Some(0 | 8 | 13 | 14 | 15 | 16 | 17 | 18) => {}
            _ => return Err(NoError::IcmpError),
        }
    }
    let quoted = &p[..p.len().min(MAX_V4_ERROR - V4_HEADER - ICMP_HEADER)];
    let len = V4_HEADER + ICMP_HEADER + quoted.len();
    let len16 = u16::try_from(len).map_err(|_| NoError::Malformed)?;
    out.reserve(len);
    // Version/IHL, TOS 0xc0 (internetwork control, as Linux marks ICMP errors), total length,
    // id 0, no fragmentation, TTL, protocol ICMP, checksum (filled below), addresses.
    out.extend_from_slice(&[0x45, 0xc0]);
    out.extend_from_slice(&len16.to_be_bytes());
    out.extend_from_slice(&[0, 0, 0, 0, HOP_LIMIT, 1, 0, 0]);
    out.extend_from_slice(&dst);
    out.extend_from_slice(&src);
    let sum = checksum(&[&out[..V4_HEADER]], 0);
    out[10..12].copy_from_slice(&sum.to_be_bytes());
    // Type 3 (destination unreachable), code 13 (communication administratively prohibited).
    out.extend_from_slice(&[3, 13, 0, 0, 0, 0, 0, 0]);
    out.extend_from_slice(quoted);
    let sum = checksum(&[&out[V4_HEADER..]], 0);
    out[V4_HEADER + 2..V4_HEADER + 4].copy_from_slice(&sum.to_be_bytes());
    Ok(())
}

fn v6(p: &[u8], out: &mut Vec<u8>) -> Result<(), NoError> {
    if p.len() < V6_HEADER {
        return Err(NoError::Malformed);
    }
    let payload = usize::from(u16::from_be_bytes([p[4], p[5]]));
    // A zero payload length means a jumbogram, which never crosses a tunnel.
    if payload == 0 || V6_HEADER + payload > p.len() {
        return Err(NoError::Malformed);
    }
    let p = &p[..V6_HEADER + payload];
    let mut src = [0u8; 16];
    src.copy_from_slice(&p[8..24]);
    let mut dst = [0u8; 16];
    dst.copy_from_slice(&p[24..40]);
    const LOOPBACK: [u8; 16] = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
    let special = |a: &[u8; 16]| *a == [0; 16] || *a == LOOPBACK || a[0] == 0xff;
    if special(&src) {
        return Err(NoError::BadSource);
    }
    // The error comes *from* the destination, so it must be an address a packet may come from.
    if special(&dst) {
        return Err(NoError::NotUnicast);
    }
    upper_layer_allows_error(p)?;
    let quoted = &p[..p.len().min(MAX_V6_ERROR - V6_HEADER - ICMP_HEADER)];
    let body = ICMP_HEADER + quoted.len();
    let body16 = u16::try_from(body).map_err(|_| NoError::Malformed)?;
    out.reserve(V6_HEADER + body);
    out.extend_from_slice(&[0x60, 0, 0, 0]);
    out.extend_from_slice(&body16.to_be_bytes());
    out.extend_from_slice(&[58, HOP_LIMIT]);
    out.extend_from_slice(&dst);
    out.extend_from_slice(&src);
    // Type 1 (destination unreachable), code 1 (administratively prohibited).
    out.extend_from_slice(&[1, 1, 0, 0, 0, 0, 0, 0]);
    out.extend_from_slice(quoted);
    // The checksum covers a pseudo-header: addresses, upper-layer length, next header 58.
    let len32 = u32::from(body16).to_be_bytes();
    let pseudo = [0, 0, 0, 58];
    let sum = checksum(&[&out[8..40], &len32, &pseudo, &out[V6_HEADER..]], 0);
    out[V6_HEADER + 2..V6_HEADER + 4].copy_from_slice(&sum.to_be_bytes());
    Ok(())
}

/// Walks the IPv6 extension headers: refuses non-first fragments and ICMPv6 errors.
fn upper_layer_allows_error(p: &[u8]) -> Result<(), NoError> {
    let mut next = p[6];
    let mut off = V6_HEADER;
    for _ in 0..MAX_EXTENSION_HEADERS {
        match next {
            // Hop-by-hop, routing, destination options: (length + 1) * 8 bytes.
            0 | 43 | 60 => {
                let h = p.get(off..off + 2).ok_or(NoError::Malformed)?;
                next = h[0];
                off += (usize::from(h[1]) + 1) * 8;
            }
            // Fragment header: fixed 8 bytes; the offset is in the top 13 bits of bytes 2..4.
            44 => {
                let h = p.get(off..off + 8).ok_or(NoError::Malformed)?;
                if u16::from_be_bytes([h[2], h[3]]) & 0xfff8 != 0 {
                    return Err(NoError::NotFirstFragment);
                }
                next = h[0];
                off += 8;
            }
            // ICMPv6: types below 128 are errors.
            58 => {
                return match p.get(off) {
                    Some(&t) if t >= 128 => Ok(()),
                    _ => Err(NoError::IcmpError),
                };
            }
            _ => return Ok(()),
        }
    }
    Err(NoError::Malformed)
}

/// The Internet checksum (RFC 1071) of the concatenated `parts`, plus `initial`.
/// Every part but the last must have an even length.
fn checksum(parts: &[&[u8]], initial: u32) -> u16 {
    let mut sum = initial;
    for part in parts {
        let mut chunks = part.chunks_exact(2);
        for c in &mut chunks {
            sum += u32::from(u16::from_be_bytes([c[0], c[1]]));
        }
        if let [last] = chunks.remainder() {
            sum += u32::from(*last) << 8;
        }
        // Fold as we go so the sum never overflows, whatever the input length.
        sum = (sum & 0xffff) + (sum >> 16);
    }
    while sum >> 16 != 0 {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// Whether an ICMP error built by [`admin_prohibited`] (or any IPv4 / IPv6 ICMP packet) has
/// valid checksums: for tests and fuzzing.
pub fn checksums_valid(packet: &[u8]) -> bool {
    match packet.first().map(|b| b >> 4) {
        Some(4) if packet.len() >= V4_HEADER + ICMP_HEADER => {
            checksum(&[&packet[..V4_HEADER]], 0) == 0 && checksum(&[&packet[V4_HEADER..]], 0) == 0
        }
        Some(6) if packet.len() >= V6_HEADER + ICMP_HEADER => {
            let Ok(len) = u32::try_from(packet.len() - V6_HEADER) else {
                return false;
            };
            let len = len.to_be_bytes();
            let pseudo = [0, 0, 0, packet[6]];
            checksum(&[&packet[8..40], &len, &pseudo, &packet[V6_HEADER..]], 0) == 0
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v4_packet(proto: u8, src: [u8; 4], dst: [u8; 4], payload: &[u8]) -> Vec<u8> {
        let total = (20 + payload.len()) as u16;
        let mut p = vec![0x45, 0];
        p.extend_from_slice(&total.to_be_bytes());
        p.extend_from_slice(&[0x12, 0x34, 0x40, 0, 64, proto, 0, 0]);
        p.extend_from_slice(&src);
        p.extend_from_slice(&dst);
        p.extend_from_slice(payload);
        p
    }

    fn v6_packet(next: u8, src: [u8; 16], dst: [u8; 16], payload: &[u8]) -> Vec<u8> {
        let mut p = vec![0x60, 0, 0, 0];
        p.extend_from_slice(&(payload.len() as u16).to_be_bytes());
        p.extend_from_slice(&[next, 64]);
        p.extend_from_slice(&src);
        p.extend_from_slice(&dst);
        p.extend_from_slice(payload);
        p
    }

    const CLIENT6: [u8; 16] = [0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2];
    const SERVER6: [u8; 16] = [0x20, 0x01, 0xd, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];

    #[test]
    fn a_refused_tcp_syn_gets_an_icmpv4_admin_prohibited_from_its_destination() {
        let syn = v4_packet(6, [10, 10, 0, 2], [192, 0, 2, 80], &[0xab; 20]);
        let mut out = Vec::new();
        admin_prohibited(&syn, &mut out).unwrap();
        assert_eq!(out.len(), 20 + 8 + syn.len());
        assert_eq!(out[0], 0x45);
        assert_eq!(usize::from(u16::from_be_bytes([out[2], out[3]])), out.len());
        assert_eq!(out[9], 1, "protocol ICMP");
        assert_eq!(
            &out[12..16],
            &[192, 0, 2, 80],
            "from the refused destination"
        );
        assert_eq!(&out[16..20], &[10, 10, 0, 2], "to the refused source");
        assert_eq!((out[20], out[21]), (3, 13));
        assert_eq!(&out[28..], &syn[..], "the whole packet is quoted");
        assert!(checksums_valid(&out));
        // An error about the error is refused.
        assert_eq!(
            admin_prohibited(&out, &mut Vec::new()),
            Err(NoError::IcmpError)
        );
    }

    #[test]
    fn a_refused_udp_datagram_gets_an_icmpv6_admin_prohibited() {
        let udp = v6_packet(17, CLIENT6, SERVER6, &[7; 100]);
        let mut out = Vec::new();
        admin_prohibited(&udp, &mut out).unwrap();
        assert_eq!(out.len(), 40 + 8 + udp.len());
        assert_eq!(out[6], 58);
        assert_eq!(&out[8..24], &SERVER6);
        assert_eq!(&out[24..40], &CLIENT6);
        assert_eq!((out[40], out[41]), (1, 1));
        assert_eq!(&out[48..], &udp[..]);
        assert!(checksums_valid(&out));
        assert_eq!(
            admin_prohibited(&out, &mut Vec::new()),
            Err(NoError::IcmpError)
        );
    }

    #[test]
    fn large_packets_are_quoted_only_up_to_the_minimum_sizes() {
        let mut out = Vec::new();
        admin_prohibited(
            &v4_packet(17, [10, 0, 0, 2], [8, 8, 8, 8], &[0; 1400]),
            &mut out,
        )
        .unwrap();
        assert_eq!(out.len(), MAX_V4_ERROR);
        assert!(checksums_valid(&out));
        admin_prohibited(&v6_packet(6, CLIENT6, SERVER6, &[1; 1400]), &mut out).unwrap();
        assert_eq!(out.len(), MAX_V6_ERROR);
        assert!(checksums_valid(&out));
    }

    #[test]
    fn echo_requests_are_answered_but_icmp_errors_never() {
        let mut out = Vec::new();
        let echo = v4_packet(1, [10, 0, 0, 2], [8, 8, 8, 8], &[8, 0, 0, 0, 0, 1, 0, 1]);
        assert!(admin_prohibited(&echo, &mut out).is_ok());
        for t in [3u8, 4, 5, 11, 12, 42] {
            let e = v4_packet(1, [10, 0, 0, 2], [8, 8, 8, 8], &[t, 0, 0, 0, 0, 0, 0, 0]);
            assert_eq!(
                admin_prohibited(&e, &mut out),
                Err(NoError::IcmpError),
                "{t}"
            );
        }
        // ICMP with no type byte at all.
        let bare = v4_packet(1, [10, 0, 0, 2], [8, 8, 8, 8], &[]);
        assert_eq!(admin_prohibited(&bare, &mut out), Err(NoError::IcmpError));
        let echo6 = v6_packet(58, CLIENT6, SERVER6, &[128, 0, 0, 0, 0, 1, 0, 1]);
        assert!(admin_prohibited(&echo6, &mut out).is_ok());
        for t in [1u8, 2, 3, 4, 127] {
            let e = v6_packet(58, CLIENT6, SERVER6, &[t, 0, 0, 0, 0, 0, 0, 0]);
            assert_eq!(
                admin_prohibited(&e, &mut out),
                Err(NoError::IcmpError),
                "{t}"
            );
        }
    }

    #[test]
    fn extension_headers_are_walked_to_find_fragments_and_icmp_errors() {
        let mut out = Vec::new();
        // Hop-by-hop (8 bytes) then an ICMPv6 error: refused.
        let mut payload = vec![58, 0, 0, 0, 0, 0, 0, 0];
        payload.extend_from_slice(&[1, 0, 0, 0, 0, 0, 0, 0]);
        let p = v6_packet(0, CLIENT6, SERVER6, &payload);
        assert_eq!(admin_prohibited(&p, &mut out), Err(NoError::IcmpError));
        // Fragment header, offset 0 (first fragment) then UDP: answered.
        let first = v6_packet(44, CLIENT6, SERVER6, &[17, 0, 0, 1, 0, 0, 0, 9, 1, 2, 3, 4]);
        assert!(admin_prohibited(&first, &mut out).is_ok());
        // Offset 8: not the first fragment.
        let later = v6_packet(44, CLIENT6, SERVER6, &[17, 0, 0, 8, 0, 0, 0, 9, 1, 2, 3, 4]);
        assert_eq!(
            admin_prohibited(&later, &mut out),
            Err(NoError::NotFirstFragment)
        );
        // An extension header running past the end, and an endless chain of them.
        let cut = v6_packet(60, CLIENT6, SERVER6, &[17]);
        assert_eq!(admin_prohibited(&cut, &mut out), Err(NoError::Malformed));
        let chain = v6_packet(60, CLIENT6, SERVER6, &[60, 0, 0, 0, 0, 0, 0, 0].repeat(9));
        assert_eq!(admin_prohibited(&chain, &mut out), Err(NoError::Malformed));
    }

    #[test]
    fn fragments_and_non_unicast_addresses_get_no_error() {
        let mut out = Vec::new();
        let mut frag = v4_packet(17, [10, 0, 0, 2], [8, 8, 8, 8], &[0; 8]);
        frag[6..8].copy_from_slice(&[0x20, 0x10]); // MF set, offset 16 × 8
        assert_eq!(
            admin_prohibited(&frag, &mut out),
            Err(NoError::NotFirstFragment)
        );
        for src in [
            [0, 0, 0, 0],
            [127, 0, 0, 1],
            [224, 0, 0, 1],
            [255, 255, 255, 255],
        ] {
            let p = v4_packet(17, src, [8, 8, 8, 8], &[0; 8]);
            assert_eq!(admin_prohibited(&p, &mut out), Err(NoError::BadSource));
        }
        for dst in [
            [224, 0, 0, 251],
            [239, 1, 2, 3],
            [255, 255, 255, 255],
            [0, 1, 2, 3],
        ] {
            let p = v4_packet(17, [10, 0, 0, 2], dst, &[0; 8]);
            assert_eq!(admin_prohibited(&p, &mut out), Err(NoError::NotUnicast));
        }
        let mut mcast6 = [0u8; 16];
        mcast6[0] = 0xff;
        let p = v6_packet(17, CLIENT6, mcast6, &[0; 8]);
        assert_eq!(admin_prohibited(&p, &mut out), Err(NoError::NotUnicast));
        for src in [[0u8; 16], mcast6] {
            let p = v6_packet(17, src, SERVER6, &[0; 8]);
            assert_eq!(admin_prohibited(&p, &mut out), Err(NoError::BadSource));
        }
        assert!(
            out.is_empty(),
            "nothing is written when no error may be sent"
        );
    }

    #[test]
    fn malformed_packets_get_no_error() {
        let mut out = Vec::new();
        let good = v4_packet(17, [10, 0, 0, 2], [8, 8, 8, 8], &[0; 8]);
        let mut bad_ihl = good.clone();
        bad_ihl[0] = 0x44;
        let mut long_total = good.clone();
        long_total[2..4].copy_from_slice(&500u16.to_be_bytes());
        let mut short_total = good.clone();
        short_total[2..4].copy_from_slice(&10u16.to_be_bytes());
        let mut big_ihl = good.clone();
        big_ihl[0] = 0x4f;
        let v6 = v6_packet(17, CLIENT6, SERVER6, &[0; 8]);
        let mut jumbo = v6.clone();
        jumbo[4..6].copy_from_slice(&[0, 0]);
        let mut v6_long = v6.clone();
        v6_long[4..6].copy_from_slice(&900u16.to_be_bytes());
        for p in [
            &[][..],
            &[0x45],
            &good[..19],
            &bad_ihl,
            &long_total,
            &short_total,
            &big_ihl,
            &[0x50; 60],
            &v6[..39],
            &jumbo,
            &v6_long,
        ] {
            assert_eq!(
                admin_prohibited(p, &mut out),
                Err(NoError::Malformed),
                "{p:?}"
            );
        }
        // Trailing bytes past the IPv4 total length are not quoted.
        let mut padded = good.clone();
        padded.extend_from_slice(&[0xee; 10]);
        admin_prohibited(&padded, &mut out).unwrap();
        assert_eq!(&out[28..], &good[..]);
    }
}
