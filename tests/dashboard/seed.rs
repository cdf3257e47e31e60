//! A few weeks of history made through the real intake and lifecycle (signed slash commands,
//! button clicks and the resolve form, on a manual clock), for the dashboard's tests.

use super::common::*;
use chrono::{DateTime, Duration, Utc};
use platform_desk::clock::{Clock, ManualClock};
use serde_json::json;
use std::sync::Arc;

/// A Monday morning: the first ticket is filed then.
pub const START: &str = "2026-11-02T08:30:00Z";
/// The platform team member who works the tickets.
pub const TEAM: &str = "U01ALICE";
/// The channels requests come from.
pub const CHANNELS: [&str; 3] = ["C01HELP", "C02DATA", "C03WEB"];

/// The contract's policy with two more triage rules, so the categories vary.
pub fn policy() -> String {
    format!(
        "{}\n[[triage.rules]]\nkeywords = [\"access\", \"permission\"]\ncategory = \"access\"\npriority = \"P2\"\n\n[[triage.rules]]\nkeywords = [\"pipeline\", \"deploy\"]\ncategory = \"ci\"\npriority = \"P3\"\n",
        test_policy_text()
    )
}

pub fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

/// The app on a manual clock at `START`, with `env` added.
pub async fn app(env: Vec<(String, String)>) -> (TestApp, ManualClock) {
    let clock = ManualClock::new(at(START));
    let app = spawn_with(Options {
        policy: policy(),
        clock: Arc::new(clock.clone()),
        env,
        ..Default::default()
    })
    .await;
    (app, clock)
}

fn request_text(i: usize) -> String {
    match i % 5 {
        0 => format!("prod down: checkout outage number {i}"),
        1 | 3 => format!("Need access to the billing bucket, request {i}"),
        2 => format!("The deploy pipeline for service {i} is stuck"),
        _ => format!("Question about the staging cluster, number {i}"),
    }
}

/// Files `n` requests over the weekdays from `START` (two a day), answers most and resolves
/// many; some stay open, some unanswered past their due time. Leaves the clock an hour
/// after the last request. Returns the number of tickets filed.
pub async fn history(app: &TestApp, clock: &ManualClock, n: usize) -> usize {
    let mut day = at(START);
    let mut filed = 0;
    while filed < n {
        for slot in 0..2 {
            if filed == n {
                break;
            }
            let i = filed + 1;
            clock.set(day + Duration::hours(3 * slot));
            let channel = CHANNELS[i % CHANNELS.len()];
            let reply = app
                .command(ALICE, channel, &format!("request {}", request_text(i)))
                .await;
            assert_eq!(reply.status(), 200, "request {i} is filed");
            let id = app.scalar("select max(id) from tickets").await;
            assert_eq!(id, i as i64, "ticket {i} was filed");
            if i % 4 != 3 {
                clock.advance(Duration::minutes(if i % 6 == 0 { 90 } else { 10 }));
                let ack = app
                    .click(TEAM, INTAKE, "ticket_ack", "b", json!(id.to_string()))
                    .await;
                assert_eq!(ack.status(), 200);
            }
            if i % 3 != 0 && i % 4 != 3 {
                clock.advance(Duration::hours(2));
                resolve(app, id).await;
            }
            filed += 1;
        }
        day += Duration::days(1);
        // Weekdays only.
        while matches!(
            chrono::Datelike::weekday(&day),
            chrono::Weekday::Sat | chrono::Weekday::Sun
        ) {
            day += Duration::days(1);
        }
    }
    clock.set(clock.now() + Duration::hours(1));
    app.drain().await;
    filed
}

/// The team resolves ticket `id` through the resolve form.
async fn resolve(app: &TestApp, id: i64) {
    app.click(TEAM, INTAKE, "ticket_resolve", "b", json!(id.to_string()))
        .await;
    let opened = app.fake.successful_calls_to("views.open");
    let view = &opened.last().expect("the resolve form opens").body["view"];
    let mut sub = fixture_json("view_submission.json");
    sub["user"]["id"] = json!(TEAM);
    sub["view"]["id"] = json!(format!("VRESOLVE{id}"));
    sub["view"]["callback_id"] = view["callback_id"].clone();
    sub["view"]["private_metadata"] = view["private_metadata"].clone();
    sub["view"]["state"]["values"] =
        json!({"note_block": {"note_input": {"type": "plain_text_input", "value": "Done."}}});
    let resp = app.interaction(&sub).await;
    assert_eq!(resp.status(), 200);
    let status = app
        .text(&format!("select status from tickets where id = {id}"))
        .await;
    assert_eq!(status.as_deref(), Some("resolved"), "ticket {id} resolved");
}
