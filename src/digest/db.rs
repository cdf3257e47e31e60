//! The digest's SQL: the previous digest (`job_runs`), the roadmap's changes and planned
//! items (migration 18's tables, read here directly), the tickets that moved, and the
//! stale in-progress items and their reminders.

use chrono::{DateTime, Utc};
use sqlx::{Row, SqliteConnection};

use crate::clock::{db_time, parse_db_time};

/// One change of an item since the last digest, with the item as it is now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangeRow {
    pub item_id: i64,
    pub title: String,
    /// `created` or the name of the column that changed.
    pub field: String,
    pub old: Option<String>,
    pub new: Option<String>,
}

/// An item as listed (what is next, a stale item).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemRow {
    pub id: i64,
    pub title: String,
    pub target: Option<String>,
    pub owner: Option<String>,
    pub updated_at: Option<DateTime<Utc>>,
}

/// When the last digest before `before` was made: the end of the window it covered.
pub async fn previous_digest(
    conn: &mut SqliteConnection,
    job: &str,
    before: DateTime<Utc>,
) -> sqlx::Result<Option<DateTime<Utc>>> {
    let at: Option<String> = sqlx::query_scalar(
        "select finished_at from job_runs \
         where name = ? and status = 'done' and scheduled_at < ? and finished_at is not null \
         order by scheduled_at desc limit 1",
    )
    .bind(job)
    .bind(db_time(before))
    .fetch_optional(conn)
    .await?
    .flatten();
    Ok(at.as_deref().and_then(parse_db_time))
}

/// The changes in (`since`, `until`], oldest first.
pub async fn changes(
    conn: &mut SqliteConnection,
    since: DateTime<Utc>,
    until: DateTime<Utc>,
) -> sqlx::Result<Vec<ChangeRow>> {
    let rows = sqlx::query(
        "select c.item_id, i.title, c.field, c.old, c.new \
         from roadmap_changes c join roadmap_items i on i.id = c.item_id \
         where c.at > ? and c.at <= ? order by c.at, c.id",
    )
    .bind(db_time(since))
    .bind(db_time(until))
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(ChangeRow {
                item_id: r.try_get(0)?,
                title: r.try_get(1)?,
                field: r.try_get(2)?,
                old: r.try_get(3)?,
                new: r.try_get(4)?,
            })
        })
        .collect()
}

fn item(r: &sqlx::sqlite::SqliteRow) -> sqlx::Result<ItemRow> {
    let updated: Option<String> = r.try_get(4)?;
    Ok(ItemRow {
        id: r.try_get(0)?,
        title: r.try_get(1)?,
        target: r.try_get(2)?,
        owner: r.try_get(3)?,
        updated_at: updated.as_deref().and_then(parse_db_time),
    })
}

/// Planned items, the nearest target first (targets sort as written, year first; a quarter
/// sorts after its year's dates), untargeted last; at most `limit`, and how many in all.
pub async fn planned(conn: &mut SqliteConnection, limit: i64) -> sqlx::Result<(Vec<ItemRow>, i64)> {
    let total: i64 =
        sqlx::query_scalar("select count(*) from roadmap_items where status = 'planned'")
            .fetch_one(&mut *conn)
            .await?;
    let rows = sqlx::query(
        "select id, title, target, owner, updated_at from roadmap_items \
         where status = 'planned' order by target is null, target, id limit ?",
    )
    .bind(limit)
    .fetch_all(conn)
    .await?;
    Ok((rows.iter().map(item).collect::<sqlx::Result<_>>()?, total))
}

/// Tickets opened, and tickets resolved, in (`since`, `until`].
pub async fn tickets_moved(
    conn: &mut SqliteConnection,
    since: DateTime<Utc>,
    until: DateTime<Utc>,
) -> sqlx::Result<(i64, i64)> {
    let (since, until) = (db_time(since), db_time(until));
    let opened: i64 =
        sqlx::query_scalar("select count(*) from tickets where created_at > ? and created_at <= ?")
            .bind(&since)
            .bind(&until)
            .fetch_one(&mut *conn)
            .await?;
    let resolved: i64 = sqlx::query_scalar(
        "select count(*) from tickets where resolved_at > ? and resolved_at <= ?",
    )
    .bind(&since)
    .bind(&until)
    .fetch_one(conn)
    .await?;
    Ok((opened, resolved))
}

/// In-progress items with an owner, unchanged since `cutoff` and not reminded since then.
pub async fn stale(
    conn: &mut SqliteConnection,
    cutoff: DateTime<Utc>,
) -> sqlx::Result<Vec<ItemRow>> {
    let cutoff = db_time(cutoff);
    let rows = sqlx::query(
        "select id, title, target, owner, updated_at from roadmap_items \
         where status = 'in_progress' and owner is not null and updated_at <= ? \
         and (reminded_at is null or reminded_at <= ?) order by id",
    )
    .bind(&cutoff)
    .bind(&cutoff)
    .fetch_all(conn)
    .await?;
    rows.iter().map(item).collect()
}

/// Records that the owner of item `id` was reminded at `now` (the item itself is unchanged:
/// `updated_at` stays, so the reminder does not count as a change).
pub async fn reminded(
    conn: &mut SqliteConnection,
    id: i64,
    now: DateTime<Utc>,
) -> sqlx::Result<()> {
    sqlx::query("update roadmap_items set reminded_at = ? where id = ?")
        .bind(db_time(now))
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}
