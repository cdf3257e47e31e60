//! The sandbox's line to the bot: requests signed exactly as Slack signs them, posted to the
//! bot's HTTP endpoints within Slack's 3-second budget, and the answers as the page sees them.

use crate::clock::Clock;
use crate::slack::signature;
use serde_json::{json, Value};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

/// How long Slack waits for an answer before it gives up (and tells the person so).
pub const SLACK_TIMEOUT: Duration = Duration::from_secs(3);

/// The bot as Slack reaches it.
#[derive(Clone)]
pub struct Bot {
    http: reqwest::Client,
    base: String,
    secret: String,
    /// The bot's own clock: it refuses requests signed more than 5 minutes from its `now`,
    /// and the sandbox's clock control moves that.
    clock: Arc<dyn Clock>,
}

/// What came back from the bot.
#[derive(Debug, Clone, PartialEq)]
pub enum Answer {
    /// An HTTP answer within the budget; `body` is JSON when it parses, else the raw text
    /// (`Null` when empty).
    Replied { status: u16, body: Value },
    /// No answer within 3 s: Slack shows `operation_timeout` (the bot may still finish).
    TimedOut,
    /// The bot could not be reached at all.
    Unreachable(String),
}

impl Answer {
    /// The JSON body of a 200 answer, if there is one.
    pub fn ok_json(&self) -> Option<&Value> {
        match self {
            Answer::Replied { status: 200, body } if body.is_object() => Some(body),
            _ => None,
        }
    }

    /// A 200 answer with an empty body.
    pub fn is_empty_ok(&self) -> bool {
        matches!(
            self,
            Answer::Replied {
                status: 200,
                body: Value::Null
            }
        )
    }

    /// What went wrong, in Slack's words, for anything but a 200.
    pub fn failure(&self) -> Option<String> {
        match self {
            Answer::Replied { status: 200, .. } => None,
            Answer::Replied { status, .. } => Some(format!("http_service_error (HTTP {status})")),
            Answer::TimedOut => Some("operation_timeout".into()),
            Answer::Unreachable(why) => Some(format!("dispatch_failed ({why})")),
        }
    }

    /// The answer as the page API returns it.
    pub fn to_json(&self) -> Value {
        match self {
            Answer::Replied { status, body } => json!({ "status": status, "body": body }),
            other => json!({ "status": null, "body": null, "error": other.failure() }),
        }
    }
}

impl Bot {
    pub fn new(bot_addr: SocketAddr, secret: String, clock: Arc<dyn Clock>) -> Bot {
        Bot {
            http: reqwest::Client::new(),
            base: format!("http://{bot_addr}"),
            secret,
            clock,
        }
    }

    /// The bot's dashboard (loopback, so it needs no token unless WEB_TOKEN is set).
    pub fn dashboard_url(&self) -> String {
        format!("{}/dashboard", self.base)
    }

    /// `/slack/commands` with a form body.
    pub async fn command(&self, form: String) -> Answer {
        self.post("/slack/commands", "application/x-www-form-urlencoded", form)
            .await
    }

    /// `/slack/events` with an Events API body.
    pub async fn event(&self, body: &Value) -> Answer {
        self.post("/slack/events", "application/json", body.to_string())
            .await
    }

    /// `/slack/interactivity` with `payload=<json>`.
    pub async fn interaction(&self, payload: &Value) -> Answer {
        let form =
            serde_urlencoded::to_string([("payload", payload.to_string())]).unwrap_or_default();
        self.post(
            "/slack/interactivity",
            "application/x-www-form-urlencoded",
            form,
        )
        .await
    }

    /// Signs and posts `body`. The request runs on its own task, so a slow bot still
    /// finishes its work after Slack (here: the page) has stopped waiting.
    async fn post(&self, path: &str, content_type: &str, body: String) -> Answer {
        let ts = self.clock.now().timestamp().to_string();
        let sig = signature::sign(&self.secret, &ts, body.as_bytes());
        let request = self
            .http
            .post(format!("{}{path}", self.base))
            .header("content-type", content_type)
            .header("X-Slack-Request-Timestamp", ts)
            .header("X-Slack-Signature", sig)
            .body(body);
        let call = tokio::spawn(async move {
            let response = request.send().await.map_err(|e| e.to_string())?;
            let status = response.status().as_u16();
            let text = response.text().await.map_err(|e| e.to_string())?;
            Ok::<_, String>((status, text))
        });
        match tokio::time::timeout(SLACK_TIMEOUT, call).await {
            Err(_) => Answer::TimedOut,
            Ok(Err(join)) => Answer::Unreachable(join.to_string()),
            Ok(Ok(Err(why))) => Answer::Unreachable(why),
            Ok(Ok(Ok((status, text)))) => {
                let body = if text.trim().is_empty() {
                    Value::Null
                } else {
                    serde_json::from_str(&text).unwrap_or(Value::String(text))
                };
                Answer::Replied { status, body }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_read_as_slack_would_report_them() {
        let closed = Answer::Replied {
            status: 200,
            body: Value::Null,
        };
        assert!(closed.is_empty_ok() && closed.failure().is_none());
        let errors = Answer::Replied {
            status: 200,
            body: json!({"response_action": "errors"}),
        };
        assert!(errors.ok_json().is_some() && !errors.is_empty_ok());
        let refused = Answer::Replied {
            status: 401,
            body: json!("invalid signature"),
        };
        assert!(refused.failure().unwrap().contains("401"));
        assert_eq!(
            Answer::TimedOut.failure().as_deref(),
            Some("operation_timeout")
        );
    }
}
