//! The export, streamed: CSV, JSON and the HTTP body carry every field of CONTRACT's export
//! record, and parsing them back gives the stored values.

use chrono::{DateTime, Duration, Utc};
use platform_desk::clock::parse_db_time;
use platform_desk::seed::{self, Options};
use platform_desk::settings::Policy;
use platform_desk::store;
use platform_desk::tickets::export::{self, Record, COLUMNS};
use platform_desk::tickets::{db, Ticket};
use sqlx::SqlitePool;

fn now() -> DateTime<Utc> {
    "2026-11-26T15:30:00Z".parse().unwrap()
}

/// Seeded history (open, waiting, resolved, reopened and breached tickets, tickets with
/// no channel) and a ticket whose text needs quoting in every format.
async fn dataset() -> (tempfile::TempDir, SqlitePool, Vec<Ticket>) {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("export.db").display());
    let pool = store::connect(&url).await.unwrap();
    store::migrate(&pool).await.unwrap();
    let opts = Options {
        tickets: 400,
        days: 30,
        seed: 5,
    };
    seed::seed(&pool, &Policy::builtin(), &opts, now())
        .await
        .unwrap();
    sqlx::query(
        "update tickets set title = 'a, \"quoted\"\r\ntitle ✓', \
         description = 'line one\nline \"two\", <b>&</b>' where id = 3",
    )
    .execute(&pool)
    .await
    .unwrap();
    let tickets = db::all_since(&mut pool.acquire().await.unwrap(), None)
        .await
        .unwrap();
    (dir, pool, tickets)
}

/// Each parsed record is the stored ticket's record, and its times are the stored times.
fn assert_round_trip(parsed: &[Record], stored: &[Ticket]) {
    assert_eq!(parsed.len(), stored.len());
    for (p, t) in parsed.iter().zip(stored) {
        assert_eq!(p, &export::record(t, now()), "{}", t.key);
        assert_eq!(parse_db_time(&p.created_at), Some(t.created_at));
        let time = |s: &Option<String>| s.as_deref().and_then(parse_db_time);
        assert_eq!(time(&p.first_response_at), t.first_response_at);
        assert_eq!(time(&p.resolved_at), t.resolved_at);
        assert_eq!(time(&p.first_response_due), t.first_response_due);
        assert_eq!(time(&p.resolution_due), t.resolution_due);
        assert_eq!(p.csat, t.csat.map(f64::from), "the stored score");
    }
}

fn kinds_present(stored: &[Ticket]) {
    assert!(stored.iter().any(|t| t.channel.is_none()));
    assert!(stored.iter().any(|t| t.assignee.is_none()));
    assert!(stored.iter().any(|t| t.first_response_breached));
    assert!(stored.iter().any(|t| t.resolved_at.is_some()));
    assert!(stored.iter().any(|t| t.is_open()));
    assert!(stored.iter().any(|t| t.csat.is_some()) && stored.iter().any(|t| t.csat.is_none()));
}

#[tokio::test]
async fn csv_export_parses_back_to_the_stored_values() {
    let (_dir, pool, stored) = dataset().await;
    kinds_present(&stored);
    let mut out = Vec::new();
    let n = export::write_csv(&pool, None, now(), &mut out)
        .await
        .unwrap();
    assert_eq!(n as usize, stored.len());
    let mut reader = csv::Reader::from_reader(out.as_slice());
    assert_eq!(reader.headers().unwrap(), COLUMNS.as_slice());
    let parsed: Vec<Record> = reader.deserialize().map(Result::unwrap).collect();
    assert_round_trip(&parsed, &stored);
    assert!(parsed[2].title.contains("\"quoted\"\r\n"));
}

#[tokio::test]
async fn json_export_parses_back_to_the_stored_values_with_every_field() {
    let (_dir, pool, stored) = dataset().await;
    let mut out = Vec::new();
    export::write_json(&pool, None, now(), &mut out)
        .await
        .unwrap();
    let values: Vec<serde_json::Value> = serde_json::from_slice(&out).unwrap();
    let fields: Vec<&str> = values[0]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    let mut expected = COLUMNS.to_vec();
    expected.sort_unstable();
    let mut fields = fields;
    fields.sort_unstable();
    assert_eq!(fields, expected);
    assert_eq!(values[0]["csat"].as_f64(), stored[0].csat.map(f64::from));
    let parsed: Vec<Record> = serde_json::from_slice(&out).unwrap();
    assert_round_trip(&parsed, &stored);
}

#[tokio::test]
async fn the_http_body_is_the_same_json_array_streamed() {
    let (_dir, pool, stored) = dataset().await;
    let body = export::json_body(pool.clone(), None, now());
    let bytes = axum::body::to_bytes(body, usize::MAX).await.unwrap();
    let parsed: Vec<Record> = serde_json::from_slice(&bytes).unwrap();
    assert_round_trip(&parsed, &stored);
    let mut cli = Vec::new();
    export::write_json(&pool, None, now(), &mut cli)
        .await
        .unwrap();
    assert_eq!(
        bytes.as_ref(),
        cli.as_slice(),
        "the CLI and the API write the same"
    );
}

#[tokio::test]
async fn days_keeps_only_the_tickets_created_in_the_window_and_an_empty_one_is_valid() {
    let (_dir, pool, stored) = dataset().await;
    let recent: Vec<Ticket> = stored
        .into_iter()
        .filter(|t| t.created_at >= now() - Duration::days(7))
        .collect();
    let body = export::json_body(pool.clone(), Some(7), now());
    let bytes = axum::body::to_bytes(body, usize::MAX).await.unwrap();
    let parsed: Vec<Record> = serde_json::from_slice(&bytes).unwrap();
    assert!(!recent.is_empty());
    assert_round_trip(&parsed, &recent);
    sqlx::query("delete from timers")
        .execute(&pool)
        .await
        .unwrap();
    sqlx::query("delete from ticket_events")
        .execute(&pool)
        .await
        .unwrap();
    sqlx::query("delete from tickets")
        .execute(&pool)
        .await
        .unwrap();
    let mut out = Vec::new();
    export::write_json(&pool, None, now(), &mut out)
        .await
        .unwrap();
    assert_eq!(serde_json::from_slice::<Vec<Record>>(&out).unwrap(), []);
    let mut out = Vec::new();
    export::write_csv(&pool, None, now(), &mut out)
        .await
        .unwrap();
    assert_eq!(String::from_utf8(out).unwrap(), COLUMNS.join(",") + "\r\n");
}
