//! Whether the runtime's workers still have work in hand, from the runtime's park and
//! unpark hooks. Under load the ticket writer waits while they do before it commits, so
//! that one commit (one fsync) carries every request already received rather than half of
//! them (see `tickets::filer`).
//!
//! Ours, not a library's: tokio offers the hooks, and nothing counts its busy workers.

use std::cell::Cell;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// The workers of one runtime that are running tasks now. One that is not counted (the
/// default, as in tests and the sandbox) is never busy.
#[derive(Debug, Default)]
pub struct Workers {
    running: AtomicUsize,
}

/// What this thread last told its runtime's [`Workers`]: nothing yet (a thread that never
/// parked, e.g. a blocking one, is not counted), parked, or running.
#[derive(Clone, Copy, PartialEq)]
enum Told {
    Nothing,
    Parked,
    Running,
}

thread_local! {
    static TOLD: Cell<Told> = const { Cell::new(Told::Nothing) };
}

impl Workers {
    /// Counts `builder`'s workers: each is running from when it unparks until it parks. A
    /// worker's first stretch, before it ever parked, is not counted.
    pub fn count(self: &Arc<Self>, builder: &mut tokio::runtime::Builder) {
        let parks = self.clone();
        let unparks = self.clone();
        builder
            .on_thread_park(move || parks.parked())
            .on_thread_unpark(move || unparks.unparked());
    }

    /// This worker ran out of tasks.
    pub fn parked(&self) {
        if TOLD.with(|t| t.replace(Told::Parked)) == Told::Running {
            self.running.fetch_sub(1, Ordering::SeqCst);
        }
    }

    /// This worker has tasks to run.
    pub fn unparked(&self) {
        if TOLD.with(|t| t.replace(Told::Running)) != Told::Running {
            self.running.fetch_add(1, Ordering::SeqCst);
        }
    }

    /// True while any counted worker runs tasks.
    pub fn busy(&self) -> bool {
        self.running.load(Ordering::SeqCst) > 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workers_that_never_ran_are_idle() {
        assert!(!Workers::default().busy());
    }

    #[test]
    fn a_worker_is_busy_from_unparking_to_parking_counted_once_either_way() {
        let workers = Workers::default();
        // Parked before it ever ran: not below zero.
        workers.parked();
        assert!(!workers.busy());
        workers.unparked();
        workers.unparked();
        assert!(workers.busy());
        workers.parked();
        assert!(!workers.busy(), "two unparks, one worker");
        workers.parked();
        assert!(!workers.busy());
    }

    #[test]
    fn the_runtime_hooks_count_a_worker_while_it_runs_a_task() {
        let workers = Arc::new(Workers::default());
        let mut builder = tokio::runtime::Builder::new_multi_thread();
        builder.worker_threads(1).enable_all();
        workers.count(&mut builder);
        let runtime = builder.build().unwrap();
        // A task run in the worker's first stretch, before it ever parked, is not counted;
        // once it has parked (after a task, with nothing left), every task is.
        let seen = (0..100).any(|_| {
            runtime.block_on(async {
                let w = workers.clone();
                tokio::spawn(async move { w.busy() }).await.unwrap()
            })
        });
        assert!(seen, "busy while running a task");
        // And idle again once it has nothing to do: the worker parks after the last task.
        let idle = runtime.block_on(async {
            let wait = async {
                while workers.busy() {
                    tokio::task::yield_now().await;
                }
            };
            tokio::time::timeout(std::time::Duration::from_secs(10), wait).await
        });
        assert!(idle.is_ok(), "still busy with nothing to run");
        drop(runtime);
    }
}
