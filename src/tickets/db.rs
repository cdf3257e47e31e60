//! The SQL of tickets: batch inserts of new tickets and their first events, reads by key,
//! id, thread and person, the event log, and saving a ticket's changed state.

use super::{EventKind, Priority, Source, Status, Ticket};
use crate::clock::{db_time, parse_db_time};
use crate::sla::deadlines::{Happening, Moment};
use chrono::{DateTime, Utc};
use sqlx::{QueryBuilder, Row, Sqlite, SqliteConnection};

/// Records where a ticket's card was posted, so later changes can update it in place.
pub async fn set_card(
    conn: &mut SqliteConnection,
    ticket_id: i64,
    channel: &str,
    ts: &str,
) -> sqlx::Result<()> {
    sqlx::query("update tickets set card_channel = ?, card_ts = ? where id = ?")
        .bind(channel)
        .bind(ts)
        .bind(ticket_id)
        .execute(conn)
        .await?;
    Ok(())
}

/// Where a ticket's card is, if it has been posted.
pub async fn card_of(
    conn: &mut SqliteConnection,
    ticket_id: i64,
) -> sqlx::Result<Option<(String, String)>> {
    let row = sqlx::query(
        "select card_channel, card_ts from tickets where id = ? and card_ts is not null",
    )
    .bind(ticket_id)
    .fetch_optional(conn)
    .await?;
    row.map(|r| Ok((r.try_get("card_channel")?, r.try_get("card_ts")?)))
        .transpose()
}

const SELECT: &str = "select t.*, d.key as duplicate_key, m.key as merged_key from tickets t \
     left join tickets d on d.id = t.duplicate_of left join tickets m on m.id = t.merged_into ";

pub async fn by_key(conn: &mut SqliteConnection, key: &str) -> sqlx::Result<Option<Ticket>> {
    one(conn, "where t.key = ?", key).await
}

pub async fn by_id(conn: &mut SqliteConnection, id: i64) -> sqlx::Result<Option<Ticket>> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!("{SELECT} where t.id = ?")))
        .bind(id)
        .fetch_optional(conn)
        .await?;
    row.map(|r| from_row(&r)).transpose()
}

/// Many tickets by id, in one read.
pub async fn by_ids(conn: &mut SqliteConnection, ids: &[i64]) -> sqlx::Result<Vec<Ticket>> {
    let mut out = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(900) {
        let mut q: QueryBuilder<Sqlite> = QueryBuilder::new(SELECT);
        q.push(" where t.id in ");
        crate::store::push_id_list(&mut q, chunk);
        for row in q.build().fetch_all(&mut *conn).await? {
            out.push(from_row(&row)?);
        }
    }
    Ok(out)
}

/// Appends many events at once: (ticket, kind, detail), all by the bot at `at`.
pub async fn add_events(
    conn: &mut SqliteConnection,
    rows: &[(i64, EventKind, Option<String>)],
    at: DateTime<Utc>,
) -> sqlx::Result<()> {
    let at = db_time(at);
    for chunk in rows.chunks(1000) {
        let mut q: QueryBuilder<Sqlite> =
            QueryBuilder::new("insert into ticket_events (ticket_id, kind, actor, at, detail) ");
        q.push_values(chunk, |mut row, (id, kind, detail)| {
            row.push_bind(*id)
                .push_bind(kind.as_str())
                .push_bind(None::<String>)
                .push_bind(at.clone())
                .push_bind(detail.clone());
        });
        q.build().execute(&mut *conn).await?;
    }
    Ok(())
}

/// Marks tickets breached on one target (`first_response` or `resolution`): the breach
/// needs a fresh acknowledgement; `paged` when PagerDuty was triggered.
pub async fn mark_breached(
    conn: &mut SqliteConnection,
    ids: &[i64],
    target: &str,
    paged: bool,
    now: DateTime<Utc>,
) -> sqlx::Result<()> {
    let column = if target == "first response" {
        "first_response_breached"
    } else {
        "resolution_breached"
    };
    for chunk in ids.chunks(900) {
        let mut q: QueryBuilder<Sqlite> = QueryBuilder::new(format!(
            "update tickets set {column} = 1, breach_acknowledged_at = null, paged = paged or "
        ));
        q.push_bind(paged)
            .push(", updated_at = ")
            .push_bind(db_time(now))
            .push(" where id in ");
        crate::store::push_id_list(&mut q, chunk);
        q.build().execute(&mut *conn).await?;
    }
    Ok(())
}

/// The ticket whose card or source message starts the thread `thread_ts` in `channel`.
pub async fn by_thread(
    conn: &mut SqliteConnection,
    channel: &str,
    thread_ts: &str,
) -> sqlx::Result<Option<Ticket>> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "{SELECT} where (t.card_channel = ?1 and t.card_ts = ?2) or (t.channel = ?1 and t.source_ts = ?2) \
         order by t.id limit 1"
    )))
    .bind(channel)
    .bind(thread_ts)
    .fetch_optional(conn)
    .await?;
    row.map(|r| from_row(&r)).transpose()
}

/// The ticket filed from the message `ts` in `channel`.
pub async fn by_source(
    conn: &mut SqliteConnection,
    channel: &str,
    ts: &str,
) -> sqlx::Result<Option<Ticket>> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "{SELECT} where t.channel = ? and t.source_ts = ? order by t.id limit 1"
    )))
    .bind(channel)
    .bind(ts)
    .fetch_optional(conn)
    .await?;
    row.map(|r| from_row(&r)).transpose()
}

async fn one(
    conn: &mut SqliteConnection,
    filter: &str,
    value: &str,
) -> sqlx::Result<Option<Ticket>> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!("{SELECT} {filter}")))
        .bind(value)
        .fetch_optional(conn)
        .await?;
    row.map(|r| from_row(&r)).transpose()
}

/// Every ticket created at or after `since` (all when None), oldest first.
pub async fn all_since(
    conn: &mut SqliteConnection,
    since: Option<DateTime<Utc>>,
) -> sqlx::Result<Vec<Ticket>> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "{SELECT} where t.created_at >= ? order by t.id"
    )))
    .bind(since.map(db_time).unwrap_or_default())
    .fetch_all(conn)
    .await?;
    rows.iter().map(from_row).collect()
}

/// `open_for`'s statement: read from the status index (there is no index by requester).
fn open_for_sql() -> String {
    format!(
        "{SELECT} where t.requester = ? and t.status in ('open', 'acknowledged', 'waiting') order by t.id desc limit ?"
    )
}

/// A requester's open tickets, newest first.
pub async fn open_for(
    conn: &mut SqliteConnection,
    requester: &str,
    limit: i64,
) -> sqlx::Result<Vec<Ticket>> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(open_for_sql()))
        .bind(requester)
        .bind(limit)
        .fetch_all(conn)
        .await?;
    rows.iter().map(from_row).collect()
}

/// Open tickets, the ones whose next deadline comes soonest first (waiting ones last).
pub async fn queue(conn: &mut SqliteConnection, limit: i64) -> sqlx::Result<Vec<Ticket>> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "{SELECT} where t.status in ('open', 'acknowledged', 'waiting') \
         order by t.status = 'waiting', \
           min(coalesce(case when t.first_response_at is null then t.first_response_due end, '9999'), \
               coalesce(t.resolution_due, '9999')), t.id limit ?"
    )))
    .bind(limit)
    .fetch_all(conn)
    .await?;
    rows.iter().map(from_row).collect()
}

/// Appends to a ticket's event log.
pub async fn add_event(
    conn: &mut SqliteConnection,
    ticket_id: i64,
    kind: EventKind,
    actor: Option<&str>,
    at: DateTime<Utc>,
    detail: Option<&str>,
) -> sqlx::Result<()> {
    sqlx::query(
        "insert into ticket_events (ticket_id, kind, actor, at, detail) values (?, ?, ?, ?, ?)",
    )
    .bind(ticket_id)
    .bind(kind.as_str())
    .bind(actor)
    .bind(db_time(at))
    .bind(detail)
    .execute(conn)
    .await?;
    Ok(())
}

/// A ticket's event log, oldest first: (kind, actor, at, detail).
pub async fn events(
    conn: &mut SqliteConnection,
    ticket_id: i64,
) -> sqlx::Result<Vec<(String, Option<String>, DateTime<Utc>, Option<String>)>> {
    let rows = sqlx::query(
        "select kind, actor, at, detail from ticket_events where ticket_id = ? order by id",
    )
    .bind(ticket_id)
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|r| {
            let at: String = r.try_get("at")?;
            Ok((
                r.try_get("kind")?,
                r.try_get("actor")?,
                parse_db_time(&at).unwrap_or_default(),
                r.try_get("detail")?,
            ))
        })
        .collect()
}

/// The clock-relevant part of a ticket's log.
pub async fn history(conn: &mut SqliteConnection, ticket_id: i64) -> sqlx::Result<Vec<Moment>> {
    Ok(events(conn, ticket_id)
        .await?
        .into_iter()
        .filter_map(|(kind, _, at, detail)| {
            let what = match EventKind::parse(&kind)? {
                EventKind::Created => Happening::Created { priority: detail? },
                EventKind::PriorityChanged => Happening::PriorityChanged { priority: detail? },
                EventKind::Waiting => Happening::Paused,
                EventKind::Resumed => Happening::Resumed,
                EventKind::FirstResponse => Happening::FirstResponse,
                EventKind::Resolved | EventKind::Closed => Happening::Resolved,
                EventKind::Reopened => Happening::Reopened,
                _ => return None,
            };
            Some(Moment { at, what })
        })
        .collect())
}

/// Writes every mutable field of `t` back.
pub async fn save(conn: &mut SqliteConnection, t: &Ticket, now: DateTime<Utc>) -> sqlx::Result<()> {
    sqlx::query(
        "update tickets set description = ?, priority = ?, status = ?, assignee = ?, \
         first_response_at = ?, resolved_at = ?, first_response_due = ?, resolution_due = ?, \
         resolution_note = ?, merged_into = ?, source_deleted = ?, first_response_breached = ?, \
         resolution_breached = ?, breach_acknowledged_at = ?, paged = ?, first_response_s = ?, \
         resolution_s = ?, reopens = ?, updated_at = ? where id = ?",
    )
    .bind(&t.description)
    .bind(t.priority.as_str())
    .bind(t.status.as_str())
    .bind(&t.assignee)
    .bind(t.first_response_at.map(db_time))
    .bind(t.resolved_at.map(db_time))
    .bind(t.first_response_due.map(db_time))
    .bind(t.resolution_due.map(db_time))
    .bind(&t.resolution_note)
    .bind(t.merged_into.as_ref().map(|m| m.0))
    .bind(t.source_deleted)
    .bind(t.first_response_breached)
    .bind(t.resolution_breached)
    .bind(t.breach_acknowledged_at.map(db_time))
    .bind(t.paged)
    .bind(t.measured.first_response_s)
    .bind(t.measured.resolution_s)
    .bind(t.measured.reopens)
    .bind(db_time(now))
    .bind(t.id)
    .execute(conn)
    .await?;
    Ok(())
}

/// The row's status; a value outside the schema's check is a decode error, not a guess.
fn status(r: &sqlx::sqlite::SqliteRow) -> sqlx::Result<Status> {
    let text: String = r.try_get("status")?;
    Status::parse(&text).ok_or_else(|| sqlx::Error::ColumnDecode {
        index: "status".into(),
        source: format!("unknown ticket status {text:?}").into(),
    })
}

fn from_row(r: &sqlx::sqlite::SqliteRow) -> sqlx::Result<Ticket> {
    let source: String = r.try_get("source")?;
    let time = |col: &str| -> sqlx::Result<Option<DateTime<Utc>>> {
        Ok(r.try_get::<Option<String>, _>(col)?
            .as_deref()
            .and_then(parse_db_time))
    };
    let pair = |id: &str, key: &str| -> sqlx::Result<Option<(i64, String)>> {
        Ok(
            match (
                r.try_get::<Option<i64>, _>(id)?,
                r.try_get::<Option<String>, _>(key)?,
            ) {
                (Some(id), Some(key)) => Some((id, key)),
                _ => None,
            },
        )
    };
    Ok(Ticket {
        id: r.try_get("id")?,
        key: r.try_get("key")?,
        title: r.try_get("title")?,
        description: r.try_get("description")?,
        requester: r.try_get("requester")?,
        channel: r.try_get("channel")?,
        source: Source::parse(&source),
        source_ts: r.try_get("source_ts")?,
        category: r.try_get("category")?,
        priority: Priority::new(r.try_get::<String, _>("priority")?),
        status: status(r)?,
        assignee: r.try_get("assignee")?,
        urgency: r.try_get("urgency")?,
        link: r.try_get("link")?,
        created_at: time("created_at")?.unwrap_or_default(),
        first_response_due: time("first_response_due")?,
        resolution_due: time("resolution_due")?,
        first_response_at: time("first_response_at")?,
        resolved_at: time("resolved_at")?,
        triage_rule: r.try_get("triage_rule")?,
        triage_reason: r.try_get("triage_reason")?,
        duplicate_of: pair("duplicate_of", "duplicate_key")?,
        merged_into: pair("merged_into", "merged_key")?,
        filed_by: r.try_get("filed_by")?,
        resolution_note: r.try_get("resolution_note")?,
        source_deleted: r.try_get("source_deleted")?,
        card_channel: r.try_get("card_channel")?,
        card_ts: r.try_get("card_ts")?,
        first_response_breached: r.try_get("first_response_breached")?,
        resolution_breached: r.try_get("resolution_breached")?,
        breach_acknowledged_at: time("breach_acknowledged_at")?,
        paged: r.try_get("paged")?,
        measured: crate::domain::ticket::Measured {
            first_response_s: r.try_get("first_response_s")?,
            resolution_s: r.try_get("resolution_s")?,
            reopens: r.try_get("reopens")?,
        },
        csat: r
            .try_get::<Option<i64>, _>("csat")?
            .and_then(|v| u8::try_from(v).ok()),
    })
}

#[cfg(test)]
mod tests {
    use super::SELECT;
    use sqlx::Row;

    async fn plan(sql: &str) -> String {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("plan.db").display());
        let pool = crate::store::connect(&url).await.unwrap();
        crate::store::migrate(&pool).await.unwrap();
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!("explain query plan {sql}")))
            .bind("C1")
            .bind("1700000000.000100")
            .fetch_all(&pool)
            .await
            .unwrap();
        rows.iter()
            .map(|r| r.get::<String, _>("detail"))
            .collect::<Vec<_>>()
            .join("\n")
    }

    #[tokio::test]
    async fn a_requesters_open_tickets_are_read_from_the_status_index_not_a_table_scan() {
        let mine = plan(&super::open_for_sql()).await;
        assert!(mine.contains("USING INDEX tickets_status"), "{mine}");
        assert!(!mine.contains("SCAN t"), "{mine}");
    }

    #[tokio::test]
    async fn thread_lookups_use_the_partial_card_and_source_indexes() {
        let by_thread = plan(&format!(
            "{SELECT} where (t.card_channel = ?1 and t.card_ts = ?2) or (t.channel = ?1 and t.source_ts = ?2)"
        ))
        .await;
        assert!(
            by_thread.contains("USING INDEX tickets_card"),
            "{by_thread}"
        );
        assert!(
            by_thread.contains("USING INDEX tickets_source"),
            "{by_thread}"
        );
        let by_source = plan(&format!("{SELECT} where t.channel = ? and t.source_ts = ?")).await;
        assert!(
            by_source.contains("USING INDEX tickets_source"),
            "{by_source}"
        );
    }
}
