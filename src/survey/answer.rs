//! Answers: a click on 1 to 5, `Add a comment` and its form. One answer per person per
//! survey, found again by its keyed link (`HMAC-SHA256(answer_key, user id)`); answering
//! again replaces it; the person's message is updated to show their choice.
//!
//! Nothing here logs who answered, and no log line carries a score or a comment.

use super::db::{self, Survey};
use super::messages::{self, Shown};
use crate::context::{AppError, Context};
use crate::input::{Action, Reply, Submission};
use crate::outbox::{OutboxMessage, Purpose};
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;

/// True for the action ids of survey messages.
pub fn handles(action_id: &str) -> bool {
    action_id.starts_with(messages::SCORE_PREFIX) || action_id == messages::COMMENT
}

/// True for the comment form.
pub fn handles_form(callback_id: &str) -> bool {
    callback_id == messages::COMMENT_CALLBACK
}

/// The keyed link between a person and their answer while the survey is open.
pub fn link(key: &[u8], user: &str) -> Vec<u8> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(user.as_bytes());
    mac.finalize().into_bytes().to_vec()
}

/// Where the survey message that was clicked is (to update it).
#[derive(serde::Serialize, serde::Deserialize)]
struct Origin {
    survey: i64,
    channel: Option<String>,
    ts: Option<String>,
}

pub async fn on_action(ctx: &Context, a: Action) -> Result<Reply, AppError> {
    if a.action_id == messages::COMMENT {
        return open_form(ctx, &a).await;
    }
    let parsed = a.value.as_deref().and_then(|v| {
        let (survey, score) = v.split_once(':')?;
        Some((survey.parse::<i64>().ok()?, score.parse::<i64>().ok()?))
    });
    let Some((id, score)) = parsed.filter(|(_, s)| (1..=5).contains(s)) else {
        return Ok(Reply::Empty);
    };
    let origin = Origin {
        survey: id,
        channel: a.channel.clone(),
        ts: a.message_ts.clone(),
    };
    record(ctx, &a.user, &origin, Change::Score(score)).await?;
    Ok(Reply::Empty)
}

async fn open_form(ctx: &Context, a: &Action) -> Result<Reply, AppError> {
    let (Some(trigger), Some(id)) = (
        a.trigger_id.as_deref(),
        a.value.as_deref().and_then(|v| v.parse::<i64>().ok()),
    ) else {
        return Ok(Reply::Empty);
    };
    let origin = Origin {
        survey: id,
        channel: a.channel.clone(),
        ts: a.message_ts.clone(),
    };
    let metadata = serde_json::to_string(&origin).unwrap_or_default();
    ctx.slack
        .open_view(trigger, messages::comment_form(&metadata))
        .await?;
    Ok(Reply::Empty)
}

pub async fn on_submission(ctx: &Context, s: Submission) -> Result<Reply, AppError> {
    let Ok(origin) = serde_json::from_str::<Origin>(&s.private_metadata) else {
        return Ok(Reply::Empty);
    };
    let text = s.values[messages::COMMENT_BLOCK][messages::COMMENT_INPUT]["value"]
        .as_str()
        .unwrap_or("")
        .trim();
    if text.is_empty() {
        return Ok(form_error("Write a comment, or cancel."));
    }
    let comment: String = text.chars().take(messages::COMMENT_MAX).collect();
    match record(ctx, &s.user, &origin, Change::Comment(comment)).await? {
        Recorded::Closed => Ok(form_error(messages::closed())),
        Recorded::Yes | Recorded::NotAsked => Ok(Reply::Empty),
    }
}

fn form_error(text: &str) -> Reply {
    Reply::Json(json!({ "response_action": "errors", "errors": { messages::COMMENT_BLOCK: text } }))
}

enum Change {
    Score(i64),
    Comment(String),
}

enum Recorded {
    Yes,
    Closed,
    NotAsked,
}

/// Sets the score or the comment, marks the person answered (for the reminder) and updates
/// their message, in one transaction.
async fn record(
    ctx: &Context,
    user: &str,
    origin: &Origin,
    change: Change,
) -> Result<Recorded, AppError> {
    let now = ctx.clock.now();
    let mut tx = ctx.pool.begin_with("begin immediate").await?;
    let survey = db::by_id(&mut tx, origin.survey).await?;
    let Some((survey, key)) = survey.and_then(|s| {
        let key = s.answer_key.clone().filter(|_| s.closed_at.is_none())?;
        Some((s, key))
    }) else {
        drop(tx);
        tell_closed(ctx, user, origin).await?;
        return Ok(Recorded::Closed);
    };
    if !db::is_recipient(&mut tx, survey.id, user).await? {
        return Ok(Recorded::NotAsked);
    }
    let link = link(&key, user);
    let (score, commented) = match change {
        Change::Score(score) => db::set_score(&mut tx, survey.id, &link, score).await?,
        Change::Comment(c) => db::set_comment(&mut tx, survey.id, &link, &c).await?,
    };
    db::mark_answered(&mut tx, survey.id, user).await?;
    if let Some(update) = update(&survey, origin, score, commented) {
        db::say(&mut tx, survey.id, &update, now).await?;
    }
    tx.commit().await?;
    ctx.outbox_wake.notify_one();
    Ok(Recorded::Yes)
}

/// The `chat.update` of the clicked message, showing the answer as it now is.
fn update(
    survey: &Survey,
    origin: &Origin,
    score: Option<i64>,
    commented: bool,
) -> Option<OutboxMessage> {
    let (channel, ts) = (origin.channel.as_ref()?, origin.ts.as_ref()?);
    let shown = Shown {
        score,
        commented,
        reminder: false,
    };
    let mut body: Value = messages::question(survey, channel, shown);
    body["ts"] = ts.clone().into();
    Some(OutboxMessage {
        method: "chat.update",
        channel: channel.clone(),
        payload: body.to_string(),
        purpose: Purpose::Notice,
    })
}

/// A click after the close: said once in the person's DM (no answer is kept).
async fn tell_closed(ctx: &Context, user: &str, origin: &Origin) -> Result<(), AppError> {
    let channel = origin.channel.clone().unwrap_or_else(|| user.to_string());
    let body = json!({ "channel": channel, "text": messages::closed() });
    ctx.say_once(Vec::new(), vec![OutboxMessage::post(&channel, body)])
        .await?;
    Ok(())
}
