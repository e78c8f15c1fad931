//! The one-shot channel between a worker and whoever awaits the job.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use crate::loom::{self, Arc, Condvar, Mutex};

/// Why a job produced no value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum JobError {
    /// The job panicked; the message is the panic payload when it was a string. The worker thread
    /// survived and went on with other jobs.
    #[error("job panicked: {0}")]
    Panicked(String),
    /// The job never ran: the pool shut down while it was queued.
    #[error("job cancelled before it ran (pool shut down)")]
    Cancelled,
}

/// The result of a submitted job: a [`Future`] for async callers, [`wait`](Self::wait) for
/// blocking ones.
///
/// The future is runtime-agnostic: the worker that finishes the job wakes the last [`Waker`] it
/// was polled with, so it works under tokio or any executor. Dropping the handle does not cancel
/// the job; it still runs and its result is discarded.
#[must_use = "dropping a JobHandle discards the job's result (the job still runs)"]
pub struct JobHandle<T> {
    shared: Arc<Shared<T>>,
}

/// The worker's end: completes the handle exactly once, with `Cancelled` if dropped unused.
pub(crate) struct Completer<T> {
    shared: Option<Arc<Shared<T>>>,
}

struct Shared<T> {
    slot: Mutex<Slot<T>>,
    done: Condvar,
}

struct Slot<T> {
    result: Option<Result<T, JobError>>,
    waker: Option<Waker>,
    /// Set when the result was taken by `poll`, so a second poll is reported, not hung.
    taken: bool,
}

/// Creates a connected handle/completer pair.
pub(crate) fn pair<T>() -> (JobHandle<T>, Completer<T>) {
    let shared = Arc::new(Shared {
        slot: Mutex::new(Slot {
            result: None,
            waker: None,
            taken: false,
        }),
        done: Condvar::new(),
    });
    (
        JobHandle {
            shared: shared.clone(),
        },
        Completer {
            shared: Some(shared),
        },
    )
}

impl<T> JobHandle<T> {
    /// Blocks the calling thread until the job has finished. Never call this from an async task;
    /// `.await` the handle instead.
    pub fn wait(self) -> Result<T, JobError> {
        let mut slot = loom::lock(&self.shared.slot);
        loop {
            if let Some(result) = slot.result.take() {
                return result;
            }
            slot = loom::wait(&self.shared.done, slot);
        }
    }

    /// Like [`wait`](Self::wait), but gives the handle back if the job has not finished within
    /// `timeout`.
    pub fn wait_timeout(self, timeout: Duration) -> Result<Result<T, JobError>, Self> {
        let end = Instant::now().checked_add(timeout);
        {
            let mut slot = loom::lock(&self.shared.slot);
            loop {
                if let Some(result) = slot.result.take() {
                    return Ok(result);
                }
                let left = match end {
                    None => Duration::MAX,
                    Some(end) => end.saturating_duration_since(Instant::now()),
                };
                if left.is_zero() {
                    break;
                }
                slot = loom::wait_timeout(&self.shared.done, slot, left);
            }
        }
        Err(self)
    }

    /// Whether the job has finished (successfully, by panicking, or by being cancelled).
    pub fn is_finished(&self) -> bool {
        let slot = loom::lock(&self.shared.slot);
        slot.result.is_some() || slot.taken
    }
}

impl<T> Future for JobHandle<T> {
    type Output = Result<T, JobError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut slot = loom::lock(&self.shared.slot);
        if let Some(result) = slot.result.take() {
            slot.taken = true;
            return Poll::Ready(result);
        }
        assert!(!slot.taken, "JobHandle polled after it returned Ready");
        match &mut slot.waker {
            Some(w) if w.will_wake(cx.waker()) => {}
            w => *w = Some(cx.waker().clone()),
        }
        Poll::Pending
    }
}

impl<T> fmt::Debug for JobHandle<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JobHandle")
            .field("finished", &self.is_finished())
            .finish()
    }
}

impl<T> Completer<T> {
    /// Stores the result and wakes the waiter. The waker runs after the lock is released, so an
    /// executor that polls inline cannot deadlock on it.
    pub(crate) fn complete(mut self, result: Result<T, JobError>) {
        if let Some(shared) = self.shared.take() {
            Self::deliver(&shared, result);
        }
    }

    fn deliver(shared: &Shared<T>, result: Result<T, JobError>) {
        let waker = {
            let mut slot = loom::lock(&shared.slot);
            slot.result = Some(result);
            shared.done.notify_all();
            slot.waker.take()
        };
        if let Some(waker) = waker {
            waker.wake();
        }
    }
}

impl<T> Drop for Completer<T> {
    fn drop(&mut self) {
        if let Some(shared) = self.shared.take() {
            Self::deliver(&shared, Err(JobError::Cancelled));
        }
    }
}
