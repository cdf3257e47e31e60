//! The stale reminders: one gentle DM to each owner of in-progress items that have not
//! changed in `roadmap.stale_after`, on working days at 10:00 in the policy's timezone,
//! recorded in `roadmap_items.reminded_at` so it is not repeated until the item changes or
//! another `stale_after` passes.

use super::{db, messages};
use crate::clock::db_time;
use crate::context::{AppError, Context};
use crate::jobs::{Job, Run};
use crate::outbox::{self, OutboxMessage};
use crate::settings::CronSchedule;
use chrono::Duration;
use futures_util::future::BoxFuture;
use std::collections::BTreeMap;

/// Weekdays at 10:00: a time people read messages, not the start of their day.
const SCHEDULE: &str = "0 0 10 * * Mon-Fri";

pub fn schedule() -> CronSchedule {
    CronSchedule::parse(SCHEDULE).expect("a valid cron expression (tested)")
}

pub struct Reminders;

impl Job for Reminders {
    fn run<'a>(&'a self, ctx: &'a Context, run: &'a Run) -> BoxFuture<'a, Result<(), AppError>> {
        Box::pin(remind(ctx, run))
    }
}

async fn remind(ctx: &Context, run: &Run) -> Result<(), AppError> {
    let now = ctx.clock.now();
    let mut tx = ctx.pool.begin_with("begin immediate").await?;
    if !run.finish(&mut tx, now).await? {
        return Ok(());
    }
    // Holidays too are no day for nudges.
    let today = run.scheduled_at.with_timezone(&run.tz).date_naive();
    if !ctx.policy.business_hours.is_working_day(today) {
        tx.commit().await?;
        return Ok(());
    }
    let stale_after = Duration::from_std(ctx.policy.roadmap.stale_after).unwrap_or(Duration::MAX);
    let cutoff = now
        .checked_sub_signed(stale_after)
        .unwrap_or(chrono::DateTime::<chrono::Utc>::MIN_UTC);
    let mut by_owner: BTreeMap<String, Vec<db::ItemRow>> = BTreeMap::new();
    for item in db::stale(&mut tx, cutoff).await? {
        match item.owner.clone() {
            // Only a user id can be sent a DM; an owner written as free text is not nudged.
            Some(owner) if crate::mrkdwn::is_slack_id(&owner) && owner.starts_with(['U', 'W']) => {
                by_owner.entry(owner).or_default().push(item)
            }
            _ => {}
        }
    }
    let mut rows = Vec::new();
    for (owner, items) in &by_owner {
        for item in items {
            db::reminded(&mut tx, item.id, now).await?;
        }
        let text = messages::stale_reminder(items, now);
        let payload = serde_json::json!({ "channel": owner, "text": text });
        rows.push((None, OutboxMessage::post(owner, payload)));
    }
    outbox::db::insert_all(&mut tx, &rows, &db_time(now)).await?;
    tx.commit().await?;
    ctx.outbox_wake.notify_one();
    if !rows.is_empty() {
        tracing::info!(owners = rows.len(), "stale roadmap items: owners reminded");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_reminders_run_on_weekdays_at_ten() {
        let schedule = super::schedule();
        assert_eq!(schedule.describe(), "Mondays to Fridays at 10:00");
    }
}
