//! What intake says: usage, the answer to a filed request, the intake card, the thread
//! reply and DM, and the request modal. All user text is escaped before it is echoed.

use crate::slack::mrkdwn::{self, escape};
use crate::tickets::{shorten, Ticket};
use chrono::{DateTime, Utc};
use serde_json::{json, Value};
use slack_morphism::prelude::*;

pub const USAGE: &str = "*`/platform` — ask the platform team*\n\
• `/platform request <what you need>` — file a request (the first line becomes its title)\n\
• `/platform request` — open the request form\n\
• `/platform help` — this help\n\
You can also mention the bot in a channel: `@platform-desk the staging deploy is stuck`.";

/// The most description a card shows (a section's text is limited to 3000 characters).
const CARD_DESCRIPTION_CHARS: usize = 2000;

/// Usage, optionally prefixed by what was not understood.
pub fn usage(unknown: Option<&str>) -> String {
    match unknown {
        Some(text) => format!(
            "Sorry, I don't know `{}`.\n\n{USAGE}",
            escape(&shorten(text, 80))
        ),
        None => USAGE.to_string(),
    }
}

pub fn not_yet(name: &str) -> String {
    format!("`/platform {name}` is not available in this version yet.\n\n{USAGE}")
}

pub const EMPTY_MENTION: &str = "Tell me what you need after the mention, e.g. \
`@platform-desk the staging deploy is stuck`, and I'll file it for the platform team.";

pub const STORE_FAILED: &str =
    "Sorry, I couldn't file that just now. Please try again in a moment.";

pub const FORM_FAILED: &str = "Sorry, I couldn't open the request form. You can file directly \
with `/platform request <what you need>`.";

/// A time as Slack shows it in the reader's own timezone, with a UTC fallback.
fn when(t: DateTime<Utc>) -> String {
    format!(
        "<!date^{}^{{date_short_pretty}} {{time}}|{}>",
        t.timestamp(),
        t.format("%Y-%m-%d %H:%M UTC")
    )
}

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

/// The ephemeral answer to the requester.
pub fn filed_reply(t: &Ticket) -> String {
    format!(
        ":white_check_mark: Filed *{}*: {} ({} · {}). {}",
        t.key,
        escape(&t.title),
        escape(&t.priority),
        escape(&t.category),
        targets(t)
    )
}

/// The reply in the thread of a mention, and the DM after the form.
pub fn filed_notice(t: &Ticket) -> String {
    format!(
        "Filed *{}* for the platform team: {}. {}",
        t.key,
        escape(&t.title),
        targets(t)
    )
}

/// The intake-channel card of a new ticket.
pub fn card(t: &Ticket, channel: &str) -> Value {
    let fallback = format!(
        "{} filed by {}: {}",
        t.key,
        mrkdwn::user(&t.requester),
        escape(&t.title)
    );
    let mut fields: Vec<SlackBlockText> = vec![
        md!("*Requester*\n{}", mrkdwn::user(&t.requester)),
        md!("*Priority*\n{}", escape(&t.priority)),
        md!("*Category*\n{}", escape(&t.category)),
        md!("*Status*\n{}", escape(&t.status)),
    ];
    if let (Some(first), Some(resolution)) = (t.first_response_due, t.resolution_due) {
        fields.push(md!("*First response due*\n{}", when(first)));
        fields.push(md!("*Resolution due*\n{}", when(resolution)));
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
    let mut context = format!("Filed via {}", t.source);
    if let Some(ch) = &t.channel {
        context.push_str(&format!(" in {}", mrkdwn::channel(ch)));
    }
    if let Some(link) = &t.link {
        context.push_str(&format!(" · link: {}", escape(link)));
    }
    blocks.push(
        SlackContextBlock::new(vec![SlackContextBlockElement::MarkDown(
            SlackBlockMarkDownText::new(context),
        )])
        .into(),
    );
    json!({ "channel": channel, "text": fallback, "blocks": blocks, "unfurl_links": false })
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

/// The request modal; `channel` is where it was opened, kept in `private_metadata`.
pub fn request_modal(channel: &str) -> Value {
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
    let text_input = |action: &str, multiline: bool, max: u64| {
        SlackInputBlockElement::PlainTextInput(
            SlackBlockPlainTextInputElement::new()
                .with_action_id(action.into())
                .with_multiline(multiline)
                .with_max_length(max),
        )
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
    let blocks = vec![
        input(
            form::TITLE,
            "What do you need?",
            text_input(form::TITLE.1, false, 150),
            false,
        ),
        input(
            form::DESCRIPTION,
            "Details",
            text_input(form::DESCRIPTION.1, true, 3000),
            true,
        ),
        input(form::URGENCY, "Urgency", urgency, false),
        input(
            form::LINK,
            "Link (optional)",
            text_input(form::LINK.1, false, 2000),
            true,
        ),
    ];
    let view = SlackView::Modal(
        SlackModalView::new(pt!("Platform request"), blocks)
            .with_submit(pt!("File request"))
            .with_close(pt!("Cancel"))
            .with_callback_id(form::CALLBACK_ID.into())
            .with_private_metadata(json!({ "channel": channel }).to_string()),
    );
    serde_json::to_value(view).unwrap_or(Value::Null)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tickets::Source;

    fn ticket(title: &str) -> Ticket {
        Ticket {
            id: 7,
            key: "PLAT-7".into(),
            title: title.into(),
            description: format!("{title}\nmore <!here> & detail"),
            requester: "U05QRST6UV".into(),
            channel: Some("C04PLATENG".into()),
            source: Source::Command,
            source_ts: None,
            category: "general".into(),
            priority: "P3".into(),
            status: "open".into(),
            assignee: None,
            urgency: None,
            link: Some("<https://x|y>".into()),
            created_at: Utc::now(),
            first_response_due: Some(Utc::now()),
            resolution_due: Some(Utc::now()),
        }
    }

    #[test]
    fn the_card_escapes_every_piece_of_user_text() {
        let card = card(&ticket("broken <!channel> & co"), "C01INTAKE").to_string();
        assert!(!card.contains("<!channel>"), "{card}");
        assert!(!card.contains("<!here>"), "{card}");
        assert!(!card.contains("<https://x|y>"), "{card}");
        assert!(card.contains("&lt;!channel&gt; &amp; co"));
        assert!(card.contains("<@U05QRST6UV>"));
    }

    #[test]
    fn the_card_shows_key_priority_category_and_due_times() {
        let card = card(&ticket("deploy stuck"), "C01INTAKE");
        let text = card.to_string();
        for needle in [
            "PLAT-7",
            "P3",
            "general",
            "First response due",
            "Resolution due",
            "open",
        ] {
            assert!(text.contains(needle), "missing {needle}: {text}");
        }
        assert_eq!(card["channel"], "C01INTAKE");
    }

    #[test]
    fn the_modal_has_the_four_inputs_and_remembers_the_channel() {
        let view = request_modal("C04PLATENG");
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
    }

    #[test]
    fn unknown_command_text_is_escaped_in_the_usage() {
        assert!(usage(Some("<!channel> hi")).contains("&lt;!channel&gt; hi"));
    }
}
