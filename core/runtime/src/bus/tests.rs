//! Bus tests. Listeners report through channels; every wait is bounded by [`LIMIT`]. A listener
//! is dropped when its delivery thread ends, which closes the channel it captured: tests use
//! that disconnect as a deterministic "the thread is done" signal.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::time::Duration;

use super::*;

const LIMIT: Duration = Duration::from_secs(10);

fn dtls_up(n: u64) -> Event {
    Event::DtlsUp {
        session: SessionId(n),
    }
}

fn auth(user: &str) -> Event {
    Event::AuthResult {
        user: user.into(),
        peer: SocketAddr::from(([192, 0, 2, 1], 443)),
        ok: false,
        reason: Some("bad password".into()),
    }
}

fn session_of(ev: &Event) -> u64 {
    match ev {
        Event::DtlsUp { session } => session.0,
        other => panic!("unexpected {other:?}"),
    }
}

/// Receives `n` items, failing (not hanging) if they do not come.
fn recv_n<T>(rx: &Receiver<T>, n: usize) -> Vec<T> {
    (0..n)
        .map(|i| {
            rx.recv_timeout(LIMIT)
                .unwrap_or_else(|e| panic!("item {i}: {e}"))
        })
        .collect()
}

/// Receives until the sender is dropped, i.e. until the delivery thread has ended.
fn recv_until_closed<T>(rx: &Receiver<T>) -> Vec<T> {
    let mut got = Vec::new();
    loop {
        match rx.recv_timeout(LIMIT) {
            Ok(v) => got.push(v),
            Err(RecvTimeoutError::Disconnected) => return got,
            Err(RecvTimeoutError::Timeout) => panic!("delivery thread did not end"),
        }
    }
}

#[test]
fn publish_without_subscribers_is_a_no_op() {
    let bus = EventBus::new();
    bus.publish(dtls_up(1));
    assert!(bus.stats().is_empty());
}

#[test]
fn delivers_in_publish_order() {
    let bus = EventBus::new();
    let (tx, rx) = mpsc::channel();
    bus.subscribe("order", 1024, EventFilter::ALL, move |ev| {
        tx.send(session_of(ev)).unwrap();
        Keep::Keep
    });
    for n in 0..1000 {
        bus.publish(dtls_up(n));
    }
    assert_eq!(recv_n(&rx, 1000), (0..1000).collect::<Vec<_>>());
    let stats = bus.stats();
    assert_eq!(stats[0].name, "order");
    assert_eq!((stats[0].delivered, stats[0].dropped), (1000, 0));
}

#[test]
fn blocked_listener_never_blocks_the_publisher() {
    let bus = EventBus::new();
    let (entered_tx, entered_rx) = mpsc::channel();
    let (release_tx, release_rx) = mpsc::channel::<()>();
    let (seen_tx, seen_rx) = mpsc::channel();
    bus.subscribe("slow", 2, EventFilter::ALL, move |ev| {
        let n = session_of(ev);
        if n == 0 {
            entered_tx.send(()).unwrap();
            release_rx.recv_timeout(LIMIT).expect("released");
        }
        seen_tx.send(n).unwrap();
        Keep::Keep
    });
    // A fast subscriber alongside is unaffected.
    let (fast_tx, fast_rx) = mpsc::channel();
    bus.subscribe("fast", 64, EventFilter::ALL, move |ev| {
        fast_tx.send(session_of(ev)).unwrap();
        Keep::Keep
    });

    bus.publish(dtls_up(0));
    entered_rx.recv_timeout(LIMIT).unwrap();
    // The slow listener is blocked inside event 0 and its queue holds 2: publish 10 more from
    // another thread and require it to finish while the listener is still blocked.
    let publisher = {
        let bus = bus.clone();
        let (done_tx, done_rx) = mpsc::channel();
        std::thread::spawn(move || {
            for n in 1..=10 {
                bus.publish(dtls_up(n));
            }
            done_tx.send(()).unwrap();
        });
        done_rx
    };
    publisher.recv_timeout(LIMIT).expect("publisher returned");
    let slow = &bus.stats()[0];
    assert_eq!((slow.delivered, slow.dropped, slow.queued), (1, 8, 2));
    assert_eq!(recv_n(&fast_rx, 11), (0..=10).collect::<Vec<_>>());

    release_tx.send(()).unwrap();
    assert_eq!(recv_n(&seen_rx, 3), [0, 1, 2]);
    let slow = &bus.stats()[0];
    assert_eq!((slow.delivered, slow.dropped), (3, 8));
}

#[test]
fn listener_can_unsubscribe_itself() {
    let bus = EventBus::new();
    let (tx, rx) = mpsc::channel();
    bus.subscribe("once", 16, EventFilter::ALL, move |ev| {
        tx.send(session_of(ev)).unwrap();
        Keep::Unsubscribe
    });
    for n in 0..5 {
        bus.publish(dtls_up(n));
    }
    // Called exactly once, then removed (removal precedes the listener's drop).
    assert_eq!(recv_until_closed(&rx), [0]);
    assert!(bus.stats().is_empty());
    bus.publish(dtls_up(9));
}

#[test]
fn unsubscribe_by_id_stops_delivery() {
    let bus = EventBus::new();
    let (tx, rx) = mpsc::channel();
    let id = bus.subscribe("gone", 16, EventFilter::ALL, move |ev| {
        tx.send(session_of(ev)).unwrap();
        Keep::Keep
    });
    bus.publish(dtls_up(1));
    assert_eq!(recv_n(&rx, 1), [1]);
    assert!(bus.unsubscribe(id));
    assert!(!bus.unsubscribe(id));
    bus.publish(dtls_up(2));
    assert_eq!(recv_until_closed(&rx), Vec::<u64>::new());
    assert!(bus.stats().is_empty());
}

#[test]
fn panicking_listener_is_removed() {
    let bus = EventBus::new();
    let (tx, rx) = mpsc::channel::<()>();
    bus.subscribe("panics", 4, EventFilter::ALL, move |_| {
        let _keep_alive = &tx;
        panic!("listener bug")
    });
    bus.publish(dtls_up(1));
    assert!(recv_until_closed(&rx).is_empty());
    assert!(bus.stats().is_empty());
}

#[test]
fn filters_select_kinds() {
    let bus = EventBus::new();
    let (tx, rx) = mpsc::channel();
    let filter = EventFilter::only([EventKind::AuthResult, EventKind::Ban]);
    assert!(filter.matches(EventKind::Ban) && !filter.matches(EventKind::DtlsUp));
    bus.subscribe("auth", 16, filter, move |ev| {
        tx.send(ev.kind()).unwrap();
        Keep::Keep
    });
    bus.publish(dtls_up(1));
    bus.publish(auth("alice"));
    bus.publish(Event::DtlsDown {
        session: SessionId(1),
    });
    bus.publish(Event::Ban {
        ip: IpAddr::V4(Ipv4Addr::new(192, 0, 2, 7)),
        until_secs: 1_700_000_000,
        score: 100,
    });
    // Ordered delivery: once Ban (published last) arrives, nothing else can be pending.
    assert_eq!(
        recv_n(&rx, 2),
        [EventKind::AuthResult, EventKind::Ban],
        "non-matching kinds never reach the queue"
    );
    assert_eq!(bus.stats()[0].delivered, 2);
}

#[test]
fn many_publishers_keep_per_thread_order() {
    const THREADS: u64 = 4;
    const EACH: u64 = 500;
    let bus = EventBus::new();
    let (tx, rx) = mpsc::channel();
    bus.subscribe(
        "all",
        (THREADS * EACH) as usize,
        EventFilter::ALL,
        move |ev| {
            tx.send(session_of(ev)).unwrap();
            Keep::Keep
        },
    );
    let publishers: Vec<_> = (0..THREADS)
        .map(|t| {
            let bus = bus.clone();
            std::thread::spawn(move || {
                for i in 0..EACH {
                    bus.publish(dtls_up(t * 1_000_000 + i));
                }
            })
        })
        .collect();
    for p in publishers {
        p.join().unwrap();
    }
    let got = recv_n(&rx, (THREADS * EACH) as usize);
    for t in 0..THREADS {
        let mine: Vec<u64> = got
            .iter()
            .filter(|n| **n / 1_000_000 == t)
            .map(|n| n % 1_000_000)
            .collect();
        assert_eq!(mine, (0..EACH).collect::<Vec<_>>(), "publisher {t}");
    }
    assert_eq!(bus.stats()[0].dropped, 0);
}

#[test]
fn dropping_the_bus_ends_delivery_threads() {
    let bus = EventBus::new();
    let (tx, rx) = mpsc::channel();
    bus.subscribe("drained", 16, EventFilter::ALL, move |ev| {
        tx.send(session_of(ev)).unwrap();
        Keep::Keep
    });
    bus.publish(dtls_up(1));
    bus.publish(dtls_up(2));
    drop(bus);
    // Already-queued events are still delivered, then the thread ends.
    assert_eq!(recv_until_closed(&rx), [1, 2]);
}

#[test]
fn public_types_are_send_and_sync() {
    fn check<T: Send + Sync + Clone + std::fmt::Debug>() {}
    check::<EventBus>();
    check::<Event>();
    check::<DownReason>();
    check::<EventFilter>();
    check::<SubscriberStats>();
    let down = Event::SessionDown {
        session: SessionId(3),
        user: "bob".into(),
        reason: DownReason::Error("tls alert".into()),
        rx_bytes: 1,
        tx_bytes: 2,
    };
    assert_eq!(down.clone().kind(), EventKind::SessionDown);
    assert_eq!(SessionId(255).to_string(), "00000000000000ff");
}
