//! Intake end to end: slash command, request form and mention each file a ticket, answer
//! the person and post the intake card; user text is escaped everywhere; repeats are once.

mod common;

use common::*;
use serde_json::{json, Value};
use std::time::Duration;

fn assert_escaped(body: &Value) {
    let raw = body.to_string();
    assert!(!raw.contains("<!channel>"), "unescaped mention in {raw}");
    assert!(!raw.contains(" & more"), "unescaped ampersand in {raw}");
}

#[tokio::test]
async fn a_request_becomes_a_ticket_an_ephemeral_answer_and_an_intake_card() {
    let app = spawn_app().await;
    let answer = app
        .command_json(
            ALICE,
            "C04PLATENG",
            "request The staging deploy is stuck\nsince 10:00, job 42",
        )
        .await;
    assert_eq!(answer["response_type"], "ephemeral");
    let text = answer["text"].as_str().unwrap();
    assert!(text.contains("PLAT-1"), "{text}");
    assert!(text.contains("First response by"), "targets shown: {text}");

    let row = app.text("select key || '|' || title || '|' || description || '|' || requester || '|' || channel || '|' || source || '|' || priority || '|' || category || '|' || status from tickets").await.unwrap();
    assert_eq!(row, "PLAT-1|The staging deploy is stuck|The staging deploy is stuck\nsince 10:00, job 42|U05QRST6UV|C04PLATENG|command|P3|general|open");
    assert_eq!(
        app.scalar("select count(*) from ticket_events where kind = 'created'")
            .await,
        1
    );

    let cards = app.intake_cards(1).await;
    assert_eq!(cards.len(), 1);
    let card = cards[0].to_string();
    for needle in [
        "PLAT-1",
        "The staging deploy is stuck",
        "<@U05QRST6UV>",
        "P3",
        "general",
        "Resolution",
    ] {
        assert!(card.contains(needle), "card lacks {needle}: {card}");
    }
    // The card's ts is recorded so later steps can update and thread it.
    let ts = platform_desk_wait(&app, "select card_ts from tickets where id = 1").await;
    let posted = app
        .fake
        .messages()
        .into_iter()
        .find(|m| m.channel == INTAKE)
        .unwrap();
    assert_eq!(ts, posted.ts);
}

async fn platform_desk_wait(app: &TestApp, sql: &str) -> String {
    for _ in 0..500 {
        if let Some(v) = app.text(sql).await {
            return v;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("no value for {sql}");
}

#[tokio::test]
async fn user_text_with_channel_pings_and_ampersands_is_escaped_in_everything_posted() {
    let app = spawn_app().await;
    let body = fixture("slash_command.form");
    let resp = app
        .post_signed(
            "/slack/commands",
            "application/x-www-form-urlencoded",
            body.into_bytes(),
            &[],
        )
        .await;
    assert_eq!(resp.status(), 200);
    let answer: Value = resp.json().await.unwrap();
    assert_escaped(&answer);
    assert!(answer["text"]
        .as_str()
        .unwrap()
        .contains("&lt;!channel&gt; &amp; more"));

    // The stored ticket keeps the text as typed; only what is echoed is escaped.
    assert_eq!(
        app.text("select title from tickets").await.unwrap(),
        "CI pipeline is failing on main <!channel> & more"
    );

    let cards = app.intake_cards(1).await;
    assert_eq!(cards.len(), 1);
    for call in app.fake.calls() {
        assert_escaped(&call.body);
    }
}

#[tokio::test]
async fn request_without_text_opens_the_form_and_a_valid_submission_files_it() {
    let app = spawn_app().await;
    let resp = app.command(ALICE, "C04PLATENG", "request").await;
    assert_eq!(resp.status(), 200);
    assert!(
        resp.text().await.unwrap().is_empty(),
        "no message when the form opens"
    );
    let opened = app.fake.successful_calls_to("views.open");
    assert_eq!(opened.len(), 1);
    assert_eq!(
        opened[0].body["trigger_id"],
        "6123456789012.7012345678901.0a1b2c3d4e5f"
    );
    let view = &opened[0].body["view"];
    assert_eq!(view["callback_id"], "platform_request");

    // An empty title and a bad link come back as errors in the modal; nothing is filed.
    let bad = submission(view, "   ", "ftp://nope", Some("high"));
    let resp = app.interaction(&bad).await;
    assert_eq!(resp.status(), 200);
    let answer: Value = resp.json().await.unwrap();
    assert_eq!(answer["response_action"], "errors");
    assert!(answer["errors"]["title_block"].is_string(), "{answer}");
    assert!(answer["errors"]["link_block"].is_string(), "{answer}");
    assert_eq!(app.scalar("select count(*) from tickets").await, 0);

    // Fixed, it files the ticket, closes the modal (empty 200) and tells the requester.
    let good = submission(
        view,
        "Need a new <!here> namespace & quota",
        "https://wiki/x",
        Some("high"),
    );
    let resp = app.interaction(&good).await;
    assert_eq!(resp.status(), 200);
    assert!(
        resp.text().await.unwrap().is_empty(),
        "an empty body closes the modal"
    );
    assert_eq!(
        app.text("select source || '|' || urgency || '|' || link || '|' || channel from tickets")
            .await
            .unwrap(),
        "modal|high|https://wiki/x|C04PLATENG"
    );
    app.intake_cards(1).await;
    let dm = app
        .fake
        .wait_for("chat.postMessage", 2, Duration::from_secs(5))
        .await;
    let to_alice: Vec<_> = dm.iter().filter(|c| c.body["channel"] == ALICE).collect();
    assert_eq!(to_alice.len(), 1, "the requester is told: {dm:?}");
    assert!(to_alice[0].body["text"]
        .as_str()
        .unwrap()
        .contains("PLAT-1"));
    for call in app.fake.calls() {
        assert!(
            !call.body.to_string().contains("<!here>"),
            "escaped: {}",
            call.body
        );
    }
}

fn submission(view: &Value, title: &str, link: &str, urgency: Option<&str>) -> Value {
    let mut payload = fixture_json("view_submission.json");
    payload["view"]["callback_id"] = json!("platform_request");
    payload["view"]["id"] = json!(format!("V{}", title.len()));
    payload["view"]["private_metadata"] = view["private_metadata"].clone();
    payload["view"]["state"]["values"] = json!({
        "title_block": {"title_input": {"type": "plain_text_input", "value": title}},
        "description_block": {"description_input": {"type": "plain_text_input", "value": "details"}},
        "urgency_block": {"urgency_select": {"type": "static_select", "selected_option": urgency.map(|u| json!({"value": u, "text": {"type": "plain_text", "text": u}}))}},
        "link_block": {"link_input": {"type": "plain_text_input", "value": link}},
    });
    payload["user"]["id"] = json!(ALICE);
    payload
}

#[tokio::test]
async fn a_mention_files_a_ticket_and_replies_in_its_thread() {
    let app = spawn_app().await;
    let event = fixture_json("event_app_mention.json");
    assert_eq!(app.event(&event, None).await.status(), 200);
    assert_eq!(
        app.text("select source || '|' || title || '|' || source_ts from tickets")
            .await
            .unwrap(),
        "mention|CI pipeline is failing on main|1700000200.000400"
    );
    let posts = app
        .fake
        .wait_for("chat.postMessage", 2, Duration::from_secs(5))
        .await;
    let reply: Vec<_> = posts
        .iter()
        .filter(|c| c.body["channel"] == "C04PLATENG")
        .collect();
    assert_eq!(reply.len(), 1);
    assert_eq!(reply[0].body["thread_ts"], "1700000200.000400");
    assert!(reply[0].body["text"].as_str().unwrap().contains("PLAT-1"));
    assert_eq!(app.intake_cards(1).await.len(), 1);
}

#[tokio::test]
async fn the_same_event_delivered_three_times_is_handled_once() {
    let app = spawn_app().await;
    let event = fixture_json("event_app_mention.json");
    for retry in [None, Some(1), Some(2)] {
        assert_eq!(app.event(&event, retry).await.status(), 200);
    }
    // The same message again under a new event id (Slack's rare server-side duplicate).
    let mut again = event.clone();
    again["event_id"] = json!("Ev06APPMNT99");
    assert_eq!(app.event(&again, None).await.status(), 200);

    assert_eq!(app.scalar("select count(*) from tickets").await, 1);
    assert_eq!(app.scalar("select count(*) from outbox").await, 2);
    app.settled().await;
    assert_eq!(
        app.fake.successful_calls_to("chat.postMessage").len(),
        2,
        "one card and one thread reply"
    );
}

#[tokio::test]
async fn an_empty_mention_gets_a_hint_once_and_no_ticket() {
    let app = spawn_app().await;
    let mut event = fixture_json("event_app_mention.json");
    event["event"]["text"] = json!("<@U07BOTPLT9>");
    app.event(&event, None).await;
    app.event(&event, Some(1)).await;
    let posts = app
        .fake
        .wait_for("chat.postMessage", 1, Duration::from_secs(5))
        .await;
    assert_eq!(posts.len(), 1);
    assert_eq!(posts[0].body["thread_ts"], "1700000200.000400");
    assert_eq!(app.scalar("select count(*) from tickets").await, 0);
}

#[tokio::test]
async fn concurrent_requests_get_distinct_keys_and_one_card_each() {
    let app = spawn_app().await;
    let mut handles = Vec::new();
    for i in 0..40 {
        let (http, base, secret) = (app.http.clone(), app.base.clone(), app.secret.clone());
        handles.push(tokio::spawn(async move {
            let body = serde_urlencoded::to_string([
                ("team_id", "T0A1B2C3D4"),
                ("user_id", ALICE),
                ("channel_id", "C1"),
                ("command", "/platform"),
                ("text", &format!("request thing {i}")),
                (
                    "response_url",
                    "https://hooks.slack.com/commands/T0A1B2C3D4/1/x",
                ),
                ("trigger_id", &format!("{i}.1.a")),
            ])
            .unwrap();
            let ts = chrono::Utc::now().timestamp().to_string();
            let sig = platform_desk::slack::signature::sign(&secret, &ts, body.as_bytes());
            let resp = http
                .post(format!("{base}/slack/commands"))
                .header("X-Slack-Request-Timestamp", ts)
                .header("X-Slack-Signature", sig)
                .body(body)
                .send()
                .await
                .unwrap();
            let answer: Value = resp.json().await.unwrap();
            answer["text"].as_str().unwrap().to_string()
        }));
    }
    let mut keys = std::collections::BTreeSet::new();
    for h in handles {
        let text = h.await.unwrap();
        let key = text.split('*').nth(1).unwrap().to_string();
        keys.insert(key);
    }
    assert_eq!(keys.len(), 40, "every answer names its own ticket");
    assert_eq!(app.scalar("select count(*) from tickets").await, 40);
    assert_eq!(app.scalar("select count(*) from outbox").await, 40);
    assert_eq!(app.intake_cards(40).await.len(), 40);
}
