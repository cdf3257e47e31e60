//! What the requester is told about a held request: the offer (each entry with its own
//! `This solved it`, and `I still need help`), the redirect (`File it anyway`), the
//! outcomes, the reason form, and `/platform owns`. Untrusted text is escaped.

use super::catalog::Match;
use super::{Held, Notice};
use crate::mrkdwn::{channel as channel_link, escape, user};
use crate::settings::OwnershipArea;
use serde_json::{json, Value};
use std::time::Duration;

pub mod ids {
    /// Value: `<offer id>:<rank>`.
    pub const SOLVED: &str = "self_service_solved";
    /// Value: the offer id.
    pub const STILL_NEED: &str = "self_service_still_need";
    /// Value: the redirect id.
    pub const FILE_ANYWAY: &str = "ownership_file_anyway";
    pub const REASON_CALLBACK: &str = "self_service_reason";
    pub const REASON: (&str, &str) = ("reason_block", "reason_input");
}

pub const SOLVED_TEXT: &str = "This solved it";
pub const STILL_NEED_TEXT: &str = "I still need help";
pub const FILE_ANYWAY_TEXT: &str = "File it anyway";

pub const NOT_YOURS: &str = "Only the person who asked can answer this.";
pub const GONE: &str = "That request is no longer here.";
pub const SOLVED_THANKS: &str =
    ":white_check_mark: Glad that solved it. No ticket was filed; ask again any time.";

fn minutes(d: Duration) -> String {
    let m = d.as_secs().div_ceil(60).max(1);
    if m == 1 {
        "a minute".into()
    } else {
        format!("{m} minutes")
    }
}

/// A link with a title as its text: `|` and `>` would end the link early.
fn link(url: &str, title: &str) -> String {
    let title = escape(title).replace('|', "/");
    format!("<{url}|{title}>")
}

/// The offer's body for `notice` (a `chat.postMessage` in the thread, a `chat.postEphemeral`,
/// or the command's own answer when `notice` is None).
pub fn offer(
    offer_id: i64,
    held: &Held,
    matches: &[Match],
    timeout: Duration,
    notice: Option<&Notice>,
) -> Value {
    let intro = format!(
        "{} before this goes to the platform team, one of these may answer it right now:",
        user(&held.requester)
    );
    let mut blocks =
        vec![json!({ "type": "section", "text": { "type": "mrkdwn", "text": intro } })];
    for (i, m) in matches.iter().enumerate() {
        blocks.push(json!({
            "type": "section",
            "block_id": format!("self_service_entry_{}", i + 1),
            "text": { "type": "mrkdwn", "text": format!("*{}*\n{}", link(&m.link, &m.title), escape(&m.summary)) },
            "accessory": {
                "type": "button", "action_id": ids::SOLVED,
                "text": { "type": "plain_text", "text": SOLVED_TEXT },
                "value": format!("{offer_id}:{}", i + 1),
            },
        }));
    }
    blocks.push(json!({
        "type": "actions", "block_id": "self_service_offer",
        "elements": [{
            "type": "button", "action_id": ids::STILL_NEED, "style": "primary",
            "text": { "type": "plain_text", "text": STILL_NEED_TEXT },
            "value": offer_id.to_string(),
        }],
    }));
    blocks.push(json!({ "type": "context", "elements": [{ "type": "mrkdwn", "text": format!(
        "Not answered in {}? It is filed for you then, as asked at the time you asked: no time is lost. Only {} can answer this.",
        minutes(timeout), user(&held.requester)
    ) }] }));
    let text = format!(
        "Before this goes to the platform team: {} may answer it.",
        matches
            .first()
            .map_or_else(String::new, |m| escape(&m.title).into_owned())
    );
    with_place(
        json!({ "text": text, "blocks": blocks, "unfurl_links": false }),
        held,
        notice,
    )
}

/// The redirect: whose area it is, and `File it anyway`.
pub fn redirect(
    redirect_id: i64,
    held: &Held,
    area: &OwnershipArea,
    notice: Option<&Notice>,
) -> Value {
    let text = redirect_text(area);
    let blocks = vec![
        json!({ "type": "section", "text": { "type": "mrkdwn", "text": format!("{} {text}", user(&held.requester)) } }),
        json!({ "type": "actions", "block_id": "ownership_redirect", "elements": [{
            "type": "button", "action_id": ids::FILE_ANYWAY,
            "text": { "type": "plain_text", "text": FILE_ANYWAY_TEXT },
            "value": redirect_id.to_string(),
        }] }),
    ];
    with_place(
        json!({ "text": text, "blocks": blocks, "unfurl_links": false }),
        held,
        notice,
    )
}

fn redirect_text(area: &OwnershipArea) -> String {
    format!(
        "{} {}. *Nothing has been filed* for the platform team: press *{FILE_ANYWAY_TEXT}* if it should be.",
        belongs(area),
        area.note.as_deref().map(|n| escape(n).into_owned()).unwrap_or_default()
    )
    .replace(" .", ".")
}

/// "Database schema changes belong to the data team: #data-eng"
fn belongs(area: &OwnershipArea) -> String {
    let mut name = escape(&area.name).into_owned();
    if let Some(first) = name.get(..1) {
        name = first.to_uppercase() + &name[1..];
    }
    let owner = escape(&area.owner);
    match &area.channel {
        Some(c) => format!("{name} belong to the {owner}: {}.", channel_link(c)),
        None => format!("{name} belong to the {owner}."),
    }
    .replace("the the ", "the ")
}

/// Where the message goes: the thread, an ephemeral message, a DM; or (None) the command's
/// answer.
fn with_place(mut body: Value, held: &Held, notice: Option<&Notice>) -> Value {
    match notice {
        None => body["response_type"] = json!("ephemeral"),
        Some(Notice::Thread { channel, ts }) => {
            body["channel"] = json!(channel);
            body["thread_ts"] = json!(ts);
        }
        Some(Notice::Ephemeral { channel }) => {
            body["channel"] = json!(channel);
            body["user"] = json!(held.requester);
        }
        Some(Notice::Direct) => body["channel"] = json!(held.requester),
    }
    body
}

/// The offer message once answered: its buttons replaced by what happened.
pub fn answered(channel: &str, ts: &str, text: &str) -> Value {
    json!({ "channel": channel, "ts": ts, "text": text, "blocks": [
        { "type": "section", "text": { "type": "mrkdwn", "text": text } }
    ] })
}

pub fn solved_by(title: &str) -> String {
    format!(
        ":white_check_mark: Solved by *{}*. No ticket was filed.",
        escape(title)
    )
}

pub fn still_needed(key: &str) -> String {
    format!("Filed as *{key}* for the platform team, with what was offered. Its clock started when you asked.")
}

/// An offer nobody answered, once the timeout filed it.
pub fn filed_unanswered(key: &str, timeout: Duration) -> String {
    format!(
        "No answer in {}, so this was *filed as {key}* for the platform team. Its clock started when you asked.",
        minutes(timeout)
    )
}

pub fn already(outcome: &str, key: Option<&str>) -> String {
    match (outcome, key) {
        ("solved", _) => "This was already marked solved; no ticket was filed.".into(),
        (_, Some(key)) => format!("This is already filed as *{key}*."),
        _ => "This is already being filed.".into(),
    }
}

/// The redirect once `File it anyway` was pressed.
pub fn filed_anyway(key: &str) -> String {
    format!("Filed anyway as *{key}* for the platform team.")
}

/// A redirect's `File it anyway` pressed too long after: nothing filed, and why.
pub fn redirect_expired(area: &str) -> String {
    format!(
        "*Nothing was filed.* This was redirected to the owners of {} more than a day ago, so *{FILE_ANYWAY_TEXT}* no longer files it. If the platform team should still take it, ask again.",
        escape(area)
    )
}

/// The reason form after `I still need help`.
pub fn reason_modal(offer_id: i64, key: Option<&str>) -> Value {
    let title = key.map_or_else(
        || "Your request is filed.".to_string(),
        |k| format!("Your request is filed as {k}."),
    );
    json!({
        "type": "modal", "callback_id": ids::REASON_CALLBACK,
        "private_metadata": offer_id.to_string(),
        "title": { "type": "plain_text", "text": "What was missing?" },
        "submit": { "type": "plain_text", "text": "Send" },
        "close": { "type": "plain_text", "text": "Skip" },
        "blocks": [
            { "type": "section", "text": { "type": "plain_text", "text": format!("{title} What did the suggested answers miss? It helps us write the doc that would have." ) } },
            { "type": "input", "block_id": ids::REASON.0, "label": { "type": "plain_text", "text": "What was missing" },
              "element": { "type": "plain_text_input", "action_id": ids::REASON.1, "multiline": true, "max_length": 1000 } },
        ],
    })
}

/// `/platform owns <topic>`.
pub fn owns(topic: &str, area: Option<&OwnershipArea>) -> String {
    let topic = escape(topic.trim());
    match area {
        _ if topic.is_empty() => {
            "Ask about a topic: `/platform owns database migrations`.".into()
        }
        None => format!(
            "\u{201c}{topic}\u{201d} is in nobody's area of the ownership map. Ask the platform team with `/platform request`, and we'll find the right owner."
        ),
        Some(area) if area.is_platform() => format!(
            "*{}* is the platform team's: `/platform request <what you need>`.{}",
            escape(&area.name),
            area.note.as_deref().map(|n| format!(" {}", escape(n))).unwrap_or_default()
        ),
        Some(area) => format!(
            "{}{}",
            belongs(area),
            area.note.as_deref().map(|n| format!(" {}", escape(n))).unwrap_or_default()
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn area(channel: Option<&str>, note: Option<&str>) -> OwnershipArea {
        OwnershipArea {
            name: "database schema changes".into(),
            keywords: vec!["schema".into()],
            keyword_words: vec![vec!["schema".into()]],
            owner: "data team".into(),
            channel: channel.map(str::to_string),
            note: note.map(str::to_string),
        }
    }

    #[test]
    fn a_redirect_names_the_owner_and_its_channel_and_says_nothing_was_filed() {
        let text = redirect_text(&area(Some("C01DATAENG"), Some("PRs to data/migrations")));
        assert!(
            text.starts_with("Database schema changes belong to the data team: <#C01DATAENG>. PRs to data/migrations."),
            "{text}"
        );
        assert!(text.contains("Nothing has been filed"), "{text}");
    }

    #[test]
    fn owns_answers_for_nobodys_topic_and_escapes_it() {
        let text = owns("<!channel> printers", None);
        assert!(text.contains("&lt;!channel&gt; printers"), "{text}");
        assert!(text.contains("nobody's area"), "{text}");
        let text = owns("schema", Some(&area(None, None)));
        assert_eq!(text, "Database schema changes belong to the data team.");
    }
}
