//! Whether Slack already has an outbox post whose answer was lost: each `chat.postMessage`
//! carries its outbox row as message metadata, and a row whose earlier call went unanswered
//! (a crash, a timeout, a 5xx) is looked for in the channel before it is posted again.
//!
//! Slack has no idempotency key for `chat.postMessage`: without this, every answer lost to
//! a crash or a timeout would show the message twice. A post addressed to a user ID is
//! looked for in the DM that `conversations.open` gives. When the search cannot be made (a
//! missing scope, Slack refusing), the row is posted again: a message twice is better than
//! a message lost.

use super::web_api::{CallError, WebApi};
use crate::clock::parse_db_time;
use crate::outbox::PendingRow;
use serde_json::{json, Value};

/// The metadata event type of the bot's posts.
pub const EVENT_TYPE: &str = "platform_desk_outbox";
/// How far before the first unanswered call the search starts: Slack's clock and ours may
/// differ.
const CLOCK_MARGIN_SECS: i64 = 300;
/// Messages per page, and pages read at most, before giving up and posting again.
const PAGE: u32 = 200;
const MAX_PAGES: usize = 5;

/// The row's identity in metadata: the id alone could meet an older database's row of the
/// same id in the same channel; the id and its creation time cannot.
fn row_key(row: &PendingRow) -> String {
    format!("{}@{}", row.id, row.created_at)
}

/// Adds the row's metadata to a `chat.postMessage` body (unless the body brings its own).
pub fn tag(payload: &mut Value, row: &PendingRow) {
    if let Some(body) = payload.as_object_mut() {
        body.entry("metadata").or_insert_with(
            || json!({ "event_type": EVENT_TYPE, "event_payload": { "outbox_row": row_key(row) } }),
        );
    }
}

/// The `ts` of the post for `row` if Slack already has it, found among the channel's newest
/// messages (or, for a thread reply, in the thread). `Ok(None)` when it is not there or the
/// search could not be made (logged); a rate-limited search is the error, so that the row
/// waits and searches again rather than post blindly.
///
/// The channel is read newest first, without an `oldest` bound: a page whose oldest message
/// is from before the row's first unanswered call (less a margin for the two clocks) ends
/// the search, but the page itself is always searched, whatever its timestamps say.
pub async fn find(
    api: &WebApi,
    row: &PendingRow,
    payload: &Value,
) -> Result<Option<String>, CallError> {
    let Some(since) = row.started_at.as_deref().and_then(parse_db_time) else {
        return Ok(None);
    };
    let Some(channel) = payload.get("channel").and_then(Value::as_str) else {
        return Ok(None);
    };
    let channel = match dm_channel(api, row, channel).await? {
        Some(dm) => dm,
        None if is_user(channel) => return Ok(None),
        None => channel.to_string(),
    };
    let before_call = ((since.timestamp() - CLOCK_MARGIN_SECS).max(0) as u64, 0);
    let thread = payload.get("thread_ts").and_then(Value::as_str);
    let (method, mut query) = match thread {
        Some(parent) => (
            "conversations.replies",
            json!({ "channel": &channel, "ts": parent }),
        ),
        None => ("conversations.history", json!({ "channel": &channel })),
    };
    query["include_all_metadata"] = json!(true);
    query["limit"] = json!(PAGE);
    let key = row_key(row);
    for _ in 0..MAX_PAGES {
        let answer = match api.call(method, &query).await {
            Ok(answer) => answer,
            Err(limited @ CallError::RateLimited(_)) => return Err(limited),
            Err(err) => {
                tracing::warn!(row = row.id, %method, error = %err, "could not check whether Slack already has an unanswered post; posting it again (it may show twice)");
                return Ok(None);
            }
        };
        if let Some(ts) = matching_ts(&answer, &key) {
            return Ok(Some(ts));
        }
        let oldest_shown = answer["messages"]
            .as_array()
            .and_then(|m| m.last())
            .and_then(|m| m["ts"].as_str())
            .and_then(super::ts::order);
        if thread.is_none() && oldest_shown.is_some_and(|ts| ts < before_call) {
            return Ok(None);
        }
        match answer["response_metadata"]["next_cursor"].as_str() {
            Some(cursor) if !cursor.is_empty() => query["cursor"] = json!(cursor),
            _ => return Ok(None),
        }
    }
    tracing::warn!(
        row = row.id,
        "an unanswered post was not among the channel's recent messages searched; posting it again"
    );
    Ok(None)
}

/// A user ID (`U…`, `W…`): a post to one goes to the bot's DM with that person.
fn is_user(channel: &str) -> bool {
    channel.starts_with(['U', 'W'])
}

/// The DM channel of a post addressed to a user ID, opened (or found) with
/// `conversations.open`: history is read by channel. `None` for other channels and when
/// Slack refuses (logged); rate limited, the error.
async fn dm_channel(
    api: &WebApi,
    row: &PendingRow,
    channel: &str,
) -> Result<Option<String>, CallError> {
    if !is_user(channel) {
        return Ok(None);
    }
    match api
        .call("conversations.open", &json!({ "users": channel }))
        .await
    {
        Ok(answer) => Ok(answer["channel"]["id"].as_str().map(str::to_string)),
        Err(limited @ CallError::RateLimited(_)) => Err(limited),
        Err(err) => {
            tracing::warn!(row = row.id, error = %err, "could not open the DM to check whether Slack already has an unanswered post; posting it again (it may show twice)");
            Ok(None)
        }
    }
}

/// The `ts` of the message in a history or replies page that carries `key`.
fn matching_ts(answer: &Value, key: &str) -> Option<String> {
    answer["messages"].as_array()?.iter().find_map(|m| {
        let metadata = &m["metadata"];
        (metadata["event_type"] == EVENT_TYPE && metadata["event_payload"]["outbox_row"] == key)
            .then(|| m["ts"].as_str().map(str::to_string))
            .flatten()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outbox::Purpose;

    fn row(id: i64) -> PendingRow {
        PendingRow {
            id,
            method: "chat.postMessage".into(),
            channel: "C1".into(),
            lane: "chat.postMessage C1".into(),
            payload: "{}".into(),
            purpose: Purpose::Notice,
            ticket_id: None,
            attempts: 0,
            next_attempt_at: None,
            created_at: "2026-12-04T10:00:00.000Z".into(),
            started_at: None,
        }
    }

    #[test]
    fn a_post_is_tagged_with_its_row_and_an_existing_metadata_is_kept() {
        let mut body = json!({ "channel": "C1", "text": "hi" });
        tag(&mut body, &row(7));
        assert_eq!(body["metadata"]["event_type"], EVENT_TYPE);
        assert_eq!(
            body["metadata"]["event_payload"]["outbox_row"],
            "7@2026-12-04T10:00:00.000Z"
        );
        let mut own = json!({ "channel": "C1", "metadata": { "event_type": "x" } });
        tag(&mut own, &row(7));
        assert_eq!(own["metadata"], json!({ "event_type": "x" }));
    }

    #[test]
    fn only_a_message_with_the_same_row_and_creation_time_matches() {
        let mut tagged = json!({ "ts": "1.000100" });
        tag(&mut tagged, &row(7));
        let mut other_db = row(7);
        other_db.created_at = "2025-01-01T00:00:00.000Z".into();
        let mut older = json!({ "ts": "0.000100" });
        tag(&mut older, &other_db);
        let page = json!({ "messages": [older, { "ts": "0.5" }, tagged] });
        assert_eq!(
            matching_ts(&page, &row_key(&row(7))).as_deref(),
            Some("1.000100")
        );
        assert_eq!(matching_ts(&page, &row_key(&row(8))), None);
        assert_eq!(matching_ts(&json!({ "ok": true }), "7@x"), None);
    }
}
