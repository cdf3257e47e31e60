//! Satisfaction in every report face: a requester's CSAT answer (a signed press on the real
//! question) and closed pulse surveys (rows as the survey module writes them at close) show
//! in `/platform stats`, the stats API and the weekly digest, with counts only while the
//! latest survey is under the anonymity threshold.

mod common;

use chrono::{DateTime, Duration, Utc};
use common::*;
use platform_desk::clock::{db_time, ManualClock};
use serde_json::{json, Value};
use std::sync::Arc;

const TEAM: &str = "U01ALICE";
/// Monday 22 March 2027, 08:00 in Berlin: an hour before the digest.
const MONDAY: &str = "2027-03-22T07:00:00Z";

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

async fn survey(app: &TestApp, closed: DateTime<Utc>, responses: i64, mean: Option<f64>) {
    let pool = &app.running.as_ref().unwrap().app.pool;
    sqlx::query(
        "insert into surveys (question, started_at, closes_at, closed_at, audience, responses, \
         mean, distribution, favourable) values ('How?', ?1, ?1, ?1, 40, ?2, ?3, ?4, ?5)",
    )
    .bind(db_time(closed))
    .bind(responses)
    .bind(mean)
    .bind(mean.map(|_| "[0,1,3,8,8]"))
    .bind(mean.map(|_| 0.8))
    .execute(pool)
    .await
    .unwrap();
}

/// A ticket filed by ALICE, resolved by the team through the form, and her answer `score`.
async fn answered_ticket(app: &TestApp, score: u8) {
    let reply = app
        .command(ALICE, "C01HELP", "request prod down: the API")
        .await;
    assert_eq!(reply.status(), 200);
    let id = app.scalar("select max(id) from tickets").await;
    app.click(TEAM, INTAKE, "ticket_resolve", "b", json!(id.to_string()))
        .await;
    let opened = app.fake.successful_calls_to("views.open");
    let view = &opened.last().expect("the resolve form").body["view"];
    let mut sub = fixture_json("view_submission.json");
    sub["user"]["id"] = json!(TEAM);
    sub["view"]["callback_id"] = view["callback_id"].clone();
    sub["view"]["private_metadata"] = view["private_metadata"].clone();
    sub["view"]["state"]["values"] =
        json!({"note_block": {"note_input": {"type": "plain_text_input", "value": "Fixed."}}});
    assert_eq!(app.interaction(&sub).await.status(), 200);
    app.settled().await;
    let q = app
        .fake
        .messages()
        .into_iter()
        .find(|m| m.text == format!("How did we do on PLAT-{id}?"))
        .expect("the question");
    let payload = json!({
        "type": "block_actions", "user": { "id": ALICE, "name": "alice" }, "api_app_id": "A07PLTFM2QX",
        "team": { "id": "T0A1B2C3D4", "domain": "acme-eng" },
        "trigger_id": "6123456799999.7012345678901.1b2c3d4e5f",
        "container": { "type": "message", "message_ts": q.ts, "channel_id": q.channel },
        "channel": { "id": q.channel },
        "actions": [{ "type": "button", "action_id": format!("csat_score_{score}"), "block_id": "csat",
                      "value": id.to_string(), "action_ts": "1700000070.1" }],
    });
    assert_eq!(app.interaction(&payload).await.status(), 200);
}

fn texts(blocks: &Value) -> String {
    blocks
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|b| {
            b["text"]["text"]
                .as_str()
                .or_else(|| b["elements"][0]["text"].as_str())
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[tokio::test]
async fn stats_and_the_digest_show_csat_and_the_pulse_with_counts_only_under_the_threshold() {
    let clock = ManualClock::new(at(MONDAY));
    let app = spawn_with(Options {
        clock: Arc::new(clock.clone()),
        ..Options::default()
    })
    .await;
    answered_ticket(&app, 5).await;
    survey(&app, at(MONDAY) - Duration::days(10), 12, Some(3.6)).await;
    // The latest: 3 answers, under the threshold of 5: counts only.
    survey(&app, at(MONDAY) - Duration::days(3), 3, None).await;

    let reply = app.command_json(ALICE, "C01HELP", "stats 7d").await;
    let shown = texts(&reply["blocks"]);
    assert!(
        shown.contains("*Satisfaction*: 5.00 of 5 (1 answer)"),
        "{shown}"
    );
    assert!(
        shown.contains("*Pulse*: closed 2027-03-19: 3 of 40 answered (7.5%); under 5 answers"),
        "{shown}"
    );
    assert!(shown.contains("*P1* · 1 opened") && shown.contains("satisfaction: 5.00 of 5"));

    clock.set(at(MONDAY) + Duration::hours(1));
    app.step().await;
    app.settled().await;
    let digest = app
        .fake
        .successful_calls_to("chat.postMessage")
        .into_iter()
        .find(|c| c.body["channel"] == "C01ANNOUNCE")
        .expect("the digest");
    let text = texts(&digest.body["blocks"]);
    assert!(
        text.contains("Satisfaction: 5.00 of 5 (1 answer)"),
        "{text}"
    );
    assert!(
        text.contains("Pulse survey: closed 2027-03-19: 3 of 40 answered (7.5%)"),
        "{text}"
    );
    assert!(!text.contains("mean"), "counts only: {text}");

    // A newer survey over the threshold: its figures show, but no change from one under it.
    survey(&app, at(MONDAY), 20, Some(4.1)).await;
    let stats: Value = serde_json::from_str(&app.get("/api/v1/stats?days=7").await).unwrap();
    let pulse = &stats["pulse"];
    assert_eq!(pulse["responses"], 20);
    assert_eq!(pulse["response_rate"], 0.5);
    assert_eq!(pulse["mean"], 4.1);
    assert_eq!(pulse["favourable"], 0.8);
    assert_eq!(pulse["distribution"], json!([0, 1, 3, 8, 8]));
    assert!(
        pulse["change"].is_null(),
        "the previous is under the threshold"
    );
    let trend: Vec<Value> = pulse["trend"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["mean"].clone())
        .collect();
    assert_eq!(trend, [json!(3.6), Value::Null, json!(4.1)]);
    assert_eq!(stats["csat"], json!({"n": 1, "mean": 5.0}));
}
