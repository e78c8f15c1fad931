//! `[pool]`: the priority thread pool that runs every blocking call of the daemon (password
//! hashing, auth and filter plugin calls, their file I/O), with threads reserved per class so a
//! flood of slow low-priority jobs never starves critical ones.

use serde::{Deserialize, Serialize};

use crate::config::Checker;

/// Smallest thread count `threads = 0` picks (it picks `max(4, 2 × CPUs)`).
pub const AUTO_MIN_THREADS: u32 = 4;

/// The `[pool]` table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PoolSection {
    /// Worker threads; 0 picks `max(4, 2 × CPUs)`. ocserv: none (it forks per client).
    pub threads: u32,
    /// Threads only `critical` jobs may use.
    pub reserved_critical: u32,
    /// Threads only `high` jobs (password checks) may use.
    pub reserved_high: u32,
    /// Threads only `medium` jobs may use.
    pub reserved_medium: u32,
    /// Threads only `low` jobs (auth and filter plugin calls) may use.
    pub reserved_low: u32,
    /// Jobs each class may queue before new ones are refused (and counted).
    pub queue_depth: u32,
}

impl Default for PoolSection {
    fn default() -> Self {
        Self {
            threads: 0,
            reserved_critical: 1,
            reserved_high: 1,
            reserved_medium: 0,
            reserved_low: 0,
            queue_depth: 1024,
        }
    }
}

impl PoolSection {
    /// Threads reserved per class, in priority order (critical, high, medium, low).
    pub fn reserved(&self) -> [u32; 4] {
        [
            self.reserved_critical,
            self.reserved_high,
            self.reserved_medium,
            self.reserved_low,
        ]
    }

    /// The thread count to start on a machine with `cpus` CPUs.
    pub fn thread_count(&self, cpus: usize) -> usize {
        match self.threads {
            0 => (2 * cpus).max(AUTO_MIN_THREADS as usize),
            n => n as usize,
        }
    }

    pub(crate) fn validate(&self, check: &mut Checker) {
        check.range(
            "pool.threads",
            u64::from(self.threads),
            0,
            1024,
            "threads (0: automatic)",
        );
        check.range(
            "pool.queue_depth",
            u64::from(self.queue_depth),
            1,
            1_000_000,
            "jobs",
        );
        let reserved: u64 = self.reserved().iter().map(|&r| u64::from(r)).sum();
        // With threads = 0 the count depends on the machine; the smallest it can be is 4.
        let threads = match self.threads {
            0 => u64::from(AUTO_MIN_THREADS),
            n => u64::from(n),
        };
        if reserved >= threads {
            check.push(
                "pool.reserved_critical",
                format!(
                    "the reservations add up to {reserved} threads, but the pool has {}",
                    if self.threads == 0 {
                        format!("as few as {AUTO_MIN_THREADS} (threads = 0)")
                    } else {
                        threads.to_string()
                    }
                ),
                format!(
                    "reserve fewer than {threads} threads in all (reserved_critical + \
                     reserved_high + reserved_medium + reserved_low), or raise pool.threads"
                ),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn issues(p: &PoolSection) -> Vec<String> {
        let mut c = Checker::default();
        p.validate(&mut c);
        c.issues().iter().map(|i| i.to_string()).collect()
    }

    #[test]
    fn defaults_are_valid_and_automatic_threads_follow_the_cpus() {
        let p = PoolSection::default();
        assert!(issues(&p).is_empty());
        assert_eq!(p.thread_count(1), 4);
        assert_eq!(p.thread_count(8), 16);
        let fixed = PoolSection { threads: 3, ..p };
        assert_eq!(fixed.thread_count(64), 3);
    }

    #[test]
    fn reservations_must_leave_a_shared_thread() {
        let p = PoolSection {
            threads: 4,
            reserved_low: 2,
            ..PoolSection::default()
        };
        let i = issues(&p);
        assert_eq!(i.len(), 1, "{i:?}");
        assert!(
            i[0].contains("pool.reserved_critical") && i[0].contains("4 threads"),
            "{i:?}"
        );
        // Automatic sizing: judged against its minimum of 4.
        let auto = PoolSection {
            reserved_medium: 2,
            ..PoolSection::default()
        };
        assert!(
            issues(&auto)[0].contains("as few as 4"),
            "{:?}",
            issues(&auto)
        );
        let ok = PoolSection {
            threads: 8,
            reserved_low: 4,
            ..PoolSection::default()
        };
        assert!(issues(&ok).is_empty());
    }

    #[test]
    fn out_of_range_values_name_their_key() {
        let p = PoolSection {
            threads: 5000,
            queue_depth: 0,
            ..PoolSection::default()
        };
        let i = issues(&p).join("\n");
        assert!(
            i.contains("pool.threads") && i.contains("pool.queue_depth"),
            "{i}"
        );
    }
}
