//! The DTLS data channel with the real openconnect 9.01 client (PSK-NEGOTIATE, DTLS 1.2).

use std::time::Duration;

use wolfguard_interop::{Lab, LabOptions, wait_for};

const UP: Duration = Duration::from_secs(30);

fn dtls_established(c: &wolfguard_interop::Client) -> bool {
    c.log_text().contains("Established DTLS connection")
}

fn iperf(lab: &mut Lab, client_ns: &str, reverse: bool, mbytes: u32) -> f64 {
    let flag = if reverse { "-R" } else { "" };
    let out = lab.exec(
        client_ns,
        &format!("timeout 120 iperf3 -c 192.168.77.1 -n {mbytes}M {flag} -J"),
    );
    assert!(
        out.status.success(),
        "iperf3: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    v["end"]["sum_received"]["bits_per_second"]
        .as_f64()
        .unwrap()
        / 1e6
}

fn start_iperf_server(lab: &mut Lab) {
    let server_ns = lab.server_ns.clone();
    let log = lab.dir.join("iperf3-server.log");
    lab.spawn(&server_ns, &["iperf3", "-s", "-B", "192.168.77.1"], &log)
        .unwrap();
    wait_for(Duration::from_secs(10), || {
        lab.exec(&server_ns, "ss -ltn | grep -q 192.168.77.1:5201")
            .status
            .success()
            .then_some(())
    })
    .expect("iperf3 server listens");
}

#[test]
fn psk_negotiate_comes_up_and_carries_iperf3_both_ways() {
    let mut lab = Lab::start("dtls", LabOptions::default()).unwrap();
    let mut c = lab
        .openconnect_dtls(0, "alice", "alice-secret", &[])
        .unwrap();
    c.wait_up(UP).unwrap();
    let up = wait_for(Duration::from_secs(15), || {
        dtls_established(&c).then_some(())
    });
    assert!(up.is_some(), "no DTLS:\n{}", c.log_text());
    let log = c.log_text();
    assert!(log.contains("(DTLS1.2)-(PSK)-(AES-256-GCM)"), "{log}");
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
