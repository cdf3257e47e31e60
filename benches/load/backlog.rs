//! The database a phase starts from: migrated by the build under test (`migrate`), then
//! filled with a backlog drawn from the load's own mix (`mix`), most of it still open, filed
//! over the last two weeks (inside the duplicate check's window). Made once per build and
//! copied for each phase, so every phase of both builds starts from the same tickets. Where
//! the schema stores a ticket's words for the duplicate check (`tickets.words`), they are
//! written as the build's writer writes them, as if it had filed the backlog itself.

use super::mix;
use anyhow::{ensure, Context};
use chrono::{Duration, Utc};
use sqlx::{QueryBuilder, Sqlite};
use std::path::{Path, PathBuf};

/// A database file ready to be copied, and the highest ticket number in it.
pub struct Backlog {
    pub file: PathBuf,
    pub tickets: u64,
}

impl Backlog {
    /// A copy of the backlog for one phase, as the URL the server is given.
    pub fn copy_to(&self, dir: &Path) -> anyhow::Result<String> {
        let file = dir.join("bench.db");
        std::fs::copy(&self.file, &file).context("copying the backlog")?;
        // On disk before the server starts: otherwise the kernel writes the copy out during
        // the phase, and the server's first syncs wait behind a hundred megabytes.
        std::fs::File::open(&file)?.sync_all()?;
        Ok(format!("sqlite://{}", file.display()))
    }
}

/// Runs `server migrate` on a new file in `dir`, then inserts `tickets` tickets (and their
/// `created` events) from `requesters` requesters.
pub async fn make(
    server: &Path,
    dir: &Path,
    tickets: u64,
    requesters: u32,
) -> anyhow::Result<Backlog> {
    let file = dir.join("backlog.db");
    let url = format!("sqlite://{}", file.display());
    let migrated = tokio::process::Command::new(server)
        .arg("migrate")
        .env_clear()
        .env("DATABASE_URL", &url)
        .env("RUST_LOG", "warn")
        .output()
        .await
        .context("running migrate")?;
    ensure!(
        migrated.status.success(),
        "{} migrate failed: {}",
        server.display(),
        String::from_utf8_lossy(&migrated.stderr)
    );
    let pool = platform_desk::store::connect(&url).await?;
    let with_words: bool = sqlx::query_scalar(
        "select count(*) > 0 from pragma_table_info('tickets') where name = 'words'",
    )
    .fetch_one(&pool)
    .await?;
    let mut tx = pool.begin().await?;
    let now = Utc::now();
    let span = Duration::days(14) - Duration::hours(1);
    let ids: Vec<u64> = (1..=tickets).collect();
    for chunk in ids.chunks(1000) {
        let mut q = QueryBuilder::<Sqlite>::new(
            "insert into tickets (id, key, title, description, requester, channel, source, \
             category, priority, status, assignee, created_at, updated_at, resolved_at",
        );
        q.push(if with_words { ", words) " } else { ") " });
        q.push_values(chunk, |mut row, id| {
            let r = mix::request(*id, requesters);
            // Filed in order over the last two weeks.
            let at = now - span + span * (*id as i32) / (tickets.max(1) as i32);
            let at = platform_desk::clock::db_time(at);
            // Out of 20: 10 open, 2 acknowledged, 1 waiting, 5 resolved, 2 closed.
            let status = match id % 20 {
                0..=9 => "open",
                10 | 11 => "acknowledged",
                12 => "waiting",
                13..=17 => "resolved",
                _ => "closed",
            };
            let done = matches!(status, "resolved" | "closed");
            // As the writer stores them: the title's and the description's.
            let words = with_words.then(|| {
                use platform_desk::triage::{similar, Words};
                similar::stored([&Words::of(&r.title), &Words::of(&r.text())]).0
            });
            row.push_bind(*id as i64)
                .push_bind(format!("PLAT-{id}"))
                .push_bind(r.title.clone())
                .push_bind(r.text())
                .push_bind(r.requester)
                .push_bind(r.channel)
                .push_bind("command")
                .push_bind("general")
                .push_bind("P3")
                .push_bind(status)
                .push_bind((status != "open").then_some("U01ALICE"))
                .push_bind(at.clone())
                .push_bind(at.clone())
                .push_bind(done.then_some(at));
            if let Some(words) = words {
                row.push_bind(words);
            }
        });
        q.build().execute(&mut *tx).await?;
    }
    sqlx::query(
        "insert into ticket_events (ticket_id, kind, actor, at, detail) \
         select id, 'created', requester, created_at, priority from tickets",
    )
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    // Everything into the main file: the copies are of that file alone.
    platform_desk::store::close(&pool).await;
    Ok(Backlog { file, tickets })
}
