//! What SLA alerts say: pre-breach warnings (rolled up per person), breach pings with an
//! Acknowledge button, card-thread notes and escalations. User text is escaped.

use crate::mrkdwn::when;
use crate::mrkdwn::{self, escape};
use crate::tickets::messages::actions;
use crate::tickets::Ticket;
use chrono::{DateTime, Utc};
use serde_json::{json, Value};

/// A link to the ticket's card (Slack redirects it to the workspace).
pub fn card_link(t: &Ticket) -> Option<String> {
    let (channel, ts) = (t.card_channel.as_ref()?, t.card_ts.as_ref()?);
    Some(format!(
        "https://slack.com/archives/{channel}/p{}",
        ts.replace('.', "")
    ))
}

fn key_with_link(t: &Ticket) -> String {
    match card_link(t) {
        Some(link) => format!("<{link}|{}>", t.key),
        None => format!("*{}*", t.key),
    }
}

fn late_note(late: bool) -> &'static str {
    if late {
        " _(sent late: the bot was not running when this came due)_"
    } else {
        ""
    }
}

/// One warning line: "PLAT-7 (title): first response due `<when>`".
pub fn warning_line(t: &Ticket, target: &str, due: DateTime<Utc>) -> String {
    format!(
        "{} {}: {target} due {}",
        key_with_link(t),
        escape(&t.title),
        when(due)
    )
}

/// A DM with one or more warnings for the same person.
pub fn warning_dm(user: &str, lines: &[String], late: bool) -> Value {
    let text = if lines.len() == 1 {
        format!(":hourglass: SLA warning: {}{}", lines[0], late_note(late))
    } else {
        format!(
            ":hourglass: {} tickets are close to breaching their SLA{}:\n{}",
            lines.len(),
            late_note(late),
            lines
                .iter()
                .map(|l| format!("• {l}"))
                .collect::<Vec<_>>()
                .join("\n")
        )
    };
    json!({ "channel": user, "text": text, "unfurl_links": false })
}

fn with_ack_button(text: String, t: &Ticket) -> Value {
    json!([
        { "type": "section", "text": { "type": "mrkdwn", "text": text } },
        { "type": "actions", "block_id": format!("breach-{}", t.id), "elements": [
            { "type": "button", "action_id": actions::ACK_BREACH, "value": t.id.to_string(), "style": "primary",
              "text": { "type": "plain_text", "text": "Acknowledge" } }
        ] }
    ])
}

/// One line of a rolled-up breach alert.
pub fn breach_line(t: &Ticket, target: &str, due: DateTime<Utc>) -> String {
    format!(
        "{} breached its {target} (due {}): {}",
        key_with_link(t),
        when(due),
        escape(&t.title)
    )
}

/// The breach ping (DM to on-call and assignee, and the team channel).
pub fn breach_ping(
    channel: &str,
    t: &Ticket,
    target: &str,
    due: DateTime<Utc>,
    late: bool,
) -> Value {
    let text = format!(
        ":rotating_light: {} breached its {target} SLA (due {}): {} · {} · requester {}{}",
        key_with_link(t),
        when(due),
        escape(&t.title),
        escape(&t.priority),
        mrkdwn::user(&t.requester),
        late_note(late)
    );
    json!({ "channel": channel, "text": text, "blocks": with_ack_button(text.clone(), t), "unfurl_links": false })
}

/// The note in the card's thread (the sender fills in channel and thread).
pub fn breach_thread_note(t: &Ticket, target: &str, due: DateTime<Utc>) -> Value {
    json!({ "channel": "", "text": format!(":rotating_light: The {target} SLA of *{}* was breached (due {}).", t.key, when(due)) })
}

/// An escalation round (DM to `escalate_to`, and the team channel).
pub fn escalation(
    channel: &str,
    t: &Ticket,
    round: i64,
    max_rounds: u32,
    breached_at: DateTime<Utc>,
) -> Value {
    let text = format!(
        ":warning: Escalation {round}/{max_rounds}: {} breached its SLA at {} and nobody has acknowledged it yet: {} · {}",
        key_with_link(t),
        when(breached_at),
        escape(&t.title),
        escape(&t.priority)
    );
    json!({ "channel": channel, "text": text, "blocks": with_ack_button(text.clone(), t), "unfurl_links": false })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ticket::tests::sample;

    #[test]
    fn a_breach_ping_carries_an_acknowledge_button_and_escapes_the_title() {
        let mut t = sample();
        t.title = "db <!channel> down".into();
        let ping = breach_ping("U01ALICE", &t, "first response", Utc::now(), false).to_string();
        assert!(ping.contains("\"action_id\":\"breach_ack\""));
        assert!(!ping.contains("<!channel>"));
    }

    #[test]
    fn several_warnings_for_one_person_are_one_message() {
        let dm = warning_dm("U01ALICE", &["a".into(), "b".into(), "c".into()], false);
        let text = dm["text"].as_str().unwrap();
        assert!(text.starts_with(":hourglass: 3 tickets"), "{text}");
        assert_eq!(text.matches("• ").count(), 3);
    }
}
