//! DTLS 1.3 with connection ids, against wolfSSL's own DTLS 1.3 client: the only DTLS 1.3
//! OpenConnect-style peer there is (openconnect 9.01 and GnuTLS 3.7 stop at DTLS 1.2), so it is
//! the peer here. Datagrams move in memory, one at a time, as the UDP demultiplexer hands them.

use wolfguard_proto::dtls as wire;
use wolfguard_tls::{CID_LEN, DtlsContext, DtlsKeys, DtlsSession, HandshakeStatus, ReadOutcome};

const SERVER_CID: [u8; CID_LEN] = *b"SRV-CID1";

fn pump(from: &mut DtlsSession, to: &mut DtlsSession, seen: &mut Vec<Vec<u8>>) {
    let mut out = Vec::new();
    from.drain_outgoing(|d| out.push(d.to_vec()));
    for d in out {
        to.feed(&d);
        let _ = to.handshake();
        seen.push(d);
    }
}

/// Runs the handshake to completion or 50 rounds; returns whether both sides finished and
/// the client's datagrams.
fn handshake(client: &mut DtlsSession, server: &mut DtlsSession) -> (bool, Vec<Vec<u8>>) {
    let mut from_client = Vec::new();
    let mut from_server = Vec::new();
    for _ in 0..50 {
        let _ = client.handshake();
        pump(client, server, &mut from_client);
        pump(server, client, &mut from_server);
        if client.is_connected() && server.is_connected() {
            return (true, from_client);
        }
    }
    (false, from_client)
}

fn sessions(
    server_psk: [u8; 32],
    client_psk: [u8; 32],
    app_id: [u8; 32],
) -> (DtlsSession, DtlsSession) {
    let server = DtlsContext::new()
        .unwrap()
        .new_session(DtlsKeys::Psk(server_psk), [7; 32], 1400, Some(SERVER_CID))
        .unwrap();
    let identity = hex(&app_id);
    let mut client_cid = *b"CLI1";
    let client = DtlsContext::client13()
        .unwrap()
        .new_client_session(client_psk, identity.as_bytes(), Some(&mut client_cid), 1400)
        .unwrap();
    (client, server)
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn read_one(s: &mut DtlsSession, datagram: &[u8]) -> Option<Vec<u8>> {
    s.feed(datagram);
    let mut buf = [0u8; 2048];
    match s.read(&mut buf).unwrap() {
        ReadOutcome::Data(n) => Some(buf[..n].to_vec()),
        _ => None,
    }
}

#[test]
fn dtls13_psk_with_connection_ids_routes_and_carries_data() {
    let app_id = [0x5a; 32];
    let (mut client, mut server) = sessions([9; 32], [9; 32], app_id);
    let (done, from_client) = handshake(&mut client, &mut server);
    assert!(done, "DTLS 1.3 PSK handshake did not complete");
    assert_eq!(server.version(), "DTLSv1.3");
    assert_eq!(server.cipher(), "TLS13-AES128-GCM-SHA256");
    assert!(server.cid_in_use() && client.cid_in_use());
    // The demultiplexer routes the very first datagram by the PSK identity (= App-ID).
    assert!(wire::is_client_hello(&from_client[0]));
    assert_eq!(wire::client_hello_app_id(&from_client[0]), Some(app_id));
    assert_eq!(server.handshake().unwrap(), HandshakeStatus::Done);

    // Client → server records carry the server's connection id in the unified header.
    client.write(b"\x00hello over dtls 1.3").unwrap();
    let mut out = Vec::new();
    client.drain_outgoing(|d| out.push(d.to_vec()));
    let record = out.pop().expect("a record");
    assert_eq!(
        wire::record_connection_id(&record, CID_LEN),
        Some(&SERVER_CID[..])
    );
    assert_eq!(
        read_one(&mut server, &record).as_deref(),
        Some(&b"\x00hello over dtls 1.3"[..])
    );

    // Server → client.
    server.write(b"\x00reply").unwrap();
    let mut back = Vec::new();
    server.drain_outgoing(|d| back.push(d.to_vec()));
    let record = back.pop().expect("a record");
    assert_eq!(wire::record_connection_id(&record, 4), Some(&b"CLI1"[..]));
    assert_eq!(
        read_one(&mut client, &record).as_deref(),
        Some(&b"\x00reply"[..])
    );

    // A replayed record is dropped, not delivered twice.
    let mut again = Vec::new();
    client.write(b"\x00once").unwrap();
    client.drain_outgoing(|d| again.push(d.to_vec()));
    let rec = again.pop().unwrap();
    assert!(read_one(&mut server, &rec).is_some());
    assert!(read_one(&mut server, &rec).is_none());
}

#[test]
fn dtls13_with_the_wrong_psk_gives_no_session() {
    let (mut client, mut server) = sessions([9; 32], [8; 32], [1; 32]);
    let (done, _) = handshake(&mut client, &mut server);
    assert!(!done);
    assert!(!server.is_connected());
}
