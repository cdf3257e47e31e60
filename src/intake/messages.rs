//! What intake says: the answer to a filed request, the thread reply and DM, and the
//! request modal. All user text is escaped before it is echoed.

use crate::mrkdwn::escape;
use crate::mrkdwn::when;
use crate::tickets::messages::{duplicate_hint, triage_reason};
use crate::tickets::{shorten, Ticket};
use serde_json::{json, Value};
use slack_morphism::prelude::*;

pub const EMPTY_MENTION: &str = "Tell me what you need after the mention, e.g. \
`@platform-desk the staging deploy is stuck`, and I'll file it for the platform team.";

pub use crate::input::STORE_FAILED;

pub const FORM_FAILED: &str = "Sorry, I couldn't open the request form. You can file directly \
with `/platform request <what you need>`.";

/// "first response by ..., resolution by ..." for a ticket's targets.
fn targets(t: &Ticket) -> String {
    match (t.first_response_due, t.resolution_due) {
        (Some(first), Some(resolution)) => format!(
            "First response by {}, resolution by {}.",
            when(first),
            when(resolution)
        ),
        _ => String::new(),
    }
}

fn why(t: &Ticket) -> String {
    triage_reason(t)
        .map(|r| format!(" ({r})"))
        .unwrap_or_default()
}

/// The ephemeral answer to the requester: text, plus the duplicate hint when there is one.
pub fn filed_reply(t: &Ticket) -> Value {
    let text = format!(
        ":white_check_mark: Filed *{}*: {} ({} · {}){}. {}",
        t.key,
        escape(&t.title),
        escape(&t.priority),
        escape(&t.category),
        why(t),
        targets(t)
    );
    with_hint(json!({ "response_type": "ephemeral", "text": text }), t)
}

/// The reply in the thread of a message or mention, and the DM after the form.
pub fn filed_notice(t: &Ticket, channel: &str, thread_ts: Option<&str>) -> Value {
    let filed_by = match &t.filed_by {
        Some(by) if by != &t.requester => format!(
            " ({} filed it for {})",
            crate::mrkdwn::user(by),
            crate::mrkdwn::user(&t.requester)
        ),
        _ => String::new(),
    };
    let text = format!(
        "Filed *{}* for the platform team{filed_by}: {}{}. {}",
        t.key,
        escape(&t.title),
        why(t),
        targets(t)
    );
    let mut body = json!({ "channel": channel, "text": text, "unfurl_links": false });
    if let Some(ts) = thread_ts {
        body["thread_ts"] = json!(ts);
    }
    with_hint(body, t)
}

fn with_hint(mut body: Value, t: &Ticket) -> Value {
    if let Some(hint) = duplicate_hint(t) {
        let mut blocks = vec![
            json!({ "type": "section", "text": { "type": "mrkdwn", "text": body["text"].clone() } }),
        ];
        blocks.extend(hint.as_array().cloned().unwrap_or_default());
        body["blocks"] = Value::Array(blocks);
    }
    body
}

/// A plain message to `channel`, optionally in a thread.
pub fn post(channel: &str, thread_ts: Option<&str>, text: String) -> Value {
    let mut body = json!({ "channel": channel, "text": text, "unfurl_links": false });
    if let Some(ts) = thread_ts {
        body["thread_ts"] = json!(ts);
    }
    body
}

/// Block and action ids of the request modal; a submission is read by these.
pub mod form {
    pub const CALLBACK_ID: &str = "platform_request";
    pub const TITLE: (&str, &str) = ("title_block", "title_input");
    pub const DESCRIPTION: (&str, &str) = ("description_block", "description_input");
    pub const URGENCY: (&str, &str) = ("urgency_block", "urgency_select");
    pub const LINK: (&str, &str) = ("link_block", "link_input");
    pub const URGENCIES: &[(&str, &str)] = &[
        ("low", "Low — whenever you can"),
        ("normal", "Normal — this week"),
        ("high", "High — blocking my work"),
        ("critical", "Critical — production impact"),
    ];
}

/// The request modal. `metadata` (where it was opened, and the message it was opened on)
/// comes back in `private_metadata`; `prefill` is (title, details).
pub fn request_modal(metadata: &Value, prefill: Option<(&str, &str)>) -> Value {
    let input = |ids: (&str, &str),
                 label: &str,
                 element: SlackInputBlockElement,
                 optional: bool|
     -> SlackBlock {
        SlackInputBlock::new(pt!(label), element)
            .with_block_id(ids.0.into())
            .with_optional(optional)
            .into()
    };
    let text_input = |action: &str, multiline: bool, max: u64, initial: Option<&str>| {
        let mut e = SlackBlockPlainTextInputElement::new()
            .with_action_id(action.into())
            .with_multiline(multiline)
            .with_max_length(max);
        if let Some(initial) = initial.filter(|i| !i.is_empty()) {
            e = e.with_initial_value(shorten(initial, max as usize));
        }
        SlackInputBlockElement::PlainTextInput(e)
    };
    let options: Vec<SlackBlockChoiceItem<SlackBlockPlainTextOnly>> = form::URGENCIES
        .iter()
        .map(|(value, label)| SlackBlockChoiceItem::new(pt!(*label), value.to_string()))
        .collect();
    let urgency = SlackInputBlockElement::StaticSelect(
        SlackBlockStaticSelectElement::new()
            .with_action_id(form::URGENCY.1.into())
            .with_options(options.clone())
            .with_initial_option(options[1].clone()),
    );
    let (title, details) = prefill.unwrap_or(("", ""));
    let blocks = vec![
        input(
            form::TITLE,
            "What do you need?",
            text_input(form::TITLE.1, false, 150, Some(title)),
            false,
        ),
        input(
            form::DESCRIPTION,
            "Details",
            text_input(form::DESCRIPTION.1, true, 3000, Some(details)),
            true,
        ),
        input(form::URGENCY, "Urgency", urgency, false),
        input(
            form::LINK,
            "Link (optional)",
            text_input(form::LINK.1, false, 2000, None),
            true,
        ),
    ];
    let view = SlackView::Modal(
        SlackModalView::new(pt!("Platform request"), blocks)
            .with_submit(pt!("File request"))
            .with_close(pt!("Cancel"))
            .with_callback_id(form::CALLBACK_ID.into())
            .with_private_metadata(metadata.to_string()),
    );
    serde_json::to_value(view).unwrap_or(Value::Null)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ticket::tests::sample;

    #[test]
    fn the_modal_has_the_four_inputs_and_remembers_where_it_was_opened() {
        let view = request_modal(
            &json!({"channel": "C04PLATENG"}),
            Some(("deploy stuck", "since 10:00")),
        );
        assert_eq!(view["type"], "modal");
        assert_eq!(view["callback_id"], form::CALLBACK_ID);
        let ids: Vec<&str> = view["blocks"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| b["block_id"].as_str().unwrap())
            .collect();
        assert_eq!(
            ids,
            [
                "title_block",
                "description_block",
                "urgency_block",
                "link_block"
            ]
        );
        assert!(view["private_metadata"]
            .as_str()
            .unwrap()
            .contains("C04PLATENG"));
        assert_eq!(
            view["blocks"][0]["element"]["initial_value"],
            "deploy stuck"
        );
    }

    #[test]
    fn a_duplicate_gets_a_merge_button_in_the_answer() {
        let mut t = sample();
        t.duplicate_of = Some((3, "PLAT-3".into()));
        let reply = filed_reply(&t);
        let raw = reply.to_string();
        assert!(raw.contains("looks like *PLAT-3*"), "{raw}");
        assert!(raw.contains("\"value\":\"7:3\""), "{raw}");
    }
}
