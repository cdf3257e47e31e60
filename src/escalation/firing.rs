//! The pure half of firing SLA timers: for a breach or an escalation round, what changes on
//! the ticket and what is written and sent, gathered into a [`Batch`] that the scheduler
//! writes in one transaction. No database here.

use super::alerts;
use crate::context::Context;
use crate::metrics::BreachKind;
use crate::oncall;
use crate::outbox::{OutboxMessage, Purpose};
use crate::sla::timers::{self, Due, Kind};
use crate::tickets::{self, EventKind, Status, Ticket};
use chrono::{DateTime, Duration, Utc};
use std::collections::BTreeMap;

/// Pings for one person or channel, gathered over a batch. Only the first ping to each
/// recipient is rendered whole (it is sent alone if it stays alone); the rest are lines of
/// a roll-up.
#[derive(Default)]
pub struct Pings(BTreeMap<String, (Option<serde_json::Value>, Vec<String>)>);

impl Pings {
    fn add(&mut self, to: &str, line: String, render: impl FnOnce() -> serde_json::Value) {
        let entry = self.0.entry(to.to_string()).or_default();
        if entry.1.is_empty() {
            entry.0 = Some(render());
        }
        entry.1.push(line);
    }

    /// One message per recipient: the ping itself, or a roll-up when there are several.
    pub fn messages(self) -> Vec<OutboxMessage> {
        self.0
            .into_iter()
            .filter_map(|(to, (first, lines))| {
                if lines.len() == 1 {
                    return first.map(|body| OutboxMessage::post(&to, body));
                }
                let shown: Vec<String> = lines.iter().take(20).map(|l| format!("• {l}")).collect();
                let more = lines.len().saturating_sub(20);
                let text = format!(
                    ":rotating_light: {} SLA alerts at once:\n{}{}",
                    lines.len(),
                    shown.join("\n"),
                    if more > 0 {
                        format!("\n…and {more} more")
                    } else {
                        String::new()
                    }
                );
                Some(OutboxMessage::post(
                    &to,
                    serde_json::json!({ "channel": to, "text": text, "unfurl_links": false }),
                ))
            })
            .collect()
    }
}

/// What a batch of firings writes, gathered so each kind of write is one statement.
#[derive(Default)]
pub struct Batch {
    pub fired: usize,
    pub events: Vec<(i64, EventKind, Option<String>)>,
    pub breached_first: Vec<i64>,
    pub breached_resolution: Vec<i64>,
    /// Each breach's kind and the ticket's priority, counted once the batch is committed.
    pub breaches: Vec<(BreachKind, String)>,
    pub restart_escalation: Vec<i64>,
    pub new_timers: Vec<(i64, timers::Planned, i64)>,
    pub pings: Pings,
    pub rows: Vec<(Option<i64>, OutboxMessage)>,
}

/// One breach or escalation round of a batch: decides, and gathers its writes and messages.
/// `late`: its due time was missed while the bot was down.
pub fn fire_one(
    app: &Context,
    t: &mut Ticket,
    d: &Due,
    now: DateTime<Utc>,
    late: bool,
    on_call: Option<&str>,
    b: &mut Batch,
) {
    let fired = match d.kind {
        Kind::BreachFirstResponse | Kind::BreachResolution => {
            breach(app, t, d, now, late, on_call, b)
        }
        Kind::Escalate => escalate(app, t, d, b),
        // The scheduler hands warnings to its own roll-up.
        Kind::WarnFirstResponse | Kind::WarnResolution => false,
    };
    if fired {
        if let Some(update) = tickets::lifecycle::card_update(app, t) {
            b.rows.push((Some(t.id), update));
        }
        b.fired += 1;
    }
}

/// A first-response or resolution target missed: the ticket is marked, on-call, the
/// assignee and the team channel are pinged, the card's thread hears it, escalation starts
/// and PagerDuty is triggered when configured. False when it is no longer due.
fn breach(
    app: &Context,
    t: &mut Ticket,
    d: &Due,
    now: DateTime<Utc>,
    late: bool,
    on_call: Option<&str>,
    b: &mut Batch,
) -> bool {
    let team_channel = app.policy.slack.team_channel.as_deref();
    let still_due = t.status != Status::Waiting
        && t.is_open()
        && (d.kind != Kind::BreachFirstResponse || t.first_response_at.is_none());
    if !still_due {
        return false;
    }
    let target = d.kind.target();
    let kind = if d.kind == Kind::BreachFirstResponse {
        t.first_response_breached = true;
        b.breached_first.push(t.id);
        BreachKind::FirstResponse
    } else {
        t.resolution_breached = true;
        b.breached_resolution.push(t.id);
        BreachKind::Resolution
    };
    b.breaches.push((kind, t.priority.to_string()));
    t.breach_acknowledged_at = None;
    b.events
        .push((t.id, EventKind::Breached, Some(target.to_string())));
    let mut people: Vec<String> = on_call
        .map(str::to_string)
        .into_iter()
        .chain(t.assignee.clone())
        .collect();
    people.dedup();
    let line = alerts::breach_line(t, target, d.due_at);
    let ticket: &Ticket = t;
    for person in people.iter().map(String::as_str).chain(team_channel) {
        b.pings.add(person, line.clone(), || {
            alerts::breach_ping(person, ticket, target, d.due_at, late)
        });
    }
    if let Some(channel) = t
        .card_channel
        .clone()
        .or_else(|| app.policy.slack.intake_channel.clone())
    {
        let note = OutboxMessage {
            method: "chat.postMessage",
            channel,
            payload: alerts::breach_thread_note(t, target, d.due_at).to_string(),
            purpose: Purpose::CardThread,
        };
        b.rows.push((Some(t.id), note));
    }
    if let Some(policy) = app
        .policy
        .oncall
        .as_ref()
        .filter(|p| !p.escalate_to.is_empty())
    {
        b.restart_escalation.push(t.id);
        let first = timers::Planned {
            kind: Kind::Escalate,
            due_at: now + Duration::from_std(policy.escalate_after).unwrap_or_default(),
        };
        b.new_timers.push((t.id, first, 1));
    }
    if app.paging_enabled {
        b.rows.push((
            Some(t.id),
            oncall::paging::trigger(
                t,
                &format!("{} breached its {target} SLA: {}", t.key, t.title),
            ),
        ));
        t.paged = true;
    }
    true
}

/// One escalation round of an unacknowledged breach: the escalation chain is pinged and the
/// next round planned. False when the breach was acknowledged or the ticket closed.
fn escalate(app: &Context, t: &mut Ticket, d: &Due, b: &mut Batch) -> bool {
    let team_channel = app.policy.slack.team_channel.as_deref();
    let (Some(policy), true) = (
        &app.policy.oncall,
        t.is_open() && t.breach_acknowledged_at.is_none(),
    ) else {
        return false;
    };
    let step = Duration::from_std(policy.escalate_after).unwrap_or_default();
    let breached_at = d.due_at - step * d.round as i32;
    b.events
        .push((t.id, EventKind::Escalated, Some(d.round.to_string())));
    let line = format!(
        "escalation {}/{}: {}",
        d.round,
        policy.max_rounds,
        alerts::breach_line(t, "SLA", breached_at)
    );
    let ticket: &Ticket = t;
    for person in policy
        .escalate_to
        .iter()
        .map(String::as_str)
        .chain(team_channel)
    {
        b.pings.add(person, line.clone(), || {
            alerts::escalation(person, ticket, d.round, policy.max_rounds, breached_at)
        });
    }
    if d.round < policy.max_rounds as i64 {
        b.new_timers.push((
            t.id,
            timers::Planned {
                kind: Kind::Escalate,
                due_at: d.due_at + step,
            },
            d.round + 1,
        ));
    }
    true
}
