//! Tests of the fake Slack through real HTTP and WebSocket clients.

use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use reqwest::StatusCode;
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message as WsMessage;

use super::{Failure, FakeSlack};

const BOT: &str = "xoxb-test-token";
const APP: &str = "xapp-test-token";
const WAIT: Duration = Duration::from_secs(5);

struct Answer {
    status: StatusCode,
    retry_after: Option<String>,
    body: Value,
}

async fn call(slack: &FakeSlack, method: &str, token: Option<&str>, body: Value) -> Answer {
    let mut request = reqwest::Client::new()
        .post(format!("{}/{method}", slack.api_url()))
        .json(&body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.expect("request reaches the fake");
    let status = response.status();
    let retry_after = response
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().to_string());
    let text = response.text().await.unwrap();
    let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
    Answer {
        status,
        retry_after,
        body,
    }
}

async fn bot(slack: &FakeSlack, method: &str, body: Value) -> Value {
    call(slack, method, Some(BOT), body).await.body
}

#[tokio::test]
async fn chat_post_message_returns_increasing_ts_and_is_recorded() {
    let slack = FakeSlack::start().await;
    let first = bot(
        &slack,
        "chat.postMessage",
        json!({"channel": "C04PLATENG", "text": "one"}),
    )
    .await;
    let second = bot(
        &slack,
        "chat.postMessage",
        json!({"channel": "C04PLATENG", "text": "two", "thread_ts": first["ts"]}),
    )
    .await;

    assert_eq!(first["ok"], true);
    assert_eq!(first["ts"], "1700000000.000100");
    assert_eq!(second["ts"], "1700000000.000200");
    assert_eq!(first["channel"], "C04PLATENG");
    assert_eq!(first["message"]["text"], "one");
    assert_eq!(first["message"]["user"], "U07BOTPLT9");
    assert_eq!(first["message"]["bot_id"], "B07BOTPLT9");
    assert_eq!(second["message"]["thread_ts"], "1700000000.000100");

    let calls = slack.successful_calls_to("chat.postMessage");
    assert_eq!(calls.len(), 2);
    assert_eq!(calls[0].body["text"], "one");
    assert_eq!(calls[0].token.as_deref(), Some(BOT));
    assert!(calls[0].at <= calls[1].at);
    let messages = slack.messages();
    assert_eq!(messages.len(), 2);
    assert_eq!(messages[1].thread_ts.as_deref(), Some("1700000000.000100"));
    assert!(!messages[0].ephemeral && !messages[0].updated);
}

#[tokio::test]
async fn a_post_to_a_user_id_lands_in_that_users_dm() {
    let slack = FakeSlack::start().await;
    let answer = bot(
        &slack,
        "chat.postMessage",
        json!({"channel": "U05QRST6UV", "text": "hi"}),
    )
    .await;
    assert_eq!(answer["channel"], "D05QRST6UV");
    assert_eq!(slack.messages()[0].channel, "D05QRST6UV");
}

#[tokio::test]
async fn a_form_body_is_decoded_with_blocks_as_json() {
    let slack = FakeSlack::start().await;
    let blocks = json!([{"type": "section", "text": {"type": "mrkdwn", "text": "*hi*"}}]);
    let form = [
        ("channel", "C04PLATENG".to_string()),
        ("text", "fallback".to_string()),
        ("blocks", blocks.to_string()),
    ];
    let answer: Value = reqwest::Client::new()
        .post(format!("{}/chat.postMessage", slack.api_url()))
        .bearer_auth(BOT)
        .form(&form)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(answer["ok"], true);
    assert_eq!(answer["message"]["blocks"], blocks);
    assert_eq!(slack.calls()[0].body["blocks"], blocks);
    assert_eq!(slack.messages()[0].blocks, blocks);
}

#[tokio::test]
async fn a_call_without_the_right_token_is_not_authed() {
    let slack = FakeSlack::start().await;
    let missing = call(
        &slack,
        "chat.postMessage",
        None,
        json!({"channel": "C1", "text": "x"}),
    )
    .await;
    assert_eq!(missing.status, StatusCode::OK);
    assert_eq!(missing.body, json!({"ok": false, "error": "not_authed"}));

    let app_token = call(
        &slack,
        "chat.postMessage",
        Some(APP),
        json!({"channel": "C1", "text": "x"}),
    )
    .await;
    assert_eq!(app_token.body["error"], "not_authed");
    let bot_on_socket = call(&slack, "apps.connections.open", Some(BOT), json!({})).await;
    assert_eq!(bot_on_socket.body["error"], "not_authed");
    let app_on_socket = call(&slack, "apps.connections.open", Some(APP), json!({})).await;
    assert_eq!(app_on_socket.body["ok"], true);

    let outcomes: Vec<String> = slack.calls().into_iter().map(|c| c.outcome).collect();
    assert_eq!(outcomes, ["not_authed", "not_authed", "not_authed", "ok"]);
    assert!(slack.messages().is_empty());
    assert_eq!(slack.socket_connections_opened(), 1);
}

#[tokio::test]
async fn queued_failures_are_served_in_order_then_the_method_recovers() {
    let slack = FakeSlack::start().await;
    slack.fail_next(
        "chat.postMessage",
        [
            Failure::RateLimited {
                retry_after_secs: 7,
            },
            Failure::HttpStatus(500),
            Failure::SlackError("channel_not_found".into()),
        ],
    );
    let body = json!({"channel": "C04PLATENG", "text": "x"});

    let limited = call(&slack, "chat.postMessage", Some(BOT), body.clone()).await;
    assert_eq!(limited.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(limited.retry_after.as_deref(), Some("7"));
    assert_eq!(limited.body, json!({"ok": false, "error": "ratelimited"}));

    let broken = call(&slack, "chat.postMessage", Some(BOT), body.clone()).await;
    assert_eq!(broken.status, StatusCode::INTERNAL_SERVER_ERROR);

    let refused = call(&slack, "chat.postMessage", Some(BOT), body.clone()).await;
    assert_eq!(refused.status, StatusCode::OK);
    assert_eq!(refused.body["error"], "channel_not_found");

    // Other methods were never affected.
    assert_eq!(bot(&slack, "auth.test", json!({})).await["ok"], true);
    let recovered = call(&slack, "chat.postMessage", Some(BOT), body).await;
    assert_eq!(recovered.body["ok"], true);

    let outcomes: Vec<String> = slack
        .calls_to("chat.postMessage")
        .into_iter()
        .map(|c| c.outcome)
        .collect();
    assert_eq!(
        outcomes,
        ["ratelimited", "http_500", "channel_not_found", "ok"]
    );
    assert_eq!(slack.successful_calls_to("chat.postMessage").len(), 1);
    assert_eq!(slack.messages().len(), 1, "failed posts store nothing");
}

#[tokio::test]
async fn a_delay_answers_normally_but_late() {
    let slack = FakeSlack::start().await;
    slack.fail_next("auth.test", [Failure::Delay(Duration::from_millis(300))]);
    let started = Instant::now();
    let answer = bot(&slack, "auth.test", json!({})).await;
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert_eq!(answer["ok"], true);
    assert_eq!(answer["team_id"], "T0A1B2C3D4");
    let started = Instant::now();
    bot(&slack, "auth.test", json!({})).await;
    assert!(started.elapsed() < Duration::from_millis(300));
}

#[tokio::test]
async fn failures_after_doing_store_the_post_yet_answer_late_or_with_an_error() {
    let slack = FakeSlack::start().await;
    slack.fail_next(
        "chat.postMessage",
        [
            Failure::StatusAfterDoing(500),
            Failure::AnswerLost(Duration::from_secs(30)),
        ],
    );
    let body = json!({"channel": "C04PLATENG", "text": "x"});
    let broken = call(&slack, "chat.postMessage", Some(BOT), body.clone()).await;
    assert_eq!(broken.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(
        slack.messages().len(),
        1,
        "the post was stored all the same"
    );

    let held = reqwest::Client::new()
        .post(format!("{}/chat.postMessage", slack.api_url()))
        .bearer_auth(BOT)
        .json(&body)
        .timeout(Duration::from_millis(300))
        .send()
        .await;
    assert!(held.is_err(), "no answer within the caller's patience");
    assert_eq!(slack.messages().len(), 2, "yet Slack took it");
    assert_eq!(slack.calls_to("chat.postMessage")[0].outcome, "http_500");
}

#[tokio::test]
async fn history_lists_top_level_posts_newest_first_in_pages_with_metadata_on_request() {
    let slack = FakeSlack::start().await;
    let mut posted = Vec::new();
    for i in 0..5 {
        let answer = bot(
            &slack,
            "chat.postMessage",
            json!({"channel": "C1", "text": format!("m{i}"),
                   "metadata": {"event_type": "t", "event_payload": {"n": i}}}),
        )
        .await;
        posted.push(answer["ts"].as_str().unwrap().to_string());
    }
    let reply = bot(
        &slack,
        "chat.postMessage",
        json!({"channel": "C1", "text": "in thread", "thread_ts": posted[0]}),
    )
    .await;
    bot(
        &slack,
        "chat.postMessage",
        json!({"channel": "C2", "text": "elsewhere"}),
    )
    .await;
    bot(
        &slack,
        "chat.postEphemeral",
        json!({"channel": "C1", "user": "U1", "text": "only you"}),
    )
    .await;

    let first = bot(
        &slack,
        "conversations.history",
        json!({"channel": "C1", "limit": 3}),
    )
    .await;
    let ts = |page: &Value| -> Vec<String> {
        page["messages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["ts"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(
        ts(&first),
        [posted[4].as_str(), posted[3].as_str(), posted[2].as_str()]
    );
    assert_eq!(first["has_more"], true);
    assert!(first["messages"][0].get("metadata").is_none());
    let cursor = first["response_metadata"]["next_cursor"].clone();
    let second = bot(
        &slack,
        "conversations.history",
        json!({"channel": "C1", "limit": 3, "cursor": cursor, "include_all_metadata": true}),
    )
    .await;
    assert_eq!(ts(&second), [posted[1].as_str(), posted[0].as_str()]);
    assert_eq!(second["has_more"], false);
    assert_eq!(second["messages"][1]["metadata"]["event_payload"]["n"], 0);

    let bounded = bot(
        &slack,
        "conversations.history",
        json!({"channel": "C1", "oldest": posted[1], "latest": posted[3], "inclusive": true}),
    )
    .await;
    assert_eq!(
        ts(&bounded),
        [posted[3].as_str(), posted[2].as_str(), posted[1].as_str()]
    );

    let thread = bot(
        &slack,
        "conversations.replies",
        json!({"channel": "C1", "ts": posted[0]}),
    )
    .await;
    assert_eq!(
        ts(&thread),
        [posted[0].clone(), reply["ts"].as_str().unwrap().to_string()]
    );
}

#[tokio::test]
async fn a_persons_message_is_listed_by_history_as_theirs_but_is_not_a_bot_post() {
    let slack = FakeSlack::start().await;
    slack.add_person_message("C1", "1700000001.000100", None, "U1", "help & such");
    let page = bot(&slack, "conversations.history", json!({"channel": "C1"})).await;
    let listed = &page["messages"][0];
    assert_eq!(listed["user"], "U1");
    assert_eq!(listed["text"], "help & such");
    assert!(listed.get("bot_id").is_none());
    assert!(slack.messages().is_empty(), "the bot posted nothing");
}

#[tokio::test]
async fn a_permanent_error_lasts_until_lifted() {
    let slack = FakeSlack::start().await;
    slack.set_slack_error_always("views.publish", Some("not_enabled".into()));
    let home = json!({"user_id": "U05QRST6UV", "view": {"type": "home", "blocks": []}});
    for _ in 0..2 {
        assert_eq!(
            bot(&slack, "views.publish", home.clone()).await["error"],
            "not_enabled"
        );
    }
    slack.set_slack_error_always("views.publish", None);
    let published = bot(&slack, "views.publish", home).await;
    assert_eq!(published["ok"], true);
    assert_eq!(published["view"]["type"], "home");
    assert_eq!(slack.views()[0].user_id.as_deref(), Some("U05QRST6UV"));
}

#[tokio::test]
async fn chat_update_changes_the_stored_message() {
    let slack = FakeSlack::start().await;
    let posted = bot(
        &slack,
        "chat.postMessage",
        json!({"channel": "C04PLATENG", "text": "open"}),
    )
    .await;
    let ts = posted["ts"].as_str().unwrap();
    let blocks = json!([{"type": "divider"}]);
    let updated = bot(
        &slack,
        "chat.update",
        json!({"channel": "C04PLATENG", "ts": ts, "text": "claimed", "blocks": blocks}),
    )
    .await;
    assert_eq!(updated["ok"], true);
    assert_eq!(updated["ts"], ts);
    assert_eq!(updated["text"], "claimed");

    let message = &slack.messages()[0];
    assert_eq!(message.text, "claimed");
    assert_eq!(message.blocks, blocks);
    assert!(message.updated);

    let unknown = bot(
        &slack,
        "chat.update",
        json!({"channel": "C04PLATENG", "ts": "1.2", "text": "x"}),
    )
    .await;
    assert_eq!(unknown["error"], "message_not_found");
}

#[tokio::test]
async fn views_open_needs_a_trigger_and_returns_a_full_view() {
    let slack = FakeSlack::start().await;
    let view = json!({
        "type": "modal",
        "callback_id": "request",
        "title": {"type": "plain_text", "text": "Request"},
        "blocks": [],
        "private_metadata": "{\"channel\":\"C04PLATENG\"}"
    });
    let no_trigger = bot(&slack, "views.open", json!({"view": view})).await;
    assert_eq!(no_trigger["error"], "invalid_arguments");

    let opened = bot(
        &slack,
        "views.open",
        json!({"trigger_id": "123.456", "view": view}),
    )
    .await;
    let stored = &opened["view"];
    assert!(stored["id"].as_str().unwrap().starts_with('V'));
    assert_eq!(stored["team_id"], "T0A1B2C3D4");
    assert_eq!(stored["callback_id"], "request");
    assert_eq!(stored["title"]["text"], "Request");
    assert_eq!(stored["state"], json!({"values": {}}));
    assert_eq!(stored["private_metadata"], view["private_metadata"]);
    assert_eq!(slack.views()[0].trigger_id.as_deref(), Some("123.456"));

    let stale = bot(
        &slack,
        "views.update",
        json!({"view_id": stored["id"], "hash": "old", "view": view}),
    )
    .await;
    assert_eq!(stale["error"], "hash_conflict");
    let fresh = bot(
        &slack,
        "views.update",
        json!({"view_id": stored["id"], "hash": stored["hash"], "view": view}),
    )
    .await;
    assert_eq!(fresh["view"]["id"], stored["id"]);
    assert_ne!(fresh["view"]["hash"], stored["hash"]);
}

#[tokio::test]
async fn small_methods_answer_like_slack() {
    let slack = FakeSlack::start().await;
    let dm = bot(&slack, "conversations.open", json!({"users": "U05QRST6UV"})).await;
    assert_eq!(dm["channel"]["id"], "D05QRST6UV");

    let reaction =
        json!({"channel": "C04PLATENG", "timestamp": "1700000000.000100", "name": "eyes"});
    assert_eq!(
        bot(&slack, "reactions.add", reaction.clone()).await["ok"],
        true
    );
    assert_eq!(
        bot(&slack, "reactions.add", reaction).await["error"],
        "already_reacted"
    );
    assert_eq!(slack.reactions().len(), 1);

    // users.info is a GET with query parameters in slack-morphism.
    let user: Value = reqwest::Client::new()
        .get(format!("{}/users.info?user=U05QRST6UV", slack.api_url()))
        .bearer_auth(BOT)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(user["user"]["name"], "alice");
    assert!(user["user"]["tz"].is_string());

    let ephemeral = bot(
        &slack,
        "chat.postEphemeral",
        json!({"channel": "C04PLATENG", "user": "U06WXYZ7AB", "text": "only you"}),
    )
    .await;
    assert!(ephemeral["message_ts"].is_string());
    let stored = &slack.messages()[0];
    assert!(stored.ephemeral);
    assert_eq!(stored.user.as_deref(), Some("U06WXYZ7AB"));

    assert_eq!(
        bot(&slack, "team.info", json!({})).await,
        json!({"ok": true})
    );
    assert_eq!(slack.calls_to("team.info").len(), 1);
}

#[tokio::test]
async fn a_response_url_post_is_recorded_and_stored_as_ephemeral() {
    let slack = FakeSlack::start().await;
    let url = slack.response_url_for("cmd-1");
    assert!(url.ends_with("/response/cmd-1"));
    let response = reqwest::Client::new()
        .post(&url)
        .json(&json!({"response_type": "ephemeral", "text": "Got it"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let calls = slack.successful_calls_to("response_url");
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].body["text"], "Got it");
    let message = &slack.messages()[0];
    assert_eq!(
        (message.channel.as_str(), message.text.as_str()),
        ("response_url", "Got it")
    );
    assert!(message.ephemeral);
}

#[tokio::test]
async fn wait_for_returns_once_enough_calls_succeeded_and_gives_up_at_the_timeout() {
    let slack = FakeSlack::start().await;
    let poster = slack.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(100)).await;
        for text in ["a", "b"] {
            bot(
                &poster,
                "chat.postMessage",
                json!({"channel": "C1", "text": text}),
            )
            .await;
        }
    });
    let started = Instant::now();
    let calls = slack.wait_for("chat.postMessage", 2, WAIT).await;
    assert_eq!(calls.len(), 2);
    assert!(started.elapsed() < WAIT);

    let few = slack
        .wait_for("chat.postMessage", 3, Duration::from_millis(200))
        .await;
    assert_eq!(few.len(), 2);
    slack.clear();
    assert!(slack.calls().is_empty());
    assert_eq!(slack.messages().len(), 2, "clear keeps the message store");
}

/// The responses decode into slack-morphism's typed responses (every required field present).
#[tokio::test]
async fn a_typed_client_can_decode_every_answer() {
    use slack_morphism::api::*;
    use slack_morphism::prelude::SlackBasicChannelInfo;

    let slack = FakeSlack::start().await;
    let posted = bot(
        &slack,
        "chat.postMessage",
        json!({"channel": "C1", "text": "x"}),
    )
    .await;
    serde_json::from_value::<SlackApiChatPostMessageResponse>(posted.clone()).unwrap();
    let updated = bot(
        &slack,
        "chat.update",
        json!({"channel": "C1", "ts": posted["ts"], "text": "y"}),
    )
    .await;
    serde_json::from_value::<SlackApiChatUpdateResponse>(updated).unwrap();
    let ephemeral = bot(
        &slack,
        "chat.postEphemeral",
        json!({"channel": "C1", "user": "U1", "text": "z"}),
    )
    .await;
    serde_json::from_value::<SlackApiChatPostEphemeralResponse>(ephemeral).unwrap();
    let view = json!({"type": "modal", "title": {"type": "plain_text", "text": "T"}, "blocks": []});
    let opened = bot(
        &slack,
        "views.open",
        json!({"trigger_id": "1.2", "view": view}),
    )
    .await;
    serde_json::from_value::<SlackApiViewsOpenResponse>(opened).unwrap();
    let home = json!({"type": "home", "blocks": []});
    let published = bot(
        &slack,
        "views.publish",
        json!({"user_id": "U1", "view": home}),
    )
    .await;
    serde_json::from_value::<SlackApiViewsPublishResponse>(published).unwrap();
    let dm = bot(&slack, "conversations.open", json!({"users": "U1"})).await;
    serde_json::from_value::<SlackApiConversationsOpenResponse<SlackBasicChannelInfo>>(dm).unwrap();
    let auth = bot(&slack, "auth.test", json!({})).await;
    serde_json::from_value::<SlackApiAuthTestResponse>(auth).unwrap();
    let user = bot(&slack, "users.info", json!({"user": "U05QRST6UV"})).await;
    serde_json::from_value::<SlackApiUsersInfoResponse>(user).unwrap();
    let members = bot(&slack, "usergroups.users.list", json!({"usergroup": "S1"})).await;
    serde_json::from_value::<SlackApiUserGroupsUsersListResponse>(members).unwrap();
    let link = call(&slack, "apps.connections.open", Some(APP), json!({}))
        .await
        .body;
    serde_json::from_value::<SlackApiAppsConnectionOpenResponse>(link).unwrap();
}

type Client =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn connect(slack: &FakeSlack) -> Client {
    let opened = call(slack, "apps.connections.open", Some(APP), json!({}))
        .await
        .body;
    let url = opened["url"].as_str().unwrap();
    assert!(url.starts_with("ws://127.0.0.1:") && url.contains("/link/?ticket="));
    let (client, _) = tokio_tungstenite::connect_async(url).await.unwrap();
    client
}

/// The next text frame from the server, as JSON.
async fn next_json(client: &mut Client) -> Value {
    loop {
        let frame = tokio::time::timeout(WAIT, client.next())
            .await
            .expect("a frame in time")
            .expect("stream open")
            .expect("frame ok");
        if let WsMessage::Text(text) = frame {
            return serde_json::from_str(text.as_str()).unwrap();
        }
    }
}

#[tokio::test]
async fn a_socket_client_gets_hello_then_an_envelope_and_its_ack_is_seen() {
    let slack = FakeSlack::start().await;
    let mut client = connect(&slack).await;
    let hello = next_json(&mut client).await;
    assert_eq!(hello["type"], "hello");
    assert_eq!(hello["connection_info"]["app_id"], "A07PLTFM2QX");
    // What slack-morphism's (unexported) SlackSocketModeHelloEvent requires.
    assert_eq!(hello["num_connections"], 1);
    assert!(hello["debug_info"]["host"].is_string());
    assert!(slack.socket_wait_connected(WAIT).await);
    assert_eq!(slack.socket_connected_count(), 1);

    let envelope = json!({
        "envelope_id": "3f9b1c2a-7d4e-4f6a-9b8c-1d2e3f4a5b6c",
        "type": "slash_commands",
        "accepts_response_payload": true,
        "payload": {"command": "/platform", "text": "request CI is red", "user_id": "U05QRST6UV"}
    });
    assert!(slack.socket_send(envelope.clone()).await);
    let received = next_json(&mut client).await;
    assert_eq!(received, envelope);

    let id = "3f9b1c2a-7d4e-4f6a-9b8c-1d2e3f4a5b6c";
    assert_eq!(
        slack.socket_next_ack(id, Duration::from_millis(100)).await,
        None
    );
    let ack = json!({"envelope_id": id, "payload": {"text": "ok"}});
    client
        .send(WsMessage::Text(ack.to_string().into()))
        .await
        .unwrap();
    assert_eq!(slack.socket_next_ack(id, WAIT).await, Some(ack.clone()));
    assert_eq!(slack.socket_frames_received(), vec![ack]);
    assert_eq!(
        slack.socket_next_ack(id, Duration::from_millis(50)).await,
        None
    );
}

#[tokio::test]
async fn a_disconnect_frame_is_sent_and_the_socket_closes_while_a_new_one_takes_over() {
    let slack = FakeSlack::start().await;
    let mut client = connect(&slack).await;
    next_json(&mut client).await;
    assert!(slack.socket_wait_connected(WAIT).await);

    assert!(slack.socket_disconnect("refresh_requested").await);
    let frame = next_json(&mut client).await;
    assert_eq!(frame["type"], "disconnect");
    assert_eq!(frame["reason"], "refresh_requested");
    assert_eq!(frame["debug_info"]["host"], "fake");

    assert_eq!(
        slack.socket_connected_count(),
        0,
        "a warned socket no longer counts"
    );
    assert!(!slack.socket_send(json!({"envelope_id": "lost"})).await);

    // The client reconnects; envelopes now go to the new socket while the old one drains.
    let mut fresh = connect(&slack).await;
    next_json(&mut fresh).await;
    assert!(slack.socket_wait_connected(WAIT).await);
    assert!(slack.socket_send(json!({"envelope_id": "e-2"})).await);
    assert_eq!(next_json(&mut fresh).await["envelope_id"], "e-2");

    let closing = tokio::time::timeout(WAIT, client.next()).await.unwrap();
    assert!(
        matches!(closing, Some(Ok(WsMessage::Close(_)))),
        "{closing:?}"
    );
    assert_eq!(slack.socket_connected_count(), 1);
    assert_eq!(slack.socket_connections_opened(), 2);
}

#[tokio::test]
async fn pings_are_answered_and_a_drop_ends_the_stream_without_a_close_frame() {
    let slack = FakeSlack::start().await;
    let mut client = connect(&slack).await;
    next_json(&mut client).await;
    client
        .send(WsMessage::Ping(b"are-you-there".to_vec().into()))
        .await
        .unwrap();
    let pong = tokio::time::timeout(WAIT, client.next()).await.unwrap();
    assert!(matches!(pong, Some(Ok(WsMessage::Pong(ref p))) if &p[..] == b"are-you-there"));

    assert!(slack.socket_drop().await);
    assert_eq!(slack.socket_connected_count(), 0);
    let end = tokio::time::timeout(WAIT, client.next()).await.unwrap();
    assert!(!matches!(end, Some(Ok(WsMessage::Close(_)))), "{end:?}");
    assert!(!slack.socket_send(json!({"type": "hello"})).await);
}

#[tokio::test]
async fn an_unknown_ticket_is_refused() {
    let slack = FakeSlack::start().await;
    let url = format!("ws://{}/link/?ticket=9", slack.addr());
    assert!(tokio_tungstenite::connect_async(url).await.is_err());
}

#[tokio::test]
async fn shutdown_stops_the_server() {
    let slack = FakeSlack::start().await;
    let url = slack.api_url();
    let mut client = connect(&slack).await;
    next_json(&mut client).await;
    slack.shutdown().await;
    let refused = reqwest::Client::new()
        .post(format!("{url}/auth.test"))
        .bearer_auth(BOT)
        .send()
        .await;
    assert!(refused.is_err());
    let end = tokio::time::timeout(WAIT, client.next()).await.unwrap();
    assert!(
        matches!(end, Some(Ok(WsMessage::Close(_))) | None),
        "{end:?}"
    );
}
