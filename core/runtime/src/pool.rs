//! The priority thread pool that runs every blocking call of the daemon.
//!
//! Four classes ([`Priority`]) each have a FIFO queue bounded by
//! [`PoolConfig::queue_depth`]. One mutex guards all queues and the per-worker handoff slots;
//! every dispatch decision is made under it, at submit time and whenever a job finishes, by the
//! reservation rule below. Jobs themselves always run with no lock held.
//!
//! # The reservation rule
//!
//! Let `idle` be the number of workers not running a job, and for each class `c`,
//! `owed(c) = max(0, reserved[c] - running[c])`. Scanning classes from `Critical` to `Low`, the
//! oldest job of the first class `p` that has a queued job and satisfies
//!
//! ```text
//!     idle > Σ owed(h)   over every class h more urgent than p
//! ```
//!
//! starts on the most recently idled worker; repeat until nothing qualifies. Equivalently: a job
//! of class `p` may start only if, after it starts, every more urgent class still has its
//! reserved number of threads either idle or busy with its own jobs. With the default
//! `reserved = [1, 1, 0, 0]`, `Low` and `Medium` jobs together can never occupy the last two
//! threads, so a `Critical` and a `High` job always find a thread even when every backend hangs.
//! A class's own reservation never restricts that class, and `Critical` may use any idle thread.

use std::any::Any;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::{Duration, Instant};

use crate::loom::{self, Arc, Condvar, Mutex, thread};

mod handle;
mod sched;

pub use handle::{JobError, JobHandle};
use sched::{Action, Outcome, State, Task};

/// The urgency class of a job. `Critical` is the most urgent; the derived `Ord` sorts it first.
///
/// Not `#[non_exhaustive]`: the four classes are fixed by [`PoolConfig::reserved`], which is
/// indexed by them, like strongSwan's `JOB_PRIO_*`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Priority {
    /// Work the daemon cannot defer: session teardown, DPD bookkeeping.
    Critical,
    /// Latency-sensitive work with bounded run time: local password checks.
    High,
    /// Ordinary background work.
    Medium,
    /// Jobs that may block for long: PAM conversations, RADIUS round trips, plugin file I/O.
    Low,
}

/// Sizes and bounds of a [`PriorityPool`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolConfig {
    /// Worker threads, all started up front.
    pub threads: usize,
    /// Threads reserved per class, indexed by [`Priority`] (`reserved[Priority::High as
    /// usize]`). Their sum must stay below `threads`.
    pub reserved: [usize; 4],
    /// Bound of each class's queue of not-yet-started jobs.
    pub queue_depth: usize,
}

/// Why the pool refused to start or to take a job.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PoolError {
    /// `threads` was zero.
    #[error("a pool needs at least one thread")]
    NoThreads,
    /// The reservations leave no thread for unreserved work.
    #[error("reserved threads ({reserved}) must be fewer than threads ({threads})")]
    OverReserved {
        /// Sum of `PoolConfig::reserved`.
        reserved: usize,
        /// `PoolConfig::threads`.
        threads: usize,
    },
    /// `queue_depth` was zero.
    #[error("queue_depth must be at least 1")]
    NoQueue,
    /// The operating system refused to start a worker thread.
    #[error("cannot spawn pool worker thread")]
    Spawn(#[from] std::io::Error),
    /// The class's queue already holds `queue_depth` jobs; the job was not queued.
    #[error("{priority:?} queue is full")]
    QueueFull {
        /// The class whose queue is full.
        priority: Priority,
    },
    /// The pool is shutting down and takes no new jobs.
    #[error("pool is shut down")]
    ShutDown,
}

/// Counters of one priority class. Latencies are measured from submit to start.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ClassStats {
    /// Jobs queued and not yet started, now.
    pub queued: usize,
    /// Jobs running, now.
    pub running: usize,
    /// Jobs that started since the pool was created.
    pub started: u64,
    /// Jobs that returned a value.
    pub completed: u64,
    /// Jobs that panicked (the worker survived).
    pub panicked: u64,
    /// Jobs cancelled by shutdown before they started.
    pub cancelled: u64,
    /// Submissions refused because the queue was full.
    pub rejected: u64,
    /// Sum of the queue waits of all started jobs.
    pub total_wait: Duration,
    /// Longest queue wait of any started job.
    pub max_wait: Duration,
}

/// A snapshot of a pool's counters.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PoolStats {
    /// Worker threads configured.
    pub threads: usize,
    /// Workers not running a job, now.
    pub idle: usize,
    /// Per-class counters, indexed by [`Priority`]; see [`PoolStats::class`].
    pub classes: [ClassStats; 4],
}

/// A fixed set of worker threads running jobs by priority with reserved threads per class.
///
/// See the [module docs](self) for the exact reservation rule. Dropping the pool shuts it down,
/// cancels queued jobs and joins every worker, which waits for running jobs to return.
pub struct PriorityPool {
    shared: Arc<Shared>,
    workers: Mutex<Vec<Option<thread::JoinHandle<()>>>>,
}

struct Shared {
    threads: usize,
    state: Mutex<State>,
    /// One condvar per worker, all paired with `state`: the dispatcher wakes exactly the worker
    /// it handed a job to.
    wake: Box<[Condvar]>,
    /// Signalled whenever a worker exits, for `shutdown`'s deadline wait.
    exited: Condvar,
}

impl Priority {
    /// All classes, most urgent first.
    pub const ALL: [Priority; 4] = [
        Priority::Critical,
        Priority::High,
        Priority::Medium,
        Priority::Low,
    ];

    /// This class's index into [`PoolConfig::reserved`] and [`PoolStats::classes`].
    pub const fn index(self) -> usize {
        self as usize
    }
}

impl PoolConfig {
    /// Checks the invariants [`PriorityPool::new`] relies on.
    pub fn validate(&self) -> Result<(), PoolError> {
        let reserved: usize = self.reserved.iter().sum();
        if self.threads == 0 {
            Err(PoolError::NoThreads)
        } else if reserved >= self.threads {
            Err(PoolError::OverReserved {
                reserved,
                threads: self.threads,
            })
        } else if self.queue_depth == 0 {
            Err(PoolError::NoQueue)
        } else {
            Ok(())
        }
    }
}

impl PoolStats {
    /// The counters of class `p`.
    pub fn class(&self, p: Priority) -> &ClassStats {
        &self.classes[p.index()]
    }
}

impl PriorityPool {
    /// Validates `cfg` and starts `cfg.threads` workers.
    pub fn new(cfg: PoolConfig) -> Result<Self, PoolError> {
        cfg.validate()?;
        let shared = Arc::new(Shared {
            threads: cfg.threads,
            state: Mutex::new(State::new(&cfg)),
            wake: (0..cfg.threads).map(|_| Condvar::new()).collect(),
            exited: Condvar::new(),
        });
        let pool = Self {
            shared,
            workers: Mutex::new(Vec::with_capacity(cfg.threads)),
        };
        for i in 0..cfg.threads {
            let shared = pool.shared.clone();
            let spawned = thread::Builder::new()
                .name(format!("wg-pool-{i}"))
                .spawn(move || worker(&shared, i));
            match spawned {
                Ok(h) => loom::lock(&pool.workers).push(Some(h)),
                Err(e) => {
                    // Workers that never started must not be waited for by `Drop`.
                    let mut st = loom::lock(&pool.shared.state);
                    st.alive -= cfg.threads - i;
                    drop(st);
                    return Err(PoolError::Spawn(e)); // `pool` drops: joins those started.
                }
            }
        }
        Ok(pool)
    }

    /// Queues `job` in class `p` and returns a handle to its result.
    ///
    /// Never blocks on other jobs: fails with [`PoolError::QueueFull`] when the class's queue is
    /// at its bound and with [`PoolError::ShutDown`] after [`shutdown`](Self::shutdown).
    pub fn submit<T: Send + 'static>(
        &self,
        p: Priority,
        job: impl FnOnce() -> T + Send + 'static,
    ) -> Result<JobHandle<T>, PoolError> {
        let (handle, completer) = handle::pair();
        let body = move |action, report: sched::Report<'_>| {
            let result = match action {
                Action::Run => catch_unwind(AssertUnwindSafe(job))
                    .map_err(|payload| JobError::Panicked(panic_message(payload.as_ref()))),
                Action::Cancel => Err(JobError::Cancelled),
            };
            report(match (&result, action) {
                (Ok(_), _) => Outcome::Completed,
                (Err(_), Action::Run) => Outcome::Panicked,
                (Err(_), Action::Cancel) => Outcome::Cancelled,
            });
            completer.complete(result);
        };
        let task = Task {
            class: p,
            enqueued: Instant::now(),
            body: Box::new(body),
        };
        let mut st = loom::lock(&self.shared.state);
        match st.enqueue(task) {
            Ok(()) => {
                st.dispatch(Instant::now(), |w| self.shared.wake[w].notify_one());
                Ok(handle)
            }
            Err((e, task)) => {
                drop(st);
                // Dropping the body drops the completer, which would resolve the handle; the
                // caller gets the error instead and the handle is discarded.
                drop(task);
                Err(e)
            }
        }
    }

    /// A snapshot of the pool's counters.
    pub fn stats(&self) -> PoolStats {
        let st = loom::lock(&self.shared.state);
        PoolStats {
            threads: self.shared.threads,
            idle: st.idle(),
            classes: Priority::ALL.map(|p| st.class_stats(p)),
        }
    }

    /// Stops taking jobs, cancels every queued job (their handles resolve to
    /// [`JobError::Cancelled`]) and waits up to `deadline` for running jobs to return and their
    /// workers to exit. Returns whether every worker has exited; those that have are joined, the
    /// rest are joined by `Drop`. Idempotent.
    pub fn shutdown(&self, deadline: Duration) -> bool {
        self.shutdown_until(Some(deadline))
    }

    fn shutdown_until(&self, deadline: Option<Duration>) -> bool {
        let cancelled = {
            let mut st = loom::lock(&self.shared.state);
            st.shutting_down = true;
            for cv in self.shared.wake.iter() {
                cv.notify_one();
            }
            st.drain()
        };
        for task in cancelled {
            // `drain` already counted them.
            (task.body)(Action::Cancel, &mut |_| {});
        }

        let end = sched::deadline_after(Instant::now(), deadline);
        let mut st = loom::lock(&self.shared.state);
        while st.alive > 0 {
            st = match end {
                None => loom::wait(&self.shared.exited, st),
                Some(end) => {
                    let left = end.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        break;
                    }
                    loom::wait_timeout(&self.shared.exited, st, left)
                }
            };
        }
        let all_exited = st.alive == 0;
        let exited = st.exited.clone();
        drop(st);

        let mut workers = loom::lock(&self.workers);
        for (h, _) in workers.iter_mut().zip(exited).filter(|(_, e)| *e) {
            if let Some(h) = h.take() {
                // The worker body catches job panics, so a join error is impossible.
                let _ = h.join();
            }
        }
        all_exited
    }
}

impl Drop for PriorityPool {
    fn drop(&mut self) {
        self.shutdown_until(None);
    }
}

impl std::fmt::Debug for PriorityPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PriorityPool")
            .field("threads", &self.shared.threads)
            .finish_non_exhaustive()
    }
}

impl Default for PoolConfig {
    /// `threads = max(4, 2 × CPUs)`, one thread reserved for each of `Critical` and `High`,
    /// 1024 queued jobs per class.
    fn default() -> Self {
        let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
        Self {
            threads: (2 * cpus).max(4),
            reserved: [1, 1, 0, 0],
            queue_depth: 1024,
        }
    }
}

/// A worker: waits for the dispatcher to fill its slot, runs the job, reports back, repeats;
/// returns once the pool shuts down and its slot is empty (a job already handed over still runs).
fn worker(shared: &Shared, me: usize) {
    let mut st = loom::lock(&shared.state);
    loop {
        let Some(task) = st.slots[me].take() else {
            if st.shutting_down {
                st.alive -= 1;
                st.exited[me] = true;
                shared.exited.notify_all();
                return;
            }
            st = loom::wait(&shared.wake[me], st);
            continue;
        };
        drop(st);
        let class = task.class;
        let mut reported = false;
        let mut report = |outcome| {
            reported = true;
            finish_job(shared, me, class, outcome);
        };
        // The body catches the job's own panic to report its message; this outer guard covers
        // the rest (a panicking `Drop` of the result or a waker), so the worker never dies.
        let _ = catch_unwind(AssertUnwindSafe(|| (task.body)(Action::Run, &mut report)));
        if !reported {
            finish_job(shared, me, class, Outcome::Panicked);
        }
        st = loom::lock(&shared.state);
    }
}

/// Books a finished job, marks worker `me` idle and dispatches what may start now (possibly
/// onto `me` itself, which finds it in its slot on its next loop).
fn finish_job(shared: &Shared, me: usize, class: Priority, outcome: Outcome) {
    let mut st = loom::lock(&shared.state);
    st.finish(me, class, outcome);
    if !st.shutting_down {
        st.dispatch(Instant::now(), |w| shared.wake[w].notify_one());
    }
}

/// Extracts the message of a panic payload (`panic!("...")` yields `&str` or `String`).
fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "non-string panic payload".to_owned()
    }
}

#[cfg(all(test, loom))]
mod loom_tests;
#[cfg(all(test, not(loom)))]
mod tests;
