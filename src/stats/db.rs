//! The SQL of the report: the window's tickets as two texts read in one pass over the
//! `tickets_created` index (migration 13), and the backlog now.

use super::Filters;
use crate::clock::{db_time, parse_db_time};
use chrono::{DateTime, Utc};
use sqlx::sqlite::SqliteRow;
use sqlx::{Row, SqliteConnection};

/// The window's tickets, each as its `stats_row` (see `rows`), records separated by
/// `rows::RECORD` ([`WindowRows::rows`]); and the rows of those whose unmet target is now
/// past due, each followed by a field saying which (1: first response, 2: resolution, 3:
/// both) ([`WindowRows::past_due`]). The texts are read where the driver holds them: a
/// window's text is megabytes, and copying it cost as much as parsing it.
#[derive(Default)]
pub struct WindowRows {
    row: Option<SqliteRow>,
}

impl WindowRows {
    pub fn rows(&self) -> &str {
        self.text(0)
    }

    pub fn past_due(&self) -> &str {
        self.text(1)
    }

    fn text(&self, column: usize) -> &str {
        self.row
            .as_ref()
            .and_then(|r| r.try_get::<Option<&str>, _>(column).ok().flatten())
            .unwrap_or_default()
    }
}

/// One aggregate over one range of one index: SQLite hands over two texts instead of a row
/// per ticket (a quarter of a million rows through the driver cost more than the whole
/// report). Filters are applied to the parsed rows, so the index holds no more columns
/// than the rows' text.
pub async fn window(
    conn: &mut SqliteConnection,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> sqlx::Result<WindowRows> {
    let row = sqlx::query(
        r"select group_concat(stats_row, char(30)),
                 group_concat(case when stats_first_response_pending < ?2
                                     or stats_resolution_pending < ?2
                              then stats_row || char(31)
                                   || (((stats_first_response_pending < ?2) is 1)
                                       + 2 * ((stats_resolution_pending < ?2) is 1))
                              end, char(30))
          from tickets indexed by tickets_created
          where created_at >= ?1 and created_at <= ?2",
    )
    .bind(db_time(from))
    .bind(db_time(to))
    .fetch_one(conn)
    .await?;
    Ok(WindowRows { row: Some(row) })
}

/// The open tickets now that match the filters.
#[derive(Debug, Default)]
pub struct Backlog {
    pub count: u64,
    pub oldest: Option<DateTime<Utc>>,
}

/// How many of the oldest tickets the backlog looks through, in creation order, for the
/// oldest open one before it asks the whole table.
const OLDEST_AMONG: i64 = 20_000;

/// The count reads only the status index when there are no filters. The oldest open ticket
/// is looked for first among the oldest `OLDEST_AMONG` tickets, in creation order, where
/// the index's own flags pass over the resolved ones without reading the ticket (an open
/// ticket never has flag 4; the status decides): a desk's oldest open ticket is usually an
/// old one, and the minimum over every open ticket read each of them from the table (a
/// third of the report over a million tickets). Only when none is found there is it asked
/// of them all. (With fewer tickets than that, the first look is through all of them.)
pub async fn backlog(conn: &mut SqliteConnection, filters: &Filters) -> sqlx::Result<Backlog> {
    let count: i64 = sqlx::query_scalar(
        r"select count(*) from tickets
          where status in ('open', 'acknowledged', 'waiting')
            and (?1 is null or priority = ?1)
            and (?2 is null or category = ?2)
            and (?3 is null or channel = ?3)",
    )
    .bind(filters.priority.as_deref())
    .bind(filters.category.as_deref())
    .bind(filters.channel.as_deref())
    .fetch_one(&mut *conn)
    .await?;
    let mut oldest: Option<String> = None;
    if count > 0 {
        oldest = sqlx::query_scalar(
            r"select created_at from tickets indexed by tickets_created
              where created_at <= coalesce((select created_at
                                            from tickets indexed by tickets_created
                                            order by created_at limit 1 offset ?4), 'A')
                and (cast(ltrim(substr(stats_row, -2), char(31)) as integer) & 4) = 0
                and status in ('open', 'acknowledged', 'waiting')
                and (?1 is null or priority = ?1)
                and (?2 is null or category = ?2)
                and (?3 is null or channel = ?3)
              order by created_at limit 1",
        )
        .bind(filters.priority.as_deref())
        .bind(filters.category.as_deref())
        .bind(filters.channel.as_deref())
        .bind(OLDEST_AMONG - 1)
        .fetch_optional(&mut *conn)
        .await?;
        if oldest.is_none() {
            oldest = sqlx::query_scalar(
                r"select min(created_at) from tickets
                  where status in ('open', 'acknowledged', 'waiting')
                    and (?1 is null or priority = ?1)
                    and (?2 is null or category = ?2)
                    and (?3 is null or channel = ?3)",
            )
            .bind(filters.priority.as_deref())
            .bind(filters.category.as_deref())
            .bind(filters.channel.as_deref())
            .fetch_one(&mut *conn)
            .await?;
        }
    }
    Ok(Backlog {
        count: count.max(0) as u64,
        oldest: oldest.as_deref().and_then(parse_db_time),
    })
}
