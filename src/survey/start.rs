//! Starting a survey: the scheduled job (`pulse_survey`, at the schedule's first instant
//! anywhere) and `/platform survey start` (at once). Either reads the audience afresh,
//! then records the survey and, per person, when they are asked, in one transaction.

use super::{audience, db, messages, plan};
use crate::clock::db_time;
use crate::context::{AppError, Context};
use crate::jobs::{Job, Run};
use crate::outbox::{self, OutboxMessage};
use crate::settings::SurveyPolicy;
use chrono::{DateTime, Duration, Utc};
use futures_util::future::BoxFuture;
use rand::RngCore;
use serde_json::json;
use sqlx::SqliteConnection;
use std::sync::Arc;

/// The scheduled job.
pub struct Scheduled;

impl Job for Scheduled {
    fn run<'a>(&'a self, ctx: &'a Context, run: &'a Run) -> BoxFuture<'a, Result<(), AppError>> {
        Box::pin(scheduled(ctx, run))
    }
}

async fn scheduled(ctx: &Context, run: &Run) -> Result<(), AppError> {
    let (Some(policy), Some(schedule)) = (&ctx.policy.survey, &ctx.policy.schedules.pulse_survey)
    else {
        return Ok(());
    };
    let people = audience::read(ctx, &policy.audience_channel).await?;
    let first = run.scheduled_at;
    let fallback = ctx.policy.sla.timezone;
    let plan: Vec<(String, DateTime<Utc>)> = people
        .into_iter()
        .map(|p| {
            let at = if policy.local_time {
                plan::deliver_at(schedule, plan::zone(p.tz.as_deref(), fallback), first)
            } else {
                first
            };
            (p.id, at)
        })
        .collect();
    let now = ctx.clock.now();
    let mut tx = ctx.pool.begin_with("begin immediate").await?;
    if !run.finish(&mut tx, now).await? {
        return Ok(());
    }
    if plan.is_empty() {
        tx.commit().await?;
        tracing::warn!(job = %run.job, "nobody to ask in survey.audience_channel: no pulse survey");
        return Ok(());
    }
    let survey = create(&mut tx, policy, first, None, &plan).await?;
    tx.commit().await?;
    tracing::info!(job = %run.job, survey, asked = plan.len(), "pulse survey planned");
    Ok(())
}

/// Records a survey first asked at `first` and its recipients; returns its id.
async fn create(
    tx: &mut SqliteConnection,
    policy: &SurveyPolicy,
    first: DateTime<Utc>,
    started_by: Option<&str>,
    plan: &[(String, DateTime<Utc>)],
) -> Result<i64, AppError> {
    let mut key = [0u8; 32];
    rand::rng().fill_bytes(&mut key);
    let last = plan.iter().map(|(_, at)| *at).max().unwrap_or(first);
    let close_after = Duration::from_std(policy.close_after).unwrap_or(Duration::days(3));
    let (closes_at, remind_at) = plan::close_and_remind(first, last, close_after);
    let new = db::NewSurvey {
        question: &policy.question,
        started_at: first,
        started_by,
        closes_at,
        remind_at: policy.reminder.then_some(remind_at),
        answer_key: &key,
        audience: plan.len() as i64,
    };
    let id = db::insert(tx, &new).await?;
    db::insert_recipients(tx, id, plan).await?;
    Ok(id)
}

/// `/platform survey start`: the platform team only, one survey at a time. The audience is
/// read in the background (hundreds of profiles take longer than Slack waits for an
/// answer); the starter hears by direct message when it has started.
pub async fn command(ctx: Arc<Context>, user: &str) -> Result<String, AppError> {
    if ctx.policy.survey.is_none() {
        return Ok(messages::not_configured().into());
    }
    if !ctx.policy.is_platform_team(user) {
        return Ok(messages::team_only().into());
    }
    if let Some(open) = db::open_one(&mut *ctx.pool.acquire().await?).await? {
        return Ok(messages::already_open(&open));
    }
    let user = user.to_string();
    tokio::spawn(async move {
        if let Err(err) = start_now(&ctx, &user).await {
            tracing::error!(error = %err.chain(), "survey start failed");
        }
    });
    Ok(
        "Starting a pulse survey: reading who to ask. I'll message you when it is on its way."
            .into(),
    )
}

/// Starts a survey now for everyone (local times are for scheduled surveys).
pub async fn start_now(ctx: &Context, starter: &str) -> Result<(), AppError> {
    let Some(policy) = &ctx.policy.survey else {
        return Ok(());
    };
    let people = audience::read(ctx, &policy.audience_channel).await?;
    let now = ctx.clock.now();
    let plan: Vec<(String, DateTime<Utc>)> = people.into_iter().map(|p| (p.id, now)).collect();
    let mut tx = ctx.pool.begin_with("begin immediate").await?;
    let text = if let Some(open) = db::open_one(&mut tx).await? {
        messages::already_open(&open)
    } else if plan.is_empty() {
        messages::nobody_to_ask(&policy.audience_channel)
    } else {
        let id = create(&mut tx, policy, now, Some(starter), &plan).await?;
        let survey = db::by_id(&mut tx, id).await?;
        tracing::info!(
            survey = id,
            asked = plan.len(),
            "pulse survey started by command"
        );
        messages::started(plan.len(), survey.map_or(now, |s| s.closes_at))
    };
    let reply = OutboxMessage::post(starter, json!({ "channel": starter, "text": text }));
    outbox::db::insert_all(&mut tx, &[(None, reply)], &db_time(now)).await?;
    tx.commit().await?;
    ctx.outbox_wake.notify_one();
    // The timer sends the messages now due.
    ctx.jobs_wake.notify_one();
    Ok(())
}
