//! Messages around tickets: replies in the card's or the source message's thread go to the
//! ticket's log (first response, resuming a waiting ticket), edits and deletions of the
//! source message update it. Top-level posts in help channels are intake's: the dispatch
//! routes them there.

use super::db;
use super::lifecycle::{self, Change};
use crate::context::{AppError, Context};
use crate::input::{Message, MessageKind};

pub async fn on_message(app: &Context, m: Message) -> Result<(), AppError> {
    // Edits and deletions: once per delivery. (Not the `msg:` key: that one says "this
    // message has a ticket".)
    let once = m.event_id.as_ref().map(|id| format!("event:{id}"));
    match &m.kind {
        MessageKind::Posted { .. } => Ok(()),
        MessageKind::Reply {
            user,
            ts,
            thread_ts,
            text,
        } => {
            let ticket =
                db::by_thread(&mut *app.pool.acquire().await?, &m.channel, thread_ts).await?;
            if let Some(t) = ticket {
                let change = Change::Reply {
                    text: text.clone(),
                    ts: ts.clone(),
                };
                lifecycle::apply(
                    app,
                    t.id,
                    user,
                    change,
                    Some(&format!("reply:{}:{ts}", m.channel)),
                )
                .await?;
            }
            Ok(())
        }
        MessageKind::Edited { ts, text } => {
            let change = Change::SourceEdited(crate::mrkdwn::plain_from_slack(text));
            on_source(app, &m.channel, ts, change, once.as_deref()).await
        }
        MessageKind::Deleted { ts } => {
            on_source(app, &m.channel, ts, Change::SourceDeleted, once.as_deref()).await
        }
        MessageKind::Other(_) => Ok(()),
    }
}

/// A change to the message a ticket was filed from, recorded as its requester's.
async fn on_source(
    app: &Context,
    channel: &str,
    ts: &str,
    change: Change,
    once: Option<&str>,
) -> Result<(), AppError> {
    let ticket = db::by_source(&mut *app.pool.acquire().await?, channel, ts).await?;
    if let Some(t) = ticket {
        lifecycle::apply(app, t.id, &t.requester, change, once).await?;
    }
    Ok(())
}
