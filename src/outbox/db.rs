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

/// Writes one message in the caller's transaction and returns its row id (for a capability
/// that must find its rows again: a survey deletes its own at close).
pub async fn insert_one(
    conn: &mut SqliteConnection,
    m: &OutboxMessage,
    now: &str,
) -> sqlx::Result<i64> {
    sqlx::query_scalar(
        "insert into outbox (method, channel, payload, purpose, created_at) \
         values (?, ?, ?, ?, ?) returning id",
    )
    .bind(m.method)
    .bind(&m.channel)
    .bind(m.payload.as_str())
    .bind(m.purpose.as_str())
    .bind(now)
    .fetch_one(conn)
    .await
}

/// The oldest pending row of every lane, oldest first: the sender keeps order within a
/// lane, so only a lane's head may be sent. A skip-scan over the partial index costs a
/// lookup per lane with pending rows (a handful of channels, plus the cards with an update
/// waiting), not a pass over every pending row. All lanes are visited, so that `limit` keeps
/// the oldest heads rather than the first lanes by name.
pub async fn lane_heads(conn: &mut SqliteConnection, limit: i64) -> sqlx::Result<Vec<PendingRow>> {
    let rows = sqlx::query(
        r#"
        with recursive lanes(lane) as (
            select min(lane) from outbox where status = 'pending'
            union all
            select (select min(lane) from outbox
                    where status = 'pending' and lane > lanes.lane)
            from lanes where lanes.lane is not null
        )
        select o.id, o.method, o.channel, o.lane, o.payload, o.purpose, o.ticket_id,
               o.attempts, o.next_attempt_at, o.created_at, o.started_at
        from lanes l
        join outbox o on o.id = (select id from outbox
                                 where status = 'pending' and lane = l.lane
                                 order by id limit 1)
        where l.lane is not null
        order by o.id
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
                lane: r.try_get("lane")?,
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

/// Whether `ticket`'s card is still to be posted to `channel` (its post pending): an update
/// or thread reply of the card then waits for it. Looked up among that channel's pending
/// posts (their lane), which are few but under a burst of filing.
pub async fn card_post_pending(
    conn: &mut SqliteConnection,
    channel: &str,
    ticket: i64,
) -> sqlx::Result<bool> {
    sqlx::query_scalar(
        "select exists (select 1 from outbox where status = 'pending' and lane = ? \
         and ticket_id = ? and purpose = 'ticket_card')",
    )
    .bind(format!("chat.postMessage {channel}"))
    .bind(ticket)
    .fetch_one(conn)
    .await
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

/// Gives up on a row at `now`: it stays in the table, visible, with its last error.
pub async fn mark_failed(
    conn: &mut SqliteConnection,
    id: i64,
    error: &str,
    now: &str,
) -> sqlx::Result<()> {
    sqlx::query(
        "update outbox set status = 'failed', attempts = attempts + 1, last_error = ?, \
         failed_at = ?, started_at = null where id = ?",
    )
    .bind(error)
    .bind(now)
    .bind(id)
    .execute(conn)
    .await?;
    Ok(())
}

/// How many rows wait to be sent, and how many were given up on: for `/metrics`.
pub async fn counts(conn: &mut SqliteConnection) -> sqlx::Result<(i64, i64)> {
    // Each count reads its own partial index (pending: the lanes' heads; failed: migration
    // 15), never the sent rows, which are nearly all of the table.
    let pending: i64 = sqlx::query_scalar("select count(*) from outbox where status = 'pending'")
        .fetch_one(&mut *conn)
        .await?;
    let failed: i64 = sqlx::query_scalar("select count(*) from outbox where status = 'failed'")
        .fetch_one(&mut *conn)
        .await?;
    Ok((pending, failed))
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
    /// When the sender gave up on it (RFC 3339 UTC); None for rows given up before the bot
    /// kept it (migration 32).
    pub failed_at: Option<String>,
    /// The key of the ticket the message is about, if any.
    pub ticket: Option<String>,
}

/// Every failed row, oldest first. Failed rows are few (each is an alert), so reading past
/// the sent ones costs one pass over the table, fine for an operator's command.
pub async fn failed(conn: &mut SqliteConnection) -> sqlx::Result<Vec<FailedRow>> {
    sqlx::query_as(
        r#"
        select o.id, o.method, o.channel, o.attempts, o.last_error, o.created_at,
               o.failed_at, t.key as ticket
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
        set status = 'pending', attempts = 0, next_attempt_at = null, failed_at = null,
            started_at = case when method = 'chat.postMessage' then created_at end
        where status = 'failed' and (?1 is null or id = ?1)
        returning id, method, channel
        "#,
    )
    .bind(only)
    .fetch_all(conn)
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store;

    fn msg(method: &'static str, channel: &str, purpose: Purpose) -> OutboxMessage {
        OutboxMessage {
            method,
            channel: channel.into(),
            payload: "{}".into(),
            purpose,
        }
    }

    async fn migrated(dir: &tempfile::TempDir) -> store::Pool {
        let url = format!("sqlite://{}", dir.path().join("outbox.db").display());
        let pool = store::connect(&url).await.unwrap();
        store::migrate(&pool).await.unwrap();
        for id in [1, 2] {
            sqlx::query(
                "insert into tickets (id, key, title, description, requester, source, category, \
                 priority, created_at, updated_at) values (?, ?, 't', 'd', 'U1', 'command', \
                 'other', 'P3', 'now', 'now')",
            )
            .bind(id)
            .bind(format!("PLAT-{id}"))
            .execute(&pool)
            .await
            .unwrap();
        }
        pool
    }

    fn ids(rows: &[PendingRow]) -> Vec<(i64, &str)> {
        rows.iter().map(|r| (r.id, r.lane.as_str())).collect()
    }

    #[tokio::test]
    async fn every_lane_has_one_head_oldest_first_and_each_cards_updates_a_lane_of_their_own() {
        let dir = tempfile::tempdir().unwrap();
        let pool = migrated(&dir).await;
        let mut conn = pool.acquire().await.unwrap();
        let (card, update) = (Purpose::TicketCard, Purpose::CardUpdate);
        let rows = [
            (Some(1), msg("chat.postMessage", "C1", card)),
            (Some(2), msg("chat.postMessage", "C1", card)),
            (Some(1), msg("chat.update", "C1", update)),
            (Some(1), msg("chat.update", "C1", update)),
            (Some(2), msg("chat.update", "C1", update)),
            (None, msg("reactions.add", "C1", Purpose::Notice)),
            (None, msg("chat.postMessage", "C2", Purpose::Notice)),
        ];
        insert_all(&mut conn, &rows, "now").await.unwrap();
        let heads = lane_heads(&mut conn, 100).await.unwrap();
        assert_eq!(
            ids(&heads),
            [
                (1, "chat.postMessage C1"),
                (3, "chat.update #1"),
                (5, "chat.update #2"),
                (6, "reactions.add C1"),
                (7, "chat.postMessage C2"),
            ]
        );
        // The limit keeps the oldest heads, whatever their lane's name.
        assert_eq!(ids(&lane_heads(&mut conn, 2).await.unwrap()).len(), 2);
        assert_eq!(lane_heads(&mut conn, 2).await.unwrap()[1].id, 3);

        // A lane's next row is its head once the one before is done.
        mark_sent(&mut conn, 3, "now", None).await.unwrap();
        mark_failed(&mut conn, 1, "x", "now").await.unwrap();
        let heads = lane_heads(&mut conn, 100).await.unwrap();
        assert_eq!(
            heads.iter().map(|r| r.id).collect::<Vec<_>>(),
            [2, 4, 5, 6, 7]
        );
    }

    #[tokio::test]
    async fn a_deleted_rows_id_is_never_given_to_a_new_row() {
        // A survey's close deletes its own rows, one maybe in flight, and writes its results
        // in the same transaction: were the newest id given out again, the answer to the
        // deleted row's call would mark the results sent (`mark_sent` is by id).
        let dir = tempfile::tempdir().unwrap();
        let pool = migrated(&dir).await;
        let mut conn = pool.acquire().await.unwrap();
        let notice = Purpose::Notice;
        insert_all(
            &mut conn,
            &[(None, msg("chat.postMessage", "C1", notice))],
            "now",
        )
        .await
        .unwrap();
        let reminder = insert_one(&mut conn, &msg("chat.postMessage", "U1", notice), "now")
            .await
            .unwrap();
        sqlx::query("delete from outbox where id = ?")
            .bind(reminder)
            .execute(&mut *conn)
            .await
            .unwrap();
        let results = insert_one(&mut conn, &msg("chat.postMessage", "C2", notice), "now")
            .await
            .unwrap();
        assert!(results > reminder, "{results} reuses {reminder}");
        mark_sent(&mut conn, reminder, "now", Some("1.1"))
            .await
            .unwrap();
        assert_eq!(
            status_of(&mut conn, results).await.unwrap().as_deref(),
            Some("pending")
        );
    }

    #[tokio::test]
    async fn a_card_post_is_pending_until_it_is_sent() {
        let dir = tempfile::tempdir().unwrap();
        let pool = migrated(&dir).await;
        let mut conn = pool.acquire().await.unwrap();
        let rows = [
            (Some(1), msg("chat.postMessage", "C1", Purpose::TicketCard)),
            (Some(2), msg("chat.postMessage", "C1", Purpose::Notice)),
        ];
        insert_all(&mut conn, &rows, "now").await.unwrap();
        assert!(card_post_pending(&mut conn, "C1", 1).await.unwrap());
        assert!(!card_post_pending(&mut conn, "C2", 1).await.unwrap());
        assert!(
            !card_post_pending(&mut conn, "C1", 2).await.unwrap(),
            "a notice about a ticket is not its card"
        );
        mark_sent(&mut conn, 1, "now", Some("1.1")).await.unwrap();
        assert!(!card_post_pending(&mut conn, "C1", 1).await.unwrap());
    }
}
