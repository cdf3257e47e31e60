//! The self-service report's SQL: offers made in the window by outcome and by entry, and
//! the tickets of the window no offer was made for.

use chrono::{DateTime, Utc};
use sqlx::SqliteConnection;

use crate::clock::db_time;

/// (offered, solved, still needed, ignored, pending) among offers made in `[from, to]`.
pub async fn outcomes(
    conn: &mut SqliteConnection,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> sqlx::Result<(i64, i64, i64, i64, i64)> {
    sqlx::query_as(
        "select count(*), \
         coalesce(sum(outcome = 'solved'), 0), coalesce(sum(outcome = 'still_needed'), 0), \
         coalesce(sum(outcome = 'ignored'), 0), coalesce(sum(outcome = 'pending'), 0) \
         from self_service_offers where requested_at >= ?1 and requested_at <= ?2",
    )
    .bind(db_time(from))
    .bind(db_time(to))
    .fetch_one(conn)
    .await
}

/// Per entry title: offered, solved by it (its own `This solved it`), still needed help,
/// ignored.
pub async fn by_entry(
    conn: &mut SqliteConnection,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> sqlx::Result<Vec<(String, i64, i64, i64, i64)>> {
    sqlx::query_as(
        "select e.title, count(*), \
         coalesce(sum(o.outcome = 'solved' and coalesce(o.solved_rank, 1) = e.rank), 0), \
         coalesce(sum(o.outcome = 'still_needed'), 0), coalesce(sum(o.outcome = 'ignored'), 0) \
         from self_service_offer_entries e join self_service_offers o on o.id = e.offer_id \
         where o.requested_at >= ?1 and o.requested_at <= ?2 group by e.title",
    )
    .bind(db_time(from))
    .bind(db_time(to))
    .fetch_all(conn)
    .await
}

/// (category, title) of the newest `limit` tickets created in `[from, to]` that were filed
/// with no offer: nothing in the catalog matched them.
pub async fn unmatched(
    conn: &mut SqliteConnection,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    limit: i64,
) -> sqlx::Result<Vec<(String, String)>> {
    sqlx::query_as(
        "select t.category, t.title from tickets t \
         where t.created_at >= ?1 and t.created_at <= ?2 \
         and not exists (select 1 from self_service_offers o where o.ticket_id = t.id) \
         order by t.created_at desc limit ?3",
    )
    .bind(db_time(from))
    .bind(db_time(to))
    .bind(limit)
    .fetch_all(conn)
    .await
}
