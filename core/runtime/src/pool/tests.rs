//! Pool tests. Synchronisation is by channels and gates only; every wait is bounded by
//! [`LIMIT`] so a bug fails the test instead of hanging it.

use std::sync::{Arc, Condvar, Mutex, mpsc};
use std::task::Poll;
use std::time::Duration;

use super::*;

const LIMIT: Duration = Duration::from_secs(10);

/// A latch the test opens to release blocking jobs.
#[derive(Default)]
struct Gate {
    open: Mutex<bool>,
    cv: Condvar,
}

impl Gate {
    fn open(&self) {
        *self.open.lock().unwrap() = true;
        self.cv.notify_all();
    }

    fn wait(&self) {
        let guard = self.open.lock().unwrap();
        let (guard, _) = self.cv.wait_timeout_while(guard, LIMIT, |o| !*o).unwrap();
        assert!(*guard, "gate never opened");
    }
}

fn pool(threads: usize, reserved: [usize; 4], queue_depth: usize) -> PriorityPool {
    PriorityPool::new(PoolConfig {
        threads,
        reserved,
        queue_depth,
    })
    .expect("valid config")
}

fn finish<T>(h: JobHandle<T>) -> Result<T, JobError> {
    h.wait_timeout(LIMIT)
        .unwrap_or_else(|_| panic!("job did not finish within {LIMIT:?}"))
}

/// Submits a job that reports its start on `started` and then blocks until `gate` opens.
fn blocker(
    pool: &PriorityPool,
    p: Priority,
    gate: &Arc<Gate>,
    started: &mpsc::Sender<()>,
) -> JobHandle<()> {
    let (gate, started) = (gate.clone(), started.clone());
    pool.submit(p, move || {
        started.send(()).unwrap();
        gate.wait();
    })
    .expect("queued")
}

#[test]
fn config_is_validated() {
    let bad = |threads, reserved, queue_depth| {
        PriorityPool::new(PoolConfig {
            threads,
            reserved,
            queue_depth,
        })
        .unwrap_err()
    };
    assert!(matches!(bad(0, [0; 4], 1), PoolError::NoThreads));
    assert!(matches!(
        bad(2, [1, 1, 0, 0], 1),
        PoolError::OverReserved {
            reserved: 2,
            threads: 2
        }
    ));
    assert!(matches!(bad(1, [0; 4], 0), PoolError::NoQueue));
    PoolConfig::default().validate().unwrap();
    assert!(PoolConfig::default().threads >= 4);
}

#[test]
fn returns_values_and_counts_them() {
    let pool = pool(2, [1, 0, 0, 0], 8);
    let handles: Vec<_> = (0..5u32)
        .map(|i| pool.submit(Priority::Medium, move || i * 2).unwrap())
        .collect();
    let got: Vec<u32> = handles.into_iter().map(|h| finish(h).unwrap()).collect();
    assert_eq!(got, [0, 2, 4, 6, 8]);
    let s = pool.stats();
    assert_eq!(s.class(Priority::Medium).completed, 5);
    assert_eq!(s.class(Priority::Medium).started, 5);
    assert!(s.class(Priority::Medium).total_wait >= s.class(Priority::Medium).max_wait);
}

/// The headline guarantee: blocking Low jobs never starve Critical (or High) ones.
#[test]
fn low_jobs_never_starve_critical() {
    let pool = pool(4, [1, 1, 0, 0], 16);
    let gate = Arc::new(Gate::default());
    let (started_tx, started_rx) = mpsc::channel();

    // Try to fill every thread (and more) with jobs that block until the gate opens.
    let lows: Vec<_> = (0..6)
        .map(|_| blocker(&pool, Priority::Low, &gate, &started_tx))
        .collect();
    for _ in 0..2 {
        started_rx.recv_timeout(LIMIT).expect("two Low jobs start");
    }
    // Dispatch happens at submit time under the pool lock, so this is exact, not a race:
    // two threads stay reserved for Critical and High.
    let s = pool.stats();
    assert_eq!(s.class(Priority::Low).running, 2);
    assert_eq!(s.class(Priority::Low).queued, 4);
    assert_eq!(s.idle, 2);

    // Medium may not take the reserved threads either.
    let medium = pool.submit(Priority::Medium, || "medium").unwrap();
    assert_eq!(pool.stats().class(Priority::Medium).queued, 1);

    // Critical and High run promptly while every Low job is still blocked.
    let critical = pool.submit(Priority::Critical, || "critical").unwrap();
    assert_eq!(finish(critical), Ok("critical"));
    let high = pool.submit(Priority::High, || "high").unwrap();
    assert_eq!(finish(high), Ok("high"));
    // Both at once, while a Critical job is itself blocked on its reserved thread.
    let crit_blocked = blocker(&pool, Priority::Critical, &gate, &started_tx);
    started_rx.recv_timeout(LIMIT).expect("critical starts");
    let high = pool.submit(Priority::High, || "high again").unwrap();
    assert_eq!(finish(high), Ok("high again"));
    assert!(!lows.iter().any(JobHandle::is_finished));

    gate.open();
    assert_eq!(finish(crit_blocked), Ok(()));
    for h in lows {
        assert_eq!(finish(h), Ok(()));
    }
    assert_eq!(finish(medium), Ok("medium"));
    let s = pool.stats();
    assert_eq!(s.class(Priority::Low).completed, 6);
    assert_eq!(s.idle, 4);
}

#[test]
fn one_free_thread_takes_jobs_by_priority_then_fifo() {
    let pool = pool(1, [0; 4], 8);
    let gate = Arc::new(Gate::default());
    let (started_tx, started_rx) = mpsc::channel();
    let first = blocker(&pool, Priority::Low, &gate, &started_tx);
    started_rx.recv_timeout(LIMIT).unwrap();

    let order = Arc::new(Mutex::new(Vec::new()));
    let jobs = [
        (Priority::Low, "low"),
        (Priority::Medium, "medium"),
        (Priority::Critical, "critical-1"),
        (Priority::High, "high"),
        (Priority::Critical, "critical-2"),
    ];
    let handles: Vec<_> = jobs
        .into_iter()
        .map(|(p, name)| {
            let order = order.clone();
            pool.submit(p, move || order.lock().unwrap().push(name))
                .unwrap()
        })
        .collect();
    gate.open();
    finish(first).unwrap();
    for h in handles {
        finish(h).unwrap();
    }
    assert_eq!(
        *order.lock().unwrap(),
        ["critical-1", "critical-2", "high", "medium", "low"]
    );
}

#[test]
fn full_queue_rejects_per_class() {
    let pool = pool(1, [0; 4], 2);
    let gate = Arc::new(Gate::default());
    let (started_tx, started_rx) = mpsc::channel();
    let running = blocker(&pool, Priority::Low, &gate, &started_tx);
    started_rx.recv_timeout(LIMIT).unwrap();

    let queued: Vec<_> = (0..2)
        .map(|i| pool.submit(Priority::Low, move || i).unwrap())
        .collect();
    let err = pool.submit(Priority::Low, || 99).unwrap_err();
    assert!(matches!(
        err,
        PoolError::QueueFull {
            priority: Priority::Low
        }
    ));
    // The bound is per class: High still has room.
    let high = pool.submit(Priority::High, || 7).unwrap();
    assert_eq!(pool.stats().class(Priority::Low).rejected, 1);

    gate.open();
    finish(running).unwrap();
    assert_eq!(finish(high), Ok(7));
    let got: Vec<_> = queued.into_iter().map(|h| finish(h).unwrap()).collect();
    assert_eq!(got, [0, 1]);
}

#[test]
fn panics_are_contained_and_reported() {
    let pool = pool(1, [0; 4], 4);
    let h = pool
        .submit(Priority::High, || -> u8 { panic!("boom") })
        .unwrap();
    assert_eq!(finish(h), Err(JobError::Panicked("boom".into())));
    let code = 42;
    let h = pool
        .submit(Priority::High, move || -> u8 { panic!("code {code}") })
        .unwrap();
    assert_eq!(finish(h), Err(JobError::Panicked("code 42".into())));
    // The only worker survived both.
    let h = pool.submit(Priority::Low, || 5u8).unwrap();
    assert_eq!(finish(h), Ok(5));
    let s = pool.stats();
    assert_eq!(s.class(Priority::High).panicked, 2);
    assert_eq!(s.class(Priority::Low).completed, 1);
}

#[test]
fn shutdown_cancels_queued_jobs() {
    let pool = pool(1, [0; 4], 8);
    let gate = Arc::new(Gate::default());
    let (started_tx, started_rx) = mpsc::channel();
    let running = blocker(&pool, Priority::Low, &gate, &started_tx);
    started_rx.recv_timeout(LIMIT).unwrap();
    let queued: Vec<_> = Priority::ALL
        .into_iter()
        .map(|p| pool.submit(p, || ()).unwrap())
        .collect();

    // The worker is still blocked, so a zero deadline reports it alive...
    assert!(!pool.shutdown(Duration::ZERO));
    // ...but every queued job has already been cancelled.
    for h in queued {
        assert_eq!(finish(h), Err(JobError::Cancelled));
    }
    assert!(matches!(
        pool.submit(Priority::Critical, || ()),
        Err(PoolError::ShutDown)
    ));
    let s = pool.stats();
    assert_eq!(Priority::ALL.map(|p| s.class(p).cancelled), [1, 1, 1, 1]);

    // The running job is not interrupted; once it returns, the worker exits and is joined.
    gate.open();
    assert_eq!(finish(running), Ok(()));
    assert!(pool.shutdown(LIMIT));
}

#[test]
fn drop_joins_after_running_jobs_return() {
    let pool = pool(2, [0; 4], 8);
    let (tx, rx) = mpsc::channel();
    let gate = Arc::new(Gate::default());
    let g = gate.clone();
    let h = pool
        .submit(Priority::Low, move || {
            g.wait();
            tx.send("done").unwrap();
        })
        .unwrap();
    gate.open();
    drop(pool);
    // Drop returned, so the job had returned: its message is already in the channel.
    assert_eq!(rx.try_recv(), Ok("done"));
    assert_eq!(finish(h), Ok(()));
}

#[test]
fn handle_is_a_future_on_tokio() {
    let pool = pool(2, [0; 4], 8);
    let gate = Arc::new(Gate::default());
    let g = gate.clone();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    let got = rt.block_on(async {
        let fut = pool
            .submit(Priority::High, move || {
                g.wait();
                "hashed"
            })
            .unwrap();
        tokio::pin!(fut);
        // The job is blocked on the gate, so the first poll must park a waker...
        let first = std::future::poll_fn(|cx| Poll::Ready(fut.as_mut().poll(cx))).await;
        assert!(first.is_pending());
        // ...which the worker wakes once the job returns.
        gate.open();
        tokio::time::timeout(LIMIT, fut).await.expect("woken")
    });
    assert_eq!(got, Ok("hashed"));
}

#[test]
fn public_types_are_send_and_sync() {
    fn check<T: Send + Sync>() {}
    check::<PriorityPool>();
    check::<JobHandle<String>>();
    check::<PoolError>();
    check::<JobError>();
    check::<PoolStats>();
}
