//! The dispatcher's state and the reservation rule, kept free of threads so it can be tested as
//! a pure function.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use super::{ClassStats, PoolConfig, PoolError, Priority};

/// What a worker does with a [`Task`] it was handed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Action {
    /// Run the job and complete its handle with the result.
    Run,
    /// Complete the handle with `JobError::Cancelled` without running the job.
    Cancel,
}

/// How a [`Task`] ended, for the per-class counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// The job returned a value.
    Completed,
    /// The job panicked; the worker survived.
    Panicked,
    /// The job never ran.
    Cancelled,
}

/// A type-erased job plus the bookkeeping the dispatcher needs.
pub(crate) struct Task {
    pub(crate) class: Priority,
    pub(crate) enqueued: Instant,
    pub(crate) body: Box<dyn FnOnce(Action, Report<'_>) + Send>,
}

/// Called by a task body with its [`Outcome`] *before* it resolves the job's handle, so that
/// whoever sees the result also sees the pool's counters (and the freed worker) account for it.
pub(crate) type Report<'a> = &'a mut dyn FnMut(Outcome);

/// Everything the dispatcher decides on, behind the pool's one mutex.
pub(crate) struct State {
    reserved: [usize; 4],
    queue_depth: usize,
    queues: [VecDeque<Task>; 4],
    running: [usize; 4],
    /// Idle workers, used as a stack so the most recently active (cache-warm) thread goes first.
    idle: Vec<usize>,
    /// One handoff slot per worker: the dispatcher fills it, the worker empties it.
    pub(crate) slots: Vec<Option<Task>>,
    pub(crate) shutting_down: bool,
    /// Workers whose thread has not yet returned.
    pub(crate) alive: usize,
    /// `exited[i]` once worker `i`'s thread is about to return, so it can be joined promptly.
    pub(crate) exited: Vec<bool>,
    stats: [ClassStats; 4],
}

/// Picks the class whose oldest job may start now, or `None`.
///
/// The rule (strongSwan's `processor.c`, made exact): scan classes from `Critical` to `Low`,
/// keeping `owed`, the sum over the classes already scanned of `max(0, reserved[c] -
/// running[c])` — threads those more urgent classes are still entitled to. The first class with
/// a queued job and `idle > owed` wins. So a job of class `p` starts only if, after it starts,
/// every more urgent class still has its reserved threads either idle or busy with its own jobs.
/// A class's own reservation never restricts it, and `Critical` may use any idle thread.
pub(crate) fn eligible_class(
    idle: usize,
    reserved: &[usize; 4],
    running: &[usize; 4],
    queued: [bool; 4],
) -> Option<Priority> {
    let mut owed = 0usize;
    for p in Priority::ALL {
        let c = p.index();
        if queued[c] && idle > owed {
            return Some(p);
        }
        owed += reserved[c].saturating_sub(running[c]);
    }
    None
}

impl State {
    pub(crate) fn new(cfg: &PoolConfig) -> Self {
        Self {
            reserved: cfg.reserved,
            queue_depth: cfg.queue_depth,
            queues: Default::default(),
            running: [0; 4],
            idle: (0..cfg.threads).rev().collect(),
            slots: (0..cfg.threads).map(|_| None).collect(),
            shutting_down: false,
            alive: cfg.threads,
            exited: vec![false; cfg.threads],
            stats: Default::default(),
        }
    }

    /// Queues `task`, or gives it back with the reason it was refused.
    pub(crate) fn enqueue(&mut self, task: Task) -> Result<(), (PoolError, Task)> {
        let c = task.class.index();
        if self.shutting_down {
            return Err((PoolError::ShutDown, task));
        }
        if self.queues[c].len() >= self.queue_depth {
            self.stats[c].rejected += 1;
            return Err((
                PoolError::QueueFull {
                    priority: task.class,
                },
                task,
            ));
        }
        self.queues[c].push_back(task);
        Ok(())
    }

    /// Hands every job that may start now to an idle worker; calls `wake(worker)` for each.
    ///
    /// Deterministic: FIFO within a class, classes by [`eligible_class`], workers LIFO.
    pub(crate) fn dispatch(&mut self, now: Instant, mut wake: impl FnMut(usize)) {
        while let Some(p) = eligible_class(
            self.idle.len(),
            &self.reserved,
            &self.running,
            std::array::from_fn(|c| !self.queues[c].is_empty()),
        ) {
            let c = p.index();
            let (Some(worker), Some(task)) = (self.idle.pop(), self.queues[c].pop_front()) else {
                unreachable!("eligible_class only picks a non-empty class with an idle worker");
            };
            let waited = now.saturating_duration_since(task.enqueued);
            let stats = &mut self.stats[c];
            stats.started += 1;
            stats.total_wait += waited;
            stats.max_wait = stats.max_wait.max(waited);
            self.running[c] += 1;
            self.slots[worker] = Some(task);
            wake(worker);
        }
    }

    /// Records that `worker` finished a job of class `p` and is idle again.
    pub(crate) fn finish(&mut self, worker: usize, p: Priority, outcome: Outcome) {
        let c = p.index();
        self.running[c] -= 1;
        self.record(p, outcome);
        self.idle.push(worker);
    }

    /// Empties every queue for cancellation (the caller runs the cancellations unlocked).
    pub(crate) fn drain(&mut self) -> Vec<Task> {
        let tasks: Vec<Task> = self.queues.iter_mut().flat_map(|q| q.drain(..)).collect();
        for t in &tasks {
            self.record(t.class, Outcome::Cancelled);
        }
        tasks
    }

    pub(crate) fn record(&mut self, p: Priority, outcome: Outcome) {
        let stats = &mut self.stats[p.index()];
        match outcome {
            Outcome::Completed => stats.completed += 1,
            Outcome::Panicked => stats.panicked += 1,
            Outcome::Cancelled => stats.cancelled += 1,
        }
    }

    pub(crate) fn idle(&self) -> usize {
        self.idle.len()
    }

    pub(crate) fn class_stats(&self, p: Priority) -> ClassStats {
        let c = p.index();
        ClassStats {
            queued: self.queues[c].len(),
            running: self.running[c],
            ..self.stats[c].clone()
        }
    }
}

/// Converts a `Duration` deadline into an instant, `None` meaning "no deadline".
pub(crate) fn deadline_after(now: Instant, d: Option<Duration>) -> Option<Instant> {
    d.and_then(|d| now.checked_add(d))
}

#[cfg(test)]
mod tests {
    use super::*;

    const RES: [usize; 4] = [1, 1, 0, 0];

    /// One row: idle workers, running per class, queued per class, expected pick.
    type Case = (usize, [usize; 4], [bool; 4], Option<Priority>);

    /// (idle, running, queued) -> picked class; pool of 4 threads, reserved [1, 1, 0, 0].
    #[test]
    fn reservation_rule_table() {
        use Priority::*;
        let all = [true; 4];
        let low_only = [false, false, false, true];
        let cases: &[Case] = &[
            (4, [0, 0, 0, 0], all, Some(Critical)),
            // Low may start while 2 threads stay for Critical and High...
            (4, [0, 0, 0, 0], low_only, Some(Low)),
            (3, [0, 0, 0, 1], low_only, Some(Low)),
            // ...but not take them.
            (2, [0, 0, 0, 2], low_only, None),
            (2, [0, 0, 2, 0], [false, false, true, false], None),
            // Once Critical uses its own thread, it owes nothing: Low gets the spare.
            (2, [1, 0, 0, 1], low_only, Some(Low)),
            // Critical and High still start on the reserved threads.
            (2, [0, 0, 0, 2], [true, false, false, true], Some(Critical)),
            (2, [0, 0, 0, 2], [false, true, false, true], Some(High)),
            (1, [0, 1, 0, 2], [false, false, false, true], None),
            (1, [0, 1, 0, 2], [true, false, false, true], Some(Critical)),
            // High may not take Critical's last thread.
            (1, [0, 0, 1, 2], [false, true, false, false], None),
            (0, [1, 1, 1, 1], all, None),
        ];
        for (i, (idle, running, queued, want)) in cases.iter().enumerate() {
            assert_eq!(
                eligible_class(*idle, &RES, running, *queued),
                *want,
                "case {i}"
            );
        }
    }
}
