//! Handshakes, data and the exporter against a real peer: OpenSSL's `s_client` on loopback.
//!
//! `openssl s_client -keymatexport` prints the RFC 5705 value it derived; the server side must
//! compute the same bytes, because that is the PSK openconnect will use for DTLS.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use wolfguard_tls::{
    HandshakeStatus, OPENCONNECT_PSK_LABEL, ReadOutcome, ServerConfig, ServerContext, TlsVersion,
};

fn make_cert(dir: &Path, kind: &str) -> ServerConfig {
    let key = dir.join(format!("{kind}.key"));
    let crt = dir.join(format!("{kind}.crt"));
    let newkey = if kind == "rsa" { "rsa:2048" } else { "ec" };
    let mut cmd = Command::new("openssl");
    cmd.args([
        "req",
        "-x509",
        "-nodes",
        "-days",
        "2",
        "-subj",
        "/CN=wolfguard-test",
    ]);
    if kind == "ec" {
        cmd.args(["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"]);
    } else {
        cmd.args(["-newkey", newkey]);
    }
    cmd.arg("-keyout").arg(&key).arg("-out").arg(&crt);
    let st = cmd
        .stderr(Stdio::null())
        .status()
        .expect("openssl is installed");
    assert!(st.success());
    ServerConfig {
        certificate: crt,
        private_key: key,
        min_version: TlsVersion::Tls12,
        cipher_list: None,
        groups: vec![],
    }
}

/// Runs one s_client session; returns (client stdout, server-side exporter hex, protocol).
fn run(cfg: &ServerConfig, client_args: &[&str]) -> (String, String, String) {
    run_with(cfg, client_args, false)
}

/// As [`run`]; with `renegotiate`, the client also renegotiates (s_client's `R` command) after
/// its first line and sends a second one, and the output includes s_client's stderr.
fn run_with(
    cfg: &ServerConfig,
    client_args: &[&str],
    renegotiate: bool,
) -> (String, String, String) {
    let ctx = ServerContext::new(cfg).expect("context");
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let mut child = Command::new("openssl")
        .args(["s_client", "-connect", &format!("127.0.0.1:{port}")])
        // -ign_eof also switches s_client's command letters (R) off.
        .args(if renegotiate {
            &[][..]
        } else {
            &["-ign_eof"][..]
        })
        .args([
            "-keymatexport",
            OPENCONNECT_PSK_LABEL,
            "-keymatexportlen",
            "32",
        ])
        .args(client_args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(if renegotiate {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .spawn()
        .expect("spawn s_client");
    let (mut sock, _) = listener.accept().unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut tls = ctx.new_session().unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut buf = [0u8; 16384];
    loop {
        assert!(Instant::now() < deadline, "handshake timed out");
        let st = tls.handshake().expect("handshake");
        sock.write_all(tls.outgoing()).unwrap();
        let n = tls.outgoing().len();
        tls.consume_outgoing(n);
        if st == HandshakeStatus::Done {
            break;
        }
        let n = sock.read(&mut buf).unwrap();
        assert!(n > 0, "client closed during handshake");
        tls.feed(&buf[..n]);
    }
    let exported = hex(&tls
        .export_keying_material(OPENCONNECT_PSK_LABEL, 32)
        .unwrap());
    assert!(
        tls.export_keying_material(OPENCONNECT_PSK_LABEL, 32)
            .is_err(),
        "secrets released"
    );
    let proto = tls.protocol();

    // Data both ways: the client's line reaches us, ours reaches its stdout.
    child
        .stdin
        .as_mut()
        .unwrap()
        .write_all(b"ping from client\n")
        .unwrap();
    if renegotiate {
        let stdin = child.stdin.as_mut().unwrap();
        std::thread::sleep(Duration::from_millis(300));
        stdin.write_all(b"R\n").unwrap();
        std::thread::sleep(Duration::from_millis(300));
        stdin.write_all(b"after rekey\n").unwrap();
    }
    let want: &[u8] = if renegotiate {
        b"ping from client\nafter rekey\n"
    } else {
        b"ping from client\n"
    };
    let mut got = Vec::new();
    while got.len() < want.len() {
        assert!(Instant::now() < deadline, "no data from client");
        match tls.read(&mut buf).unwrap() {
            ReadOutcome::Data(n) => got.extend_from_slice(&buf[..n]),
            ReadOutcome::WantRead => {
                // TLS 1.3 session tickets, key updates and renegotiation flights: send what
                // the last read produced before waiting for the peer.
                sock.write_all(tls.outgoing()).unwrap();
                let n = tls.outgoing().len();
                tls.consume_outgoing(n);
                let n = sock.read(&mut buf).unwrap();
                tls.feed(&buf[..n]);
            }
            ReadOutcome::Closed => panic!("closed early"),
        }
    }
    assert_eq!(got, want);
    tls.write(b"pong from wolfguard\n").unwrap();
    tls.shutdown();
    sock.write_all(tls.outgoing()).unwrap();
    drop(child.stdin.take());
    drop(sock);
    let out = child.wait_with_output().unwrap();
    (
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr),
        exported,
        proto,
    )
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02X}")).collect()
}

fn client_export(stdout: &str) -> String {
    stdout
        .lines()
        .find_map(|l| l.trim().strip_prefix("Keying material: "))
        .expect("s_client printed keying material")
        .trim()
        .to_uppercase()
}

#[test]
fn tls13_and_tls12_exporter_matches_openssl_for_rsa_and_ecdsa() {
    let dir = std::env::temp_dir().join(format!("wg-tls-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for kind in ["rsa", "ec"] {
        let cfg = make_cert(&dir, kind);
        for (args, want_proto) in [(&["-tls1_3"][..], "TLSv1.3"), (&["-tls1_2"][..], "TLSv1.2")] {
            let (stdout, server, proto) = run(&cfg, args);
            assert_eq!(proto, want_proto, "{kind}");
            assert_eq!(
                client_export(&stdout),
                server,
                "{kind} {want_proto} exporter mismatch"
            );
            assert!(
                stdout.contains("pong from wolfguard"),
                "{kind} {want_proto}: {stdout}"
            );
        }
    }
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn weak_suites_and_unknown_groups_are_refused_up_front() {
    let dir = std::env::temp_dir().join(format!("wg-tls-cfg-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut cfg = make_cert(&dir, "ec");
    cfg.cipher_list = Some(vec!["AES128-SHA".into()]);
    assert!(ServerContext::new(&cfg).is_err());
    cfg.cipher_list = None;
    cfg.groups = vec!["X9999".into()];
    assert!(ServerContext::new(&cfg).is_err());
    cfg.groups = vec![];
    cfg.private_key = dir.join("missing.key");
    let err = ServerContext::new(&cfg).unwrap_err().to_string();
    assert!(err.contains("missing.key"), "{err}");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn tls13_only_refuses_a_tls12_client() {
    let dir = std::env::temp_dir().join(format!("wg-tls-13-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut cfg = make_cert(&dir, "ec");
    cfg.min_version = TlsVersion::Tls13;
    let ctx = ServerContext::new(&cfg).unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let child = Command::new("openssl")
        .args([
            "s_client",
            "-connect",
            &format!("127.0.0.1:{port}"),
            "-tls1_2",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let (mut sock, _) = listener.accept().unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut tls = ctx.new_session().unwrap();
    let mut buf = [0u8; 4096];
    let mut failed = false;
    for _ in 0..20 {
        match tls.handshake() {
            Err(_) => {
                failed = true;
                break;
            }
            Ok(HandshakeStatus::Done) => break,
            Ok(HandshakeStatus::WantRead) => {
                sock.write_all(tls.outgoing()).ok();
                let n = tls.outgoing().len();
                tls.consume_outgoing(n);
                match sock.read(&mut buf) {
                    Ok(0) | Err(_) => {
                        tls.feed_eof();
                    }
                    Ok(n) => tls.feed(&buf[..n]),
                }
            }
        }
    }
    assert!(
        failed,
        "a TLS 1.2 handshake must fail on a TLS 1.3-only server"
    );
    let mut child = child;
    child.kill().ok();
    child.wait().ok();
    std::fs::remove_dir_all(&dir).ok();
}

/// `X-CSTP-Rekey-Method: ssl` on TLS 1.2: the client renegotiates the CSTP session in place
/// (openconnect does at `X-CSTP-Rekey-Time`), and data keeps flowing through it.
#[test]
fn tls12_client_renegotiation_rekeys_in_place() {
    let dir = std::env::temp_dir().join(format!("wg-tls-reneg-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let cfg = make_cert(&dir, "rsa");
    let (out, _, proto) = run_with(&cfg, &["-tls1_2"], true);
    assert_eq!(proto, "TLSv1.2");
    assert!(out.contains("Secure Renegotiation IS supported"), "{out}");
    assert!(out.contains("RENEGOTIATING"), "{out}");
    assert!(out.contains("pong from wolfguard"), "{out}");
}
