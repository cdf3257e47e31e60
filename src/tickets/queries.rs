//! Asking the bot: `/platform status`, `mine`, `queue`, and the Context Home tab showing the
//! same (my requests for everyone, the queue for the platform team).

use super::{db, Status, Ticket};
use crate::context::{AppError, Context};
use crate::mrkdwn::when;
use crate::mrkdwn::{self, escape};
use crate::outbox::OutboxMessage;
use serde_json::{json, Value};

/// How many tickets a list shows.
const LIST_LIMIT: i64 = 20;

/// One line per ticket: key, title, status, priority, and the next deadline.
fn line(t: &Ticket) -> String {
    let next = if t.status == Status::Waiting {
        "paused (waiting on requester)".to_string()
    } else if t.first_response_at.is_none() {
        t.first_response_due
            .map(|d| format!("first response due {}", when(d)))
            .unwrap_or_default()
    } else {
        t.resolution_due
            .map(|d| format!("resolution due {}", when(d)))
            .unwrap_or_default()
    };
    let assignee = t
        .assignee
        .as_deref()
        .map(|a| format!(" · {}", mrkdwn::user(a)))
        .unwrap_or_default();
    format!(
        "• *{}* {} — {} · {}{} · {}",
        t.key,
        escape(&t.title),
        t.status,
        escape(&t.priority),
        assignee,
        next
    )
}

fn clock(
    label: &str,
    due: Option<chrono::DateTime<chrono::Utc>>,
    done: Option<chrono::DateTime<chrono::Utc>>,
    paused: bool,
) -> String {
    match (done, due) {
        (Some(done), Some(due)) if done > due => format!(
            "{label}: done {} — *missed* (due {})",
            when(done),
            when(due)
        ),
        (Some(done), _) => format!("{label}: done {}", when(done)),
        (None, _) if paused => format!("{label}: paused while waiting on the requester"),
        (None, Some(due)) => format!("{label}: due {}", when(due)),
        (None, None) => format!("{label}: —"),
    }
}

/// `/platform status KEY`
pub async fn status(app: &Context, key: &str) -> Result<String, AppError> {
    let mut conn = app.pool.acquire().await?;
    let Some(t) = db::by_key(&mut conn, key).await? else {
        return Ok(format!("I don't know a ticket `{}`.", escape(key)));
    };
    let events = db::events(&mut conn, t.id).await?;
    let last = events
        .last()
        .map(|(kind, actor, at, _)| {
            let by = actor
                .as_deref()
                .map(|a| format!(" by {}", mrkdwn::user(a)))
                .unwrap_or_default();
            format!("{}{by}, {}", kind.replace('_', " "), when(*at))
        })
        .unwrap_or_default();
    let paused = t.status == Status::Waiting;
    let mut out = vec![
        format!("*{}* {}", t.key, escape(&t.title)),
        format!(
            "Status: {} · Priority: {} · Category: {} · Assignee: {} · Requester: {}",
            t.status,
            escape(&t.priority),
            escape(&t.category),
            t.assignee
                .as_deref()
                .map(mrkdwn::user)
                .unwrap_or_else(|| "nobody yet".into()),
            mrkdwn::user(&t.requester)
        ),
        clock(
            "First response",
            t.first_response_due,
            t.first_response_at,
            paused && t.first_response_at.is_none(),
        ),
        clock("Resolution", t.resolution_due, t.resolved_at, paused),
        format!("Last activity: {last}"),
    ];
    if let Some((_, into)) = &t.merged_into {
        out.push(format!("Merged into *{}*.", escape(into)));
    }
    Ok(out.join("\n"))
}

/// `/platform mine`
pub async fn mine(app: &Context, user: &str) -> Result<String, AppError> {
    let tickets = db::open_for(&mut *app.pool.acquire().await?, user, LIST_LIMIT).await?;
    if tickets.is_empty() {
        return Ok(
            "You have no open requests. File one with `/platform request <what you need>`.".into(),
        );
    }
    Ok(format!(
        "*Your open requests*\n{}",
        tickets.iter().map(line).collect::<Vec<_>>().join("\n")
    ))
}

/// `/platform queue` (platform team only)
pub async fn queue(app: &Context, user: &str) -> Result<String, AppError> {
    if !app.policy.is_platform_team(user) {
        return Ok(crate::domain::not_allowed("see the queue"));
    }
    let tickets = db::queue(&mut *app.pool.acquire().await?, LIST_LIMIT).await?;
    if tickets.is_empty() {
        return Ok("The queue is empty. :tada:".into());
    }
    Ok(format!(
        "*Open tickets, soonest deadline first*\n{}",
        tickets.iter().map(line).collect::<Vec<_>>().join("\n")
    ))
}

/// The Context Home tab for `user`, published through the outbox.
pub async fn publish_home(app: &Context, user: &str) -> Result<(), AppError> {
    let mut sections = vec![mine(app, user).await?];
    if app.policy.is_platform_team(user) {
        sections.push(queue(app, user).await?);
    }
    let mut blocks: Vec<Value> = vec![
        json!({ "type": "header", "text": { "type": "plain_text", "text": "Platform requests" } }),
    ];
    for text in sections {
        // A section's text is limited to 3000 characters.
        blocks.push(json!({ "type": "section", "text": { "type": "mrkdwn", "text": crate::tickets::shorten(&text, 2900) } }));
        blocks.push(json!({ "type": "divider" }));
    }
    blocks.push(json!({ "type": "context", "elements": [{ "type": "mrkdwn", "text": "File a request with `/platform request <what you need>`." }] }));
    let body = json!({ "user_id": user, "view": { "type": "home", "blocks": blocks } });
    let msg = OutboxMessage {
        method: "views.publish",
        channel: format!("home:{user}"),
        payload: body.to_string(),
        purpose: crate::outbox::Purpose::Notice,
    };
    app.say_once(Vec::new(), vec![msg]).await?;
    Ok(())
}
