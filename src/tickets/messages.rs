//! What tickets look like in Slack: the intake card with its buttons and menus (updated in
//! place after every change), and the notices to requesters. User text is always escaped.

use super::{shorten, Status, Ticket};
use crate::mrkdwn::{self, escape, when};
use crate::settings::Policy;
use chrono::{DateTime, Utc};
use serde_json::{json, Value};
use slack_morphism::prelude::*;

/// The action ids of the card's controls; the value of each is the ticket id.
pub mod actions {
    pub const ACK: &str = "ticket_ack";
    /// On breach and escalation pings.
    pub const ACK_BREACH: &str = "breach_ack";
    pub const ASSIGN: &str = "ticket_assign";
    pub const PRIORITY: &str = "ticket_priority";
    pub const WAIT: &str = "ticket_wait";
    pub const RESOLVE: &str = "ticket_resolve";
    pub const REOPEN: &str = "ticket_reopen";
    /// value: `<duplicate id>:<survivor id>`
    pub const MERGE: &str = "ticket_merge";
    /// "Link to roadmap": handled by the roadmap (a form of its open items).
    pub const ROADMAP_LINK: &str = "roadmap_link_ticket";
}

/// The most description a card shows (a section's text is limited to 3000 characters).
const CARD_DESCRIPTION_CHARS: usize = 1500;

/// "P1: matched 'prod down'" when a rule decided the priority.
pub fn triage_reason(t: &Ticket) -> Option<String> {
    let reason = t.triage_reason.as_deref()?;
    Some(format!(
        "{}: matched '{}'",
        escape(&t.priority),
        escape(reason)
    ))
}

/// One SLA clock as the card shows it.
fn clock(
    label: &str,
    due: Option<DateTime<Utc>>,
    done: Option<DateTime<Utc>>,
    paused: bool,
    breached: bool,
    now: DateTime<Utc>,
) -> String {
    let state = match (done, due) {
        (None, Some(due)) if breached => {
            format!(":rotating_light: breached, was due {}", when(due))
        }
        (Some(done), Some(due)) if done > due => {
            format!(":red_circle: done {} (due {})", when(done), when(due))
        }
        (Some(done), _) => format!(":white_check_mark: done {}", when(done)),
        (None, _) if paused => ":double_vertical_bar: paused (waiting on requester)".to_string(),
        (None, Some(due)) if due <= now => format!(":rotating_light: overdue since {}", when(due)),
        (None, Some(due)) => format!("due {}", when(due)),
        (None, None) => "—".to_string(),
    };
    format!("*{label}*\n{state}")
}

fn status_label(t: &Ticket) -> String {
    match t.status.as_str() {
        "open" => ":new: open".into(),
        "acknowledged" => ":eyes: acknowledged".into(),
        "waiting" => ":hourglass_flowing_sand: waiting on requester".into(),
        "resolved" => ":white_check_mark: resolved".into(),
        "closed" => ":heavy_multiplication_x: closed".into(),
        other => escape(other).into_owned(),
    }
}

/// The intake-channel card: `chat.postMessage` body for `channel`, or with `ts` set, the
/// `chat.update` body.
///
/// The sender renders it when it posts or updates the card, so it always shows the ticket
/// as it is at that moment.
pub fn card(t: &Ticket, policy: &Policy, channel: &str, now: DateTime<Utc>) -> Value {
    let fallback = format!(
        "{} filed by {}: {}",
        t.key,
        mrkdwn::user(&t.requester),
        escape(&t.title)
    );
    let revision = now.timestamp_millis();
    let paused = t.status == Status::Waiting;
    let mut fields: Vec<SlackBlockText> = vec![
        md!("*Requester*\n{}", mrkdwn::user(&t.requester)),
        md!("*Status*\n{}", status_label(t)),
        md!("*Priority*\n{}", escape(&t.priority)),
        md!("*Category*\n{}", escape(&t.category)),
        md!(
            "*Assignee*\n{}",
            t.assignee
                .as_deref()
                .map(mrkdwn::user)
                .unwrap_or_else(|| "_unassigned_".into())
        ),
        md!(
            "{}",
            clock(
                "First response",
                t.first_response_due,
                t.first_response_at,
                paused && t.first_response_at.is_none(),
                t.first_response_breached,
                now
            )
        ),
        md!(
            "{}",
            clock(
                "Resolution",
                t.resolution_due,
                t.resolved_at,
                paused,
                t.resolution_breached,
                now
            )
        ),
    ];
    if let Some(score) = t.csat {
        fields.push(md!("{}", crate::csat::messages::card_line(score)));
    }
    let mut blocks: Vec<SlackBlock> = vec![
        SlackSectionBlock::new()
            .with_text(md!("*{}* {}", t.key, escape(&t.title)))
            .into(),
        SlackSectionBlock::new().with_fields(fields).into(),
    ];
    if t.description.trim() != t.title.trim() && !t.description.trim().is_empty() {
        blocks.push(
            SlackSectionBlock::new()
                .with_text(md!(
                    "{}",
                    escape(&shorten(&t.description, CARD_DESCRIPTION_CHARS))
                ))
                .into(),
        );
    }
    if let Some(note) = &t.resolution_note {
        blocks.push(
            SlackSectionBlock::new()
                .with_text(md!("*Resolution:* {}", escape(&shorten(note, 1000))))
                .into(),
        );
    }
    let mut context = vec![format!("Filed via {}", t.source)];
    if let Some(ch) = &t.channel {
        context[0].push_str(&format!(" in {}", mrkdwn::channel(ch)));
    }
    if let Some(by) = &t.filed_by {
        context.push(format!("filed by {}", mrkdwn::user(by)));
    }
    if let Some(reason) = triage_reason(t) {
        context.push(reason);
    }
    if let Some(link) = &t.link {
        context.push(format!("link: {}", escape(link)));
    }
    if t.source_deleted {
        context.push("the source message was deleted".into());
    }
    if let Some((_, key)) = &t.merged_into {
        context.push(format!("merged into *{}*", escape(key)));
    }
    blocks.push(
        SlackContextBlock::new(vec![SlackContextBlockElement::MarkDown(
            SlackBlockMarkDownText::new(context.join(" · ")),
        )])
        .into(),
    );
    if let (Some((dup_id, dup_key)), true) = (&t.duplicate_of, t.is_open()) {
        blocks.push(
            SlackSectionBlock::new()
                .with_text(md!(":warning: Looks like *{}*", escape(dup_key)))
                .with_accessory(
                    button(
                        &format!("Merge into {dup_key}"),
                        actions::MERGE,
                        &format!("{}:{}", t.id, dup_id),
                        None,
                    )
                    .into(),
                )
                .into(),
        );
    }
    blocks.push(controls(t, policy, revision));
    json!({ "channel": channel, "text": fallback, "blocks": blocks, "unfurl_links": false })
}

fn button(
    label: &str,
    action: &str,
    value: &str,
    style: Option<SlackBlockButtonStyle>,
) -> SlackBlockButtonElement {
    let mut b = SlackBlockButtonElement::new(pt!(label))
        .with_action_id(action.into())
        .with_value(value.to_string());
    if let Some(style) = style {
        b = b.with_style(style);
    }
    b
}

/// The card's buttons and menus for the ticket's current state.
fn controls(t: &Ticket, policy: &Policy, revision: i64) -> SlackBlock {
    let id = t.id.to_string();
    let mut elements: Vec<SlackActionBlockElement> = Vec::new();
    if t.is_open() {
        if t.status == Status::Open {
            elements.push(
                button(
                    "Acknowledge",
                    actions::ACK,
                    &id,
                    Some(SlackBlockButtonStyle::Primary),
                )
                .into(),
            );
        }
        elements.push(
            SlackBlockUsersSelectElement::new()
                .with_action_id(actions::ASSIGN.into())
                .with_placeholder(pt!("Assign"))
                .into(),
        );
        let options: Vec<SlackBlockChoiceItem<SlackBlockPlainTextOnly>> = policy
            .priority_names()
            .map(|p| SlackBlockChoiceItem::new(pt!(p), format!("{id}:{p}")))
            .collect();
        let current = options
            .iter()
            .find(|o| o.value == format!("{id}:{}", t.priority))
            .cloned();
        let mut select = SlackBlockStaticSelectElement::new()
            .with_action_id(actions::PRIORITY.into())
            .with_options(options)
            .with_placeholder(pt!("Priority"));
        if let Some(current) = current {
            select = select.with_initial_option(current);
        }
        elements.push(select.into());
        if t.status != Status::Waiting {
            elements.push(button("Waiting on requester", actions::WAIT, &id, None).into());
        }
        elements.push(
            button(
                "Resolve",
                actions::RESOLVE,
                &id,
                Some(SlackBlockButtonStyle::Primary),
            )
            .into(),
        );
        elements.push(button("Link to roadmap", actions::ROADMAP_LINK, &id, None).into());
    } else {
        elements.push(button("Reopen", actions::REOPEN, &id, None).into());
    }
    SlackActionsBlock::new(elements)
        .with_block_id(format!("ticket-{}-{revision}", t.id).into())
        .into()
}

/// The resolve modal: a note, then the ticket resolves.
pub fn resolve_modal(t: &Ticket) -> Value {
    let note = SlackInputBlock::new(
        pt!("Resolution note"),
        SlackInputBlockElement::PlainTextInput(
            SlackBlockPlainTextInputElement::new()
                .with_action_id(RESOLVE_NOTE.1.into())
                .with_multiline(true)
                .with_max_length(2000),
        ),
    )
    .with_block_id(RESOLVE_NOTE.0.into());
    let view = SlackView::Modal(
        SlackModalView::new(
            pt!(shorten(&format!("Resolve {}", t.key), 24)),
            vec![note.into()],
        )
        .with_submit(pt!("Resolve"))
        .with_close(pt!("Cancel"))
        .with_callback_id(RESOLVE_CALLBACK.into())
        .with_private_metadata(t.id.to_string()),
    );
    serde_json::to_value(view).unwrap_or(Value::Null)
}

pub const RESOLVE_CALLBACK: &str = "ticket_resolve";
pub const RESOLVE_NOTE: (&str, &str) = ("note_block", "note_input");

/// A message to the requester where they asked (thread or DM).
pub fn to_requester(t: &Ticket, text: String) -> Value {
    let (channel, thread) = t.requester_thread();
    let mut body = json!({ "channel": channel, "text": text, "unfurl_links": false });
    if let Some(ts) = thread {
        body["thread_ts"] = json!(ts);
    }
    body
}

pub fn acknowledged_notice(t: &Ticket, by: &str) -> String {
    format!(
        ":eyes: {} picked up *{}*: {}.",
        mrkdwn::user(by),
        t.key,
        escape(&t.title)
    )
}

pub fn waiting_notice(t: &Ticket, by: &str) -> String {
    format!(
        ":hourglass_flowing_sand: {} needs more from you on *{}*: {}. Reply in this thread (or to the card) and the clock starts again.",
        mrkdwn::user(by),
        t.key,
        escape(&t.title)
    )
}

pub fn resolved_notice(t: &Ticket, by: &str) -> String {
    let note = t
        .resolution_note
        .as_deref()
        .filter(|n| !n.trim().is_empty());
    format!(
        ":white_check_mark: *{}* was resolved by {}{}",
        t.key,
        mrkdwn::user(by),
        note.map(|n| format!(": {}", escape(n)))
            .unwrap_or_else(|| ".".into())
    )
}

pub fn reopened_notice(t: &Ticket, by: &str) -> String {
    format!(
        ":arrows_counterclockwise: *{}* was reopened by {}.",
        t.key,
        mrkdwn::user(by)
    )
}

pub fn merged_notice(t: &Ticket, into_key: &str) -> String {
    format!(
        ":link: *{}* was merged into *{}*; follow that one.",
        t.key,
        escape(into_key)
    )
}

pub fn duplicate_hint(t: &Ticket) -> Option<Value> {
    let (dup_id, dup_key) = t.duplicate_of.as_ref()?;
    Some(json!([
        { "type": "section", "text": { "type": "mrkdwn", "text": format!(":warning: *{}* looks like *{}*, which is still open. Same problem?", t.key, escape(dup_key)) },
          "accessory": { "type": "button", "action_id": actions::MERGE, "value": format!("{}:{}", t.id, dup_id),
                         "text": { "type": "plain_text", "text": format!("Merge into {dup_key}") } } }
    ]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ticket::tests::sample;

    fn render(t: &Ticket) -> Value {
        card(t, &Policy::builtin(), "C01INTAKE", Utc::now())
    }

    fn action_ids(card: &Value) -> Vec<String> {
        card["blocks"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|b| b["type"] == "actions")
            .flat_map(|b| {
                b["elements"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|e| e["action_id"].as_str().unwrap().to_string())
            })
            .collect()
    }

    #[test]
    fn the_card_escapes_every_piece_of_user_text() {
        let mut t = sample();
        t.title = "broken <!channel> & co".into();
        t.resolution_note = Some("<!everyone> fixed".into());
        t.triage_reason = Some("<!here>".into());
        let raw = render(&t).to_string();
        for forbidden in ["<!channel>", "<!here>", "<!everyone>", "<https://x|y>"] {
            assert!(!raw.contains(forbidden), "{forbidden} in {raw}");
        }
        assert!(raw.contains("&lt;!channel&gt; &amp; co"));
        assert!(raw.contains("<@U05QRST6UV>"));
    }

    #[test]
    fn the_card_shows_key_requester_priority_category_status_assignee_and_clocks() {
        let mut t = sample();
        t.assignee = Some("U01BOB".into());
        let raw = render(&t).to_string();
        for needle in [
            "PLAT-7",
            "P3",
            "general",
            "open",
            "<@U01BOB>",
            "First response",
            "Resolution",
        ] {
            assert!(raw.contains(needle), "missing {needle}: {raw}");
        }
    }

    #[test]
    fn the_buttons_follow_the_state() {
        let mut t = sample();
        assert_eq!(
            action_ids(&render(&t)),
            [
                "ticket_ack",
                "ticket_assign",
                "ticket_priority",
                "ticket_wait",
                "ticket_resolve",
                "roadmap_link_ticket"
            ]
        );
        t.status = Status::Acknowledged;
        assert_eq!(
            action_ids(&render(&t)),
            [
                "ticket_assign",
                "ticket_priority",
                "ticket_wait",
                "ticket_resolve",
                "roadmap_link_ticket"
            ]
        );
        t.status = Status::Waiting;
        assert_eq!(
            action_ids(&render(&t)),
            [
                "ticket_assign",
                "ticket_priority",
                "ticket_resolve",
                "roadmap_link_ticket"
            ]
        );
        t.status = Status::Resolved;
        assert_eq!(action_ids(&render(&t)), ["ticket_reopen"]);
    }

    #[test]
    fn a_rule_match_is_explained_on_the_card() {
        let mut t = sample();
        t.priority = "P1".into();
        t.triage_reason = Some("prod down".into());
        assert!(render(&t).to_string().contains("P1: matched 'prod down'"));
    }

    #[test]
    fn a_likely_duplicate_carries_a_merge_button() {
        let mut t = sample();
        t.duplicate_of = Some((3, "PLAT-3".into()));
        let raw = render(&t).to_string();
        assert!(raw.contains("Looks like *PLAT-3*"));
        assert!(
            raw.contains("\"action_id\":\"ticket_merge\"") && raw.contains("\"value\":\"7:3\""),
            "{raw}"
        );
    }
}
