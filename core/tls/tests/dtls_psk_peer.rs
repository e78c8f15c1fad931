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

/// A loopback UDP socket for the server side and `openssl s_client -dtls1_2` aimed at it with
/// `args`, its stdin piped (lines typed later) and its output where the caller wants it.
fn server_socket_and_client(
    args: &[&str],
    stdout: Stdio,
    stderr: Stdio,
) -> (UdpSocket, std::process::Child) {
    let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    sock.set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let port = sock.local_addr().unwrap().port();
    let child = Command::new("openssl")
        .args([
            "s_client",
            "-dtls1_2",
            "-connect",
            &format!("127.0.0.1:{port}"),
        ])
        .args(args)
        .stdin(Stdio::piped())
        .stdout(stdout)
        .stderr(stderr)
        .spawn()
        .expect("openssl is installed");
    (sock, child)
}

/// Runs one client; returns whether the handshake completed and the plaintext received.
fn run(client_key: &[u8; 32], suite: &str) -> (bool, Vec<u8>) {
    let (done, got, _, _) = run_lines(client_key, suite, &[b"hello over dtls\n"], b"\n");
    (done, got)
}

/// Runs one client that types `lines` once the handshake is done (one per loop turn, so
/// s_client acts on each before the next); stops when the plaintext received ends with
/// `until`. Returns whether the handshake completed, the plaintext, and s_client's stdout.
fn run_lines(
    client_key: &[u8; 32],
    suite: &str,
    lines: &[&[u8]],
    until: &[u8],
) -> (bool, Vec<u8>, String, u32) {
    let out_path = std::env::temp_dir().join(format!(
        "wg-dtls-sclient-{}-{}.out",
        std::process::id(),
        lines.len()
    ));
    let out_file = std::fs::File::create(&out_path).unwrap();
    let ctx = DtlsPskContext::new().unwrap();
    let psk_args = [
        "-psk",
        &hex(client_key),
        "-psk_identity",
        "psk",
        "-cipher",
        suite,
    ];
    let (sock, mut child) = server_socket_and_client(
        &psk_args,
        Stdio::from(out_file.try_clone().unwrap()),
        Stdio::from(out_file),
    );
    let mut session = ctx
        .new_session(DtlsKeys::Psk(PSK), [7; 32], 1400, None)
        .unwrap();
    let mut buf = [0u8; 2048];
    let mut peer = None;
    let mut done = false;
    let mut got: Vec<u8> = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(6);
    let mut next_line = 0;
    let mut typed_at = Instant::now();
    while Instant::now() < deadline && !(got.ends_with(until) && next_line == lines.len()) {
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
                } else {
                    let mut plain = [0u8; 2048];
                    while let Ok(ReadOutcome::Data(m)) = session.read(&mut plain) {
                        got.extend_from_slice(&plain[..m]);
                    }
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
        if done && next_line < lines.len() && typed_at.elapsed() > Duration::from_millis(300) {
            child
                .stdin
                .as_mut()
                .unwrap()
                .write_all(lines[next_line])
                .unwrap();
            next_line += 1;
            typed_at = Instant::now();
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    let stdout = std::fs::read_to_string(&out_path).unwrap_or_default();
    let _ = std::fs::remove_file(&out_path);
    (done, got, stdout, session.handshakes())
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

/// `X-DTLS-Rekey-Method: ssl`: the client renegotiates the DTLS session in place (openconnect
/// does this at `X-DTLS-Rekey-Time`); data keeps flowing afterwards.
#[test]
fn client_renegotiation_rekeys_the_session_in_place() {
    let (done, got, stdout, handshakes) = run_lines(
        &PSK,
        "PSK-AES256-GCM-SHA384",
        &[b"before\n", b"R\n", b"after rekey\n"],
        b"after rekey\n",
    );
    assert!(done);
    // The daemon rate-limits renegotiations by this count.
    assert_eq!(handshakes, 2, "{stdout}");
    assert!(
        stdout.contains("Secure Renegotiation IS supported"),
        "{stdout}"
    );
    assert!(stdout.contains("RENEGOTIATING"), "{stdout}");
    assert_eq!(
        String::from_utf8_lossy(&got),
        "before\nafter rekey\n",
        "{stdout}"
    );
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
    let (sock, mut child) = server_socket_and_client(
        &["-cipher", "ECDHE-RSA-AES256-GCM-SHA384"],
        Stdio::null(),
        Stdio::null(),
    );
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
