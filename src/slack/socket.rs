//! Socket Mode: opens a WebSocket with `apps.connections.open`, turns each envelope into an
//! input, acks it (with the reply as payload where Slack accepts one) inside Slack's 3 s,
//! and reconnects on `disconnect` frames (serving the old socket until Slack closes it),
//! dropped sockets and sockets gone silent (it pings Slack, and a connection that brings no
//! frame for three pings is reopened).

use super::inbound;
use super::web_api::WebApi;
use super::Edge;
use crate::input::{Input, Reply};
use crate::metrics::Metrics;
use crate::settings::Secret;
use futures_util::{SinkExt, StreamExt};
use serde::Deserialize;
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, watch};
use tokio_tungstenite::tungstenite::Message;

/// How long an envelope's handling may take before it is acked without a payload.
const ACK_BUDGET: Duration = Duration::from_millis(2500);
const MAX_BACKOFF: Duration = Duration::from_secs(30);

enum Ended {
    Stop,
    Reconnect,
}

/// Keeps a Socket Mode connection open until `stop` turns true, pinging Slack every
/// `ping_interval`.
pub async fn run(
    app: Arc<Edge>,
    api: WebApi,
    token: Secret,
    ping_interval: Duration,
    mut stop: watch::Receiver<bool>,
) {
    let mut backoff = Duration::from_millis(500);
    loop {
        if *stop.borrow() {
            break;
        }
        match open(&api, &token).await {
            Ok(ws) => {
                backoff = Duration::from_millis(500);
                match session(app.clone(), ws, ping_interval, &mut stop).await {
                    Ended::Stop => break,
                    Ended::Reconnect => {
                        Metrics::inc(&app.ctx.metrics.socket_reconnects);
                        continue;
                    }
                }
            }
            Err(err) => {
                tracing::warn!(error = %err, retry_in_ms = backoff.as_millis() as u64, "Socket Mode connection failed")
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(backoff) => {}
            _ = crate::context::stopped(&mut stop) => break,
        }
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
    tracing::info!("Socket Mode stopped");
}

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn open(api: &WebApi, token: &Secret) -> anyhow::Result<Ws> {
    let answer = api
        .call_with("apps.connections.open", &json!({}), Some(token))
        .await
        .map_err(|e| anyhow::anyhow!("apps.connections.open: {e}"))?;
    let url = answer
        .get("url")
        .and_then(Value::as_str)
        .ok_or_else(|| anyhow::anyhow!("apps.connections.open gave no url"))?;
    let (ws, _) = tokio_tungstenite::connect_async(url).await?;
    tracing::info!("Socket Mode connected");
    Ok(ws)
}

/// How long a connection Slack asked us to leave is still served while the new one takes
/// over: Slack drops it about 10 s after a `warning`, and may deliver on it until then.
const DRAIN_LIMIT: Duration = Duration::from_secs(30);

/// How reading a connection ended.
enum Read {
    Stop,
    Dropped,
    /// Slack sent `disconnect`: the socket still works for a while.
    Disconnect,
}

/// One connection's life. Acks still in flight when it ends are written by the writer
/// task, which outlives the reader until every envelope task is done.
async fn session(
    app: Arc<Edge>,
    ws: Ws,
    ping_interval: Duration,
    stop: &mut watch::Receiver<bool>,
) -> Ended {
    let (mut sink, mut stream) = ws.split();
    let (out_tx, mut out_rx) = mpsc::channel::<Message>(256);
    tokio::spawn(async move {
        while let Some(frame) = out_rx.recv().await {
            if sink.send(frame).await.is_err() {
                break;
            }
        }
        // Bounded: a peer that went silent never completes the close handshake.
        let _ = tokio::time::timeout(Duration::from_secs(5), sink.close()).await;
    });
    match read(&app, &mut stream, &out_tx, ping_interval, stop, false).await {
        Read::Stop => Ended::Stop,
        Read::Dropped => Ended::Reconnect,
        Read::Disconnect => {
            // Open the new connection at once, and keep serving this one until Slack
            // closes it: an envelope it still brings would otherwise go unacked (a slash
            // command lost), and a gap between the two would lose events.
            let mut stop = stop.clone();
            tokio::spawn(async move {
                let draining = read(&app, &mut stream, &out_tx, ping_interval, &mut stop, true);
                let _ = tokio::time::timeout(DRAIN_LIMIT, draining).await;
            });
            Ended::Reconnect
        }
    }
}

/// Serves the frames of one connection until it ends; `draining` once Slack has asked us to
/// move to a new one (a second `disconnect` then changes nothing).
async fn read(
    app: &Arc<Edge>,
    stream: &mut futures_util::stream::SplitStream<Ws>,
    out_tx: &mpsc::Sender<Message>,
    ping_interval: Duration,
    stop: &mut watch::Receiver<bool>,
    draining: bool,
) -> Read {
    // A socket can die without a word (a NAT or firewall forgets it): TCP would say so only
    // hours later. Slack answers pings, so a live connection brings a frame every interval.
    let silent_limit = ping_interval * 3;
    let mut pings =
        tokio::time::interval_at(tokio::time::Instant::now() + ping_interval, ping_interval);
    pings.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut last_frame = tokio::time::Instant::now();
    loop {
        let frame = tokio::select! {
            frame = stream.next() => frame,
            _ = pings.tick() => {
                if last_frame.elapsed() >= silent_limit {
                    if !draining {
                        tracing::warn!(silent_secs = last_frame.elapsed().as_secs(), "Socket Mode connection went silent; reconnecting");
                    }
                    return Read::Dropped;
                }
                let _ = out_tx.send(Message::Ping(Default::default())).await;
                continue;
            }
            _ = crate::context::stopped(stop) => {
                let _ = out_tx.send(Message::Close(None)).await;
                return Read::Stop;
            }
        };
        last_frame = tokio::time::Instant::now();
        let text = match frame {
            Some(Ok(Message::Text(text))) => text,
            Some(Ok(Message::Ping(data))) => {
                let _ = out_tx.send(Message::Pong(data)).await;
                continue;
            }
            Some(Ok(Message::Close(_))) | None | Some(Err(_)) => {
                if !draining {
                    tracing::info!("Socket Mode connection dropped; reconnecting");
                }
                return Read::Dropped;
            }
            Some(Ok(_)) => continue,
        };
        let Ok(frame) = serde_json::from_str::<Frame>(text.as_str()) else {
            tracing::warn!("Socket Mode frame is not JSON; ignored");
            continue;
        };
        match (frame.kind.as_str(), &frame.envelope_id) {
            ("hello", _) => tracing::debug!("Socket Mode hello"),
            ("disconnect", _) if draining => {}
            ("disconnect", _) => {
                let reason = frame.reason.as_deref().unwrap_or("unknown");
                tracing::info!(%reason, "Slack asked to reconnect");
                return Read::Disconnect;
            }
            (_, Some(_)) => {
                Metrics::inc(&app.ctx.metrics.socket_envelopes);
                let (app, out) = (app.clone(), out_tx.clone());
                tokio::spawn(async move {
                    if let Some(ack) = handle_envelope(&app, frame).await {
                        let _ = out.send(Message::Text(ack.to_string().into())).await;
                    }
                });
            }
            _ => {}
        }
    }
}

/// A Socket Mode frame: `hello`, `disconnect`, or an envelope of `type` with a payload.
/// slack-morphism 2.31 models these (`SlackSocketModeEvent`) but does not export the
/// models, so these few fields are decoded here; the payloads go to its typed models.
#[derive(Debug, Deserialize)]
struct Frame {
    #[serde(rename = "type", default)]
    kind: String,
    envelope_id: Option<String>,
    /// Why Slack asks us to reconnect (`disconnect` only).
    reason: Option<String>,
    #[serde(default)]
    payload: Value,
    #[serde(default)]
    accepts_response_payload: bool,
}

/// The ack for one envelope, or None when it must not be acked (so Slack redelivers).
async fn handle_envelope(app: &Edge, frame: Frame) -> Option<Value> {
    let id = frame.envelope_id?;
    let payload = &frame.payload;
    let input = match frame.kind.as_str() {
        "slash_commands" => match inbound::command_from_json(payload) {
            Ok(cmd) => Input::Command(cmd),
            Err(_) => Input::Ignored("malformed slash command"),
        },
        "interactive" => inbound::interaction(payload),
        "events_api" => inbound::event(payload),
        _ => Input::Ignored("envelope type not handled"),
    };
    let is_command = matches!(input, Input::Command(_));
    let reply = match tokio::time::timeout(ACK_BUDGET, app.handle(input)).await {
        Ok(Ok(reply)) => reply,
        Ok(Err(err)) if is_command => {
            tracing::error!(error = %err.chain(), "slash command failed");
            Reply::ephemeral(crate::input::STORE_FAILED)
        }
        Ok(Err(err)) => {
            tracing::error!(error = %err.chain(), "envelope not handled; leaving it unacked for redelivery");
            return None;
        }
        Err(_) => {
            tracing::warn!("envelope handling ran past the ack budget; acked without payload");
            Reply::Empty
        }
    };
    Some(match reply {
        Reply::Json(body) if frame.accepts_response_payload => {
            json!({ "envelope_id": id, "payload": body })
        }
        _ => json!({ "envelope_id": id }),
    })
}
