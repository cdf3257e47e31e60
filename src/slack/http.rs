//! HTTP mode: `/slack/commands`, `/slack/events`, `/slack/interactivity`. Every request is
//! size-limited and signature-checked on its raw bytes before anything is parsed.

use super::inbound;
use super::signature;
use super::Edge;
use crate::input::{Input, Reply};
use crate::metrics::Metrics;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use serde_json::{json, Value};
use std::sync::Arc;

/// Slack's payloads are small; a modal submission with long text is the largest.
pub const MAX_BODY_BYTES: usize = 256 * 1024;

pub fn router(app: Arc<Edge>) -> Router {
    Router::new()
        .route("/slack/commands", post(commands))
        .route("/slack/events", post(events))
        .route("/slack/interactivity", post(interactivity))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(app)
}

/// Refuses requests that Slack did not sign.
fn check(app: &Edge, headers: &HeaderMap, body: &[u8]) -> Result<(), Box<Response>> {
    let Some(secret) = &app.signing_secret else {
        return Err(Box::new(StatusCode::UNAUTHORIZED.into_response()));
    };
    let get = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    signature::verify(
        secret.expose(),
        get("x-slack-request-timestamp"),
        get("x-slack-signature"),
        body,
        app.ctx.clock.now().timestamp(),
    )
    .map_err(|err| {
        Metrics::inc(&app.ctx.metrics.signature_rejections);
        tracing::warn!(reason = %err, "refused an unsigned or badly signed request");
        Box::new((StatusCode::UNAUTHORIZED, "invalid signature").into_response())
    })
}

/// The HTTP form of a reply.
fn respond(reply: Reply) -> Response {
    match reply {
        Reply::Empty => StatusCode::OK.into_response(),
        Reply::Json(body) => json_response(&body),
    }
}

fn json_response(body: &Value) -> Response {
    // Bytes, not `to_string`: that goes through `Display` and a formatter adapter per
    // piece, which showed as 2.8% of the HTTP thread's samples on every slash command.
    // Serializing a `Value` cannot fail (its keys are strings).
    // A filed reply is about 330 bytes: one allocation instead of doublings from 128.
    let mut bytes = Vec::with_capacity(512);
    if serde_json::to_writer(&mut bytes, body).is_err() {
        bytes.clear();
    }
    let mut resp = bytes.into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    resp
}

async fn commands(State(app): State<Arc<Edge>>, headers: HeaderMap, body: Bytes) -> Response {
    let _timer = app.ctx.metrics.slack_request_seconds.time();
    // `ssl_check=1` pings carry no request and change nothing: answer them as they come.
    if inbound::is_ssl_check(&body) {
        return StatusCode::OK.into_response();
    }
    if let Err(refused) = check(&app, &headers, &body) {
        return *refused;
    }
    let cmd = match inbound::command_from_form(&body) {
        Ok(cmd) => cmd,
        Err(err) => return (StatusCode::BAD_REQUEST, err.to_string()).into_response(),
    };
    match app.handle(Input::Command(cmd)).await {
        Ok(reply) => respond(reply),
        // A command is a person waiting: answer, never a 500.
        Err(err) => {
            tracing::error!(error = %err.chain(), "slash command failed");
            respond(Reply::ephemeral(crate::input::STORE_FAILED))
        }
    }
}

async fn events(State(app): State<Arc<Edge>>, headers: HeaderMap, body: Bytes) -> Response {
    let _timer = app.ctx.metrics.slack_request_seconds.time();
    if let Err(refused) = check(&app, &headers, &body) {
        return *refused;
    }
    let Ok(value) = serde_json::from_slice::<Value>(&body) else {
        return (StatusCode::BAD_REQUEST, "body is not JSON").into_response();
    };
    match inbound::push(&value) {
        inbound::Push::UrlVerification { challenge } => {
            json_response(&json!({ "challenge": challenge }))
        }
        inbound::Push::Event(input) => match app.handle(input).await {
            Ok(_) => StatusCode::OK.into_response(),
            // Not stored: let Slack deliver it again (the inbox makes that safe).
            Err(err) => {
                tracing::error!(error = %err.chain(), "event handling failed; Slack will retry");
                StatusCode::INTERNAL_SERVER_ERROR.into_response()
            }
        },
    }
}

async fn interactivity(State(app): State<Arc<Edge>>, headers: HeaderMap, body: Bytes) -> Response {
    let _timer = app.ctx.metrics.slack_request_seconds.time();
    if let Err(refused) = check(&app, &headers, &body) {
        return *refused;
    }
    let payload = match inbound::interaction_from_form(&body) {
        Ok(payload) => payload,
        Err(err) => return (StatusCode::BAD_REQUEST, err.to_string()).into_response(),
    };
    match app.handle(inbound::interaction(&payload)).await {
        Ok(reply) => respond(reply),
        Err(err) => {
            tracing::error!(error = %err.chain(), "interaction failed");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The size of the future an async fn of three arguments returns, without calling it.
    fn future_size<A, B, C, F: std::future::Future>(_: fn(A, B, C) -> F) -> usize {
        std::mem::size_of::<F>()
    }

    /// axum moves each request's handler future into a box of its full size: at 7 KiB,
    /// when every kind of input was awaited in place, that copy and allocation were about
    /// 1.3% of the server's core under load.
    #[test]
    fn the_slash_command_future_that_axum_boxes_per_request_stays_small() {
        let size = future_size(commands);
        println!("commands future: {size} bytes");
        assert!(size <= 3 * 1024, "{size} bytes");
    }
}
