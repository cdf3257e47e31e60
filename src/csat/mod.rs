//! Satisfaction after each ticket (CSAT): when a ticket is resolved its requester is asked,
//! by DM, "How did we do on PLAT-42?" on a 1-5 scale; the answer is the ticket's `csat`
//! score, shown on its card, in the export and in the reports. Not anonymous: the message
//! says so.
//!
//! Who is asked: only people (not bots, not Slackbot, not an id we cannot DM); only tickets
//! in the sample (`csat.sample_rate`, a hash of the key: `sample`); nobody twice within
//! `csat.cooldown`; never twice about one ticket (a ticket reopened and resolved again keeps
//! its first question and its answer). The question is written in the resolution's own
//! transaction (`on_resolved`, called by `tickets::lifecycle`).
//!
//! Answers: only the person asked; the first answer is taken whenever it comes; pressing
//! another number within `CHANGE_WINDOW` of the first answer replaces it (a slip of the
//! finger is mended), later presses leave the score as it is. Each answer updates the DM to
//! show the choice and the ticket's card to show the score.

pub mod db;
pub mod messages;
pub mod sample;

use crate::context::{AppError, Context};
use crate::domain::Ticket;
use crate::input::{Action, Reply};
use crate::outbox::{self, OutboxMessage, Purpose};
use chrono::{DateTime, Duration, Utc};
use serde_json::json;
use sqlx::SqliteConnection;

/// How long after the first answer another press replaces it.
pub const CHANGE_WINDOW: Duration = Duration::hours(24);

/// True for the action ids of the question's buttons.
pub fn handles(action_id: &str) -> bool {
    action_id.starts_with(messages::ACTION_PREFIX)
}

/// The question about `t`, just resolved, when its requester is to be asked: recorded in
/// `csat_asks` in the caller's transaction, so the DM and the resolution commit together.
pub async fn on_resolved(
    app: &Context,
    conn: &mut SqliteConnection,
    t: &Ticket,
    now: DateTime<Utc>,
) -> sqlx::Result<Option<OutboxMessage>> {
    let policy = &app.policy.csat;
    if !policy.enabled
        || !sample::askable(&t.requester, app.bot_user_id().as_deref())
        || !sample::sampled(&t.key, policy.sample_rate)
    {
        return Ok(None);
    }
    if db::ask_of(conn, t.id).await?.is_some() {
        return Ok(None);
    }
    let cooldown = Duration::from_std(policy.cooldown).unwrap_or(Duration::MAX);
    if !cooldown.is_zero() {
        let since = now
            .checked_sub_signed(cooldown)
            .unwrap_or(DateTime::<Utc>::MIN_UTC);
        if db::asked_since(conn, &t.requester, since).await? {
            tracing::debug!(ticket = %t.key, "requester asked within the cooldown; not asked");
            return Ok(None);
        }
    }
    if !db::add_ask(conn, t.id, &t.requester, now).await? {
        return Ok(None);
    }
    let body = messages::question(&t.requester, t.id, &t.key, &t.title);
    Ok(Some(OutboxMessage::post(&t.requester, body)))
}

/// A press of one of the question's buttons.
pub async fn on_action(app: &Context, a: Action) -> Result<Reply, AppError> {
    let (Some(score), Some(ticket_id)) = (
        messages::score_of(&a.action_id),
        a.value.as_deref().and_then(|v| v.parse::<i64>().ok()),
    ) else {
        tracing::warn!(action = %a.action_id, "a satisfaction answer without a score or ticket; ignored");
        return Ok(Reply::Empty);
    };
    let now = app.clock.now();
    let mut tx = app.pool.begin_with("begin immediate").await?;
    let ask = db::ask_of(&mut tx, ticket_id).await?;
    let ticket = db::ticket(&mut tx, ticket_id).await?;
    let (Some(ask), Some(ticket)) = (ask.filter(|q| q.person == a.user), ticket) else {
        drop(tx);
        let no = to_clicker(&a, "That question was not meant for you.".into());
        app.say_once(Vec::new(), vec![no]).await?;
        return Ok(Reply::Empty);
    };
    let until = ask.answered_at.map(|first| first + CHANGE_WINDOW);
    let open = until.is_none_or(|until| now <= until);
    let shown = if open {
        score
    } else {
        ticket.csat.unwrap_or(score)
    };
    let mut out = Vec::new();
    if open && ticket.csat != Some(score) {
        db::set_score(&mut tx, ticket_id, score, now).await?;
        let channel = ticket
            .card_channel
            .clone()
            .or_else(|| app.policy.slack.intake_channel.clone());
        if let Some(channel) = channel {
            // Rendered by the sender when it sends: the card as the ticket is then.
            out.push((
                Some(ticket_id),
                OutboxMessage {
                    method: "chat.update",
                    channel,
                    payload: String::new(),
                    purpose: Purpose::CardUpdate,
                },
            ));
        }
        tracing::info!(ticket = %ticket.key, "satisfaction answered");
    }
    if let (Some(channel), Some(ts)) = (&a.channel, &a.message_ts) {
        let changeable = if open {
            Some(until.unwrap_or(now + CHANGE_WINDOW))
        } else {
            None
        };
        let body = messages::answered(channel, ts, ticket_id, &ticket.key, shown, changeable);
        out.push((
            None,
            OutboxMessage {
                method: "chat.update",
                channel: channel.clone(),
                payload: body.to_string(),
                purpose: Purpose::Notice,
            },
        ));
    }
    outbox::db::insert_all(&mut tx, &out, &crate::clock::db_time(now)).await?;
    tx.commit().await?;
    app.outbox_wake.notify_one();
    Ok(Reply::Empty)
}

/// A word to the clicker only: ephemeral in a channel, a DM in a DM.
fn to_clicker(a: &Action, text: String) -> OutboxMessage {
    match a.channel.as_deref() {
        Some(channel) if !channel.starts_with('D') => {
            OutboxMessage::ephemeral(channel, &a.user, text)
        }
        _ => OutboxMessage::post(&a.user, json!({ "channel": a.user, "text": text })),
    }
}
