//! Loom models of the pool's queue handoff and shutdown. Run with
//! `RUSTFLAGS="--cfg loom" cargo test -p wolfguard-runtime --release loom`.

use super::*;

fn one_thread_pool() -> PriorityPool {
    PriorityPool::new(PoolConfig {
        threads: 1,
        reserved: [0; 4],
        queue_depth: 2,
    })
    .expect("valid config")
}

/// Submit hands the job to the idle worker; the worker runs it and completes the handle.
#[test]
fn loom_handoff_runs_job() {
    ::loom::model(|| {
        let pool = one_thread_pool();
        let h = pool.submit(Priority::High, || 7).unwrap();
        assert_eq!(h.wait(), Ok(7));
    });
}

/// Shutdown (via `Drop`) racing a just-submitted job: the job either ran or was cancelled,
/// every handle resolves, and the worker is joined — no lost wakeup, no hang.
#[test]
fn loom_shutdown_races_handoff() {
    ::loom::model(|| {
        let pool = one_thread_pool();
        let a = pool.submit(Priority::Low, || 1).unwrap();
        let b = pool.submit(Priority::Critical, || 2).unwrap();
        drop(pool);
        assert_eq!(a.wait(), Ok(1), "handed over before shutdown, so it runs");
        assert!(matches!(b.wait(), Ok(2) | Err(JobError::Cancelled)));
    });
}

/// A second thread submits while the main thread shuts down.
#[test]
fn loom_concurrent_submit_and_shutdown() {
    ::loom::model(|| {
        let pool = Arc::new(one_thread_pool());
        let p2 = pool.clone();
        let submitter = thread::spawn(move || p2.submit(Priority::Medium, || 3).ok());
        assert!(pool.shutdown(Duration::from_secs(3600)));
        if let Some(h) = submitter.join().unwrap() {
            assert!(matches!(h.wait(), Ok(3) | Err(JobError::Cancelled)));
        }
    });
}
