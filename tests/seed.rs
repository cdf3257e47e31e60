//! `seed-demo`: the history it writes is what the bot's own SLA functions make of the stored
//! events, the same seed writes the same rows, and keys continue after existing tickets.

use chrono::{DateTime, Datelike, Duration, Timelike, Utc, Weekday};
use platform_desk::seed::{self, Options};
use platform_desk::settings::Policy;
use platform_desk::sla::{self, deadlines};
use platform_desk::store;
use platform_desk::tickets::{db, export, Status, Ticket};
use sqlx::SqlitePool;

fn now() -> DateTime<Utc> {
    "2026-11-26T15:30:00Z".parse().unwrap()
}

async fn database() -> (tempfile::TempDir, SqlitePool) {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("seed.db").display());
    let pool = store::connect(&url).await.unwrap();
    store::migrate(&pool).await.unwrap();
    (dir, pool)
}

async fn seeded(opts: Options) -> (tempfile::TempDir, SqlitePool, seed::Summary) {
    let (dir, pool) = database().await;
    let summary = seed::seed(&pool, &Policy::builtin(), &opts, now())
        .await
        .unwrap();
    (dir, pool, summary)
}

async fn tickets(pool: &SqlitePool) -> Vec<Ticket> {
    db::all_since(&mut pool.acquire().await.unwrap(), None)
        .await
        .unwrap()
}

type EventRow = (i64, String, Option<String>, String, Option<String>);

async fn events(pool: &SqlitePool) -> Vec<EventRow> {
    sqlx::query_as("select ticket_id, kind, actor, at, detail from ticket_events order by id")
        .fetch_all(pool)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_sample_of_seeded_tickets_matches_what_the_sla_functions_make_of_their_events() {
    let (_dir, pool, summary) = seeded(Options {
        tickets: 3_000,
        days: 90,
        seed: 19,
    })
    .await;
    assert_eq!(summary.tickets, 3_000);
    let policy = Policy::builtin();
    let calendar = sla::calendar(&policy);
    let all = tickets(&pool).await;
    assert_eq!(all.len(), 3_000);
    let mut conn = pool.acquire().await.unwrap();
    let mut checked = 0;
    for t in all.iter().step_by(7) {
        let history = db::history(&mut conn, t.id).await.unwrap();
        let c = deadlines::clocks(&policy, &calendar, &history).unwrap();
        let fr_due = c.first_response.due().or(t.first_response_due);
        assert_eq!(t.first_response_due, fr_due, "{}", t.key);
        assert_eq!(t.resolution_due, c.resolution.due(), "{}", t.key);
        assert_eq!(t.first_response_at, c.first_response_at, "{}", t.key);
        assert_eq!(t.resolved_at, c.resolved_at, "{}", t.key);
        assert_eq!(
            t.measured.first_response_s,
            c.first_response_took.map(|d| d.num_seconds())
        );
        assert_eq!(
            t.measured.resolution_s,
            c.resolution_took.map(|d| d.num_seconds())
        );
        assert_eq!(t.measured.reopens, i64::from(c.reopens));
        assert_eq!(t.resolved_at.is_some(), t.status == Status::Resolved);
        // The stored flags are the export's rule over the recomputed due times.
        let mut unflagged = t.clone();
        unflagged.first_response_breached = false;
        unflagged.resolution_breached = false;
        let rule = export::record(&unflagged, now());
        assert_eq!(
            t.first_response_breached, rule.first_response_breached,
            "{}",
            t.key
        );
        assert_eq!(t.resolution_breached, rule.resolution_breached, "{}", t.key);
        // An open ticket's pending timers are its plan's, those still ahead.
        let mut planned: Vec<(String, String)> = sla::timers::plan(&policy, t, &history)
            .into_iter()
            .filter(|p| p.due_at > now())
            .map(|p| {
                (
                    p.kind.as_str().to_string(),
                    platform_desk::clock::db_time(p.due_at),
                )
            })
            .collect();
        planned.sort();
        let mut stored: Vec<(String, String)> = sqlx::query_as(
            "select kind, due_at from timers where ticket_id = ? and status = 'pending'",
        )
        .bind(t.id)
        .fetch_all(&mut *conn)
        .await
        .unwrap();
        stored.sort();
        assert_eq!(stored, planned, "{}", t.key);
        checked += 1;
    }
    assert!(checked > 400);
}

#[tokio::test]
async fn seeded_history_looks_like_a_platform_teams_quarter() {
    let (_dir, pool, summary) = seeded(Options {
        tickets: 4_000,
        days: 90,
        seed: 7,
    })
    .await;
    let all = tickets(&pool).await;
    let old: Vec<&Ticket> = all
        .iter()
        .filter(|t| t.created_at < now() - Duration::days(30))
        .collect();
    let old_resolved = old.iter().filter(|t| t.status == Status::Resolved).count();
    assert!(
        old_resolved * 100 > old.len() * 95,
        "old tickets are resolved"
    );
    let last_hour: Vec<&Ticket> = all
        .iter()
        .filter(|t| t.created_at > now() - Duration::hours(2))
        .collect();
    assert!(last_hour.iter().all(|t| t.is_open()) && !last_hour.is_empty());
    assert_eq!(
        summary.open as usize,
        all.iter().filter(|t| t.is_open()).count()
    );
    let breached = all
        .iter()
        .filter(|t| t.first_response_breached || t.resolution_breached)
        .count();
    assert!(
        breached > 40 && breached < 1_000,
        "some breaches: {breached}"
    );
    assert!(all.iter().any(|t| t.measured.reopens > 0), "some reopens");
    let requesters: std::collections::BTreeSet<&str> =
        all.iter().map(|t| t.requester.as_str()).collect();
    assert!(requesters.len() > 400, "{} requesters", requesters.len());
    let berlin = |t: &&Ticket| t.created_at.with_timezone(&chrono_tz::Europe::Berlin);
    let weekend = all
        .iter()
        .filter(|t| matches!(berlin(t).weekday(), Weekday::Sat | Weekday::Sun))
        .count();
    assert!(weekend * 10 < all.len(), "few at weekends: {weekend}");
    let night = all.iter().filter(|t| berlin(t).hour() < 6).count();
    assert!(night * 20 < all.len(), "few at night: {night}");
    let p1 = all.iter().filter(|t| t.priority == "P1").count();
    let p3 = all.iter().filter(|t| t.priority == "P3").count();
    assert!(p1 > 0 && p1 * 5 < p3, "P1 {p1} rare, P3 {p3} the bulk");
    assert!(all.iter().any(|t| t.category == "incident"));
    assert!(all.iter().any(|t| matches!(t.status, Status::Waiting)));
    let kinds: std::collections::BTreeSet<String> =
        events(&pool).await.into_iter().map(|e| e.1).collect();
    for kind in [
        "created",
        "acknowledged",
        "first_response",
        "waiting",
        "resumed",
        "resolved",
        "reopened",
        "warned",
        "breached",
    ] {
        assert!(kinds.contains(kind), "{kind} in {kinds:?}");
    }
}

#[tokio::test]
async fn the_same_seed_writes_the_same_rows_and_another_seed_other_rows() {
    let opts = Options {
        tickets: 500,
        days: 30,
        seed: 42,
    };
    let (_a, first, _) = seeded(opts).await;
    let (_b, second, _) = seeded(opts).await;
    let (_c, other, _) = seeded(Options { seed: 43, ..opts }).await;
    assert_eq!(tickets(&first).await, tickets(&second).await);
    assert_eq!(events(&first).await, events(&second).await);
    assert_ne!(tickets(&first).await, tickets(&other).await);
}

#[tokio::test]
async fn keys_continue_after_the_existing_tickets() {
    let (_dir, pool) = database().await;
    let policy = Policy::builtin();
    let opts = Options {
        tickets: 50,
        days: 10,
        seed: 1,
    };
    let first = seed::seed(&pool, &policy, &opts, now()).await.unwrap();
    let second = seed::seed(&pool, &policy, &opts, now()).await.unwrap();
    assert_eq!(first.first_key.as_deref(), Some("PLAT-1"));
    assert_eq!(first.last_key.as_deref(), Some("PLAT-50"));
    assert_eq!(second.first_key.as_deref(), Some("PLAT-51"));
    assert_eq!(tickets(&pool).await.len(), 100);
}
