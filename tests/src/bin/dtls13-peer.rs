//! A DTLS 1.3 OpenConnect peer built on wolfSSL's own client, for the interop suite: no released
//! OpenConnect client speaks DTLS 1.3, so this is the stand-in the DTLS issue names. It logs in
//! with a cookie over CSTP (TLS), reads the CONNECT response, keys DTLS 1.3 with the
//! `EXPORTER-openconnect-psk` value and the App-ID as PSK identity, asks for connection ids,
//! pings the server's tunnel address over DTLS, then moves to a new UDP socket (optionally on
//! another local address, so that only the connection id can route it) and pings again.
//!
//! Usage: `dtls13-peer SERVER_IP COOKIE PING_IP [MIGRATE_TO_IP]`. Prints one JSON line; exits 0
//! only if both pings were answered over DTLS. Every wait is bounded.

use std::io::{Read as _, Write as _};
use std::net::{Ipv4Addr, SocketAddr, TcpStream, UdpSocket};
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail};
use wolfguard_tls::{
    ClientContext, DtlsContext, DtlsSession, HandshakeStatus, OPENCONNECT_PSK_LABEL, ReadOutcome,
    TlsSession,
};

const LIMIT: Duration = Duration::from_secs(10);

fn main() {
    match run() {
        Ok(summary) => {
            println!("{summary}");
        }
        Err(e) => {
            println!("{}", serde_json::json!({ "error": format!("{e:#}") }));
            std::process::exit(1);
        }
    }
}

fn run() -> Result<serde_json::Value> {
    let args: Vec<String> = std::env::args().collect();
    let [_, server, cookie, ping, rest @ ..] = args.as_slice() else {
        bail!("usage: dtls13-peer SERVER_IP COOKIE PING_IP [MIGRATE_TO_IP]");
    };
    let server: Ipv4Addr = server.parse()?;
    // openconnect --authenticate prints a Cookie header value (`openconnect_strapkey=…;
    // webvpn=…`) or, from older versions, the bare webvpn value.
    let cookie = if cookie.contains("webvpn=") {
        cookie.clone()
    } else {
        format!("webvpn={cookie}")
    };
    let ping: Ipv4Addr = ping.parse()?;
    let migrate_to: Option<Ipv4Addr> = rest.first().map(|a| a.parse()).transpose()?;

    let mut tcp = TcpStream::connect((server, 443))?;
    tcp.set_read_timeout(Some(Duration::from_secs(1)))?;
    let mut tls = ClientContext::new()?.new_session()?;
    tls_handshake(&mut tcp, &mut tls)?;
    let psk: [u8; 32] = tls
        .export_keying_material(OPENCONNECT_PSK_LABEL, 32)?
        .try_into()
        .map_err(|_| anyhow::anyhow!("short exporter output"))?;
    let request = format!(
        "CONNECT /CSCOSSLC/tunnel HTTP/1.1\r\nHost: {server}\r\nUser-Agent: wolfguard-dtls13-peer\r\n\
         Cookie: {cookie}\r\nX-CSTP-Version: 1\r\nX-CSTP-Address-Type: IPv4\r\n\
         X-CSTP-Base-MTU: 1500\r\nX-DTLS-CipherSuite: PSK-NEGOTIATE\r\n\r\n"
    );
    tls.write(request.as_bytes())?;
    flush(&mut tcp, &mut tls)?;
    let head = read_head(&mut tcp, &mut tls)?;
    if !head.starts_with("HTTP/1.1 200") {
        bail!("CONNECT refused: {head} (cookie {:?}…)", cookie.get(..8));
    }
    let header = |name: &str| {
        head.lines().find_map(|l| {
            l.split_once(':')
                .filter(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.trim().to_owned())
        })
    };
    let address: Ipv4Addr = header("X-CSTP-Address")
        .context("no X-CSTP-Address")?
        .parse()?;
    let app_id = header("X-DTLS-App-ID").context("no X-DTLS-App-ID: DTLS not offered")?;
    let port: u16 = header("X-DTLS-Port").context("no X-DTLS-Port")?.parse()?;
    let udp_server = SocketAddr::from((server, port));

    let ctx = DtlsContext::client13()?;
    let mut client_cid = *b"PEER";
    let mut dtls = ctx.new_client_session(psk, app_id.as_bytes(), Some(&mut client_cid), 1400)?;
    let udp = UdpSocket::bind((Ipv4Addr::UNSPECIFIED, 0))?;
    udp.set_read_timeout(Some(Duration::from_millis(200)))?;
    dtls_handshake(&udp, udp_server, &mut dtls)?;
    let first_port = udp.local_addr()?.port();
    let before = ping_over_dtls(&udp, udp_server, &mut dtls, address, ping, 1)?;

    let bind_ip = migrate_to.unwrap_or(Ipv4Addr::UNSPECIFIED);
    let moved = UdpSocket::bind((bind_ip, 0))?;
    moved.set_read_timeout(Some(Duration::from_millis(200)))?;
    let after = ping_over_dtls(&moved, udp_server, &mut dtls, address, ping, 2)?;
    let summary = serde_json::json!({
        "version": dtls.version(),
        "cipher": dtls.cipher(),
        "cid": dtls.cid_in_use(),
        "address": address.to_string(),
        "first_port": first_port,
        "moved_to": moved.local_addr()?.to_string(),
        "reply_before_move": before,
        "reply_after_move": after,
    });
    if !(before && after) {
        bail!("ping over DTLS failed: {summary}");
    }
    Ok(summary)
}

fn flush(tcp: &mut TcpStream, tls: &mut TlsSession) -> Result<()> {
    let n = tls.outgoing().len();
    if n > 0 {
        tcp.write_all(tls.outgoing())?;
        tls.consume_outgoing(n);
    }
    Ok(())
}

fn fill(tcp: &mut TcpStream, tls: &mut TlsSession) -> Result<()> {
    let mut buf = [0u8; 16 * 1024];
    match tcp.read(&mut buf) {
        Ok(0) => bail!("server closed the TCP connection"),
        Ok(n) => tls.feed(&buf[..n]),
        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
        Err(e) if e.kind() == std::io::ErrorKind::TimedOut => {}
        Err(e) => return Err(e.into()),
    }
    Ok(())
}

fn tls_handshake(tcp: &mut TcpStream, tls: &mut TlsSession) -> Result<()> {
    let start = Instant::now();
    while start.elapsed() < LIMIT {
        let status = tls.handshake()?;
        flush(tcp, tls)?;
        if status == HandshakeStatus::Done {
            return Ok(());
        }
        fill(tcp, tls)?;
    }
    bail!("TLS handshake timed out")
}

fn read_head(tcp: &mut TcpStream, tls: &mut TlsSession) -> Result<String> {
    let start = Instant::now();
    let mut text = Vec::new();
    let mut buf = [0u8; 16 * 1024];
    while start.elapsed() < LIMIT {
        match tls.read(&mut buf)? {
            ReadOutcome::Data(n) => {
                text.extend_from_slice(&buf[..n]);
                if let Some(end) = text.windows(4).position(|w| w == b"\r\n\r\n") {
                    return Ok(String::from_utf8_lossy(&text[..end]).into_owned());
                }
            }
            ReadOutcome::WantRead => fill(tcp, tls)?,
            ReadOutcome::Closed => bail!("connection closed before the CONNECT response"),
        }
    }
    bail!("no CONNECT response")
}

fn send_all(udp: &UdpSocket, to: SocketAddr, dtls: &mut DtlsSession) {
    dtls.drain_outgoing(|d| {
        if let Err(e) = udp.send_to(d, to) {
            eprintln!("send of {} bytes to {to} failed: {e}", d.len());
        } else {
            eprintln!("sent {} bytes to {to}", d.len());
        }
    });
}

fn dtls_handshake(udp: &UdpSocket, to: SocketAddr, dtls: &mut DtlsSession) -> Result<()> {
    let start = Instant::now();
    let mut buf = [0u8; 4096];
    let mut last_flight = Instant::now();
    while start.elapsed() < LIMIT {
        let status = dtls.handshake()?;
        send_all(udp, to, dtls);
        if status == HandshakeStatus::Done {
            return Ok(());
        }
        match udp.recv_from(&mut buf) {
            Ok((n, from)) => {
                eprintln!("received {n} bytes from {from}");
                dtls.feed(&buf[..n]);
            }
            Err(_) if last_flight.elapsed() >= Duration::from_secs(1) => {
                dtls.handle_timeout()?;
                send_all(udp, to, dtls);
                last_flight = Instant::now();
            }
            Err(_) => {}
        }
    }
    bail!("DTLS 1.3 handshake timed out")
}

/// Sends ICMP echo requests inside DTLS data frames until one reply comes back (at most 10 s).
fn ping_over_dtls(
    udp: &UdpSocket,
    to: SocketAddr,
    dtls: &mut DtlsSession,
    src: Ipv4Addr,
    dst: Ipv4Addr,
    seq: u16,
) -> Result<bool> {
    let start = Instant::now();
    let mut buf = [0u8; 4096];
    let mut plain = [0u8; 4096];
    let mut sent_at = None::<Instant>;
    while start.elapsed() < LIMIT {
        if sent_at.is_none_or(|t| t.elapsed() >= Duration::from_secs(1)) {
            let mut frame = vec![0u8]; // DTLS data frame type (same values as CSTP)
            frame.extend_from_slice(&echo_request(src, dst, seq));
            dtls.write(&frame)?;
            send_all(udp, to, dtls);
            sent_at = Some(Instant::now());
        }
        let Ok((n, _)) = udp.recv_from(&mut buf) else {
            continue;
        };
        dtls.feed(&buf[..n]);
        while let ReadOutcome::Data(m) = dtls.read(&mut plain)? {
            let p = &plain[..m];
            // Data frame, IPv4, ICMP echo reply (type 0) to our sequence number.
            if p.len() >= 29 && p[0] == 0 && p[1] >> 4 == 4 && p[10] == 1 {
                let icmp = &p[1 + usize::from(p[1] & 0x0f) * 4..];
                if icmp.first() == Some(&0) && icmp.get(6..8) == Some(&seq.to_be_bytes()[..]) {
                    return Ok(true);
                }
            }
        }
        send_all(udp, to, dtls); // ACKs
    }
    Ok(false)
}

fn checksum(data: &[u8]) -> u16 {
    let mut sum = 0u32;
    for c in data.chunks(2) {
        let w = u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)]);
        sum += u32::from(w);
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

fn echo_request(src: Ipv4Addr, dst: Ipv4Addr, seq: u16) -> Vec<u8> {
    let mut icmp = vec![8, 0, 0, 0, 0x77, 0x67];
    icmp.extend_from_slice(&seq.to_be_bytes());
    icmp.extend_from_slice(b"wolfguard dtls 1.3 peer");
    let c = checksum(&icmp);
    icmp[2..4].copy_from_slice(&c.to_be_bytes());
    let total = (20 + icmp.len()) as u16;
    let mut ip = vec![0x45, 0];
    ip.extend_from_slice(&total.to_be_bytes());
    ip.extend_from_slice(&[0, 1, 0, 0, 64, 1, 0, 0]);
    ip.extend_from_slice(&src.octets());
    ip.extend_from_slice(&dst.octets());
    let c = checksum(&ip);
    ip[10..12].copy_from_slice(&c.to_be_bytes());
    ip.extend_from_slice(&icmp);
    ip
}
