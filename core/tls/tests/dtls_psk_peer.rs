//! The DTLS PSK server against OpenSSL's `s_client -dtls1_2 -psk` over loopback UDP: the right
//! key gives a session and data, a wrong key gives nothing (wolfSSL drops the undecryptable
//! Finished and the handshake never completes).

use std::io::Write as _;
use std::net::UdpSocket;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use wolfguard_tls::{DtlsKeys, DtlsPskContext, HandshakeStatus, ReadOutcome};

const PSK: [u8; 32] = [0x42; 32];

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Runs one client; returns whether the handshake completed and the plaintext received.
fn run(client_key: &[u8; 32], suite: &str) -> (bool, Vec<u8>) {
    let ctx = DtlsPskContext::new().unwrap();
    let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    sock.set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let port = sock.local_addr().unwrap().port();
    let mut child = Command::new("openssl")
        .args([
            "s_client",
            "-dtls1_2",
            "-connect",
            &format!("127.0.0.1:{port}"),
        ])
        .args([
            "-psk",
            &hex(client_key),
            "-psk_identity",
            "psk",
            "-cipher",
            suite,
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("openssl is installed");
    let mut session = ctx
        .new_session(DtlsKeys::Psk(PSK), [7; 32], 1400, None)
        .unwrap();
    let mut buf = [0u8; 2048];
    let mut peer = None;
    let mut done = false;
    let mut got = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(4);
    let mut sent_line = false;
    while Instant::now() < deadline && got.is_empty() {
        match sock.recv_from(&mut buf) {
            Ok((n, from)) => {
                peer = Some(from);
                session.feed(&buf[..n]);
                if !done {
                    match session.handshake() {
                        Ok(st) => done = st == HandshakeStatus::Done,
                        // A wrong key ends in a fatal error or a stalled handshake: no session.
                        Err(_) => break,
                    }
                } else if let Ok(ReadOutcome::Data(m)) = session.read(&mut buf) {
                    got.extend_from_slice(&buf[..m]);
                }
            }
            Err(_) => {
                if !done && session.timeout().is_some() {
                    let _ = session.handle_timeout();
                }
            }
        }
        if let Some(p) = peer {
            session.drain_outgoing(|d| {
                sock.send_to(d, p).unwrap();
            });
        }
        if done && !sent_line {
            child
                .stdin
                .as_mut()
                .unwrap()
                .write_all(b"hello over dtls\n")
                .unwrap();
            sent_line = true;
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    (done, got)
}

#[test]
fn right_psk_gives_a_session_and_data_for_each_suite() {
    for suite in [
        "PSK-AES256-GCM-SHA384",
        "PSK-AES128-GCM-SHA256",
        "PSK-CHACHA20-POLY1305",
    ] {
        let (done, got) = run(&PSK, suite);
        assert!(done, "{suite}: handshake did not complete");
        assert_eq!(got, b"hello over dtls\n", "{suite}");
    }
}

#[test]
fn wrong_psk_gives_no_session() {
    let (done, got) = run(&[0x43; 32], "PSK-AES256-GCM-SHA384");
    assert!(!done, "a wrong key must not complete the handshake");
    assert!(got.is_empty());
}

/// Resumption mode must never give a session to a client that does a full handshake: that
/// client never proved it knows the master secret sent over the authenticated CSTP channel.
#[test]
fn resumption_context_refuses_a_full_handshake() {
    use wolfguard_tls::DtlsContext;
    let dir = std::env::temp_dir().join(format!("wg-dtls-resume-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (crt, key) = (dir.join("rsa.crt"), dir.join("rsa.key"));
    let st = Command::new("openssl")
        .args([
            "req", "-x509", "-nodes", "-days", "1", "-newkey", "rsa:2048", "-subj", "/CN=t",
        ])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&crt)
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(st.success());
    let ctx = DtlsContext::resume(&crt, &key).unwrap();
    let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    sock.set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let port = sock.local_addr().unwrap().port();
    let mut child = Command::new("openssl")
        .args([
            "s_client",
            "-dtls1_2",
            "-connect",
            &format!("127.0.0.1:{port}"),
        ])
        .args(["-cipher", "ECDHE-RSA-AES256-GCM-SHA384"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let keys = DtlsKeys::Resume {
        master_secret: [9; 48],
        suite: "ECDHE-RSA-AES256-GCM-SHA384".into(),
    };
    let mut session = ctx.new_session(keys, [7; 32], 1400, None).unwrap();
    let mut buf = [0u8; 4096];
    let mut outcome = None;
    let deadline = Instant::now() + Duration::from_secs(4);
    while Instant::now() < deadline && outcome.is_none() {
        if let Ok((n, from)) = sock.recv_from(&mut buf) {
            session.feed(&buf[..n]);
            match session.handshake() {
                Ok(HandshakeStatus::Done) => outcome = Some(true),
                Ok(HandshakeStatus::WantRead) => {}
                Err(e) => {
                    eprintln!("resume handshake refused: {e}");
                    outcome = Some(false)
                }
            }
            session.drain_outgoing(|d| {
                sock.send_to(d, from).unwrap();
            });
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    std::fs::remove_dir_all(&dir).ok();
    assert_ne!(
        outcome,
        Some(true),
        "a full handshake must not produce a DTLS session"
    );
    assert!(!session.is_connected());
}
