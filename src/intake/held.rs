//! Self-service first: before a request is filed, it is checked against the ownership map
//! (another team's area: a redirect, nothing filed) and the catalog (a match: an offer to
//! the requester, the ticket filed only if it does not solve it). Both are said to the
//! requester alone: in the thread of their message, or ephemerally. The request's inbox
//! keys are claimed with the offer, so a redelivery neither files it nor offers twice.

use super::Intake;
use crate::clock::db_time;
use crate::context::inbox;
use crate::context::AppError;
use crate::outbox::{self, OutboxMessage, Purpose};
use crate::self_service::{db, messages, ownership, Held, Notice};
use crate::tickets::NewTicket;
use serde_json::Value;

/// What became of a request at the hold step.
#[derive(Debug)]
pub enum Hold {
    /// Nothing to offer, not another team's: file it now.
    File,
    /// Held (an offer or a redirect was made), or a redelivery of one that was. For a
    /// command, the answer to show (the offer itself).
    Held(Option<Value>),
}

/// Offers, redirects, or lets the request be filed. `notice` is where the requester is
/// told; None for a command, whose answer is the offer, and whose `response_url` is kept
/// with the offer to replace that answer when the timeout files it.
pub async fn hold(
    app: &Intake,
    new: &NewTicket,
    dedupe: &[String],
    notice: Option<Notice>,
    response_url: Option<&str>,
) -> Result<Hold, AppError> {
    let policy = &app.policy;
    let text = format!("{}\n{}", new.title, new.description);
    let area = ownership::area_of(&policy.ownership, &text).filter(|a| !a.is_platform());
    let matches = match area {
        Some(_) => Vec::new(),
        None if app.catalog.is_empty() => return Ok(Hold::File),
        None => app.catalog.best(&text),
    };
    if area.is_none() && matches.is_empty() {
        return Ok(Hold::File);
    }
    let now = app.clock.now();
    let now_text = db_time(now);
    let stored_notice = notice.clone().unwrap_or_else(|| match &new.channel {
        Some(channel) => Notice::Ephemeral {
            channel: channel.clone(),
        },
        None => Notice::Direct,
    });
    let held = Held::of(new, now, stored_notice);
    let mut tx = app.pool.begin_with("begin immediate").await?;
    let mut seen = false;
    for key in dedupe {
        seen |= !inbox::add(&mut tx, key, &now_text).await?;
    }
    if seen {
        return Ok(Hold::Held(None));
    }
    let (kind, id, body) = match area {
        Some(area) => {
            let id = db::insert_redirect(&mut tx, &held, &area.name).await?;
            let body = messages::redirect(id, &held, area, notice.as_ref());
            (db::HeldKind::Redirect, id, body)
        }
        None => {
            let titles: Vec<&str> = matches.iter().map(|m| m.title.as_str()).collect();
            let id = db::insert_offer(&mut tx, &held, &titles).await?;
            let timeout = policy.self_service.offer_timeout;
            let body = messages::offer(id, &held, &matches, timeout, notice.as_ref());
            if let (None, Some(url)) = (&notice, response_url) {
                db::offer_response_url(&mut tx, id, url).await?;
            }
            (db::HeldKind::Offer, id, body)
        }
    };
    let reply = match &notice {
        None => Some(body),
        Some(notice) => {
            let message = say(notice, &held.requester, body);
            // Its row is kept: Slack's answer to it is the message's ts, for updating it.
            let row = outbox::db::insert_one(&mut tx, &message, &now_text).await?;
            db::posted_by(&mut tx, kind, id, row).await?;
            None
        }
    };
    tx.commit().await?;
    app.outbox_wake.notify_one();
    Ok(Hold::Held(reply))
}

/// The outbox row that says `body` (built by `messages` for `notice`) to the requester.
pub fn say(notice: &Notice, requester: &str, body: Value) -> OutboxMessage {
    let (method, channel) = match notice {
        Notice::Thread { channel, .. } => ("chat.postMessage", channel.as_str()),
        Notice::Ephemeral { channel } => ("chat.postEphemeral", channel.as_str()),
        Notice::Direct => ("chat.postMessage", requester),
    };
    OutboxMessage {
        method,
        channel: channel.to_string(),
        payload: body.to_string(),
        purpose: Purpose::Notice,
    }
}
