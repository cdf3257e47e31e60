//! Fake Socket Mode: the `/link/?ticket=N` WebSocket endpoint, one task per connection, and the `socket_*` test API of `FakeSlack`.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Query, State as AxumState};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};
use tokio::sync::{mpsc, watch};

use super::state::{wait_until, SocketCmd, SocketConn, State, APP_ID};
use super::FakeSlack;

/// How long after a `disconnect` frame the server closes the connection itself (Slack: about
/// 10 s after a `warning`; shorter keeps tests quick).
const DISCONNECT_GRACE: Duration = Duration::from_secs(2);

pub(crate) async fn upgrade(
    AxumState(state): AxumState<Arc<State>>,
    Query(query): Query<HashMap<String, String>>,
    ws: WebSocketUpgrade,
) -> Response {
    let issued = state.lock().tickets_issued;
    let valid = query
        .get("ticket")
        .and_then(|t| t.parse::<u64>().ok())
        .is_some_and(|t| (1..=issued).contains(&t));
    if !valid {
        return (StatusCode::UNAUTHORIZED, "fake slack: unknown ticket").into_response();
    }
    let shutdown = state.shutdown.subscribe();
    ws.on_upgrade(move |socket| serve_connection(state, shutdown, socket))
}

fn hello(num_connections: usize) -> Value {
    json!({
        "type": "hello",
        "num_connections": num_connections,
        "debug_info": {
            "host": "fake",
            "build_number": 1,
            "approximate_connection_time": 18060
        },
        "connection_info": { "app_id": APP_ID }
    })
}

fn text(value: &Value) -> Message {
    Message::Text(value.to_string().into())
}

async fn serve_connection(
    state: Arc<State>,
    mut shutdown: watch::Receiver<bool>,
    socket: WebSocket,
) {
    let (tx, rx) = mpsc::unbounded_channel();
    let (id, live) = {
        let mut inner = state.lock();
        inner.next_socket_id += 1;
        let id = inner.next_socket_id;
        inner.sockets.push(SocketConn {
            id,
            tx,
            draining: false,
        });
        (id, inner.sockets.len())
    };
    tracing::debug!(id, "fake slack socket connected");
    state.socket_changed.notify_waiters();

    run_connection(&state, &mut shutdown, socket, rx, live).await;

    state.lock().sockets.retain(|c| c.id != id);
    tracing::debug!(id, "fake slack socket closed");
    state.socket_changed.notify_waiters();
}

async fn run_connection(
    state: &State,
    shutdown: &mut watch::Receiver<bool>,
    mut socket: WebSocket,
    mut rx: mpsc::UnboundedReceiver<SocketCmd>,
    live: usize,
) {
    if socket.send(text(&hello(live))).await.is_err() {
        return;
    }
    let mut close_at: Option<tokio::time::Instant> = None;
    loop {
        let grace = async {
            match close_at {
                Some(at) => tokio::time::sleep_until(at).await,
                None => std::future::pending().await,
            }
        };
        let stop = async {
            let _ = shutdown.wait_for(|stop| *stop).await;
        };
        tokio::select! {
            incoming = socket.recv() => match incoming {
                // Pings are answered by axum itself; a client Close is answered on the next recv.
                Some(Ok(Message::Text(frame))) => {
                    let value = serde_json::from_str(frame.as_str())
                        .unwrap_or_else(|_| Value::String(frame.as_str().to_string()));
                    state.lock().frames.push(value);
                    state.socket_changed.notify_waiters();
                }
                Some(Ok(Message::Ping(_))) => {
                    state.lock().pings += 1;
                    state.socket_changed.notify_waiters();
                }
                Some(Ok(_)) => {}
                None | Some(Err(_)) => return,
            },
            cmd = rx.recv() => match cmd {
                Some(SocketCmd::Send(value)) => {
                    if socket.send(text(&value)).await.is_err() {
                        return;
                    }
                }
                Some(SocketCmd::Disconnect(reason)) => {
                    let frame = json!({
                        "type": "disconnect",
                        "reason": reason,
                        "debug_info": { "host": "fake" }
                    });
                    if socket.send(text(&frame)).await.is_err() {
                        return;
                    }
                    close_at = Some(tokio::time::Instant::now() + DISCONNECT_GRACE);
                }
                // Dropping the socket ends the TCP stream without a close frame.
                Some(SocketCmd::Drop) | None => return,
                // A connection that died without a word: the TCP stream stays open, and
                // nothing is read (so no pong) or sent until the fake shuts down.
                Some(SocketCmd::Freeze) => {
                    let _ = shutdown.wait_for(|stop| *stop).await;
                    return;
                }
            },
            () = grace => {
                close(&mut socket, 1000, "disconnected by fake slack").await;
                return;
            }
            () = stop => {
                close(&mut socket, 1001, "fake slack shutting down").await;
                return;
            }
        }
    }
}

async fn close(socket: &mut WebSocket, code: u16, reason: &'static str) {
    let frame = CloseFrame {
        code,
        reason: reason.into(),
    };
    let _ = socket.send(Message::Close(Some(frame))).await;
}

impl FakeSlack {
    /// Waits until at least one WebSocket client is connected (one not sent a disconnect).
    pub async fn socket_wait_connected(&self, timeout: Duration) -> bool {
        wait_until(&self.inner.state.socket_changed, timeout, || {
            (self.socket_connected_count() > 0).then_some(())
        })
        .await
        .is_some()
    }

    /// How many `apps.connections.open` calls succeeded (tickets handed out).
    pub fn socket_connections_opened(&self) -> usize {
        self.inner.state.lock().tickets_issued as usize
    }

    /// How many WebSocket pings clients have sent (axum answers each with a pong).
    pub fn socket_pings_received(&self) -> usize {
        self.inner.state.lock().pings
    }

    /// How many WebSocket connections are live now, not counting those sent a disconnect.
    pub fn socket_connected_count(&self) -> usize {
        let inner = self.inner.state.lock();
        inner.sockets.iter().filter(|c| !c.draining).count()
    }

    /// Hands `cmd` to the newest connection not sent a disconnect; false if there is none.
    fn newest_socket(&self, cmd: SocketCmd) -> bool {
        let mut inner = self.inner.state.lock();
        let newest = (0..inner.sockets.len())
            .filter(|&i| !inner.sockets[i].draining)
            .max_by_key(|&i| inner.sockets[i].id);
        let Some(index) = newest else {
            return false;
        };
        if matches!(cmd, SocketCmd::Disconnect(_) | SocketCmd::Freeze) {
            inner.sockets[index].draining = true;
        }
        if matches!(cmd, SocketCmd::Drop) {
            // Gone at once for the counters; its task ends the stream.
            let conn = inner.sockets.remove(index);
            drop(inner);
            self.inner.state.socket_changed.notify_waiters();
            return conn.tx.send(cmd).is_ok();
        }
        inner.sockets[index].tx.send(cmd).is_ok()
    }

    /// Sends a frame (e.g. an envelope) to the newest live connection; false if none is live.
    /// Connections sent a disconnect are skipped, so after `socket_disconnect` envelopes go
    /// to the client's new connection (wait for it with `socket_wait_connected`).
    pub async fn socket_send(&self, value: Value) -> bool {
        self.newest_socket(SocketCmd::Send(value))
    }

    /// Sends a frame to the oldest connection still open, even one sent a disconnect (Slack
    /// may deliver on it until it closes it); false if none is open.
    pub async fn socket_send_oldest(&self, value: Value) -> bool {
        let inner = self.inner.state.lock();
        let oldest = inner.sockets.iter().min_by_key(|c| c.id);
        oldest.is_some_and(|c| c.tx.send(SocketCmd::Send(value)).is_ok())
    }

    /// The first frame from a client with this `envelope_id` that no earlier call returned.
    pub async fn socket_next_ack(&self, envelope_id: &str, timeout: Duration) -> Option<Value> {
        let state = &self.inner.state;
        wait_until(&state.socket_changed, timeout, || {
            let mut inner = state.lock();
            let index = inner.frames.iter().enumerate().position(|(i, frame)| {
                frame.get("envelope_id").and_then(Value::as_str) == Some(envelope_id)
                    && !inner.acks_taken.contains(&i)
            })?;
            inner.acks_taken.insert(index);
            Some(inner.frames[index].clone())
        })
        .await
    }

    /// Every text frame clients have sent, as JSON (non-JSON text as a JSON string).
    pub fn socket_frames_received(&self) -> Vec<Value> {
        self.inner.state.lock().frames.clone()
    }

    /// Sends `{"type":"disconnect","reason":..}` to the newest connection and closes it
    /// about 2 s later unless the client closes first. From then on it no longer counts as
    /// connected. False if none is live.
    pub async fn socket_disconnect(&self, reason: &str) -> bool {
        self.newest_socket(SocketCmd::Disconnect(reason.to_string()))
    }

    /// Drops the newest connection's TCP stream without a close frame. False if none is live.
    pub async fn socket_drop(&self) -> bool {
        self.newest_socket(SocketCmd::Drop)
    }

    /// Makes the newest connection go silent, as one a NAT forgot: its TCP stream stays open
    /// but nothing is read (so pings get no pong) or sent. From then on it no longer counts as
    /// connected. False if none is live.
    pub async fn socket_freeze(&self) -> bool {
        self.newest_socket(SocketCmd::Freeze)
    }
}
