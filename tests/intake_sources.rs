//! Every way in, as Slack delivers it: help-channel messages, the ticket emoji, the message
//! shortcut; the message kinds that must never become tickets; one message, one ticket.

mod common;

use common::*;
use serde_json::{json, Value};
use std::time::Duration;

const HELP: &str = "C01HELP";

#[tokio::test]
async fn a_top_level_message_in_a_help_channel_becomes_a_ticket_answered_in_its_thread() {
    let app = spawn_app().await;
    let resp = app
        .event(
            &message(
                HELP,
                ALICE,
                "1700000100.000100",
                "Kafka topic creation fails with ACL error",
                None,
            ),
            None,
        )
        .await;
    assert_eq!(resp.status(), 200);
    assert_eq!(
        app.text(
            "select source || '|' || requester || '|' || source_ts || '|' || title from tickets"
        )
        .await
        .unwrap(),
        "message|U05QRST6UV|1700000100.000100|Kafka topic creation fails with ACL error"
    );
    let posts = app
        .fake
        .wait_for("chat.postMessage", 2, Duration::from_secs(5))
        .await;
    let reply = posts
        .iter()
        .find(|c| c.body["channel"] == HELP)
        .expect("a thread reply");
    assert_eq!(reply.body["thread_ts"], "1700000100.000100");
    assert!(reply.body["text"].as_str().unwrap().contains("PLAT-1"));
}

#[tokio::test]
async fn messages_that_are_not_requests_are_ignored() {
    let app = spawn_app().await;
    let mut bot = message(
        HELP,
        "U07BOTPLT9",
        "1700000100.000200",
        "I am the bot talking",
        None,
    );
    bot["event"]["bot_id"] = json!("B07BOTPLT9");
    let mut edit = envelope(
        json!({"type": "message", "subtype": "message_changed", "channel": HELP, "hidden": true,
        "message": {"type": "message", "user": ALICE, "text": "edited text of an unknown message", "ts": "1700000100.000300"}, "ts": "1700000100.000301"}),
    );
    edit["event"]["event_ts"] = json!("1700000100.000301");
    let mut join = message(
        HELP,
        ALICE,
        "1700000100.000400",
        "<@U05QRST6UV> has joined the channel",
        None,
    );
    join["event"]["subtype"] = json!("channel_join");
    let cases = vec![
        ("a bot's message", bot),
        ("an edit", edit),
        (
            "a thread reply",
            message(
                HELP,
                ALICE,
                "1700000100.000500",
                "and another thing about that deploy",
                Some("1700000000.000001"),
            ),
        ),
        ("a channel join", join),
        (
            "a one-word thanks",
            message(HELP, ALICE, "1700000100.000600", "thanks!", None),
        ),
        (
            "a +1",
            message(HELP, ALICE, "1700000100.000700", "+1", None),
        ),
        (
            "a message outside help channels",
            message(
                "C02PAYMENTS",
                ALICE,
                "1700000100.000800",
                "the payments deploy is stuck",
                None,
            ),
        ),
    ];
    for (what, event) in cases {
        assert_eq!(app.event(&event, None).await.status(), 200, "{what}");
        assert_eq!(
            app.scalar("select count(*) from tickets").await,
            0,
            "{what} made a ticket"
        );
    }
    assert_eq!(
        app.scalar("select count(*) from outbox").await,
        0,
        "nothing was queued for Slack"
    );
    // A later message that is filed: once its answers are delivered, anything the ignored
    // ones had set off would have been delivered before them.
    let filed = message(
        HELP,
        ALICE,
        "1700000100.000950",
        "the staging deploy is stuck since noon",
        None,
    );
    assert_eq!(app.event(&filed, None).await.status(), 200);
    app.settled().await;
    let posts = app.fake.calls_to("chat.postMessage");
    assert!(!posts.is_empty(), "the filed message is answered");
    for post in &posts {
        let about_it = post.body["thread_ts"] == "1700000100.000950"
            || post.body["text"]
                .as_str()
                .is_some_and(|t| t.starts_with("PLAT-1 "));
        assert!(
            about_it,
            "a post not about the filed message: {}",
            post.body
        );
    }
}

#[tokio::test]
async fn the_same_message_under_three_event_ids_is_one_ticket() {
    let app = spawn_app().await;
    for _ in 0..3 {
        // `message` gives every delivery a new event id; the message (channel, ts) is the same.
        let event = message(
            HELP,
            ALICE,
            "1700000100.000900",
            "Grafana dashboards are empty since noon",
            None,
        );
        assert_eq!(app.event(&event, None).await.status(), 200);
    }
    assert_eq!(app.scalar("select count(*) from tickets").await, 1);
    app.drain().await;
    assert_eq!(
        app.fake.successful_calls_to("chat.postMessage").len(),
        2,
        "one card, one thread reply"
    );
}

fn reaction(user: &str, name: &str, channel: &str, ts: &str, author: &str) -> Value {
    envelope(
        json!({"type": "reaction_added", "user": user, "reaction": name,
        "item": {"type": "message", "channel": channel, "ts": ts}, "item_user": author, "event_ts": "1700000300.000500"}),
    )
}

#[tokio::test]
async fn the_ticket_emoji_files_the_message_for_its_author_once() {
    let app = spawn_app().await;
    app.fake.set_response(
        "conversations.history",
        Some(json!({"messages": [{"type": "message", "user": ALICE, "text": "Terraform plan hangs on the VPC module", "ts": "1700000400.000100"}], "has_more": false})),
    );
    // A different emoji does nothing.
    app.event(
        &reaction(
            "U06WXYZ7AB",
            "eyes",
            "C02PAYMENTS",
            "1700000400.000100",
            ALICE,
        ),
        None,
    )
    .await;
    assert_eq!(app.scalar("select count(*) from tickets").await, 0);

    let resp = app
        .event(
            &reaction(
                "U06WXYZ7AB",
                "ticket",
                "C02PAYMENTS",
                "1700000400.000100",
                ALICE,
            ),
            None,
        )
        .await;
    assert_eq!(resp.status(), 200);
    assert_eq!(
        app.text(
            "select source || '|' || requester || '|' || filed_by || '|' || title from tickets"
        )
        .await
        .unwrap(),
        "reaction|U05QRST6UV|U06WXYZ7AB|Terraform plan hangs on the VPC module"
    );
    let history = app.fake.successful_calls_to("conversations.history");
    assert_eq!(history[0].body["channel"], "C02PAYMENTS");

    // Another :ticket: on the same message (by someone else) makes no second ticket.
    app.event(
        &reaction(ALICE, "ticket", "C02PAYMENTS", "1700000400.000100", ALICE),
        None,
    )
    .await;
    assert_eq!(app.scalar("select count(*) from tickets").await, 1);
    app.drain().await;
    let reply: Vec<_> = app
        .fake
        .successful_calls_to("chat.postMessage")
        .into_iter()
        .filter(|c| c.body["channel"] == "C02PAYMENTS")
        .collect();
    assert_eq!(reply.len(), 1);
    assert_eq!(reply[0].body["thread_ts"], "1700000400.000100");
}

#[tokio::test]
async fn the_ticket_emoji_on_a_message_that_already_has_a_ticket_makes_no_other() {
    let app = spawn_app().await;
    app.event(
        &message(
            HELP,
            ALICE,
            "1700000500.000100",
            "Need more CPU quota for team payments",
            None,
        ),
        None,
    )
    .await;
    app.fake.set_response(
        "conversations.history",
        Some(json!({"messages": [{"type": "message", "user": ALICE, "text": "Need more CPU quota for team payments", "ts": "1700000500.000100"}]})),
    );
    app.event(
        &reaction("U06WXYZ7AB", "ticket", HELP, "1700000500.000100", ALICE),
        None,
    )
    .await;
    assert_eq!(app.scalar("select count(*) from tickets").await, 1);
    assert!(
        app.fake.calls_to("conversations.history").is_empty(),
        "no need to even read it"
    );
}

#[tokio::test]
async fn the_message_shortcut_opens_a_prefilled_form_that_files_for_the_author() {
    let app = spawn_app().await;
    let payload = json!({
        "type": "message_action", "callback_id": "file_platform_request", "trigger_id": "1.2.shortcut",
        "team": {"id": "T0A1B2C3D4"}, "response_url": "https://hooks.slack.com/app/T0A1B2C3D4/1/x",
        "user": {"id": "U06WXYZ7AB"}, "channel": {"id": "C02PAYMENTS"},
        "message": {"type": "message", "user": ALICE, "ts": "1700000600.000100", "text": "Our canary keeps failing health checks\nsince the mesh upgrade"},
    });
    assert_eq!(app.interaction(&payload).await.status(), 200);
    let opened = app.fake.successful_calls_to("views.open");
    assert_eq!(opened.len(), 1);
    let view = opened[0].body["view"].clone();
    assert_eq!(
        view["blocks"][0]["element"]["initial_value"],
        "Our canary keeps failing health checks"
    );

    let mut sub = fixture_json("view_submission.json");
    sub["user"]["id"] = json!("U06WXYZ7AB");
    sub["view"]["callback_id"] = view["callback_id"].clone();
    sub["view"]["private_metadata"] = view["private_metadata"].clone();
    sub["view"]["state"]["values"] = json!({
        "title_block": {"title_input": {"type": "plain_text_input", "value": "Our canary keeps failing health checks"}},
        "description_block": {"description_input": {"type": "plain_text_input", "value": "since the mesh upgrade"}},
        "urgency_block": {"urgency_select": {"type": "static_select", "selected_option": {"value": "high", "text": {"type": "plain_text", "text": "High"}}}},
        "link_block": {"link_input": {"type": "plain_text_input", "value": null}},
    });
    let resp = app.interaction(&sub).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(
        app.text("select requester || '|' || filed_by || '|' || channel || '|' || source_ts from tickets").await.unwrap(),
        "U05QRST6UV|U06WXYZ7AB|C02PAYMENTS|1700000600.000100"
    );
    // The same message cannot be filed twice, however it comes in.
    app.fake.set_response("conversations.history", Some(json!({"messages": [{"type": "message", "user": ALICE, "text": "x", "ts": "1700000600.000100"}]})));
    app.event(
        &reaction(ALICE, "ticket", "C02PAYMENTS", "1700000600.000100", ALICE),
        None,
    )
    .await;
    assert_eq!(app.scalar("select count(*) from tickets").await, 1);
}

#[tokio::test]
async fn a_similar_request_is_flagged_as_a_likely_duplicate_and_can_be_merged() {
    let app = spawn_app().await;
    let first = app
        .command_json(
            ALICE,
            "C02PAYMENTS",
            "request staging deploy pipeline is stuck on the migrate step",
        )
        .await;
    assert!(first["text"].as_str().unwrap().contains("PLAT-1"));
    let second = app
        .command_json(
            ALICE,
            "C02PAYMENTS",
            "request the staging deploy pipeline is stuck on migrate step again",
        )
        .await;
    let raw = second.to_string();
    assert!(
        raw.contains("looks like *PLAT-1*"),
        "the requester is told: {raw}"
    );
    assert!(
        raw.contains("\"value\":\"2:1\""),
        "with a merge button: {raw}"
    );
    app.drain().await;
    let card = app.latest_card("PLAT-2").unwrap().to_string();
    assert!(
        card.contains("Looks like *PLAT-1*"),
        "the card says so too: {card}"
    );
    // An unrelated request is not flagged.
    let third = app
        .command_json(
            ALICE,
            "C02PAYMENTS",
            "request please create a kafka topic for invoices",
        )
        .await;
    assert!(!third.to_string().contains("looks like"));

    // The requester merges it: PLAT-2 closes and points to PLAT-1.
    let resp = app
        .click(ALICE, "C02PAYMENTS", "ticket_merge", "b1", json!("2:1"))
        .await;
    assert_eq!(resp.status(), 200);
    assert_eq!(
        app.text("select status || '|' || merged_into from tickets where key = 'PLAT-2'")
            .await
            .unwrap(),
        "closed|1"
    );
    assert_eq!(
        app.scalar("select count(*) from ticket_events where ticket_id = 1 and kind = 'merged_in'")
            .await,
        1
    );
    let status = app
        .command_json(ALICE, "C02PAYMENTS", "status PLAT-2")
        .await;
    assert!(
        status["text"]
            .as_str()
            .unwrap()
            .contains("Merged into *PLAT-1*"),
        "{status}"
    );
}

#[tokio::test]
async fn a_triage_rule_sets_priority_and_category_and_the_card_says_why() {
    let app = spawn_app().await;
    let answer = app
        .command_json(
            ALICE,
            "C02PAYMENTS",
            "request Prod down in eu-west: checkout returns 502",
        )
        .await;
    let text = answer["text"].as_str().unwrap();
    assert!(text.contains("P1: matched 'prod down'"), "{text}");
    assert_eq!(
        app.text("select priority || '|' || category || '|' || triage_rule from tickets")
            .await
            .unwrap(),
        "P1|incident|rule 1"
    );
    let cards = app.intake_cards(1).await;
    assert!(cards[0].to_string().contains("P1: matched 'prod down'"));
    // P1 targets (15m / 4h, around the clock) apply from the start.
    let due = app
        .text("select first_response_due from tickets")
        .await
        .unwrap();
    let created = app.text("select created_at from tickets").await.unwrap();
    let gap = chrono::DateTime::parse_from_rfc3339(&due).unwrap()
        - chrono::DateTime::parse_from_rfc3339(&created).unwrap();
    assert_eq!(gap, chrono::Duration::minutes(15));
}

#[tokio::test]
async fn a_request_filed_by_command_hears_back_by_dm() {
    let app = spawn_app().await;
    app.command_json(
        ALICE,
        "C02PAYMENTS",
        "request new namespace for the ledger service",
    )
    .await;
    app.drain().await;
    app.click("U01ALICE", INTAKE, "ticket_ack", "b", json!("1"))
        .await;
    app.drain().await;
    let dms: Vec<_> = app
        .fake
        .successful_calls_to("chat.postMessage")
        .into_iter()
        .filter(|c| c.body["channel"] == ALICE)
        .collect();
    assert_eq!(dms.len(), 1);
    assert!(dms[0].body["text"]
        .as_str()
        .unwrap()
        .contains("picked up *PLAT-1*"));
    assert!(dms[0].body.get("thread_ts").is_none());
}
