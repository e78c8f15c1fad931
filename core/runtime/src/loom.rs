//! Synchronisation primitives behind one name, so `--cfg loom` can swap std's for loom's.
//!
//! Modelled on tokio's `src/loom/mod.rs`. Only the pool's queue handoff, job completion and
//! shutdown go through here; the event bus uses std's `mpsc` directly (loom has no bounded
//! channel) and is covered by ordinary tests.

#[cfg(not(loom))]
pub(crate) use std::sync::{Arc, Condvar, Mutex, MutexGuard};
#[cfg(not(loom))]
pub(crate) use std::thread;

#[cfg(loom)]
pub(crate) use loom::sync::{Arc, Condvar, Mutex, MutexGuard};
#[cfg(loom)]
pub(crate) use loom::thread;

/// Locks `mutex`, ignoring poisoning.
///
/// No user code ever runs while one of our locks is held (jobs and wakers run outside them), so
/// a poisoned lock can only come from a bug in this crate's own bookkeeping; the data is still
/// consistent enough to shut down cleanly, which beats cascading panics through every worker.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Waits on `cv`, ignoring poisoning (see [`lock`]).
pub(crate) fn wait<'a, T>(cv: &Condvar, guard: MutexGuard<'a, T>) -> MutexGuard<'a, T> {
    cv.wait(guard)
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Waits on `cv` for at most `timeout`, ignoring poisoning (see [`lock`]).
///
/// Under loom the timeout is ignored (loom does not model time), so callers must loop on their
/// condition and treat a return as "maybe changed".
pub(crate) fn wait_timeout<'a, T>(
    cv: &Condvar,
    guard: MutexGuard<'a, T>,
    timeout: std::time::Duration,
) -> MutexGuard<'a, T> {
    match cv.wait_timeout(guard, timeout) {
        Ok((guard, _)) => guard,
        Err(poisoned) => poisoned.into_inner().0,
    }
}
