//! Paging through PagerDuty's Events API v2: a breach triggers an incident keyed by the
//! ticket (so repeats dedupe), the ticket's resolution resolves it. Sent via the outbox; the
//! routing key is added at send time and never stored.

use crate::domain::Ticket;
use crate::outbox::{OutboxMessage, Purpose};
use serde_json::json;

/// The outbox method the sender delivers to PagerDuty.
pub const METHOD: &str = crate::outbox::PAGERDUTY;

fn event(body: serde_json::Value) -> OutboxMessage {
    // One pacing queue for PagerDuty; `dedup_key` (the ticket key) makes repeats one incident.
    OutboxMessage {
        method: METHOD,
        channel: "pagerduty".into(),
        payload: body.to_string(),
        purpose: Purpose::Notice,
    }
}

/// Trigger (or re-trigger: same dedup key) an incident for a breached ticket.
pub fn trigger(t: &Ticket, summary: &str) -> OutboxMessage {
    event(json!({
        "event_action": "trigger",
        "dedup_key": t.key,
        "payload": {
            "summary": crate::domain::ticket::shorten(summary, 1000),
            "source": "platform-desk",
            "severity": if t.priority == "P1" { "critical" } else { "error" },
            "custom_details": { "ticket": t.key, "priority": t.priority, "requester": t.requester, "title": t.title },
        },
    }))
}

/// Resolve the ticket's incident.
pub fn resolve(t: &Ticket) -> Option<OutboxMessage> {
    Some(event(
        json!({ "event_action": "resolve", "dedup_key": t.key }),
    ))
}
