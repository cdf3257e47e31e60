//! Working a ticket: acknowledge, assign, priority, waiting, resolve, reopen, merge, and
//! what happens in its threads. Each change is one transaction around the pure
//! [`decide`]: the new state, its events, recomputed SLA deadlines
//! and timers, and the outbox rows (card update, requester notice, reaction).

use super::decide::{decide, Refusal};
use super::{db, Ticket};
use crate::context::{inbox, AppError, Context};
use crate::outbox::{self, OutboxMessage, Purpose};
use crate::sla;

pub use super::change::{Change, Outcome};

/// Applies `change` by `actor` to ticket `id`. With `once`, an inbox key: if it was seen
/// before, nothing happens (Slack redelivered the event). Runs in a span naming the ticket,
/// so every line logged on its way says which.
#[tracing::instrument(name = "ticket_change", skip_all, fields(ticket = id, key))]
pub async fn apply(
    app: &Context,
    id: i64,
    actor: &str,
    change: Change,
    once: Option<&str>,
) -> Result<Outcome, AppError> {
    let now = app.clock.now();
    let mut tx = app.pool.begin_with("begin immediate").await?;
    if let Some(key) = once {
        if !inbox::add(&mut tx, key, &crate::clock::db_time(now)).await? {
            return Ok(Outcome::Unchanged("already handled".into()));
        }
    }
    let Some(t) = db::by_id(&mut tx, id).await? else {
        return Ok(Outcome::NotFound);
    };
    tracing::Span::current().record("key", t.key.as_str());
    let measured_before = t.measured;
    let survivor = match &change {
        Change::Merge { into } => db::by_id(&mut tx, *into).await?,
        _ => None,
    };
    let decision = match decide(&app.policy, &t, actor, &change, now, survivor.as_ref()) {
        Ok(decision) => decision,
        Err(Refusal::NotAllowed(what)) => return Ok(Outcome::NotAllowed(what)),
        Err(Refusal::Unchanged(why)) => return Ok(Outcome::Unchanged(why)),
    };
    let mut t = decision.ticket;
    let mut out = decision.messages;
    if let Some((survivor, kind, detail)) = &decision.survivor_event {
        db::add_event(&mut tx, *survivor, *kind, Some(actor), now, Some(detail)).await?;
    }
    for (kind, detail) in &decision.events {
        db::add_event(&mut tx, t.id, *kind, Some(actor), now, detail.as_deref()).await?;
    }
    let history = recompute(app, &mut tx, &mut t).await?;
    sla::db::replace(&mut tx, t.id, &sla::timers::plan(&app.policy, &t, &history)).await?;
    if !t.is_open() || t.breach_acknowledged_at == Some(now) {
        sla::db::cancel_escalations(&mut tx, t.id).await?;
    }
    if t.paged && !t.is_open() {
        out.extend(crate::oncall::paging::resolve(&t));
        t.paged = false;
    }
    db::save(&mut tx, &t, now).await?;
    if matches!(change, Change::Resolve(_)) {
        // The satisfaction question commits with the resolution, or not at all.
        out.extend(crate::csat::on_resolved(app, &mut tx, &t, now).await?);
    }
    out.extend(card_update(app, &t));
    let rows: Vec<_> = out.into_iter().map(|m| (Some(t.id), m)).collect();
    outbox::db::insert_all(&mut tx, &rows, &crate::clock::db_time(now)).await?;
    tx.commit().await?;
    app.metrics
        .measured(&t.priority, measured_before, t.measured);
    app.outbox_wake.notify_one();
    app.timer_wake.notify_one();
    Ok(Outcome::Done(Box::new(t)))
}

/// Deadlines and response/resolution times from the ticket's whole history.
async fn recompute(
    app: &Context,
    conn: &mut sqlx::SqliteConnection,
    t: &mut Ticket,
) -> Result<Vec<sla::deadlines::Moment>, AppError> {
    let history = db::history(conn, t.id).await?;
    if let Some(clocks) = sla::deadlines::clocks(&app.policy, &sla::calendar(&app.policy), &history)
    {
        t.first_response_due = clocks.first_response.due().or(t.first_response_due);
        t.resolution_due = clocks.resolution.due();
        t.first_response_at = clocks.first_response_at;
        t.resolved_at = clocks.resolved_at;
        t.measured = crate::domain::Measured {
            first_response_s: clocks.first_response_took.map(|d| d.num_seconds()),
            resolution_s: clocks.resolution_took.map(|d| d.num_seconds()),
            reopens: clocks.reopens.into(),
        };
    }
    Ok(history)
}

/// The card, re-rendered, as a `chat.update` (the sender fills in the card's ts).
pub fn card_update(app: &Context, t: &Ticket) -> Option<OutboxMessage> {
    let channel = t
        .card_channel
        .clone()
        .or_else(|| app.policy.slack.intake_channel.clone())?;
    Some(OutboxMessage {
        method: "chat.update",
        channel: channel.clone(),
        // Rendered by the sender when it sends: the card as the ticket is then.
        payload: String::new(),
        purpose: Purpose::CardUpdate,
    })
}
