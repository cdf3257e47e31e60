//! The edge's side of [`SlackPort`]: the Slack calls a capability needs answered at once,
//! `views.open` within the trigger's life, reading one message back, and the reads of a
//! survey's audience (a channel's members, page by page; a person's profile), which wait
//! out a 429's `Retry-After`. Everything a capability says to Slack goes through the outbox.

use super::web_api::{CallError, WebApi};
use crate::context::{AppError, MembersPage, Person, SlackPort};
use futures_util::future::BoxFuture;
use serde_json::{json, Value};
use std::time::Duration;

/// How long `views.open` may take: the trigger expires 3 s after Slack sent it.
const VIEWS_OPEN_BUDGET: Duration = Duration::from_millis(2500);

/// A read rate limited this many times in a row is given up (the caller's job retries).
const READ_ATTEMPTS: u32 = 6;
/// The longest `Retry-After` a read waits out in place.
const LONGEST_WAIT: Duration = Duration::from_secs(60);

/// The Web API as the capabilities' port.
pub struct WebApiPort(pub WebApi);

impl WebApiPort {
    /// A read: a 429 is waited out (its `Retry-After`, on the monotonic clock) and tried
    /// again, so a survey's audience is read as fast as the method's tier allows.
    async fn read(&self, method: &str, body: &Value) -> Result<Value, CallError> {
        let mut attempt = 1;
        loop {
            match self.0.call(method, body).await {
                Err(CallError::RateLimited(wait)) if attempt < READ_ATTEMPTS => {
                    tokio::time::sleep(wait.min(LONGEST_WAIT)).await;
                    attempt += 1;
                }
                other => return other,
            }
        }
    }
}

impl SlackPort for WebApiPort {
    fn members<'a>(
        &'a self,
        channel: &'a str,
        cursor: Option<&'a str>,
    ) -> BoxFuture<'a, Result<MembersPage, AppError>> {
        Box::pin(async move {
            let mut body = json!({ "channel": channel, "limit": 200 });
            if let Some(cursor) = cursor {
                body["cursor"] = cursor.into();
            }
            let answer = self
                .read("conversations.members", &body)
                .await
                .map_err(|e| AppError::Slack(format!("conversations.members: {e}")))?;
            let members = answer["members"]
                .as_array()
                .map(|m| {
                    m.iter()
                        .filter_map(Value::as_str)
                        .map(str::to_string)
                        .collect()
                })
                .unwrap_or_default();
            let next = answer["response_metadata"]["next_cursor"]
                .as_str()
                .filter(|c| !c.is_empty())
                .map(str::to_string);
            Ok(MembersPage { members, next })
        })
    }

    fn person<'a>(&'a self, user: &'a str) -> BoxFuture<'a, Result<Option<Person>, AppError>> {
        Box::pin(async move {
            match self.read("users.info", &json!({ "user": user })).await {
                Ok(answer) => {
                    let u = &answer["user"];
                    Ok(Some(Person {
                        id: user.to_string(),
                        tz: u["tz"].as_str().map(str::to_string),
                        is_bot: u["is_bot"].as_bool().unwrap_or(false)
                            || u["is_app_user"].as_bool().unwrap_or(false),
                        deleted: u["deleted"].as_bool().unwrap_or(false),
                    }))
                }
                Err(CallError::Permanent(e)) if e.contains("user_not_found") => Ok(None),
                // No user id in the error: it may reach a log.
                Err(e) => Err(AppError::Slack(format!("users.info: {e}"))),
            }
        })
    }

    fn open_view<'a>(
        &'a self,
        trigger_id: &'a str,
        view: Value,
    ) -> BoxFuture<'a, Result<(), AppError>> {
        Box::pin(async move {
            let body = json!({ "trigger_id": trigger_id, "view": view });
            match tokio::time::timeout(VIEWS_OPEN_BUDGET, self.0.call("views.open", &body)).await {
                Ok(Ok(_)) => Ok(()),
                Ok(Err(err)) => {
                    tracing::warn!(error = %err, "views.open failed");
                    Err(AppError::Slack(err.to_string()))
                }
                Err(_) => {
                    self.0.timed_out("views.open");
                    tracing::warn!("views.open took longer than the trigger lives");
                    Err(AppError::Slack("views.open timed out".into()))
                }
            }
        })
    }

    fn message<'a>(
        &'a self,
        channel: &'a str,
        ts: &'a str,
    ) -> BoxFuture<'a, Result<Option<Value>, AppError>> {
        Box::pin(async move {
            let find = |answer: &Value| {
                answer["messages"]
                    .as_array()
                    .and_then(|m| m.iter().find(|m| m["ts"] == ts).cloned())
            };
            let history = json!({ "channel": channel, "latest": ts, "oldest": ts, "inclusive": true, "limit": 1 });
            match self.0.call("conversations.history", &history).await {
                Ok(answer) => {
                    if let Some(found) = find(&answer) {
                        return Ok(Some(found));
                    }
                }
                Err(CallError::Permanent(e)) => {
                    tracing::warn!(error = %e, "conversations.history refused")
                }
                Err(e) => return Err(AppError::Slack(e.to_string())),
            }
            let replies = json!({ "channel": channel, "ts": ts, "latest": ts, "inclusive": true, "limit": 1 });
            match self.0.call("conversations.replies", &replies).await {
                Ok(answer) => Ok(find(&answer)),
                Err(CallError::Permanent(_)) => Ok(None),
                Err(e) => Err(AppError::Slack(e.to_string())),
            }
        })
    }
}
