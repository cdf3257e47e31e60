//! The export's read: every field of CONTRACT's export record straight from the tickets
//! table, oldest first, as a stream of rows (constant memory whatever the table's size).

use futures_util::stream::BoxStream;
use sqlx::sqlite::SqliteRow;
use sqlx::SqliteConnection;

/// The columns in the order `export::from_row` reads them by index. Times stay the stored
/// text (fixed-width RFC 3339 UTC, `clock::db_time`): the export writes them as they are.
const SELECT: &str = "\
    select key, title, description, requester, channel, source, category, priority, status, \
    assignee, created_at, first_response_at, resolved_at, first_response_due, resolution_due, \
    first_response_breached, resolution_breached, csat \
    from tickets where created_at >= ? order by id";

/// Tickets created at or after `since` (a `db_time` text; \"\" for all), oldest first.
pub fn rows(conn: &mut SqliteConnection, since: String) -> BoxStream<'_, sqlx::Result<SqliteRow>> {
    sqlx::query(SELECT).bind(since).fetch(conn)
}
