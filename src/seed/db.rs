//! The seed's SQL: the next free ticket number, and seeded tickets with their logs and
//! timers written in multi-row statements (the same text for every full chunk, so SQLite
//! prepares each once and sqlx keeps it in its statement cache).

use super::story::Seeded;
use crate::clock::db_time;
use sqlx::{QueryBuilder, Sqlite, SqliteConnection};

/// Rows per ticket statement: 28 columns, under SQLite's 32,766 variables.
const TICKETS_PER_STATEMENT: usize = 1_000;
/// Rows per event statement: 5 columns.
const EVENTS_PER_STATEMENT: usize = 5_000;

/// The number after the highest ticket's (keys continue after existing tickets).
pub async fn next_id(conn: &mut SqliteConnection) -> sqlx::Result<i64> {
    let max: i64 = sqlx::query_scalar("select coalesce(max(id), 0) from tickets")
        .fetch_one(conn)
        .await?;
    Ok(max + 1)
}

/// Writes tickets, then their events, then their pending timers.
pub async fn insert(conn: &mut SqliteConnection, seeded: &[Seeded]) -> sqlx::Result<()> {
    for chunk in seeded.chunks(TICKETS_PER_STATEMENT) {
        let mut q: QueryBuilder<Sqlite> = QueryBuilder::new(
            "insert into tickets (id, key, title, description, requester, channel, source, \
             source_ts, category, priority, status, assignee, created_at, updated_at, \
             first_response_at, resolved_at, first_response_due, resolution_due, triage_rule, \
             triage_reason, filed_by, resolution_note, first_response_breached, \
             resolution_breached, first_response_s, resolution_s, reopens, csat) ",
        );
        q.push_values(chunk, |mut row, s| {
            let t = &s.ticket;
            let updated = s.events.last().map_or(t.created_at, |e| e.at);
            row.push_bind(t.id)
                .push_bind(t.key.as_str())
                .push_bind(t.title.as_str())
                .push_bind(t.description.as_str())
                .push_bind(t.requester.as_str())
                .push_bind(t.channel.as_deref())
                .push_bind(t.source.as_str())
                .push_bind(t.source_ts.as_deref())
                .push_bind(t.category.as_str())
                .push_bind(t.priority.as_str())
                .push_bind(t.status.as_str())
                .push_bind(t.assignee.as_deref())
                .push_bind(db_time(t.created_at))
                .push_bind(db_time(updated))
                .push_bind(t.first_response_at.map(db_time))
                .push_bind(t.resolved_at.map(db_time))
                .push_bind(t.first_response_due.map(db_time))
                .push_bind(t.resolution_due.map(db_time))
                .push_bind(t.triage_rule.as_deref())
                .push_bind(t.triage_reason.as_deref())
                .push_bind(t.filed_by.as_deref())
                .push_bind(t.resolution_note.as_deref())
                .push_bind(t.first_response_breached)
                .push_bind(t.resolution_breached)
                .push_bind(t.measured.first_response_s)
                .push_bind(t.measured.resolution_s)
                .push_bind(t.measured.reopens)
                .push_bind(t.csat.map(i64::from));
        });
        q.build().persistent(true).execute(&mut *conn).await?;
    }
    let events: Vec<_> = seeded
        .iter()
        .flat_map(|s| s.events.iter().map(move |e| (s.ticket.id, e)))
        .collect();
    for chunk in events.chunks(EVENTS_PER_STATEMENT) {
        let mut q: QueryBuilder<Sqlite> =
            QueryBuilder::new("insert into ticket_events (ticket_id, kind, actor, at, detail) ");
        q.push_values(chunk, |mut row, (id, e)| {
            row.push_bind(*id)
                .push_bind(e.kind.as_str())
                .push_bind(e.actor.as_deref())
                .push_bind(db_time(e.at))
                .push_bind(e.detail.as_deref());
        });
        q.build().persistent(true).execute(&mut *conn).await?;
    }
    let timers: Vec<_> = seeded
        .iter()
        .flat_map(|s| s.timers.iter().map(move |p| (s.ticket.id, *p, 0)))
        .collect();
    crate::sla::db::insert_all(conn, &timers).await
}
