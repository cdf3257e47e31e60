//! The SLA scheduler: one task that sleeps until the earliest pending timer (or on-call
//! handoff), is woken when new timers are written, and fires each due timer in one
//! transaction that marks it fired and writes its outbox messages. It runs on the injected
//! clock: tests move time and call [`step`].

use super::alerts;
use super::firing::{fire_one, Batch};
use crate::clock::db_time;
use crate::context::wake::TimerWake;
use crate::context::{AppError, Context};
use crate::oncall;
use crate::outbox::{self, OutboxMessage};
use crate::sla::db as sla_db;
use crate::sla::timers::{Due, Kind};
use crate::tickets::{db as tdb, EventKind, Status, Ticket};
use chrono::{DateTime, Duration, Utc};
use std::collections::BTreeMap;
use std::sync::Arc;
use tokio::sync::watch;

/// A timer that fires this long after its due time was missed (the process was down).
const LATE_AFTER_SECS: i64 = 60;
/// Timers read per pass.
const BATCH: i64 = 500;
/// The longest sleep: a safety net, not a poll.
const MAX_SLEEP: std::time::Duration = std::time::Duration::from_secs(3600);

/// Runs until `stop` turns true.
pub async fn run(app: Arc<Context>, wake: Arc<TimerWake>, mut stop: watch::Receiver<bool>) {
    loop {
        wake.awake();
        if let Err(err) = step(&app).await {
            tracing::error!(error = %err.chain(), "SLA scheduler step failed");
        }
        let now = app.clock.now();
        let wait = match next_wake(&app).await {
            Ok(Some(at)) => (at - now).to_std().unwrap_or_default().min(MAX_SLEEP),
            Ok(None) => MAX_SLEEP,
            Err(_) => std::time::Duration::from_secs(1),
        };
        wake.sleeping_until(now + Duration::from_std(wait).unwrap_or(Duration::zero()));
        tokio::select! {
            _ = wake.notified() => {}
            _ = tokio::time::sleep(wait) => {}
            _ = crate::context::stopped(&mut stop) => break,
        }
    }
}

/// When the next timer or handoff is due.
async fn next_wake(app: &Context) -> Result<Option<DateTime<Utc>>, AppError> {
    let timer = sla_db::next_due(&mut *app.pool.acquire().await?).await?;
    let handoff =
        app.policy.oncall.as_ref().and_then(|p| {
            oncall::rotation::next_handoff(p, app.policy.sla.timezone, app.clock.now())
        });
    Ok([timer, handoff].into_iter().flatten().min())
}

/// Fires everything due now; returns how many timers fired.
pub async fn step(app: &Context) -> Result<usize, AppError> {
    let now = app.clock.now();
    let mut fired = 0;
    loop {
        split_chains(app, now).await?;
        let due = sla_db::due(&mut *app.pool.acquire().await?, now, BATCH).await?;
        let count = due.len();
        let (warnings, others): (Vec<Due>, Vec<Due>) =
            due.into_iter().partition(|d| d.kind.is_warning());
        fired += fire_batch(app, others, now).await?;
        fired += fire_warnings(app, warnings, now).await?;
        if (count as i64) < BATCH {
            break;
        }
    }
    handoff(app, now).await?;
    if fired > 0 {
        app.outbox_wake.notify_one();
    }
    Ok(fired)
}

/// Splits every plan whose first timer is due, so the pass that follows sees each due timer
/// as its own row: a warning and a breach both missed while the process was down are then
/// decided together, as they always were.
async fn split_chains(app: &Context, now: DateTime<Utc>) -> Result<(), AppError> {
    loop {
        // Most passes have nothing to split: find out without taking the write lock.
        if !sla_db::has_due_chains(&mut *app.pool.acquire().await?, now).await? {
            return Ok(());
        }
        let mut tx = app.pool.begin_with("begin immediate").await?;
        let split = sla_db::split_due_chains(&mut tx, now, BATCH).await?;
        tx.commit().await?;
        if (split as i64) < BATCH {
            return Ok(());
        }
    }
}

fn is_late(d: &Due, now: DateTime<Utc>) -> bool {
    now - d.due_at > Duration::seconds(LATE_AFTER_SECS)
}

/// Breaches and escalation rounds, many per transaction: each firing marks its timer and
/// writes its messages in the same commit, and one fsync serves the whole batch (thousands
/// of deadlines can fall in the same second). If the batch fails, each is retried alone.
async fn fire_batch(app: &Context, dues: Vec<Due>, now: DateTime<Utc>) -> Result<usize, AppError> {
    if dues.is_empty() {
        return Ok(0);
    }
    match fire_together(app, &dues, now).await {
        Ok(n) => Ok(n),
        Err(err) if dues.len() > 1 => {
            tracing::warn!(error = %err.chain(), "a batch of SLA timers failed; firing one by one");
            let mut n = 0;
            for d in dues {
                n += fire_together(app, std::slice::from_ref(&d), now).await?;
            }
            Ok(n)
        }
        Err(err) => Err(err),
    }
}

async fn fire_together(app: &Context, dues: &[Due], now: DateTime<Utc>) -> Result<usize, AppError> {
    let mut tx = app.pool.begin_with("begin immediate").await?;
    let ids: Vec<i64> = dues.iter().map(|d| d.id).collect();
    let late_before = now - Duration::seconds(LATE_AFTER_SECS);
    let fired: std::collections::HashSet<i64> =
        sla_db::mark_fired_many(&mut tx, &ids, now, late_before)
            .await?
            .into_iter()
            .collect();
    let ticket_ids: Vec<i64> = dues
        .iter()
        .filter(|d| fired.contains(&d.id))
        .map(|d| d.ticket_id)
        .collect();
    let mut tickets: std::collections::HashMap<i64, Ticket> = tdb::by_ids(&mut tx, &ticket_ids)
        .await?
        .into_iter()
        .map(|t| (t.id, t))
        .collect();
    // Who is on call is the same for every timer of this instant: ask once.
    let on_call = oncall::current::user(app, &mut tx, now).await?;
    let mut batch = Batch::default();
    for d in dues.iter().filter(|d| fired.contains(&d.id)) {
        if let Some(t) = tickets.get_mut(&d.ticket_id) {
            fire_one(
                app,
                t,
                d,
                now,
                is_late(d, now),
                on_call.as_deref(),
                &mut batch,
            );
        }
    }
    let count = batch.fired;
    let breaches = std::mem::take(&mut batch.breaches);
    write(batch, app, &mut tx, now).await?;
    tx.commit().await?;
    for (kind, priority) in &breaches {
        app.metrics.sla.breached(*kind, priority);
    }
    for d in dues.iter().filter(|d| fired.contains(&d.id)) {
        app.metrics.scheduler_lag(now - d.due_at);
    }
    Ok(count)
}

/// Writes a batch's gathered rows, each kind in one statement.
async fn write(
    b: Batch,
    app: &Context,
    tx: &mut sqlx::SqliteConnection,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    tdb::add_events(tx, &b.events, now).await?;
    tdb::mark_breached(
        tx,
        &b.breached_first,
        "first response",
        app.paging_enabled,
        now,
    )
    .await?;
    tdb::mark_breached(
        tx,
        &b.breached_resolution,
        "resolution",
        app.paging_enabled,
        now,
    )
    .await?;
    sla_db::cancel_escalations_many(tx, &b.restart_escalation).await?;
    sla_db::insert_all(tx, &b.new_timers).await?;
    let mut rows = b.rows;
    rows.extend(b.pings.messages().into_iter().map(|m| (None, m)));
    outbox::db::insert_all(tx, &rows, &db_time(now)).await?;
    Ok(())
}

/// Every due warning, rolled up: one DM per person, in one transaction. Warnings for
/// business-hours priorities are held outside business hours until the next opening.
async fn fire_warnings(
    app: &Context,
    warnings: Vec<Due>,
    now: DateTime<Utc>,
) -> Result<usize, AppError> {
    if warnings.is_empty() {
        return Ok(0);
    }
    let calendar = crate::sla::calendar(&app.policy);
    let mut tx = app.pool.begin_with("begin immediate").await?;
    let mut per_person: BTreeMap<String, (Vec<String>, bool, Vec<i64>)> = BTreeMap::new();
    let mut fired = 0;
    // How late each warning timer fired, observed once committed.
    let mut lags = Vec::new();
    for d in warnings {
        let Some(t) = tdb::by_id(&mut tx, d.ticket_id).await? else {
            continue;
        };
        let business = app
            .policy
            .priority(&t.priority)
            .is_some_and(|p| p.business_hours);
        if business && !calendar.is_working_time(now) {
            sla_db::postpone(
                &mut tx,
                d.id,
                calendar.add_working_time(now, Duration::zero()),
            )
            .await?;
            continue;
        }
        let late = is_late(&d, now);
        if !sla_db::mark_fired(&mut tx, d.id, now, late).await? {
            continue;
        }
        lags.push(now - d.due_at);
        let (target, due) = match d.kind {
            // A warning for a target already met or breached says nothing new.
            Kind::WarnFirstResponse
                if t.first_response_at.is_none() && !t.first_response_breached =>
            {
                ("first response", t.first_response_due)
            }
            Kind::WarnResolution if !t.resolution_breached => ("resolution", t.resolution_due),
            _ => continue,
        };
        let (Some(due), true) = (due, t.is_open() && t.status != Status::Waiting) else {
            continue;
        };
        let recipient = match &t.assignee {
            Some(a) => Some(a.clone()),
            None => oncall::current::user(app, &mut tx, now).await?,
        };
        let Some(recipient) = recipient.or_else(|| app.policy.slack.team_channel.clone()) else {
            continue;
        };
        let entry = per_person.entry(recipient).or_default();
        entry.0.push(alerts::warning_line(&t, target, due));
        entry.1 |= late;
        entry.2.push(t.id);
        tdb::add_event(&mut tx, t.id, EventKind::Warned, None, now, Some(target)).await?;
        fired += 1;
    }
    let mut rows = Vec::new();
    for (person, (lines, late, tickets)) in per_person {
        let ticket = (tickets.len() == 1).then(|| tickets[0]);
        rows.push((
            ticket,
            OutboxMessage::post(&person, alerts::warning_dm(&person, &lines, late)),
        ));
    }
    outbox::db::insert_all(&mut tx, &rows, &db_time(now)).await?;
    tx.commit().await?;
    for lag in lags {
        app.metrics.scheduler_lag(lag);
    }
    Ok(fired)
}

/// At each on-call handoff: the incoming person gets the open tickets and the ones at risk,
/// and the team channel is told. Once per handoff (job_runs), the latest one if several
/// were missed, none older than a day.
async fn handoff(app: &Context, now: DateTime<Utc>) -> Result<(), AppError> {
    let Some(policy) = &app.policy.oncall else {
        return Ok(());
    };
    let tz = app.policy.sla.timezone;
    let Some(at) = oncall::rotation::handoffs_between(policy, tz, now - Duration::days(1), now)
        .last()
        .copied()
    else {
        return Ok(());
    };
    let mut tx = app.pool.begin_with("begin immediate").await?;
    let late = now - at > Duration::seconds(LATE_AFTER_SECS);
    if !oncall::db::record_handoff(&mut tx, at, now, late).await? {
        return Ok(());
    }
    let Some((incoming, next)) = oncall::current::now_and_next(app, &mut tx, at).await? else {
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
