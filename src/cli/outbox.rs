//! `platform-desk outbox failed` and `outbox retry`: the messages Slack never took, listed
//! and put back in the queue, on the database file a running bot may be using.

use super::{user_err, ListFormat, OutboxCommand};
use crate::outbox::db::{self, FailedRow};
use crate::store;
use std::process::ExitCode;

/// `outbox failed` and `outbox retry`, on the database a running bot may be using: each is
/// one short transaction, and the bot's sender finds requeued rows on its next pass.
pub(super) async fn run(action: OutboxCommand, database_url: &str) -> anyhow::Result<ExitCode> {
    // Reading a database that is not there would make an empty one and report nothing
    // failed: a wrong DATABASE_URL must say so instead.
    let options: sqlx::sqlite::SqliteConnectOptions = database_url
        .parse()
        .map_err(|_| user_err(format!("DATABASE_URL is not a SQLite URL: {database_url}")))?;
    if !options.get_filename().exists() {
        return Err(user_err(format!(
            "no database at {} (check DATABASE_URL)",
            options.get_filename().display()
        )));
    }
    let pool = store::connect(database_url).await?;
    store::migrate(&pool).await?;
    let result = match action {
        OutboxCommand::Failed { format } => list(&pool, format).await,
        OutboxCommand::Retry { id, .. } => retry(&pool, id).await,
    };
    store::close(&pool).await;
    result.map(|()| ExitCode::SUCCESS)
}

async fn list(pool: &store::Pool, format: ListFormat) -> anyhow::Result<()> {
    let rows = db::failed(&mut *pool.acquire().await?).await?;
    match format {
        ListFormat::Json => println!("{}", serde_json::to_string_pretty(&rows)?),
        ListFormat::Text if rows.is_empty() => println!("no failed outbox rows"),
        ListFormat::Text => print!("{}", failed_table(&rows)),
    }
    Ok(())
}

/// Requeues row `id` (which must be failed), or every failed row, in one transaction.
async fn retry(pool: &store::Pool, id: Option<i64>) -> anyhow::Result<()> {
    let mut tx = pool.begin_with("begin immediate").await?;
    if let Some(id) = id {
        match db::status_of(&mut tx, id).await?.as_deref() {
            None => return Err(user_err(format!("there is no outbox row {id}"))),
            Some("failed") => {}
            Some(status) => {
                let message = format!("outbox row {id} is {status}, not failed: nothing to retry");
                return Err(user_err(message));
            }
        }
    }
    let mut requeued = db::requeue(&mut tx, id).await?;
    tx.commit().await?;
    if requeued.is_empty() {
        println!("no failed outbox rows: nothing to retry");
        return Ok(());
    }
    requeued.sort_by_key(|row| row.id);
    for row in &requeued {
        println!("requeued {} {} to {}", row.id, row.method, row.channel);
    }
    // The sender wakes on its own at least once a minute; another process cannot wake it.
    println!(
        "{} row(s) pending again, attempts reset: a running bot sends them within a minute, \
         a stopped one when it starts",
        requeued.len()
    );
    Ok(())
}

/// Failed rows as an aligned table, one line each (an error's own line breaks flattened).
fn failed_table(rows: &[FailedRow]) -> String {
    let header = [
        "ID",
        "METHOD",
        "CHANNEL",
        "TICKET",
        "ATTEMPTS",
        "WRITTEN (UTC)",
        "FAILED (UTC)",
        "LAST ERROR",
    ];
    let lines: Vec<[String; 8]> = rows
        .iter()
        .map(|row| {
            [
                row.id.to_string(),
                row.method.clone(),
                row.channel.clone(),
                row.ticket.clone().unwrap_or_else(|| "-".into()),
                row.attempts.to_string(),
                row.created_at.clone(),
                row.failed_at.clone().unwrap_or_else(|| "-".into()),
                row.last_error
                    .as_deref()
                    .unwrap_or("-")
                    .split_whitespace()
                    .collect::<Vec<_>>()
                    .join(" "),
            ]
        })
        .collect();
    let mut widths = header.map(str::len);
    for line in &lines {
        for (width, cell) in widths.iter_mut().zip(line) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let header = header.map(String::from);
    for line in std::iter::once(&header).chain(&lines) {
        let cells: Vec<String> = line
            .iter()
            .zip(widths)
            .map(|(cell, width)| format!("{cell:<width$}"))
            .collect();
        out.push_str(cells.join("  ").trim_end());
        out.push('\n');
    }
    out
}
