//! The survey's timer (a `jobs::Timer`): sends each person's message when their time comes,
//! the reminder halfway, and closes surveys whose time is up. Each effect is claimed by a
//! conditional update in the transaction of its outbox rows.

use super::db::{self, Survey};
use super::{close, messages};
use crate::context::{AppError, Context};
use crate::jobs::Timer;
use crate::outbox::OutboxMessage;
use chrono::{DateTime, Utc};
use futures_util::future::BoxFuture;
use std::collections::HashMap;

/// Deliveries written per transaction.
const BATCH: i64 = 200;

pub struct SurveyTimer;

impl Timer for SurveyTimer {
    fn next_at<'a>(
        &'a self,
        ctx: &'a Context,
    ) -> BoxFuture<'a, Result<Option<DateTime<Utc>>, AppError>> {
        Box::pin(async move {
            let reminders = ctx.policy.survey.as_ref().is_some_and(|s| s.reminder);
            Ok(db::next_due(&mut *ctx.pool.acquire().await?, reminders).await?)
        })
    }

    fn fire<'a>(
        &'a self,
        ctx: &'a Context,
        now: DateTime<Utc>,
    ) -> BoxFuture<'a, Result<(), AppError>> {
        Box::pin(async move {
            deliver(ctx, now).await?;
            remind(ctx, now).await?;
            for id in db::closes_due(&mut *ctx.pool.acquire().await?, now).await? {
                close::close(ctx, id, now).await?;
            }
            Ok(())
        })
    }
}

/// Sends every message due by `now`.
async fn deliver(ctx: &Context, now: DateTime<Utc>) -> Result<(), AppError> {
    let mut surveys: HashMap<i64, Option<Survey>> = HashMap::new();
    let mut sent = 0usize;
    loop {
        let due = db::due_deliveries(&mut *ctx.pool.acquire().await?, now, BATCH).await?;
        if due.is_empty() {
            break;
        }
        let mut tx = ctx.pool.begin_with("begin immediate").await?;
        for (id, user) in &due {
            if !db::mark_delivered(&mut tx, *id, user).await? {
                continue;
            }
            if !surveys.contains_key(id) {
                let s = db::by_id(&mut tx, *id).await?;
                surveys.insert(*id, s);
            }
            let Some(survey) = surveys.get(id).and_then(Option::as_ref) else {
                continue;
            };
            let body = messages::question(survey, user, messages::Shown::default());
            db::say(&mut tx, *id, &OutboxMessage::post(user, body), now).await?;
            sent += 1;
        }
        tx.commit().await?;
        ctx.outbox_wake.notify_one();
        if (due.len() as i64) < BATCH {
            break;
        }
    }
    if sent > 0 {
        tracing::info!(sent, "pulse survey messages queued");
    }
    Ok(())
}

/// The one reminder of each survey whose time for it came, to those who have not answered.
async fn remind(ctx: &Context, now: DateTime<Utc>) -> Result<(), AppError> {
    if !ctx.policy.survey.as_ref().is_some_and(|s| s.reminder) {
        return Ok(());
    }
    for id in db::reminders_due(&mut *ctx.pool.acquire().await?, now).await? {
        let mut tx = ctx.pool.begin_with("begin immediate").await?;
        if !db::claim_reminder(&mut tx, id, now).await? {
            continue;
        }
        let Some(survey) = db::by_id(&mut tx, id).await? else {
            continue;
        };
        let people = db::unanswered(&mut tx, id).await?;
        let shown = messages::Shown {
            reminder: true,
            ..Default::default()
        };
        for user in &people {
            let body = messages::question(&survey, user, shown);
            db::say(&mut tx, id, &OutboxMessage::post(user, body), now).await?;
        }
        tx.commit().await?;
        ctx.outbox_wake.notify_one();
        tracing::info!(
            survey = id,
            reminded = people.len(),
            "pulse survey reminder queued"
        );
    }
    Ok(())
}
