//! Arbitrary sequences of operations on `Liveness` with a virtual clock.
//!
//! Properties: nothing panics; after a terminal action nothing more happens; and polling at the
//! instant `poll_timeout` names always makes progress (the next timeout moves strictly later),
//! so a daemon timer loop can never spin.
#![no_main]

use std::time::{Duration, Instant};

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use wolfguard_proto::timers::{Liveness, LivenessAction, LivenessConfig};

#[derive(Debug, Arbitrary)]
enum Op {
    Advance(u32),
    Rx,
    RxData(Vec<u8>),
    TxData,
    TxPacket(Vec<u8>),
    Poll,
    FireTimer,
}

#[derive(Debug, Arbitrary)]
struct Input {
    dpd_ms: Option<u32>,
    idle_ms: Option<u32>,
    deadline_ms: Option<u32>,
    ops: Vec<Op>,
}

fuzz_target!(|input: Input| {
    let t0 = Instant::now();
    let ms = |v: u32| Duration::from_millis(u64::from(v));
    let config = LivenessConfig {
        dpd: input.dpd_ms.map(ms),
        idle_timeout: input.idle_ms.map(ms),
        session_deadline: input.deadline_ms.map(|v| t0 + ms(v)),
    };
    let mut l = Liveness::new(config, t0);
    let mut now = t0;
    let mut terminal = false;
    let check = |a: Option<LivenessAction>, terminal: &mut bool| {
        if let Some(a) = a {
            assert!(!*terminal, "action {a:?} after a terminal one");
            if a != LivenessAction::SendDpd {
                *terminal = true;
            }
        }
    };
    for op in input.ops {
        match op {
            Op::Advance(d) => now += ms(d),
            Op::Rx => l.handle_rx(now),
            Op::RxData(p) => l.handle_rx_data(now, &p),
            Op::TxData => l.handle_tx_data(now),
            Op::TxPacket(p) => l.handle_tx_packet(now, &p),
            Op::Poll => check(l.poll(now), &mut terminal),
            Op::FireTimer => {
                let Some(t) = l.poll_timeout() else {
                    // No deadline left: nothing can ever become due.
                    assert_eq!(l.poll(now + Duration::from_secs(1 << 40)), None);
                    continue;
                };
                now = now.max(t);
                let mut n = 0;
                while let Some(a) = l.poll(now) {
                    check(Some(a), &mut terminal);
                    n += 1;
                    assert!(n <= 4, "poll keeps returning actions");
                }
                if let Some(next) = l.poll_timeout() {
                    assert!(next > now, "timer would spin: {next:?} <= {now:?}");
                }
            }
        }
        assert_eq!(l.is_finished(), terminal);
    }
});
