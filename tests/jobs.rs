//! Scheduled jobs end to end on a manual clock, a real SQLite file and the fake Slack: the
//! on-call handoff posts once however the bot restarts; missed runs inside the grace run
//! once at start-up, older ones are skipped and counted; racing runners run a job once; a
//! failing job is retried, counted and finally given up; the `jobs` listing.

mod common;

use chrono::{DateTime, Duration, Utc};
use common::*;
use futures_util::future::BoxFuture;
use platform_desk::clock::{Clock, ManualClock};
use platform_desk::context::{AppError, Context};
use platform_desk::jobs::{list, runner, Job, Registry, Run};
use platform_desk::metrics::Metrics;
use platform_desk::outbox::{self, OutboxMessage};
use platform_desk::settings::CronSchedule;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use tokio::sync::Notify;

const TEAM_CHANNEL: &str = "C01PLATTEAM";
const JOBS_CHANNEL: &str = "C0JOBS";
const HANDOFF: &str = "oncall_handoff";
/// Monday 30 November 2026, 10:00 in Berlin: the built-in policy's handoff.
const MONDAY_HANDOFF: &str = "2026-11-30T09:00:00Z";
const NEXT_HANDOFF: &str = "2026-12-07T09:00:00Z";

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

fn options(clock: &ManualClock) -> Options {
    Options {
        clock: Arc::new(clock.clone()),
        ..Options::default()
    }
}

/// Waits (up to 10 s) until the app's job runner has completed `n` passes.
async fn runner_passes(app: &TestApp, n: u64) {
    let mut passes = app.running.as_ref().unwrap().jobs.passes();
    let reached = tokio::time::timeout(
        std::time::Duration::from_secs(10),
        passes.wait_for(|p| *p >= n),
    )
    .await;
    assert!(reached.is_ok(), "the job runner did not make {n} pass(es)");
}

/// The texts delivered to `channel` so far, once the outbox is settled.
async fn posted_to(app: &TestApp, channel: &str) -> Vec<String> {
    app.settled().await;
    app.fake
        .successful_calls_to("chat.postMessage")
        .into_iter()
        .filter(|c| c.body["channel"] == channel)
        .map(|c| c.body["text"].as_str().unwrap_or("").to_string())
        .collect()
}

async fn handoffs_posted(app: &TestApp) -> usize {
    posted_to(app, TEAM_CHANNEL)
        .await
        .iter()
        .filter(|t| t.contains("On-call handoff"))
        .count()
}

/// (status, attempts, late) of the handoff run at `scheduled`.
async fn handoff_row(app: &TestApp, scheduled: &str) -> (String, i64, i64) {
    let key = platform_desk::clock::db_time(at(scheduled));
    let status = app
        .text(&format!(
            "select status from job_runs where name = '{HANDOFF}' and scheduled_at = '{key}'"
        ))
        .await
        .unwrap_or_default();
    let attempts = app
        .scalar(&format!(
            "select coalesce(max(attempts), -1) from job_runs where name = '{HANDOFF}' and scheduled_at = '{key}'"
        ))
        .await;
    let late = app
        .scalar(&format!(
            "select coalesce(max(late), -1) from job_runs where name = '{HANDOFF}' and scheduled_at = '{key}'"
        ))
        .await;
    (status, attempts, late)
}

fn ctx(app: &TestApp) -> &Context {
    &app.running.as_ref().unwrap().app
}

#[tokio::test]
async fn a_restart_at_the_handoff_minute_posts_the_handoff_once() {
    let clock = ManualClock::new(at(MONDAY_HANDOFF));
    let app = spawn_with(options(&clock)).await;
    runner_passes(&app, 1).await;
    assert_eq!(
        handoffs_posted(&app).await,
        1,
        "the runner's first pass ran it"
    );

    // Restarted at the same minute: the new runner's first pass, and another pass racing
    // it, find the run recorded.
    let app = app.restart(options(&clock)).await;
    runner_passes(&app, 1).await;
    app.step().await;
    clock.advance(Duration::seconds(30));
    app.step().await;
    assert_eq!(handoffs_posted(&app).await, 1, "never twice");
    assert_eq!(
        handoff_row(&app, MONDAY_HANDOFF).await,
        ("done".to_string(), 1, 0)
    );
    let dms = posted_to(&app, "U01ALICE").await.len() + posted_to(&app, "U01BOB").await.len();
    assert_eq!(dms, 1, "one DM to the incoming person");
}

#[tokio::test]
async fn a_handoff_missed_while_down_runs_once_at_start_up_within_the_grace() {
    let clock = ManualClock::new(at(MONDAY_HANDOFF));
    let mut app = spawn_with(options(&clock)).await;
    runner_passes(&app, 1).await;
    assert_eq!(handoffs_posted(&app).await, 1);
    app.stop().await;

    // Down over the next handoff; back 40 minutes after it (the grace is 1h).
    clock.set(at(NEXT_HANDOFF) + Duration::minutes(40));
    let app = app.restart(options(&clock)).await;
    runner_passes(&app, 1).await;
    assert_eq!(handoffs_posted(&app).await, 2, "the missed handoff ran");
    assert_eq!(
        handoff_row(&app, NEXT_HANDOFF).await,
        ("done".to_string(), 1, 1),
        "recorded late"
    );
    app.step().await;
    assert_eq!(handoffs_posted(&app).await, 2, "once");
    let (_, _, skipped) = ctx(&app).metrics.jobs.counts(HANDOFF);
    assert_eq!(skipped, 0);
}

#[tokio::test]
async fn a_handoff_missed_beyond_the_grace_is_skipped_logged_and_counted() {
    let clock = ManualClock::new(at(MONDAY_HANDOFF));
    let mut app = spawn_with(options(&clock)).await;
    runner_passes(&app, 1).await;
    app.stop().await;

    // Back two hours after the next handoff: too late to announce it.
    clock.set(at(NEXT_HANDOFF) + Duration::hours(2));
    let app = app.restart(options(&clock)).await;
    runner_passes(&app, 1).await;
    app.step().await;
    assert_eq!(
        handoffs_posted(&app).await,
        1,
        "only the first one was posted"
    );
    assert_eq!(
        handoff_row(&app, NEXT_HANDOFF).await,
        ("skipped".to_string(), 0, 1)
    );
    let metrics = app.metrics().await;
    assert!(
        metrics.contains("platform_desk_jobs_skipped_total{job=\"oncall_handoff\"} 1\n"),
        "{metrics}"
    );
    let jobs = list::statuses(
        &mut ctx(&app).pool.acquire().await.unwrap(),
        &app.running.as_ref().unwrap().jobs,
        clock.now(),
    )
    .await
    .unwrap();
    assert_eq!(jobs[0].last_status.as_deref(), Some("skipped"));
    assert!(
        list::to_text(&jobs).contains("skipped (missed beyond schedules.grace)"),
        "{}",
        list::to_text(&jobs)
    );

    // The handoff after it runs as usual.
    clock.set(at("2026-12-14T09:00:00Z"));
    app.step().await;
    assert_eq!(handoffs_posted(&app).await, 2);
}

/// A job that posts to [`JOBS_CHANNEL`] in the transaction that records its run, failing
/// its first `fail_first` attempts.
struct Posting {
    attempts: Arc<AtomicUsize>,
    fail_first: usize,
}

impl Job for Posting {
    fn run<'a>(&'a self, ctx: &'a Context, run: &'a Run) -> BoxFuture<'a, Result<(), AppError>> {
        Box::pin(async move {
            let attempt = self.attempts.fetch_add(1, Ordering::SeqCst) + 1;
            // Yield, so that racing runners interleave.
            tokio::task::yield_now().await;
            if attempt <= self.fail_first {
                return Err(AppError::Slack(format!("attempt {attempt} failed")));
            }
            let now = ctx.clock.now();
            let mut tx = ctx.pool.begin_with("begin immediate").await?;
            if !run.finish(&mut tx, now).await? {
                return Ok(());
            }
            let text = format!("job ran for {}", run.scheduled_at);
            let message = OutboxMessage::post(
                JOBS_CHANNEL,
                serde_json::json!({ "channel": JOBS_CHANNEL, "text": text }),
            );
            outbox::db::insert_all(
                &mut tx,
                &[(None, message)],
                &platform_desk::clock::db_time(now),
            )
            .await?;
            tx.commit().await?;
            Ok(())
        })
    }
}

/// A registry with one job, `name`, at 09:30 UTC daily.
fn registry(name: &str, job: Posting) -> Registry {
    let mut jobs = Registry::new(std::time::Duration::from_secs(3600));
    let cron = CronSchedule::parse("0 30 9 * * *").unwrap();
    jobs.add(name, cron, chrono_tz::UTC, job);
    jobs
}

/// A second process's context on the same database file.
async fn second_process(app: &TestApp, clock: &ManualClock) -> Context {
    let url = format!("sqlite://{}", app.db_path.display());
    let first = ctx(app);
    Context {
        pool: platform_desk::store::connect(&url).await.unwrap(),
        policy: first.policy.clone(),
        clock: Arc::new(clock.clone()),
        metrics: Arc::new(Metrics::default()),
        outbox_wake: Arc::new(Notify::new()),
        timer_wake: Default::default(),
        jobs_wake: Arc::new(Notify::new()),
        paging_enabled: false,
        bot_user: OnceLock::new(),
        slack: Arc::new(platform_desk::slack::port::WebApiPort(
            platform_desk::slack::web_api::WebApi::new(&app.fake.api_url(), None),
        )),
    }
}

#[tokio::test]
async fn runners_racing_at_the_minute_run_a_job_once() {
    let clock = ManualClock::new(at("2026-12-01T09:29:59Z"));
    let app = spawn_with(options(&clock)).await;
    let attempts = Arc::new(AtomicUsize::new(0));
    let jobs = registry(
        "race",
        Posting {
            attempts: attempts.clone(),
            fail_first: 0,
        },
    );
    let other = second_process(&app, &clock).await;
    clock.set(at("2026-12-01T09:30:00Z"));
    let here = ctx(&app);
    let (a, b, c, d) = tokio::join!(
        runner::step(here, &jobs),
        runner::step(here, &jobs),
        runner::step(&other, &jobs),
        runner::step(&other, &jobs),
    );
    let ran: usize = [a, b, c, d].into_iter().map(|p| p.unwrap().ran).sum();
    assert_eq!(ran, 1, "one runner claimed the run");
    assert_eq!(attempts.load(Ordering::SeqCst), 1);
    ctx(&app).outbox_wake.notify_one();
    assert_eq!(posted_to(&app, JOBS_CHANNEL).await.len(), 1);
    // A later pass in the same minute finds it done.
    clock.advance(Duration::seconds(20));
    assert_eq!(runner::step(&other, &jobs).await.unwrap().ran, 0);
    assert_eq!(posted_to(&app, JOBS_CHANNEL).await.len(), 1);
}

#[tokio::test]
async fn a_failing_job_is_retried_with_backoff_counted_and_recorded() {
    let clock = ManualClock::new(at("2026-12-01T09:30:00Z"));
    let app = spawn_with(options(&clock)).await;
    let attempts = Arc::new(AtomicUsize::new(0));
    let jobs = registry(
        "flaky",
        Posting {
            attempts: attempts.clone(),
            fail_first: 2,
        },
    );
    let here = ctx(&app);
    let row = || async {
        let mut conn = here.pool.acquire().await.unwrap();
        platform_desk::jobs::db::latest(&mut conn, "flaky")
            .await
            .unwrap()
            .unwrap()
    };

    let first = runner::step(here, &jobs).await.unwrap();
    assert_eq!((first.ran, first.failed), (1, 1));
    let failed = row().await;
    assert_eq!(failed.status, "failed");
    assert_eq!(
        failed.error.as_deref(),
        Some("a Slack call failed: attempt 1 failed")
    );
    assert_eq!(failed.retry_at, Some(clock.now() + Duration::minutes(1)));
    // Not before its time.
    clock.advance(Duration::seconds(59));
    assert_eq!(runner::step(here, &jobs).await.unwrap().ran, 0);
    clock.advance(Duration::seconds(1));
    assert_eq!(runner::step(here, &jobs).await.unwrap().failed, 1);
    assert_eq!(
        row().await.retry_at,
        Some(clock.now() + Duration::minutes(2)),
        "backoff doubles"
    );
    clock.advance(Duration::minutes(2));
    let third = runner::step(here, &jobs).await.unwrap();
    assert_eq!((third.ran, third.failed), (1, 0));
    let done = row().await;
    assert_eq!(
        (done.status.as_str(), done.attempts, done.error),
        ("done", 3, None)
    );
    assert_eq!(here.metrics.jobs.counts("flaky"), (3, 2, 0));
    here.outbox_wake.notify_one();
    assert_eq!(posted_to(&app, JOBS_CHANNEL).await.len(), 1, "posted once");
    let metrics = app.metrics().await;
    assert!(
        metrics.contains("platform_desk_job_failures_total{job=\"flaky\"} 2\n")
            && metrics.contains("platform_desk_job_runs_total{job=\"flaky\"} 3\n"),
        "{metrics}"
    );
}

#[tokio::test]
async fn a_job_that_keeps_failing_is_given_up_after_its_last_attempt() {
    let clock = ManualClock::new(at("2026-12-01T09:30:00Z"));
    let app = spawn_with(options(&clock)).await;
    let attempts = Arc::new(AtomicUsize::new(0));
    let jobs = registry(
        "broken",
        Posting {
            attempts: attempts.clone(),
            fail_first: usize::MAX,
        },
    );
    let here = ctx(&app);
    for _ in 0..8 {
        runner::step(here, &jobs).await.unwrap();
        clock.advance(Duration::minutes(20));
    }
    assert_eq!(
        attempts.load(Ordering::SeqCst),
        runner::MAX_ATTEMPTS as usize
    );
    let row = platform_desk::jobs::db::latest(&mut here.pool.acquire().await.unwrap(), "broken")
        .await
        .unwrap()
        .unwrap();
    assert_eq!((row.status.as_str(), row.retry_at), ("gave_up", None));
    let listed = list::statuses(&mut here.pool.acquire().await.unwrap(), &jobs, clock.now())
        .await
        .unwrap();
    assert!(
        list::to_text(&listed).contains("failed (given up): a Slack call failed: attempt 5 failed"),
        "{}",
        list::to_text(&listed)
    );
}

#[tokio::test]
async fn a_run_whose_runner_stopped_is_taken_over_after_its_claim_lapses_and_runs_once() {
    let clock = ManualClock::new(at("2026-12-01T09:30:00Z"));
    let app = spawn_with(options(&clock)).await;
    let here = ctx(&app);
    // A runner claimed the run and stopped before finishing it.
    let mut conn = here.pool.acquire().await.unwrap();
    let claimed = platform_desk::jobs::db::claim(
        &mut conn,
        "orphan",
        clock.now(),
        clock.now(),
        false,
        clock.now() + Duration::minutes(runner::LEASE_MINUTES),
    )
    .await
    .unwrap();
    drop(conn);
    assert!(claimed);
    let attempts = Arc::new(AtomicUsize::new(0));
    let jobs = registry(
        "orphan",
        Posting {
            attempts: attempts.clone(),
            fail_first: 0,
        },
    );
    assert_eq!(
        runner::step(here, &jobs).await.unwrap().ran,
        0,
        "still held"
    );
    clock.advance(Duration::minutes(runner::LEASE_MINUTES));
    assert_eq!(
        runner::step(here, &jobs).await.unwrap().ran,
        1,
        "taken over"
    );
    assert_eq!(runner::step(here, &jobs).await.unwrap().ran, 0);
    here.outbox_wake.notify_one();
    assert_eq!(posted_to(&app, JOBS_CHANNEL).await.len(), 1);
}

#[tokio::test]
async fn the_runner_sleeps_until_the_next_run_and_wakes_when_the_clock_is_moved() {
    let clock = ManualClock::new(at("2026-11-30T08:00:00Z"));
    let app = spawn_with(options(&clock)).await;
    runner_passes(&app, 1).await;
    let here = ctx(&app);
    let next = runner::next_wake(here, &app.running.as_ref().unwrap().jobs, clock.now())
        .await
        .unwrap();
    assert_eq!(next, Some(at(MONDAY_HANDOFF)));
    // The sandbox's clock control and tests move the clock, then say so.
    clock.set(at(MONDAY_HANDOFF));
    here.clock_moved();
    runner_passes(&app, 2).await;
    assert_eq!(handoffs_posted(&app).await, 1);
}

#[tokio::test]
async fn the_jobs_listing_shows_the_handoff_in_words_with_its_last_and_next_run() {
    let clock = ManualClock::new(at(MONDAY_HANDOFF));
    let app = spawn_with(options(&clock)).await;
    runner_passes(&app, 1).await;
    clock.advance(Duration::hours(1));
    let jobs = list::statuses(
        &mut ctx(&app).pool.acquire().await.unwrap(),
        &app.running.as_ref().unwrap().jobs,
        clock.now(),
    )
    .await
    .unwrap();
    let json = serde_json::to_value(&jobs).unwrap();
    assert_eq!(
        json[0],
        serde_json::json!({
            "name": "oncall_handoff",
            "schedule": "0 0 10 * * Mon",
            "description": "Mondays at 10:00",
            "timezone": "Europe/Berlin",
            "last_run": "2026-11-30T09:00:00Z",
            "last_status": "done",
            "next_run": "2026-12-07T09:00:00Z",
        })
    );
    let text = list::to_text(&jobs[..1]);
    assert_eq!(
        text,
        "oncall_handoff\n  schedule  Mondays at 10:00 (0 0 10 * * Mon)\n  timezone  Europe/Berlin\n  last run  Mon 2026-11-30 10:00 CET, done\n  next run  Mon 2026-12-07 10:00 CET\n"
    );
}

#[tokio::test]
async fn with_no_grace_a_job_runs_only_at_its_instant() {
    let clock = ManualClock::new(at("2026-12-01T09:30:00Z"));
    let app = spawn_with(options(&clock)).await;
    let attempts = Arc::new(AtomicUsize::new(0));
    let cron = || CronSchedule::parse("0 30 9 * * *").unwrap();
    let mut strict = Registry::new(std::time::Duration::ZERO);
    strict.add(
        "strict",
        cron(),
        chrono_tz::UTC,
        Posting {
            attempts: attempts.clone(),
            fail_first: 0,
        },
    );
    let here = ctx(&app);
    assert_eq!(runner::step(here, &strict).await.unwrap().ran, 1, "on time");
    // The next day the runner comes a second late: that run is skipped.
    clock.set(at("2026-12-02T09:30:01Z"));
    let late = runner::step(here, &strict).await.unwrap();
    assert_eq!((late.ran, late.skipped), (0, 1));
    assert_eq!(attempts.load(Ordering::SeqCst), 1);
}
