//! The inbox: keys of the deliveries already handled (Slack's event ids, `(channel, ts)` of
//! filed messages, submitted views), so a re-delivery is handled once.

use sqlx::SqliteConnection;

/// True when `key` was recorded.
pub async fn has(conn: &mut SqliteConnection, key: &str) -> sqlx::Result<bool> {
    let found: Option<i64> = sqlx::query_scalar("select 1 from inbox where key = ?")
        .bind(key)
        .fetch_optional(conn)
        .await?;
    Ok(found.is_some())
}

/// Records `key`; false when it was there already (a repeat).
pub async fn add(conn: &mut SqliteConnection, key: &str, now: &str) -> sqlx::Result<bool> {
    let r =
        sqlx::query("insert into inbox (key, received_at) values (?, ?) on conflict do nothing")
            .bind(key)
            .bind(now)
            .execute(conn)
            .await?;
    Ok(r.rows_affected() == 1)
}
