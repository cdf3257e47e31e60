//! A small Slack Web API client: POSTs JSON with the bot token and sorts Slack's answers
//! into success, rate limiting, transient and permanent failures. Tokens never reach a log.

use crate::metrics::{Metrics, Outcome};
use crate::settings::Secret;
use serde_json::Value;
use std::sync::Arc;
use std::time::Duration;

/// What a call came to.
#[derive(Debug, Clone, PartialEq)]
pub enum CallError {
    /// HTTP 429: try again after this long.
    RateLimited(Duration),
    /// 5xx, a network error, a timeout, or a Slack error that says "try later".
    Transient(String),
    /// Slack refused the call for good (`channel_not_found`, `invalid_auth`, ...).
    Permanent(String),
}

impl std::fmt::Display for CallError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CallError::RateLimited(d) => write!(f, "rate limited for {}s", d.as_secs()),
            CallError::Transient(e) => write!(f, "transient: {e}"),
            CallError::Permanent(e) => write!(f, "refused: {e}"),
        }
    }
}

/// Slack error codes that mean "the same call may work later".
const TRANSIENT_ERRORS: &[&str] = &[
    "ratelimited",
    "internal_error",
    "fatal_error",
    "service_unavailable",
    "request_timeout",
    "team_added_to_org",
];

#[derive(Clone)]
pub struct WebApi {
    http: reqwest::Client,
    base: String,
    token: Option<Secret>,
    /// Where every call is counted by method and outcome, once `counted`.
    metrics: Option<Arc<Metrics>>,
}

impl WebApi {
    /// A client for the Web API at `base` (no trailing slash).
    pub fn new(base: &str, token: Option<Secret>) -> Self {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .connect_timeout(Duration::from_secs(5))
            .pool_idle_timeout(Duration::from_secs(60))
            .build()
            .expect("a reqwest client with rustls builds");
        Self {
            http,
            base: base.trim_end_matches('/').to_string(),
            token,
            metrics: None,
        }
    }

    /// The same client, counting every Web API call in `metrics`
    /// (`platform_desk_slack_api_calls_total`): here, where each call's outcome is known,
    /// rather than at each of its callers.
    pub fn counted(mut self, metrics: Arc<Metrics>) -> Self {
        self.metrics = Some(metrics);
        self
    }

    /// Counts a call to `method` its caller stopped waiting for: no answer came in time.
    pub fn timed_out(&self, method: &str) {
        self.count(method, Outcome::Transport);
    }

    fn count(&self, method: &str, outcome: Outcome) {
        if let Some(metrics) = &self.metrics {
            metrics.slack_calls.count(method, outcome);
        }
    }

    /// Calls `method` with a JSON body using the bot token.
    pub async fn call(&self, method: &str, body: &Value) -> Result<Value, CallError> {
        self.call_with(method, body, self.token.as_ref()).await
    }

    /// Calls `method` with a JSON body and the given token (the app token for
    /// `apps.connections.open`).
    pub async fn call_with(
        &self,
        method: &str,
        body: &Value,
        token: Option<&Secret>,
    ) -> Result<Value, CallError> {
        let url = format!("{}/{method}", self.base);
        let mut req = self.http.post(&url).json(body);
        if let Some(token) = token {
            req = req.bearer_auth(token.expose());
        }
        let resp = match req.send().await {
            Ok(resp) => resp,
            Err(e) => {
                self.count(method, Outcome::Transport);
                return Err(CallError::Transient(describe(&e)));
            }
        };
        let answer = Self::answer(resp).await;
        self.count(
            method,
            match &answer {
                Ok(_) => Outcome::Ok,
                Err(CallError::RateLimited(_)) => Outcome::RateLimited,
                Err(_) => Outcome::Error,
            },
        );
        answer
    }

    /// POSTs JSON to another service (PagerDuty's Events API): 2xx is success, 429 and 5xx
    /// are retried, other answers are refusals.
    pub async fn post_json(&self, url: &str, body: &Value) -> Result<Value, CallError> {
        let resp = self
            .http
            .post(url)
            .json(body)
            .send()
            .await
            .map_err(|e| CallError::Transient(describe(&e)))?;
        let status = resp.status();
        if status.as_u16() == 429 {
            return Err(CallError::RateLimited(Duration::from_secs(1)));
        }
        if status.is_server_error() {
            return Err(CallError::Transient(format!("HTTP {}", status.as_u16())));
        }
        let body: Value = resp.json().await.unwrap_or(Value::Null);
        if status.is_success() {
            Ok(body)
        } else {
            Err(CallError::Permanent(format!("HTTP {}", status.as_u16())))
        }
    }

    /// POSTs a message to a `response_url` (no token: the URL is the credential).
    pub async fn respond(&self, response_url: &str, body: &Value) -> Result<(), CallError> {
        let resp = self
            .http
            .post(response_url)
            .json(body)
            .send()
            .await
            .map_err(|e| CallError::Transient(describe(&e)))?;
        if resp.status().is_success() {
            Ok(())
        } else {
            Err(CallError::Transient(format!(
                "HTTP {}",
                resp.status().as_u16()
            )))
        }
    }

    async fn answer(resp: reqwest::Response) -> Result<Value, CallError> {
        let status = resp.status();
        if status.as_u16() == 429 {
            let secs = resp
                .headers()
                .get(reqwest::header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok())
                .unwrap_or(1);
            return Err(CallError::RateLimited(Duration::from_secs(
                secs.clamp(1, 3600),
            )));
        }
        if status.is_server_error() {
            return Err(CallError::Transient(format!("HTTP {}", status.as_u16())));
        }
        let body: Value = resp
            .json()
            .await
            .map_err(|_| CallError::Transient(format!("HTTP {}: not JSON", status.as_u16())))?;
        if body.get("ok").and_then(Value::as_bool) == Some(true) {
            return Ok(body);
        }
        let error = body
            .get("error")
            .and_then(Value::as_str)
            .unwrap_or("unknown_error")
            .to_string();
        if TRANSIENT_ERRORS.contains(&error.as_str()) || !status.is_success() {
            Err(CallError::Transient(error))
        } else {
            Err(CallError::Permanent(error))
        }
    }
}

/// A network error's kind, without the URL (which is ours, but keep logs short).
fn describe(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        "timeout".into()
    } else if e.is_connect() {
        "connection failed".into()
    } else {
        "network error".into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_call_nobody_answers_is_counted_as_transport() {
        // A port that was free a moment ago: the connection is refused.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let metrics = Arc::new(Metrics::new(&crate::settings::Policy::builtin()));
        let api = WebApi::new(&format!("http://127.0.0.1:{port}"), None).counted(metrics.clone());
        let err = api
            .call("chat.postMessage", &serde_json::json!({}))
            .await
            .unwrap_err();
        assert!(matches!(err, CallError::Transient(_)), "{err:?}");
        assert_eq!(
            metrics
                .slack_calls
                .get("chat.postMessage", Outcome::Transport),
            1
        );
        assert!(metrics.render().contains(
            "platform_desk_slack_api_calls_total{method=\"chat.postMessage\",outcome=\"transport\"} 1\n"
        ));
    }
}
