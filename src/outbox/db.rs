//! The SQL of the outbox: writing rows, finding each channel's next row, recording results.

use super::{OutboxMessage, PendingRow, Purpose};
use sqlx::{QueryBuilder, Row, Sqlite, SqliteConnection};

/// Writes messages caused by a change to `ticket_id` (if any), in the caller's transaction.
pub async fn insert_all(
    conn: &mut SqliteConnection,
    rows: &[(Option<i64>, OutboxMessage)],
    now: &str,
) -> sqlx::Result<()> {
    for chunk in rows.chunks(1000) {
        let mut q: QueryBuilder<Sqlite> = QueryBuilder::new(
            "insert into outbox (method, channel, payload, purpose, ticket_id, created_at) ",
        );
        q.push_values(chunk, |mut row, (ticket_id, m)| {
            row.push_bind(m.method)
                .push_bind(m.channel.clone())
                .push_bind(m.payload.as_str())
                .push_bind(m.purpose.as_str())
                .push_bind(*ticket_id)
                .push_bind(now.to_string());
        });
        q.build().execute(&mut *conn).await?;
    }
    Ok(())
}

/// The oldest pending row of every channel: the sender keeps order within a channel, so
/// only a channel's head may be sent. A skip-scan over the partial index costs a lookup per
/// channel, not a pass over every pending row.
pub async fn channel_heads(
    conn: &mut SqliteConnection,
    limit: i64,
) -> sqlx::Result<Vec<PendingRow>> {
    let rows = sqlx::query(
        r#"
        with recursive channels(channel) as (
            select min(channel) from outbox where status = 'pending'
            union all
            select (select min(channel) from outbox
                    where status = 'pending' and channel > channels.channel)
            from channels where channels.channel is not null
        )
        select o.id, o.method, o.channel, o.payload, o.purpose, o.ticket_id, o.attempts,
               o.next_attempt_at, o.created_at, o.started_at
        from channels c
        join outbox o on o.id = (select id from outbox
                                 where status = 'pending' and channel = c.channel
                                 order by id limit 1)
        where c.channel is not null
        limit ?
        "#,
    )
    .bind(limit)
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(PendingRow {
                id: r.try_get("id")?,
                method: r.try_get("method")?,
                channel: r.try_get("channel")?,
                payload: r.try_get("payload")?,
                purpose: Purpose::parse(r.try_get::<&str, _>("purpose")?),
                ticket_id: r.try_get("ticket_id")?,
                attempts: r.try_get("attempts")?,
                next_attempt_at: r.try_get("next_attempt_at")?,
                created_at: r.try_get("created_at")?,
                started_at: r.try_get("started_at")?,
            })
        })
        .collect()
}

/// Notes that calls for `ids` (one pass's, a handful) are about to start, in one statement
/// before they do. A row already marked keeps its first time: the search for a post Slack
/// may have taken must reach back to the earliest unanswered call.
pub async fn mark_started(conn: &mut SqliteConnection, ids: &[i64], now: &str) -> sqlx::Result<()> {
    let mut q: QueryBuilder<Sqlite> =
        QueryBuilder::new("update outbox set started_at = coalesce(started_at, ");
    q.push_bind(now).push(") where id in (");
    let mut list = q.separated(", ");
    for id in ids {
        list.push_bind(*id);
    }
    q.push(")");
    q.build().execute(conn).await?;
    Ok(())
}

/// Forgets that a call was started: Slack answered that it did not take it (a 429), so the
/// next try need not look for it first.
pub async fn clear_started(conn: &mut SqliteConnection, id: i64) -> sqlx::Result<()> {
    sqlx::query("update outbox set started_at = null where id = ?")
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}

/// Marks a row delivered, with the `ts` Slack gave it.
pub async fn mark_sent(
    conn: &mut SqliteConnection,
    id: i64,
    now: &str,
    ts: Option<&str>,
) -> sqlx::Result<()> {
    sqlx::query(
        "update outbox set status = 'sent', sent_at = ?, result_ts = ?, attempts = attempts + 1, \
         started_at = null where id = ?",
    )
    .bind(now)
    .bind(ts)
    .bind(id)
    .execute(conn)
    .await?;
    Ok(())
}

/// Counts a failed attempt and sets when to try again.
pub async fn mark_retry(
    conn: &mut SqliteConnection,
    id: i64,
    next_attempt_at: &str,
    error: &str,
) -> sqlx::Result<()> {
    sqlx::query(
        "update outbox set attempts = attempts + 1, next_attempt_at = ?, last_error = ? \
         where id = ?",
    )
    .bind(next_attempt_at)
    .bind(error)
    .bind(id)
    .execute(conn)
    .await?;
    Ok(())
}

/// Gives up on a row: it stays in the table, visible, with its last error.
pub async fn mark_failed(conn: &mut SqliteConnection, id: i64, error: &str) -> sqlx::Result<()> {
    sqlx::query(
        "update outbox set status = 'failed', attempts = attempts + 1, last_error = ?, \
         started_at = null where id = ?",
    )
    .bind(error)
    .bind(id)
    .execute(conn)
    .await?;
    Ok(())
}

/// Counts of rows per status, for metrics and tests.
pub async fn counts(conn: &mut SqliteConnection) -> sqlx::Result<(i64, i64, i64)> {
    let r = sqlx::query(
        "select coalesce(sum(status = 'pending'), 0) p, coalesce(sum(status = 'sent'), 0) s, \
         coalesce(sum(status = 'failed'), 0) f from outbox",
    )
    .fetch_one(conn)
    .await?;
    Ok((r.try_get("p")?, r.try_get("s")?, r.try_get("f")?))
}

/// A row Slack never took, as `platform-desk outbox failed` shows it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, sqlx::FromRow)]
pub struct FailedRow {
    pub id: i64,
    pub method: String,
    pub channel: String,
    pub attempts: i64,
    pub last_error: Option<String>,
    /// When the message was written (RFC 3339 UTC): the change it reports happened then.
    pub created_at: String,
    /// The key of the ticket the message is about, if any.
    pub ticket: Option<String>,
}

/// Every failed row, oldest first. Failed rows are few (each is an alert), so reading past
/// the sent ones costs one pass over the table, fine for an operator's command.
pub async fn failed(conn: &mut SqliteConnection) -> sqlx::Result<Vec<FailedRow>> {
    sqlx::query_as(
        r#"
        select o.id, o.method, o.channel, o.attempts, o.last_error, o.created_at,
               t.key as ticket
        from outbox o left join tickets t on t.id = o.ticket_id
        where o.status = 'failed'
        order by o.id
        "#,
    )
    .fetch_all(conn)
    .await
}

/// The status of row `id` (`pending`, `sent` or `failed`), None when there is no such row.
pub async fn status_of(conn: &mut SqliteConnection, id: i64) -> sqlx::Result<Option<String>> {
    sqlx::query_scalar("select status from outbox where id = ?")
        .bind(id)
        .fetch_optional(conn)
        .await
}

/// A row put back in the queue by [`requeue`].
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, sqlx::FromRow)]
pub struct Requeued {
    pub id: i64,
    pub method: String,
    pub channel: String,
}

/// Puts failed rows back to pending, due now, with their attempts reset: row `only`, or
/// every failed row when None. The sender then sends them as any other pending row (first
/// in their channel's queue, as their ids are older than what came since).
///
/// A post may have reached Slack on a try whose answer was lost, and `started_at` was
/// cleared when the row was given up: it is set back to the row's creation, so the sender
/// looks in the channel for the post before posting it again (`slack::already_posted`).
pub async fn requeue(
    conn: &mut SqliteConnection,
    only: Option<i64>,
) -> sqlx::Result<Vec<Requeued>> {
    sqlx::query_as(
        r#"
        update outbox
        set status = 'pending', attempts = 0, next_attempt_at = null,
            started_at = case when method = 'chat.postMessage' then created_at end
        where status = 'failed' and (?1 is null or id = ?1)
        returning id, method, channel
        "#,
    )
    .bind(only)
    .fetch_all(conn)
    .await
}
