//! The SQLite pool: durable settings (WAL, synchronous=FULL), migrations and readiness.

use anyhow::Context;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use std::str::FromStr;
use std::time::Duration;

pub type Pool = SqlitePool;

/// How many pages the write-ahead log holds before a commit copies them into the database
/// (SQLite's own automatic checkpoint; its default is 1,000). Under sustained filing a
/// checkpoint stalls the one commit that runs it, and all of that commit's requests wait
/// with it: at 1,000 pages that was every ~20th commit, about 5% of requests, which made
/// p95 to p99 one checkpoint longer than the rest (docs/performance.md). At 10,000 it was
/// one commit in ~185, still 0.6% of requests, and p99 slipped past 10 ms whenever the
/// other slow commits took the rest of the 1%. At 20,000 it is one in ~370 (0.3%), at the
/// price of a longer stall when it comes (55-65 ms under full load on a 2-core VM, against
/// 35-40 at 10,000) and a log file of up to about 80 MB. Every connection uses the same
/// value: a pool connection with a smaller one would checkpoint often beside the writer and
/// slow its commits.
pub const WAL_AUTOCHECKPOINT_PAGES: u32 = 20_000;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// Opens (creating if missing) the database at `url`.
///
/// `synchronous=FULL`: a user told "PLAT-42 filed" must find it after a power cut, not only
/// after a crash. The cost of one fsync per commit is paid once per *batch* of requests by
/// the ticket writer's group commit.
pub async fn connect(url: &str) -> anyhow::Result<Pool> {
    // The ticket writer opens the same database on a connection of its own
    // (`tickets::filer_db`), which would be another, empty database in memory; and
    // durability is the point of the store.
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
        // Deleted rows are zeroed, not left in free pages: a closed pulse survey's answers
        // and who gave them must not be recoverable from the file. The bot deletes almost
        // nothing else, and in WAL mode a changed page is written whole anyway, so this
        // costs no extra writes beyond pages freed whole.
        .pragma("secure_delete", "on")
        // Multi-row inserts open a statement journal: keep it in memory, not a temp file.
        .pragma("temp_store", "memory")
        .pragma("wal_autocheckpoint", WAL_AUTOCHECKPOINT_PAGES.to_string());
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

/// Checksums (SHA-384) that migrations 1 to 3 had in one earlier build, which edited them in
/// place (an index changed) after databases had applied their released text. The edit is
/// undone, and migration 6 brings either index layout to the same one. A database that
/// build migrated carries these checksums; `migrate` takes them for the current ones rather
/// than refusing to start. Any other mismatch is still refused.
const SUPERSEDED_CHECKSUMS: &[(i64, &str)] = &[
    (1, "e8cd030f559dd6aa62a4d5e0f3775cdd8809996f13c79795b8a45719685adeee18ba1921ef0cf8ed7a40614126490030"),
    (2, "245a9e86346933d5377a74b5927748b8ab8ebdb19310a346e1ec6d0f6b77f59b604128628fbf1c0df3c98e76aa262c08"),
    (3, "6e772da0526c0d1c0131c2281c25ffd2b1123285f131a7ff2e9b68aa22d05a6e85afe8d63a519d569bb67d8ad48cd4b6"),
];

/// Rewrites the superseded checksums of an already migrated database (nothing on a new one).
async fn adopt_superseded_checksums(pool: &Pool) -> anyhow::Result<()> {
    let migrated: Option<i64> = sqlx::query_scalar(
        "select 1 from sqlite_master where type = 'table' and name = '_sqlx_migrations'",
    )
    .fetch_optional(pool)
    .await?;
    if migrated.is_none() {
        return Ok(());
    }
    for (version, old) in SUPERSEDED_CHECKSUMS {
        let Some(current) = MIGRATOR.iter().find(|m| m.version == *version) else {
            continue;
        };
        // Read first: a database in use by a running bot (`export` beside `serve`) must not
        // need the write lock when there is nothing to adopt.
        let stale: Option<i64> = sqlx::query_scalar(
            "select 1 from _sqlx_migrations where version = ? and hex(checksum) = ?",
        )
        .bind(version)
        .bind(old.to_ascii_uppercase())
        .fetch_optional(pool)
        .await?;
        if stale.is_none() {
            continue;
        }
        sqlx::query("update _sqlx_migrations set checksum = ? where version = ?")
            .bind(current.checksum.as_ref())
            .bind(version)
            .execute(pool)
            .await?;
        tracing::info!(
            version,
            "took an edited migration's checksum for the released one"
        );
    }
    Ok(())
}

/// Applies every pending migration.
///
/// They commit with `synchronous=NORMAL`: a new database applies all of them before its first
/// answer, and an fsync each was about a quarter of the time to that answer. In WAL mode a
/// power cut can then only roll back whole migrations, each with its `_sqlx_migrations`
/// row, which the next start applies again; the first `FULL` commit after them (any ticket)
/// syncs the WAL they are in.
pub async fn migrate(pool: &Pool) -> anyhow::Result<()> {
    adopt_superseded_checksums(pool)
        .await
        .context("reading the applied migrations")?;
    let mut conn = pool.acquire().await.context("opening the database")?;
    sqlx::query("pragma synchronous = normal")
        .execute(&mut *conn)
        .await?;
    let applied = MIGRATOR.run(&mut *conn).await;
    // The pool's promise is FULL: a connection that cannot be put back to it is closed.
    if sqlx::query("pragma synchronous = full")
        .execute(&mut *conn)
        .await
        .is_err()
    {
        let _ = conn.close().await;
    }
    applied.context("applying database migrations")?;
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
    use super::*;

    async fn migrated() -> (tempfile::TempDir, Pool) {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("desk.db").display());
        let pool = connect(&url).await.unwrap();
        migrate(&pool).await.unwrap();
        (dir, pool)
    }

    async fn set_checksum(pool: &Pool, version: i64, hex: &str) {
        sqlx::query("update _sqlx_migrations set checksum = unhex(?) where version = ?")
            .bind(hex)
            .bind(version)
            .execute(pool)
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn sqlite_is_built_with_the_flags_of_the_cargo_config() {
        let (_dir, pool) = migrated().await;
        let options: Vec<String> = sqlx::query_scalar("pragma compile_options")
            .fetch_all(&pool)
            .await
            .unwrap();
        // `HAVE_FDATASYNC` is not among the options SQLite reports; it is passed in the same
        // `LIBSQLITE3_FLAGS` as this one, so this one present means both reached the build.
        assert!(
            options.iter().any(|o| o == "DEFAULT_MEMSTATUS=0"),
            "{options:?}"
        );
    }

    /// `pragma` as each of the pool's four connections reports it. They are held at once, so
    /// the connection that ran the migrations is one of them.
    async fn on_every_connection(pool: &Pool, pragma: &str) -> Vec<i64> {
        let mut conns = Vec::new();
        for _ in 0..4 {
            conns.push(pool.acquire().await.unwrap());
        }
        let mut values = Vec::new();
        for conn in &mut conns {
            let value: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!("pragma {pragma}")))
                .fetch_one(&mut **conn)
                .await
                .unwrap();
            values.push(value);
        }
        values
    }

    #[tokio::test]
    async fn every_connection_is_back_to_synchronous_full_after_the_migrations() {
        let (_dir, pool) = migrated().await;
        let levels = on_every_connection(&pool, "synchronous").await;
        assert_eq!(levels, [2; 4], "2 is FULL");
    }

    #[tokio::test]
    async fn every_connection_checkpoints_the_log_at_twenty_thousand_pages() {
        let (_dir, pool) = migrated().await;
        let pages = on_every_connection(&pool, "wal_autocheckpoint").await;
        assert_eq!(pages, [20_000; 4]);
    }

    #[tokio::test]
    async fn a_database_migrated_by_the_build_with_edited_migrations_still_migrates() {
        let (_dir, pool) = migrated().await;
        for (version, old) in SUPERSEDED_CHECKSUMS {
            set_checksum(&pool, *version, old).await;
        }
        migrate(&pool).await.unwrap();
        for (version, _) in SUPERSEDED_CHECKSUMS {
            let now: Vec<u8> =
                sqlx::query_scalar("select checksum from _sqlx_migrations where version = ?")
                    .bind(version)
                    .fetch_one(&pool)
                    .await
                    .unwrap();
            let released = MIGRATOR.iter().find(|m| m.version == *version).unwrap();
            assert_eq!(
                now,
                released.checksum.as_ref(),
                "migration {version} adopted the released checksum"
            );
        }
    }

    #[tokio::test]
    async fn any_other_edited_migration_is_still_refused() {
        let (_dir, pool) = migrated().await;
        set_checksum(&pool, 1, &"ab".repeat(48)).await;
        assert!(migrate(&pool).await.is_err());
    }

    #[tokio::test]
    async fn tickets_end_with_no_index_by_requester_or_by_channel() {
        let (_dir, pool) = migrated().await;
        let mut names: Vec<String> = sqlx::query_scalar(
            "select name from sqlite_master where type = 'index' and tbl_name = 'tickets'",
        )
        .fetch_all(&pool)
        .await
        .unwrap();
        names.sort();
        assert_eq!(
            names,
            [
                "sqlite_autoindex_tickets_1",
                "tickets_card",
                // by creation time, for the reports: appended to, never keyed by a person
                "tickets_created",
                // answered tickets by creation time, for the reports' CSAT (migration 22);
                // filing writes no answered ticket, so never touches it
                "tickets_csat",
                // by resolution, for the dashboard; resolved tickets only
                "tickets_resolved",
                "tickets_source",
                "tickets_status"
            ]
        );
    }

    #[tokio::test]
    async fn an_in_memory_database_is_refused_with_a_clear_error() {
        for url in ["sqlite::memory:", "sqlite://desk.db?mode=memory"] {
            let err = super::connect(url).await.unwrap_err().to_string();
            assert!(err.contains("must name a database file"), "{url}: {err}");
        }
    }
}
