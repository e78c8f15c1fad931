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
