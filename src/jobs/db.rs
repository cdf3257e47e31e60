//! The SQL of scheduled jobs: `job_runs`, one row per (job, scheduled instant). Every change
//! of a row's state is one statement that checks the state it expects (the claim's attempt
//! number), so two runners, or a runner and a restart, never both act on one run.

use chrono::{DateTime, Utc};
use sqlx::sqlite::SqliteRow;
use sqlx::{Row, SqliteConnection};

use crate::clock::{db_time, parse_db_time};

/// A run as recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunRow {
    pub name: String,
    pub scheduled_at: DateTime<Utc>,
    /// `running`, `done`, `failed` (to be retried at `retry_at`), `gave_up`, `skipped`.
    pub status: String,
    pub attempts: i64,
    /// When its latest attempt started (when it was skipped, for a skipped run).
    pub ran_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    pub retry_at: Option<DateTime<Utc>>,
    pub error: Option<String>,
}

/// The latest run of `name` by scheduled instant, whatever its state.
pub async fn latest(conn: &mut SqliteConnection, name: &str) -> sqlx::Result<Option<RunRow>> {
    let row = sqlx::query(
        "select name, scheduled_at, status, attempts, ran_at, finished_at, retry_at, error \
         from job_runs where name = ? order by scheduled_at desc limit 1",
    )
    .bind(name)
    .fetch_optional(conn)
    .await?;
    row.as_ref().map(read).transpose()
}

/// Claims the run of `name` at `at` for a first attempt; false when it is already recorded
/// (run, running, or skipped).
pub async fn claim(
    conn: &mut SqliteConnection,
    name: &str,
    at: DateTime<Utc>,
    now: DateTime<Utc>,
    late: bool,
    lapses_at: DateTime<Utc>,
) -> sqlx::Result<bool> {
    let done = sqlx::query(
        "insert into job_runs (name, scheduled_at, ran_at, late, status, attempts, retry_at) \
         values (?, ?, ?, ?, 'running', 1, ?) on conflict do nothing",
    )
    .bind(name)
    .bind(db_time(at))
    .bind(db_time(now))
    .bind(late)
    .bind(db_time(lapses_at))
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Records the run of `name` at `at` as skipped; false when it is already recorded.
pub async fn skip(
    conn: &mut SqliteConnection,
    name: &str,
    at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> sqlx::Result<bool> {
    let done = sqlx::query(
        "insert into job_runs (name, scheduled_at, ran_at, late, status, attempts, finished_at) \
         values (?, ?, ?, 1, 'skipped', 0, ?) on conflict do nothing",
    )
    .bind(name)
    .bind(db_time(at))
    .bind(db_time(now))
    .bind(db_time(now))
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Runs waiting for another attempt (`failed`) or whose claim lapsed (`running`), due by
/// `now`, oldest first.
pub async fn retries_due(
    conn: &mut SqliteConnection,
    now: DateTime<Utc>,
) -> sqlx::Result<Vec<RunRow>> {
    let rows = sqlx::query(
        "select name, scheduled_at, status, attempts, ran_at, finished_at, retry_at, error \
         from job_runs where retry_at <= ? and status in ('failed', 'running') order by retry_at",
    )
    .bind(db_time(now))
    .fetch_all(conn)
    .await?;
    rows.iter().map(read).collect()
}

/// The earliest retry or lapse ahead, to wake for it.
pub async fn next_retry(conn: &mut SqliteConnection) -> sqlx::Result<Option<DateTime<Utc>>> {
    let at: Option<String> = sqlx::query_scalar(
        "select min(retry_at) from job_runs \
         where retry_at is not null and status in ('failed', 'running')",
    )
    .fetch_one(conn)
    .await?;
    Ok(at.as_deref().and_then(parse_db_time))
}

/// Claims `run` again for its next attempt, if it is still as read; false otherwise.
pub async fn reclaim(
    conn: &mut SqliteConnection,
    run: &RunRow,
    now: DateTime<Utc>,
    lapses_at: DateTime<Utc>,
) -> sqlx::Result<bool> {
    let done = sqlx::query(
        "update job_runs set status = 'running', attempts = attempts + 1, ran_at = ?, \
         retry_at = ?, late = 1 \
         where name = ? and scheduled_at = ? and status = ? and attempts = ?",
    )
    .bind(db_time(now))
    .bind(db_time(lapses_at))
    .bind(&run.name)
    .bind(db_time(run.scheduled_at))
    .bind(&run.status)
    .bind(run.attempts)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Marks attempt `attempt` of a run done; false when that attempt no longer holds it.
pub async fn finish(
    conn: &mut SqliteConnection,
    name: &str,
    at: DateTime<Utc>,
    attempt: i64,
    now: DateTime<Utc>,
) -> sqlx::Result<bool> {
    let done = sqlx::query(
        "update job_runs set status = 'done', finished_at = ?, retry_at = null, error = null \
         where name = ? and scheduled_at = ? and status = 'running' and attempts = ?",
    )
    .bind(db_time(now))
    .bind(name)
    .bind(db_time(at))
    .bind(attempt)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Records that attempt `attempt` (or, with `status` = `failed` of a lapsed claim, the
/// process that held it) failed with `error`: retried at `retry_at`, or given up without one.
pub async fn fail(
    conn: &mut SqliteConnection,
    name: &str,
    at: DateTime<Utc>,
    attempt: i64,
    now: DateTime<Utc>,
    error: &str,
    retry_at: Option<DateTime<Utc>>,
) -> sqlx::Result<bool> {
    let done = sqlx::query(
        "update job_runs set status = ?, error = ?, retry_at = ?, finished_at = ? \
         where name = ? and scheduled_at = ? and status = 'running' and attempts = ?",
    )
    .bind(if retry_at.is_some() {
        "failed"
    } else {
        "gave_up"
    })
    .bind(error)
    .bind(retry_at.map(db_time))
    .bind(db_time(now))
    .bind(name)
    .bind(db_time(at))
    .bind(attempt)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

fn read(row: &SqliteRow) -> sqlx::Result<RunRow> {
    let time = |column: &str| -> sqlx::Result<Option<DateTime<Utc>>> {
        let text: Option<&str> = row.try_get(column)?;
        text.map(|t| {
            parse_db_time(t).ok_or_else(|| sqlx::Error::ColumnDecode {
                index: column.to_string(),
                source: format!("not a time: {t:?}").into(),
            })
        })
        .transpose()
    };
    let required = |column: &str| -> sqlx::Result<DateTime<Utc>> {
        time(column)?.ok_or_else(|| sqlx::Error::ColumnDecode {
            index: column.to_string(),
            source: "null".into(),
        })
    };
    Ok(RunRow {
        name: row.try_get("name")?,
        scheduled_at: required("scheduled_at")?,
        status: row.try_get("status")?,
        attempts: row.try_get("attempts")?,
        ran_at: required("ran_at")?,
        finished_at: time("finished_at")?,
        retry_at: time("retry_at")?,
        error: row.try_get("error")?,
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
    async fn a_run_is_claimed_once_and_only_its_current_attempt_may_finish_it() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("jobs.db").display());
        let pool = store::connect(&url).await.unwrap();
        store::migrate(&pool).await.unwrap();
        let mut conn = pool.acquire().await.unwrap();
        let at = utc("2026-11-30T09:00:00Z");
        let now = utc("2026-11-30T09:00:01Z");
        let lapse = utc("2026-11-30T09:10:01Z");

        assert!(claim(&mut conn, "j", at, now, false, lapse).await.unwrap());
        assert!(!claim(&mut conn, "j", at, now, false, lapse).await.unwrap());
        assert!(!skip(&mut conn, "j", at, now).await.unwrap());
        // Nothing to retry before the claim lapses; then it is offered again.
        assert!(retries_due(&mut conn, now).await.unwrap().is_empty());
        assert_eq!(next_retry(&mut conn).await.unwrap(), Some(lapse));
        let lapsed = retries_due(&mut conn, lapse).await.unwrap();
        assert_eq!(lapsed.len(), 1);
        assert!(reclaim(
            &mut conn,
            &lapsed[0],
            lapse,
            lapse + chrono::Duration::minutes(10)
        )
        .await
        .unwrap());
        assert!(
            !reclaim(&mut conn, &lapsed[0], lapse, lapse).await.unwrap(),
            "the row changed"
        );
        // The first attempt lost its claim: it may not finish the run; the second may.
        assert!(!finish(&mut conn, "j", at, 1, lapse).await.unwrap());
        assert!(finish(&mut conn, "j", at, 2, lapse).await.unwrap());
        let row = latest(&mut conn, "j").await.unwrap().unwrap();
        assert_eq!(
            (row.status.as_str(), row.attempts, row.retry_at),
            ("done", 2, None)
        );
        assert_eq!(next_retry(&mut conn).await.unwrap(), None);
    }
}
