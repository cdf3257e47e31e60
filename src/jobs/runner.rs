//! The job runner: one task that, at each pass, runs every registered job's due run once,
//! retries failed runs whose time has come, then sleeps until the next scheduled instant or
//! retry (woken early by `Context::jobs_wake`, which `Context::clock_moved` rings). Time is
//! the injected clock's: tests move it and call [`step`].
//!
//! The rules, per job and pass:
//! - the instants considered are those after the job's latest recorded run (or, for a job
//!   never recorded, those within the grace) up to now;
//! - the latest of them runs if it is at most `schedules.grace` old; every other one is
//!   skipped: counted in `platform_desk_jobs_skipped_total{job}`, logged, and the latest
//!   skipped one recorded `skipped` (so the next pass starts after it);
//! - a run is claimed (inserted `running`) before it runs: whoever inserts it runs it;
//! - a failed attempt is recorded with its error and retried after 1, 2, 4, 8 minutes, up
//!   to [`MAX_ATTEMPTS`]; a claim not finished within [`LEASE_MINUTES`] (the process
//!   stopped) is taken over as another attempt.

use super::{db, Entry, Registry, Run};
use crate::context::{AppError, Context};
use chrono::{DateTime, Duration, Utc};
use futures_util::FutureExt;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// A run started more than this after its instant is `late` (as SLA timers are).
pub const LATE_AFTER_SECS: i64 = 60;
/// Attempts of one run before it is given up.
pub const MAX_ATTEMPTS: i64 = 5;
/// The wait after the first failed attempt, doubled after each next one.
const RETRY_BASE_SECS: i64 = 60;
/// A claim older than this belongs to a process that stopped: the run is taken over.
pub const LEASE_MINUTES: i64 = 10;
/// Missed instants are looked for at most this far back (a job every second, down for a
/// month, is not walked instant by instant).
const LOOK_BACK_DAYS: i64 = 7;
/// The longest sleep: a safety net, not a poll.
const MAX_SLEEP: std::time::Duration = std::time::Duration::from_secs(3600);

/// What one pass did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Pass {
    /// Attempts made (first runs and retries).
    pub ran: usize,
    pub failed: usize,
    /// Instants skipped.
    pub skipped: u64,
}

/// Exports every job's series and starts the runner.
pub fn spawn(
    ctx: Arc<Context>,
    registry: Arc<Registry>,
    stop: watch::Receiver<bool>,
) -> JoinHandle<()> {
    for entry in registry.entries() {
        ctx.metrics.jobs.known(&entry.name);
    }
    tokio::spawn(run(ctx, registry, stop))
}

/// Runs until `stop` turns true.
pub async fn run(ctx: Arc<Context>, registry: Arc<Registry>, mut stop: watch::Receiver<bool>) {
    if registry.is_empty() {
        return;
    }
    loop {
        if let Err(err) = step(&ctx, &registry).await {
            tracing::error!(error = %err.chain(), "job runner pass failed");
        }
        let now = ctx.clock.now();
        let wait = match next_wake(&ctx, &registry, now).await {
            Ok(Some(at)) => (at - now).to_std().unwrap_or_default().min(MAX_SLEEP),
            Ok(None) => MAX_SLEEP,
            Err(_) => std::time::Duration::from_secs(1),
        };
        tokio::select! {
            _ = ctx.jobs_wake.notified() => {}
            _ = tokio::time::sleep(wait) => {}
            _ = crate::context::stopped(&mut stop) => break,
        }
    }
}

/// When the next run or retry is due.
pub async fn next_wake(
    ctx: &Context,
    registry: &Registry,
    now: DateTime<Utc>,
) -> Result<Option<DateTime<Utc>>, AppError> {
    let retry = db::next_retry(&mut *ctx.pool.acquire().await?).await?;
    let scheduled = registry
        .entries()
        .iter()
        .filter_map(|e| e.schedule.fire_times(e.tz, now).next());
    let mut timers = Vec::new();
    for (_, timer) in registry.timers() {
        // Still due after its pass means it failed: try again in a while, not in a spin.
        let again = now + Duration::seconds(RETRY_BASE_SECS);
        timers.extend(
            timer
                .next_at(ctx)
                .await?
                .map(|at| if at <= now { again } else { at }),
        );
    }
    Ok(scheduled.chain(retry).chain(timers).min())
}

/// Runs what is due now: each job's due run, then due retries. A job's failure is
/// recorded and does not stop the others.
pub async fn step(ctx: &Context, registry: &Registry) -> Result<Pass, AppError> {
    let now = ctx.clock.now();
    let mut pass = Pass::default();
    for entry in registry.entries() {
        match due(ctx, registry, entry, now, &mut pass).await {
            Ok(Some(at)) => execute(ctx, entry, Run::new(entry, at, 1, now), &mut pass).await,
            Ok(None) => {}
            Err(err) => {
                tracing::error!(job = %entry.name, error = %err.chain(), "could not plan the job's run")
            }
        }
    }
    let retries = db::retries_due(&mut *ctx.pool.acquire().await?, now).await?;
    for row in retries {
        let Some(entry) = registry.get(&row.name) else {
            continue; // a job no longer in the policy
        };
        if row.status == "running" && row.attempts >= MAX_ATTEMPTS {
            // The process running its last attempt stopped: give up as for a failure.
            let mut conn = ctx.pool.acquire().await?;
            let error = "the process running it stopped";
            db::fail(
                &mut conn,
                &row.name,
                row.scheduled_at,
                row.attempts,
                now,
                error,
                None,
            )
            .await?;
            continue;
        }
        let lapses = now + Duration::minutes(LEASE_MINUTES);
        if db::reclaim(&mut *ctx.pool.acquire().await?, &row, now, lapses).await? {
            let run = Run::new(entry, row.scheduled_at, row.attempts + 1, now);
            execute(ctx, entry, run, &mut pass).await;
        }
    }
    // Timers after the jobs: what a job just planned for now is fired in the same pass.
    let now = ctx.clock.now();
    for (name, timer) in registry.timers() {
        if let Err(err) = timer.fire(ctx, now).await {
            tracing::error!(timer = %name, error = %err.chain(), "a timer failed; it is tried again at the next pass");
        }
    }
    ctx.outbox_wake.notify_one();
    registry.passes.send_modify(|n| *n += 1);
    Ok(pass)
}

/// Skips what was missed beyond the grace, and claims the run to make now, if any.
async fn due(
    ctx: &Context,
    registry: &Registry,
    entry: &Entry,
    now: DateTime<Utc>,
    pass: &mut Pass,
) -> Result<Option<DateTime<Utc>>, AppError> {
    let grace = registry.grace();
    let mut conn = ctx.pool.acquire().await?;
    let latest = db::latest(&mut conn, &entry.name).await?;
    // Instants are taken strictly after `from`: a job never run looks back to just before
    // `now - grace`, so that with a zero grace an instant at exactly `now` still runs.
    let never_run = || {
        let back = grace.checked_add(&Duration::nanoseconds(1))?;
        now.checked_sub_signed(back)
    };
    let from = latest
        .map_or_else(never_run, |r| Some(r.scheduled_at))
        .unwrap_or(DateTime::<Utc>::MIN_UTC)
        .max(now - Duration::days(LOOK_BACK_DAYS));
    // The instants in (from, now]: how many, the first, and the last two.
    let (mut count, mut first, mut before_last, mut last) = (0u64, None, None, None);
    for at in entry.schedule.fire_times(entry.tz, from) {
        if at > now {
            break;
        }
        count += 1;
        first.get_or_insert(at);
        before_last = last.replace(at);
    }
    let Some(last) = last else {
        return Ok(None);
    };
    let runs = now - last <= grace;
    let (skipped, latest_skipped) = if runs {
        (count - 1, before_last)
    } else {
        (count, Some(last))
    };
    if let (Some(at), Some(first)) = (latest_skipped, first) {
        if db::skip(&mut conn, &entry.name, at, now).await? {
            tracing::warn!(
                job = %entry.name,
                skipped,
                first = %first,
                last = %at,
                grace = %humantime::format_duration(grace.to_std().unwrap_or_default()),
                "scheduled runs missed while the bot was down are skipped: older than the grace (schedules.grace), or followed by a later run"
            );
            ctx.metrics.jobs.skipped(&entry.name, skipped);
            pass.skipped += skipped;
        }
    }
    if !runs {
        return Ok(None);
    }
    let late = now - last > Duration::seconds(LATE_AFTER_SECS);
    let lapses = now + Duration::minutes(LEASE_MINUTES);
    let claimed = db::claim(&mut conn, &entry.name, last, now, late, lapses).await?;
    Ok(claimed.then_some(last))
}

/// One attempt of a claimed run, and its outcome recorded.
async fn execute(ctx: &Context, entry: &Entry, run: Run, pass: &mut Pass) {
    ctx.metrics.jobs.ran(&entry.name);
    pass.ran += 1;
    let outcome = AssertUnwindSafe(entry.job.run(ctx, &run))
        .catch_unwind()
        .await
        .unwrap_or_else(|_| Err(AppError::Other(anyhow::anyhow!("the job panicked"))));
    let recorded = match outcome {
        Ok(()) if run.finished() => Ok(()),
        Ok(()) => finish(ctx, &run).await,
        Err(err) => {
            ctx.metrics.jobs.failed(&entry.name);
            pass.failed += 1;
            failed(ctx, &run, &err).await
        }
    };
    if let Err(err) = recorded {
        tracing::error!(job = %run.job, error = %err.chain(), "could not record the job's run");
    }
}

async fn finish(ctx: &Context, run: &Run) -> Result<(), AppError> {
    let mut conn = ctx.pool.acquire().await?;
    run.finish(&mut conn, ctx.clock.now()).await?;
    tracing::info!(job = %run.job, scheduled_at = %run.scheduled_at, late = run.late, "scheduled job ran");
    Ok(())
}

async fn failed(ctx: &Context, run: &Run, err: &AppError) -> Result<(), AppError> {
    let now = ctx.clock.now();
    let retry_at = (run.attempt < MAX_ATTEMPTS)
        .then(|| now + Duration::seconds(RETRY_BASE_SECS << (run.attempt - 1).clamp(0, 20)));
    let error = err.chain();
    let mut conn = ctx.pool.acquire().await?;
    db::fail(
        &mut conn,
        &run.job,
        run.scheduled_at,
        run.attempt,
        now,
        &error,
        retry_at,
    )
    .await?;
    match retry_at {
        Some(at) => tracing::warn!(
            job = %run.job, scheduled_at = %run.scheduled_at, attempt = run.attempt,
            retry_at = %at, error = %error, "scheduled job failed; it will be retried"
        ),
        None => tracing::error!(
            job = %run.job, scheduled_at = %run.scheduled_at, attempt = run.attempt,
            error = %error, "scheduled job failed on its last attempt; given up"
        ),
    }
    Ok(())
}
