//! The real binary as an operator runs it: killed with pending outbox rows and restarted,
//! stopped by SIGTERM, and its CLI's exit codes.

mod common;

use common::*;
use platform_desk::sandbox::fake_slack::FakeSlack;
use serde_json::Value;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_platform-desk"))
}

/// A `serve` process that is killed if the test ends (or fails) while it still runs.
struct Server(Child);

impl std::ops::Deref for Server {
    type Target = Child;
    fn deref(&self) -> &Child {
        &self.0
    }
}

impl std::ops::DerefMut for Server {
    fn deref_mut(&mut self) -> &mut Child {
        &mut self.0
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // Both are no-ops for a child already waited for.
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `platform-desk serve` on `port` with the test policy, the database in `dir` and the
/// fake Slack, warnings only; callers may add to or override the environment.
fn serve_command(dir: &Path, fake: &FakeSlack, port: u16) -> Command {
    let policy = dir.join("policy.toml");
    std::fs::write(&policy, test_policy_text()).unwrap();
    let mut command = bin();
    command
        .arg("serve")
        .env_clear()
        .env("SLACK_BOT_TOKEN", BOT_TOKEN)
        .env("SLACK_SIGNING_SECRET", SECRET)
        .env("SLACK_API_URL", fake.api_url())
        .env(
            "DATABASE_URL",
            format!("sqlite://{}", dir.join("desk.db").display()),
        )
        .env("PLATFORM_DESK_CONFIG", &policy)
        .env("LISTEN_ADDR", format!("127.0.0.1:{port}"))
        .env("RUST_LOG", "warn");
    command
}

fn start_binary(dir: &Path, fake: &FakeSlack, port: u16) -> Server {
    serve_command(dir, fake, port)
        .stdout(Stdio::null())
        // Not read by anyone: a pipe would block a chatty server once its buffer filled.
        .stderr(Stdio::null())
        .spawn()
        .map(Server)
        .expect("the binary starts")
}

async fn wait_ready(port: u16) {
    let http = reqwest::Client::new();
    for _ in 0..1000 {
        if let Ok(r) = http
            .get(format!("http://127.0.0.1:{port}/readyz"))
            .send()
            .await
        {
            if r.status() == 200 {
                return;
            }
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("the binary never became ready");
}

async fn command(port: u16, text: &str) -> Value {
    let body = serde_urlencoded::to_string([
        ("team_id", "T0A1B2C3D4"),
        ("user_id", ALICE),
        ("channel_id", "C04PLATENG"),
        ("command", "/platform"),
        ("text", text),
        (
            "response_url",
            "https://hooks.slack.com/commands/T0A1B2C3D4/1/x",
        ),
        ("trigger_id", "1.1.a"),
    ])
    .unwrap();
    let ts = chrono::Utc::now().timestamp().to_string();
    let sig = platform_desk::slack::signature::sign(SECRET, &ts, body.as_bytes());
    reqwest::Client::new()
        .post(format!("http://127.0.0.1:{port}/slack/commands"))
        .header("X-Slack-Request-Timestamp", ts)
        .header("X-Slack-Signature", sig)
        .body(body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

#[tokio::test]
async fn pending_outbox_rows_survive_a_kill_and_are_delivered_once_after_restart() {
    let dir = tempfile::tempdir().unwrap();
    let fake = FakeSlack::start().await;
    // Slack holds the bot back for a minute: the cards stay pending.
    fake.fail_next(
        "chat.postMessage",
        [platform_desk::sandbox::fake_slack::Failure::RateLimited {
            retry_after_secs: 60,
        }],
    );
    let port = free_port();
    let mut child = start_binary(dir.path(), &fake, port);
    wait_ready(port).await;
    for i in 0..3 {
        let answer = command(port, &format!("request survive the crash {i}")).await;
        assert!(
            answer["text"]
                .as_str()
                .unwrap()
                .contains(&format!("PLAT-{}", i + 1)),
            "{answer}"
        );
    }
    // The bot has met the rate limit (so it holds the cards back) before it is killed.
    let started = std::time::Instant::now();
    while fake.calls_to("chat.postMessage").is_empty() {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the bot never tried to post"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    child.kill().unwrap(); // SIGKILL: no goodbye
    child.wait().unwrap();
    assert_eq!(
        fake.calls_to("chat.postMessage").len(),
        1,
        "one attempt, rate limited"
    );
    assert_eq!(
        fake.successful_calls_to("chat.postMessage").len(),
        0,
        "nothing was delivered before the kill"
    );

    let port = free_port();
    let mut child = start_binary(dir.path(), &fake, port);
    wait_ready(port).await;
    let delivered = fake
        .wait_for("chat.postMessage", 3, Duration::from_secs(10))
        .await;
    assert_eq!(delivered.len(), 3);
    wait_all_sent(dir.path(), "the three cards are recorded").await;
    let card_keys = || {
        let mut keys: Vec<String> = fake
            .successful_calls_to("chat.postMessage")
            .iter()
            .map(|c| {
                let text = c.body["text"].as_str().unwrap();
                text.split(' ').next().unwrap().to_string()
            })
            .collect();
        keys.sort();
        keys
    };
    assert_eq!(
        card_keys(),
        ["PLAT-1", "PLAT-2", "PLAT-3"],
        "each card exactly once"
    );

    // A graceful stop now, then a third start: nothing is sent again. A new request's card
    // comes after the old ones in the intake channel's queue: once it is delivered and
    // every row recorded, a card sent again would have shown.
    stop(&mut child);
    let port = free_port();
    let mut child = start_binary(dir.path(), &fake, port);
    wait_ready(port).await;
    let answer = command(port, "request rotate the deploy key").await;
    assert!(
        answer["text"].as_str().unwrap().contains("PLAT-4"),
        "{answer}"
    );
    wait_all_sent(dir.path(), "the fourth card is recorded").await;
    assert_eq!(
        card_keys(),
        ["PLAT-1", "PLAT-2", "PLAT-3", "PLAT-4"],
        "sent rows are never sent twice"
    );
    stop(&mut child);
}

/// Posts a signed Events API delivery; returns the HTTP status.
async fn event(port: u16, body: &Value) -> u16 {
    let body = body.to_string();
    let ts = chrono::Utc::now().timestamp().to_string();
    let sig = platform_desk::slack::signature::sign(SECRET, &ts, body.as_bytes());
    reqwest::Client::new()
        .post(format!("http://127.0.0.1:{port}/slack/events"))
        .header("X-Slack-Request-Timestamp", ts)
        .header("X-Slack-Signature", sig)
        .header("Content-Type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

/// The database file the binary uses, opened as an operator would, beside it.
async fn database(dir: &Path) -> platform_desk::store::Pool {
    platform_desk::store::connect(&format!("sqlite://{}", dir.join("desk.db").display()))
        .await
        .unwrap()
}

/// `(channel, status)` of every outbox row, read from the database file the binary uses.
async fn outbox_rows(dir: &Path) -> Vec<(String, String)> {
    let pool = database(dir).await;
    let rows = sqlx::query_as("select channel, status from outbox order by id")
        .fetch_all(&pool)
        .await
        .unwrap();
    pool.close().await;
    rows
}

/// Waits (10 s at most) until every outbox row of the database in `dir` is sent. The
/// sender never calls Slack again for a row recorded as sent: what the fake has seen then
/// is final.
async fn wait_all_sent(dir: &Path, what: &str) {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !outbox_rows(dir).await.iter().all(|(_, s)| s == "sent") {
        assert!(
            std::time::Instant::now() < deadline,
            "{what}: not every row was sent in time"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn a_post_slack_has_answered_is_marked_sent_at_once_and_not_sent_again_after_a_kill() {
    let dir = tempfile::tempdir().unwrap();
    let fake = FakeSlack::start().await;
    // Slack holds the first post for longer than this test waits for anything.
    fake.fail_next(
        "chat.postMessage",
        [platform_desk::sandbox::fake_slack::Failure::Delay(
            Duration::from_secs(30),
        )],
    );
    let port = free_port();
    let mut child = start_binary(dir.path(), &fake, port);
    wait_ready(port).await;
    // A mention files a ticket with two posts to two channels, sent in one pass: the card
    // to the intake channel and the reply in the mention's thread.
    assert_eq!(
        event(port, &fixture_json("event_app_mention.json")).await,
        200
    );
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    let (answered, held) = loop {
        let rows = outbox_rows(dir.path()).await;
        let sent: Vec<_> = rows.iter().filter(|(_, s)| s == "sent").collect();
        let pending: Vec<_> = rows.iter().filter(|(_, s)| s == "pending").collect();
        if sent.len() == 1 && pending.len() == 1 {
            break (sent[0].0.clone(), pending[0].0.clone());
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the post Slack answered is marked sent while the other is still held"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    assert_ne!(answered, held);

    child.kill().unwrap(); // SIGKILL while Slack still holds the other post
    child.wait().unwrap();
    let port = free_port();
    let mut child = start_binary(dir.path(), &fake, port);
    wait_ready(port).await;
    let posts_to = |channel: &str| {
        fake.successful_calls_to("chat.postMessage")
            .iter()
            .filter(|c| c.body["channel"] == channel)
            .count()
    };
    wait_until(Duration::from_secs(10), || {
        (posts_to(&held) == 1).then_some(())
    })
    .await
    .expect("the held post is sent after the restart");
    wait_all_sent(dir.path(), "every row is recorded after the restart").await;
    assert_eq!(
        posts_to(&answered),
        1,
        "the post Slack had answered before the kill is not sent again"
    );
    assert!(outbox_rows(dir.path())
        .await
        .iter()
        .all(|(_, s)| s == "sent"));
    stop(&mut child);
}

#[tokio::test]
async fn posts_slack_took_without_answering_before_a_kill_are_found_after_restart_not_posted_again()
{
    let dir = tempfile::tempdir().unwrap();
    let fake = FakeSlack::start().await;
    // Slack takes both posts of a mention (the card, the thread reply) at once but holds
    // its answers past the kill: the bot dies not knowing they were posted.
    let lost = platform_desk::sandbox::fake_slack::Failure::AnswerLost(Duration::from_secs(30));
    fake.fail_next("chat.postMessage", [lost.clone(), lost]);
    let port = free_port();
    let mut child = start_binary(dir.path(), &fake, port);
    wait_ready(port).await;
    assert_eq!(
        event(port, &fixture_json("event_app_mention.json")).await,
        200
    );
    let shown = || -> Vec<(String, String)> {
        fake.messages()
            .into_iter()
            .filter(|m| !m.ephemeral)
            .map(|m| (m.channel, m.ts))
            .collect()
    };
    wait_until(Duration::from_secs(10), || {
        (shown().len() == 2).then_some(())
    })
    .await
    .expect("Slack took both posts");
    child.kill().unwrap(); // SIGKILL while both answers are still held
    child.wait().unwrap();
    assert!(outbox_rows(dir.path())
        .await
        .iter()
        .all(|(_, s)| s == "pending"));

    let port = free_port();
    let mut child = start_binary(dir.path(), &fake, port);
    wait_ready(port).await;
    wait_all_sent(
        dir.path(),
        "both rows are recorded as sent after the restart",
    )
    .await;
    assert_eq!(shown().len(), 2, "each message shows once: {:?}", shown());
    assert!(
        fake.successful_calls_to("conversations.history").len()
            + fake.successful_calls_to("conversations.replies").len()
            >= 2,
        "the restarted bot looked for each post"
    );
    // The card found this way is the ticket's card: later updates go to that message.
    let db = database(dir.path()).await;
    let (card_channel, card_ts): (String, String) =
        sqlx::query_as("select card_channel, card_ts from tickets")
            .fetch_one(&db)
            .await
            .unwrap();
    db.close().await;
    assert!(
        shown().contains(&(card_channel.clone(), card_ts.clone())),
        "{card_channel} {card_ts} is one of {:?}",
        shown()
    );
    stop(&mut child);
}

#[tokio::test]
async fn no_secret_reaches_the_log_even_at_trace_level() {
    let dir = tempfile::tempdir().unwrap();
    let fake = FakeSlack::start().await;
    // A failing post and a refused call put errors, retries and bodies in the log.
    fake.fail_next(
        "chat.postMessage",
        [platform_desk::sandbox::fake_slack::Failure::HttpStatus(500)],
    );
    let log = std::fs::File::create(dir.path().join("log.jsonl")).unwrap();
    let routing_key = "pd-routing-key-5f0c2a9e";
    let port = free_port();
    let mut child = Server(
        serve_command(dir.path(), &fake, port)
            .env("PAGERDUTY_ROUTING_KEY", routing_key)
            .env("RUST_LOG", "trace")
            .env("LOG_FORMAT", "json")
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("the binary starts"),
    );
    wait_ready(port).await;
    let answer = command(port, "request a token-free log").await;
    assert!(answer["text"].as_str().unwrap().contains("PLAT-1"));
    // A request signed with the wrong secret is refused (and logged).
    let body = "command=%2Fplatform&text=help&user_id=U1&channel_id=C1";
    let ts = chrono::Utc::now().timestamp().to_string();
    let status = reqwest::Client::new()
        .post(format!("http://127.0.0.1:{port}/slack/commands"))
        .header("X-Slack-Request-Timestamp", &ts)
        .header(
            "X-Slack-Signature",
            platform_desk::slack::signature::sign("not-the-secret", &ts, body.as_bytes()),
        )
        .body(body)
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status, 401);
    wait_all_sent(dir.path(), "the card is delivered after the 500").await;
    stop(&mut child);

    let written = std::fs::read_to_string(dir.path().join("log.jsonl")).unwrap();
    assert!(
        written.lines().count() > 50,
        "trace level logs plenty: {} lines",
        written.lines().count()
    );
    assert!(
        written.contains("outbox delivery failed"),
        "the 500 is logged"
    );
    for secret in [BOT_TOKEN, SECRET, routing_key] {
        assert!(!written.contains(secret), "a secret reached the log");
    }
}

#[test]
fn a_command_line_that_does_not_parse_is_a_one_line_user_error_with_exit_1() {
    for args in [
        &["export", "tickets", "--format", "xml"][..],
        &["no-such-command"],
        &["serve", "--no-such-flag"],
        &["export"],
    ] {
        let out = bin().args(args).env_clear().output().unwrap();
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        let stderr = String::from_utf8(out.stderr).unwrap();
        let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
        assert_eq!(lines.len(), 1, "{args:?}: {stderr}");
        assert!(lines[0].starts_with("error: "), "{args:?}: {stderr}");
    }
    let bad_format = bin()
        .args(["export", "tickets", "--format", "xml"])
        .output()
        .unwrap();
    let said = String::from_utf8(bad_format.stderr).unwrap();
    assert!(said.contains("xml") && said.contains("csv"), "{said}");
    // Help is not an error.
    for args in [
        &["--help"][..],
        &["export", "tickets", "--help"],
        &["--version"],
    ] {
        let out = bin().args(args).output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{args:?}");
        assert!(!out.stdout.is_empty(), "{args:?}");
    }
}

/// SIGTERM, as an orchestrator stops the bot (sent from Rust: the suite needs no `kill`).
fn stop(child: &mut Server) {
    let pid = nix::unistd::Pid::from_raw(child.id() as i32);
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).unwrap();
    let status = child.wait().unwrap();
    assert!(status.success(), "SIGTERM is a clean exit: {status:?}");
}

#[tokio::test]
async fn sigterm_finishes_in_flight_work_and_leaves_a_clean_database() {
    let dir = tempfile::tempdir().unwrap();
    let fake = FakeSlack::start().await;
    let port = free_port();
    let mut child = start_binary(dir.path(), &fake, port);
    wait_ready(port).await;
    let answer = command(port, "request before the stop").await;
    assert!(answer["text"].as_str().unwrap().contains("PLAT-1"));
    fake.wait_for("chat.postMessage", 1, Duration::from_secs(5))
        .await;
    stop(&mut child);
    // The WAL was checkpointed into the main file on the way out.
    let wal = dir.path().join("desk.db-wal");
    assert!(
        !wal.exists() || std::fs::metadata(&wal).unwrap().len() == 0,
        "WAL left behind"
    );
    let http = reqwest::Client::new();
    assert!(
        http.get(format!("http://127.0.0.1:{port}/healthz"))
            .send()
            .await
            .is_err(),
        "no longer listening"
    );
}

#[test]
fn config_check_accepts_the_contract_example_and_prints_the_sla_table() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("policy.toml");
    std::fs::write(&file, include_str!("fixtures/contract_policy.toml")).unwrap();
    let out = bin().args(["config", "check"]).arg(&file).output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    for needle in ["P1", "P4", "15m", "10days"] {
        assert!(stdout.contains(needle), "{needle} in {stdout}");
    }
}

#[test]
fn config_check_reports_every_problem_with_its_key_and_exits_1() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("policy.toml");
    let text = include_str!("fixtures/contract_policy.toml")
        .replace(
            "first_response = \"15m\"",
            "first_response = \"15 parsecs\"",
        )
        .replace("warn_at = 0.75", "warn_at = 0.75\nwarn_att = 1");
    std::fs::write(&file, text).unwrap();
    let out = bin().args(["config", "check"]).arg(&file).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(all.contains("warn_att"), "{all}");
}

#[test]
fn serve_without_a_bot_token_is_a_one_line_user_error() {
    let out = bin()
        .arg("serve")
        .env_clear()
        .env("SLACK_SIGNING_SECRET", "s3cr3t-value")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("SLACK_BOT_TOKEN"), "{stderr}");
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(!stderr.contains("s3cr3t-value"));
}

#[test]
fn migrate_creates_the_schema_and_is_repeatable() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("m.db").display());
    for _ in 0..2 {
        let out = bin()
            .arg("migrate")
            .env_clear()
            .env("DATABASE_URL", &url)
            .output()
            .unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    assert!(dir.path().join("m.db").exists());
}

#[tokio::test]
async fn export_gives_every_ticket_as_json_and_csv_with_the_contract_fields() {
    let app = spawn_app().await;
    app.command_json(ALICE, "C04PLATENG", "request first, with a comma")
        .await;
    app.command_json(ALICE, "C04PLATENG", "request prod down: second")
        .await;
    let url = format!("sqlite://{}", app.db_path.display());
    let json = bin()
        .args(["export", "tickets", "--format", "json"])
        .env_clear()
        .env("DATABASE_URL", &url)
        .output()
        .unwrap();
    assert_eq!(
        json.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&json.stderr)
    );
    let records: Vec<Value> = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(records.len(), 2);
    let fields = [
        "key",
        "title",
        "description",
        "requester",
        "channel",
        "source",
        "category",
        "priority",
        "status",
        "assignee",
        "created_at",
        "first_response_at",
        "resolved_at",
        "first_response_due",
        "resolution_due",
        "first_response_breached",
        "resolution_breached",
        "csat",
    ];
    let keys: Vec<&String> = records[0].as_object().unwrap().keys().collect();
    assert_eq!(keys.len(), fields.len());
    for f in fields {
        assert!(records[0].get(f).is_some(), "{f}");
    }
    assert_eq!(records[1]["priority"], "P1");
    assert!(records[0]["assignee"].is_null() && records[0]["csat"].is_null());
    assert!(
        chrono::DateTime::parse_from_rfc3339(records[0]["created_at"].as_str().unwrap()).is_ok()
    );

    let csv = bin()
        .args(["export", "tickets", "--format", "csv", "--days", "7"])
        .env_clear()
        .env("DATABASE_URL", &url)
        .output()
        .unwrap();
    let text = String::from_utf8(csv.stdout).unwrap();
    let lines: Vec<&str> = text.trim_end().split("\r\n").collect();
    assert_eq!(lines.len(), 3);
    assert_eq!(lines[0], fields.join(","));
    assert!(
        lines[1].starts_with("PLAT-1,\"first, with a comma\","),
        "{}",
        lines[1]
    );
}
