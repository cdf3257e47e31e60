//! SLA clocks end to end on a manual clock: warnings and breaches at the right instants and
//! never twice, pauses, business hours and holidays, escalation, restarts, resolution,
//! on-call handoff and overrides, and paging.

mod common;

use chrono::{DateTime, Duration, Utc};
use common::*;
use platform_desk::clock::ManualClock;
use serde_json::json;
use std::sync::Arc;

const TEAM: &str = "U01ALICE";
const TEAM_CHANNEL: &str = "C01PLATTEAM";
const HELP: &str = "C01HELP";

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

async fn app_at(start: &str) -> (TestApp, ManualClock) {
    let clock = ManualClock::new(at(start));
    let app = spawn_with(Options {
        clock: Arc::new(clock.clone()),
        ..Options::default()
    })
    .await;
    (app, clock)
}

/// Everything delivered to `channel` (a user id for DMs) so far.
async fn to(app: &TestApp, channel: &str) -> Vec<String> {
    app.drain().await;
    app.fake
        .successful_calls_to("chat.postMessage")
        .into_iter()
        .filter(|c| c.body["channel"] == channel)
        .map(|c| c.body["text"].as_str().unwrap_or("").to_string())
        .collect()
}

async fn on_call(app: &TestApp) -> String {
    let text = app.command_json(TEAM, "C1", "oncall").await["text"]
        .as_str()
        .unwrap()
        .to_string();
    let start = text.find("<@").expect("someone is on call") + 2;
    text[start..start + text[start..].find('>').unwrap()].to_string()
}

async fn breaches(app: &TestApp) -> i64 {
    app.scalar("select count(*) from ticket_events where kind = 'breached'")
        .await
}

#[tokio::test]
async fn a_p1_ticket_is_warned_and_breached_at_the_right_instants_and_never_twice() {
    let (app, clock) = app_at("2026-11-28T03:00:00Z").await;
    app.command_json(ALICE, "C1", "request prod down: the API answers 500")
        .await;
    let oncall = on_call(&app).await;
    app.drain().await;

    clock.advance(Duration::seconds(11 * 60 + 14)); // 03:11:14, one second before 75% of 15m
    app.step().await;
    assert!(to(&app, &oncall).await.is_empty(), "no warning yet");
    clock.advance(Duration::seconds(1));
    app.step().await;
    let dms = to(&app, &oncall).await;
    assert_eq!(dms.len(), 1, "{dms:?}");
    assert!(
        dms[0].contains("SLA warning")
            && dms[0].contains("PLAT-1")
            && dms[0].contains("first response due"),
        "{}",
        dms[0]
    );
    app.step().await;
    assert_eq!(to(&app, &oncall).await.len(), 1, "never twice");

    clock.advance(Duration::seconds(3 * 60 + 44)); // 03:14:59
    app.step().await;
    assert_eq!(breaches(&app).await, 0);
    clock.advance(Duration::seconds(1)); // 03:15:00
    app.step().await;
    app.step().await;
    assert_eq!(breaches(&app).await, 1);
    let dms = to(&app, &oncall).await;
    assert_eq!(dms.len(), 2);
    assert!(
        dms[1].contains("breached its first response SLA"),
        "{}",
        dms[1]
    );
    let team = to(&app, TEAM_CHANNEL).await;
    assert_eq!(team.len(), 1);
    let ping = app
        .fake
        .successful_calls_to("chat.postMessage")
        .into_iter()
        .find(|c| c.body["channel"] == TEAM_CHANNEL)
        .unwrap();
    assert!(
        ping.body
            .to_string()
            .contains("\"action_id\":\"breach_ack\""),
        "the ping can be acknowledged"
    );
    let card_ts = app.text("select card_ts from tickets").await.unwrap();
    let thread: Vec<_> = app
        .fake
        .successful_calls_to("chat.postMessage")
        .into_iter()
        .filter(|c| c.body["thread_ts"] == card_ts.as_str())
        .collect();
    assert_eq!(thread.len(), 1, "a note in the card's thread");
    assert_eq!(
        app.scalar("select first_response_breached from tickets")
            .await,
        1
    );
    let update = app
        .fake
        .successful_calls_to("chat.update")
        .pop()
        .expect("card updated");
    assert!(
        update.body.to_string().contains("breached, was due")
            || update.body.to_string().contains(":red_circle:")
    );
}

#[tokio::test]
async fn waiting_on_the_requester_shifts_the_breach() {
    let (app, clock) = app_at("2026-11-28T03:00:00Z").await;
    app.event(
        &message(
            HELP,
            ALICE,
            "1700000800.000100",
            "prod down for the ledger service",
            None,
        ),
        None,
    )
    .await;
    assert_eq!(
        app.text("select priority from tickets").await.unwrap(),
        "P1"
    );
    clock.advance(Duration::minutes(5));
    app.click(TEAM, INTAKE, "ticket_wait", "b", json!("1"))
        .await;
    clock.advance(Duration::minutes(60));
    app.step().await;
    app.event(
        &message(
            HELP,
            ALICE,
            "1700000800.000200",
            "here are the logs",
            Some("1700000800.000100"),
        ),
        None,
    )
    .await;
    assert_eq!(
        app.text("select status from tickets").await.unwrap(),
        "open"
    );
    // Resolution was due at 07:00; an hour of waiting moves it to 08:00.
    assert_eq!(
        app.text("select resolution_due from tickets")
            .await
            .unwrap(),
        "2026-11-28T08:00:00.000000Z"
    );
    clock.set(at("2026-11-28T07:59:59Z"));
    app.step().await;
    assert_eq!(breaches(&app).await, 0, "not at the old deadline");
    clock.set(at("2026-11-28T08:00:00Z"));
    app.step().await;
    assert_eq!(
        app.scalar(
            "select count(*) from ticket_events where kind = 'breached' and detail = 'resolution'"
        )
        .await,
        1
    );
}

#[tokio::test]
async fn a_business_hours_ticket_filed_on_friday_evening_breaches_on_monday_at_the_right_minute() {
    // Friday 2026-11-27 19:00 Berlin; P3: first response 4 working hours -> Monday 13:00.
    let (app, clock) = app_at("2026-11-27T18:00:00Z").await;
    app.command_json(ALICE, "C1", "request a new namespace for the search team")
        .await;
    assert_eq!(
        app.text("select first_response_due from tickets")
            .await
            .unwrap(),
        "2026-11-30T12:00:00.000000Z"
    );
    clock.set(at("2026-11-29T12:00:00Z")); // Sunday: nothing
    app.step().await;
    assert_eq!(
        app.scalar("select count(*) from timers where status = 'fired'")
            .await,
        0
    );
    clock.set(at("2026-11-30T11:59:59Z"));
    app.step().await;
    assert_eq!(breaches(&app).await, 0);
    clock.set(at("2026-11-30T12:00:00Z"));
    app.step().await;
    assert_eq!(breaches(&app).await, 1);
    assert_eq!(
        app.scalar("select late from timers where kind = 'breach_first_response'")
            .await,
        0
    );
}

#[tokio::test]
async fn a_holiday_in_between_moves_the_breach_past_it() {
    // Thursday 2026-12-24 16:00 Berlin: 1.5 h that day, Friday 25th is a holiday, the
    // remaining 2.5 h run on Monday 28th from 09:00 -> 11:30 Berlin (10:30Z).
    let (app, clock) = app_at("2026-12-24T15:00:00Z").await;
    app.command_json(ALICE, "C1", "request access to the billing bucket")
        .await;
    assert_eq!(
        app.text("select first_response_due from tickets")
            .await
            .unwrap(),
        "2026-12-28T10:30:00.000000Z"
    );
    clock.set(at("2026-12-25T12:00:00Z"));
    app.step().await;
    assert_eq!(breaches(&app).await, 0);
    clock.set(at("2026-12-28T10:30:00Z"));
    app.step().await;
    assert_eq!(breaches(&app).await, 1);
}

#[tokio::test]
async fn escalation_repeats_until_the_breach_is_acknowledged() {
    let (app, clock) = app_at("2026-11-28T03:00:00Z").await;
    app.command_json(ALICE, "C1", "request sev1 checkout is down")
        .await;
    clock.set(at("2026-11-28T03:15:00Z"));
    app.step().await; // breach
    clock.set(at("2026-11-28T03:45:00Z"));
    app.step().await; // round 1 (escalate_after = 30m)
    let lead = to(&app, "U01LEAD").await;
    assert_eq!(lead.len(), 1);
    assert!(lead[0].contains("Escalation 1/3"), "{}", lead[0]);
    clock.set(at("2026-11-28T04:15:00Z"));
    app.step().await; // round 2
    assert_eq!(to(&app, "U01LEAD").await.len(), 2);
    // Someone acknowledges from the ping: escalation stops.
    app.click(TEAM, TEAM_CHANNEL, "breach_ack", "breach-1", json!("1"))
        .await;
    assert_eq!(
        app.text("select status || '|' || assignee from tickets")
            .await
            .unwrap(),
        "acknowledged|U01ALICE"
    );
    clock.set(at("2026-11-28T05:00:00Z"));
    app.step().await;
    assert_eq!(
        to(&app, "U01LEAD").await.len(),
        2,
        "no round 3 after the acknowledgement"
    );
    assert_eq!(
        app.scalar("select count(*) from timers where kind = 'escalate' and status = 'pending'")
            .await,
        0
    );
}

#[tokio::test]
async fn a_breach_that_came_due_while_the_bot_was_down_is_sent_once_at_startup_marked_late() {
    let (app, clock) = app_at("2026-11-28T03:00:00Z").await;
    app.command_json(ALICE, "C1", "request outage of the artifact registry")
        .await;
    let oncall = on_call(&app).await;
    app.drain().await;
    let clock_for_restart = clock.clone();
    clock.set(at("2026-11-28T03:30:00Z")); // down across the 03:11 warning and 03:15 breach
    let app = app
        .restart(Options {
            clock: Arc::new(clock_for_restart),
            ..Options::default()
        })
        .await;
    // The scheduler fires at start-up on its own: the test only watches. Were start-up
    // firing broken, nothing else would fire the breach and the wait fails.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while breaches(&app).await == 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "the breach that came due while the bot was down never fired at start-up"
        );
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    // A later pass at the same instant finds it already fired.
    app.step().await;
    assert_eq!(breaches(&app).await, 1);
    let dms = to(&app, &oncall).await;
    let pings: Vec<_> = dms.iter().filter(|d| d.contains("breached")).collect();
    assert_eq!(pings.len(), 1, "{dms:?}");
    assert!(pings[0].contains("sent late"), "{}", pings[0]);
    assert_eq!(
        app.scalar("select late from timers where kind = 'breach_first_response'")
            .await,
        1
    );
}

#[tokio::test]
async fn a_resolved_tickets_timers_never_fire() {
    let (app, clock) = app_at("2026-11-28T03:00:00Z").await;
    app.command_json(ALICE, "C1", "request prod down in staging")
        .await;
    clock.advance(Duration::minutes(5));
    app.click(ALICE, INTAKE, "ticket_reopen", "b", json!("1"))
        .await; // nothing: not resolved
    let mut sub = fixture_json("view_submission.json");
    sub["user"]["id"] = json!(TEAM);
    sub["view"]["id"] = json!("VRES");
    sub["view"]["callback_id"] = json!("ticket_resolve");
    sub["view"]["private_metadata"] = json!("1");
    sub["view"]["state"]["values"] =
        json!({"note_block": {"note_input": {"type": "plain_text_input", "value": "fixed"}}});
    app.interaction(&sub).await;
    assert_eq!(
        app.text("select status from tickets").await.unwrap(),
        "resolved"
    );
    clock.advance(Duration::hours(6));
    assert_eq!(app.step().await, 0);
    assert_eq!(
        app.scalar("select count(*) from timers where status = 'fired'")
            .await,
        0
    );
    assert_eq!(
        app.scalar("select count(*) from timers where status = 'pending'")
            .await,
        0
    );
}

#[tokio::test]
async fn many_warnings_for_one_person_are_rolled_into_one_message() {
    let (app, clock) = app_at("2026-11-28T03:00:00Z").await;
    for what in [
        "prod down: search",
        "prod down: checkout",
        "prod down: ledger",
    ] {
        app.command_json(ALICE, "C1", &format!("request {what}"))
            .await;
    }
    let oncall = on_call(&app).await;
    clock.advance(Duration::seconds(11 * 60 + 15));
    app.step().await;
    let dms = to(&app, &oncall).await;
    assert_eq!(dms.len(), 1, "{dms:?}");
    assert!(
        dms[0].contains("3 tickets are close to breaching"),
        "{}",
        dms[0]
    );
}

#[tokio::test]
async fn on_call_can_be_overridden_and_the_handoff_tells_the_incoming_person_and_the_team() {
    // Saturday; the rotation hands off on Monday 10:00 Berlin.
    let (app, clock) = app_at("2026-11-28T03:00:00Z").await;
    let before = on_call(&app).await;
    let other = if before == "U01ALICE" {
        "U01BOB"
    } else {
        "U01ALICE"
    };
    // Not the team: refused.
    let denied = app
        .command_json(ALICE, "C1", &format!("oncall set <@{other}> for 1d"))
        .await;
    assert!(
        denied["text"]
            .as_str()
            .unwrap()
            .contains("only the platform team"),
        "{denied}"
    );
    let done = app
        .command_json(TEAM, "C1", &format!("oncall set <@{other}|someone> for 1d"))
        .await;
    assert!(done["text"].as_str().unwrap().starts_with("Done"), "{done}");
    assert_eq!(on_call(&app).await, other);
    // A breach now pings the override.
    app.command_json(ALICE, "C1", "request prod down for payments")
        .await;
    clock.set(at("2026-11-28T03:15:00Z"));
    app.step().await;
    assert!(to(&app, other).await.iter().any(|t| t.contains("breached")));
    // After the override, Monday's handoff: incoming person told, team channel told.
    clock.set(at("2026-11-30T09:00:00Z")); // 10:00 Berlin
    app.step().await;
    let incoming = on_call(&app).await;
    let dms = to(&app, &incoming).await;
    assert!(
        dms.iter()
            .any(|t| t.contains("You are on call now") && t.contains("PLAT-1")),
        "{dms:?}"
    );
    assert!(to(&app, TEAM_CHANNEL)
        .await
        .iter()
        .any(|t| t.contains("On-call handoff")));
    app.step().await;
    let handoffs = to(&app, TEAM_CHANNEL)
        .await
        .iter()
        .filter(|t| t.contains("On-call handoff"))
        .count();
    assert_eq!(handoffs, 1, "once per handoff");
}

#[tokio::test]
async fn a_breach_pages_pagerduty_and_resolving_resolves_it() {
    let clock = ManualClock::new(at("2026-11-28T03:00:00Z"));
    // The fake records any POST under /api: here it stands in for PagerDuty's endpoint.
    let fake = platform_desk::sandbox::fake_slack::FakeSlack::start().await;
    let events_url = format!("{}/pagerduty.enqueue", fake.api_url());
    let app = spawn_with(Options {
        clock: Arc::new(clock.clone()),
        env: vec![
            ("PAGERDUTY_ROUTING_KEY".into(), "pd-routing-secret".into()),
            ("PAGERDUTY_EVENTS_URL".into(), events_url),
        ],
        fake: Some(fake),
        ..Options::default()
    })
    .await;
    app.command_json(ALICE, "C1", "request prod down: the mesh")
        .await;
    clock.set(at("2026-11-28T03:15:00Z"));
    app.step().await;
    app.drain().await;
    let pages = app.fake.calls_to("pagerduty.enqueue");
    assert_eq!(pages.len(), 1);
    assert_eq!(pages[0].body["event_action"], "trigger");
    assert_eq!(pages[0].body["dedup_key"], "PLAT-1");
    assert_eq!(pages[0].body["routing_key"], "pd-routing-secret");
    assert_eq!(
        app.scalar("select count(*) from outbox where payload like '%pd-routing-secret%'")
            .await,
        0,
        "the key is never stored"
    );

    let mut sub = fixture_json("view_submission.json");
    sub["user"]["id"] = json!(TEAM);
    sub["view"]["id"] = json!("VRES2");
    sub["view"]["callback_id"] = json!("ticket_resolve");
    sub["view"]["private_metadata"] = json!("1");
    sub["view"]["state"]["values"] = json!({"note_block": {"note_input": {"type": "plain_text_input", "value": "mesh restarted"}}});
    app.interaction(&sub).await;
    app.drain().await;
    let pages = app.fake.calls_to("pagerduty.enqueue");
    assert_eq!(pages.len(), 2);
    assert_eq!(pages[1].body["event_action"], "resolve");
    assert_eq!(pages[1].body["dedup_key"], "PLAT-1");
}

#[tokio::test]
async fn a_business_hours_warning_due_outside_business_hours_waits_for_the_next_opening() {
    // warn_at 0.5: a P4 (1 working day = 24 h of working time) filed Monday 09:00 Berlin is
    // warned after 12 working hours: Tuesday 12:30 Berlin. The bot sees it only at 19:00.
    let policy = test_policy_text().replace("warn_at = 0.75", "warn_at = 0.5");
    let clock = ManualClock::new(at("2026-11-30T08:00:00Z"));
    let app = spawn_with(Options {
        policy,
        clock: Arc::new(clock.clone()),
        ..Options::default()
    })
    .await;
    app.command_json(
        ALICE,
        "C1",
        "request please rotate the staging TLS certificate",
    )
    .await;
    app.click(TEAM, INTAKE, "ticket_priority", "b", json!("1:P4"))
        .await;
    app.click(TEAM, INTAKE, "ticket_assign", "ticket-1-1", json!("U01BOB"))
        .await;
    clock.set(at("2026-12-01T18:00:00Z")); // Tuesday 19:00 Berlin: closed
    app.step().await;
    assert!(
        to(&app, "U01BOB").await.is_empty(),
        "held outside business hours"
    );
    assert_eq!(
        app.text(
            "select due_at from timers where kind = 'warn_first_response' and status = 'pending'"
        )
        .await
        .unwrap(),
        "2026-12-02T08:00:00.000000Z"
    );
    clock.set(at("2026-12-02T08:00:00Z")); // Wednesday 09:00 Berlin: open
    app.step().await;
    let dms = to(&app, "U01BOB").await;
    assert_eq!(dms.len(), 1, "{dms:?}");
    assert!(dms[0].contains("SLA warning"));
}

#[tokio::test]
async fn a_plan_filed_as_one_row_fires_each_timer_once_even_when_several_fall_due_together() {
    let (app, clock) = app_at("2026-11-28T03:00:00Z").await;
    app.command_json(ALICE, "C1", "request prod down: the API answers 500")
        .await;
    let oncall = on_call(&app).await;
    app.drain().await;
    // The warning (03:11:15) and the breach (03:15) of the first response were both missed.
    clock.set(at("2026-11-28T03:20:00Z"));
    app.step().await;
    assert_eq!(breaches(&app).await, 1);
    let dms = to(&app, &oncall).await;
    assert_eq!(dms.len(), 1, "the breach alone, no stale warning: {dms:?}");
    assert!(
        dms[0].contains("breached its first response SLA"),
        "{}",
        dms[0]
    );
    // Escalations of the breach are timers of their own, not of the plan.
    let kinds = |rows: Vec<(String, String)>| {
        rows.into_iter()
            .map(|(k, _)| k)
            .filter(|k| k != "escalate")
            .collect::<Vec<_>>()
    };
    assert_eq!(
        kinds(app.timers("pending").await),
        ["warn_resolution", "breach_resolution"],
        "the rest of the plan is still ahead"
    );
    assert_eq!(
        app.scalar("select count(*) from timers where status = 'pending' and kind != 'escalate'")
            .await,
        1,
        "and still one row"
    );
    // The resolution's warning and breach, each at its time, each once.
    clock.set(at("2026-11-28T06:00:00Z"));
    app.step().await;
    app.step().await;
    assert_eq!(kinds(app.timers("pending").await), ["breach_resolution"]);
    clock.set(at("2026-11-28T07:00:00Z"));
    app.step().await;
    app.step().await;
    assert!(kinds(app.timers("pending").await).is_empty());
    assert_eq!(breaches(&app).await, 2);
    assert_eq!(
        app.scalar("select count(*) from timers where status = 'fired' and kind != 'escalate'")
            .await,
        4,
        "every timer of the plan fired exactly once"
    );
}

#[tokio::test]
async fn a_reprioritised_tickets_old_timers_never_fire() {
    let (app, clock) = app_at("2026-11-28T03:00:00Z").await; // Saturday: P3 is business hours
    app.command_json(ALICE, "C1", "request a new dashboard for the search team")
        .await;
    assert_eq!(app.timers("pending").await.len(), 4);
    assert_eq!(
        app.scalar("select count(*) from timers").await,
        1,
        "the plan is one row"
    );
    app.click(TEAM, INTAKE, "ticket_priority", "b", json!("1:P1"))
        .await;
    assert_eq!(
        app.timers("cancelled").await.len(),
        4,
        "the P3 timers are withdrawn"
    );
    let pending = app.timers("pending").await;
    assert!(
        pending.contains(&(
            "breach_first_response".to_string(),
            "2026-11-28T03:15:00.000000Z".to_string()
        )),
        "P1 from creation: {pending:?}"
    );
    clock.set(at("2026-12-05T00:00:00Z"));
    app.step().await;
    assert_eq!(
        app.scalar(
            "select count(*) from timers where status = 'fired' and kind = 'breach_first_response'"
        )
        .await,
        1
    );
    assert_eq!(
        app.scalar(
            "select count(*) from timers where status = 'cancelled' and fired_at is not null"
        )
        .await,
        0
    );
}

#[tokio::test]
async fn a_scheduler_pass_with_nothing_due_needs_no_write_lock() {
    use sqlx::ConnectOptions;
    use std::str::FromStr;
    let (app, _clock) = app_at("2026-11-28T03:00:00Z").await;
    app.command_json(ALICE, "C1", "request prod down: the API answers 500")
        .await;
    app.step().await;
    app.drain().await;
    // Another process (the CLI beside `serve`) holds the write lock. Its wait is for the bot's
    // own short background writes (a reply marked sent), never for a lock held for good.
    let mut other = sqlx::sqlite::SqliteConnectOptions::from_str(&format!(
        "sqlite://{}",
        app.db_path.display()
    ))
    .unwrap()
    .busy_timeout(std::time::Duration::from_secs(5))
    .connect()
    .await
    .unwrap();
    sqlx::query("begin immediate")
        .execute(&mut other)
        .await
        .expect("the bot leaves the write lock free");
    // Nothing is due now, so a pass must get by on reads alone: were it to ask for the write
    // lock, it would wait out the bot's busy timeout and then fail.
    assert_eq!(app.step().await, 0, "nothing fires");
    sqlx::query("rollback").execute(&mut other).await.unwrap();
}
