//! Intake: requests become tickets — by slash command, by the request form, by mention.

pub mod command;
pub mod messages;
pub mod modal;

use crate::app::App;
use crate::outbox::{OutboxMessage, Purpose};
use crate::slack::inbound::{Command, Mention, Reply, Submission};
use crate::tickets::filer::{Effects, FileRequest, Filed};
use crate::tickets::{title_from, NewTicket, Source, Ticket};
use crate::web::metrics::Metrics;
use command::SlashCommand;
use serde_json::json;
use std::collections::BTreeMap;
use std::time::Duration;

/// How long `views.open` may take: the trigger expires 3 s after Slack sent it.
const VIEWS_OPEN_BUDGET: Duration = Duration::from_millis(2500);

/// `/platform ...`
pub async fn on_command(app: &App, cmd: Command) -> Reply {
    match command::parse(&cmd.text) {
        SlashCommand::Request(text) => file_from_command(app, &cmd, text).await,
        SlashCommand::RequestForm => open_form(app, &cmd).await,
        SlashCommand::Help(unknown) => Reply::ephemeral(messages::usage(unknown.as_deref())),
        SlashCommand::NotYet(name) => Reply::ephemeral(messages::not_yet(name)),
    }
}

async fn file_from_command(app: &App, cmd: &Command, text: String) -> Reply {
    let new = NewTicket {
        title: title_from(&text),
        description: text,
        requester: cmd.user.clone(),
        channel: Some(cmd.channel.clone()).filter(|c| !c.is_empty()),
        source: Source::Command,
        source_ts: None,
        urgency: None,
        link: None,
    };
    let effects = card_effect(app);
    match file(app, new, Vec::new(), effects).await {
        Some(Filed::New(t)) => Reply::ephemeral(messages::filed_reply(&t)),
        Some(Filed::Duplicate) | None => Reply::ephemeral(messages::STORE_FAILED),
    }
}

async fn open_form(app: &App, cmd: &Command) -> Reply {
    let Some(trigger_id) = cmd.trigger_id.as_deref() else {
        return Reply::ephemeral(messages::FORM_FAILED);
    };
    let body = json!({ "trigger_id": trigger_id, "view": messages::request_modal(&cmd.channel) });
    match tokio::time::timeout(VIEWS_OPEN_BUDGET, app.slack.call("views.open", &body)).await {
        Ok(Ok(_)) => Reply::Empty,
        Ok(Err(err)) => {
            tracing::warn!(error = %err, "views.open failed");
            Reply::ephemeral(messages::FORM_FAILED)
        }
        Err(_) => {
            tracing::warn!("views.open took longer than the trigger lives");
            Reply::ephemeral(messages::FORM_FAILED)
        }
    }
}

/// A submitted request form: invalid input goes back to the modal, keyed by block.
pub async fn on_submission(app: &App, sub: Submission) -> Result<Reply, crate::app::AppError> {
    if sub.callback_id != messages::form::CALLBACK_ID {
        return Ok(Reply::Empty);
    }
    let form = match modal::read(&sub.values, &sub.private_metadata) {
        Ok(form) => form,
        Err(errors) => return Ok(view_errors(errors)),
    };
    let requester = sub.user.clone();
    let new = NewTicket {
        title: form.title,
        description: form.description,
        requester: requester.clone(),
        channel: form.channel,
        source: Source::Modal,
        source_ts: None,
        urgency: Some(form.urgency),
        link: form.link,
    };
    let card = card_effect(app);
    let effects: Effects = Box::new(move |t: &Ticket| {
        let mut out = card(t);
        // A DM: the form has no channel of its own to answer in.
        out.push(OutboxMessage::post(
            &requester,
            messages::post(&requester, None, messages::filed_notice(t)),
        ));
        out
    });
    let dedupe = if sub.view_id.is_empty() {
        Vec::new()
    } else {
        vec![format!("view:{}", sub.view_id)]
    };
    match file(app, new, dedupe, effects).await {
        Some(_) => Ok(Reply::Empty),
        None => {
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
pub async fn on_mention(app: &App, m: Mention) -> Result<(), crate::app::AppError> {
    let text = strip_mention(&m.text);
    let thread = m.thread_ts.clone().unwrap_or_else(|| m.ts.clone());
    let mut dedupe = vec![format!("msg:{}:{}", m.channel, m.ts)];
    if let Some(id) = &m.event_id {
        dedupe.push(format!("event:{id}"));
    }
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
    };
    let card = card_effect(app);
    let channel = m.channel.clone();
    let effects: Effects = Box::new(move |t: &Ticket| {
        let mut out = card(t);
        out.push(OutboxMessage::post(
            &channel,
            messages::post(&channel, Some(&thread), messages::filed_notice(t)),
        ));
        out
    });
    match app
        .filer
        .file(FileRequest {
            new,
            dedupe,
            effects,
        })
        .await
    {
        Ok(Filed::New(_)) => {
            Metrics::inc(&app.metrics.tickets_filed);
            Ok(())
        }
        Ok(Filed::Duplicate) => Ok(()),
        Err(e) => Err(crate::app::AppError::Store(e.to_string())),
    }
}

/// The mention text without the leading `<@BOT>` and an optional leading "request".
fn strip_mention(text: &str) -> String {
    let mut rest = text.trim();
    while let Some(after) = rest.strip_prefix("<@") {
        match after.find('>') {
            Some(end) => rest = after[end + 1..].trim_start(),
            None => break,
        }
    }
    for word in ["request ", "Request "] {
        if let Some(after) = rest.strip_prefix(word) {
            rest = after.trim_start();
        }
    }
    rest.trim().to_string()
}

/// The intake card, if the policy names an intake channel.
fn card_effect(app: &App) -> impl Fn(&Ticket) -> Vec<OutboxMessage> + Send + Sync + 'static {
    let intake = app.policy.slack.intake_channel.clone();
    move |t: &Ticket| match &intake {
        Some(channel) => vec![OutboxMessage::post(channel, messages::card(t, channel))
            .with_purpose(Purpose::TicketCard)],
        None => Vec::new(),
    }
}

async fn file(
    app: &App,
    new: NewTicket,
    dedupe: Vec<String>,
    effects: impl Fn(&Ticket) -> Vec<OutboxMessage> + Send + Sync + 'static,
) -> Option<Filed> {
    match app
        .filer
        .file(FileRequest {
            new,
            dedupe,
            effects: Box::new(effects),
        })
        .await
    {
        Ok(filed) => {
            if matches!(filed, Filed::New(_)) {
                Metrics::inc(&app.metrics.tickets_filed);
            }
            Some(filed)
        }
        Err(err) => {
            tracing::error!(error = %err, "filing a ticket failed");
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bot_mention_and_a_leading_request_word_are_stripped() {
        assert_eq!(
            strip_mention("<@U07BOTPLT9> request CI is failing"),
            "CI is failing"
        );
        assert_eq!(
            strip_mention("<@U07BOTPLT9>   staging is stuck"),
            "staging is stuck"
        );
        assert_eq!(strip_mention("<@U07BOTPLT9>"), "");
        assert_eq!(strip_mention("<@U07BOT"), "<@U07BOT");
    }
}
