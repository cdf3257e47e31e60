//! The roadmap digest and the stale reminders end to end, on a manual clock, a real SQLite
//! file and the fake Slack: the digest at 09:00 Berlin time on both sides of a daylight
//! saving change, once across a restart, a missed one run within the grace and skipped
//! beyond it, nothing in a quiet week, within Block Kit's limits with 200 items shipped; the
//! stale reminder once, and never on a holiday or a weekend; the hours saved, leverage ratio
//! and support share lines on a dataset whose figures are known. Roadmap items are written
//! straight into migration 18's tables.

mod common;

use chrono::{DateTime, Duration, Utc};
use common::*;
use platform_desk::clock::{db_time, Clock, ManualClock};
use serde_json::Value;
use std::sync::Arc;

const ANNOUNCE: &str = "C01ANNOUNCE";
const DIGEST: &str = "roadmap_digest";
const OWNER: &str = "U01BOB";
/// Monday 22 March 2027, 09:00 in Berlin (CET, UTC+1): a digest.
const BEFORE_DST: &str = "2027-03-22T08:00:00Z";
/// Monday 29 March 2027, 09:00 in Berlin (CEST, UTC+2, since Sunday the 28th).
const AFTER_DST: &str = "2027-03-29T07:00:00Z";

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

fn options(clock: &ManualClock, policy: String) -> Options {
    Options {
        clock: Arc::new(clock.clone()),
        policy,
        ..Options::default()
    }
}

async fn app_at(clock: &ManualClock) -> TestApp {
    spawn_with(options(clock, test_policy_text())).await
}

fn pool(app: &TestApp) -> &sqlx::SqlitePool {
    &app.running.as_ref().unwrap().app.pool
}

/// A roadmap item as the roadmap commands would leave it, with its `created` change.
async fn item(app: &TestApp, id: i64, title: &str, status: &str, when: DateTime<Utc>) {
    sqlx::query(
        "insert into roadmap_items (id, title, status, owner, created_at, updated_at) \
         values (?, ?, ?, ?, ?, ?)",
    )
    .bind(id)
    .bind(title)
    .bind(status)
    .bind(OWNER)
    .bind(db_time(when))
    .bind(db_time(when))
    .execute(pool(app))
    .await
    .unwrap();
    change(app, id, "created", None, Some(status), when).await;
}

/// One change of an item, as the roadmap commands record it.
async fn change(
    app: &TestApp,
    id: i64,
    field: &str,
    old: Option<&str>,
    new: Option<&str>,
    when: DateTime<Utc>,
) {
    sqlx::query(
        "insert into roadmap_changes (item_id, field, old, new, actor, at) values (?, ?, ?, ?, ?, ?)",
    )
    .bind(id)
    .bind(field)
    .bind(old)
    .bind(new)
    .bind(OWNER)
    .bind(db_time(when))
    .execute(pool(app))
    .await
    .unwrap();
    if field != "created" {
        let sql = match field {
            "status" => "update roadmap_items set status = ?, updated_at = ? where id = ?",
            "target" => "update roadmap_items set target = ?, updated_at = ? where id = ?",
            "health" => "update roadmap_items set health = ?, updated_at = ? where id = ?",
            other => panic!("no test helper for a change of {other}"),
        };
        sqlx::query(sql)
            .bind(new)
            .bind(db_time(when))
            .bind(id)
            .execute(pool(app))
            .await
            .unwrap();
    }
}

/// The digests delivered to the announce channel so far (their whole bodies).
async fn digests(app: &TestApp) -> Vec<Value> {
    app.settled().await;
    app.fake
        .successful_calls_to("chat.postMessage")
        .into_iter()
        .filter(|c| c.body["channel"] == ANNOUNCE)
        .map(|c| c.body)
        .collect()
}

/// Every text of a digest's blocks, joined.
fn block_text(digest: &Value) -> String {
    digest["blocks"]
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

async fn run_status(app: &TestApp, scheduled: &str) -> Option<String> {
    let key = db_time(at(scheduled));
    app.text(&format!(
        "select status || ',' || late from job_runs where name = '{DIGEST}' and scheduled_at = '{key}'"
    ))
    .await
}

#[tokio::test]
async fn digests_go_out_at_nine_berlin_time_on_both_sides_of_the_clocks_change() {
    let clock = ManualClock::new(at(BEFORE_DST) - Duration::minutes(1));
    let app = app_at(&clock).await;
    item(&app, 1, "Self-service Postgres", "planned", clock.now()).await;
    app.step().await;
    assert!(digests(&app).await.is_empty(), "08:59 is not 09:00");

    clock.set(at(BEFORE_DST));
    app.step().await;
    assert_eq!(digests(&app).await.len(), 1, "09:00 CET is 08:00 UTC");

    // A week later the clocks have moved: 09:00 in Berlin is 07:00 UTC.
    clock.set(at(AFTER_DST) - Duration::hours(2));
    change(
        &app,
        1,
        "status",
        Some("planned"),
        Some("in_progress"),
        clock.now(),
    )
    .await;
    clock.set(at(AFTER_DST) - Duration::minutes(1));
    app.step().await;
    assert_eq!(digests(&app).await.len(), 1, "06:59 UTC is 08:59 CEST");
    clock.set(at(AFTER_DST));
    app.step().await;
    let posted = digests(&app).await;
    assert_eq!(posted.len(), 2, "09:00 CEST is 07:00 UTC");
    assert_eq!(run_status(&app, AFTER_DST).await.as_deref(), Some("done,0"));
    let text = block_text(&posted[1]);
    assert!(
        text.contains("*Started*\n• *RM-1* Self-service Postgres"),
        "{text}"
    );
    assert!(
        !text.contains("New on the roadmap"),
        "the first digest told it was new: {text}"
    );
}

#[tokio::test]
async fn a_digest_tells_what_changed_what_is_next_and_the_week_in_support() {
    let clock = ManualClock::new(at(BEFORE_DST) - Duration::days(2));
    let app = app_at(&clock).await;
    let t = clock.now();
    item(
        &app,
        1,
        "Preview environments",
        "in_progress",
        t - Duration::days(30),
    )
    .await;
    item(&app, 2, "Faster CI <for> everyone & more", "planned", t).await;
    item(&app, 3, "Managed Kafka", "planned", t - Duration::days(30)).await;
    change(&app, 1, "status", Some("in_progress"), Some("shipped"), t).await;
    change(&app, 3, "target", Some("2027-Q2"), Some("2027-Q3"), t).await;
    change(&app, 3, "health", Some("on_track"), Some("at_risk"), t).await;
    app.command_json(ALICE, "C1", "request the staging deploy is stuck")
        .await;
    clock.set(at(BEFORE_DST));
    app.step().await;

    let posted = digests(&app).await;
    assert_eq!(posted.len(), 1);
    let text = block_text(&posted[0]);
    for needle in [
        "*Shipped*\n• *RM-1* Preview environments",
        "*Targets moved*\n• *RM-3* Managed Kafka: 2027-Q2 → 2027-Q3",
        "*Health changed*\n• *RM-3* Managed Kafka: :large_green_circle: on track → :large_yellow_circle: at risk",
        "*New on the roadmap*\n• *RM-2* Faster CI &lt;for&gt; everyone &amp; more",
        "*What's next*\n• *RM-3* Managed Kafka (2027-Q3)\n• *RM-2*",
        "*The week in support*\n1 opened · 0 resolved · 1 in the backlog",
        "Median first response: -",
    ] {
        assert!(text.contains(needle), "{needle:?} in\n{text}");
    }
    assert!(!text.contains("Satisfaction"), "nobody answered a survey");
    let fallback = posted[0]["text"].as_str().unwrap();
    assert!(
        fallback.starts_with("Roadmap digest: 1 shipped"),
        "{fallback}"
    );
}

/// A ticket worked by `person` from `start` to `end`, as the lifecycle logs it.
async fn worked(app: &TestApp, id: i64, person: &str, start: DateTime<Utc>, end: DateTime<Utc>) {
    sqlx::query(
        "insert into tickets (id, key, title, description, requester, source, category, \
         priority, status, assignee, created_at, updated_at, resolved_at) \
         values (?, ?, 'help', 'help', 'U07CAROL', 'command', 'general', 'P3', 'resolved', ?, ?, ?, ?)",
    )
    .bind(id)
    .bind(format!("PLAT-{id}"))
    .bind(person)
    .bind(db_time(start))
    .bind(db_time(end))
    .bind(db_time(end))
    .execute(pool(app))
    .await
    .unwrap();
    for (kind, when, detail) in [
        ("created", start, None),
        ("assigned", start, Some(person)),
        ("acknowledged", start, None),
        ("resolved", end, None),
    ] {
        sqlx::query(
            "insert into ticket_events (ticket_id, kind, actor, at, detail) values (?, ?, ?, ?, ?)",
        )
        .bind(id)
        .bind(kind)
        .bind(person)
        .bind(db_time(when))
        .bind(detail)
        .execute(pool(app))
        .await
        .unwrap();
    }
}

#[tokio::test]
async fn a_digest_tells_the_hours_saved_the_leverage_ratio_and_the_support_share() {
    // One engineer, 130 h a month: 30 h a week (130 × 12 / 52). On call not counted.
    let clock = ManualClock::new(at(BEFORE_DST) - Duration::days(2));
    let policy = format!(
        "{}\n[capacity]\nteam_size = 1\nhours_per_month = 130\noncall_hours_per_day = 0\n",
        test_policy_text()
    );
    let app = spawn_with(options(&clock, policy)).await;
    item(&app, 1, "Preview environments", "planned", clock.now()).await;
    // A win of 13 h a month, recorded in March by the team.
    let answer = app
        .command_json(
            "U01ALICE",
            "C01ENG",
            "win deploys went from 45 to 5 minutes saves 13h/month",
        )
        .await;
    assert!(
        answer.to_string().contains("13"),
        "the win is recorded: {answer}"
    );
    // Two answers confirmed solved in March (30 minutes each by default), one ignored.
    for (outcome, day) in [("solved", 3), ("solved", 18), ("ignored", 19)] {
        let when = db_time(at(&format!("2027-03-{day:02}T10:00:00Z")));
        sqlx::query(
            "insert into self_service_offers (requester, channel, source, text, requested_at, outcome, decided_at) \
             values ('U07CAROL', 'C01HELP', 'message', 'rotate a token', ?, ?, ?)",
        )
        .bind(&when)
        .bind(outcome)
        .bind(&when)
        .execute(pool(&app))
        .await
        .unwrap();
    }
    // The week of 15 March (Berlin, UTC+1): Alice 09:00-15:00 on Monday, Bob 10:00-11:30
    // on Tuesday: 7.5 h of 30, 25%.
    worked(
        &app,
        1,
        "U01ALICE",
        at("2027-03-15T08:00:00Z"),
        at("2027-03-15T14:00:00Z"),
    )
    .await;
    worked(
        &app,
        2,
        "U01BOB",
        at("2027-03-16T09:00:00Z"),
        at("2027-03-16T10:30:00Z"),
    )
    .await;

    clock.set(at(BEFORE_DST));
    app.step().await;
    let posted = digests(&app).await;
    assert_eq!(posted.len(), 1);
    let text = block_text(&posted[0]);
    // 13 h + 2 × 0.5 h = 14 h; 14 / 130 = 0.108.
    let saved = "Hours saved: 14 h saved in 2027-03 (wins 13 h, 2 self-service answers 1 h) \
                 · leverage ratio 0.11 (hours saved ÷ the team's own 130 h)";
    let share = "Support share of capacity: week of 2027-03-15: 25.0% (7.5 h: tickets 7.5 h, \
                 on call 0 h), within the band · the team has 30 h a week · band 20.0%–30.0%";
    for needle in [saved, share] {
        assert!(text.contains(needle), "{needle:?} in\n{text}");
    }
}

#[tokio::test]
async fn a_restart_at_the_digest_minute_posts_it_once() {
    let clock = ManualClock::new(at(BEFORE_DST) - Duration::minutes(5));
    let app = app_at(&clock).await;
    item(&app, 1, "Golden paths", "planned", clock.now()).await;
    clock.set(at(BEFORE_DST));
    app.step().await;
    assert_eq!(digests(&app).await.len(), 1);

    let app = app.restart(options(&clock, test_policy_text())).await;
    app.step().await;
    clock.advance(Duration::seconds(30));
    app.step().await;
    assert_eq!(digests(&app).await.len(), 1, "never twice");
    assert_eq!(
        run_status(&app, BEFORE_DST).await.as_deref(),
        Some("done,0")
    );
}

#[tokio::test]
async fn a_digest_missed_while_down_runs_within_the_grace_and_is_skipped_beyond_it() {
    let clock = ManualClock::new(at(BEFORE_DST) - Duration::hours(1));
    let mut app = app_at(&clock).await;
    item(&app, 1, "Golden paths", "planned", clock.now()).await;
    app.stop().await;

    // Back 40 minutes after the digest's time: the grace is an hour.
    clock.set(at(BEFORE_DST) + Duration::minutes(40));
    let mut app = app.restart(options(&clock, test_policy_text())).await;
    app.step().await;
    assert_eq!(digests(&app).await.len(), 1, "run late, once");
    assert_eq!(
        run_status(&app, BEFORE_DST).await.as_deref(),
        Some("done,1")
    );
    change(
        &app,
        1,
        "status",
        Some("planned"),
        Some("in_progress"),
        clock.now(),
    )
    .await;
    app.stop().await;

    // Down over the next one, back two hours after it: skipped, not posted.
    let next = at(BEFORE_DST) + Duration::days(7) - Duration::hours(1);
    clock.set(next + Duration::hours(2));
    let app = app.restart(options(&clock, test_policy_text())).await;
    app.step().await;
    assert_eq!(digests(&app).await.len(), 1, "too late: skipped");
    let skipped = next.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let status = run_status(&app, &skipped).await.unwrap_or_default();
    assert!(status.starts_with("skipped,"), "{status}");
}

#[tokio::test]
async fn a_quiet_week_posts_no_digest_unless_the_policy_asks_for_one() {
    let clock = ManualClock::new(at(BEFORE_DST) - Duration::minutes(1));
    let app = app_at(&clock).await;
    // An item that changed before the window only.
    item(
        &app,
        1,
        "Golden paths",
        "planned",
        clock.now() - Duration::days(9),
    )
    .await;
    clock.set(at(BEFORE_DST));
    app.step().await;
    assert!(
        digests(&app).await.is_empty(),
        "nothing changed, no ticket moved"
    );
    assert_eq!(
        run_status(&app, BEFORE_DST).await.as_deref(),
        Some("done,0"),
        "the run is recorded all the same"
    );

    let policy = format!(
        "{}\n[digest]\nskip_when_quiet = false\n",
        test_policy_text()
    );
    let clock = ManualClock::new(at(BEFORE_DST));
    let app = spawn_with(options(&clock, policy)).await;
    app.step().await;
    let posted = digests(&app).await;
    assert_eq!(posted.len(), 1);
    assert!(block_text(&posted[0]).contains("No roadmap item changed since the last digest."));
}

#[tokio::test]
async fn a_week_with_tickets_but_no_roadmap_change_is_not_quiet() {
    let clock = ManualClock::new(at(BEFORE_DST) - Duration::days(1));
    let app = app_at(&clock).await;
    app.command_json(ALICE, "C1", "request the staging deploy is stuck")
        .await;
    clock.set(at(BEFORE_DST));
    app.step().await;
    let posted = digests(&app).await;
    assert_eq!(posted.len(), 1, "a ticket moved: the week is not quiet");
    let text = block_text(&posted[0]);
    assert!(
        text.contains("No roadmap item changed since the last digest."),
        "{text}"
    );
    assert!(text.contains("1 opened · 0 resolved"), "{text}");
}

#[tokio::test]
async fn a_digest_with_200_shipped_items_stays_within_slacks_limits() {
    let clock = ManualClock::new(at(BEFORE_DST) - Duration::days(1));
    let app = app_at(&clock).await;
    let long = format!("<!channel> {}", "very long title ".repeat(40));
    for id in 1..=200 {
        item(
            &app,
            id,
            &long,
            "in_progress",
            clock.now() - Duration::days(30),
        )
        .await;
        change(
            &app,
            id,
            "status",
            Some("in_progress"),
            Some("shipped"),
            clock.now(),
        )
        .await;
    }
    for id in 201..=260 {
        item(&app, id, &long, "planned", clock.now()).await;
    }
    clock.set(at(BEFORE_DST));
    app.step().await;
    let posted = digests(&app).await;
    assert_eq!(posted.len(), 1);
    let blocks = posted[0]["blocks"].as_array().unwrap();
    assert!(blocks.len() <= 50, "{} blocks", blocks.len());
    for block in blocks {
        if let Some(text) = block["text"]["text"].as_str() {
            assert!(
                text.chars().count() <= 3000,
                "{} characters",
                text.chars().count()
            );
        }
    }
    let text = block_text(&posted[0]);
    assert!(text.contains("• and 190 more"), "shipped: {text}");
    assert!(text.contains("• and 55 more"), "what's next: {text}");
    assert!(!text.contains("<!channel>"), "data is escaped");
}

#[tokio::test]
async fn the_owner_of_a_stale_item_is_reminded_once_on_a_weekday_morning() {
    // Tuesday 23 March 2027, 09:59 in Berlin.
    let clock = ManualClock::new(at("2027-03-23T08:59:00Z"));
    let app = app_at(&clock).await;
    item(
        &app,
        1,
        "Preview environments",
        "in_progress",
        clock.now() - Duration::days(15),
    )
    .await;
    item(
        &app,
        2,
        "Fresh work",
        "in_progress",
        clock.now() - Duration::days(3),
    )
    .await;
    let reminders = || async {
        app.settled().await;
        app.fake
            .successful_calls_to("chat.postMessage")
            .into_iter()
            .filter(|c| c.body["channel"] == OWNER)
            .map(|c| c.body["text"].as_str().unwrap_or("").to_string())
            .collect::<Vec<_>>()
    };
    app.step().await;
    assert!(reminders().await.is_empty(), "not before 10:00");

    clock.advance(Duration::minutes(1));
    app.step().await;
    let sent = reminders().await;
    assert_eq!(sent.len(), 1);
    assert!(
        sent[0].contains("*RM-1* Preview environments: no update for 15 days"),
        "{}",
        sent[0]
    );
    assert!(!sent[0].contains("RM-2"), "not stale yet: {}", sent[0]);

    // The next morning: not again.
    clock.advance(Duration::days(1));
    app.step().await;
    assert_eq!(reminders().await.len(), 1, "once");

    // Another fortnight without a change: reminded again (Tuesday 6 April, 14 days on).
    clock.advance(Duration::days(13));
    app.step().await;
    assert_eq!(reminders().await.len(), 2, "another stale_after passed");
}

#[tokio::test]
async fn no_stale_reminder_on_a_holiday_or_a_weekend() {
    // Friday 25 December 2026, 09:59 in Berlin: a holiday in the test policy.
    let clock = ManualClock::new(at("2026-12-25T08:59:00Z"));
    let app = app_at(&clock).await;
    item(
        &app,
        1,
        "Preview environments",
        "in_progress",
        clock.now() - Duration::days(20),
    )
    .await;
    let reminders = || async {
        app.settled().await;
        app.fake
            .successful_calls_to("chat.postMessage")
            .into_iter()
            .filter(|c| c.body["channel"] == OWNER)
            .count()
    };
    app.step().await;
    for (when, expected, why) in [
        ("2026-12-25T09:00:00Z", 0, "Christmas is a holiday"),
        ("2026-12-26T09:00:00Z", 0, "Saturday"),
        ("2026-12-27T09:00:00Z", 0, "Sunday"),
        ("2026-12-28T09:00:00Z", 1, "Monday, 10:00 in Berlin"),
    ] {
        clock.set(at(when));
        app.step().await;
        assert_eq!(reminders().await, expected, "{why}");
    }
    let run = app
        .text(&format!(
            "select status from job_runs where name = 'roadmap_stale_reminders' \
             and scheduled_at = '{}'",
            db_time(at("2026-12-25T09:00:00Z"))
        ))
        .await;
    assert_eq!(
        run.as_deref(),
        Some("done"),
        "the holiday's run is recorded"
    );
}
