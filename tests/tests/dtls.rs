//! The DTLS data channel with the real openconnect 9.01 client (PSK-NEGOTIATE, DTLS 1.2).

use std::time::Duration;

use wolfguard_interop::{Lab, LabOptions, wait_for};

const UP: Duration = Duration::from_secs(30);

fn dtls_established(c: &wolfguard_interop::Client) -> bool {
    c.log_text().contains("Established DTLS connection")
}

fn iperf(lab: &mut Lab, client_ns: &str, reverse: bool, mbytes: u32) -> f64 {
    let v = lab.iperf(client_ns, reverse, mbytes).unwrap();
    v["end"]["sum_received"]["bits_per_second"]
        .as_f64()
        .unwrap()
        / 1e6
}

fn start_iperf_server(lab: &mut Lab) {
    lab.start_iperf_server().unwrap();
}

#[test]
fn psk_negotiate_comes_up_and_carries_iperf3_both_ways() {
    let mut lab = Lab::start("dtls", LabOptions::default()).unwrap();
    // -vvv: openconnect logs received keepalives at trace level.
    let mut c = lab
        .openconnect_dtls(0, "alice", "alice-secret", &["-vvv"])
        .unwrap();
    let (_, took) = c.wait_up(UP).unwrap();
    println!("connect time with DTLS (spawn → tunnel configured): {took:?}");
    let up = wait_for(Duration::from_secs(15), || {
        dtls_established(&c).then_some(())
    });
    assert!(up.is_some(), "no DTLS:\n{}", c.log_text());
    let log = c.log_text();
    assert!(log.contains("(DTLS1.2)-(PSK)-(AES-256-GCM)"), "{log}");
    // Rekey as ocserv announces it: DTLS 10 s behind CSTP, renegotiated in place (`ssl`).
    assert!(log.contains("X-DTLS-Rekey-Time: 172810"), "{log}");
    assert!(log.contains("X-DTLS-Rekey-Method: ssl"), "{log}");
    // Keepalives follow the answer to the first MTU probe, so an openconnect that deferred its
    // tunnel by one main-loop turn wakes at once instead of after its 1-s timer.
    let woken = wait_for(Duration::from_secs(3), || {
        c.log_text().contains("Got DTLS Keepalive").then_some(())
    });
    assert!(
        woken.is_some(),
        "no keepalive after the MTU probe:\n{}",
        c.log_text()
    );
    // Once DTLS is up the tunnel owns a UDP socket connected to the client, so the kernel
    // hands it this client's datagrams directly.
    let ss = lab.exec(&lab.server_ns, "ss -u -n -H state established");
    let ss = String::from_utf8_lossy(&ss.stdout);
    assert!(
        ss.contains("10.99.0.1:443") && ss.contains("10.99.0.2:"),
        "{ss}"
    );
    start_iperf_server(&mut lab);
    let ns = c.ns.clone();
    let up_mbps = iperf(&mut lab, &ns, false, 50);
    let down_mbps = iperf(&mut lab, &ns, true, 50);
    println!("iperf3 over DTLS: upload {up_mbps:.0} Mbit/s, download {down_mbps:.0} Mbit/s");
    c.signal("INT");
    c.wait_exit(Duration::from_secs(10));
    let down = wait_for(Duration::from_secs(5), || {
        lab.events("tunnel down").into_iter().next()
    })
    .expect("tunnel down event");
    let (rx, tx) = (
        down["dtls_rx_bytes"].as_u64().unwrap(),
        down["dtls_tx_bytes"].as_u64().unwrap(),
    );
    assert!(
        rx > 50_000_000 && tx > 50_000_000,
        "data moved over DTLS: rx {rx} tx {tx}"
    );
    assert!(!lab.events("DTLS up").is_empty());
}

/// Connects `user` with DTLS allowed and waits until openconnect reports DTLS established.
fn connect_with_dtls(lab: &mut Lab, user: &str) -> wolfguard_interop::Client {
    let mut c = lab
        .openconnect_dtls(0, user, &format!("{user}-secret"), &[])
        .unwrap();
    c.wait_up(UP).unwrap();
    wait_for(Duration::from_secs(15), || {
        dtls_established(&c).then_some(())
    })
    .unwrap_or_else(|| panic!("no DTLS:\n{}", c.log_text()));
    c
}

fn ping_ok(lab: &Lab, ns: &str) -> bool {
    lab.exec(ns, "ping -c 2 -i 0.3 -W 1 192.168.77.1")
        .status
        .success()
}

/// Silently drops the server's UDP replies in the client namespace: the client gets no send
/// error and must notice through its DTLS dead-peer detection.
const BLOCK_UDP: &str = "nft add table inet blockudp
nft add chain inet blockudp in '{ type filter hook input priority 0; policy accept; }'
nft add rule inet blockudp in udp sport 443 drop";

#[test]
fn udp_blocked_falls_back_to_cstp_and_dtls_returns_from_a_new_port() {
    let mut lab = Lab::start(
        "fallback",
        LabOptions {
            config: vec![("timeouts", "dpd = 10\n".into())],
            ..Default::default()
        },
    )
    .unwrap();
    let mut c = connect_with_dtls(&mut lab, "alice");
    let ns = c.ns.clone();
    assert!(ping_ok(&lab, &ns));

    // UDP dies: the client notices (a send error or its DTLS DPD) and moves to CSTP, and the
    // server follows as soon as data arrives there.
    lab.exec_ok(&ns, BLOCK_UDP).unwrap();
    let t0 = std::time::Instant::now();
    let back = wait_for(Duration::from_secs(60), || ping_ok(&lab, &ns).then_some(()));
    assert!(back.is_some(), "no CSTP fallback:\n{}", c.log_text());
    println!(
        "traffic back on CSTP {:?} after UDP was blocked (dpd 10 s)",
        t0.elapsed()
    );

    // UDP returns: openconnect retries DTLS (from a new socket, so a new source port).
    lab.exec_ok(&ns, "nft delete table inet blockudp").unwrap();
    let again = wait_for(Duration::from_secs(100), || {
        (lab.events("DTLS up").len() >= 2).then_some(())
    });
    assert!(again.is_some(), "DTLS did not come back:\n{}", c.log_text());
    let ups = lab.events("DTLS up");
    assert_ne!(
        ups[0]["peer"], ups[1]["peer"],
        "the second DTLS flow uses a new source port"
    );
    assert!(ping_ok(&lab, &ns));
    c.signal("INT");
    c.wait_exit(Duration::from_secs(10));
    let down = wait_for(Duration::from_secs(5), || {
        lab.events("tunnel down").into_iter().next()
    })
    .expect("tunnel down");
    assert_eq!(down["dtls_handshakes"], 2);
    assert_eq!(down["reason"], "UserDisconnect", "one session all along");
}

#[test]
fn garbage_and_unknown_client_hellos_are_dropped_while_iperf3_runs() {
    let mut lab = Lab::start(
        "flood",
        LabOptions {
            clients: 2,
            ..Default::default()
        },
    )
    .unwrap();
    let c = connect_with_dtls(&mut lab, "alice");
    start_iperf_server(&mut lab);
    let rss = |lab: &Lab| -> u64 {
        let out = lab.exec(&lab.server_ns, "ps -o rss= -C wolfguard | head -1");
        String::from_utf8_lossy(&out.stdout)
            .trim()
            .parse()
            .unwrap_or(0)
    };
    let before = rss(&lab);
    // From the second client namespace: 40 000 random datagrams and 40 000 well-formed
    // ClientHellos with random App-IDs, as fast as Python sends them (bounded by count).
    let flood_ns = lab.client_ns[1].clone();
    let flood_log = lab.dir.join("flood.log");
    let script = "import os,socket\n\
        s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\n\
        hdr=bytes([22,0xfe,0xff]+[0]*8+[0,160,1,0,0,148,0,0,0,0,0,0,0,148,0xfe,0xfd])\n\
        for i in range(40000):\n\
        \x20   s.sendto(os.urandom(64+i%900),('10.99.1.1',443))\n\
        \x20   s.sendto(hdr+os.urandom(32)+bytes([32])+os.urandom(32)+bytes([0,2,0,0xa9]),('10.99.1.1',443))\n";
    std::fs::write(lab.dir.join("flood.py"), script).unwrap();
    let py = lab.dir.join("flood.py").display().to_string();
    lab.spawn(&flood_ns, &["python3", &py], &flood_log).unwrap();
    let ns = c.ns.clone();
    let mbps = iperf(&mut lab, &ns, false, 100);
    let mbps_down = iperf(&mut lab, &ns, true, 50);
    let after = rss(&lab);
    println!(
        "iperf3 over DTLS under flood: {mbps:.0} / {mbps_down:.0} Mbit/s, server RSS {before} → {after} KiB"
    );
    assert!(
        after < before + 32 * 1024,
        "memory grew from {before} KiB to {after} KiB"
    );
    assert!(lab.server_alive());
    let m = lab.metrics();
    let get = |k: &str| m.get(k).copied().unwrap_or(-1.0);
    assert!(get("wolfguard_udp_unknown_total") > 1000.0, "{m:?}");
    assert!(get("wolfguard_udp_datagrams_total") > get("wolfguard_udp_unknown_total"));
    assert_eq!(get("wolfguard_tunnels"), 1.0);
    assert!(
        get("wolfguard_dtls_handshakes_total{result=\"ok\"}") >= 1.0,
        "{m:?}"
    );
    assert_eq!(get("wolfguard_logins_total{result=\"accepted\"}"), 1.0);
    // The endpoint itself refuses what is not a scrape.
    assert!(
        lab.metrics_raw("GET /other HTTP/1.1\r\n\r\n")
            .starts_with("HTTP/1.1 404")
    );
    assert!(
        lab.metrics_raw("POST /metrics HTTP/1.1\r\n\r\n")
            .starts_with("HTTP/1.1 405")
    );
    assert!(
        lab.metrics_raw("\x01\x02 / HTTP/1.1\r\n\r\n")
            .starts_with("HTTP/1.1 400")
    );
    lab.stop_server();
    let counters = lab.events("data path counters at shutdown");
    let unknown = counters[0]["udp_unknown"].as_u64().unwrap();
    assert!(
        unknown > 1000,
        "flood datagrams counted as unknown: {unknown}"
    );
}

/// Resumption mode forced from the client side: `--dtls-ciphers`/`--dtls12-ciphers` replace
/// openconnect's lists, so PSK-NEGOTIATE is not offered and the server must resume the client's
/// master secret with the suite it announced.
fn resumption(name: &str, rsa: bool, client_arg: &str, want: &str) {
    let mut lab = Lab::start(
        name,
        LabOptions {
            rsa,
            ..Default::default()
        },
    )
    .unwrap();
    let mut c = lab
        .openconnect_dtls(0, "bob", "bob-secret", &[client_arg])
        .unwrap();
    c.wait_up(UP).unwrap();
    let up = wait_for(Duration::from_secs(15), || {
        dtls_established(&c).then_some(())
    });
    assert!(up.is_some(), "{client_arg}: no DTLS:\n{}", c.log_text());
    assert!(
        c.log_text().contains(want),
        "{client_arg}: expected {want}:\n{}",
        c.log_text()
    );
    let ns = c.ns.clone();
    assert!(ping_ok(&lab, &ns));
    c.signal("INT");
    c.wait_exit(Duration::from_secs(10));
    let down = wait_for(Duration::from_secs(5), || {
        lab.events("tunnel down").into_iter().next()
    })
    .expect("tunnel down");
    assert!(
        down["dtls_rx_bytes"].as_u64().unwrap() > 0,
        "pings went over DTLS"
    );
}

#[test]
fn resumption_with_ecdhe_rsa_suites() {
    resumption(
        "resume-rsa",
        true,
        "--dtls12-ciphers=ECDHE-RSA-AES256-GCM-SHA384",
        "(DTLS1.2)-(ECDHE-RSA)-(AES-256-GCM)",
    );
}

#[test]
fn resumption_with_oc_dtls1_2_suites() {
    resumption(
        "resume-oc",
        true,
        "--dtls-ciphers=OC-DTLS1_2-AES128-GCM",
        "(DTLS1.2)-(RSA)-(AES-128-GCM)",
    );
}

#[test]
fn ecdsa_server_announces_no_rsa_resumption_and_the_client_stays_on_cstp() {
    // wolfSSL refuses an RSA suite on an ECDSA key even in an abbreviated handshake ("can't
    // match cipher suite"), and openconnect 9.01 knows no ECDHE-ECDSA DTLS 1.2 names
    // ("Unknown DTLS parameters"). So the server must not announce a suite it cannot resume:
    // no DTLS block, and the tunnel works over CSTP.
    let mut lab = Lab::start("resume-ec", LabOptions::default()).unwrap();
    let arg = "--dtls12-ciphers=ECDHE-RSA-AES256-GCM-SHA384";
    let mut c = lab
        .openconnect_dtls(0, "bob", "bob-secret", &[arg])
        .unwrap();
    c.wait_up(UP).unwrap();
    let ns = c.ns.clone();
    assert!(ping_ok(&lab, &ns));
    let log = c.log_text();
    assert!(
        !log.contains("X-DTLS12-CipherSuite:") && !dtls_established(&c),
        "{log}"
    );
}

#[test]
fn nat_rebinding_keeps_dtls_flowing_without_a_new_handshake() {
    let mut lab = Lab::start("rebind", LabOptions::default()).unwrap();
    let mut c = connect_with_dtls(&mut lab, "carol");
    let ns = c.ns.clone();
    assert!(ping_ok(&lab, &ns));
    // A NAT in front of the client picks a new source port for the running flow: the client's
    // socket is unchanged, the server sees DTLS records (not a ClientHello) from a new address.
    lab.exec_ok(
        &ns,
        "nft add table ip rebind
         nft add chain ip rebind post '{ type nat hook postrouting priority 100; }'
         nft add rule ip rebind post udp dport 443 snat to 10.99.0.2:40000",
    )
    .unwrap();
    let moved = wait_for(Duration::from_secs(10), || {
        ping_ok(&lab, &ns);
        lab.events("DTLS peer moved").into_iter().next()
    });
    let moved = moved.unwrap_or_else(|| panic!("no rebinding seen:\n{}", lab.server_log()));
    assert_eq!(moved["new"], "10.99.0.2:40000");
    assert!(ping_ok(&lab, &ns), "traffic flows after the rebinding");
    c.signal("INT");
    c.wait_exit(Duration::from_secs(10));
    let down = wait_for(Duration::from_secs(5), || {
        lab.events("tunnel down").into_iter().next()
    })
    .expect("tunnel down");
    assert_eq!(down["dtls_handshakes"], 1, "no new handshake was needed");
}

/// DTLS 1.3 with connection ids, offered to the clients that ask for it. No released
/// OpenConnect client speaks DTLS 1.3, so the peer is `dtls13-peer` (wolfSSL's own client, the
/// test peer the issue names) in the client namespace. It logs in with a cookie from the real
/// openconnect, brings DTLS 1.3 up keyed by the CSTP exporter, pings the server over it, then
/// moves to a new socket on a *second* local address: with two addresses the server's
/// IP-only rebinding fallback cannot match, so only the connection id can route it.
#[test]
fn dtls13_with_connection_ids_survives_an_address_change() {
    let lab = Lab::start("dtls13", LabOptions::default()).unwrap();
    let cookie = lab.authenticate(0, "alice", "alice-secret").unwrap();
    let ns = lab.client_ns[0].clone();
    lab.exec_ok(
        &ns,
        "dev=$(ip -o -4 addr show to 10.99.0.2/32 | awk '{print $2}')
         ip addr add 10.99.0.3/24 dev \"$dev\"",
    )
    .unwrap();
    let peer = env!("CARGO_BIN_EXE_dtls13-peer");
    let out = lab.exec(
        &ns,
        &format!("timeout 40 {peer} 10.99.0.1 '{cookie}' 192.168.77.1 10.99.0.3"),
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let summary: serde_json::Value = stdout
        .lines()
        .last()
        .and_then(|l| serde_json::from_str(l).ok())
        .unwrap_or_else(|| panic!("peer printed {stdout:?}\n{}", lab.server_log()));
    assert!(
        out.status.success(),
        "{summary}\n{}\n{}",
        wolfguard_interop::tail(&String::from_utf8_lossy(&out.stderr), 30),
        wolfguard_interop::tail(&lab.server_log(), 30)
    );
    assert_eq!(summary["version"], "DTLSv1.3");
    assert_eq!(summary["cid"], true);
    assert!(
        summary["moved_to"]
            .as_str()
            .is_some_and(|a| a.starts_with("10.99.0.3:"))
    );
    let up = lab.events("DTLS up");
    assert_eq!(up.len(), 1, "one handshake: {up:?}");
    assert_eq!(up[0]["version"], "DTLSv1.3");
    assert_eq!(up[0]["cid"], true);
    let moved = lab.events("DTLS peer moved");
    assert!(
        moved.iter().any(|m| m["new"]
            .as_str()
            .is_some_and(|a| a.starts_with("10.99.0.3:"))),
        "{moved:?}"
    );
    let down = wait_for(Duration::from_secs(10), || {
        lab.events("tunnel down").into_iter().next()
    })
    .expect("tunnel down after the peer left");
    assert!(down["dtls_rx_bytes"].as_u64().unwrap_or(0) > 0, "{down:?}");
    assert!(down["dtls_tx_bytes"].as_u64().unwrap_or(0) > 0, "{down:?}");
}
