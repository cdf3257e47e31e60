//! The roadmap digest and the stale-item reminders: two scheduled jobs. The digest posts
//! one message to `slack.announce_channel` on `schedules.roadmap_digest`: what changed on the
//! roadmap since the previous digest, what is next, and the week in support from the
//! statistics engine (none in a quiet week with `digest.skip_when_quiet`). The reminders
//! nudge the owners of in-progress items unchanged for `roadmap.stale_after`, on working
//! days at 10:00 in the policy's timezone, once until the item changes or another
//! `stale_after` passes.
//!
//! It reads the roadmap's tables (migration 18) with its own SQL (`db.rs`) and imports no
//! roadmap code: the digest only reads what the roadmap writes, plus `reminded_at`.

pub mod changes;
pub mod db;
pub mod messages;
pub mod stale;

use crate::clock::db_time;
use crate::context::{AppError, Context};
use crate::jobs::{Job, Registry, Run};
use crate::outbox::{self, OutboxMessage};
use crate::settings::Policy;
use crate::stats;
use chrono::Duration;
use futures_util::future::BoxFuture;

/// The digest's job name (its runs in `job_runs`; the previous digest is read there).
pub const DIGEST: &str = "roadmap_digest";
/// The stale reminders' job name.
pub const STALE: &str = "roadmap_stale_reminders";

/// Registers the digest (when the policy has a schedule and an announce channel) and the
/// stale reminders.
pub fn register(jobs: &mut Registry, policy: &Policy) {
    let tz = policy.sla.timezone;
    match (
        &policy.schedules.roadmap_digest,
        &policy.slack.announce_channel,
    ) {
        (Some(schedule), Some(_)) => jobs.add(DIGEST, schedule.clone(), tz, Digest),
        (Some(_), None) => {
            tracing::warn!(
                "schedules.roadmap_digest is set but slack.announce_channel is not: no digest"
            )
        }
        _ => {}
    }
    jobs.add(STALE, stale::schedule(), tz, stale::Reminders);
}

/// The digest job.
pub struct Digest;

impl Job for Digest {
    fn run<'a>(&'a self, ctx: &'a Context, run: &'a Run) -> BoxFuture<'a, Result<(), AppError>> {
        Box::pin(digest(ctx, run))
    }
}

/// One digest: the window runs from the previous digest (or a week back) to now, read and
/// posted in the transaction that records the run, so it is posted once and the next
/// window starts exactly where this one ended.
async fn digest(ctx: &Context, run: &Run) -> Result<(), AppError> {
    let Some(channel) = ctx.policy.slack.announce_channel.clone() else {
        return Ok(());
    };
    let now = ctx.clock.now();
    let mut tx = ctx.pool.begin_with("begin immediate").await?;
    let since = db::previous_digest(&mut tx, &run.job, run.scheduled_at)
        .await?
        .unwrap_or(now - Duration::days(7));
    let changes = changes::fold(&db::changes(&mut tx, since, now).await?);
    let (opened, resolved) = db::tickets_moved(&mut tx, since, now).await?;
    let quiet = changes.is_empty() && opened == 0 && resolved == 0;
    if quiet && ctx.policy.digest.skip_when_quiet {
        if run.finish(&mut tx, now).await? {
            tx.commit().await?;
            tracing::info!(job = %run.job, "a quiet week: no roadmap digest (digest.skip_when_quiet)");
        }
        return Ok(());
    }
    let (next, next_total) = db::planned(&mut tx, messages::NEXT_MAX).await?;
    let report = stats::report(&mut tx, &ctx.policy, 7, &stats::Filters::default(), now).await?;
    let week = messages::Week::from_report(&report);
    let mut payload = messages::digest(&changes, &next, next_total, &week, since);
    payload["channel"] = channel.clone().into();
    if !run.finish(&mut tx, now).await? {
        return Ok(());
    }
    let row = (None, OutboxMessage::post(&channel, payload));
    outbox::db::insert_all(&mut tx, &[row], &db_time(now)).await?;
    tx.commit().await?;
    ctx.outbox_wake.notify_one();
    tracing::info!(job = %run.job, changes = changes.count(), "roadmap digest posted");
    Ok(())
}
