use std::net::Ipv4Addr;

use super::*;

const APP_ID_HEX: &str = "a4f20cf348a7afe07faf8d2d0a42d036df6bfc7596c02926b8983709be77e9aa";

fn app_id() -> [u8; 32] {
    let mut id = [0u8; 32];
    for (i, b) in id.iter_mut().enumerate() {
        *b = u8::from_str_radix(&APP_ID_HEX[2 * i..2 * i + 2], 16).unwrap();
    }
    id
}

/// The §9 step 3 answer, as the daemon would describe it.
fn section_9() -> ConnectResponse {
    ConnectResponse {
        ipv4: Some(Ipv4Lease {
            address: Ipv4Addr::new(192, 168, 77, 50),
            netmask: Ipv4Addr::new(255, 255, 255, 0),
        }),
        dns: vec![IpAddr::V4(Ipv4Addr::new(192, 168, 77, 1))],
        split_include: vec![Route::new("10.20.0.0".parse().unwrap(), 16).unwrap()],
        dpd: Some(90),
        keepalive: Some(32400),
        rekey_time: Some(172_800),
        rekey_method: RekeyMethod::Ssl,
        dtls: Some(DtlsHeaders {
            port: 443,
            dpd: Some(90),
            keepalive: Some(32400),
            rekey_time: None,
            rekey_method: None,
            mode: DtlsMode::Psk { app_id: app_id() },
            content_encoding: None,
        }),
        base_mtu: Some(1500),
        mtu: 1434,
        ..ConnectResponse::default()
    }
}

fn lines(resp: &ConnectResponse) -> Vec<String> {
    let bytes = resp.to_bytes();
    let text = String::from_utf8(bytes).unwrap();
    assert!(text.ends_with("\r\n\r\n"), "blank line at end");
    text.trim_end_matches("\r\n")
        .split("\r\n")
        .map(str::to_owned)
        .collect()
}

fn position(lines: &[String], line: &str) -> usize {
    lines
        .iter()
        .position(|l| l == line)
        .unwrap_or_else(|| panic!("missing {line:?} in {lines:#?}"))
}

#[test]
fn section_9_required_headers_in_exact_case() {
    let l = lines(&section_9());
    assert_eq!(l[0], "HTTP/1.1 200 CONNECTED");
    let required = [
        "X-CSTP-Version: 1",
        "X-CSTP-Address: 192.168.77.50",
        "X-CSTP-Netmask: 255.255.255.0",
        "X-CSTP-DNS: 192.168.77.1",
        "X-CSTP-Split-Include: 10.20.0.0/255.255.0.0",
        "X-CSTP-DPD: 90",
        "X-CSTP-Keepalive: 32400",
        "X-CSTP-Rekey-Time: 172800",
        "X-CSTP-Rekey-Method: ssl",
        "X-DTLS-Port: 443",
        "X-DTLS-DPD: 90",
        "X-DTLS-Keepalive: 32400",
        &format!("X-DTLS-App-ID: {APP_ID_HEX}"),
        "X-DTLS-CipherSuite: PSK-NEGOTIATE",
        "X-CSTP-Base-MTU: 1500",
        "X-CSTP-MTU: 1434",
    ];
    for line in required {
        position(&l, line);
    }
    for absent in [
        "X-CSTP-Lease-Duration",
        "X-CSTP-Address-IP6",
        "X-CSTP-Banner",
        "none\u{0}",
    ] {
        assert!(!l.iter().any(|x| x.starts_with(absent)), "{absent}");
    }
    assert!(
        !l.iter()
            .any(|x| x.ends_with(": none") && x.contains("Rekey"))
    );
}

#[test]
fn ocserv_order() {
    let l = lines(&section_9());
    let order = [
        "X-CSTP-Version: 1",
        "X-CSTP-DPD: 90",
        "X-CSTP-Address: 192.168.77.50",
        "X-CSTP-Netmask: 255.255.255.0",
        "X-CSTP-DNS: 192.168.77.1",
        "X-CSTP-Split-Include: 10.20.0.0/255.255.0.0",
        "X-CSTP-Tunnel-All-DNS: false",
        "X-CSTP-Client-Bypass-Protocol: false",
        "X-CSTP-Keepalive: 32400",
        "X-CSTP-Idle-Timeout: none",
        "X-CSTP-Smartcard-Removal-Disconnect: true",
        "X-CSTP-Rekey-Time: 172800",
        "X-CSTP-Rekey-Method: ssl",
        "X-CSTP-Session-Timeout: none",
        "X-CSTP-Disconnected-Timeout: none",
        "X-CSTP-Keep: true",
        "X-CSTP-TCP-Keepalive: true",
        "X-CSTP-License: accept",
        "X-DTLS-DPD: 90",
        "X-DTLS-Port: 443",
        "X-DTLS-Keepalive: 32400",
        &format!("X-DTLS-App-ID: {APP_ID_HEX}"),
        "X-DTLS-CipherSuite: PSK-NEGOTIATE",
        "X-CSTP-Base-MTU: 1500",
        "X-CSTP-MTU: 1434",
    ];
    let positions: Vec<usize> = order.iter().map(|line| position(&l, line)).collect();
    assert!(positions.windows(2).all(|w| w[0] < w[1]), "{l:#?}");
    assert_eq!(l.len(), order.len() + 1, "no unexpected headers: {l:#?}");
}

#[test]
fn full_ipv6_anyconnect_ios() {
    let resp = ConnectResponse {
        client: ClientKind::AnyConnect { ios: true },
        full_ipv6: true,
        ipv6: Some(Ipv6Lease {
            address: "fd00:77::32".parse().unwrap(),
            prefix: 64,
        }),
        dns: vec![
            "192.168.77.1".parse().unwrap(),
            "fd00:77::1".parse().unwrap(),
        ],
        split_include: vec![Route::new("10.20.1.7".parse().unwrap(), 16).unwrap()],
        split_exclude: vec![
            Route::new("fd00:99::1".parse().unwrap(), 64).unwrap(),
            Route::new("192.168.1.0".parse().unwrap(), 24).unwrap(),
        ],
        ..section_9()
    };
    let l = lines(&resp);
    position(&l, "X-CSTP-Address-IP6: fd00:77::32/64");
    position(&l, "X-CSTP-DNS-IP6: fd00:77::1");
    position(&l, "X-CSTP-Split-Include: 10.20.0.0/255.255.0.0");
    position(&l, "X-CSTP-Split-Include-IP6: 2000::/3");
    position(&l, "X-CSTP-Split-Exclude-IP6: fd00:99::/64");
    position(&l, "X-CSTP-Split-Exclude: 192.168.1.0/255.255.255.0");
    assert!(!l.iter().any(|x| x == "X-CSTP-DNS: fd00:77::1"));
}

#[test]
fn ipv6_needs_full_ipv6() {
    let resp = ConnectResponse {
        client: ClientKind::OpenConnect,
        full_ipv6: false,
        ipv6: Some(Ipv6Lease {
            address: "fd00:77::32".parse().unwrap(),
            prefix: 64,
        }),
        dns: vec!["fd00:77::1".parse().unwrap()],
        split_include: vec![Route::new("fd00:99::".parse().unwrap(), 64).unwrap()],
        ..section_9()
    };
    let text = String::from_utf8(resp.to_bytes()).unwrap();
    assert!(!text.contains("fd00"), "{text}");
    let resp = ConnectResponse {
        full_ipv6: true,
        ..resp
    };
    let l = lines(&resp);
    position(&l, "X-CSTP-DNS: fd00:77::1");
    position(&l, "X-CSTP-Split-Include-IP6: fd00:99::/64");
    assert!(!l.iter().any(|x| x.starts_with("X-CSTP-DNS-IP6")));
}

#[test]
fn optional_headers_and_legacy_dtls() {
    let resp = ConnectResponse {
        included_http_headers: vec![(
            "Strict-Transport-Security".into(),
            "max-age=31536000".into(),
        )],
        server_name: Some("wolfguard".into()),
        hostname: Some("vm".into()),
        default_domain: Some("example.com".into()),
        nbns: vec!["10.0.0.9".parse().unwrap()],
        split_dns: vec!["corp.example".into()],
        split_include: Vec::new(),
        dyndns: true,
        idle_timeout: Some(1200),
        rekey_time: None,
        rekey_method: RekeyMethod::NewTunnel,
        proxy_pac_url: Some("http://p/x.pac".into()),
        session_timeout: Some(86400),
        session_timeout_remaining: Some(3600),
        custom_headers: vec![("X-CSTP-Custom".into(), "alice\r\nX-Evil: 1".into())],
        banner: Some("Welcome".into()),
        cstp_content_encoding: Some("oc-lz4".into()),
        dtls: Some(DtlsHeaders {
            port: 4443,
            dpd: None,
            keepalive: None,
            rekey_time: Some(172_810),
            rekey_method: Some(RekeyMethod::Ssl),
            mode: DtlsMode::Resume {
                session_id: [0xab; 32],
                cipher: "AES256-GCM-SHA384".into(),
                dtls12: true,
                mtu: 1434,
            },
            content_encoding: Some("lzs".into()),
        }),
        ..section_9()
    };
    let l = lines(&resp);
    assert_eq!(l[1], "Strict-Transport-Security: max-age=31536000");
    for line in [
        "X-CSTP-Server-Name: wolfguard",
        "X-CSTP-Hostname: vm",
        "X-CSTP-Default-Domain: example.com",
        "X-CSTP-NBNS: 10.0.0.9",
        "X-CSTP-Split-DNS: corp.example",
        "X-CSTP-Tunnel-All-DNS: true",
        "X-CSTP-Idle-Timeout: 1200",
        "X-CSTP-DynDNS: true",
        "X-CSTP-Rekey-Time: 31536000",
        "X-CSTP-Rekey-Method: new-tunnel",
        "X-CSTP-MSIE-Proxy-PAC-URL: http://p/x.pac",
        "X-CSTP-Session-Timeout: 86400",
        "X-CSTP-Session-Timeout-Remaining: 3600",
        "X-CSTP-Custom: aliceX-Evil: 1",
        "X-DTLS-Rekey-Time: 172810",
        "X-DTLS-Rekey-Method: ssl",
        &format!("X-DTLS-Session-ID: {}", "ab".repeat(32)),
        "X-DTLS12-CipherSuite: AES256-GCM-SHA384",
        "X-DTLS-MTU: 1434",
        "X-CSTP-Banner: Welcome",
        "X-DTLS-Content-Encoding: lzs",
        "X-CSTP-Content-Encoding: oc-lz4",
    ] {
        position(&l, line);
    }
    assert!(
        !l.iter()
            .any(|x| x.starts_with("X-DTLS-App-ID") || x.starts_with("X-DTLS-CipherSuite"))
    );
    assert!(
        !l.iter()
            .any(|x| x.starts_with("X-DTLS-DPD") || x.starts_with("X-DTLS-Keepalive"))
    );
}

#[test]
fn error_responses() {
    assert_eq!(
        connect_error_response(401, "Cookie is not acceptable", None),
        b"HTTP/1.1 401 Cookie is not acceptable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    );
    assert_eq!(
        connect_error_response(
            503,
            "Service Unavailable",
            Some("Server configuration error")
        ),
        b"HTTP/1.1 503 Service Unavailable\r\nX-Reason: Server configuration error\r\n\
Content-Length: 0\r\nConnection: close\r\n\r\n"
    );
    let r = connect_error_response(404, "Not found", Some("x\r\ny"));
    assert!(r.starts_with(b"HTTP/1.1 404 Not found\r\nX-Reason: xy\r\n"));
}

#[test]
fn default_mtu_matches_the_worked_example() {
    let m = crate::mtu::data_mtu(1500, None, false, crate::mtu::PSK_AES_GCM_OVERHEAD);
    assert_eq!(ConnectResponse::default().mtu, m.data_mtu);
}
