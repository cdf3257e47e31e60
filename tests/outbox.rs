//! Delivery to Slack: rate limits, server errors and giving up, with every message arriving
//! exactly once and nothing dropped silently.

mod common;

use common::*;
use platform_desk::sandbox::fake_slack::Failure;
use serde_json::json;
use std::time::{Duration, Instant};

#[tokio::test]
async fn rate_limits_then_server_errors_then_recovery_deliver_each_message_exactly_once() {
    let app = spawn_app().await;
    app.fake.fail_next(
        "chat.postMessage",
        [
            Failure::RateLimited {
                retry_after_secs: 1,
            },
            Failure::HttpStatus(500),
            Failure::HttpStatus(503),
            Failure::SlackError("internal_error".into()),
        ],
    );
    let started = Instant::now();
    for i in 0..5 {
        let answer = app
            .command_json(ALICE, "C04PLATENG", &format!("request outage number {i}"))
            .await;
        assert!(answer["text"]
            .as_str()
            .unwrap()
            .contains(&format!("PLAT-{}", i + 1)));
    }
    let cards = app.intake_cards(5).await;
    assert_eq!(cards.len(), 5, "every card arrives");
    // The 429 said wait one second: nothing was sent before it ran out.
    let first_ok = app.fake.successful_calls_to("chat.postMessage")[0].at;
    let first_try = app.fake.calls_to("chat.postMessage")[0].at;
    assert!(
        first_ok.duration_since(first_try) >= Duration::from_millis(950),
        "Retry-After honoured"
    );
    assert!(started.elapsed() < Duration::from_secs(10));

    // Exactly once each, in order.
    app.settled().await;
    let keys = card_keys(&app);
    assert_eq!(keys, ["PLAT-1", "PLAT-2", "PLAT-3", "PLAT-4", "PLAT-5"]);
    assert_eq!(
        app.scalar("select count(*) from outbox where status = 'sent'")
            .await,
        5
    );
    let metrics = app.metrics().await;
    assert!(
        metrics.contains("platform_desk_outbox_rate_limited_total 1\n"),
        "{metrics}"
    );
    assert!(
        metrics.contains("platform_desk_outbox_retries_total 3\n"),
        "{metrics}"
    );
}

#[tokio::test]
async fn a_message_that_keeps_failing_is_marked_failed_logged_and_counted_never_dropped_silently() {
    let app = spawn_app().await;
    app.fake
        .set_slack_error_always("chat.postMessage", Some("internal_error".into()));
    app.command_json(ALICE, "C04PLATENG", "request doomed card")
        .await;
    for _ in 0..500 {
        if app
            .scalar("select count(*) from outbox where status = 'failed'")
            .await
            == 1
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(
        app.scalar("select count(*) from outbox where status = 'failed'")
            .await,
        1
    );
    assert_eq!(
        app.scalar("select attempts from outbox").await,
        5,
        "max_attempts = 5 in the test policy"
    );
    assert_eq!(
        app.text("select last_error from outbox").await.unwrap(),
        "internal_error"
    );
    assert_eq!(app.fake.calls_to("chat.postMessage").len(), 5);
    let metrics = app.metrics().await;
    assert!(
        metrics.contains("platform_desk_outbox_failed_total 1\n"),
        "{metrics}"
    );
    assert!(
        metrics.contains("platform_desk_outbox_failed_rows 1\n"),
        "{metrics}"
    );
    // CONTRACT's name for the same gauge.
    assert!(
        metrics.contains("platform_desk_outbox_failed 1\n"),
        "{metrics}"
    );
}

#[tokio::test]
async fn a_permanent_slack_error_fails_the_row_at_once_and_the_channel_moves_on() {
    let app = spawn_app().await;
    app.fake.fail_next(
        "chat.postMessage",
        [Failure::SlackError("channel_not_found".into())],
    );
    app.command_json(ALICE, "C04PLATENG", "request first").await;
    app.command_json(ALICE, "C04PLATENG", "request second")
        .await;
    let cards = app.intake_cards(1).await;
    assert_eq!(cards.len(), 1);
    assert!(cards[0]["text"].as_str().unwrap().starts_with("PLAT-2"));
    assert_eq!(
        app.scalar("select count(*) from outbox where status = 'failed' and attempts = 1")
            .await,
        1
    );
}

#[tokio::test]
async fn a_channel_is_paced_to_its_configured_rate() {
    let policy = test_policy_text()
        .replace("channel_interval = \"1ms\"", "channel_interval = \"500ms\"")
        .replace("channel_burst = 50", "channel_burst = 2");
    let app = spawn_with(Options {
        policy,
        ..Options::default()
    })
    .await;
    for i in 0..5 {
        app.command_json(ALICE, "C04PLATENG", &format!("request paced {i}"))
            .await;
    }
    app.intake_cards(5).await;
    let at: Vec<Instant> = app
        .fake
        .successful_calls_to("chat.postMessage")
        .iter()
        .map(|c| c.at)
        .collect();
    let outcomes: Vec<String> = app
        .fake
        .calls()
        .iter()
        .map(|c| format!("{} {} {}", c.method, c.outcome, c.body))
        .collect();
    assert_eq!(at.len(), 5, "{outcomes:#?}");
    // Two at once (the burst), then one per 500 ms: the last comes 3 intervals (1.5 s) after
    // the first is paced. These are arrival times at the fake, and a loaded machine may
    // delay the first call's arrival (its start is committed first): 300 ms of slack.
    assert!(
        at[4].duration_since(at[0]) >= Duration::from_millis(1200),
        "{:?}",
        at[4].duration_since(at[0])
    );
}

/// Polls the outbox until `(sent, pending)` counts are as expected; returns the pending rows'
/// channels, in order.
async fn await_outbox(app: &TestApp, sent: i64, pending: i64) -> Vec<String> {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let now_sent = app
            .scalar("select count(*) from outbox where status = 'sent'")
            .await;
        let now_pending = app
            .scalar("select count(*) from outbox where status = 'pending'")
            .await;
        if (now_sent, now_pending) == (sent, pending) {
            let channels = app
                .text("select group_concat(channel) from (select channel from outbox where status = 'pending' order by id)")
                .await
                .unwrap_or_default();
            return channels.split(',').map(str::to_string).collect();
        }
        assert!(
            Instant::now() < deadline,
            "outbox never reached {sent} sent and {pending} pending: {now_sent} and {now_pending}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn a_post_slack_is_slow_to_answer_holds_back_only_its_own_channel() {
    let app = spawn_app().await;
    // Slack holds the first post for longer than this test waits for anything.
    app.fake.fail_next(
        "chat.postMessage",
        [Failure::Delay(Duration::from_secs(30))],
    );
    // A mention's card goes to the intake channel and its reply to the mention's channel.
    let first = fixture_json("event_app_mention.json");
    assert_eq!(app.event(&first, None).await.status(), 200);
    let held = await_outbox(&app, 1, 1).await;

    // A second mention in the same channel: the post to the channel Slack is not holding
    // goes out at once; the one to the held channel waits behind the held post, in order.
    let mut second = envelope(first["event"].clone());
    second["event"]["ts"] = serde_json::json!("1700000300.000500");
    second["event"]["event_ts"] = serde_json::json!("1700000300.000500");
    second["event"]["client_msg_id"] = serde_json::json!("6a2d3e4f-5b6c-4d7e-8f90-1a2b3c4d5e6f");
    second["event"]["text"] =
        serde_json::json!("<@U07BOTPLT9> request the staging database migration is blocked");
    assert_eq!(app.event(&second, None).await.status(), 200);
    let still_pending = await_outbox(&app, 2, 2).await;
    assert_eq!(still_pending, [held[0].clone(), held[0].clone()]);
}

/// Runs one statement on the database, from a connection of its own (like an operator).
async fn execute(app: &TestApp, sql: &str) {
    let pool = platform_desk::store::connect(&format!("sqlite://{}", app.db_path.display()))
        .await
        .unwrap();
    sqlx::query(sqlx::AssertSqlSafe(sql.to_string()))
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;
}

#[tokio::test]
async fn a_post_whose_answer_cannot_be_recorded_is_not_sent_again_and_is_recorded_later() {
    let app = spawn_app().await;
    // The database refuses to mark any intake-channel row done, as a full disk or a lock
    // held past the busy timeout would.
    execute(
        &app,
        "create trigger refuse_marks before update of status on outbox \
         when new.status <> 'pending' and old.channel = 'C01INTAKE' \
         begin select raise(abort, 'refused by the test'); end",
    )
    .await;
    let answer = app
        .command_json(ALICE, "C04PLATENG", "request the build cache is full")
        .await;
    assert!(answer["text"].as_str().unwrap().contains("PLAT-1"));
    assert_eq!(app.intake_cards(1).await.len(), 1, "the card is posted");

    // Slack has the card, but the row is still pending: posting it again would show the
    // card twice. A later mention elsewhere: its reply is sent and recorded by passes that
    // come after the refused record, and the card is not sent again in them; the
    // mention's own card waits behind the unrecorded one.
    let mention = fixture_json("event_app_mention.json");
    assert_eq!(app.event(&mention, None).await.status(), 200);
    let deadline = Instant::now() + Duration::from_secs(10);
    while app
        .text("select status from outbox where channel = 'C04PLATENG'")
        .await
        .as_deref()
        != Some("sent")
    {
        assert!(
            Instant::now() < deadline,
            "the mention's reply was never sent"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(
        app.cards().len(),
        1,
        "the card was not posted a second time"
    );
    assert_eq!(
        app.scalar("select count(*) from outbox where status = 'pending'")
            .await,
        2,
        "the unrecorded card and the card held behind it"
    );

    execute(&app, "drop trigger refuse_marks").await;
    // The next try comes within the backoff's 10 s cap; then the held card goes.
    app.settled().await;
    let keys = card_keys(&app);
    assert_eq!(keys, ["PLAT-1", "PLAT-2"], "each card once, in order");
    let intake_calls = app
        .fake
        .calls_to("chat.postMessage")
        .into_iter()
        .filter(|c| c.body["channel"] == INTAKE)
        .count();
    assert_eq!(intake_calls, 2, "and one call for each");
    // What the later steps need was recorded too: the card's ts, for updates and threads.
    assert_eq!(
        app.scalar("select count(*) from tickets where card_ts is not null")
            .await,
        2
    );
}

/// The intake channel's messages as the fake workspace shows them.
fn intake_messages(app: &TestApp) -> Vec<String> {
    app.fake
        .messages()
        .into_iter()
        .filter(|m| m.channel == INTAKE && !m.ephemeral)
        .map(|m| m.ts)
        .collect()
}

async fn wait_all_sent(app: &TestApp) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while app
        .scalar("select count(*) from outbox where status != 'sent'")
        .await
        > 0
    {
        assert!(Instant::now() < deadline, "every row is sent in time");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn a_post_slack_took_but_answered_with_a_server_error_is_found_not_posted_twice() {
    let app = spawn_app().await;
    app.fake
        .fail_next("chat.postMessage", [Failure::StatusAfterDoing(500)]);
    let answer = app
        .command_json(ALICE, "C04PLATENG", "request the & <!channel> build cache")
        .await;
    assert!(answer["text"].as_str().unwrap().contains("PLAT-1"));
    wait_all_sent(&app).await;

    let shown = intake_messages(&app);
    assert_eq!(shown.len(), 1, "the card shows once");
    assert_eq!(
        app.fake.calls_to("chat.postMessage").len(),
        1,
        "the retry found the post instead of posting again"
    );
    let searches = app.fake.successful_calls_to("conversations.history");
    assert_eq!(searches.len(), 1);
    assert_eq!(searches[0].body["channel"], INTAKE);
    assert_eq!(searches[0].body["include_all_metadata"], true);
    assert_eq!(
        app.text("select result_ts from outbox").await.as_deref(),
        Some(shown[0].as_str())
    );
    assert_eq!(
        app.text("select card_ts from tickets").await.as_deref(),
        Some(shown[0].as_str()),
        "the found post is the ticket's card"
    );
    let metrics = app.metrics().await;
    assert!(
        metrics.contains("platform_desk_outbox_already_posted_total 1\n"),
        "{metrics}"
    );
    assert!(
        metrics.contains("platform_desk_outbox_retries_total 1\n"),
        "{metrics}"
    );

    // A post whose answer comes back is never searched for, and carries its row.
    app.command_json(ALICE, "C04PLATENG", "request a second thing")
        .await;
    wait_all_sent(&app).await;
    assert_eq!(intake_messages(&app).len(), 2);
    assert_eq!(app.fake.calls_to("conversations.history").len(), 1);
    let second = app.fake.successful_calls_to("chat.postMessage");
    assert_eq!(
        second[0].body["metadata"]["event_type"],
        "platform_desk_outbox"
    );
    assert!(second[0].body["metadata"]["event_payload"]["outbox_row"]
        .as_str()
        .unwrap()
        .starts_with("2@"));
}

#[tokio::test]
async fn an_unanswered_post_that_cannot_be_searched_for_is_posted_again_rather_than_lost() {
    let app = spawn_app().await;
    app.fake
        .set_slack_error_always("conversations.history", Some("missing_scope".into()));
    app.fake
        .fail_next("chat.postMessage", [Failure::StatusAfterDoing(502)]);
    app.command_json(ALICE, "C04PLATENG", "request a search that fails")
        .await;
    wait_all_sent(&app).await;
    assert_eq!(
        intake_messages(&app).len(),
        2,
        "without the search, the message is sent again: twice, never lost"
    );
    assert_eq!(
        app.fake.calls_to("conversations.history").len(),
        1,
        "it did try to search"
    );
}

#[tokio::test]
async fn a_post_answered_429_is_retried_without_a_search() {
    let app = spawn_app().await;
    app.fake.fail_next(
        "chat.postMessage",
        [Failure::RateLimited {
            retry_after_secs: 1,
        }],
    );
    app.command_json(ALICE, "C04PLATENG", "request patience")
        .await;
    wait_all_sent(&app).await;
    assert_eq!(intake_messages(&app).len(), 1);
    assert!(
        app.fake.calls_to("conversations.history").is_empty(),
        "a 429 took nothing, so there was nothing to look for"
    );
    assert_eq!(
        app.scalar("select count(*) from outbox where started_at is not null")
            .await,
        0
    );
}

#[tokio::test]
async fn a_dm_whose_answer_was_lost_is_looked_for_in_the_dm_and_not_sent_twice() {
    let app = spawn_app().await;
    app.fake
        .fail_next("chat.postMessage", [Failure::StatusAfterDoing(503)]);
    // A click in a DM on a ticket that does not exist: the bot tells the clicker by DM,
    // addressed to the user ID.
    let resp = app
        .click(
            ALICE,
            "D0ALICE",
            "ticket_ack",
            "b",
            serde_json::json!("999"),
        )
        .await;
    assert_eq!(resp.status(), 200);
    wait_all_sent(&app).await;
    // The fake opens user `U…`'s DM as `D…`, as Slack's IDs go.
    let dm = format!("D{}", &ALICE[1..]);
    let shown: Vec<_> = app
        .fake
        .messages()
        .into_iter()
        .filter(|m| m.channel == dm)
        .collect();
    assert_eq!(shown.len(), 1, "the DM shows once: {shown:?}");
    assert!(shown[0].text.contains("no longer exists"));
    let searches = app.fake.successful_calls_to("conversations.history");
    assert_eq!(searches.len(), 1);
    assert_eq!(searches[0].body["channel"], dm.as_str());
    assert_eq!(app.fake.successful_calls_to("conversations.open").len(), 1);
}

#[tokio::test]
async fn a_rate_limited_search_waits_and_searches_again_rather_than_post_blindly() {
    let app = spawn_app().await;
    app.fake
        .fail_next("chat.postMessage", [Failure::StatusAfterDoing(500)]);
    app.fake.fail_next(
        "conversations.history",
        [Failure::RateLimited {
            retry_after_secs: 1,
        }],
    );
    let started = Instant::now();
    app.command_json(ALICE, "C04PLATENG", "request a patient search")
        .await;
    wait_all_sent(&app).await;
    assert_eq!(intake_messages(&app).len(), 1, "the card shows once");
    let searches = app.fake.calls_to("conversations.history");
    assert_eq!(searches.len(), 2, "searched, limited, searched again");
    assert!(
        searches[1].at.duration_since(searches[0].at) >= Duration::from_millis(950),
        "Retry-After honoured"
    );
    assert_eq!(app.fake.calls_to("chat.postMessage").len(), 1);
    assert!(started.elapsed() < Duration::from_secs(10));
}

/// Someone on the platform team (the test policy's `platform_team`).
const TEAM: &str = "U01ALICE";

/// The test policy with posts paced at `interval` per channel after a burst of one.
fn paced(interval: &str) -> Options {
    let policy = test_policy_text()
        .replace(
            "channel_interval = \"1ms\"",
            &format!("channel_interval = \"{interval}\""),
        )
        .replace("channel_burst = 50", "channel_burst = 1");
    Options {
        policy,
        ..Options::default()
    }
}

/// The fake's successful posts of ticket `key`'s card.
fn card_posts(app: &TestApp, key: &str) -> Vec<platform_desk::sandbox::fake_slack::ApiCall> {
    app.fake
        .successful_calls_to("chat.postMessage")
        .into_iter()
        .filter(|c| c.body["channel"] == INTAKE)
        .filter(|c| {
            c.body["text"]
                .as_str()
                .is_some_and(|t| t.starts_with(&format!("{key} ")))
        })
        .collect()
}

#[tokio::test]
async fn a_cards_update_after_a_click_overtakes_the_cards_queued_in_its_channel() {
    // Slack's pace for posts: one a second per channel.
    let app = spawn_with(paced("1s")).await;
    app.command_json(ALICE, "C04PLATENG", "request the first thing")
        .await;
    assert_eq!(app.intake_cards(1).await.len(), 1, "PLAT-1's card is up");
    // Ten more cards queue behind the channel's pace: the last is ten seconds away.
    for i in 2..=11 {
        app.command_json(ALICE, "C04PLATENG", &format!("request queued thing {i}"))
            .await;
    }
    let clicked = Instant::now();
    let resp = app.click(TEAM, INTAKE, "ticket_ack", "b", json!("1")).await;
    assert_eq!(resp.status(), 200);

    let updates = app
        .fake
        .wait_for("chat.update", 1, Duration::from_secs(10))
        .await;
    assert_eq!(updates.len(), 1, "the card's update reached Slack");
    let update = &updates[0];
    assert!(update.is_ok(), "{}", update.outcome);
    let took = update.at.duration_since(clicked);
    assert!(took < Duration::from_secs(1), "the update took {took:?}");
    let card_ts = app
        .text("select card_ts from tickets where id = 1")
        .await
        .unwrap();
    assert_eq!(update.body["ts"], card_ts.as_str());
    assert!(update.body["text"].as_str().unwrap().starts_with("PLAT-1 "));
    // PLAT-1's card and at most a couple of the queued ones came before it.
    let posted_before = app
        .fake
        .successful_calls_to("chat.postMessage")
        .iter()
        .filter(|c| c.body["channel"] == INTAKE && c.at < update.at)
        .count();
    println!("the update reached Slack {took:?} after the click, after {posted_before} cards");
    assert!(
        posted_before <= 3,
        "the update waited for {} of the ten queued cards",
        posted_before - 1
    );
    assert_eq!(card_posts(&app, "PLAT-1").len(), 1);
}

#[tokio::test]
async fn a_cards_updates_wait_for_its_post_and_go_in_order() {
    let app = spawn_with(paced("300ms")).await;
    for i in 1..=3 {
        app.command_json(ALICE, "C04PLATENG", &format!("request thing {i}"))
            .await;
    }
    // Two clicks on PLAT-3 before its card is up (it is 600 ms away).
    assert!(card_posts(&app, "PLAT-3").is_empty());
    let ack = app.click(TEAM, INTAKE, "ticket_ack", "b", json!("3")).await;
    assert_eq!(ack.status(), 200);
    let prio = app
        .click(TEAM, INTAKE, "ticket_priority", "b", json!("3:P1"))
        .await;
    assert_eq!(prio.status(), 200);

    let updates = app
        .fake
        .wait_for("chat.update", 2, Duration::from_secs(10))
        .await;
    assert_eq!(updates.len(), 2, "both updates reached Slack");
    let posted = card_posts(&app, "PLAT-3");
    assert_eq!(posted.len(), 1);
    let card_ts = app
        .text("select card_ts from tickets where id = 3")
        .await
        .unwrap();
    for update in &updates {
        assert!(update.is_ok(), "{}", update.outcome);
        assert!(update.at > posted[0].at, "an update came before its card");
        assert_eq!(update.body["ts"], card_ts.as_str());
    }
    // One after the other, in the order they were written: no update was sent after one
    // written later. (Compared pairwise: group_concat's order is not SQLite's promise.)
    let overtaken = app
        .scalar(
            "select count(*) from outbox a join outbox b on b.id > a.id \
             where a.method = 'chat.update' and b.method = 'chat.update' \
             and a.sent_at >= b.sent_at",
        )
        .await;
    assert_eq!(overtaken, 0, "a later update went out first");
    assert_eq!(
        app.scalar("select count(*) from outbox where status = 'failed'")
            .await,
        0
    );
}

/// The ticket keys of the cards Slack received, in the order it received them.
fn card_keys(app: &TestApp) -> Vec<String> {
    app.cards()
        .iter()
        .map(|c| {
            let text = c["text"].as_str().unwrap();
            text.split(' ').next().unwrap().to_string()
        })
        .collect()
}
