//! Working a ticket: acknowledge, assign, priority, waiting, resolve, reopen, merge, and
//! what happens in its threads. Each change is one transaction: the new state, its event,
//! recomputed SLA deadlines, and the outbox rows (card update, requester notice, reaction).

use super::{db, messages, permissions, Ticket};
use crate::context::{AppError, Context};
use crate::outbox::{self, OutboxMessage, Purpose};
use crate::sla;
use crate::tickets::shorten;
use chrono::{DateTime, Utc};
use serde_json::json;

/// A change to a ticket, by someone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    Acknowledge,
    Assign(String),
    Priority(String),
    Wait,
    Resolve(Option<String>),
    Reopen,
    Merge {
        into: i64,
    },
    /// The Acknowledge button on a breach ping: stops escalation (and acknowledges the
    /// ticket if nobody had).
    AckBreach,
    /// A reply in the card's or the source message's thread.
    Reply {
        text: String,
        ts: String,
    },
    SourceEdited(String),
    SourceDeleted,
}

/// What came of a change.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Done(Box<Ticket>),
    NotFound,
    /// The actor may not: "only the platform team can <what>".
    NotAllowed(&'static str),
    /// Nothing to do (already in that state), with why.
    Unchanged(String),
}

/// Applies `change` by `actor` to ticket `id`. With `once`, an inbox key: if it was seen
/// before, nothing happens (Slack redelivered the event).
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
        let fresh = sqlx::query(
            "insert into inbox (key, received_at) values (?, ?) on conflict do nothing",
        )
        .bind(key)
        .bind(crate::clock::db_time(now))
        .execute(&mut *tx)
        .await?;
        if fresh.rows_affected() == 0 {
            return Ok(Outcome::Unchanged("already handled".into()));
        }
    }
    let Some(mut t) = db::by_id(&mut tx, id).await? else {
        return Ok(Outcome::NotFound);
    };
    if let Err(what) = permissions::check(&app.policy, &t, actor, &change) {
        return Ok(Outcome::NotAllowed(what));
    }
    let team = app.policy.is_platform_team(actor);
    let mut out: Vec<OutboxMessage> = Vec::new();
    let mut events: Vec<(&'static str, Option<String>)> = Vec::new();
    let first_response = |t: &Ticket, events: &mut Vec<(&str, Option<String>)>| {
        if t.first_response_at.is_none() {
            events.push(("first_response", None));
        }
    };
    match &change {
        Change::Acknowledge => {
            if t.status != "open" {
                return Ok(Outcome::Unchanged(format!(
                    "{} is already {}",
                    t.key, t.status
                )));
            }
            acknowledge(&mut t, actor, now, &mut events, &mut out);
        }
        Change::Assign(user) => {
            if !t.is_open() {
                return Ok(Outcome::Unchanged(format!("{} is {}", t.key, t.status)));
            }
            if t.assignee.as_deref() == Some(user.as_str()) {
                return Ok(Outcome::Unchanged(format!(
                    "{} is already assigned to them",
                    t.key
                )));
            }
            t.assignee = Some(user.clone());
            events.push(("assigned", Some(user.clone())));
        }
        Change::Priority(p) => {
            if app.policy.priority(p).is_none() {
                return Ok(Outcome::Unchanged(format!("there is no priority {p}")));
            }
            if &t.priority == p {
                return Ok(Outcome::Unchanged(format!("{} is already {p}", t.key)));
            }
            t.priority = p.clone();
            events.push(("priority_changed", Some(p.clone())));
        }
        Change::AckBreach => {
            if !t.is_open() {
                return Ok(Outcome::Unchanged(format!(
                    "{} is already {}",
                    t.key, t.status
                )));
            }
            if t.breach_acknowledged_at.is_some() && t.status != "open" {
                return Ok(Outcome::Unchanged(format!(
                    "the breach of {} was already acknowledged",
                    t.key
                )));
            }
            t.breach_acknowledged_at = Some(now);
            events.push(("breach_acknowledged", None));
            if t.status == "open" {
                acknowledge(&mut t, actor, now, &mut events, &mut out);
            }
        }
        Change::Wait => {
            if !matches!(t.status.as_str(), "open" | "acknowledged") {
                return Ok(Outcome::Unchanged(format!("{} is {}", t.key, t.status)));
            }
            t.status = "waiting".into();
            first_response(&t, &mut events);
            events.push(("waiting", None));
            out.push(requester_notice(&t, messages::waiting_notice(&t, actor)));
        }
        Change::Resolve(note) => {
            if !t.is_open() {
                return Ok(Outcome::Unchanged(format!(
                    "{} is already {}",
                    t.key, t.status
                )));
            }
            if team {
                first_response(&t, &mut events);
            }
            t.status = "resolved".into();
            t.resolution_note = note.clone().filter(|n| !n.trim().is_empty());
            events.push(("resolved", t.resolution_note.clone()));
            out.push(requester_notice(&t, messages::resolved_notice(&t, actor)));
            out.extend(reaction(&t, "reactions.remove", "eyes"));
            out.extend(reaction(&t, "reactions.add", "white_check_mark"));
        }
        Change::Reopen => {
            if t.status != "resolved" {
                return Ok(Outcome::Unchanged(format!(
                    "{} is {}, not resolved",
                    t.key, t.status
                )));
            }
            t.status = if t.assignee.is_some() {
                "acknowledged".into()
            } else {
                "open".into()
            };
            events.push(("reopened", None));
            out.push(requester_notice(&t, messages::reopened_notice(&t, actor)));
            out.extend(reaction(&t, "reactions.remove", "white_check_mark"));
        }
        Change::Merge { into } => {
            let survivor = db::by_id(&mut tx, *into).await?;
            let Some(survivor) = survivor.filter(|s| s.id != t.id && s.is_open()) else {
                return Ok(Outcome::Unchanged(
                    "the ticket to merge into is no longer open".into(),
                ));
            };
            if !t.is_open() {
                return Ok(Outcome::Unchanged(format!(
                    "{} is already {}",
                    t.key, t.status
                )));
            }
            t.status = "closed".into();
            t.merged_into = Some((survivor.id, survivor.key.clone()));
            events.push(("closed", Some(format!("merged into {}", survivor.key))));
            db::add_event(
                &mut tx,
                survivor.id,
                "merged_in",
                Some(actor),
                now,
                Some(&t.key),
            )
            .await?;
            out.push(requester_notice(
                &t,
                messages::merged_notice(&t, &survivor.key),
            ));
        }
        Change::Reply { text, ts } => {
            events.push(("reply", Some(format!("{ts} {}", shorten(text, 500)))));
            if team && actor != t.requester && t.is_open() {
                first_response(&t, &mut events);
            }
            if actor == t.requester && t.status == "waiting" {
                t.status = if t.assignee.is_some() {
                    "acknowledged".into()
                } else {
                    "open".into()
                };
                events.push(("resumed", None));
            }
        }
        Change::SourceEdited(text) => {
            if &t.description == text {
                return Ok(Outcome::Unchanged("no change".into()));
            }
            t.description = text.clone();
            events.push(("source_edited", Some(shorten(text, 500))));
        }
        Change::SourceDeleted => {
            t.source_deleted = true;
            events.push(("source_deleted", None));
        }
    }
    for (kind, detail) in &events {
        db::add_event(&mut tx, t.id, kind, Some(actor), now, detail.as_deref()).await?;
    }
    let history = recompute(app, &mut tx, &mut t).await?;
    sla::timers::replace(&mut tx, t.id, &sla::timers::plan(&app.policy, &t, &history)).await?;
    if !t.is_open() || t.breach_acknowledged_at == Some(now) {
        sla::timers::cancel_escalations(&mut tx, t.id).await?;
    }
    if t.paged && !t.is_open() {
        out.extend(crate::oncall::paging::resolve(&t));
        t.paged = false;
    }
    db::save(&mut tx, &t, now).await?;
    out.extend(card_update(app, &t));
    let rows: Vec<_> = out.into_iter().map(|m| (Some(t.id), m)).collect();
    outbox::db::insert_all(&mut tx, &rows, &crate::clock::db_time(now)).await?;
    tx.commit().await?;
    app.outbox_wake.notify_one();
    app.timer_wake.notify_one();
    Ok(Outcome::Done(Box::new(t)))
}

/// An open ticket becomes acknowledged by `actor`: assigned to them if nobody was, the first
/// response recorded, the requester told, the source message marked, and any breach
/// counted as seen (escalation stops).
fn acknowledge(
    t: &mut Ticket,
    actor: &str,
    now: DateTime<Utc>,
    events: &mut Vec<(&'static str, Option<String>)>,
    out: &mut Vec<OutboxMessage>,
) {
    t.status = "acknowledged".into();
    if t.assignee.is_none() {
        t.assignee = Some(actor.to_string());
        events.push(("assigned", Some(actor.to_string())));
    }
    if t.first_response_breached || t.resolution_breached {
        t.breach_acknowledged_at = Some(now);
    }
    events.push(("acknowledged", None));
    if t.first_response_at.is_none() {
        events.push(("first_response", None));
    }
    out.push(requester_notice(t, messages::acknowledged_notice(t, actor)));
    out.extend(reaction(t, "reactions.add", "eyes"));
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

fn requester_notice(t: &Ticket, text: String) -> OutboxMessage {
    let body = messages::to_requester(t, text);
    let channel = body["channel"].as_str().unwrap_or_default().to_string();
    OutboxMessage::post(&channel, body)
}

/// A status reaction on the source message, for tickets filed from a message.
fn reaction(t: &Ticket, method: &'static str, name: &str) -> Option<OutboxMessage> {
    let (Some(channel), Some(ts)) = (&t.channel, &t.source_ts) else {
        return None;
    };
    Some(OutboxMessage {
        method,
        channel: channel.clone(),
        payload: json!({ "channel": channel, "timestamp": ts, "name": name }).to_string(),
        purpose: Purpose::Notice,
    })
}
