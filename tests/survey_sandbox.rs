//! A pulse survey in the sandbox, through its page API only: the lead starts one in
//! #engineering, two demo people answer in their DMs, and a week on the page's clock closes
//! it with full results in the announce channel (the demo's threshold is two answers).

mod sandbox_page;

use sandbox_page::Page;
use serde_json::{json, Value};
use std::time::Duration;

const ENG: &str = "C01ENG";
const ANNOUNCE: &str = "C01ANNOUNCE";

impl Page {
    /// [`Page::post`] that must be answered 200: what was answered.
    async fn send(&self, path: &str, body: Value) -> Value {
        let (status, answer) = self.post(path, body).await;
        assert_eq!(status, 200, "{answer}");
        answer
    }

    /// The first message in `channel` whose text starts with `start` (30 s at most: a loaded
    /// CI machine).
    async fn wait_for_message(&self, channel: &str, start: &str) -> Value {
        for _ in 0..600 {
            let state = self.state().await;
            let found = state["messages"].as_array().unwrap().iter().find(|m| {
                m["channel"] == channel && m["text"].as_str().is_some_and(|t| t.starts_with(start))
            });
            if let Some(m) = found {
                return m.clone();
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!(
            "no message starting {start:?} in {channel}: {}",
            self.state().await
        );
    }
}

#[tokio::test]
async fn the_lead_starts_a_survey_in_the_sandbox_people_answer_and_a_week_later_see_results() {
    let page = Page::open(None).await;
    let answer = page
        .send(
            "/api/command",
            json!({ "user": "U01ALICE", "channel": ENG, "text": "survey start" }),
        )
        .await;
    assert!(
        answer.to_string().contains("Starting a pulse survey"),
        "{answer}"
    );
    for (user, dm, score) in [("U02CAROL", "D02CAROL", 4), ("U02DAVE", "D02DAVE", 5)] {
        let asked = page.wait_for_message(dm, "Pulse survey:").await;
        let click = json!({ "user": user, "channel": dm, "message_ts": asked["ts"],
            "block_id": "pulse:1", "action_id": format!("pulse_score_{score}"),
            "value": format!("1:{score}") });
        let clicked = page.send("/api/action", click).await;
        assert_eq!(clicked["answer"]["status"], 200, "{clicked}");
        page.wait_for_message(dm, &format!("Pulse survey: How satisfied are you with the platform tools this week? (you chose {score})")).await;
    }
    page.send("/api/clock", json!({ "advance": "1w" })).await;
    let results = page
        .wait_for_message(ANNOUNCE, "*Pulse survey results")
        .await;
    let text = results["text"].as_str().unwrap();
    assert!(
        text.contains("2 of 3 answered") && text.contains("Mean: *4.5*"),
        "{text}"
    );
    page.sandbox.shutdown().await;
}
