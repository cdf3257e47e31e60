//! Intake: requests become tickets — by slash command, request form, mention, a message in
//! a help channel, the ticket emoji, or the message shortcut. One message is never more
//! than one ticket: the inbox dedupes by event id and by (channel, ts).

pub mod answers;
pub mod held;
pub mod messages;
pub mod modal;

use crate::context::{AppError, Context};
use crate::input::{Command, Mention, Reaction, Reply, Shortcut, Submission};
use crate::mrkdwn::plain_from_slack;
use crate::outbox::{OutboxMessage, Purpose};
use crate::self_service::{Catalog, Notice};
use crate::tickets::filer::{FileRequest, Filed, TicketFiler};
use crate::tickets::{title_from, NewTicket, Source, Ticket};
use held::Hold;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::ops::Deref;
use std::sync::Arc;

/// The callback id of the "File as platform request" message shortcut (see manifests/).
pub const SHORTCUT_CALLBACK: &str = "file_platform_request";

/// Intake's state: the context, the ticket writer it files through, and the self-service
/// catalog requests are matched against first.
pub struct Intake {
    pub ctx: Arc<Context>,
    pub filer: TicketFiler,
    pub catalog: Arc<Catalog>,
}

impl Deref for Intake {
    type Target = Context;
    fn deref(&self) -> &Context {
        &self.ctx
    }
}

/// `/platform request <text>`: files a ticket from the text.
pub async fn file_from_command(app: &Intake, cmd: &Command, text: String) -> Reply {
    let new = NewTicket {
        title: title_from(&text),
        description: text,
        requester: cmd.user.clone(),
        channel: Some(cmd.channel.clone()).filter(|c| !c.is_empty()),
        source: Source::Command,
        source_ts: None,
        urgency: None,
        link: None,
        filed_by: None,
    };
    let respond = cmd.response_url.as_deref();
    if let Some(Hold::Held(offer)) = hold_or_file(app, &new, &[], None, respond).await {
        return offer.map_or(Reply::Empty, Reply::Json);
    }
    match file(app, new, Vec::new(), |_: &Ticket| Vec::new()).await {
        Ok(Filed::New(t)) => Reply::Json(messages::filed_reply(&t)),
        Ok(Filed::Duplicate) => Reply::ephemeral(messages::STORE_FAILED),
        Err(err) => {
            tracing::error!(error = %err.chain(), "filing a ticket failed");
            Reply::ephemeral(messages::STORE_FAILED)
        }
    }
}

/// The request form, opened at the edge; its failure said ephemerally.
pub async fn open_form(
    app: &Intake,
    trigger_id: Option<&str>,
    metadata: &Value,
    prefill: Option<(&str, &str)>,
) -> Reply {
    let Some(trigger_id) = trigger_id else {
        return Reply::ephemeral(messages::FORM_FAILED);
    };
    let view = messages::request_modal(metadata, prefill);
    match app.slack.open_view(trigger_id, view).await {
        Ok(()) => Reply::Empty,
        Err(_) => Reply::ephemeral(messages::FORM_FAILED),
    }
}

/// The message shortcut: the request form, prefilled with the message.
pub async fn on_shortcut(app: &Intake, s: Shortcut) -> Result<Reply, AppError> {
    if s.callback_id != SHORTCUT_CALLBACK {
        return Ok(Reply::Empty);
    }
    let metadata =
        json!({ "channel": s.channel, "message_ts": s.message_ts, "author": s.message_user });
    let title = title_from(&s.text);
    let reply = open_form(app, Some(&s.trigger_id), &metadata, Some((&title, &s.text))).await;
    if let Reply::Json(body) = &reply {
        // A shortcut has no HTTP answer to show text in: say it ephemerally.
        let text = body["text"]
            .as_str()
            .unwrap_or(messages::FORM_FAILED)
            .to_string();
        let msg = OutboxMessage::ephemeral(&s.channel, &s.user, text);
        app.say_once(Vec::new(), vec![msg]).await?;
    }
    Ok(Reply::Empty)
}

/// A submitted request form: invalid input goes back to the modal, keyed by block.
pub async fn on_submission(app: &Intake, sub: Submission) -> Result<Reply, AppError> {
    let form = match modal::read(&sub.values, &sub.private_metadata) {
        Ok(form) => form,
        Err(errors) => return Ok(view_errors(errors)),
    };
    // From the shortcut, the message's author is the requester and the user filed it.
    let (requester, filed_by) = match &form.author {
        Some(author) if author != &sub.user => (author.clone(), Some(sub.user.clone())),
        _ => (sub.user.clone(), None),
    };
    let mut dedupe = Vec::new();
    if !sub.view_id.is_empty() {
        dedupe.push(format!("view:{}", sub.view_id));
    }
    if let (Some(channel), Some(ts)) = (&form.channel, &form.message_ts) {
        dedupe.push(format!("msg:{channel}:{ts}"));
    }
    let thread = form.channel.clone().zip(form.message_ts.clone());
    let new = NewTicket {
        title: form.title,
        description: form.description,
        requester,
        channel: form.channel,
        source: Source::Modal,
        source_ts: form.message_ts,
        urgency: Some(form.urgency),
        link: form.link,
        filed_by,
    };
    let place = match (&thread, &new.channel) {
        (Some((channel, ts)), _) => Notice::Thread {
            channel: channel.clone(),
            ts: ts.clone(),
        },
        (None, Some(channel)) => Notice::Ephemeral {
            channel: channel.clone(),
        },
        (None, None) => Notice::Direct,
    };
    if let Some(Hold::Held(_)) = hold_or_file(app, &new, &dedupe, Some(place), None).await {
        return Ok(Reply::Empty);
    }
    let notice = move |t: &Ticket| {
        // The message's thread when the form came from a message, else a DM.
        let body = match &thread {
            Some((channel, ts)) => messages::filed_notice(t, channel, Some(ts)),
            None => messages::filed_notice(t, &t.requester, None),
        };
        let channel = body["channel"].as_str().unwrap_or_default().to_string();
        vec![OutboxMessage::post(&channel, body)]
    };
    match file(app, new, dedupe, notice).await {
        Ok(Filed::New(_)) => Ok(Reply::Empty),
        Ok(Filed::Duplicate) => {
            let mut errors = BTreeMap::new();
            errors.insert(
                messages::form::TITLE.0.to_string(),
                "That message already has a ticket.".to_string(),
            );
            Ok(view_errors(errors))
        }
        Err(err) => {
            tracing::error!(error = %err.chain(), "filing a submitted request failed");
            let mut errors = BTreeMap::new();
            errors.insert(
                messages::form::TITLE.0.to_string(),
                messages::STORE_FAILED.to_string(),
            );
            Ok(view_errors(errors))
        }
    }
}

fn view_errors(errors: modal::FormErrors) -> Reply {
    Reply::Json(json!({ "response_action": "errors", "errors": errors }))
}

/// `@platform-desk ...` in a channel: files a ticket and answers in the thread.
pub async fn on_mention(app: &Intake, m: Mention) -> Result<(), AppError> {
    let text = plain_from_slack(&strip_mention(&m.text, None));
    let thread = m.thread_ts.clone().unwrap_or_else(|| m.ts.clone());
    let dedupe = dedupe_keys(m.event_id.as_deref(), &m.channel, &m.ts);
    if text.is_empty() {
        // Nothing to file: explain, once (the inbox still dedupes the event).
        let body = messages::post(
            &m.channel,
            Some(&thread),
            messages::EMPTY_MENTION.to_string(),
        );
        app.say_once(dedupe, vec![OutboxMessage::post(&m.channel, body)])
            .await?;
        return Ok(());
    }
    let new = NewTicket {
        title: title_from(&text),
        description: text,
        requester: m.user.clone(),
        channel: Some(m.channel.clone()),
        source: Source::Mention,
        source_ts: Some(m.ts.clone()),
        urgency: None,
        link: None,
        filed_by: None,
    };
    let place = Notice::Thread {
        channel: m.channel.clone(),
        ts: thread.clone(),
    };
    if let Some(Hold::Held(_)) = hold_or_file(app, &new, &dedupe, Some(place), None).await {
        return Ok(());
    }
    file(app, new, dedupe, thread_notice(m.channel.clone(), thread))
        .await
        .map(|_| ())
}

/// A top-level message in a help channel.
pub async fn on_help_message(
    app: &Intake,
    event_id: Option<&str>,
    channel: &str,
    user: &str,
    ts: &str,
    text: &str,
) -> Result<(), AppError> {
    // "@platform-desk ..." in a help channel arrives as a message too: same ticket, same text.
    let text = &plain_from_slack(&strip_mention(text, app.bot_user_id().as_deref()));
    if !app.policy.slack.help_channels.iter().any(|c| c == channel) || is_just_an_ack(text) {
        return Ok(());
    }
    let new = NewTicket {
        title: title_from(text),
        description: text.to_string(),
        requester: user.to_string(),
        channel: Some(channel.to_string()),
        source: Source::Message,
        source_ts: Some(ts.to_string()),
        urgency: None,
        link: None,
        filed_by: None,
    };
    let dedupe = dedupe_keys(event_id, channel, ts);
    let place = Notice::Thread {
        channel: channel.to_string(),
        ts: ts.to_string(),
    };
    if let Some(Hold::Held(_)) = hold_or_file(app, &new, &dedupe, Some(place), None).await {
        return Ok(());
    }
    file(
        app,
        new,
        dedupe,
        thread_notice(channel.to_string(), ts.to_string()),
    )
    .await
    .map(|_| ())
}

/// The ticket emoji on any message files that message (once).
pub async fn on_reaction(app: &Intake, r: Reaction) -> Result<(), AppError> {
    let wanted = app.policy.slack.ticket_emoji.trim_matches(':');
    if r.reaction.split("::").next() != Some(wanted) {
        return Ok(());
    }
    let dedupe = dedupe_keys(r.event_id.as_deref(), &r.channel, &r.ts);
    if app.already_seen(&dedupe[0]).await? {
        return Ok(());
    }
    let Some(message) = app.slack.message(&r.channel, &r.ts).await? else {
        tracing::warn!(channel = %r.channel, ts = %r.ts, "the reacted message could not be read; not filed");
        return Ok(());
    };
    let text = message
        .get("text")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let from_bot = message.get("bot_id").is_some();
    let author = message
        .get("user")
        .and_then(Value::as_str)
        .map(str::to_string)
        .or(r.item_user.clone());
    let requester = match author {
        Some(author) if !from_bot => author,
        _ => r.user.clone(),
    };
    let title = if text.trim().is_empty() {
        "(message without text)".to_string()
    } else {
        title_from(&text)
    };
    let new = NewTicket {
        title,
        description: text,
        requester: requester.clone(),
        channel: Some(r.channel.clone()),
        source: Source::Reaction,
        source_ts: Some(r.ts.clone()),
        urgency: None,
        link: None,
        filed_by: Some(r.user.clone()),
    };
    let place = Notice::Thread {
        channel: r.channel.clone(),
        ts: r.ts.clone(),
    };
    if let Some(Hold::Held(_)) = hold_or_file(app, &new, &dedupe, Some(place), None).await {
        return Ok(());
    }
    file(
        app,
        new,
        dedupe,
        thread_notice(r.channel.clone(), r.ts.clone()),
    )
    .await
    .map(|_| ())
}

/// The hold step (`held`); when it fails the request is filed as usual, since self-service
/// must never stand between a person and the platform team.
async fn hold_or_file(
    app: &Intake,
    new: &NewTicket,
    dedupe: &[String],
    place: Option<Notice>,
    response_url: Option<&str>,
) -> Option<Hold> {
    if app.catalog.is_empty() && app.policy.ownership.areas.is_empty() {
        return None;
    }
    match Box::pin(held::hold(app, new, dedupe, place, response_url)).await {
        Ok(hold) => Some(hold),
        Err(err) => {
            tracing::warn!(error = %err.chain(), "the self-service step failed; filing as usual");
            None
        }
    }
}

fn dedupe_keys(event_id: Option<&str>, channel: &str, ts: &str) -> Vec<String> {
    let mut keys = Vec::with_capacity(2);
    if let Some(id) = event_id {
        keys.push(format!("event:{id}"));
    }
    keys.push(format!("msg:{channel}:{ts}"));
    // The message key is looked up alone by the reaction path: keep it last.
    keys.rotate_right(1);
    keys
}

/// One-word thanks and acks in a help channel are not requests.
pub fn is_just_an_ack(text: &str) -> bool {
    const ACKS: &[&str] = &[
        "thanks",
        "thank you",
        "thankyou",
        "thx",
        "ty",
        "tyvm",
        "cheers",
        "ok",
        "okay",
        "k",
        "kk",
        "+1",
        "-1",
        "cool",
        "great",
        "nice",
        "done",
        "lgtm",
        "yes",
        "no",
        "np",
        "sure",
        "awesome",
        "perfect",
        "ack",
        "got it",
        "will do",
        "merci",
        "danke",
    ];
    let t = text
        .trim()
        .trim_end_matches(['!', '.', '?', ' '])
        .to_lowercase();
    if t.is_empty() {
        return true;
    }
    // Only emoji, like ":+1:" or ":pray: :tada:".
    let only_emoji = t
        .split_whitespace()
        .all(|w| w.len() > 2 && w.starts_with(':') && w.ends_with(':'));
    only_emoji
        || ACKS.contains(&t.as_str())
        || ACKS.iter().any(|a| {
            t.strip_suffix(a)
                .is_some_and(|rest| rest.trim_end().ends_with(':'))
        })
}

/// Raw Slack text without leading mentions of `bot` (any leading mention when None: an
/// `app_mention` starts with the bot's) and an optional leading "request".
fn strip_mention(text: &str, bot: Option<&str>) -> String {
    let mut rest = text.trim();
    while let Some(after) = rest.strip_prefix("<@") {
        let Some(end) = after.find('>') else { break };
        let id = after[..end].split('|').next().unwrap_or("");
        if bot.is_some_and(|b| b != id) {
            break;
        }
        rest = after[end + 1..].trim_start();
        if bot.is_none() {
            continue;
        }
    }
    if bot.is_some() && rest.len() == text.trim().len() {
        // Not addressed to the bot: keep every word.
        return text.trim().to_string();
    }
    for word in ["request ", "Request "] {
        if let Some(after) = rest.strip_prefix(word) {
            rest = after.trim_start();
        }
    }
    rest.trim().to_string()
}

/// "Filed PLAT-n" in the thread of the message it came from.
fn thread_notice(
    channel: String,
    thread_ts: String,
) -> impl Fn(&Ticket) -> Vec<OutboxMessage> + Send + Sync + 'static {
    move |t: &Ticket| {
        vec![OutboxMessage::post(
            &channel,
            messages::filed_notice(t, &channel, Some(&thread_ts)),
        )]
    }
}

/// Files a ticket with its intake card plus `notices`.
async fn file(
    app: &Intake,
    new: NewTicket,
    dedupe: Vec<String>,
    notices: impl Fn(&Ticket) -> Vec<OutboxMessage> + Send + Sync + 'static,
) -> Result<Filed, AppError> {
    file_with(&app.ctx, &app.filer, new, dedupe, notices, None).await
}

/// Files a ticket with its intake card plus `notices`, created at `requested_at` when it
/// was held for an offer.
pub(crate) async fn file_with(
    ctx: &Context,
    filer: &TicketFiler,
    new: NewTicket,
    dedupe: Vec<String>,
    notices: impl Fn(&Ticket) -> Vec<OutboxMessage> + Send + Sync + 'static,
    requested_at: Option<chrono::DateTime<chrono::Utc>>,
) -> Result<Filed, AppError> {
    let intake = ctx.policy.slack.intake_channel.clone();
    let effects = Box::new(move |t: &Ticket| {
        let mut out = Vec::with_capacity(2);
        if let Some(channel) = &intake {
            out.push(OutboxMessage {
                method: "chat.postMessage",
                channel: channel.clone(),
                // Rendered by the sender when it posts it.
                payload: String::new(),
                purpose: Purpose::TicketCard,
            });
        }
        out.extend(notices(t));
        out
    });
    // A new ticket is counted by the writer once committed; an error is logged once, by
    // whoever reports it (the edge, or the reply that says it failed).
    filer
        .file(FileRequest {
            new,
            dedupe,
            effects,
            requested_at,
        })
        .await
        .map_err(|err| AppError::Other(err.into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bot_mention_and_a_leading_request_word_are_stripped() {
        let cases = [
            ("<@U07BOTPLT9> request CI is failing", None, "CI is failing"),
            ("<@U07BOTPLT9>   staging is stuck", None, "staging is stuck"),
            ("<@U07BOTPLT9>", None, ""),
            ("<@U07BOT", None, "<@U07BOT"),
            // In a help channel only the bot's own mention goes.
            (
                "<@U07BOTPLT9> vault is down",
                Some("U07BOTPLT9"),
                "vault is down",
            ),
            (
                "<@U01ALICE> request access",
                Some("U07BOTPLT9"),
                "<@U01ALICE> request access",
            ),
        ];
        for (text, bot, expected) in cases {
            assert_eq!(strip_mention(text, bot), expected, "{text}");
        }
    }

    #[test]
    fn one_word_thanks_and_acks_are_not_requests() {
        for ack in [
            "thanks",
            "Thanks!",
            "ty",
            "+1",
            ":+1:",
            "thank you.",
            "LGTM",
            "",
            "  ",
            ":pray: :tada:",
        ] {
            assert!(is_just_an_ack(ack), "{ack:?} is an ack");
        }
        for request in [
            "thanks, but the deploy is still stuck",
            "ok so prod is down",
            "need a namespace",
            "+1 on the broken CI job",
        ] {
            assert!(!is_just_an_ack(request), "{request:?} is a request");
        }
    }

    #[test]
    fn the_message_key_comes_first_in_dedupe_keys() {
        assert_eq!(
            dedupe_keys(Some("Ev1"), "C1", "1.2"),
            ["msg:C1:1.2", "event:Ev1"]
        );
        assert_eq!(dedupe_keys(None, "C1", "1.2"), ["msg:C1:1.2"]);
    }
}
