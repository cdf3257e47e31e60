//! The SQL of on call: overrides (recording one, reading those that overlap a span). Each
//! handoff's run is recorded by the job runner (`jobs::db`).

use chrono::{DateTime, Utc};
use sqlx::sqlite::SqliteRow;
use sqlx::{Row, SqliteConnection};

use super::rotation::Override;
use crate::clock::{db_time, parse_db_time};

/// Records that `user` is on call for `[starts_at, ends_at)`, set by `set_by` at `now`.
/// Returns the new row's id.
pub async fn add_override(
    conn: &mut SqliteConnection,
    user: &str,
    starts_at: DateTime<Utc>,
    ends_at: DateTime<Utc>,
    set_by: &str,
    now: DateTime<Utc>,
) -> sqlx::Result<i64> {
    sqlx::query_scalar(
        r#"
        insert into oncall_overrides (user_id, starts_at, ends_at, set_by, created_at)
        values (?, ?, ?, ?, ?)
        returning id
        "#,
    )
    .bind(user)
    .bind(db_time(starts_at))
    .bind(db_time(ends_at))
    .bind(set_by)
    .bind(db_time(now))
    .fetch_one(conn)
    .await
}

/// Every override overlapping `[from, to)`, oldest row first (so that, among overrides
/// created at the same instant, the one set last wins in `rotation::on_call`).
pub async fn overrides_covering(
    conn: &mut SqliteConnection,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> sqlx::Result<Vec<Override>> {
    // Times are fixed-width UTC text (`db_time`): comparing the text compares the times.
    let rows = sqlx::query(
        r#"
        select user_id, starts_at, ends_at, created_at
        from oncall_overrides
        where starts_at < ? and ends_at > ? and starts_at < ends_at
        order by id
        "#,
    )
    .bind(db_time(to))
    .bind(db_time(from))
    .fetch_all(conn)
    .await?;
    rows.iter().map(read).collect()
}

fn read(row: &SqliteRow) -> sqlx::Result<Override> {
    let time = |column: &str| -> sqlx::Result<DateTime<Utc>> {
        let text: &str = row.try_get(column)?;
        parse_db_time(text).ok_or_else(|| sqlx::Error::ColumnDecode {
            index: column.to_string(),
            source: format!("not a time: {text:?}").into(),
        })
    };
    Ok(Override {
        user: row.try_get("user_id")?,
        starts_at: time("starts_at")?,
        ends_at: time("ends_at")?,
        created_at: time("created_at")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store;

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[tokio::test]
    async fn overrides_overlapping_a_span_are_read_back_oldest_first() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("oncall.db").display());
        let pool = store::connect(&url).await.unwrap();
        store::migrate(&pool).await.unwrap();
        let mut conn = pool.acquire().await.unwrap();

        let now = utc("2026-03-20T09:15:30.123456Z");
        let mut add = async |user: &str, starts: &str, ends: &str| {
            add_override(&mut conn, user, utc(starts), utc(ends), "UADMIN", now)
                .await
                .unwrap()
        };
        let early = add("UEARLY", "2026-03-20T00:00:00Z", "2026-03-21T00:00:00Z").await;
        let bob = add("UBOB", "2026-03-21T00:00:00Z", "2026-03-23T00:00:00Z").await;
        let carol = add("UCAROL", "2026-03-22T12:00:00Z", "2026-03-22T13:00:00Z").await;
        let late = add("ULATE", "2026-03-24T00:00:00Z", "2026-03-25T00:00:00Z").await;
        assert!(early < bob && bob < carol && carol < late, "ids increase");

        // [21 Mar 00:00, 24 Mar 00:00): an override ending at `from` or starting at `to`
        // does not overlap it.
        let found = overrides_covering(
            &mut conn,
            utc("2026-03-21T00:00:00Z"),
            utc("2026-03-24T00:00:00Z"),
        )
        .await
        .unwrap();
        let users: Vec<_> = found.iter().map(|o| o.user.as_str()).collect();
        assert_eq!(users, ["UBOB", "UCAROL"]);
        assert_eq!(
            found[0],
            Override {
                user: "UBOB".into(),
                starts_at: utc("2026-03-21T00:00:00Z"),
                ends_at: utc("2026-03-23T00:00:00Z"),
                created_at: now,
            }
        );

        let set_by: String = sqlx::query_scalar("select set_by from oncall_overrides where id = ?")
            .bind(bob)
            .fetch_one(&mut *conn)
            .await
            .unwrap();
        assert_eq!(set_by, "UADMIN");

        let inside = overrides_covering(
            &mut conn,
            utc("2026-03-22T12:30:00Z"),
            utc("2026-03-22T12:30:01Z"),
        )
        .await
        .unwrap();
        let users: Vec<_> = inside.iter().map(|o| o.user.as_str()).collect();
        assert_eq!(users, ["UBOB", "UCAROL"]);
    }
}
