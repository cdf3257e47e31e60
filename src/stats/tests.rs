//! The report on small datasets whose figures were computed by hand. Tickets are written as
//! the lifecycle writes them: due times, event times and SLA seconds from the same clock
//! functions (`sla::deadlines::clocks`) over each ticket's history.

use super::*;
use crate::clock::db_time;
use crate::sla::deadlines::{clocks, Happening, Moment};
use crate::store::{self, Pool};
use chrono::TimeZone;

/// Wednesday 2026-11-25, 12:00 UTC (13:00 in Berlin).
fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 25, 12, 0, 0).unwrap()
}

fn ago(minutes: i64) -> DateTime<Utc> {
    now() - Duration::minutes(minutes)
}

async fn database() -> (tempfile::TempDir, Pool) {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("stats.db").display());
    let pool = store::connect(&url).await.unwrap();
    store::migrate(&pool).await.unwrap();
    (dir, pool)
}

struct Spec {
    priority: &'static str,
    category: &'static str,
    channel: &'static str,
    created: DateTime<Utc>,
    /// After creation, in time order.
    then: Vec<(DateTime<Utc>, Happening)>,
}

fn spec(priority: &'static str, created: DateTime<Utc>) -> Spec {
    Spec {
        priority,
        category: "general",
        channel: "C01HELP",
        created,
        then: Vec::new(),
    }
}

impl Spec {
    fn at(mut self, t: DateTime<Utc>, what: Happening) -> Self {
        self.then.push((t, what));
        self
    }
    fn in_(mut self, category: &'static str, channel: &'static str) -> Self {
        self.category = category;
        self.channel = channel;
        self
    }
}

/// Writes the ticket as the lifecycle would after its last event.
async fn file(pool: &Pool, policy: &Policy, s: Spec) {
    let calendar = crate::sla::calendar(policy);
    let mut history = vec![Moment {
        at: s.created,
        what: Happening::Created {
            priority: s.priority.into(),
        },
    }];
    let first_due = clocks(policy, &calendar, &history)
        .unwrap()
        .first_response
        .due();
    history.extend(s.then.iter().map(|(at, what)| Moment {
        at: *at,
        what: what.clone(),
    }));
    let c = clocks(policy, &calendar, &history).unwrap();
    let status = match s.then.last().map(|(_, w)| w) {
        _ if c.resolved_at.is_some() => "resolved",
        Some(Happening::Paused) => "waiting",
        _ if c.first_response_at.is_some() => "acknowledged",
        _ => "open",
    };
    let id: i64 = sqlx::query_scalar("select coalesce(max(id), 0) + 1 from tickets")
        .fetch_one(pool)
        .await
        .unwrap();
    sqlx::query(
        "insert into tickets (id, key, title, description, requester, channel, source, category, \
         priority, status, created_at, updated_at, first_response_at, resolved_at, \
         first_response_due, resolution_due, first_response_s, resolution_s, reopens) \
         values (?, ?, 't', 'd', 'U1', ?, 'command', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(id)
    .bind(format!("PLAT-{id}"))
    .bind(s.channel)
    .bind(s.category)
    .bind(s.priority)
    .bind(status)
    .bind(db_time(s.created))
    .bind(db_time(s.created))
    .bind(c.first_response_at.map(db_time))
    .bind(c.resolved_at.map(db_time))
    .bind(c.first_response.due().or(first_due).map(db_time))
    .bind(c.resolution.due().map(db_time))
    .bind(c.first_response_took.map(|d| d.num_seconds()))
    .bind(c.resolution_took.map(|d| d.num_seconds()))
    .bind(i64::from(c.reopens))
    .execute(pool)
    .await
    .unwrap();
}

async fn report_of(pool: &Pool, policy: &Policy, days: u32, filters: &Filters) -> Report {
    report(
        &mut pool.acquire().await.unwrap(),
        policy,
        days,
        filters,
        now(),
    )
    .await
    .unwrap()
}

fn target(n: u64, p: [Option<i64>; 3], due: u64, breached: u64, waiting: u64) -> Target {
    Target {
        n,
        p50_s: p[0],
        p90_s: p[1],
        p99_s: p[2],
        due,
        breached,
        breach_rate: (due > 0).then(|| breached as f64 / due as f64),
        waiting,
    }
}

#[tokio::test]
async fn an_empty_window_reports_zeros_and_nulls_in_the_contracts_shape() {
    let (_dir, pool) = database().await;
    let policy = Policy::builtin();
    let r = report_of(&pool, &policy, 30, &Filters::default()).await;
    assert_eq!(r.tickets, Tickets::default());
    assert_eq!(r.first_response, target(0, [None; 3], 0, 0, 0));
    assert_eq!(r.resolution, target(0, [None; 3], 0, 0, 0));
    assert_eq!(r.oldest_open_s, None);
    assert_eq!(
        r.by_priority.keys().collect::<Vec<_>>(),
        ["P1", "P2", "P3", "P4"]
    );
    assert!(r.by_category.is_empty() && r.top_channels.is_empty());
    let json = serde_json::to_value(&r).unwrap();
    assert_eq!(json["window"]["days"], 30);
    assert_eq!(json["window"]["to"], "2026-11-25T12:00:00Z");
    assert_eq!(json["window"]["from"], "2026-10-26T12:00:00Z");
    assert_eq!(json["csat"], serde_json::json!({"n": 0, "mean": null}));
    assert!(json["pulse"].is_null() && json["oldest_open_s"].is_null());
    assert_eq!(
        json["self_service"],
        serde_json::json!({"offered": 0, "solved": 0, "still_needed_help": 0, "ignored": 0,
            "pending": 0, "deflection_rate": null, "by_entry": [], "knowledge_gaps": []})
    );
    // Hours saved: nothing saved yet, against the default team's 6 × 140 h.
    assert_eq!(json["hours_saved"]["month"], "2026-11");
    assert_eq!(json["hours_saved"]["total_h"], 0.0);
    assert_eq!(json["hours_saved"]["team_h"], 840.0);
    assert_eq!(json["hours_saved"]["leverage_ratio"], 0.0);
    assert!(json["first_response"]["breach_rate"].is_null());
    assert!(json["first_response"]["p50_s"].is_null());
    let keys: Vec<_> = json.as_object().unwrap().keys().cloned().collect();
    for key in [
        "window",
        "tickets",
        "first_response",
        "resolution",
        "by_priority",
        "by_category",
        "top_channels",
        "oldest_open_s",
        "csat",
        "pulse",
        "self_service",
        "hours_saved",
    ] {
        assert!(keys.contains(&key.to_string()), "{key} missing: {keys:?}");
    }
}

#[tokio::test]
async fn one_answered_and_resolved_ticket() {
    let (_dir, pool) = database().await;
    let policy = Policy::builtin();
    // P2 (1h / 1d, around the clock): answered after 30 minutes, resolved after 2 hours.
    let t = ago(180);
    let s = spec("P2", t)
        .at(t + Duration::minutes(30), Happening::FirstResponse)
        .at(t + Duration::hours(2), Happening::Resolved);
    file(&pool, &policy, s).await;
    let r = report_of(&pool, &policy, 7, &Filters::default()).await;
    assert_eq!(
        r.tickets,
        Tickets {
            opened: 1,
            resolved: 1,
            backlog: 0,
            reopened: 0
        }
    );
    assert_eq!(r.first_response, target(1, [Some(1800); 3], 1, 0, 0));
    assert_eq!(r.resolution, target(1, [Some(7200); 3], 1, 0, 0));
    assert_eq!(r.first_response.breach_rate, Some(0.0));
    assert_eq!(r.by_priority["P2"].opened, 1);
    assert_eq!(r.by_priority["P1"], Group::default());
    assert_eq!(r.by_category["general"].resolution, r.resolution);
    assert_eq!(
        r.top_channels,
        [ChannelCount {
            channel: "C01HELP".into(),
            opened: 1
        }]
    );
    // 1 ticket in 7 days: 1 a week, 0.5 for each of the two engineers.
    assert_eq!(r.support_burden.tickets_per_week, 1.0);
    assert_eq!(r.support_burden.tickets_per_engineer_per_week, Some(0.5));
}

#[tokio::test]
async fn open_tickets_are_backlog_and_an_unanswered_one_past_due_is_breached() {
    let (_dir, pool) = database().await;
    let policy = Policy::builtin();
    // P1 (15m / 4h): one filed 10 minutes ago (not yet due), one an hour ago (first response
    // due 45 minutes ago, never given).
    file(&pool, &policy, spec("P1", ago(10))).await;
    file(&pool, &policy, spec("P1", ago(60))).await;
    let r = report_of(&pool, &policy, 30, &Filters::default()).await;
    assert_eq!(r.tickets.opened, 2);
    assert_eq!(r.tickets.backlog, 2);
    assert_eq!(r.oldest_open_s, Some(3600));
    assert_eq!(r.first_response, target(0, [None; 3], 1, 1, 1));
    assert_eq!(r.first_response.breach_rate, Some(1.0));
    assert_eq!(r.resolution, target(0, [None; 3], 0, 0, 2));
    assert_eq!(r.by_priority["P1"].first_response, r.first_response);
}

#[tokio::test]
async fn time_waiting_on_the_requester_is_left_out_and_a_paused_ticket_is_not_due() {
    let (_dir, pool) = database().await;
    let policy = Policy::builtin();
    // P2: answered after 10 minutes, waiting from 1h to 3h, resolved at 4h: 2h of SLA time.
    let t = ago(300);
    file(
        &pool,
        &policy,
        spec("P2", t)
            .at(t + Duration::minutes(10), Happening::FirstResponse)
            .at(t + Duration::hours(1), Happening::Paused)
            .at(t + Duration::hours(3), Happening::Resumed)
            .at(t + Duration::hours(4), Happening::Resolved),
    )
    .await;
    // P2 filed 30 hours ago (its day to resolve would be over), waiting on its requester
    // since the first hour: not due, not breached.
    let t = ago(30 * 60);
    file(
        &pool,
        &policy,
        spec("P2", t)
            .at(t + Duration::minutes(5), Happening::FirstResponse)
            .at(t + Duration::hours(1), Happening::Paused),
    )
    .await;
    let r = report_of(&pool, &policy, 7, &Filters::default()).await;
    assert_eq!(r.resolution, target(1, [Some(7200); 3], 1, 0, 1));
    assert_eq!(
        r.first_response,
        target(2, [Some(300), Some(600), Some(600)], 2, 0, 0)
    );
    assert_eq!(r.tickets.backlog, 1);
    assert_eq!(r.tickets.resolved, 1);
}

#[tokio::test]
async fn business_hours_priorities_count_only_business_time() {
    let (_dir, pool) = database().await;
    let policy = Policy::builtin();
    // P3 (4h / 5d in business hours, 09:00-17:30 Berlin, UTC+1 in November): filed Monday at
    // 16:00 Berlin, answered Tuesday 10:00 (1h30 + 1h = 2h30), resolved Tuesday 16:00
    // (1h30 + 7h = 8h30).
    let created = Utc.with_ymd_and_hms(2026, 11, 23, 15, 0, 0).unwrap();
    file(
        &pool,
        &policy,
        spec("P3", created)
            .at(created + Duration::hours(18), Happening::FirstResponse)
            .at(created + Duration::hours(24), Happening::Resolved),
    )
    .await;
    let r = report_of(&pool, &policy, 7, &Filters::default()).await;
    assert_eq!(r.first_response, target(1, [Some(9000); 3], 1, 0, 0));
    assert_eq!(r.resolution, target(1, [Some(30_600); 3], 1, 0, 0));
}

#[tokio::test]
async fn a_reopened_ticket_counts_its_last_resolution_and_once_as_reopened() {
    let (_dir, pool) = database().await;
    let policy = Policy::builtin();
    // P2: resolved at 1h, reopened at 2h, resolved again at 3h: 2h of SLA time.
    let t = ago(600);
    file(
        &pool,
        &policy,
        spec("P2", t)
            .at(t + Duration::minutes(5), Happening::FirstResponse)
            .at(t + Duration::hours(1), Happening::Resolved)
            .at(t + Duration::hours(2), Happening::Reopened)
            .at(t + Duration::hours(3), Happening::Resolved),
    )
    .await;
    let r = report_of(&pool, &policy, 7, &Filters::default()).await;
    assert_eq!(r.tickets.reopened, 1);
    assert_eq!(r.tickets.resolved, 1);
    assert_eq!(r.resolution, target(1, [Some(7200); 3], 1, 0, 0));
}

#[tokio::test]
async fn a_target_met_late_is_breached_and_tickets_before_the_window_are_left_out() {
    let (_dir, pool) = database().await;
    let policy = Policy::builtin();
    // P1 answered after 20 minutes (due at 15), resolved after 5 hours (due at 4).
    let t = ago(600);
    file(
        &pool,
        &policy,
        spec("P1", t)
            .at(t + Duration::minutes(20), Happening::FirstResponse)
            .at(t + Duration::hours(5), Happening::Resolved),
    )
    .await;
    // Filed 8 days ago: outside a 7-day window, inside a 30-day one.
    let t = ago(8 * 24 * 60);
    file(
        &pool,
        &policy,
        spec("P1", t).at(t + Duration::minutes(1), Happening::FirstResponse),
    )
    .await;
    let week = report_of(&pool, &policy, 7, &Filters::default()).await;
    assert_eq!(week.first_response, target(1, [Some(1200); 3], 1, 1, 0));
    assert_eq!(week.resolution, target(1, [Some(18_000); 3], 1, 1, 0));
    let month = report_of(&pool, &policy, 30, &Filters::default()).await;
    assert_eq!(month.tickets.opened, 2);
    // The older one was never resolved: 4h after its filing it was due, so it is breached.
    assert_eq!(month.resolution.breached, 2);
    assert_eq!(
        month.first_response,
        target(2, [Some(60), Some(1200), Some(1200)], 2, 1, 0)
    );
}

#[tokio::test]
async fn filters_restrict_the_population_and_the_backlog() {
    let (_dir, pool) = database().await;
    let policy = Policy::builtin();
    file(
        &pool,
        &policy,
        spec("P1", ago(5)).in_("incident", "C01HELP"),
    )
    .await;
    file(&pool, &policy, spec("P2", ago(6)).in_("access", "C02OPS")).await;
    file(&pool, &policy, spec("P2", ago(7)).in_("incident", "C02OPS")).await;
    let by = |priority: Option<&str>, category: Option<&str>, channel: Option<&str>| Filters {
        priority: priority.map(Into::into),
        category: category.map(Into::into),
        channel: channel.map(Into::into),
    };
    let p2 = report_of(&pool, &policy, 7, &by(Some("P2"), None, None)).await;
    assert_eq!((p2.tickets.opened, p2.tickets.backlog), (2, 2));
    assert_eq!(p2.by_priority.keys().collect::<Vec<_>>(), ["P2"]);
    assert_eq!(p2.oldest_open_s, Some(7 * 60));
    let incidents = report_of(&pool, &policy, 7, &by(None, Some("incident"), None)).await;
    assert_eq!(
        (incidents.tickets.opened, incidents.tickets.backlog),
        (2, 2)
    );
    assert_eq!(incidents.oldest_open_s, Some(7 * 60));
    let ops = report_of(&pool, &policy, 7, &by(None, None, Some("C02OPS"))).await;
    assert_eq!(ops.tickets.opened, 2);
    assert_eq!(
        ops.top_channels,
        [ChannelCount {
            channel: "C02OPS".into(),
            opened: 2
        }]
    );
    let all = report_of(&pool, &policy, 7, &Filters::default()).await;
    assert_eq!(all.top_channels[0].channel, "C02OPS");
    assert_eq!(all.by_category["incident"].opened, 2);
    let none = report_of(&pool, &policy, 7, &by(Some("P1"), Some("access"), None)).await;
    assert_eq!((none.tickets.opened, none.tickets.backlog), (0, 0));
}

#[test]
fn percentiles_are_nearest_rank() {
    let mut hundred: Vec<i64> = (1..=100).rev().collect();
    assert_eq!(
        rows::percentiles(&mut hundred),
        [Some(50), Some(90), Some(99)]
    );
    assert_eq!(
        rows::percentiles(&mut [30, 10, 20]),
        [Some(20), Some(30), Some(30)]
    );
    assert_eq!(rows::percentiles(&mut [7]), [Some(7); 3]);
    assert_eq!(rows::percentiles(&mut []), [None; 3]);
    // ceil(0.5 × 10) = 5, ceil(0.9 × 10) = 9, ceil(0.99 × 10) = 10.
    let mut ten: Vec<i64> = vec![5, 1, 9, 3, 7, 10, 2, 8, 4, 6];
    assert_eq!(rows::percentiles(&mut ten), [Some(5), Some(9), Some(10)]);
}

#[test]
fn malformed_rows_are_skipped_without_a_panic() {
    let filters = Filters::default();
    let mut acc = rows::Accumulator::new(&filters);
    acc.add_all("P1\u{1f}x\u{1e}garbage\u{1e}P1\u{1f}c\u{1f}\u{1f}abc\u{1f}\u{1f}1");
    acc.past_due_all("\u{1e}\u{1e}P9");
    let r = acc.finish(&Policy::builtin());
    assert_eq!(r.tickets.opened, 0);
}
