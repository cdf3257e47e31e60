//! The roadmap's buttons and forms: Follow, the ship notice's `Solved my problem` and
//! `Not quite`, the ticket card's "Link to roadmap" control and its form, and the add form.

use super::messages::{self, ids};
use super::model::{Field, Item};
use super::{db, edit};
use crate::context::{AppError, Context};
use crate::input::{Action, Reply, Submission};
use crate::outbox::OutboxMessage;
use serde_json::{json, Value};

/// The card's control (its value is the ticket id), named where the card is drawn.
pub use crate::tickets::messages::actions::ROADMAP_LINK as CARD_LINK;

/// True for the action ids this module handles.
pub fn handles(action_id: &str) -> bool {
    [ids::FOLLOW, ids::SOLVED, ids::NOT_QUITE, CARD_LINK].contains(&action_id)
}

/// True for the forms this module handles.
pub fn handles_form(callback_id: &str) -> bool {
    [ids::ADD_CALLBACK, ids::LINK_CALLBACK].contains(&callback_id)
}

/// A word to the clicker only: ephemeral in a channel, a DM in a DM.
fn to_clicker(a: &Action, text: String) -> OutboxMessage {
    match a.channel.as_deref() {
        Some(channel) if !channel.starts_with('D') => {
            OutboxMessage::ephemeral(channel, &a.user, text)
        }
        _ => OutboxMessage::post(&a.user, json!({ "channel": a.user, "text": text })),
    }
}

async fn tell(ctx: &Context, a: &Action, text: String) -> Result<Reply, AppError> {
    ctx.say_once(Vec::new(), vec![to_clicker(a, text)]).await?;
    Ok(Reply::Empty)
}

pub async fn on_action(ctx: &Context, a: Action) -> Result<Reply, AppError> {
    let Some(id) = a.value.as_deref().and_then(|v| v.parse::<i64>().ok()) else {
        tracing::warn!(action = %a.action_id, "a roadmap action without an id; ignored");
        return Ok(Reply::Empty);
    };
    match a.action_id.as_str() {
        ids::FOLLOW => {
            let text = edit::follow(ctx, &a.user, id).await?;
            tell(ctx, &a, text).await
        }
        ids::SOLVED | ids::NOT_QUITE => {
            let answer = if a.action_id == ids::SOLVED {
                messages::SOLVED
            } else {
                messages::NOT_QUITE
            };
            answer_notice(ctx, &a, id, answer).await
        }
        CARD_LINK => open_link_form(ctx, &a, id).await,
        _ => Ok(Reply::Empty),
    }
}

/// Stores the answer and shows the choice in the message instead of its buttons.
async fn answer_notice(
    ctx: &Context,
    a: &Action,
    id: i64,
    answer: &str,
) -> Result<Reply, AppError> {
    if !edit::answer(ctx, &a.user, id, answer).await? {
        return tell(ctx, a, "That message was not meant for you.".into()).await;
    }
    let item = db::by_id(&mut *ctx.pool.acquire().await?, id).await?;
    if let (Some(item), Some(channel), Some(ts)) = (item, &a.channel, &a.message_ts) {
        let body = messages::answered(&item, channel, ts, answer);
        let update = OutboxMessage {
            method: "chat.update",
            channel: channel.clone(),
            payload: body.to_string(),
            purpose: crate::outbox::Purpose::Notice,
        };
        ctx.say_once(Vec::new(), vec![update]).await?;
    }
    Ok(Reply::Empty)
}

/// The card's "Link to roadmap": a form with the open items (platform team).
async fn open_link_form(ctx: &Context, a: &Action, ticket_id: i64) -> Result<Reply, AppError> {
    if let Some(no) = edit::refusal(ctx, &a.user) {
        return tell(ctx, a, no).await;
    }
    let (ticket, items) = {
        let mut conn = ctx.pool.acquire().await?;
        let ticket = crate::tickets::db::by_id(&mut conn, ticket_id).await?;
        // A static menu holds at most 100 options.
        (ticket, db::open(&mut conn, 100).await?)
    };
    let Some(ticket) = ticket else {
        return tell(ctx, a, "That ticket no longer exists.".into()).await;
    };
    if items.is_empty() {
        return tell(
            ctx,
            a,
            "There is no planned or in-progress roadmap item to link it to: `/platform roadmap add <title>` makes one.".into(),
        )
        .await;
    }
    let Some(trigger) = &a.trigger_id else {
        return Ok(Reply::Empty);
    };
    let view = messages::link_modal(ticket.id, &ticket.key, &items);
    if let Err(e) = ctx.slack.open_view(trigger, view).await {
        tracing::warn!(error = %e.chain(), "the roadmap link form did not open");
        let text = format!(
            "The form did not open; try `/platform roadmap link {} RM-<n>`.",
            ticket.key
        );
        return tell(ctx, a, text).await;
    }
    Ok(Reply::Empty)
}

fn value<'a>(s: &'a Submission, (block, action): (&str, &str), field: &str) -> Option<&'a str> {
    s.values
        .pointer(&format!("/{block}/{action}/{field}"))
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|v| !v.is_empty())
}

fn errors(list: Vec<(&str, String)>) -> Reply {
    let map: serde_json::Map<String, Value> = list
        .into_iter()
        .map(|(b, e)| (b.to_string(), json!(e)))
        .collect();
    Reply::Json(json!({ "response_action": "errors", "errors": map }))
}

pub async fn on_submission(ctx: &Context, s: Submission) -> Result<Reply, AppError> {
    match s.callback_id.as_str() {
        ids::ADD_CALLBACK => add_form(ctx, s).await,
        ids::LINK_CALLBACK => link_form(ctx, s).await,
        _ => Ok(Reply::Empty),
    }
}

/// The add form: each field validated, the item added, its key sent to its author.
async fn add_form(ctx: &Context, s: Submission) -> Result<Reply, AppError> {
    if let Some(no) = edit::refusal(ctx, &s.user) {
        return Ok(errors(vec![(ids::TITLE.0, no)]));
    }
    let mut problems = Vec::new();
    let title = match Field::Title.parse_value(value(&s, ids::TITLE, "value").unwrap_or("")) {
        Ok(t) => t.unwrap_or_default(),
        Err(e) => {
            problems.push((ids::TITLE.0, e));
            String::new()
        }
    };
    let mut fields = Vec::new();
    for (field, input, kind) in [
        (Field::Description, ids::DESCRIPTION, "value"),
        (Field::Target, ids::TARGET, "value"),
        (Field::Owner, ids::OWNER, "selected_user"),
    ] {
        if let Some(typed) = value(&s, input, kind) {
            match field.parse_value(typed) {
                Ok(v) => fields.push((field, v)),
                // The form shows plain text: its own words, not the command's mrkdwn.
                Err(_) => problems.push((input.0, form_problem(field).to_string())),
            }
        }
    }
    if !problems.is_empty() {
        return Ok(errors(problems));
    }
    let once = (!s.view_id.is_empty()).then(|| format!("view:{}", s.view_id));
    let tell = |item: &Item| {
        OutboxMessage::post(
            &s.user,
            json!({ "channel": s.user, "text": messages::added(item) }),
        )
    };
    edit::add(ctx, &s.user, &title, &fields, once.as_deref(), Some(&tell)).await?;
    Ok(Reply::Empty)
}

fn form_problem(field: Field) -> &'static str {
    match field {
        Field::Target => "Use a quarter like 2027-Q1 or a date like 2027-03-31.",
        Field::Owner => "Choose a person.",
        _ => "Keep it under 3000 characters.",
    }
}

/// The card's link form: the chosen item linked to the ticket; the answer to the linker.
async fn link_form(ctx: &Context, s: Submission) -> Result<Reply, AppError> {
    let ticket_id = s.private_metadata.parse::<i64>().ok();
    let item = value(&s, ids::ITEM, "selected_option/value").and_then(|v| v.parse::<i64>().ok());
    let (Some(ticket_id), Some(item)) = (ticket_id, item) else {
        return Ok(errors(vec![(ids::ITEM.0, "Choose an item.".into())]));
    };
    let ticket = crate::tickets::db::by_id(&mut *ctx.pool.acquire().await?, ticket_id).await?;
    let Some(ticket) = ticket else {
        return Ok(errors(vec![(
            ids::ITEM.0,
            "That ticket no longer exists.".into(),
        )]));
    };
    let text = edit::link(ctx, &s.user, &ticket.key, item).await?;
    let once: Vec<String> = (!s.view_id.is_empty())
        .then(|| format!("view:{}", s.view_id))
        .into_iter()
        .collect();
    ctx.say_once(
        once,
        vec![OutboxMessage::post(
            &s.user,
            json!({ "channel": s.user, "text": text }),
        )],
    )
    .await?;
    Ok(Reply::Empty)
}
