//! The edge's side of [`SlackPort`]: the two Slack calls a capability needs answered at
//! once, `views.open` within the trigger's life and reading one message back. Everything
//! else a capability says to Slack goes through the outbox.

use super::web_api::{CallError, WebApi};
use crate::context::{AppError, SlackPort};
use futures_util::future::BoxFuture;
use serde_json::{json, Value};
use std::time::Duration;

/// How long `views.open` may take: the trigger expires 3 s after Slack sent it.
const VIEWS_OPEN_BUDGET: Duration = Duration::from_millis(2500);

/// The Web API as the capabilities' port.
pub struct WebApiPort(pub WebApi);

impl SlackPort for WebApiPort {
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
