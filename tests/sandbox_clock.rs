//! The sandbox's clock control, through its page's HTTP API: moving the clock moves the
//! bot's (a P1 ticket breaches and the team channel hears it, the bot still accepts the
//! page's signed requests, a week on the digest goes out and the owner of a stale demo
//! item is nudged), only the page's three steps are accepted, and a new sandbox database
//! gets the demo roadmap beside the demo history, some items linked to demo tickets.

use platform_desk::sandbox::fake_slack::FakeSlack;
mod sandbox_page;

use sandbox_page::Page;
use serde_json::{json, Value};
use std::time::Duration;

const CAROL: &str = "U02CAROL";
const PAYMENTS: &str = "C02PAYMENTS";
const TEAM: &str = "C01PLATTEAM";
const ANNOUNCE: &str = "C01ANNOUNCE";
/// A small demo history, quick to write.
const DEMO_HISTORY: platform_desk::seed::Options = platform_desk::seed::Options {
    tickets: 40,
    days: 14,
    seed: 7,
};

impl Page {
    async fn clock(&self) -> Value {
        let resp = self.http.get(format!("{}/api/clock", self.base));
        resp.send().await.unwrap().json().await.unwrap()
    }

    async fn advance(&self, step: &str) -> Value {
        let (status, answer) = self.post("/api/clock", json!({ "advance": step })).await;
        assert_eq!(status, 200, "{answer}");
        answer
    }

    async fn scalar(&self, sql: &str) -> i64 {
        let pool = platform_desk::store::connect(&self.url).await.unwrap();
        let n: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_string()))
            .fetch_one(&pool)
            .await
            .unwrap();
        pool.close().await;
        n
    }
}

/// Polls the fake Slack until a post to `channel` satisfies `pick` (10 s at most).
async fn posted(fake: &FakeSlack, channel: &str, pick: impl Fn(&Value) -> bool) -> Value {
    for _ in 0..200 {
        let found = fake
            .successful_calls_to("chat.postMessage")
            .into_iter()
            .map(|c| c.body)
            .find(|b| b["channel"] == channel && pick(b));
        if let Some(found) = found {
            return found;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("nothing posted to {channel} as expected");
}

fn ahead(clock: &Value) -> i64 {
    clock["ahead_s"].as_i64().expect("ahead_s")
}

#[tokio::test]
async fn the_clock_control_moves_the_bots_clock_and_what_is_due_fires() {
    let page = Page::open(Some(DEMO_HISTORY)).await;
    let fake = page.sandbox.fake.clone();
    assert_eq!(ahead(&page.clock().await), 0, "real time at first");

    let body = json!({ "user": CAROL, "channel": PAYMENTS, "text": "/platform request prod down: checkout outage" });
    let (status, answer) = page.post("/api/command", body).await;
    assert_eq!(status, 200, "{answer}");
    let key = page
        .scalar("select max(id) from tickets where priority = 'P1' and title like '%checkout%'")
        .await;
    assert!(key > 0, "a P1 ticket was filed");

    let moved = page.advance("1h").await;
    assert_eq!(ahead(&moved), 3600);
    assert_eq!(
        ahead(&page.clock().await),
        3600,
        "the bot's clock stays moved"
    );
    let breach = posted(&fake, TEAM, |b| {
        b.to_string().contains("checkout") && b.to_string().to_lowercase().contains("breach")
    })
    .await;
    assert!(breach["text"].is_string());
    let breached = page
        .scalar(&format!(
            "select count(*) from ticket_events where kind = 'breached' and ticket_id = {key}"
        ))
        .await;
    assert!(
        breached >= 1,
        "the first-response target breached an hour on"
    );
    // Within that hour it warned on-call and, unacknowledged, escalated to the lead.
    let ticket_key = format!("PLAT-{key}");
    let mut warned = false;
    for _ in 0..200 {
        warned = fake
            .successful_calls_to("chat.postMessage")
            .iter()
            .any(|c| {
                let text = c.body["text"].as_str().unwrap_or("");
                text.contains("SLA warning") && text.contains(&ticket_key)
            });
        if warned {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(warned, "no SLA warning for {ticket_key}");
    let escalation = posted(&fake, "U01LEAD", |b| {
        b["text"].as_str().unwrap_or("").contains("Escalation 1/")
    })
    .await;
    assert!(escalation.to_string().contains(&ticket_key), "{escalation}");

    // The page signs its requests on the bot's clock: the bot still takes them.
    let body = json!({ "user": CAROL, "channel": PAYMENTS, "text": "/platform mine" });
    let (status, answer) = page.post("/api/command", body).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["answer"]["status"], 200, "{answer}");

    let moved = page.advance("1w").await;
    assert_eq!(ahead(&moved), 3600 + 7 * 24 * 3600);
    let digest = posted(&fake, ANNOUNCE, |b| b["blocks"].is_array()).await;
    assert!(
        digest.to_string().contains("The week in support"),
        "{digest}"
    );
    let nudge = posted(&fake, "U01BOB", |b| {
        b["text"].as_str().unwrap_or("").contains("gentle nudge")
    })
    .await;
    assert!(nudge["text"].as_str().unwrap().contains("RM-2"), "{nudge}");
    page.sandbox.shutdown().await;
}

#[tokio::test]
async fn the_clock_control_takes_only_its_three_steps() {
    let page = Page::open(Some(DEMO_HISTORY)).await;
    for bad in [
        json!({ "advance": "1y" }),
        json!({ "advance": "-1h" }),
        json!({}),
    ] {
        let (status, _) = page.post("/api/clock", bad.clone()).await;
        assert!((400..500).contains(&status), "{bad} answered {status}");
    }
    assert_eq!(ahead(&page.clock().await), 0, "not moved");
    page.sandbox.shutdown().await;
}

#[tokio::test]
async fn a_new_sandbox_database_gets_a_demo_roadmap_linked_to_demo_tickets() {
    let page = Page::open(Some(DEMO_HISTORY)).await;
    let items = page.scalar("select count(*) from roadmap_items").await;
    assert!(items >= 4, "{items} items");
    for status in ["planned", "in_progress", "shipped"] {
        let n = page
            .scalar(&format!(
                "select count(*) from roadmap_items where status = '{status}'"
            ))
            .await;
        assert!(n > 0, "no {status} item");
    }
    let links = page.scalar("select count(*) from roadmap_links").await;
    assert!(links > 0, "some items are linked to demo tickets");
    let page_html = page
        .http
        .get(format!("{}/", page.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for step in ["1h", "1d", "1w"] {
        assert!(
            page_html.contains(&format!("data-advance=\"{step}\"")),
            "the page has the {step} button"
        );
    }
    page.sandbox.shutdown().await;
}
