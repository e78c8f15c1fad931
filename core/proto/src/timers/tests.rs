use super::*;

const S: Duration = Duration::from_secs(1);

/// One step of a scripted scenario on a virtual clock (seconds since start).
#[derive(Debug, Clone, Copy)]
enum Step {
    Rx(u64),
    RxData(u64, &'static [u8]),
    Tx(u64),
    /// Poll at this time and expect exactly these actions (polled until `None`).
    Poll(u64, &'static [LivenessAction]),
    /// Expect the next timeout at this time (or none).
    Timeout(Option<u64>),
}

use LivenessAction::{Dead, IdleTimeout, SendDpd, SessionExpired};
use Step::{Poll, Rx, RxData, Timeout, Tx};

const TCP: &[u8] = &[
    0x45, 0, 0, 40, 0, 0, 0, 0, 64, 6, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2,
];
const ICMP: &[u8] = &[
    0x45, 0, 0, 28, 0, 0, 0, 0, 64, 1, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2,
];

fn run(config: LivenessConfig, t0: Instant, steps: &[Step]) {
    let at = |s: u64| t0 + Duration::from_secs(s);
    let mut l = Liveness::new(config, t0);
    for (i, step) in steps.iter().enumerate() {
        match *step {
            Rx(t) => l.handle_rx(at(t)),
            RxData(t, pkt) => l.handle_rx_data(at(t), pkt),
            Tx(t) => l.handle_tx_data(at(t)),
            Poll(t, want) => {
                let mut got = Vec::new();
                while let Some(a) = l.poll(at(t)) {
                    got.push(a);
                    assert!(got.len() < 10, "poll loops at step {i}");
                }
                assert_eq!(got, want, "step {i}: {step:?}");
            }
            Timeout(want) => assert_eq!(l.poll_timeout(), want.map(at), "step {i}: {step:?}"),
        }
    }
}

#[test]
fn dpd_scenarios() {
    let t0 = Instant::now();
    let dpd = LivenessConfig {
        dpd: Some(90 * S),
        ..Default::default()
    };
    let cases: &[(&str, &[Step])] = &[
        (
            "quiet peer probed at 2x, again at 2x+1, dead at 3x",
            &[
                Timeout(Some(180)),
                Poll(179, &[]),
                Poll(180, &[SendDpd]),
                Timeout(Some(270)),
                Poll(200, &[]),
                Poll(270, &[Dead]),
                Timeout(None),
                Poll(1000, &[]),
            ],
        ),
        (
            "answer resets everything",
            &[
                Poll(180, &[SendDpd]),
                Rx(181),
                Timeout(Some(361)),
                Poll(360, &[]),
                Poll(361, &[SendDpd]),
                Poll(451, &[Dead]),
            ],
        ),
        ("late poll sends once then dead", &[Poll(500, &[Dead])]),
        (
            "steady traffic never probes",
            &[
                Rx(100),
                Rx(200),
                Rx(300),
                Poll(300, &[]),
                Timeout(Some(480)),
            ],
        ),
        (
            "clock going backwards is harmless",
            &[Rx(100), Rx(50), Timeout(Some(280))],
        ),
    ];
    for (name, steps) in cases {
        eprintln!("case: {name}");
        run(dpd, t0, steps);
    }
}

#[test]
fn dpd_repeats_once_per_interval() {
    // DPD 10 s: probe at 20, repeat at 30 coincides with death at 30 (death wins).
    let t0 = Instant::now();
    let c = LivenessConfig {
        dpd: Some(10 * S),
        ..Default::default()
    };
    run(
        c,
        t0,
        &[
            Poll(20, &[SendDpd]),
            Poll(25, &[]),
            Timeout(Some(30)),
            Poll(30, &[Dead]),
        ],
    );
    // A late-reported rx (timestamped before the probe) restarts the 2x wait from that rx.
    run(
        c,
        t0,
        &[
            Poll(20, &[SendDpd]),
            Rx(15),
            Timeout(Some(35)),
            Poll(34, &[]),
            Poll(35, &[SendDpd]),
            Timeout(Some(45)),
            Poll(45, &[Dead]),
        ],
    );
}

#[test]
fn idle_and_session() {
    let t0 = Instant::now();
    let idle = LivenessConfig {
        idle_timeout: Some(100 * S),
        ..Default::default()
    };
    let cases: &[(&str, &[Step])] = &[
        (
            "idle fires",
            &[
                Timeout(Some(100)),
                Poll(99, &[]),
                Poll(100, &[IdleTimeout]),
                Timeout(None),
            ],
        ),
        (
            "tcp rx and tx count",
            &[
                RxData(50, TCP),
                Tx(120),
                Timeout(Some(220)),
                Poll(219, &[]),
                Poll(220, &[IdleTimeout]),
            ],
        ),
        (
            "icmp does not count",
            &[RxData(50, ICMP), Poll(100, &[IdleTimeout])],
        ),
    ];
    for (name, steps) in cases {
        eprintln!("case: {name}");
        run(idle, t0, steps);
    }
    let all = LivenessConfig {
        dpd: Some(90 * S),
        idle_timeout: Some(100 * S),
        session_deadline: Some(t0 + 150 * S),
    };
    run(
        all,
        t0,
        &[
            Timeout(Some(100)),
            RxData(90, TCP),
            Timeout(Some(150)),
            Poll(150, &[SessionExpired]),
        ],
    );
    // Everything due at once: the session deadline wins and ends it.
    run(
        all,
        t0,
        &[Poll(10_000, &[SessionExpired]), Poll(10_001, &[])],
    );
}

#[test]
fn disabled_checks() {
    let t0 = Instant::now();
    for c in [
        LivenessConfig::default(),
        LivenessConfig {
            dpd: Some(Duration::ZERO),
            idle_timeout: Some(Duration::ZERO),
            ..Default::default()
        },
    ] {
        run(c, t0, &[Timeout(None), Poll(1_000_000, &[])]);
    }
}

#[test]
fn huge_durations_do_not_panic() {
    let t0 = Instant::now();
    let c = LivenessConfig {
        dpd: Some(Duration::MAX),
        idle_timeout: Some(Duration::MAX),
        session_deadline: None,
    };
    let mut l = Liveness::new(c, t0);
    assert_eq!(l.poll_timeout(), None);
    assert_eq!(l.poll(t0 + 1000 * S), None);
    let c = LivenessConfig {
        dpd: Some(Duration::from_secs(u64::MAX / 3)),
        ..Default::default()
    };
    let mut l = Liveness::new(c, t0);
    let _ = l.poll_timeout();
    assert_eq!(l.poll(t0), None);
    assert!(!l.is_finished());
}

#[test]
fn idle_classification() {
    let mut v6_icmp = vec![0x60, 0, 0, 0, 0, 8, 58, 64];
    v6_icmp.extend([0u8; 32]);
    let mut v6_hbh_icmp = vec![0x60, 0, 0, 0, 0, 16, 0, 1];
    v6_hbh_icmp.extend([0u8; 32]);
    v6_hbh_icmp.extend([58, 0, 5, 2, 0, 0, 1, 0]);
    let mut v6_hbh_truncated = v6_hbh_icmp.clone();
    v6_hbh_truncated.truncate(41);
    let mut v6_tcp = v6_icmp.clone();
    v6_tcp[6] = 6;
    let mut v6_frag_udp = vec![0x60, 0, 0, 0, 0, 16, 44, 64];
    v6_frag_udp.extend([0u8; 32]);
    v6_frag_udp.extend([17, 0, 0, 0, 0, 0, 0, 1]);
    let mut v6_loop = vec![0x60, 0, 0, 0, 0, 0, 60, 0];
    v6_loop.extend([0u8; 32]);
    for _ in 0..10 {
        v6_loop.extend([60, 0, 0, 0, 0, 0, 0, 0]);
    }
    let igmp: &[u8] = &[0x46, 0, 0, 32, 0, 0, 0, 0, 1, 2];
    let cases: &[(&[u8], bool)] = &[
        (TCP, true),
        (ICMP, false),
        (igmp, false),
        (&v6_icmp, false),
        (&v6_hbh_icmp, false),
        (&v6_hbh_truncated, true),
        (&v6_tcp, true),
        (&v6_frag_udp, true),
        (&v6_loop, true),
        (&[], true),
        (&[0x45], true),
        (&[0x60, 0, 0], true),
        (&[0xff; 40], true),
    ];
    for (i, &(pkt, want)) in cases.iter().enumerate() {
        assert_eq!(counts_for_idle(pkt), want, "case {i}: {pkt:x?}");
    }
    let mut l = Liveness::new(
        LivenessConfig {
            idle_timeout: Some(10 * S),
            ..Default::default()
        },
        Instant::now(),
    );
    let t = Instant::now() + 5 * S;
    l.handle_tx_packet(t, ICMP);
    l.handle_tx_packet(t, &v6_tcp);
    assert!(l.poll_timeout().is_some());
}
