//! Socket Mode against a fake WebSocket server: envelopes acked with their replies, and
//! reconnection after `disconnect` frames, dropped sockets and sockets gone silent.

mod common;

use common::*;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

async fn socket_app() -> TestApp {
    let app = spawn_with(Options {
        socket_mode: true,
        ..Options::default()
    })
    .await;
    connected(&app, "the bot connects").await;
    app
}

/// Waits (up to 10 s) until the fake has a live connection.
async fn connected(app: &TestApp, why: &str) {
    assert!(
        app.fake
            .socket_wait_connected(Duration::from_secs(10))
            .await,
        "{why}"
    );
}

/// Which of the fake's connections an envelope goes to.
enum Socket {
    /// The newest one not sent a disconnect.
    Newest,
    /// The oldest one still open, even one sent a disconnect.
    Oldest,
}

/// Sends a `/platform help` envelope to `socket` and checks its ack carries the usage.
async fn help_is_acked(app: &TestApp, envelope_id: &str, socket: Socket) {
    let mut envelope = fixture_json("socket_mode_envelope_slash.json");
    envelope["envelope_id"] = json!(envelope_id);
    envelope["payload"]["text"] = json!("help");
    let sent = match socket {
        Socket::Newest => app.fake.socket_send(envelope).await,
        Socket::Oldest => app.fake.socket_send_oldest(envelope).await,
    };
    assert!(sent, "no connection to send {envelope_id} on");
    let ack = app
        .fake
        .socket_next_ack(envelope_id, Duration::from_secs(5))
        .await
        .unwrap_or_else(|| panic!("{envelope_id} was not acked"));
    assert!(ack["payload"]["text"]
        .as_str()
        .unwrap()
        .contains("/platform request"));
}

/// Waits (up to 10 s each) for the bot to call `apps.connections.open` a second time, and
/// for that connection to be live; returns when the second call was seen.
async fn reconnected(app: &TestApp, why: &str) -> Instant {
    let reopened = wait_until(Duration::from_secs(10), || {
        (app.fake.socket_connections_opened() >= 2).then(Instant::now)
    })
    .await;
    let Some(reopened) = reopened else {
        panic!("{why}");
    };
    connected(app, "the new connection is live").await;
    reopened
}

#[tokio::test]
async fn a_slash_command_envelope_is_acked_with_the_ephemeral_answer() {
    let app = socket_app().await;
    let envelope = fixture_json("socket_mode_envelope_slash.json");
    let sent = Instant::now();
    assert!(app.fake.socket_send(envelope.clone()).await);
    let ack = app
        .fake
        .socket_next_ack(
            "3f9b1c2a-7d4e-4f6a-9b8c-1d2e3f4a5b6c",
            Duration::from_secs(5),
        )
        .await
        .expect("acked");
    assert!(
        sent.elapsed() < Duration::from_secs(3),
        "acked within Slack's 3 s"
    );
    let text = ack["payload"]["text"]
        .as_str()
        .expect("the ack carries the answer");
    assert_eq!(ack["payload"]["response_type"], "ephemeral");
    assert!(text.contains("PLAT-1"), "{text}");
    assert!(text.contains("&lt;!channel&gt; &amp; more"), "{text}");
    assert_eq!(
        app.text("select source from tickets").await.unwrap(),
        "command"
    );
    assert_eq!(app.intake_cards(1).await.len(), 1);
}

#[tokio::test]
async fn an_events_envelope_is_acked_and_files_the_mention_once() {
    let app = socket_app().await;
    let envelope = fixture_json("socket_mode_envelope_events.json");
    app.fake.socket_send(envelope.clone()).await;
    let ack = app
        .fake
        .socket_next_ack(
            "8c7d6e5f-4a3b-4c2d-9e1f-0a9b8c7d6e5f",
            Duration::from_secs(5),
        )
        .await
        .expect("acked");
    assert!(
        ack.get("payload").is_none(),
        "events take no payload: {ack}"
    );
    // Redelivered (Slack retries unacked envelopes under a new envelope id).
    let mut again = envelope.clone();
    again["envelope_id"] = json!("retry-1");
    again["retry_attempt"] = json!(1);
    app.fake.socket_send(again).await;
    app.fake
        .socket_next_ack("retry-1", Duration::from_secs(5))
        .await
        .expect("acked");
    assert_eq!(
        app.scalar("select count(*) from tickets where source = 'mention'")
            .await,
        1
    );
}

#[tokio::test]
async fn a_disconnect_frame_makes_the_bot_reconnect_and_keep_working() {
    let app = socket_app().await;
    assert_eq!(app.fake.socket_connections_opened(), 1);
    app.fake.socket_disconnect("refresh_requested").await;
    reconnected(&app, "apps.connections.open called again").await;
    let mut envelope = fixture_json("socket_mode_envelope_slash.json");
    envelope["envelope_id"] = json!("after-reconnect");
    app.fake.socket_send(envelope).await;
    let ack: Value = app
        .fake
        .socket_next_ack("after-reconnect", Duration::from_secs(5))
        .await
        .expect("acked on the new socket");
    assert!(ack["payload"]["text"].as_str().unwrap().contains("PLAT-1"));
}

#[tokio::test]
async fn a_dropped_socket_is_reopened() {
    let app = socket_app().await;
    app.fake.socket_drop().await;
    reconnected(&app, "reconnected after the drop").await;
    help_is_acked(&app, "after-drop", Socket::Newest).await;
}

#[tokio::test]
async fn in_socket_mode_the_slack_http_routes_are_off_but_health_answers() {
    let app = socket_app().await;
    let resp = app.command(ALICE, "C1", "request via http").await;
    assert_eq!(resp.status(), 404);
    let health = app
        .http
        .get(format!("{}/healthz", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
}

#[tokio::test]
async fn a_socket_gone_silent_is_noticed_by_its_pings_and_reopened() {
    let app = spawn_with(Options {
        socket_mode: true,
        // Long enough that a loaded machine's pauses do not look like a dead socket.
        env: vec![("SLACK_SOCKET_PING_INTERVAL".into(), "500ms".into())],
        ..Options::default()
    })
    .await;
    connected(&app, "the bot connects").await;
    // Answered pings keep a connection open: still the first one after six of them, three
    // intervals past the point where a silent one would have been replaced.
    wait_until(Duration::from_secs(15), || {
        (app.fake.socket_pings_received() >= 6).then_some(())
    })
    .await
    .expect("the bot pings every interval");
    assert_eq!(app.fake.socket_connections_opened(), 1);

    // The TCP stream stays open but nothing comes back: no close, no error, no pong.
    let frozen = Instant::now();
    assert!(app.fake.socket_freeze().await);
    let reopened = reconnected(&app, "the silent socket was never replaced").await;
    let silent = reopened.duration_since(frozen);
    assert!(
        silent >= Duration::from_millis(1000),
        "not before three intervals of silence: {silent:?}"
    );
    help_is_acked(&app, "after-silence", Socket::Newest).await;
}

#[tokio::test]
async fn after_a_disconnect_warning_the_old_socket_is_still_served_while_the_new_one_opens() {
    let app = socket_app().await;
    assert!(app.fake.socket_disconnect("warning").await);
    // Slack may still deliver on the socket it has asked the bot to leave.
    help_is_acked(&app, "on-the-old-socket", Socket::Oldest).await;
    connected(&app, "the new connection is live").await;
    assert_eq!(app.fake.socket_connections_opened(), 2);
}
