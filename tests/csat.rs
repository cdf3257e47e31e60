//! Satisfaction after each ticket, driven as Slack drives it: tickets filed by signed slash
//! commands and resolved through the signed resolve form; the question is a DM at the fake
//! Slack; the answer a signed button press; the score then on the ticket, its card, the export
//! and the stats API, by priority and category. Sampling and the cooldown decide who is asked.

mod common;

use chrono::{DateTime, Duration, Utc};
use common::*;
use platform_desk::clock::ManualClock;
use platform_desk::sandbox::fake_slack::PostedMessage;
use serde_json::{json, Value};
use std::sync::Arc;

const TEAM: &str = "U01ALICE";
const STRANGER: &str = "U09STRANGE";

fn start() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-02T09:00:00Z")
        .unwrap()
        .with_timezone(&Utc)
}

async fn app_with(csat: &str) -> (TestApp, ManualClock) {
    let clock = ManualClock::new(start());
    let app = spawn_with(Options {
        policy: format!("{}\n{csat}", test_policy_text()),
        clock: Arc::new(clock.clone()),
        ..Default::default()
    })
    .await;
    (app, clock)
}

/// `user` files a request by slash command; returns the new ticket's id.
async fn file(app: &TestApp, user: &str, text: &str) -> i64 {
    let reply = app
        .command(user, "C01HELP", &format!("request {text}"))
        .await;
    assert_eq!(reply.status(), 200);
    app.scalar("select max(id) from tickets").await
}

/// The team resolves ticket `id` through the resolve form (a click, then the submission).
async fn resolve(app: &TestApp, id: i64) {
    app.click(TEAM, INTAKE, "ticket_resolve", "b", json!(id.to_string()))
        .await;
    let opened = app.fake.successful_calls_to("views.open");
    let view = &opened.last().expect("the resolve form opens").body["view"];
    let mut sub = fixture_json("view_submission.json");
    sub["user"]["id"] = json!(TEAM);
    sub["view"]["id"] = json!(format!("VRESOLVE{id}{}", opened.len()));
    sub["view"]["callback_id"] = view["callback_id"].clone();
    sub["view"]["private_metadata"] = view["private_metadata"].clone();
    sub["view"]["state"]["values"] =
        json!({"note_block": {"note_input": {"type": "plain_text_input", "value": "Done."}}});
    assert_eq!(app.interaction(&sub).await.status(), 200);
    let status = app
        .text(&format!("select status from tickets where id = {id}"))
        .await;
    assert_eq!(status.as_deref(), Some("resolved"), "ticket {id} resolved");
}

/// The satisfaction questions the bot sent to `user`.
fn questions(app: &TestApp, user: &str) -> Vec<PostedMessage> {
    let dm = format!("D{}", &user[1..]);
    app.fake
        .messages()
        .into_iter()
        .filter(|m| m.channel == dm && m.text.starts_with("How did we do on "))
        .collect()
}

/// `user` presses the button `score` of the question `q`.
async fn press(app: &TestApp, user: &str, q: &PostedMessage, score: u8) {
    let buttons = q.blocks.to_string();
    let ticket = buttons
        .split("\"value\":\"")
        .nth(1)
        .and_then(|v| v.split('"').next())
        .unwrap_or("0")
        .to_string();
    let payload = json!({
        "type": "block_actions", "user": { "id": user, "name": "someone" }, "api_app_id": "A07PLTFM2QX",
        "team": { "id": "T0A1B2C3D4", "domain": "acme-eng" },
        "trigger_id": "6123456799999.7012345678901.1b2c3d4e5f",
        "container": { "type": "message", "message_ts": q.ts, "channel_id": q.channel },
        "channel": { "id": q.channel },
        "actions": [{ "type": "button", "action_id": format!("csat_score_{score}"), "block_id": "csat",
                      "value": ticket, "action_ts": "1700000070.1" }],
    });
    assert_eq!(app.interaction(&payload).await.status(), 200);
    app.settled().await;
}

fn message_now(app: &TestApp, q: &PostedMessage) -> PostedMessage {
    app.fake
        .messages()
        .into_iter()
        .find(|m| m.channel == q.channel && m.ts == q.ts)
        .expect("the question is still there")
}

async fn score(app: &TestApp, id: i64) -> i64 {
    app.scalar(&format!(
        "select coalesce(csat, 0) from tickets where id = {id}"
    ))
    .await
}

async fn get_json(app: &TestApp, path: &str) -> Value {
    serde_json::from_str(&app.get(path).await).expect("JSON")
}

#[tokio::test]
async fn the_requester_is_asked_once_and_the_score_lands_on_the_ticket_card_export_and_stats() {
    let (app, clock) = app_with("").await;
    let id = file(&app, ALICE, "prod down: checkout outage").await;
    clock.advance(Duration::minutes(20));
    resolve(&app, id).await;
    app.settled().await;

    let asked = questions(&app, ALICE);
    assert_eq!(asked.len(), 1, "one question: {asked:?}");
    let q = &asked[0];
    assert_eq!(q.text, "How did we do on PLAT-1?");
    let blocks = q.blocks.to_string();
    assert!(blocks.contains("This answer is not anonymous"), "{blocks}");
    let labels: Vec<String> = q.blocks[1]["elements"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["text"]["text"].as_str().unwrap().to_string())
        .collect();
    for (i, label) in labels.iter().enumerate() {
        assert!(label.starts_with(&(i + 1).to_string()), "{labels:?}");
    }
    assert_eq!(labels.len(), 5);

    // Someone else's press changes nothing and is told so.
    press(&app, STRANGER, q, 1).await;
    assert_eq!(score(&app, id).await, 0);

    press(&app, ALICE, q, 4).await;
    assert_eq!(score(&app, id).await, 4);
    let shown = message_now(&app, q);
    assert!(
        shown.updated && shown.blocks.to_string().contains("You answered *4 Good*"),
        "{shown:?}"
    );
    let card = app.latest_card("PLAT-1").expect("the card");
    assert!(
        card.to_string().contains("*Satisfaction*") && card.to_string().contains("4 of 5"),
        "{card}"
    );

    // A slip of the finger is mended within a day of the first answer...
    clock.advance(Duration::hours(2));
    press(&app, ALICE, q, 5).await;
    assert_eq!(score(&app, id).await, 5);
    // ... and after that the score stands, and the buttons go.
    clock.advance(Duration::hours(30));
    press(&app, ALICE, q, 1).await;
    assert_eq!(score(&app, id).await, 5);
    let shown = message_now(&app, q);
    assert!(
        !shown.blocks.to_string().contains("csat_score_") && shown.text.contains("5 Great"),
        "{shown:?}"
    );

    // A ticket reopened and resolved again is not asked about twice.
    app.click(TEAM, INTAKE, "ticket_reopen", "b", json!(id.to_string()))
        .await;
    clock.advance(Duration::days(20));
    resolve(&app, id).await;
    app.settled().await;
    assert_eq!(questions(&app, ALICE).len(), 1);

    let tickets = get_json(&app, "/api/v1/tickets").await;
    assert_eq!(tickets[0]["key"], "PLAT-1");
    assert_eq!(tickets[0]["csat"], 5.0);
    let stats = get_json(&app, "/api/v1/stats?days=30").await;
    assert_eq!(stats["csat"], json!({"n": 1, "mean": 5.0}));
    assert_eq!(
        stats["by_priority"]["P1"]["csat"],
        json!({"n": 1, "mean": 5.0})
    );
    assert_eq!(
        stats["by_priority"]["P3"]["csat"],
        json!({"n": 0, "mean": null})
    );
    assert_eq!(
        stats["by_category"]["incident"]["csat"],
        json!({"n": 1, "mean": 5.0})
    );
    let dashboard = app.get("/dashboard?days=30").await;
    assert!(
        dashboard.contains("CSAT (resolved tickets)</td><td>1</td><td>5.00"),
        "the dashboard's satisfaction panel"
    );
}

#[tokio::test]
async fn nobody_is_asked_twice_within_the_cooldown() {
    let (app, clock) = app_with("[csat]\ncooldown = \"14d\"\n").await;
    let first = file(&app, ALICE, "the VPN drops").await;
    let second = file(&app, ALICE, "the wiki is slow").await;
    resolve(&app, first).await;
    resolve(&app, second).await;
    app.settled().await;
    let asked = questions(&app, ALICE);
    assert_eq!(asked.len(), 1, "{asked:?}");
    assert_eq!(asked[0].text, "How did we do on PLAT-1?");
    clock.advance(Duration::days(15));
    let third = file(&app, ALICE, "the printer is on fire").await;
    resolve(&app, third).await;
    app.settled().await;
    let texts: Vec<String> = questions(&app, ALICE).into_iter().map(|m| m.text).collect();
    assert_eq!(
        texts,
        ["How did we do on PLAT-1?", "How did we do on PLAT-3?"]
    );
    assert_eq!(app.scalar("select count(*) from csat_asks").await, 2);
}

#[tokio::test]
async fn the_sample_rate_asks_about_the_same_tickets_the_hash_picks_and_none_when_disabled() {
    let (app, _clock) = app_with("[csat]\nsample_rate = 0.5\ncooldown = \"0s\"\n").await;
    let mut expected = Vec::new();
    for i in 1..=8 {
        let requester = format!("U0REQ{i:04}");
        let id = file(&app, &requester, &format!("request number {i}")).await;
        resolve(&app, id).await;
        let key = format!("PLAT-{id}");
        if platform_desk::csat::sample::sampled(&key, 0.5) {
            expected.push(key);
        }
    }
    app.settled().await;
    let mut asked: Vec<String> = (1..=8)
        .flat_map(|i| questions(&app, &format!("U0REQ{i:04}")))
        .map(|m| {
            m.text
                .trim_start_matches("How did we do on ")
                .trim_end_matches('?')
                .to_string()
        })
        .collect();
    asked.sort();
    expected.sort();
    assert_eq!(asked, expected);
    assert!(
        !expected.is_empty() && expected.len() < 8,
        "the sample takes some, not all: {expected:?}"
    );

    let (app, _clock) = app_with("[csat]\nenabled = false\n").await;
    let id = file(&app, ALICE, "anything at all").await;
    resolve(&app, id).await;
    app.settled().await;
    assert!(questions(&app, ALICE).is_empty());
}
