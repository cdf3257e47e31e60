//! The pure half of working a ticket: given the ticket as stored, who acts and what they
//! ask, decide the new state, the events to log and the messages to send, or refuse. No
//! database and no clock of its own, so every rule is unit-tested directly;
//! `lifecycle::apply` is the transaction around it.

use super::change::Change;
use super::{messages, permissions, EventKind, Status, Ticket};
use crate::domain::ticket::shorten;
use crate::outbox::{OutboxMessage, Purpose};
use crate::settings::Policy;
use chrono::{DateTime, Utc};
use serde_json::json;

/// What a change does, when it does something.
#[derive(Debug, Clone)]
pub struct Decision {
    /// The ticket after the change (deadlines not yet recomputed).
    pub ticket: Ticket,
    /// Events for the ticket's log, by the actor.
    pub events: Vec<(EventKind, Option<String>)>,
    /// An event for the ticket merged into: (its id, the kind, the detail).
    pub survivor_event: Option<(i64, EventKind, String)>,
    /// What to tell Slack (the card update is added by the caller).
    pub messages: Vec<OutboxMessage>,
}

/// Why nothing happens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// "only the platform team can `<what>`".
    NotAllowed(&'static str),
    /// Nothing to do, with why.
    Unchanged(String),
}

/// Decides `change` by `actor` on `t` at `now`. For a merge, `survivor` is the ticket to
/// merge into, as stored (None when it does not exist).
pub fn decide(
    policy: &Policy,
    t: &Ticket,
    actor: &str,
    change: &Change,
    now: DateTime<Utc>,
    survivor: Option<&Ticket>,
) -> Result<Decision, Refusal> {
    permissions::check(policy, t, actor, change).map_err(Refusal::NotAllowed)?;
    let team = policy.is_platform_team(actor);
    let mut d = Decision {
        ticket: t.clone(),
        events: Vec::new(),
        survivor_event: None,
        messages: Vec::new(),
    };
    let unchanged = |why: String| Err(Refusal::Unchanged(why));
    let already = |t: &Ticket| Refusal::Unchanged(format!("{} is already {}", t.key, t.status));
    match change {
        Change::Acknowledge => {
            if t.status != Status::Open {
                return Err(already(t));
            }
            acknowledge(&mut d, actor, now);
        }
        Change::Assign(user) => {
            if !t.is_open() {
                return unchanged(format!("{} is {}", t.key, t.status));
            }
            if t.assignee.as_deref() == Some(user.as_str()) {
                return unchanged(format!("{} is already assigned to them", t.key));
            }
            d.ticket.assignee = Some(user.clone());
            d.events.push((EventKind::Assigned, Some(user.clone())));
        }
        Change::Priority(p) => {
            if policy.priority(p).is_none() {
                return unchanged(format!("there is no priority {p}"));
            }
            if t.priority == p.as_str() {
                return unchanged(format!("{} is already {p}", t.key));
            }
            d.ticket.priority = p.as_str().into();
            d.events.push((EventKind::PriorityChanged, Some(p.clone())));
        }
        Change::AckBreach => {
            if !t.is_open() {
                return Err(already(t));
            }
            if t.breach_acknowledged_at.is_some() && t.status != Status::Open {
                return unchanged(format!("the breach of {} was already acknowledged", t.key));
            }
            d.ticket.breach_acknowledged_at = Some(now);
            d.events.push((EventKind::BreachAcknowledged, None));
            if t.status == Status::Open {
                acknowledge(&mut d, actor, now);
            }
        }
        Change::Wait => {
            if !matches!(t.status, Status::Open | Status::Acknowledged) {
                return unchanged(format!("{} is {}", t.key, t.status));
            }
            d.ticket.status = Status::Waiting;
            first_response(&mut d);
            d.events.push((EventKind::Waiting, None));
            let text = messages::waiting_notice(&d.ticket, actor);
            d.messages.push(requester_notice(&d.ticket, text));
        }
        Change::Resolve(note) => {
            if !t.is_open() {
                return Err(already(t));
            }
            if team {
                first_response(&mut d);
            }
            d.ticket.status = Status::Resolved;
            d.ticket.resolution_note = note.clone().filter(|n| !n.trim().is_empty());
            d.events
                .push((EventKind::Resolved, d.ticket.resolution_note.clone()));
            let text = messages::resolved_notice(&d.ticket, actor);
            d.messages.push(requester_notice(&d.ticket, text));
            d.messages.extend(reaction(t, "reactions.remove", "eyes"));
            d.messages
                .extend(reaction(t, "reactions.add", "white_check_mark"));
        }
        Change::Reopen => {
            if t.status != Status::Resolved {
                return unchanged(format!("{} is {}, not resolved", t.key, t.status));
            }
            d.ticket.status = reopened_status(t);
            d.events.push((EventKind::Reopened, None));
            let text = messages::reopened_notice(&d.ticket, actor);
            d.messages.push(requester_notice(&d.ticket, text));
            d.messages
                .extend(reaction(t, "reactions.remove", "white_check_mark"));
        }
        Change::Merge { .. } => {
            let Some(survivor) = survivor.filter(|s| s.id != t.id && s.is_open()) else {
                return unchanged("the ticket to merge into is no longer open".into());
            };
            if !t.is_open() {
                return Err(already(t));
            }
            d.ticket.status = Status::Closed;
            d.ticket.merged_into = Some((survivor.id, survivor.key.clone()));
            d.events.push((
                EventKind::Closed,
                Some(format!("merged into {}", survivor.key)),
            ));
            d.survivor_event = Some((survivor.id, EventKind::MergedIn, t.key.clone()));
            let text = messages::merged_notice(&d.ticket, &survivor.key);
            d.messages.push(requester_notice(&d.ticket, text));
        }
        Change::Reply { text, ts } => {
            d.events.push((
                EventKind::Reply,
                Some(format!("{ts} {}", shorten(text, 500))),
            ));
            if team && actor != t.requester && t.is_open() {
                first_response(&mut d);
            }
            if actor == t.requester && t.status == Status::Waiting {
                d.ticket.status = reopened_status(t);
                d.events.push((EventKind::Resumed, None));
            }
        }
        Change::SourceEdited(text) => {
            if &t.description == text {
                return unchanged("no change".into());
            }
            d.ticket.description = text.clone();
            d.events
                .push((EventKind::SourceEdited, Some(shorten(text, 500))));
        }
        Change::SourceDeleted => {
            d.ticket.source_deleted = true;
            d.events.push((EventKind::SourceDeleted, None));
        }
    }
    Ok(d)
}

/// Back to work: acknowledged when someone has it, else open.
fn reopened_status(t: &Ticket) -> Status {
    if t.assignee.is_some() {
        Status::Acknowledged
    } else {
        Status::Open
    }
}

/// The first response, if there was none yet.
fn first_response(d: &mut Decision) {
    if d.ticket.first_response_at.is_none()
        && !d.events.iter().any(|(k, _)| *k == EventKind::FirstResponse)
    {
        d.events.push((EventKind::FirstResponse, None));
    }
}

/// An open ticket becomes acknowledged by `actor`: assigned to them if nobody was, the first
/// response recorded, the requester told, the source message marked, and any breach
/// counted as seen (escalation stops).
fn acknowledge(d: &mut Decision, actor: &str, now: DateTime<Utc>) {
    let t = &mut d.ticket;
    t.status = Status::Acknowledged;
    if t.assignee.is_none() {
        t.assignee = Some(actor.to_string());
        d.events
            .push((EventKind::Assigned, Some(actor.to_string())));
    }
    if t.first_response_breached || t.resolution_breached {
        t.breach_acknowledged_at = Some(now);
    }
    d.events.push((EventKind::Acknowledged, None));
    first_response(d);
    let text = messages::acknowledged_notice(&d.ticket, actor);
    d.messages.push(requester_notice(&d.ticket, text));
    d.messages
        .extend(reaction(&d.ticket, "reactions.add", "eyes"));
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ticket::tests::sample;

    const TEAM: &str = "U01ALICE";

    fn policy() -> Policy {
        let mut p = Policy::builtin();
        p.slack.platform_team = vec![TEAM.into()];
        p
    }

    fn kinds(d: &Decision) -> Vec<EventKind> {
        d.events.iter().map(|(k, _)| *k).collect()
    }

    #[test]
    fn acknowledging_an_open_ticket_assigns_it_and_records_the_first_response() {
        let t = sample();
        let d = decide(&policy(), &t, TEAM, &Change::Acknowledge, Utc::now(), None).unwrap();
        assert_eq!(d.ticket.status, Status::Acknowledged);
        assert_eq!(d.ticket.assignee.as_deref(), Some(TEAM));
        assert_eq!(
            kinds(&d),
            [
                EventKind::Assigned,
                EventKind::Acknowledged,
                EventKind::FirstResponse
            ]
        );
        assert_eq!(
            d.messages.len(),
            1,
            "the requester is told; no source message to react on"
        );
    }

    #[test]
    fn only_the_platform_team_may_acknowledge() {
        let t = sample();
        let refused = decide(
            &policy(),
            &t,
            &t.requester,
            &Change::Acknowledge,
            Utc::now(),
            None,
        );
        assert_eq!(
            refused.unwrap_err(),
            Refusal::NotAllowed("acknowledge tickets")
        );
    }

    #[test]
    fn a_resolved_ticket_cannot_be_acknowledged_again() {
        let mut t = sample();
        t.status = Status::Resolved;
        let refused = decide(&policy(), &t, TEAM, &Change::Acknowledge, Utc::now(), None);
        assert_eq!(
            refused.unwrap_err(),
            Refusal::Unchanged("PLAT-7 is already resolved".into())
        );
    }

    #[test]
    fn the_requesters_reply_resumes_a_waiting_ticket_but_a_team_reply_does_not() {
        let mut t = sample();
        t.status = Status::Waiting;
        t.assignee = Some(TEAM.into());
        let reply = Change::Reply {
            text: "here you go".into(),
            ts: "1.2".into(),
        };
        let by_requester = decide(&policy(), &t, &t.requester, &reply, Utc::now(), None).unwrap();
        assert_eq!(by_requester.ticket.status, Status::Acknowledged);
        assert!(kinds(&by_requester).contains(&EventKind::Resumed));
        let by_team = decide(&policy(), &t, TEAM, &reply, Utc::now(), None).unwrap();
        assert_eq!(by_team.ticket.status, Status::Waiting);
        assert!(kinds(&by_team).contains(&EventKind::FirstResponse));
    }

    #[test]
    fn a_requester_resolving_their_own_ticket_is_not_a_first_response() {
        let t = sample();
        let d = decide(
            &policy(),
            &t,
            &t.requester,
            &Change::Resolve(Some("  ".into())),
            Utc::now(),
            None,
        )
        .unwrap();
        assert_eq!(d.ticket.status, Status::Resolved);
        assert_eq!(d.ticket.resolution_note, None, "a blank note is no note");
        assert_eq!(kinds(&d), [EventKind::Resolved]);
    }

    #[test]
    fn merging_needs_an_open_survivor_and_logs_on_both_tickets() {
        let t = sample();
        let mut survivor = sample();
        survivor.id = 8;
        survivor.key = "PLAT-8".into();
        let merge = Change::Merge { into: 8 };
        let d = decide(&policy(), &t, TEAM, &merge, Utc::now(), Some(&survivor)).unwrap();
        assert_eq!(d.ticket.status, Status::Closed);
        assert_eq!(d.ticket.merged_into, Some((8, "PLAT-8".into())));
        assert_eq!(
            d.survivor_event,
            Some((8, EventKind::MergedIn, "PLAT-7".into()))
        );
        survivor.status = Status::Resolved;
        let refused = decide(&policy(), &t, TEAM, &merge, Utc::now(), Some(&survivor));
        assert_eq!(
            refused.unwrap_err(),
            Refusal::Unchanged("the ticket to merge into is no longer open".into())
        );
        let into_itself = decide(&policy(), &t, TEAM, &merge, Utc::now(), Some(&t));
        assert!(into_itself.is_err());
    }

    #[test]
    fn a_priority_the_policy_does_not_have_is_refused() {
        let t = sample();
        let refused = decide(
            &policy(),
            &t,
            TEAM,
            &Change::Priority("P9".into()),
            Utc::now(),
            None,
        );
        assert_eq!(
            refused.unwrap_err(),
            Refusal::Unchanged("there is no priority P9".into())
        );
        let d = decide(
            &policy(),
            &t,
            TEAM,
            &Change::Priority("P1".into()),
            Utc::now(),
            None,
        )
        .unwrap();
        assert_eq!(d.ticket.priority, "P1");
    }
}
