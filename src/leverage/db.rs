//! The SQL of hours saved and support time: wins (migration 25), confirmed deflections
//! (`self_service_offers`, migration 23), the events that start and stop work on tickets,
//! and the record of above-band notices. Times are fixed-width UTC text (`db_time`), so
//! comparing the text compares the times.

use chrono::{DateTime, Utc};
use sqlx::{Row, SqliteConnection};

use super::intervals::Event;
use crate::clock::{db_time, parse_db_time};
use crate::domain::status::EventKind;

/// One recorded win.
#[derive(Debug, Clone, PartialEq)]
pub struct Win {
    pub id: i64,
    pub what: String,
    pub hours_per_month: f64,
    pub recorded_by: String,
    pub recorded_at: DateTime<Utc>,
}

pub async fn add_win(
    conn: &mut SqliteConnection,
    what: &str,
    hours_per_month: f64,
    by: &str,
    at: DateTime<Utc>,
) -> sqlx::Result<i64> {
    sqlx::query_scalar(
        r#"
        insert into wins (what, hours_per_month, recorded_by, recorded_at)
        values (?, ?, ?, ?)
        returning id
        "#,
    )
    .bind(what)
    .bind(hours_per_month)
    .bind(by)
    .bind(db_time(at))
    .fetch_one(conn)
    .await
}

/// The newest `limit` wins, newest first, and how many there are and their hours in all.
pub async fn wins(conn: &mut SqliteConnection, limit: i64) -> sqlx::Result<(Vec<Win>, i64, f64)> {
    let rows = sqlx::query(
        r#"
        select id, what, hours_per_month, recorded_by, recorded_at
        from wins
        order by recorded_at desc, id desc
        limit ?
        "#,
    )
    .bind(limit)
    .fetch_all(&mut *conn)
    .await?;
    let list = rows
        .iter()
        .map(|r| {
            Ok(Win {
                id: r.try_get("id")?,
                what: r.try_get("what")?,
                hours_per_month: r.try_get("hours_per_month")?,
                recorded_by: r.try_get("recorded_by")?,
                recorded_at: time(r.try_get("recorded_at")?)?,
            })
        })
        .collect::<sqlx::Result<Vec<_>>>()?;
    let (count, total): (i64, f64) =
        sqlx::query_as("select count(*), coalesce(sum(hours_per_month), 0.0) from wins")
            .fetch_one(conn)
            .await?;
    Ok((list, count, total))
}

/// The hours a month of the wins recorded before `before`.
pub async fn win_hours_before(
    conn: &mut SqliteConnection,
    before: DateTime<Utc>,
) -> sqlx::Result<f64> {
    sqlx::query_scalar("select coalesce(sum(hours_per_month), 0.0) from wins where recorded_at < ?")
        .bind(db_time(before))
        .fetch_one(conn)
        .await
}

/// Self-service offers confirmed solved (`This solved it`) in `[from, to)`.
pub async fn solved_offers(
    conn: &mut SqliteConnection,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> sqlx::Result<i64> {
    sqlx::query_scalar(
        r#"
        select count(*) from self_service_offers
        where outcome = 'solved' and decided_at >= ? and decided_at < ?
        "#,
    )
    .bind(db_time(from))
    .bind(db_time(to))
    .fetch_one(conn)
    .await
}

/// The events that start and stop work of every ticket that may have been worked in
/// `[from, to)`, by ticket then in order: tickets with such an event in the span, tickets
/// being worked now, and tickets resolved or closed after the span (worked across it).
pub async fn work_events(
    conn: &mut SqliteConnection,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> sqlx::Result<Vec<(i64, Event)>> {
    let rows = sqlx::query(
        r#"
        with worked (id) as (
            select ticket_id from ticket_events
            where kind in ('acknowledged', 'assigned', 'waiting', 'resumed', 'resolved',
                           'reopened', 'closed')
              and at >= ? and at < ?
            union
            select id from tickets where status in ('acknowledged', 'waiting')
            union
            -- the index's own condition, repeated so that SQLite uses it
            select ticket_id from ticket_events
            where kind in ('acknowledged', 'assigned', 'waiting', 'resumed', 'resolved',
                           'reopened', 'closed')
              and kind in ('resolved', 'closed') and at >= ?
        )
        select e.ticket_id, e.kind, e.actor, e.detail, e.at
        from ticket_events e join worked w on w.id = e.ticket_id
        where e.kind in ('acknowledged', 'assigned', 'waiting', 'resumed', 'resolved',
                         'reopened', 'closed')
        order by e.ticket_id, e.id
        "#,
    )
    .bind(db_time(from))
    .bind(db_time(to))
    .bind(db_time(to))
    .fetch_all(conn)
    .await?;
    let mut out = Vec::with_capacity(rows.len());
    for r in &rows {
        let Some(kind) = EventKind::parse(r.try_get("kind")?) else {
            continue;
        };
        out.push((
            r.try_get("ticket_id")?,
            Event {
                kind,
                actor: r.try_get("actor")?,
                detail: r.try_get("detail")?,
                at: time(r.try_get("at")?)?,
            },
        ));
    }
    Ok(out)
}

/// Records the notice of the streak starting on the local Monday `streak_start`; false when
/// it was already told.
pub async fn record_notice(
    conn: &mut SqliteConnection,
    streak_start: &str,
    at: DateTime<Utc>,
) -> sqlx::Result<bool> {
    let done = sqlx::query(
        r#"
        insert into support_share_notices (streak_start, notified_at) values (?, ?)
        on conflict (streak_start) do nothing
        "#,
    )
    .bind(streak_start)
    .bind(db_time(at))
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

fn time(text: &str) -> sqlx::Result<DateTime<Utc>> {
    parse_db_time(text).ok_or_else(|| sqlx::Error::Decode(format!("not a time: {text:?}").into()))
}
