//! The four faces of the report agree on one dataset: tickets filed through `/platform
//! request`, then `/platform stats 7d` (Block Kit), `platform-desk stats --days 7` (text and
//! `--format json`), `GET /api/v1/stats?days=7` and `GET /dashboard?days=7`; and the `Post to
//! channel` button posts the report in the channel.

mod common;

use common::*;
use platform_desk::stats::{blocks, text, Report};
use serde_json::Value;
use std::process::Command;
use std::time::Duration;

const HELP: &str = "C01HELP";

/// The figures of the text report: from the ticket counts to the support burden, the
/// oldest open ticket's age (wall-clock) left out.
fn text_figures(text: &str) -> Vec<String> {
    text.lines()
        .skip(1)
        .take_while(|l| !l.starts_with("Support burden"))
        .map(|l| l.split(" (oldest open").next().unwrap().to_string())
        .collect()
}

fn cli_text(app: &TestApp) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_platform-desk"))
        .args(["stats", "--days", "7"])
        .env_clear()
        .env(
            "DATABASE_URL",
            format!("sqlite://{}", app.db_path.display()),
        )
        .env("PLATFORM_DESK_CONFIG", app.dir.path().join("policy.toml"))
        .output()
        .expect("the binary runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn cli_report(app: &TestApp) -> Report {
    let out = Command::new(env!("CARGO_BIN_EXE_platform-desk"))
        .args(["stats", "--days", "7", "--format", "json"])
        .env_clear()
        .env(
            "DATABASE_URL",
            format!("sqlite://{}", app.db_path.display()),
        )
        .env("PLATFORM_DESK_CONFIG", app.dir.path().join("policy.toml"))
        .output()
        .expect("the binary runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("the stats JSON")
}

async fn api_report(app: &TestApp) -> Value {
    let resp = app
        .http
        .get(format!("{}/api/v1/stats?days=7", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    resp.json().await.unwrap()
}

/// The report's figures that depend only on the data: the window's ends, the oldest open
/// ticket's age and the week's on-call hours move with the wall clock between two calls.
fn same_data(report: &Value) -> Value {
    let mut r = report.clone();
    let o = r.as_object_mut().unwrap();
    for moving in ["window", "oldest_open_s", "support_share"] {
        assert!(o.remove(moving).is_some(), "{moving} in {report}");
    }
    r
}

/// The section texts of a reply, with the backlog's age (wall-clock, so it moves between
/// the two calls) left out.
fn sections(blocks: &Value) -> Vec<String> {
    blocks
        .as_array()
        .expect("blocks")
        .iter()
        .filter(|b| b["type"] == "section")
        .map(|b| {
            let text = b["text"]["text"].as_str().unwrap_or_default();
            match text.find(" (oldest open") {
                Some(at) => text[..at].to_string(),
                None => text.to_string(),
            }
        })
        .collect()
}

#[tokio::test]
async fn slack_and_the_command_line_show_the_same_report_and_the_button_posts_it() {
    let app = spawn_app().await;
    std::fs::write(app.dir.path().join("policy.toml"), test_policy_text()).unwrap();
    for text in [
        "request prod down: the <checkout> service & friends",
        "request a new database user",
        "request the deploy is slow",
    ] {
        let reply = app.command_json(ALICE, HELP, text).await;
        assert!(reply.is_object(), "{reply}");
    }
    assert_eq!(app.scalar("select count(*) from tickets").await, 3);

    let reply = app.command_json(ALICE, HELP, "stats 7d").await;
    assert_eq!(reply["response_type"], "ephemeral");
    let cli = cli_report(&app);
    assert_eq!(cli.tickets.opened, 3);
    assert_eq!(cli.tickets.backlog, 3);
    assert_eq!(cli.window.days, 7);
    assert_eq!(
        sections(&reply["blocks"]),
        sections(&Value::from(blocks::render(&cli, true)))
    );
    let text = cli_text(&app);
    assert!(text.starts_with("Support stats, last 7 days"), "{text}");
    assert!(text.contains("Tickets: 3 opened"), "{text}");
    assert_eq!(text_figures(&text), text_figures(&text::render(&cli)));
    let api = api_report(&app).await;
    assert_eq!(
        same_data(&api),
        same_data(&serde_json::to_value(&cli).unwrap()),
        "the API's figures are the command line's"
    );
    let page = app
        .http
        .get(format!("{}/dashboard?days=7", app.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for (label, value) in [
        ("Opened", cli.tickets.opened),
        ("Resolved", cli.tickets.resolved),
        ("Backlog now", cli.tickets.backlog),
    ] {
        let tile = format!("<dt>{label}</dt><dd>{value}</dd>");
        assert!(page.contains(&tile), "{tile} not on the dashboard");
    }
    let channel_row = format!("<td>{HELP}</td><td>{}</td>", cli.tickets.opened);
    assert!(
        page.replace(['\n', ' '], "").contains(&channel_row),
        "{channel_row} not in the dashboard's channels table"
    );
    let button = reply["blocks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["type"] == "actions")
        .expect("the Post to channel button");
    assert_eq!(button["elements"][0]["text"]["text"], "Post to channel");
    assert_eq!(button["elements"][0]["value"], "7");

    let resp = app
        .click(ALICE, HELP, blocks::POST_ACTION, "stats", Value::from("7"))
        .await;
    assert_eq!(resp.status(), 200);
    let posted = wait_until(Duration::from_secs(10), || {
        app.fake
            .successful_calls_to("chat.postMessage")
            .into_iter()
            .find(|c| {
                c.body["channel"] == HELP
                    && c.body["text"]
                        .as_str()
                        .is_some_and(|t| t.starts_with("Support stats"))
            })
    })
    .await
    .expect("the report posted in the channel");
    assert_eq!(sections(&posted.body["blocks"]), sections(&reply["blocks"]));
    assert!(
        !posted.body["blocks"].to_string().contains("\"actions\""),
        "no button on the posted report"
    );
}

#[tokio::test]
async fn a_window_slack_does_not_offer_gets_the_usage() {
    let app = spawn_app().await;
    let reply = app.command_json(ALICE, HELP, "stats 12y").await;
    let text = reply["text"].as_str().unwrap_or_default();
    assert!(
        text.contains("`12y`") && text.contains("/platform stats 90d"),
        "{text}"
    );
    assert!(reply.get("blocks").is_none());
}
