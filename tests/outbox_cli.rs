//! `platform-desk outbox failed` and `outbox retry`, the real binary on the database file of
//! a bot whose messages Slack refused: the list, the requeue, and the bot sending them.

mod common;

use common::*;
use serde_json::Value;
use std::process::{Command, Output};
use std::time::Duration;

fn outbox(app: &TestApp, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_platform-desk"))
        .arg("outbox")
        .args(args)
        .env_clear()
        .env(
            "DATABASE_URL",
            format!("sqlite://{}", app.db_path.display()),
        )
        .output()
        .expect("the binary runs")
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A one-line user error: exit 1 and a single line on stderr containing `needle`.
fn assert_user_error(out: &Output, needle: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(stderr.contains(needle), "{needle:?} in {stderr}");
}

/// A bot whose two intake cards Slack refused until they were given up, then stopped.
async fn app_with_two_failed_cards() -> TestApp {
    let mut app = spawn_app().await;
    app.fake
        .set_slack_error_always("chat.postMessage", Some("internal_error".into()));
    for text in [
        "request the registry is down",
        "request rotate the vault token",
    ] {
        app.command_json(ALICE, "C04PLATENG", text).await;
    }
    // Each card is tried max_attempts times, then given up: nothing stays pending.
    for _ in 0..1000 {
        if app
            .scalar("select count(*) from outbox where status = 'pending'")
            .await
            == 0
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(
        app.scalar("select count(*) from outbox where status = 'failed' and channel = 'C01INTAKE'")
            .await,
        2,
        "both cards were given up"
    );
    app.stop().await;
    app
}

#[tokio::test]
async fn failed_lists_every_message_slack_never_took_as_text_and_json() {
    let app = app_with_two_failed_cards().await;
    let failed = app
        .scalar("select count(*) from outbox where status = 'failed'")
        .await;

    let out = outbox(&app, &["failed"]);
    assert_eq!(out.status.code(), Some(0));
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines.len() as i64,
        failed + 1,
        "a header and a line per row:\n{text}"
    );
    assert!(
        lines[0].starts_with("ID")
            && lines[0].contains("FAILED (UTC)")
            && lines[0].contains("LAST ERROR"),
        "{text}"
    );
    let card = lines
        .iter()
        .find(|l| l.contains("PLAT-1") && l.contains("C01INTAKE"))
        .unwrap_or_else(|| panic!("PLAT-1's card in\n{text}"));
    assert!(
        card.contains("chat.postMessage") && card.contains("internal_error"),
        "{card}"
    );
    assert!(
        card.contains(" 5 "),
        "five attempts (the test policy's max): {card}"
    );

    let out = outbox(&app, &["failed", "--format", "json"]);
    assert_eq!(out.status.code(), Some(0));
    let rows: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(rows.len() as i64, failed);
    let cards: Vec<&Value> = rows
        .iter()
        .filter(|r| r["channel"] == "C01INTAKE")
        .collect();
    assert_eq!(cards.len(), 2);
    for (card, key) in cards.iter().zip(["PLAT-1", "PLAT-2"]) {
        assert_eq!(card["ticket"], key);
        assert_eq!(card["method"], "chat.postMessage");
        assert_eq!(card["attempts"], 5);
        assert_eq!(card["last_error"], "internal_error");
        assert!(card["id"].is_i64());
        let written = card["created_at"].as_str().unwrap();
        let written = chrono::DateTime::parse_from_rfc3339(written)
            .unwrap_or_else(|e| panic!("{written}: {e}"));
        // Given up after its tries, so after it was written, and no later than now.
        let failed_at = card["failed_at"]
            .as_str()
            .unwrap_or_else(|| panic!("{card}"));
        let failed_at = chrono::DateTime::parse_from_rfc3339(failed_at)
            .unwrap_or_else(|e| panic!("{failed_at}: {e}"));
        assert!(
            written <= failed_at && failed_at <= chrono::Utc::now(),
            "{card}"
        );
    }
}

#[tokio::test]
async fn retried_rows_are_pending_again_with_attempts_reset_and_the_bot_sends_them_once() {
    let app = app_with_two_failed_cards().await;
    let id_of = |key: &str| {
        format!(
            "select o.id from outbox o join tickets t on t.id = o.ticket_id \
             where t.key = '{key}' and o.channel = 'C01INTAKE'"
        )
    };
    let first = app.scalar(&id_of("PLAT-1")).await;

    // One row by id: only it is requeued, and the command says which.
    let out = outbox(&app, &["retry", &first.to_string()]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let said = stdout(&out);
    assert!(
        said.contains(&format!("requeued {first} chat.postMessage to C01INTAKE")),
        "{said}"
    );
    assert_eq!(
        app.scalar(&format!("select attempts from outbox where id = {first}"))
            .await,
        0
    );
    assert_eq!(
        app.text(&format!("select failed_at from outbox where id = {first}"))
            .await,
        None,
        "a requeued row is no longer failed, so it has no failure time"
    );
    assert_eq!(
        app.text(&format!("select status from outbox where id = {first}"))
            .await
            .unwrap(),
        "pending"
    );
    let second = app.scalar(&id_of("PLAT-2")).await;
    assert_eq!(
        app.text(&format!("select status from outbox where id = {second}"))
            .await
            .unwrap(),
        "failed"
    );
    // The same id again is no longer failed.
    assert_user_error(
        &outbox(&app, &["retry", &first.to_string()]),
        "pending, not failed",
    );

    // --all takes the rest.
    let left = app
        .scalar("select count(*) from outbox where status = 'failed'")
        .await;
    let out = outbox(&app, &["retry", "--all"]);
    assert_eq!(out.status.code(), Some(0));
    let said = stdout(&out);
    assert_eq!(
        said.lines().filter(|l| l.starts_with("requeued ")).count() as i64,
        left,
        "{said}"
    );
    assert!(said.contains(&format!("requeued {second} ")), "{said}");
    assert_eq!(
        app.scalar("select count(*) from outbox where status = 'failed'")
            .await,
        0
    );
    assert!(stdout(&outbox(&app, &["retry", "--all"])).contains("nothing to retry"));
    assert!(stdout(&outbox(&app, &["failed"])).contains("no failed outbox rows"));
    // Slack may have taken a post whose answer was lost: each requeued post is marked so
    // that the sender looks for it in the channel before posting it again.
    assert_eq!(
        app.scalar(
            "select count(*) from outbox where method = 'chat.postMessage' \
             and (started_at is null or started_at <> created_at)"
        )
        .await,
        0
    );

    // Slack takes messages again: the bot sends each requeued card, once.
    app.fake.set_slack_error_always("chat.postMessage", None);
    let app = app.restart(Options::default()).await;
    let cards = app.intake_cards(2).await;
    let mut keys: Vec<&str> = cards
        .iter()
        .map(|c| c["text"].as_str().unwrap().split(' ').next().unwrap())
        .collect();
    keys.sort();
    assert_eq!(keys, ["PLAT-1", "PLAT-2"]);
    app.settled().await;
    assert_eq!(
        app.scalar("select count(*) from outbox where status <> 'sent'")
            .await,
        0
    );
    assert_eq!(app.cards().len(), 2, "each card once");
    assert!(
        !app.fake.calls_to("conversations.history").is_empty(),
        "the bot looked in the intake channel before posting again"
    );
}

#[tokio::test]
async fn retry_of_an_unknown_id_or_with_no_id_is_a_user_error_and_changes_nothing() {
    let app = app_with_two_failed_cards().await;
    let failed = app
        .scalar("select count(*) from outbox where status = 'failed'")
        .await;
    assert_user_error(&outbox(&app, &["retry", "999999"]), "no outbox row 999999");
    assert_user_error(&outbox(&app, &["retry"]), "error:");
    assert_user_error(&outbox(&app, &["retry", "1", "--all"]), "error:");
    assert_user_error(&outbox(&app, &["retry", "one"]), "one");
    assert_eq!(
        app.scalar("select count(*) from outbox where status = 'failed'")
            .await,
        failed,
        "nothing was requeued"
    );
}

#[test]
fn outbox_commands_on_a_database_that_is_not_there_are_a_user_error() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope.db");
    let out = Command::new(env!("CARGO_BIN_EXE_platform-desk"))
        .args(["outbox", "failed"])
        .env_clear()
        .env("DATABASE_URL", format!("sqlite://{}", missing.display()))
        .output()
        .unwrap();
    assert_user_error(&out, "no database at");
    assert!(!missing.exists(), "no empty database was made");
}
