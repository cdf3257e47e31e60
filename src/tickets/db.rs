//! The SQL of tickets: batch inserts of new tickets and their first events, and reads.

use super::{Source, Ticket};
use crate::clock::{db_time, parse_db_time};
use sqlx::{QueryBuilder, Row, Sqlite, SqliteConnection};

/// The highest ticket number in use (0 when there are none).
pub async fn max_id(conn: &mut SqliteConnection) -> sqlx::Result<i64> {
    sqlx::query_scalar("select coalesce(max(id), 0) from tickets")
        .fetch_one(conn)
        .await
}

/// Inserts tickets (numbers already assigned) and a `created` event for each, in two
/// statements however many there are: the group commit's cost per ticket stays small.
pub async fn insert_all(conn: &mut SqliteConnection, tickets: &[Ticket]) -> sqlx::Result<()> {
    // 24 columns: SQLite allows 32766 variables, so 1000 tickets per statement is safe.
    for chunk in tickets.chunks(1000) {
        let mut q: QueryBuilder<Sqlite> = QueryBuilder::new(
            "insert into tickets (id, key, title, description, requester, channel, source, \
             source_ts, category, priority, status, assignee, urgency, link, created_at, \
             updated_at, first_response_due, resolution_due) ",
        );
        q.push_values(chunk, |mut row, t| {
            let created = db_time(t.created_at);
            row.push_bind(t.id)
                .push_bind(t.key.clone())
                .push_bind(t.title.clone())
                .push_bind(t.description.clone())
                .push_bind(t.requester.clone())
                .push_bind(t.channel.clone())
                .push_bind(t.source.as_str())
                .push_bind(t.source_ts.clone())
                .push_bind(t.category.clone())
                .push_bind(t.priority.clone())
                .push_bind(t.status.clone())
                .push_bind(t.assignee.clone())
                .push_bind(t.urgency.clone())
                .push_bind(t.link.clone())
                .push_bind(created.clone())
                .push_bind(created)
                .push_bind(t.first_response_due.map(db_time))
                .push_bind(t.resolution_due.map(db_time));
        });
        q.build().execute(&mut *conn).await?;

        let mut q: QueryBuilder<Sqlite> =
            QueryBuilder::new("insert into ticket_events (ticket_id, kind, actor, at, detail) ");
        q.push_values(chunk, |mut row, t| {
            row.push_bind(t.id)
                .push_bind("created")
                .push_bind(t.requester.clone())
                .push_bind(db_time(t.created_at))
                .push_bind(format!(
                    "source={} priority={} category={}",
                    t.source, t.priority, t.category
                ));
        });
        q.build().execute(&mut *conn).await?;
    }
    Ok(())
}

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

/// One ticket by key.
pub async fn by_key(conn: &mut SqliteConnection, key: &str) -> sqlx::Result<Option<Ticket>> {
    let row = sqlx::query(
        "select id, key, title, description, requester, channel, source, source_ts, category, \
         priority, status, assignee, urgency, link, created_at, first_response_due, \
         resolution_due from tickets where key = ?",
    )
    .bind(key)
    .fetch_optional(conn)
    .await?;
    row.map(|r| from_row(&r)).transpose()
}

fn from_row(r: &sqlx::sqlite::SqliteRow) -> sqlx::Result<Ticket> {
    let source: String = r.try_get("source")?;
    let time = |col: &str| -> sqlx::Result<Option<chrono::DateTime<chrono::Utc>>> {
        Ok(r.try_get::<Option<String>, _>(col)?
            .as_deref()
            .and_then(parse_db_time))
    };
    Ok(Ticket {
        id: r.try_get("id")?,
        key: r.try_get("key")?,
        title: r.try_get("title")?,
        description: r.try_get("description")?,
        requester: r.try_get("requester")?,
        channel: r.try_get("channel")?,
        source: match source.as_str() {
            "modal" => Source::Modal,
            "message" => Source::Message,
            "mention" => Source::Mention,
            "reaction" => Source::Reaction,
            _ => Source::Command,
        },
        source_ts: r.try_get("source_ts")?,
        category: r.try_get("category")?,
        priority: r.try_get("priority")?,
        status: r.try_get("status")?,
        assignee: r.try_get("assignee")?,
        urgency: r.try_get("urgency")?,
        link: r.try_get("link")?,
        created_at: time("created_at")?.unwrap_or_default(),
        first_response_due: time("first_response_due")?,
        resolution_due: time("resolution_due")?,
    })
}
