//! The HTTP side of the fake: `/api/{method}` and `/response/{id}`, body decoding, auth, failure injection and recording.

use std::sync::Arc;
use std::time::Instant;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State as AxumState};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, post};
use axum::{Json, Router};
use serde_json::{json, Map, Value};

use super::methods::{self, str_field};
use super::socket;
use super::state::{ApiCall, Failure, PostedMessage, State};

/// Form fields that carry JSON inside a string.
const JSON_FORM_FIELDS: [&str; 4] = ["blocks", "view", "attachments", "metadata"];

pub(crate) fn router(state: Arc<State>) -> Router {
    Router::new()
        .route("/api/{method}", any(api_call))
        .route("/response/{id}", post(response_url))
        .route("/link", any(socket::upgrade))
        .route("/link/", any(socket::upgrade))
        .with_state(state)
}

/// The request decoded into a JSON object, or the Slack error for a malformed one.
fn decode_body(headers: &HeaderMap, query: Option<&str>, body: &[u8]) -> Result<Value, String> {
    let mut fields = Map::new();
    if let Some(query) = query {
        fields.extend(form_fields(query.as_bytes()));
    }
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim_start().starts_with("application/json"));
    if is_json && !body.iter().all(u8::is_ascii_whitespace) {
        match serde_json::from_slice::<Value>(body) {
            Ok(Value::Object(map)) => fields.extend(map),
            Ok(_) => return Err("json_not_object".into()),
            Err(_) => return Err("invalid_json".into()),
        }
    } else if !is_json {
        fields.extend(form_fields(body));
    }
    Ok(Value::Object(fields))
}

/// `a=1&blocks=[..]` as a JSON object of strings, with JSON-valued fields decoded.
fn form_fields(raw: &[u8]) -> Map<String, Value> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(raw).unwrap_or_default();
    pairs
        .into_iter()
        .map(|(key, value)| {
            let decoded = if JSON_FORM_FIELDS.contains(&key.as_str()) {
                match serde_json::from_str::<Value>(&value) {
                    Ok(v @ (Value::Array(_) | Value::Object(_))) => v,
                    _ => Value::String(value),
                }
            } else {
                Value::String(value)
            };
            (key, decoded)
        })
        .collect()
}

fn bearer_token(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?.trim();
    let token = value
        .strip_prefix("Bearer ")
        .or_else(|| value.strip_prefix("bearer "))?;
    Some(token.trim().to_string())
}

fn slack_error(code: &str) -> Response {
    Json(json!({ "ok": false, "error": code })).into_response()
}

/// The failure to serve for this call, if any: queued ones first, then a permanent one.
fn take_failure(state: &State, method: &str) -> Option<Failure> {
    let mut inner = state.lock();
    if let Some(next) = inner.failures.get_mut(method).and_then(|q| q.pop_front()) {
        return Some(next);
    }
    inner
        .always
        .get(method)
        .map(|code| Failure::SlackError(code.clone()))
}

/// The failure to serve for this call, split by when: before carrying the call out, or
/// after (`Failure::after_doing`).
fn failure_when(state: &State, method: &str) -> (Option<Failure>, Option<Failure>) {
    match take_failure(state, method) {
        Some(f) if f.after_doing() => (None, Some(f)),
        f => (f, None),
    }
}

/// An injected HTTP status and its recorded outcome.
fn status_response(code: u16) -> (Response, String) {
    let status = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let response = (status, format!("fake slack: injected HTTP {code}")).into_response();
    (response, format!("http_{code}"))
}

/// Serves a failure taken before the call (`Err(response, outcome)`) or returns `Ok` to
/// answer normally.
async fn injected(failure: Option<Failure>) -> Result<(), (Response, String)> {
    match failure {
        None | Some(Failure::AnswerLost(_) | Failure::StatusAfterDoing(_)) => Ok(()),
        Some(Failure::Delay(delay)) => {
            tokio::time::sleep(delay).await;
            Ok(())
        }
        Some(Failure::RateLimited { retry_after_secs }) => {
            let mut response = (
                StatusCode::TOO_MANY_REQUESTS,
                Json(json!({ "ok": false, "error": "ratelimited" })),
            )
                .into_response();
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(retry_after_secs));
            Err((response, "ratelimited".into()))
        }
        Some(Failure::HttpStatus(code)) => Err(status_response(code)),
        Some(Failure::SlackError(code)) => Err((slack_error(&code), code)),
    }
}

async fn api_call(
    AxumState(state): AxumState<Arc<State>>,
    Path(method): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let at = Instant::now();
    let token = bearer_token(&headers);
    let decoded = decode_body(&headers, query.as_deref(), &body);
    let body_value = match &decoded {
        Ok(v) => v.clone(),
        Err(_) => Value::String(String::from_utf8_lossy(&body).into_owned()),
    };
    let record = |outcome: String| {
        state.record(ApiCall {
            method: method.clone(),
            body: body_value.clone(),
            token: token.clone(),
            at,
            outcome,
        })
    };

    let wanted_prefix = if method == "apps.connections.open" {
        "xapp-"
    } else {
        "xoxb-"
    };
    if !token
        .as_deref()
        .is_some_and(|t| t.starts_with(wanted_prefix))
    {
        record("not_authed".into());
        return slack_error("not_authed");
    }
    let body_value = match decoded {
        Ok(v) => v,
        Err(code) => {
            record(code.clone());
            return slack_error(&code);
        }
    };
    let (before, after) = failure_when(&state, &method);
    if let Err((response, outcome)) = injected(before).await {
        record(outcome);
        return response;
    }
    let answer = {
        let mut inner = state.lock();
        methods::dispatch(&mut inner, &state.ws_base, &method, &body_value)
    };
    match after {
        Some(Failure::AnswerLost(delay)) => tokio::time::sleep(delay).await,
        Some(Failure::StatusAfterDoing(code)) => {
            let (response, outcome) = status_response(code);
            record(outcome);
            return response;
        }
        _ => {}
    }
    match answer {
        Ok(mut success) => {
            if let Some(map) = success.as_object_mut() {
                map.insert("ok".into(), Value::Bool(true));
            }
            record("ok".into());
            if method == "apps.connections.open" {
                state.socket_changed.notify_waiters();
            }
            Json(success).into_response()
        }
        Err(code) => {
            record(code.clone());
            slack_error(&code)
        }
    }
}

/// A POST to a `response_url`: recorded as method `response_url`, stored as a message.
async fn response_url(
    AxumState(state): AxumState<Arc<State>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let at = Instant::now();
    let method = "response_url".to_string();
    let mut body_value = match decode_body(&headers, None, &body) {
        Ok(v) => v,
        Err(code) => {
            state.record(ApiCall {
                method,
                body: Value::String(String::from_utf8_lossy(&body).into_owned()),
                token: None,
                at,
                outcome: code.clone(),
            });
            return slack_error(&code);
        }
    };
    // Some clients post the message as a JSON string in a `payload` form field.
    if let Some(Value::String(payload)) = body_value.get("payload") {
        if let Ok(Value::Object(map)) = serde_json::from_str::<Value>(payload) {
            body_value = Value::Object(map);
        }
    }
    let token = bearer_token(&headers);
    let (before, after) = failure_when(&state, &method);
    if let Err((response, outcome)) = injected(before).await {
        state.record(ApiCall {
            method,
            body: body_value,
            token,
            at,
            outcome,
        });
        return response;
    }
    {
        let mut inner = state.lock();
        let ts = inner.next_ts();
        let in_channel = str_field(&body_value, "response_type").as_deref() == Some("in_channel");
        inner.messages.push(PostedMessage {
            channel: str_field(&body_value, "channel").unwrap_or_else(|| method.clone()),
            ts,
            thread_ts: str_field(&body_value, "thread_ts"),
            text: str_field(&body_value, "text").unwrap_or_default(),
            blocks: body_value.get("blocks").cloned().unwrap_or(Value::Null),
            user: str_field(&body_value, "user"),
            ephemeral: !in_channel,
            updated: false,
            metadata: Value::Null,
        });
    }
    tracing::debug!(%id, "fake slack response_url post");
    let mut response = Json(json!({ "ok": true })).into_response();
    let mut outcome = "ok".to_string();
    match after {
        Some(Failure::AnswerLost(delay)) => tokio::time::sleep(delay).await,
        Some(Failure::StatusAfterDoing(code)) => (response, outcome) = status_response(code),
        _ => {}
    }
    state.record(ApiCall {
        method,
        body: body_value,
        token,
        at,
        outcome,
    });
    response
}
