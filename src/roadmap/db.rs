//! The SQL of the roadmap (migration 18): items, their history, the tickets linked to them,
//! their followers and the ship notices with their answers.

use super::model::{Field, Health, Item, Status};
use crate::clock::{db_time, parse_db_time};
use chrono::{DateTime, Utc};
use sqlx::sqlite::SqliteRow;
use sqlx::{Row, SqliteConnection};

/// One entry of an item's history.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    pub field: String,
    pub old: Option<String>,
    pub new: Option<String>,
    pub actor: Option<String>,
    pub at: DateTime<Utc>,
}

fn time(row: &SqliteRow, col: &str) -> sqlx::Result<Option<DateTime<Utc>>> {
    let text: Option<String> = row.try_get(col)?;
    Ok(text.as_deref().and_then(parse_db_time))
}

fn item_from(row: &SqliteRow) -> sqlx::Result<Item> {
    let status: String = row.try_get("status")?;
    let health: Option<String> = row.try_get("health")?;
    let epoch = DateTime::<Utc>::UNIX_EPOCH;
    Ok(Item {
        id: row.try_get("id")?,
        title: row.try_get("title")?,
        description: row.try_get("description")?,
        // The check constraint keeps both to the known values.
        status: Status::parse(&status).unwrap_or(Status::Planned),
        target: row.try_get("target")?,
        owner: row.try_get("owner")?,
        link: row.try_get("link")?,
        health: health.as_deref().and_then(Health::parse),
        created_at: time(row, "created_at")?.unwrap_or(epoch),
        updated_at: time(row, "updated_at")?.unwrap_or(epoch),
        shipped_at: time(row, "shipped_at")?,
    })
}

/// A new item with `title` (status planned), numbered `id` when given (import), else the
/// next free number; its `created` history row by `actor`. Returns its id.
pub async fn insert(
    conn: &mut SqliteConnection,
    id: Option<i64>,
    title: &str,
    actor: &str,
    now: DateTime<Utc>,
) -> sqlx::Result<i64> {
    let now = db_time(now);
    let id: i64 = sqlx::query_scalar(
        "insert into roadmap_items (id, title, created_at, updated_at)
         values (coalesce(?, (select coalesce(max(id), 0) + 1 from roadmap_items)), ?, ?, ?)
         returning id",
    )
    .bind(id)
    .bind(title)
    .bind(&now)
    .bind(&now)
    .fetch_one(&mut *conn)
    .await?;
    sqlx::query(
        "insert into roadmap_changes (item_id, field, old, new, actor, at)
         values (?, 'created', null, ?, ?, ?)",
    )
    .bind(id)
    .bind(title)
    .bind(actor)
    .bind(&now)
    .execute(conn)
    .await?;
    Ok(id)
}

pub async fn by_id(conn: &mut SqliteConnection, id: i64) -> sqlx::Result<Option<Item>> {
    let row = sqlx::query("select * from roadmap_items where id = ?")
        .bind(id)
        .fetch_optional(conn)
        .await?;
    row.as_ref().map(item_from).transpose()
}

/// Every item, by number.
pub async fn all(conn: &mut SqliteConnection) -> sqlx::Result<Vec<Item>> {
    let rows = sqlx::query("select * from roadmap_items order by id")
        .fetch_all(conn)
        .await?;
    rows.iter().map(item_from).collect()
}

/// Items in progress and planned (what a ticket can be linked to), by number.
pub async fn open(conn: &mut SqliteConnection, limit: i64) -> sqlx::Result<Vec<Item>> {
    let rows = sqlx::query(
        "select * from roadmap_items where status in ('planned', 'in_progress') order by id limit ?",
    )
    .bind(limit)
    .fetch_all(conn)
    .await?;
    rows.iter().map(item_from).collect()
}

/// Sets one field, records the change (old and new value, by `actor`), and stamps the item.
pub async fn set_field(
    conn: &mut SqliteConnection,
    item: &Item,
    field: Field,
    value: Option<&str>,
    actor: &str,
    now: DateTime<Utc>,
) -> sqlx::Result<()> {
    let now = db_time(now);
    // The column is one of `Field::column`'s constants, never typed text.
    let sql = format!(
        "update roadmap_items set {} = ?, updated_at = ? where id = ?",
        field.column()
    );
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(value)
        .bind(&now)
        .bind(item.id)
        .execute(&mut *conn)
        .await?;
    sqlx::query(
        "insert into roadmap_changes (item_id, field, old, new, actor, at) values (?, ?, ?, ?, ?, ?)",
    )
    .bind(item.id)
    .bind(field.column())
    .bind(item.get(field))
    .bind(value)
    .bind(actor)
    .bind(&now)
    .execute(conn)
    .await?;
    Ok(())
}

/// Records who shipped the item and when.
pub async fn mark_shipped(
    conn: &mut SqliteConnection,
    id: i64,
    by: &str,
    now: DateTime<Utc>,
) -> sqlx::Result<()> {
    sqlx::query("update roadmap_items set shipped_at = ?, shipped_by = ? where id = ?")
        .bind(db_time(now))
        .bind(by)
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}

/// The item's latest `limit` changes, newest first.
pub async fn changes(
    conn: &mut SqliteConnection,
    id: i64,
    limit: i64,
) -> sqlx::Result<Vec<Change>> {
    let rows = sqlx::query(
        "select field, old, new, actor, at from roadmap_changes where item_id = ?
         order by id desc limit ?",
    )
    .bind(id)
    .bind(limit)
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(Change {
                field: r.try_get("field")?,
                old: r.try_get("old")?,
                new: r.try_get("new")?,
                actor: r.try_get("actor")?,
                at: time(r, "at")?.unwrap_or(DateTime::<Utc>::UNIX_EPOCH),
            })
        })
        .collect()
}

/// Links a ticket; false when it already was.
pub async fn link(
    conn: &mut SqliteConnection,
    item: i64,
    ticket: i64,
    by: &str,
    now: DateTime<Utc>,
) -> sqlx::Result<bool> {
    let done = sqlx::query(
        "insert into roadmap_links (item_id, ticket_id, linked_by, linked_at) values (?, ?, ?, ?)
         on conflict do nothing",
    )
    .bind(item)
    .bind(ticket)
    .bind(by)
    .bind(db_time(now))
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// The ids of the tickets linked to the item, in the order they were filed.
pub async fn linked_ticket_ids(conn: &mut SqliteConnection, item: i64) -> sqlx::Result<Vec<i64>> {
    sqlx::query_scalar("select ticket_id from roadmap_links where item_id = ? order by ticket_id")
        .bind(item)
        .fetch_all(conn)
        .await
}

/// The keys of the tickets linked to the item, in the order they were filed.
pub async fn linked_keys(conn: &mut SqliteConnection, item: i64) -> sqlx::Result<Vec<String>> {
    sqlx::query_scalar(
        "select t.key from roadmap_links l join tickets t on t.id = l.ticket_id
         where l.item_id = ? order by t.id",
    )
    .bind(item)
    .fetch_all(conn)
    .await
}

/// Adds a follower; false when they already followed.
pub async fn follow(
    conn: &mut SqliteConnection,
    item: i64,
    user: &str,
    now: DateTime<Utc>,
) -> sqlx::Result<bool> {
    let done = sqlx::query(
        "insert into roadmap_followers (item_id, user_id, followed_at) values (?, ?, ?)
         on conflict do nothing",
    )
    .bind(item)
    .bind(user)
    .bind(db_time(now))
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn followers(conn: &mut SqliteConnection, item: i64) -> sqlx::Result<Vec<String>> {
    sqlx::query_scalar("select user_id from roadmap_followers where item_id = ? order by user_id")
        .bind(item)
        .fetch_all(conn)
        .await
}

/// Records that `user` is told the item shipped; false when they were told before (one
/// message per person per item, whatever happens to the item afterwards).
pub async fn add_notice(
    conn: &mut SqliteConnection,
    item: i64,
    user: &str,
    now: DateTime<Utc>,
) -> sqlx::Result<bool> {
    let done = sqlx::query(
        "insert into roadmap_ship_notices (item_id, user_id, sent_at) values (?, ?, ?)
         on conflict do nothing",
    )
    .bind(item)
    .bind(user)
    .bind(db_time(now))
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Stores `user`'s answer to the item's ship notice; false when they were sent none.
pub async fn answer(
    conn: &mut SqliteConnection,
    item: i64,
    user: &str,
    answer: &str,
    now: DateTime<Utc>,
) -> sqlx::Result<bool> {
    let done = sqlx::query(
        "update roadmap_ship_notices set answer = ?, answered_at = ? where item_id = ? and user_id = ?",
    )
    .bind(answer)
    .bind(db_time(now))
    .bind(item)
    .bind(user)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// What the people told an item shipped answered: told, `Solved my problem`, `Not quite`.
pub async fn ship_answers(
    conn: &mut SqliteConnection,
    item: i64,
) -> sqlx::Result<super::model::ShipAnswers> {
    let (told, solved, not_quite): (i64, i64, i64) = sqlx::query_as(
        "select count(*),
                coalesce(sum(case when answer = 'solved' then 1 else 0 end), 0),
                coalesce(sum(case when answer = 'not_quite' then 1 else 0 end), 0)
         from roadmap_ship_notices where item_id = ?",
    )
    .bind(item)
    .fetch_one(conn)
    .await?;
    let n = |x: i64| u64::try_from(x).unwrap_or(0);
    Ok(super::model::ShipAnswers {
        told: n(told),
        solved: n(solved),
        not_quite: n(not_quite),
    })
}
