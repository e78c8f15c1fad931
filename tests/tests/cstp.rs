//! The real openconnect 9.01 client tunnelling over CSTP (TLS, wolfSSL) to wolfguard.
//!
//! Each test builds its own lab (namespaces, veth, server) and tears it down, so they can run in
//! parallel. No mocks: the peer is Debian's `openconnect` binary.

use std::time::Duration;

use wolfguard_interop::{Lab, LabOptions, wait_for};

const UP: Duration = Duration::from_secs(30);

fn ping(lab: &Lab, ns: &str, target: &str) -> bool {
    lab.exec(ns, &format!("ping -c 3 -i 0.2 -W 2 {target}"))
        .status
        .success()
}

#[test]
fn login_ping_both_ways_and_bye_invalidates_the_session() {
    let mut lab = Lab::start("ping", LabOptions::default()).unwrap();
    let mut c = lab.openconnect(0, "alice", "alice-secret", &[]).unwrap();
    let (addr, took) = c.wait_up(UP).unwrap();
    println!("connect time (spawn → tunnel configured): {took:?}");
    assert!(
        addr.octets()[..3] == [192, 168, 77],
        "pool address, got {addr}"
    );
    let env = c.env();
    assert_eq!(
        env.get("INTERNAL_IP4_NETMASK").map(String::as_str),
        Some("255.255.255.0")
    );
    assert_eq!(
        env.get("INTERNAL_IP4_DNS").map(String::as_str),
        Some("192.168.77.1")
    );
    assert!(
        env.get("INTERNAL_IP4_MTU")
            .is_some_and(|m| m.parse::<u32>().unwrap() >= 1280)
    );
    let client_ns = c.ns.clone();
    assert!(
        ping(&lab, &client_ns, "192.168.77.1"),
        "client → server through the tunnel"
    );
    assert!(
        ping(&lab, &lab.server_ns.clone(), &addr.to_string()),
        "server → client through the tunnel"
    );
    assert_eq!(lab.events("authenticated").len(), 1);
    assert_eq!(lab.events("tunnel up").len(), 1);

    // SIGINT makes openconnect send DISCONNECT 0xb0: the session and its lease go at once.
    c.signal("INT");
    assert!(
        c.wait_exit(Duration::from_secs(10)).is_some(),
        "client exits on SIGINT"
    );
    let gone = wait_for(Duration::from_secs(5), || {
        (!lab.events("session released").is_empty()).then_some(())
    });
    assert!(
        gone.is_some(),
        "user disconnect releases the session:\n{}",
        lab.server_log()
    );
    let down = lab.events("tunnel down");
    assert_eq!(down[0]["reason"], "UserDisconnect");
    assert!(down[0]["rx_bytes"].as_u64().unwrap() > 0 && down[0]["tx_bytes"].as_u64().unwrap() > 0);
}

#[test]
fn wrong_password_is_refused_with_a_clear_message_and_leaves_no_session() {
    let mut lab = Lab::start("wrongpw", LabOptions::default()).unwrap();
    let mut c = lab
        .openconnect(0, "alice", "not-the-password", &[])
        .unwrap();
    let st = c
        .wait_exit(Duration::from_secs(30))
        .expect("client gives up");
    assert!(!st.success());
    let log = c.log_text();
    assert!(log.contains("Login failed"), "the client shows why:\n{log}");
    assert!(lab.events("authenticated").is_empty());
    assert!(lab.events("tunnel up").is_empty());
    let failed = lab.events("authentication failed");
    assert!(
        !failed.is_empty() && failed[0]["reason"] == "wrong password",
        "{failed:?}"
    );
    // Unknown users get the same answer as wrong passwords.
    let mut c = lab.openconnect(0, "mallory", "whatever", &[]).unwrap();
    assert!(
        !c.wait_exit(Duration::from_secs(30))
            .expect("exits")
            .success()
    );
    assert!(c.log_text().contains("Login failed"));
    assert!(lab.server_alive());
}

#[test]
fn forged_and_expired_cookies_get_401() {
    let mut lab = Lab::start(
        "cookie",
        LabOptions {
            config: vec![("timeouts", "cookie_timeout = 2\n".into())],
            ..Default::default()
        },
    )
    .unwrap();
    // Forged: 32 random bytes the server never issued.
    let mut c = lab
        .openconnect_cookie(0, "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=")
        .unwrap();
    assert!(
        !c.wait_exit(Duration::from_secs(20))
            .expect("client exits")
            .success()
    );
    let log = c.log_text();
    assert!(
        log.contains("401") || log.contains("Cookie was rejected"),
        "{log}"
    );
    // Garbage that is not even base64.
    let mut c = lab.openconnect_cookie(0, "%%%not-a-cookie%%%").unwrap();
    assert!(
        !c.wait_exit(Duration::from_secs(20))
            .expect("client exits")
            .success()
    );
    // Expired: a real cookie, used after cookie_timeout.
    let cookie = lab.authenticate(0, "bob", "bob-secret").unwrap();
    std::thread::sleep(Duration::from_secs(4));
    let mut c = lab.openconnect_cookie(0, &cookie).unwrap();
    assert!(
        !c.wait_exit(Duration::from_secs(20))
            .expect("client exits")
            .success()
    );
    assert!(
        c.log_text().contains("Cookie was rejected"),
        "{}",
        c.log_text()
    );
    assert!(lab.events("tunnel up").is_empty());
}

#[test]
fn reconnect_with_cookie_gets_the_same_address() {
    let mut lab = Lab::start("reconnect", LabOptions::default()).unwrap();
    let cookie = lab.authenticate(0, "carol", "carol-secret").unwrap();
    let mut c = lab.openconnect_cookie(0, &cookie).unwrap();
    let (first, _) = c.wait_up(UP).unwrap();
    // A crash closes TLS without BYE: the session must survive for the cookie.
    c.signal("KILL");
    c.wait_exit(Duration::from_secs(5));
    drop(c);
    let mut c = lab.openconnect_cookie(0, &cookie).unwrap();
    let (second, _) = c.wait_up(UP).unwrap();
    assert_eq!(first, second);
    assert!(ping(&lab, &c.ns.clone(), "192.168.77.1"));
}

#[test]
fn sigkilled_client_frees_its_lease_and_others_keep_being_served() {
    // A /30 pool has exactly one client address: the second user can only get it once the
    // first one's lease is freed.
    let mut lab = Lab::start(
        "sigkill",
        LabOptions {
            clients: 2,
            pool: "192.168.77.0/30".into(),
            config: vec![("timeouts", "dpd = 10\ncookie_timeout = 5\n".into())],
            ..Default::default()
        },
    )
    .unwrap();
    let mut a = lab.openconnect(0, "alice", "alice-secret", &[]).unwrap();
    let (addr, _) = a.wait_up(UP).unwrap();
    assert_eq!(addr.to_string(), "192.168.77.2");
    // While alice holds the only address, bob is refused with a clear reason.
    let mut b = lab.openconnect(1, "bob", "bob-secret", &[]).unwrap();
    assert!(
        !b.wait_exit(Duration::from_secs(20))
            .expect("bob gives up")
            .success()
    );
    drop(b);
    a.signal("KILL");
    a.wait_exit(Duration::from_secs(5));
    let killed_at = std::time::Instant::now();
    let released = wait_for(Duration::from_secs(25), || {
        (!lab.events("session released").is_empty()).then_some(killed_at.elapsed())
    });
    let released = released.unwrap_or_else(|| panic!("lease not freed:\n{}", lab.server_log()));
    println!("lease freed {released:?} after SIGKILL (dpd 10 s, cookie_timeout 5 s)");
    let mut b = lab.openconnect(1, "bob", "bob-secret", &[]).unwrap();
    let (addr_b, _) = b.wait_up(UP).unwrap();
    assert_eq!(addr_b, addr);
    assert!(ping(&lab, &b.ns.clone(), "192.168.77.1"));
    assert!(lab.server_alive());
}

#[test]
fn twenty_clients_at_once_all_pass_traffic() {
    const N: usize = 20;
    let mut lab = Lab::start(
        "twenty",
        LabOptions {
            clients: N,
            // Three users share twenty tunnels; lift the default of two per user.
            config: vec![("server", "max_same_clients = 0\n".into())],
            ..Default::default()
        },
    )
    .unwrap();
    let users = ["alice", "bob", "carol"];
    let mut clients = Vec::new();
    for i in 0..N {
        let user = users[i % users.len()];
        clients.push(
            lab.openconnect(i, user, &format!("{user}-secret"), &[])
                .unwrap(),
        );
    }
    let mut addrs = Vec::new();
    for c in &mut clients {
        addrs.push(c.wait_up(Duration::from_secs(60)).unwrap().0);
    }
    let mut unique = addrs.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(
        unique.len(),
        N,
        "every client has its own address: {addrs:?}"
    );
    let server_ns = lab.server_ns.clone();
    for (c, addr) in clients.iter().zip(&addrs) {
        assert!(ping(&lab, &c.ns, "192.168.77.1"), "{} → server", c.ns);
        assert!(ping(&lab, &server_ns, &addr.to_string()), "server → {addr}");
    }
    assert_eq!(lab.events("tunnel up").len(), N);
}

#[test]
fn iperf3_100mb_each_direction() {
    let mut lab = Lab::start("iperf", LabOptions::default()).unwrap();
    let mut c = lab.openconnect(0, "alice", "alice-secret", &[]).unwrap();
    c.wait_up(UP).unwrap();
    lab.start_iperf_server().unwrap();
    for (dir, reverse) in [("upload", false), ("download", true)] {
        let v = lab
            .iperf(&c.ns, reverse, 100)
            .unwrap_or_else(|e| panic!("iperf3 {dir}: {e}"));
        let sent = v["end"]["sum_sent"]["bytes"].as_f64().unwrap();
        let received = v["end"]["sum_received"]["bytes"].as_f64().unwrap();
        let bps = v["end"]["sum_received"]["bits_per_second"]
            .as_f64()
            .unwrap();
        // iperf3 over TCP exits 0 only when all data was acknowledged; its receiver-side tally
        // closes a moment before the last segments are counted, hence the small allowance.
        assert!(
            sent >= 100.0 * 1024.0 * 1024.0,
            "{dir}: only {sent} bytes sent"
        );
        assert!(
            received >= sent * 0.95,
            "{dir}: only {received} of {sent} bytes counted"
        );
        println!("iperf3 {dir} over CSTP: {:.0} Mbit/s", bps / 1e6);
    }
}

#[test]
fn ipv6_pool_gives_an_address_and_carries_traffic_both_ways() {
    let mut lab = Lab::start(
        "ipv6",
        LabOptions {
            config: vec![("network", "ipv6_pool = \"fd00:77::/48\"\n".into())],
            ..Default::default()
        },
    )
    .unwrap();
    let mut c = lab.openconnect(0, "alice", "alice-secret", &[]).unwrap();
    c.wait_up(UP).unwrap();
    let env = c.env();
    let v6 = env
        .get("INTERNAL_IP6_ADDRESS")
        .cloned()
        .unwrap_or_else(|| panic!("{env:?}"));
    let v6 = v6.split('/').next().unwrap().to_owned();
    assert!(v6.starts_with("fd00:77::"), "{v6}");
    let client_ns = c.ns.clone();
    let ok = wait_for(Duration::from_secs(5), || {
        lab.exec(&client_ns, "ping -6 -c 1 -W 1 fd00:77::1")
            .status
            .success()
            .then_some(())
    });
    assert!(ok.is_some(), "client → server over IPv6");
    assert!(
        lab.exec(
            &lab.server_ns.clone(),
            &format!("ping -6 -c 3 -i 0.2 -W 2 {v6}")
        )
        .status
        .success(),
        "server → client over IPv6"
    );
}

#[test]
fn client_that_vanishes_silently_is_reaped_by_dpd() {
    let mut lab = Lab::start(
        "dpd",
        LabOptions {
            config: vec![("timeouts", "dpd = 10\ncookie_timeout = 5\n".into())],
            ..Default::default()
        },
    )
    .unwrap();
    let mut c = lab.openconnect(0, "alice", "alice-secret", &[]).unwrap();
    c.wait_up(UP).unwrap();
    // Black-hole the client: not even the kernel's FIN or RST gets out when it dies.
    lab.exec_ok(
        &c.ns.clone(),
        "nft add table inet blackhole
         nft add chain inet blackhole out '{ type filter hook output priority 0; policy drop; }'
         nft add chain inet blackhole in '{ type filter hook input priority 0; policy drop; }'",
    )
    .unwrap();
    c.signal("KILL");
    c.wait_exit(Duration::from_secs(5));
    let t0 = std::time::Instant::now();
    let down = wait_for(Duration::from_secs(50), || {
        lab.events("tunnel down")
            .first()
            .map(|e| (e["reason"].clone(), t0.elapsed()))
    });
    let (reason, after) = down.unwrap_or_else(|| panic!("not reaped:\n{}", lab.server_log()));
    assert_eq!(reason, "DpdTimeout");
    println!("silent client reaped {after:?} after it vanished (dpd 10 s)");
    assert!(
        after >= Duration::from_secs(20),
        "DPD must not fire early: {after:?}"
    );
    let released = wait_for(Duration::from_secs(15), || {
        (!lab.events("session released").is_empty()).then_some(())
    });
    assert!(released.is_some(), "lease released after cookie_timeout");
}

#[test]
fn server_stop_tells_clients_and_exits_cleanly() {
    let mut lab = Lab::start("stop", LabOptions::default()).unwrap();
    let mut c = lab.openconnect(0, "bob", "bob-secret", &[]).unwrap();
    c.wait_up(UP).unwrap();
    let status = lab.stop_server().expect("server exits on SIGTERM");
    assert!(status.success(), "clean exit: {status}");
    let exited = c.wait_exit(Duration::from_secs(15));
    assert!(
        exited.is_some(),
        "openconnect stops when the server says DISCONNECT"
    );
    assert!(
        c.log_text().contains("terminated by server"),
        "{}",
        c.log_text()
    );
}

#[test]
fn annotated_example_config_starts_and_serves() {
    let example = include_str!("../../config/wolfguard.example.toml")
        .replace("/etc/wolfguard", "@DIR@")
        .replace("/var/lib/wolfguard", "@DIR@/state");
    let mut lab = Lab::start(
        "example",
        LabOptions {
            base_config: Some(example),
            ..Default::default()
        },
    )
    .unwrap();
    let mut c = lab.openconnect(0, "carol", "carol-secret", &[]).unwrap();
    let (addr, _) = c.wait_up(UP).unwrap();
    assert_eq!(addr.octets()[..3], [192, 168, 77]);
    assert!(ping(&lab, &c.ns.clone(), "192.168.77.1"));
}

#[test]
fn nat_and_split_routes_reach_a_host_behind_the_server() {
    // The "internet" host has no route back to 192.168.77.0/24: its replies only find the client
    // if the server masquerades. The route to it reaches the client as X-CSTP-Split-Include.
    let mut lab = Lab::start(
        "nat",
        LabOptions {
            internet: true,
            config: vec![(
                "network",
                "nat = true\nroutes = [\"10.200.0.0/24\"]\n".into(),
            )],
            ..Default::default()
        },
    )
    .unwrap();
    let mut c = lab.openconnect(0, "alice", "alice-secret", &[]).unwrap();
    c.wait_up(UP).unwrap();
    let env = c.env();
    assert_eq!(
        env.get("CISCO_SPLIT_INC").map(String::as_str),
        Some("1"),
        "{env:?}"
    );
    assert_eq!(
        env.get("CISCO_SPLIT_INC_0_ADDR").map(String::as_str),
        Some("10.200.0.0")
    );
    assert_eq!(
        env.get("CISCO_SPLIT_INC_0_MASKLEN").map(String::as_str),
        Some("24")
    );
    assert!(
        ping(&lab, &c.ns.clone(), "10.200.0.2"),
        "client → host behind the server"
    );
    let server_ns = lab.server_ns.clone();
    let table = lab.exec(&server_ns, "nft list table inet wolfguard_wgvpn0");
    assert!(String::from_utf8_lossy(&table.stdout).contains("masquerade"));
    lab.stop_server();
    let table = lab.exec(&server_ns, "nft list table inet wolfguard_wgvpn0");
    assert!(
        !table.status.success(),
        "the NAT table goes with the server"
    );
}

/// A TLS 1.2 client renegotiating inside a tunnel (`X-CSTP-Rekey-Method: ssl`, here right
/// away and so far too soon). wolfSSL 5.9.4 dereferenced freed handshake arrays on such a
/// ClientHello — one client could take the whole server down. Now the renegotiation completes,
/// and since it came sooner than rekey_time/2 (ocserv's rule) the tunnel is closed while the
/// server keeps serving. The peer is `openssl s_client` typing the CONNECT request by hand.
#[test]
fn tls12_renegotiation_in_a_tunnel_is_rate_limited_and_never_crashes_the_server() {
    let mut lab = Lab::start("reneg", LabOptions::default()).unwrap();
    let cookie = lab.authenticate(0, "bob", "bob-secret").unwrap();
    let cookie = if cookie.contains("webvpn=") {
        cookie
    } else {
        format!("webvpn={cookie}")
    };
    let ns = lab.client_ns[0].clone();
    let script = format!(
        "(printf 'CONNECT /CSCOSSLC/tunnel HTTP/1.1\\nHost: 10.99.0.1\\nCookie: {cookie}\\n\
         X-CSTP-Version: 1\\nX-CSTP-Address-Type: IPv4\\n\\n'; sleep 1; echo R; sleep 2) | \
         timeout 10 openssl s_client -tls1_2 -crlf -connect 10.99.0.1:443 2>&1"
    );
    let out = lab.exec(&ns, &script);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("RENEGOTIATING"), "{text}");
    assert!(
        text.contains("X-CSTP-Address"),
        "the tunnel came up first: {text}"
    );
    let refused = wait_for(Duration::from_secs(5), || {
        lab.events("TLS renegotiation sooner than rekey_time/2: disconnecting")
            .into_iter()
            .next()
    });
    assert!(refused.is_some(), "{}", lab.server_log());
    assert!(lab.server_alive(), "the server survived the renegotiation");
    // And it still serves: a normal client connects and passes traffic.
    let mut c = lab.openconnect(0, "alice", "alice-secret", &[]).unwrap();
    c.wait_up(Duration::from_secs(20)).unwrap();
    assert!(ping(&lab, &c.ns, "192.168.77.1"));
}
