//! The on-call handoff, a scheduled job (`oncall_handoff`, on `oncall.handoff` in
//! `sla.timezone`): the incoming person hears what is open and at risk, the team channel
//! hears who is on call now.

use crate::clock::db_time;
use crate::context::{AppError, Context};
use crate::jobs::{Job, Registry, Run};
use crate::oncall;
use crate::outbox::{self, OutboxMessage};
use crate::settings::Policy;
use crate::tickets::{db as tdb, Ticket};
use chrono::Duration;
use futures_util::future::BoxFuture;

/// The job's name: its runs in `job_runs`, its `job` label in the metrics.
pub const NAME: &str = "oncall_handoff";

/// Registers the handoff when the policy has an `[oncall]` section.
pub fn register(jobs: &mut Registry, policy: &Policy) {
    if let Some(oncall) = &policy.oncall {
        jobs.add(NAME, oncall.handoff.clone(), policy.sla.timezone, Handoff);
    }
}

pub struct Handoff;

impl Job for Handoff {
    fn run<'a>(&'a self, ctx: &'a Context, run: &'a Run) -> BoxFuture<'a, Result<(), AppError>> {
        Box::pin(handoff(ctx, run))
    }
}

/// The handoff scheduled at `run.scheduled_at`: the incoming person gets the open tickets
/// and the ones at risk, and the team channel is told. The messages and the run's record
/// commit together: once per handoff.
async fn handoff(app: &Context, run: &Run) -> Result<(), AppError> {
    let now = app.clock.now();
    let at = run.scheduled_at;
    let mut tx = app.pool.begin_with("begin immediate").await?;
    if !run.finish(&mut tx, now).await? {
        return Ok(());
    }
    let Some((incoming, next)) = oncall::current::now_and_next(app, &mut tx, at).await? else {
        tx.commit().await?;
        return Ok(());
    };
    let queue = tdb::queue(&mut tx, 20).await?;
    let soon = now + Duration::hours(24);
    let at_risk: Vec<&Ticket> = queue
        .iter()
        .filter(|t| {
            t.first_response_breached
                || t.resolution_breached
                || [
                    t.first_response_due
                        .filter(|_| t.first_response_at.is_none()),
                    t.resolution_due,
                ]
                .into_iter()
                .flatten()
                .any(|d| d <= soon)
        })
        .collect();
    let list = |ts: &[&Ticket]| {
        ts.iter()
            .map(|t| {
                format!(
                    "• *{}* {} ({})",
                    t.key,
                    crate::mrkdwn::escape(&t.title),
                    t.priority
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
    };
    let until = if incoming.until == oncall::rotation::NEVER {
        String::new()
    } else {
        format!(" until {}", crate::mrkdwn::when(incoming.until))
    };
    let dm = format!(
        ":pager: You are on call now{until}. {} open ticket(s){}{}",
        queue.len(),
        if at_risk.is_empty() {
            ". None at risk.".to_string()
        } else {
            format!("; at risk of breaching within a day:\n{}", list(&at_risk))
        },
        next.map(|n| format!("\nNext on call: {}", crate::mrkdwn::user(&n.user)))
            .unwrap_or_default()
    );
    let mut out = vec![OutboxMessage::post(
        &incoming.user,
        serde_json::json!({ "channel": incoming.user, "text": dm }),
    )];
    if let Some(channel) = &app.policy.slack.team_channel {
        let text = format!(
            ":pager: On-call handoff: {} is on call now{until}.",
            crate::mrkdwn::user(&incoming.user)
        );
        out.push(OutboxMessage::post(
            channel,
            serde_json::json!({ "channel": channel, "text": text }),
        ));
    }
    let rows: Vec<_> = out.into_iter().map(|m| (None, m)).collect();
    outbox::db::insert_all(&mut tx, &rows, &db_time(now)).await?;
    tx.commit().await?;
    app.outbox_wake.notify_one();
    Ok(())
}
