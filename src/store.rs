//! The SQLite pool: durable settings (WAL, synchronous=FULL), migrations and readiness.

use anyhow::Context;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use std::str::FromStr;
use std::time::Duration;

pub type Pool = SqlitePool;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// Opens (creating if missing) the database at `url`.
///
/// `synchronous=FULL`: a user told "PLAT-42 filed" must find it after a power cut, not only
/// after a crash. The cost of one fsync per commit is paid once per *batch* of requests by
/// the ticket writer's group commit.
pub async fn connect(url: &str) -> anyhow::Result<Pool> {
    // The ticket writer opens the same file on a connection of its own (`tickets::filer_db`),
    // and durability is the point of the store: an in-memory database fits neither.
    if url.contains(":memory:") || url.contains("mode=memory") {
        anyhow::bail!("DATABASE_URL must name a database file, not an in-memory database: {url}");
    }
    let options = SqliteConnectOptions::from_str(url)
        .with_context(|| format!("DATABASE_URL is not a SQLite URL: {url}"))?
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Full)
        .busy_timeout(Duration::from_secs(10))
        .foreign_keys(true)
        // Multi-row inserts open a statement journal: keep it in memory, not a temp file.
        .pragma("temp_store", "memory");
    let pool = SqlitePoolOptions::new()
        .max_connections(4)
        .min_connections(1)
        .connect_with(options)
        .await
        .with_context(|| format!("cannot open the database {url}"))?;
    Ok(pool)
}

/// Appends `(?, ?, …)` binding `ids`: the list of an `in` clause. Callers keep `ids` under
/// SQLite's variable limit (chunks of 900).
pub fn push_id_list(q: &mut sqlx::QueryBuilder<sqlx::Sqlite>, ids: &[i64]) {
    q.push("(");
    let mut list = q.separated(", ");
    for id in ids {
        list.push_bind(*id);
    }
    q.push(")");
}

/// Applies every pending migration.
pub async fn migrate(pool: &Pool) -> anyhow::Result<()> {
    MIGRATOR
        .run(pool)
        .await
        .context("applying database migrations")?;
    Ok(())
}

/// True when the database answers and every migration this binary knows is applied.
pub async fn ready(pool: &Pool) -> bool {
    let applied: Result<i64, _> =
        sqlx::query_scalar("select count(*) from _sqlx_migrations where success = 1")
            .fetch_one(pool)
            .await;
    matches!(applied, Ok(n) if n as usize >= MIGRATOR.iter().count())
}

/// Flushes the WAL into the main file and closes every connection.
pub async fn close(pool: &Pool) {
    let _ = sqlx::query("pragma wal_checkpoint(truncate)")
        .execute(pool)
        .await;
    pool.close().await;
}

#[cfg(test)]
mod tests {
    #[tokio::test]
    async fn an_in_memory_database_is_refused_with_a_clear_error() {
        for url in ["sqlite::memory:", "sqlite://desk.db?mode=memory"] {
            let err = super::connect(url).await.unwrap_err().to_string();
            assert!(err.contains("must name a database file"), "{url}: {err}");
        }
    }
}
