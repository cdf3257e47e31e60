//! The SQL behind the gauges set at scrape time.

use crate::domain::Status;
use sqlx::SqliteConnection;

/// Open tickets by priority and status: one grouped count over the open statuses (found
/// through the status index, so its cost follows the open tickets, not the history).
pub async fn open_tickets(conn: &mut SqliteConnection) -> sqlx::Result<Vec<(String, Status, i64)>> {
    let rows: Vec<(String, String, i64)> = sqlx::query_as(
        "select priority, status, count(*) from tickets \
         where status in ('open', 'acknowledged', 'waiting') group by priority, status",
    )
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .filter_map(|(priority, status, n)| Some((priority, Status::parse(&status)?, n)))
        .collect())
}
