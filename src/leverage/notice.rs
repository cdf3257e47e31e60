//! The weekly look at the support share (`support_share_notice`, Mondays at 09:00 in
//! `sla.timezone`): when support took more than `capacity.support_band` of the team's time
//! two weeks running, the team channel hears it, once per streak of weeks above the band.
//! The streak is named by its first week and recorded (`support_share_notices`) in the
//! transaction that writes the message and finishes the run.

use super::intervals::{local_day, week_of};
use super::{db, messages, weeks, Against};
use crate::clock::db_time;
use crate::context::{AppError, Context};
use crate::jobs::{Job, Registry, Run};
use crate::outbox::{self, OutboxMessage};
use crate::settings::{CronSchedule, Policy};
use chrono::Duration;
use futures_util::future::BoxFuture;

/// The job's name (its runs in `job_runs`).
pub const NAME: &str = "support_share_notice";
/// Mondays at 09:00: the week before has just ended.
const SCHEDULE: &str = "0 0 9 * * Mon";
/// How far back a streak is traced to find its first week.
const LOOKBACK_WEEKS: i64 = 26;

pub fn schedule() -> CronSchedule {
    CronSchedule::parse(SCHEDULE).expect("a valid cron expression (tested)")
}

/// Registers the notice when there is a team channel to tell.
pub fn register(jobs: &mut Registry, policy: &Policy) {
    if policy.slack.team_channel.is_some() {
        jobs.add(NAME, schedule(), policy.sla.timezone, Notice);
    }
}

pub struct Notice;

impl Job for Notice {
    fn run<'a>(&'a self, ctx: &'a Context, run: &'a Run) -> BoxFuture<'a, Result<(), AppError>> {
        Box::pin(notice(ctx, run))
    }
}

async fn notice(ctx: &Context, run: &Run) -> Result<(), AppError> {
    let policy = &ctx.policy;
    let Some(channel) = policy.slack.team_channel.clone() else {
        return Ok(());
    };
    let now = ctx.clock.now();
    let last = week_of(local_day(policy.sla.timezone, run.scheduled_at)) - Duration::days(7);
    let first = last - Duration::days(7 * (LOOKBACK_WEEKS - 1));
    let mut tx = ctx.pool.begin_with("begin immediate").await?;
    let weeks = weeks(&mut tx, policy, first, last, now).await?;
    let streak = weeks
        .iter()
        .rev()
        .take_while(|w| w.against_band == Against::Above)
        .count();
    let mut told = false;
    if streak >= 2 {
        let start = &weeks[weeks.len() - streak].week;
        if db::record_notice(&mut tx, start, now).await? {
            let [.., earlier, last] = weeks.as_slice() else {
                unreachable!("a streak of two has two weeks")
            };
            let text = messages::above_band(
                earlier,
                last,
                policy.capacity.support_band,
                policy.capacity.team_hours_per_week(),
            );
            let post = OutboxMessage::post(
                &channel,
                serde_json::json!({ "channel": channel, "text": text }),
            );
            outbox::db::insert_all(&mut tx, &[(None, post)], &db_time(now)).await?;
            told = true;
        }
    }
    if !run.finish(&mut tx, now).await? {
        return Ok(());
    }
    tx.commit().await?;
    if told {
        ctx.outbox_wake.notify_one();
        tracing::info!(job = %run.job, streak, "support above the band two weeks running: team told");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_schedule_parses() {
        assert_eq!(super::schedule().expr(), "0 0 9 * * Mon");
    }
}
