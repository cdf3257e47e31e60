//! The card's buttons and menus, and the resolve form: from a click to a lifecycle change,
//! with an ephemeral word to the clicker when they may not, or when nothing changed.

use super::lifecycle::{self, Change, Outcome};
use super::messages::{self, actions as ids};
use super::{db, permissions};
use crate::context::{AppError, Context};
use crate::input::{Action, Reply, Submission};
use crate::outbox::OutboxMessage;
use serde_json::{json, Value};

/// A click on a ticket's control.
pub async fn on_action(app: &Context, a: Action) -> Result<(), AppError> {
    let value = a.value.clone().unwrap_or_default();
    let (id, change) = match a.action_id.as_str() {
        ids::ACK => (value.parse().ok(), Change::Acknowledge),
        ids::ACK_BREACH => (value.parse().ok(), Change::AckBreach),
        ids::WAIT => (value.parse().ok(), Change::Wait),
        ids::REOPEN => (value.parse().ok(), Change::Reopen),
        ids::ASSIGN => (id_from_block(&a.block_id), Change::Assign(value)),
        ids::PRIORITY => match value.split_once(':') {
            Some((id, p)) => (id.parse().ok(), Change::Priority(p.to_string())),
            None => (None, Change::Priority(String::new())),
        },
        ids::MERGE => match value
            .split_once(':')
            .map(|(d, i)| (d.parse().ok(), i.parse().ok()))
        {
            Some((Some(dup), Some(into))) => (Some(dup), Change::Merge { into }),
            _ => (None, Change::Acknowledge),
        },
        ids::RESOLVE => return open_resolve_form(app, &a, value.parse().ok()).await,
        _ => return Ok(()),
    };
    let Some(id) = id else {
        tracing::warn!(action = %a.action_id, "an action without a ticket id; ignored");
        return Ok(());
    };
    let outcome = lifecycle::apply(app, id, &a.user, change, None).await?;
    tell_clicker(app, &a, outcome).await
}

/// `ticket-<id>-<revision>`: menus carry no value of their own, the block says the ticket.
fn id_from_block(block_id: &str) -> Option<i64> {
    block_id
        .strip_prefix("ticket-")?
        .split('-')
        .next()?
        .parse()
        .ok()
}

async fn open_resolve_form(app: &Context, a: &Action, id: Option<i64>) -> Result<(), AppError> {
    let Some(id) = id else { return Ok(()) };
    let ticket = db::by_id(&mut *app.pool.acquire().await?, id).await?;
    let Some(ticket) = ticket else {
        return tell_clicker(app, a, Outcome::NotFound).await;
    };
    if let Err(what) = permissions::check(&app.policy, &ticket, &a.user, &Change::Resolve(None)) {
        return tell_clicker(app, a, Outcome::NotAllowed(what)).await;
    }
    let Some(trigger) = &a.trigger_id else {
        return Ok(());
    };
    match app
        .slack
        .open_view(trigger, messages::resolve_modal(&ticket))
        .await
    {
        Ok(()) => Ok(()),
        _ => {
            // The form could not open in time: resolve without a note rather than lose the click.
            let outcome = lifecycle::apply(app, id, &a.user, Change::Resolve(None), None).await?;
            tell_clicker(app, a, outcome).await
        }
    }
}

/// Says why nothing happened, to the clicker only.
async fn tell_clicker(app: &Context, a: &Action, outcome: Outcome) -> Result<(), AppError> {
    let text = match outcome {
        Outcome::Done(_) => return Ok(()),
        Outcome::NotFound => "That ticket no longer exists.".to_string(),
        Outcome::NotAllowed(what) => crate::domain::not_allowed(what),
        Outcome::Unchanged(why) => {
            format!("Nothing to do: {}.", crate::mrkdwn::escape(&why))
        }
    };
    let msg = match a.channel.as_deref() {
        Some(channel) if !channel.starts_with('D') => {
            OutboxMessage::ephemeral(channel, &a.user, text)
        }
        _ => OutboxMessage::post(&a.user, json!({ "channel": a.user, "text": text })),
    };
    app.say_once(Vec::new(), vec![msg]).await?;
    Ok(())
}

/// The resolve form's submission.
pub async fn on_submission(app: &Context, sub: Submission) -> Result<Reply, AppError> {
    if sub.callback_id != messages::RESOLVE_CALLBACK {
        return Ok(Reply::Empty);
    }
    let Ok(id) = sub.private_metadata.parse::<i64>() else {
        return Ok(Reply::Empty);
    };
    let note = sub
        .values
        .pointer(&format!(
            "/{}/{}/value",
            messages::RESOLVE_NOTE.0,
            messages::RESOLVE_NOTE.1
        ))
        .and_then(Value::as_str)
        .map(|n| n.trim().to_string());
    if note.as_ref().is_some_and(|n| n.chars().count() > 2000) {
        return Ok(errors("Keep the note under 2000 characters."));
    }
    let once = (!sub.view_id.is_empty()).then(|| format!("view:{}", sub.view_id));
    match lifecycle::apply(app, id, &sub.user, Change::Resolve(note), once.as_deref()).await? {
        Outcome::NotAllowed(what) => Ok(errors(&crate::domain::not_allowed(what))),
        Outcome::NotFound => Ok(errors("That ticket no longer exists.")),
        Outcome::Done(_) | Outcome::Unchanged(_) => Ok(Reply::Empty),
    }
}

fn errors(text: &str) -> Reply {
    Reply::Json(
        json!({ "response_action": "errors", "errors": { messages::RESOLVE_NOTE.0: text } }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_menu_names_its_ticket_in_its_block_id() {
        assert_eq!(id_from_block("ticket-42-1700000000000"), Some(42));
        assert_eq!(id_from_block("something-else"), None);
        assert_eq!(id_from_block("ticket-x-1"), None);
    }
}
