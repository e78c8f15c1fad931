//! DTLS record peeking for the UDP demultiplexer (§5.1, §5.5).
//!
//! Before any wolfSSL object exists for a datagram, the server must know which tunnel it belongs
//! to. A new flow starts with a ClientHello whose `session_id` is the tunnel's `X-DTLS-App-ID`;
//! this module reads it without allocating, and rejects anything that is not a well-formed first
//! ClientHello fragment.
//!
//! ```text
//!  0        1  2  3  4 ... 10 11 12 13       14 15 16  17 18  19 20 21  22 23 24  25 26  27..58   59     60..
//! +--------+-----+---------------+------+---------+--------+--------+--------+--------+-------+--------+-------+
//! | type=22| ver | epoch+seq (8) | len  | hs=1    | length | msg_seq| frag_off (3)    | frag_len| cli_ver| random| sid_len| sid   |
//! +--------+-----+---------------+------+---------+--------+--------+--------+--------+-------+--------+-------+
//!   record header (13 bytes)              handshake header (12 bytes)                 ClientHello body
//! ```

/// DTLS content type of handshake records.
pub const CONTENT_HANDSHAKE: u8 = 22;
/// DTLS content type of application data records.
pub const CONTENT_APPLICATION_DATA: u8 = 23;
/// Handshake type of ClientHello.
pub const CLIENT_HELLO: u8 = 1;
/// Offset of the session id length byte in a ClientHello datagram.
pub const SESSION_ID_LEN_OFFSET: usize = 59;

/// Whether `datagram` starts with a DTLS 1.x handshake record carrying the first fragment of a
/// ClientHello (record version `FE xx`; DTLS 0.9's `01 00` is not supported, see the docs).
pub fn is_client_hello(datagram: &[u8]) -> bool {
    matches!(datagram, [CONTENT_HANDSHAKE, 0xfe, _, ..])
        && datagram.get(13) == Some(&CLIENT_HELLO)
        && datagram.get(19..22) == Some(&[0, 0, 0])
}

/// The session id of a ClientHello datagram: openconnect puts the 32-byte App-ID there.
/// `None` for anything else, including truncated records.
pub fn client_hello_session_id(datagram: &[u8]) -> Option<&[u8]> {
    if !is_client_hello(datagram) {
        return None;
    }
    let len = usize::from(*datagram.get(SESSION_ID_LEN_OFFSET)?);
    if len == 0 || len > 32 {
        return None;
    }
    datagram.get(SESSION_ID_LEN_OFFSET + 1..SESSION_ID_LEN_OFFSET + 1 + len)
}

/// Extension number of `pre_shared_key` (TLS 1.3, RFC 8446 §4.2.11).
pub const EXT_PRE_SHARED_KEY: u16 = 41;
/// Content type of DTLS 1.2 records carrying a connection id (RFC 9146).
pub const CONTENT_TLS12_CID: u8 = 25;
/// Length of the connection ids this server hands out. CIDs are not self-describing on the wire
/// (RFC 9146 §3, RFC 9147 §4), so the receiver must know the length it chose.
pub const SERVER_CID_LEN: usize = 8;

/// The id that routes a new DTLS flow to its tunnel, read from the first ClientHello fragment:
/// the 32-byte session id (openconnect's DTLS 1.2 PSK-NEGOTIATE and resumption modes), or, for a
/// DTLS 1.3 ClientHello whose legacy session id is empty (RFC 9147 §5.3), the first
/// `pre_shared_key` identity when it is the App-ID (32 raw bytes or 64 hex digits).
///
/// The PSK extension is always the last one, so a ClientHello split over several datagrams
/// cannot be routed from its first fragment; such flows are dropped (the client should offer a
/// key share that keeps its ClientHello within one datagram).
pub fn client_hello_app_id(datagram: &[u8]) -> Option<[u8; 32]> {
    if let Some(id) = client_hello_session_id(datagram) {
        return id.try_into().ok();
    }
    let identity = client_hello_psk_identity(datagram)?;
    match identity.len() {
        32 => identity.try_into().ok(),
        64 => {
            let mut out = [0u8; 32];
            for (o, pair) in out.iter_mut().zip(identity.chunks_exact(2)) {
                *o = hex_digit(pair[0])? << 4 | hex_digit(pair[1])?;
            }
            Some(out)
        }
        _ => None,
    }
}

fn hex_digit(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// A bounds-checked reader over one byte slice.
struct Cursor<'a>(&'a [u8]);

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if n > self.0.len() {
            return None;
        }
        let (head, tail) = self.0.split_at(n);
        self.0 = tail;
        Some(head)
    }
    fn u8(&mut self) -> Option<usize> {
        self.take(1).map(|b| usize::from(b[0]))
    }
    fn u16(&mut self) -> Option<usize> {
        self.take(2)
            .map(|b| usize::from(u16::from_be_bytes([b[0], b[1]])))
    }
    fn vec8(&mut self) -> Option<&'a [u8]> {
        let n = self.u8()?;
        self.take(n)
    }
    fn vec16(&mut self) -> Option<&'a [u8]> {
        let n = self.u16()?;
        self.take(n)
    }
}

/// The first identity of the `pre_shared_key` extension of a ClientHello that is complete in
/// its first fragment. `None` for anything else, including truncated or inconsistent lengths.
pub fn client_hello_psk_identity(datagram: &[u8]) -> Option<&[u8]> {
    if !is_client_hello(datagram) {
        return None;
    }
    let record_len = usize::from(u16::from_be_bytes([*datagram.get(11)?, *datagram.get(12)?]));
    let record = datagram.get(13..13 + record_len)?;
    let msg_len = u32::from_be_bytes([0, *record.get(1)?, *record.get(2)?, *record.get(3)?]);
    let frag_len = u32::from_be_bytes([0, *record.get(9)?, *record.get(10)?, *record.get(11)?]);
    if frag_len != msg_len {
        return None;
    }
    let body = record.get(12..12 + usize::try_from(frag_len).ok()?)?;
    let mut c = Cursor(body);
    c.take(2 + 32)?; // client_version, random
    c.vec8()?; // legacy_session_id
    c.vec8()?; // legacy_cookie
    c.vec16()?; // cipher_suites
    c.vec8()?; // legacy_compression_methods
    let mut exts = Cursor(c.vec16()?);
    while !exts.0.is_empty() {
        let kind = exts.u16()?;
        let data = exts.vec16()?;
        if kind == usize::from(EXT_PRE_SHARED_KEY) {
            let mut ids = Cursor(Cursor(data).vec16()?);
            let identity = ids.vec16()?;
            ids.take(4)?; // obfuscated_ticket_age
            return (!identity.is_empty()).then_some(identity);
        }
    }
    None
}

/// The connection id of a record that carries one, given the length this receiver chose: a
/// DTLS 1.3 unified-header record with the C bit set (RFC 9147 §4), or a DTLS 1.2 `tls12_cid`
/// record (RFC 9146 §4). `None` for records without a CID and for truncated ones.
pub fn record_connection_id(datagram: &[u8], cid_len: usize) -> Option<&[u8]> {
    let first = *datagram.first()?;
    if first & 0b1110_0000 == 0b0010_0000 {
        // 001CSLEE: C = connection id present.
        if first & 0b0001_0000 == 0 {
            return None;
        }
        return datagram.get(1..1 + cid_len);
    }
    if first == CONTENT_TLS12_CID && datagram.get(1) == Some(&0xfe) {
        // type(1) version(2) epoch(2) sequence(6) cid(n) length(2)
        return datagram.get(11..11 + cid_len);
    }
    None
}

/// The 1-byte frame types inside DTLS records: the same values as CSTP (§5.5).
pub use crate::cstp::PacketType as DtlsPacketType;

#[cfg(test)]
mod tests {
    use super::*;

    /// The first 100 bytes of openconnect 9.01's ClientHello as captured in the LAB (§5.2):
    /// record header, handshake header, client_version FEFD, random, session id = App-ID.
    fn client_hello(app_id: &[u8; 32]) -> Vec<u8> {
        let mut d = vec![0x16, 0xfe, 0xff, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xa0];
        d.extend_from_slice(&[0x01, 0, 0, 0x94, 0, 0, 0, 0, 0, 0, 0, 0x94]);
        d.extend_from_slice(&[0xfe, 0xfd]);
        d.extend_from_slice(&[0x5a; 32]);
        d.push(32);
        d.extend_from_slice(app_id);
        d.push(0); // empty cookie
        d.extend_from_slice(&[0, 2, 0x00, 0xa9]);
        d
    }

    #[test]
    fn app_id_is_read_from_a_real_shaped_client_hello() {
        let id = [0x2c; 32];
        assert_eq!(client_hello_session_id(&client_hello(&id)), Some(&id[..]));
        assert!(is_client_hello(&client_hello(&id)));
    }

    /// A DTLS 1.3-shaped ClientHello in one fragment: empty legacy session id, an empty cookie,
    /// two suites, null compression, a supported_versions extension and a pre_shared_key
    /// extension with `identity`.
    fn client_hello13(identity: &[u8]) -> Vec<u8> {
        let mut body = vec![0xfe, 0xfd];
        body.extend_from_slice(&[0x11; 32]);
        body.extend_from_slice(&[0, 0, 0, 4, 0x13, 0x01, 0x13, 0x02, 1, 0]);
        let mut exts = vec![0, 43, 0, 3, 2, 0xfe, 0xfc];
        let mut ids = Vec::new();
        ids.extend_from_slice(&(identity.len() as u16).to_be_bytes());
        ids.extend_from_slice(identity);
        ids.extend_from_slice(&[0, 0, 0, 0]);
        let mut psk = (ids.len() as u16).to_be_bytes().to_vec();
        psk.extend_from_slice(&ids);
        psk.extend_from_slice(&[0, 33, 32]);
        psk.extend_from_slice(&[0x77; 32]);
        exts.extend_from_slice(&[0, 41]);
        exts.extend_from_slice(&(psk.len() as u16).to_be_bytes());
        exts.extend_from_slice(&psk);
        body.extend_from_slice(&(exts.len() as u16).to_be_bytes());
        body.extend_from_slice(&exts);
        let len = body.len() as u32;
        let mut hs = vec![1];
        hs.extend_from_slice(&len.to_be_bytes()[1..]);
        hs.extend_from_slice(&[0, 0, 0, 0, 0]);
        hs.extend_from_slice(&len.to_be_bytes()[1..]);
        hs.extend_from_slice(&body);
        let mut d = vec![0x16, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, 0];
        d.extend_from_slice(&(hs.len() as u16).to_be_bytes());
        d.extend_from_slice(&hs);
        d
    }

    #[test]
    fn dtls13_client_hellos_are_routed_by_their_psk_identity() {
        let id = [0xab; 32];
        let raw = client_hello13(&id);
        assert_eq!(client_hello_session_id(&raw), None);
        assert_eq!(client_hello_psk_identity(&raw), Some(&id[..]));
        assert_eq!(client_hello_app_id(&raw), Some(id));
        let hexed = client_hello13("ab".repeat(32).as_bytes());
        assert_eq!(client_hello_app_id(&hexed), Some(id));
        let upper = client_hello13("AB".repeat(32).as_bytes());
        assert_eq!(client_hello_app_id(&upper), Some(id));
        // Session ids win when present (openconnect's DTLS 1.2 flows).
        assert_eq!(client_hello_app_id(&client_hello(&[3; 32])), Some([3; 32]));
    }

    #[test]
    fn malformed_dtls13_client_hellos_yield_nothing() {
        let good = client_hello13(&[0xab; 32]);
        for cut in 0..good.len() {
            assert_eq!(client_hello_app_id(&good[..cut]), None, "cut at {cut}");
        }
        assert_eq!(client_hello_app_id(&client_hello13(b"psk")), None);
        assert_eq!(client_hello_app_id(&client_hello13(&[b'g'; 64])), None);
        assert_eq!(client_hello_psk_identity(&client_hello13(b"")), None);
        // A fragment that is not the whole message (fragment length below message length).
        let mut frag = good.clone();
        frag[24] = frag[24].wrapping_sub(1);
        assert_eq!(client_hello_app_id(&frag), None);
        // A record length that claims more than arrived.
        let mut long = good.clone();
        long[12] = long[12].wrapping_add(1);
        assert_eq!(client_hello_app_id(&long), None);
        // An extension length that overruns the extension block.
        let mut ext = good;
        let at = ext.len() - 2 - 32 - 1 - 2 - 4 - 32 - 2 - 2 - 2;
        ext[at] = 0xff;
        assert_eq!(client_hello_app_id(&ext), None);
    }

    #[test]
    fn connection_ids_are_read_from_both_record_formats() {
        let cid = [1, 2, 3, 4, 5, 6, 7, 8];
        let mut unified = vec![0b0011_1100];
        unified.extend_from_slice(&cid);
        unified.extend_from_slice(&[0, 0, 0, 5, 9, 9, 9, 9, 9]);
        assert_eq!(record_connection_id(&unified, 8), Some(&cid[..]));
        assert_eq!(record_connection_id(&unified[..5], 8), None);
        let mut no_c = unified.clone();
        no_c[0] = 0b0010_1100;
        assert_eq!(record_connection_id(&no_c, 8), None);
        let mut v12 = vec![CONTENT_TLS12_CID, 0xfe, 0xfd, 0, 1, 0, 0, 0, 0, 0, 7];
        v12.extend_from_slice(&cid);
        v12.extend_from_slice(&[0, 1, 0]);
        assert_eq!(record_connection_id(&v12, 8), Some(&cid[..]));
        assert_eq!(record_connection_id(&v12[..12], 8), None);
        let plain = [CONTENT_APPLICATION_DATA, 0xfe, 0xfd, 0, 1];
        assert_eq!(record_connection_id(&plain, 8), None);
        assert_eq!(record_connection_id(&[], 8), None);
    }

    #[test]
    fn malformed_and_foreign_datagrams_yield_nothing() {
        let good = client_hello(&[1; 32]);
        for cut in 0..good.len().min(92) {
            assert_eq!(client_hello_session_id(&good[..cut]), None, "cut at {cut}");
        }
        let mut app_data = good.clone();
        app_data[0] = CONTENT_APPLICATION_DATA;
        assert_eq!(client_hello_session_id(&app_data), None);
        let mut dtls09 = good.clone();
        dtls09[1..3].copy_from_slice(&[0x01, 0x00]);
        assert_eq!(client_hello_session_id(&dtls09), None);
        let mut fragment = good.clone();
        fragment[21] = 5; // not the first fragment
        assert_eq!(client_hello_session_id(&fragment), None);
        let mut no_id = good.clone();
        no_id[SESSION_ID_LEN_OFFSET] = 0;
        assert_eq!(client_hello_session_id(&no_id), None);
        let mut long_id = good;
        long_id[SESSION_ID_LEN_OFFSET] = 33;
        assert_eq!(client_hello_session_id(&long_id), None);
        assert_eq!(client_hello_session_id(&[]), None);
    }
}
