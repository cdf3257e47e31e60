//! Working a ticket from Slack: every button and menu (and who may use it), threads,
//! waiting on the requester, deadlines that move, and asking the bot.

mod common;

use common::*;
use serde_json::{json, Value};

const TEAM: &str = "U01ALICE";
const TEAMMATE: &str = "U01BOB";
const STRANGER: &str = "U09STRANGE";
const HELP: &str = "C01HELP";
const TS: &str = "1700000700.000100";

/// A ticket filed from a help-channel message by ALICE (the requester).
async fn ticket(app: &TestApp) {
    app.event(
        &message(
            HELP,
            ALICE,
            TS,
            "Vault token renewal fails for the billing service",
            None,
        ),
        None,
    )
    .await;
    app.drain().await;
    assert!(
        app.text("select card_ts from tickets where id = 1")
            .await
            .is_some(),
        "card posted"
    );
}

async fn field(app: &TestApp, col: &str) -> Option<String> {
    app.text(&format!(
        "select cast({col} as text) from tickets where id = 1"
    ))
    .await
}

fn notices_to_requester(app: &TestApp) -> Vec<String> {
    app.fake
        .successful_calls_to("chat.postMessage")
        .into_iter()
        .filter(|c| c.body["channel"] == HELP && c.body["thread_ts"] == TS)
        .map(|c| c.body["text"].as_str().unwrap_or("").to_string())
        .collect()
}

fn ephemerals_to(app: &TestApp, user: &str) -> Vec<String> {
    app.fake
        .successful_calls_to("chat.postEphemeral")
        .into_iter()
        .filter(|c| c.body["user"] == user)
        .map(|c| c.body["text"].as_str().unwrap_or("").to_string())
        .collect()
}

#[tokio::test]
async fn acknowledge_assigns_the_clicker_records_the_first_response_and_tells_the_requester() {
    let app = spawn_app().await;
    ticket(&app).await;
    let resp = app.click(TEAM, INTAKE, "ticket_ack", "b", json!("1")).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(field(&app, "status").await.unwrap(), "acknowledged");
    assert_eq!(field(&app, "assignee").await.unwrap(), TEAM);
    assert!(field(&app, "first_response_at").await.is_some());
    app.drain().await;
    assert!(
        notices_to_requester(&app)
            .iter()
            .any(|t| t.contains("picked up *PLAT-1*")),
        "{:?}",
        notices_to_requester(&app)
    );
    let reactions: Vec<Value> = app
        .fake
        .successful_calls_to("reactions.add")
        .into_iter()
        .map(|c| c.body)
        .collect();
    assert_eq!(
        reactions,
        [json!({"channel": HELP, "timestamp": TS, "name": "eyes"})]
    );
    // The card is updated in place, at its own ts, with the new state.
    let updates = app.fake.successful_calls_to("chat.update");
    assert_eq!(updates.len(), 1);
    assert_eq!(
        updates[0].body["ts"].as_str(),
        app.text("select card_ts from tickets").await.as_deref()
    );
    assert!(updates[0].body.to_string().contains("acknowledged"));
    assert!(
        !updates[0].body.to_string().contains("\"ticket_ack\""),
        "no Acknowledge button any more"
    );
}

#[tokio::test]
async fn someone_outside_the_team_is_told_no_and_nothing_changes() {
    let app = spawn_app().await;
    ticket(&app).await;
    let before = app.scalar("select count(*) from ticket_events").await;
    let clicks = [
        ("ticket_ack", "b", json!("1"), "acknowledge"),
        ("ticket_assign", "ticket-1-5", json!(STRANGER), "assign"),
        ("ticket_priority", "b", json!("1:P1"), "priority"),
        ("ticket_wait", "b", json!("1"), "waiting"),
        ("ticket_resolve", "b", json!("1"), "resolve"),
    ];
    for (action, block, value, _) in &clicks {
        assert_eq!(
            app.click(STRANGER, INTAKE, action, block, value.clone())
                .await
                .status(),
            200
        );
    }
    // The requester may not triage their own ticket either.
    app.click(ALICE, INTAKE, "ticket_ack", "b", json!("1"))
        .await;
    app.drain().await;
    assert_eq!(
        app.scalar("select count(*) from ticket_events").await,
        before,
        "nothing happened"
    );
    assert_eq!(field(&app, "status").await.unwrap(), "open");
    assert_eq!(field(&app, "priority").await.unwrap(), "P3");
    assert!(field(&app, "assignee").await.is_none());
    let told = ephemerals_to(&app, STRANGER);
    assert_eq!(told.len(), clicks.len(), "{told:?}");
    assert!(
        told.iter()
            .all(|t| t.starts_with("Sorry, only the platform team can")),
        "{told:?}"
    );
    assert!(ephemerals_to(&app, ALICE)[0].contains("only the platform team can acknowledge"));
    assert!(
        app.fake.calls_to("views.open").is_empty(),
        "no resolve form for a stranger"
    );
    assert!(app.fake.calls_to("chat.update").is_empty());
}

#[tokio::test]
async fn assign_sets_the_picked_user() {
    let app = spawn_app().await;
    ticket(&app).await;
    app.click(
        TEAM,
        INTAKE,
        "ticket_assign",
        "ticket-1-1700000000000",
        json!(TEAMMATE),
    )
    .await;
    assert_eq!(field(&app, "assignee").await.unwrap(), TEAMMATE);
    assert_eq!(
        field(&app, "status").await.unwrap(),
        "open",
        "assigning is not acknowledging"
    );
}

#[tokio::test]
async fn a_priority_change_moves_the_deadlines() {
    let app = spawn_app().await;
    ticket(&app).await;
    let created = field(&app, "created_at").await.unwrap();
    let created = chrono::DateTime::parse_from_rfc3339(&created).unwrap();
    app.click(TEAM, INTAKE, "ticket_priority", "b", json!("1:P1"))
        .await;
    assert_eq!(field(&app, "priority").await.unwrap(), "P1");
    let first =
        chrono::DateTime::parse_from_rfc3339(&field(&app, "first_response_due").await.unwrap())
            .unwrap();
    let resolution =
        chrono::DateTime::parse_from_rfc3339(&field(&app, "resolution_due").await.unwrap())
            .unwrap();
    assert_eq!(
        first - created,
        chrono::Duration::minutes(15),
        "P1: 15m around the clock, from creation"
    );
    assert_eq!(resolution - created, chrono::Duration::hours(4));
    assert_eq!(
        app.scalar("select count(*) from ticket_events where kind = 'priority_changed'")
            .await,
        1
    );
    // An unknown priority from a forged payload changes nothing.
    app.click(TEAM, INTAKE, "ticket_priority", "b", json!("1:P9"))
        .await;
    assert_eq!(field(&app, "priority").await.unwrap(), "P1");
}

#[tokio::test]
async fn waiting_pauses_until_the_requester_replies_in_the_thread() {
    let app = spawn_app().await;
    ticket(&app).await;
    app.click(TEAM, INTAKE, "ticket_priority", "b", json!("1:P1"))
        .await;
    app.click(TEAM, INTAKE, "ticket_wait", "b", json!("1"))
        .await;
    assert_eq!(field(&app, "status").await.unwrap(), "waiting");
    assert!(
        field(&app, "resolution_due").await.is_none(),
        "the resolution clock is paused"
    );
    app.drain().await;
    assert!(notices_to_requester(&app)
        .iter()
        .any(|t| t.contains("needs more from you")));

    // Someone else chatting in the thread does not resume it.
    app.event(
        &message(HELP, STRANGER, "1700000700.000200", "same here", Some(TS)),
        None,
    )
    .await;
    assert_eq!(field(&app, "status").await.unwrap(), "waiting");
    // The requester answering does.
    app.event(
        &message(
            HELP,
            ALICE,
            "1700000700.000300",
            "here are the logs you asked for",
            Some(TS),
        ),
        None,
    )
    .await;
    assert_eq!(field(&app, "status").await.unwrap(), "open");
    assert!(
        field(&app, "resolution_due").await.is_some(),
        "the clock runs again"
    );
    assert_eq!(
        app.scalar("select count(*) from ticket_events where kind = 'resumed'")
            .await,
        1
    );
    assert_eq!(
        app.scalar("select count(*) from ticket_events where kind = 'reply'")
            .await,
        2
    );
}

#[tokio::test]
async fn a_thread_reply_by_the_team_is_the_first_response_and_by_a_stranger_is_not() {
    let app = spawn_app().await;
    ticket(&app).await;
    app.event(
        &message(
            HELP,
            STRANGER,
            "1700000700.000400",
            "did you try turning it off and on",
            Some(TS),
        ),
        None,
    )
    .await;
    assert!(field(&app, "first_response_at").await.is_none());
    // A reply in the card's thread counts as well.
    let card_ts = field(&app, "card_ts").await.unwrap();
    let reply = message(
        INTAKE,
        TEAMMATE,
        "1700000700.000500",
        "looking into it",
        Some(&card_ts),
    );
    app.event(&reply, None).await;
    app.event(&reply, Some(1)).await; // a retry of the same delivery is recorded once
    assert!(field(&app, "first_response_at").await.is_some());
    assert_eq!(
        app.scalar("select count(*) from ticket_events where kind = 'reply'")
            .await,
        2
    );
    assert_eq!(
        app.scalar(
            "select count(*) from ticket_events where kind = 'first_response' and actor = 'U01BOB'"
        )
        .await,
        1
    );
}

#[tokio::test]
async fn resolve_asks_for_a_note_tells_the_requester_and_reopen_brings_it_back() {
    let app = spawn_app().await;
    ticket(&app).await;
    app.click(TEAM, INTAKE, "ticket_resolve", "b", json!("1"))
        .await;
    let opened = app.fake.successful_calls_to("views.open");
    assert_eq!(opened.len(), 1, "the resolve form opens");
    let view = &opened[0].body["view"];
    let mut sub = fixture_json("view_submission.json");
    sub["user"]["id"] = json!(TEAM);
    sub["view"]["id"] = json!("VRESOLVE1");
    sub["view"]["callback_id"] = view["callback_id"].clone();
    sub["view"]["private_metadata"] = view["private_metadata"].clone();
    sub["view"]["state"]["values"] = json!({"note_block": {"note_input": {"type": "plain_text_input", "value": "Rotated the AppRole secret <!channel>"}}});
    let resp = app.interaction(&sub).await;
    assert_eq!(resp.status(), 200);
    assert!(resp.text().await.unwrap().is_empty(), "the form closes");
    assert_eq!(field(&app, "status").await.unwrap(), "resolved");
    assert!(field(&app, "resolved_at").await.is_some());
    // The SLA time it took is kept for the reports.
    assert!(field(&app, "resolution_s").await.is_some());
    assert_eq!(field(&app, "reopens").await.unwrap(), "0");
    assert_eq!(
        field(&app, "resolution_note").await.unwrap(),
        "Rotated the AppRole secret <!channel>"
    );
    app.drain().await;
    let told = notices_to_requester(&app);
    let resolved = told
        .iter()
        .find(|t| t.contains("was resolved"))
        .expect("requester told");
    assert!(
        resolved.contains("Rotated the AppRole secret &lt;!channel&gt;"),
        "{resolved}"
    );
    assert!(app
        .fake
        .successful_calls_to("reactions.add")
        .iter()
        .any(|c| c.body["name"] == "white_check_mark"));

    // The requester reopens their own ticket.
    app.click(ALICE, INTAKE, "ticket_reopen", "b", json!("1"))
        .await;
    assert_eq!(field(&app, "status").await.unwrap(), "open");
    assert!(field(&app, "resolved_at").await.is_none());
    assert!(field(&app, "resolution_s").await.is_none());
    assert_eq!(field(&app, "reopens").await.unwrap(), "1");
    // ...and may resolve it themselves (no form needed to be allowed).
    app.click(STRANGER, INTAKE, "ticket_reopen", "b", json!("1"))
        .await;
    app.drain().await;
    assert!(ephemerals_to(&app, STRANGER)
        .iter()
        .any(|t| t.contains("Nothing to do") || t.contains("only the platform team")));
}

#[tokio::test]
async fn editing_and_deleting_the_source_message_update_the_ticket() {
    let app = spawn_app().await;
    ticket(&app).await;
    let edit = envelope(
        json!({"type": "message", "subtype": "message_changed", "channel": HELP, "hidden": true, "ts": "1700000700.000900",
        "message": {"type": "message", "user": ALICE, "text": "Vault token renewal fails for billing AND payments", "ts": TS}}),
    );
    app.event(&edit, None).await;
    assert_eq!(
        field(&app, "description").await.unwrap(),
        "Vault token renewal fails for billing AND payments"
    );
    let delete = envelope(
        json!({"type": "message", "subtype": "message_deleted", "channel": HELP, "hidden": true, "ts": "1700000700.000950", "deleted_ts": TS}),
    );
    app.event(&delete, None).await;
    assert_eq!(field(&app, "source_deleted").await.unwrap(), "1");
    app.drain().await;
    assert!(app
        .latest_card("PLAT-1")
        .unwrap()
        .to_string()
        .contains("source message was deleted"));
}

#[tokio::test]
async fn status_mine_and_queue_answer_and_the_queue_is_for_the_team_only() {
    let app = spawn_app().await;
    ticket(&app).await;
    app.command_json(
        ALICE,
        "C02PAYMENTS",
        "request second thing: a new namespace",
    )
    .await;
    app.click(TEAM, INTAKE, "ticket_priority", "b", json!("2:P1"))
        .await;

    let status = app
        .command_json(ALICE, "C02PAYMENTS", "status plat-1")
        .await["text"]
        .as_str()
        .unwrap()
        .to_string();
    for needle in [
        "*PLAT-1*",
        "Status: open",
        "Priority: P3",
        "First response: due",
        "Last activity: created",
    ] {
        assert!(status.contains(needle), "{needle} in {status}");
    }
    let unknown = app
        .command_json(ALICE, "C02PAYMENTS", "status PLAT-999")
        .await;
    assert!(unknown["text"].as_str().unwrap().contains("don't know"));

    let mine = app.command_json(ALICE, "C02PAYMENTS", "mine").await["text"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(mine.contains("PLAT-1") && mine.contains("PLAT-2"), "{mine}");
    let theirs = app.command_json(TEAMMATE, "C02PAYMENTS", "mine").await["text"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(theirs.contains("no open requests"), "{theirs}");

    let denied = app.command_json(ALICE, "C02PAYMENTS", "queue").await["text"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        denied.contains("only the platform team can see the queue"),
        "{denied}"
    );
    let queue = app.command_json(TEAM, "C02PAYMENTS", "queue").await["text"]
        .as_str()
        .unwrap()
        .to_string();
    let p2 = queue.find("PLAT-2").expect("PLAT-2 queued");
    let p1 = queue.find("PLAT-1").expect("PLAT-1 queued");
    assert!(p2 < p1, "the P1 breaches first so it comes first: {queue}");
}

#[tokio::test]
async fn the_app_home_shows_my_requests_and_for_the_team_the_queue() {
    let app = spawn_app().await;
    ticket(&app).await;
    for user in [ALICE, TEAM] {
        app.event(&envelope(json!({"type": "app_home_opened", "user": user, "channel": "D1", "tab": "home", "event_ts": "1.1"})), None).await;
    }
    app.drain().await;
    let published = app.fake.successful_calls_to("views.publish");
    assert_eq!(published.len(), 2);
    let alice = published
        .iter()
        .find(|c| c.body["user_id"] == ALICE)
        .unwrap()
        .body
        .to_string();
    let team = published
        .iter()
        .find(|c| c.body["user_id"] == TEAM)
        .unwrap()
        .body
        .to_string();
    assert!(
        alice.contains("PLAT-1") && !alice.contains("soonest deadline"),
        "{alice}"
    );
    assert!(
        team.contains("soonest deadline first") && team.contains("PLAT-1"),
        "{team}"
    );
}
