//! Leverage from outside: `/platform win` and `wins` as signed slash commands (who may,
//! the grammar, the list, escaping); hours saved and the leverage ratio on a fixed dataset
//! (wins recorded by command, self-service outcomes written into migration 23's table);
//! the support share of a fixed week from ticket event logs written into the database
//! (waiting time left out, the daily cap, on call); and the team channel told once when
//! support stays above the band two weeks running, on a manual clock.

mod common;

use chrono::{DateTime, Utc};
use common::*;
use platform_desk::clock::{db_time, ManualClock};
use serde_json::Value;
use std::sync::Arc;

const TEAM_CHANNEL: &str = "C01PLATTEAM";
const ALICE_T: &str = "U01ALICE";
const BOB_T: &str = "U01BOB";
const STRANGER: &str = "U09STRANGE";

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

async fn app_at(clock: &ManualClock, capacity: &str) -> TestApp {
    spawn_with(Options {
        clock: Arc::new(clock.clone()),
        policy: format!("{}\n[capacity]\n{capacity}\n", test_policy_text()),
        ..Options::default()
    })
    .await
}

fn pool(app: &TestApp) -> &sqlx::SqlitePool {
    &app.running.as_ref().unwrap().app.pool
}

async fn say(app: &TestApp, user: &str, text: &str) -> String {
    let answer = app.command_json(user, "C01ENG", text).await;
    assert_eq!(answer["response_type"], "ephemeral", "{answer}");
    answer["text"].as_str().unwrap_or("").to_string()
}

fn team_posts(app: &TestApp) -> Vec<String> {
    app.fake
        .successful_calls_to("chat.postMessage")
        .into_iter()
        .filter(|c| c.body["channel"] == TEAM_CHANNEL)
        .map(|c| c.body["text"].as_str().unwrap_or("").to_string())
        .collect()
}

async fn stats(app: &TestApp, days: u32) -> Value {
    serde_json::from_str(&app.get(&format!("/api/v1/stats?days={days}")).await).unwrap()
}

/// A ticket worked by `person` from `start` to `end`, with waits on the requester
/// `(from, to)` in between, as the lifecycle logs it.
async fn worked(
    app: &TestApp,
    id: i64,
    person: &str,
    start: &str,
    end: &str,
    waits: &[(&str, &str)],
) {
    sqlx::query(
        "insert into tickets (id, key, title, description, requester, source, category, \
         priority, status, assignee, created_at, updated_at, resolved_at) \
         values (?, ?, 'help', 'help', 'U07CAROL', 'command', 'general', 'P3', 'resolved', ?, ?, ?, ?)",
    )
    .bind(id)
    .bind(format!("PLAT-{id}"))
    .bind(person)
    .bind(db_time(at(start)))
    .bind(db_time(at(end)))
    .bind(db_time(at(end)))
    .execute(pool(app))
    .await
    .unwrap();
    let mut events = vec![
        ("created", start, None),
        ("assigned", start, Some(person)),
        ("acknowledged", start, None),
        ("first_response", start, None),
    ];
    for (from, to) in waits {
        events.push(("waiting", from, None));
        events.push(("resumed", to, None));
    }
    events.push(("resolved", end, None));
    for (kind, when, detail) in events {
        sqlx::query(
            "insert into ticket_events (ticket_id, kind, actor, at, detail) values (?, ?, ?, ?, ?)",
        )
        .bind(id)
        .bind(kind)
        .bind(person)
        .bind(db_time(at(when)))
        .bind(detail)
        .execute(pool(app))
        .await
        .unwrap();
    }
}

async fn offer(app: &TestApp, outcome: &str, decided_at: &str) {
    sqlx::query(
        "insert into self_service_offers (requester, channel, source, text, requested_at, outcome, decided_at) \
         values ('U07CAROL', 'C01HELP', 'message', 'how do I rotate a token', ?, ?, ?)",
    )
    .bind(db_time(at(decided_at)))
    .bind(outcome)
    .bind(db_time(at(decided_at)))
    .execute(pool(app))
    .await
    .unwrap();
}

#[tokio::test]
async fn only_the_team_records_wins_and_bad_grammar_gets_the_usage_with_an_example() {
    let clock = ManualClock::new(at("2026-03-10T12:00:00Z"));
    let app = app_at(&clock, "").await;

    let refused = say(&app, STRANGER, "win faster deploys saves 20h/month").await;
    assert!(refused.contains("Only the platform team"), "{refused}");
    for bad in [
        "win faster deploys",
        "win faster deploys saves 20h/week",
        "win saves 3h/month",
    ] {
        let usage = say(&app, ALICE_T, bad).await;
        assert!(usage.contains("did not read right"), "{bad}: {usage}");
        assert!(
            usage.contains("deploys went from 45 to 5 minutes, saves 200h/month"),
            "{usage}"
        );
    }
    assert_eq!(app.scalar("select count(*) from wins").await, 0);

    let ok = say(
        &app,
        ALICE_T,
        "win deploys went from 45 to 5 minutes, saves 200h/month",
    )
    .await;
    assert!(
        ok.contains("*deploys went from 45 to 5 minutes* saves 200 h a month"),
        "{ok}"
    );
    assert!(ok.contains("counted from 2026-03 on"), "{ok}");
    assert!(
        ok.contains("Hours saved in 2026-03: 200 h of the team's own 840 h"),
        "{ok}"
    );
    assert_eq!(
        app.text("select what || '|' || hours_per_month || '|' || recorded_by || '|' || recorded_at from wins")
            .await
            .unwrap(),
        "deploys went from 45 to 5 minutes|200.0|U01ALICE|2026-03-10T12:00:00.000000Z"
    );
    app.settled().await;
    let posts = team_posts(&app);
    assert_eq!(posts.len(), 1, "{posts:?}");
    assert!(posts[0].contains("<@U01ALICE> recorded a win"), "{posts:?}");
}

#[tokio::test]
async fn anyone_lists_the_wins_newest_first_with_the_total_and_escaped() {
    let clock = ManualClock::new(at("2026-03-10T12:00:00Z"));
    let app = app_at(&clock, "").await;
    assert!(say(&app, STRANGER, "wins")
        .await
        .contains("No wins recorded yet"));

    say(&app, ALICE_T, "win CI cache saves 7.5h/month").await;
    clock.set(at("2026-03-11T12:00:00Z"));
    say(
        &app,
        BOB_T,
        "win <!channel> & <@U07CAROL> self-serve DNS, saves 12 hours/month",
    )
    .await;

    let list = say(&app, STRANGER, "wins").await;
    assert!(
        list.contains("2 recorded, saving 19.5 h a month in all"),
        "{list}"
    );
    let dns = list.find("self-serve DNS").expect("the DNS win");
    let ci = list.find("CI cache").expect("the CI win");
    assert!(dns < ci, "newest first: {list}");
    // Slack's mention becomes plain text (no ping); the special mention stays escaped.
    assert!(
        list.contains("*12 h/month* · &lt;!channel&gt; &amp; @U07CAROL self-serve DNS"),
        "{list}"
    );
    assert!(
        !list.contains("<!channel>") && !list.contains("<@U07CAROL>"),
        "{list}"
    );
    assert!(
        list.contains("<@U01BOB>") && list.contains("<!date^"),
        "{list}"
    );
    app.settled().await;
    assert!(team_posts(&app).iter().all(|p| !p.contains("<!channel>")));
}

#[tokio::test]
async fn hours_saved_count_wins_from_their_month_and_confirmed_deflections_in_berlin_months() {
    let clock = ManualClock::new(at("2026-01-15T10:00:00Z"));
    let app = app_at(&clock, "").await;
    say(&app, ALICE_T, "win golden images saves 100h/month").await;
    // 00:30 on 1 March in Berlin: a March win, though still February in UTC.
    clock.set(at("2026-02-28T23:30:00Z"));
    say(&app, ALICE_T, "win preview envs saves 20h/month").await;
    clock.set(at("2026-03-05T10:00:00Z"));
    say(&app, BOB_T, "win CI cache saves 50.5h/month").await;
    // Confirmed solved: two in March (one just after midnight, Berlin time), one in
    // February; the other outcomes count nothing.
    offer(&app, "solved", "2026-02-28T23:10:00Z").await;
    offer(&app, "solved", "2026-03-09T09:00:00Z").await;
    offer(&app, "solved", "2026-03-09T10:00:00Z").await;
    offer(&app, "solved", "2026-02-10T10:00:00Z").await;
    offer(&app, "still_needed", "2026-03-09T11:00:00Z").await;
    offer(&app, "ignored", "2026-03-09T12:00:00Z").await;
    clock.set(at("2026-03-10T12:00:00Z"));

    let doc = stats(&app, 7).await;
    let h = &doc["hours_saved"];
    assert_eq!(h["month"], "2026-03");
    assert_eq!(h["wins_h"], 170.5);
    assert_eq!(h["deflections"], 3);
    assert_eq!(h["deflections_h"], 1.5);
    assert_eq!(h["total_h"], 172.0);
    assert_eq!(h["team_h"], 840.0);
    assert_eq!(h["leverage_ratio"], 0.205, "172 / 840");
    let months = h["months"].as_array().unwrap();
    assert_eq!(months.len(), 6);
    assert_eq!(months[5]["month"], "2026-03");
    assert_eq!(months[4]["month"], "2026-02");
    assert_eq!(
        months[4]["total_h"], 100.5,
        "100 h of wins + one deflection"
    );
    assert_eq!(months[4]["leverage_ratio"], 0.12);
    assert_eq!(months[3]["total_h"], 100.0);
    assert_eq!(months[2]["total_h"], 0.0);

    let text = say(&app, ALICE_T, "stats 7d").await;
    let blocks = app.command_json(ALICE_T, "C01ENG", "stats 7d").await;
    let all = format!("{text}{blocks}");
    assert!(
        all.contains("172 h saved in 2026-03 (wins 170.5 h, 3 self-service answers 1.5 h) · leverage ratio 0.20"),
        "{all}"
    );
    let page = app.get("/dashboard?days=7").await;
    assert!(page.contains("Hours saved per month"), "dashboard");
    assert!(page.contains("Leverage ratio") && page.contains("172 h"));
}

#[tokio::test]
async fn the_support_share_of_a_week_counts_the_teams_business_hours_without_waiting_capped_a_day()
{
    // 30 h a week (1 × 130 h × 12 / 52); on call counts 1 h a day.
    let clock = ManualClock::new(at("2026-03-10T12:00:00Z"));
    let app = app_at(
        &clock,
        "team_size = 1\nhours_per_month = 130\noncall_hours_per_day = 1",
    )
    .await;
    // Monday 2 March, Berlin (UTC+1): Alice 09:00-11:00 and 14:00-16:00 local, waiting on
    // the requester in between: 4 h.
    worked(
        &app,
        1,
        ALICE_T,
        "2026-03-02T08:00:00Z",
        "2026-03-02T15:00:00Z",
        &[("2026-03-02T10:00:00Z", "2026-03-02T13:00:00Z")],
    )
    .await;
    // Bob holds a ticket from Tuesday 08:00 to Wednesday 08:00 local: the business day,
    // 09:00-17:30, is 8.5 h, capped at 8; the night and Wednesday before 09:00 count
    // nothing.
    worked(
        &app,
        2,
        BOB_T,
        "2026-03-03T07:00:00Z",
        "2026-03-04T07:00:00Z",
        &[],
    )
    .await;
    // Another ticket of Bob's inside that time counts nothing more.
    worked(
        &app,
        3,
        BOB_T,
        "2026-03-03T09:00:00Z",
        "2026-03-03T11:00:00Z",
        &[],
    )
    .await;
    // A ticket held from Friday 16:00 local over the weekend to Monday 09:00: 1.5 h on
    // Friday, nothing on the weekend.
    worked(
        &app,
        5,
        ALICE_T,
        "2026-03-06T15:00:00Z",
        "2026-03-09T08:00:00Z",
        &[],
    )
    .await;
    // Someone outside the platform team worked a ticket on Thursday: not the team's time.
    worked(
        &app,
        6,
        STRANGER,
        "2026-03-05T09:00:00Z",
        "2026-03-05T13:00:00Z",
        &[],
    )
    .await;
    // The next week: one hour.
    worked(
        &app,
        4,
        ALICE_T,
        "2026-03-09T08:00:00Z",
        "2026-03-09T09:00:00Z",
        &[],
    )
    .await;

    let doc = stats(&app, 8).await;
    let s = &doc["support_share"];
    assert_eq!(s["band"], serde_json::json!([0.2, 0.3]));
    assert_eq!(s["capacity_h_per_week"], 30.0);
    assert_eq!(s["timezone"], "Europe/Berlin");
    let weeks = s["weeks"].as_array().unwrap();
    assert_eq!(weeks.len(), 2, "{s}");
    assert_eq!(
        weeks[0],
        serde_json::json!({"week": "2026-03-02", "complete": true, "tickets_h": 13.5,
            "oncall_h": 7.0, "support_h": 20.5, "share": 0.6833, "against_band": "above"})
    );
    // This week so far: Monday 00:00 to Tuesday 13:00 local is 37 h on call.
    assert_eq!(weeks[1]["week"], "2026-03-09");
    assert_eq!(weeks[1]["complete"], false);
    assert_eq!(weeks[1]["tickets_h"], 1.0);
    assert_eq!(weeks[1]["oncall_h"], 1.54);

    let text = say(&app, ALICE_T, "stats 7d").await;
    let blocks = app
        .command_json(ALICE_T, "C01ENG", "stats 7d")
        .await
        .to_string();
    assert!(
        format!("{text}{blocks}").contains(
            "week of 2026-03-02: 68.3% (20.5 h: tickets 13.5 h, on call 7 h), above the band"
        ),
        "{blocks}"
    );
    let page = app.get("/dashboard?days=8").await;
    assert!(
        page.contains("Support share of capacity by week"),
        "dashboard"
    );
    assert!(page.contains("<td>68.3%</td>"), "the week's row");
}

#[tokio::test]
async fn the_team_hears_once_per_streak_when_support_stays_above_the_band_two_weeks() {
    // 30 h a week, band 6-9 h; on call not counted here. 10 h in a week is above.
    let clock = ManualClock::new(at("2026-03-09T08:30:00Z"));
    let app = app_at(
        &clock,
        "team_size = 1\nhours_per_month = 130\noncall_hours_per_day = 0",
    )
    .await;
    let mut id = 0;
    for monday in [
        "2026-03-02",
        "2026-03-09",
        "2026-03-16",
        "2026-03-30",
        "2026-04-06",
    ] {
        let day = chrono::NaiveDate::parse_from_str(monday, "%Y-%m-%d").unwrap();
        for offset in [0, 1] {
            // 5 h on Monday and on Tuesday, 08:00-13:00 UTC (morning in Berlin).
            let d = day + chrono::Duration::days(offset);
            id += 1;
            worked(
                &app,
                id,
                ALICE_T,
                &format!("{d}T08:00:00Z"),
                &format!("{d}T13:00:00Z"),
                &[],
            )
            .await;
        }
    }
    let notices = |app: &TestApp| -> Vec<String> {
        team_posts(app)
            .into_iter()
            .filter(|t| t.contains("two weeks running"))
            .collect()
    };
    // Monday 09:00 Berlin after each week.
    for (run, expected) in [
        ("2026-03-16T08:00:01Z", 1), // weeks of 2 and 9 March above: told
        ("2026-03-23T08:00:01Z", 1), // still the same streak: not again
        // Summer time from 29 March: 09:00 in Berlin is 07:00 UTC.
        ("2026-03-30T07:00:01Z", 1), // the week of 23 March was quiet
        ("2026-04-06T07:00:01Z", 1), // one week above is not two
        ("2026-04-13T07:00:01Z", 2), // a new streak: told again
    ] {
        clock.set(at(run));
        app.step().await;
        app.settled().await;
        assert_eq!(
            notices(&app).len(),
            expected,
            "after the run at {run}: {:?}",
            notices(&app)
        );
    }
    let first = &notices(&app)[0];
    assert!(
        first.contains("33.3% in the week of 2026-03-02 and 33.3% in the week of 2026-03-09, above the 20.0%–30.0% band"),
        "{first}"
    );
    assert!(
        first.contains("Last week: 10 h of the team's 30 h (10 h on tickets, 0 h on call)"),
        "{first}"
    );
    assert_eq!(
        app.scalar("select count(*) from support_share_notices")
            .await,
        2
    );
}
