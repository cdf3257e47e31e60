//! Scheduled jobs: the one registry of everything that runs on a cron schedule (the on-call
//! handoff; the roadmap digest and the pulse survey next), the runner that runs each due run
//! once (claimed in `job_runs`, unique per job and scheduled instant), retries failures and
//! skips runs missed beyond `schedules.grace`, and the listing `platform-desk jobs` prints.
//!
//! A capability at the bottom of the capabilities: it knows the context and the policy, no
//! other capability. The jobs themselves live with their capability and are registered by
//! `app::job_registry`, one line each.

pub mod db;
pub mod list;
pub mod runner;

use crate::context::{AppError, Context};
use crate::settings::CronSchedule;
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use futures_util::future::BoxFuture;
use sqlx::SqliteConnection;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use tokio::sync::watch;

/// What a job does at each scheduled instant.
///
/// A job whose effect is a database change (outbox rows, mostly) calls [`Run::finish`] in
/// the transaction of that change and commits only if it returned true: the effect and the
/// run's record then commit together, so a crash or a second runner can never repeat it. A
/// job that returns Ok without calling it is marked done by the runner afterwards.
pub trait Job: Send + Sync {
    fn run<'a>(&'a self, ctx: &'a Context, run: &'a Run) -> BoxFuture<'a, Result<(), AppError>>;
}

/// One registered job.
pub struct Entry {
    /// Unique; the key of its runs in `job_runs`, the `job` label of its metrics.
    pub name: String,
    pub schedule: CronSchedule,
    /// The schedule is read in this timezone (the policy's, `sla.timezone`, for most jobs).
    /// A job that acts at its time in each person's own timezone (the pulse survey) runs at
    /// the schedule's earliest instant anywhere and leaves per-person due times behind, which
    /// a [`Timer`] of its capability fires: see `survey`'s module doc.
    pub tz: Tz,
    job: Arc<dyn Job>,
}

/// Due times a capability keeps in its own rows (a job's follow-ups, such as a survey's
/// per-person deliveries, its reminder and its close), fired by the runner on the injected
/// clock at each pass, beside the jobs. The rows are the state: a restart loses nothing.
pub trait Timer: Send + Sync {
    /// The earliest due time ahead, to wake for (None: nothing pending).
    fn next_at<'a>(
        &'a self,
        ctx: &'a Context,
    ) -> BoxFuture<'a, Result<Option<DateTime<Utc>>, AppError>>;

    /// Does whatever is due at `now`. Each effect must be claimed in its own transaction (a
    /// conditional update), since two runners may fire it at once.
    fn fire<'a>(
        &'a self,
        ctx: &'a Context,
        now: DateTime<Utc>,
    ) -> BoxFuture<'a, Result<(), AppError>>;
}

/// Every job of this process, and how far the runner has got (for tests and the sandbox).
pub struct Registry {
    entries: Vec<Entry>,
    /// Named timers, fired after the jobs at each pass.
    timers: Vec<(String, Arc<dyn Timer>)>,
    /// `schedules.grace`.
    grace: chrono::Duration,
    /// Passes the runner has completed.
    passes: watch::Sender<u64>,
}

impl Registry {
    pub fn new(grace: std::time::Duration) -> Self {
        Self {
            entries: Vec::new(),
            timers: Vec::new(),
            grace: chrono::Duration::from_std(grace).unwrap_or(chrono::Duration::MAX),
            passes: watch::Sender::new(0),
        }
    }

    /// Registers `job` to run at each instant of `schedule` read in `tz`.
    ///
    /// # Panics
    /// When `name` is already registered: two jobs sharing runs would skip each other.
    pub fn add(&mut self, name: &str, schedule: CronSchedule, tz: Tz, job: impl Job + 'static) {
        assert!(
            self.entries.iter().all(|e| e.name != name),
            "job {name} registered twice"
        );
        self.entries.push(Entry {
            name: name.to_string(),
            schedule,
            tz,
            job: Arc::new(job),
        });
    }

    /// Registers a capability's timer, fired at each pass.
    pub fn add_timer(&mut self, name: &str, timer: impl Timer + 'static) {
        self.timers.push((name.to_string(), Arc::new(timer)));
    }

    pub fn timers(&self) -> impl Iterator<Item = (&str, &dyn Timer)> {
        self.timers.iter().map(|(n, t)| (n.as_str(), &**t))
    }

    /// Nothing to run: no job and no timer.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty() && self.timers.is_empty()
    }

    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    pub fn get(&self, name: &str) -> Option<&Entry> {
        self.entries.iter().find(|e| e.name == name)
    }

    pub fn grace(&self) -> chrono::Duration {
        self.grace
    }

    /// The number of passes the runner has completed, to wait on.
    pub fn passes(&self) -> watch::Receiver<u64> {
        self.passes.subscribe()
    }
}

/// One run of a job: the job and the instant it was scheduled for.
#[derive(Debug)]
pub struct Run {
    pub job: String,
    pub scheduled_at: DateTime<Utc>,
    pub tz: Tz,
    /// 1 for the first attempt.
    pub attempt: i64,
    /// It runs more than a minute after its scheduled instant (missed, or retried).
    pub late: bool,
    finished: AtomicBool,
}

impl Run {
    fn new(entry: &Entry, scheduled_at: DateTime<Utc>, attempt: i64, now: DateTime<Utc>) -> Self {
        Self {
            job: entry.name.clone(),
            scheduled_at,
            tz: entry.tz,
            attempt,
            late: now - scheduled_at > chrono::Duration::seconds(runner::LATE_AFTER_SECS),
            finished: AtomicBool::new(false),
        }
    }

    /// Marks this run done in `tx`, the transaction of the job's effect. False when this
    /// attempt no longer holds the run (its claim lapsed and another runner took it): the job
    /// must then drop `tx` without committing.
    pub async fn finish(
        &self,
        tx: &mut SqliteConnection,
        now: DateTime<Utc>,
    ) -> Result<bool, AppError> {
        let held = db::finish(tx, &self.job, self.scheduled_at, self.attempt, now).await?;
        self.finished.store(true, Ordering::SeqCst);
        Ok(held)
    }

    fn finished(&self) -> bool {
        self.finished.load(Ordering::SeqCst)
    }
}
