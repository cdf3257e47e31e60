//! `config check --what-if`: on tickets whose breaches and warnings are known by hand, the
//! current and the proposed policy give the expected counts; a bad proposed file is exit 1.

use chrono::{DateTime, Duration, Utc};
use platform_desk::settings::Policy;
use platform_desk::store;
use platform_desk::what_if::{self, Comparison, Counts};
use sqlx::SqlitePool;
use std::process::Command;

const CONTRACT: &str = include_str!("fixtures/contract_policy.toml");

fn now() -> DateTime<Utc> {
    "2026-11-26T15:30:00Z".parse().unwrap()
}

fn proposed() -> String {
    // P1's first response: 15 minutes now, 30 proposed.
    CONTRACT.replacen("first_response = \"15m\"", "first_response = \"30m\"", 1)
}

/// A ticket and its log: (minutes after its creation, kind, detail).
async fn ticket(
    pool: &SqlitePool,
    id: i64,
    created: DateTime<Utc>,
    log: &[(i64, &str, Option<&str>)],
) {
    let at = |m: i64| platform_desk::clock::db_time(created + Duration::minutes(m));
    sqlx::query(
        "insert into tickets (id, key, title, description, requester, source, category, \
         priority, status, created_at, updated_at) values (?, ?, 't', 'd', 'U1', 'command', \
         'general', 'P1', 'open', ?, ?)",
    )
    .bind(id)
    .bind(format!("PLAT-{id}"))
    .bind(at(0))
    .bind(at(0))
    .execute(pool)
    .await
    .unwrap();
    for (minutes, kind, detail) in log {
        sqlx::query("insert into ticket_events (ticket_id, kind, actor, at, detail) values (?, ?, 'U1', ?, ?)")
            .bind(id)
            .bind(*kind)
            .bind(at(*minutes))
            .bind(*detail)
            .execute(pool)
            .await
            .unwrap();
    }
}

/// A: P1 answered after 20 minutes, resolved after an hour: its first response breaches a
/// 15-minute target (warned at 11m15s) and meets a 30-minute one (warning at 22m30s, after
/// the answer). B: P2, unanswered for two hours: breached and warned (45 minutes) under
/// both. C: a P1 breach 40 days ago, outside the window. D: P3 with a reply in its thread
/// only (not clock-relevant), filed 10 minutes ago: nothing yet.
async fn dataset() -> (tempfile::TempDir, SqlitePool) {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("what-if.db").display());
    let pool = store::connect(&url).await.unwrap();
    store::migrate(&pool).await.unwrap();
    let a = now() - Duration::days(3);
    ticket(
        &pool,
        1,
        a,
        &[
            (0, "created", Some("P1")),
            (20, "first_response", None),
            (60, "resolved", None),
        ],
    )
    .await;
    ticket(
        &pool,
        2,
        now() - Duration::hours(2),
        &[(0, "created", Some("P2"))],
    )
    .await;
    ticket(
        &pool,
        3,
        now() - Duration::days(40),
        &[(0, "created", Some("P1"))],
    )
    .await;
    ticket(
        &pool,
        4,
        now() - Duration::minutes(10),
        &[(0, "created", Some("P3")), (5, "reply", Some("1.2 hi"))],
    )
    .await;
    (dir, pool)
}

fn counts(fr: u64, res: u64, warnings: u64) -> Counts {
    Counts {
        first_response_breached: fr,
        resolution_breached: res,
        warnings,
    }
}

#[tokio::test]
async fn a_longer_p1_target_removes_the_breach_and_the_warning_it_caused() {
    let (_dir, pool) = dataset().await;
    let current = Policy::parse(CONTRACT).unwrap();
    let proposed = Policy::parse(&proposed()).unwrap();
    let report = what_if::compare(&pool, &current, &proposed, 30, now())
        .await
        .unwrap();
    assert_eq!(
        report.tickets, 3,
        "the 40-day-old ticket is outside the window"
    );
    let p = |name: &str| report.by_priority[name];
    assert_eq!(
        p("P1"),
        Comparison {
            now: counts(1, 0, 1),
            proposed: counts(0, 0, 0)
        }
    );
    assert_eq!(
        p("P2"),
        Comparison {
            now: counts(1, 0, 1),
            proposed: counts(1, 0, 1)
        }
    );
    assert_eq!(p("P3"), Comparison::default());
    assert_eq!(p("P4"), Comparison::default());
    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(json["days"], 30);
    assert_eq!(
        json["by_priority"]["P1"],
        serde_json::json!({
            "now": {"first_response_breached": 1, "resolution_breached": 0, "warnings": 1},
            "proposed": {"first_response_breached": 0, "resolution_breached": 0, "warnings": 0}
        })
    );
    let report = what_if::compare(&pool, &current, &proposed, 60, now())
        .await
        .unwrap();
    assert_eq!(
        report.by_priority["P1"].now,
        counts(2, 1, 3),
        "C counts in 60 days"
    );
}

#[test]
fn a_proposed_file_with_problems_is_exit_1_with_each_problem() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.toml");
    std::fs::write(
        &bad,
        CONTRACT.replacen("warn_at = 0.75", "warn_at = 7", 1) + "\n[typo]\n",
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_platform-desk"))
        .args(["config", "check", "--what-if"])
        .arg(&bad)
        .env(
            "DATABASE_URL",
            format!("sqlite://{}", dir.path().join("x.db").display()),
        )
        .env_remove("PLATFORM_DESK_CONFIG")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("warn_at"), "{stdout}");
    assert!(stdout.contains("typo"), "{stdout}");
}

#[test]
fn the_command_prints_contracts_json() {
    let dir = tempfile::tempdir().unwrap();
    let proposed_file = dir.path().join("proposed.toml");
    std::fs::write(&proposed_file, proposed()).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_platform-desk"))
        .args([
            "config",
            "check",
            "--days",
            "7",
            "--format",
            "json",
            "--what-if",
        ])
        .arg(&proposed_file)
        .env(
            "DATABASE_URL",
            format!("sqlite://{}", dir.path().join("empty.db").display()),
        )
        .env_remove("PLATFORM_DESK_CONFIG")
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["days"], 7);
    assert_eq!(json["by_priority"]["P4"]["proposed"]["warnings"], 0);
    assert_eq!(json["by_priority"].as_object().unwrap().len(), 4);
}
