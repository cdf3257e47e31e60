//! The what-if replay's read: the clock-relevant events of tickets created since an
//! instant, in ticket and log order, streamed (one ticket's history in memory at a time).

use crate::clock::{db_time, parse_db_time};
use crate::domain::EventKind;
use crate::sla::deadlines::{Happening, Moment};
use chrono::{DateTime, Utc};
use futures_util::TryStreamExt;
use sqlx::{Row, SqliteConnection};

const EVENTS: &str = "\
    select e.ticket_id, e.kind, e.at, e.detail from tickets t \
    join ticket_events e on e.ticket_id = t.id \
    where t.created_at >= ? \
    and e.kind in ('created', 'priority_changed', 'waiting', 'resumed', 'first_response', \
                   'resolved', 'closed', 'reopened') \
    order by t.id, e.id";

/// Calls `each` with every ticket's history (as `tickets::db::history` reads it), oldest
/// ticket first.
pub async fn histories(
    conn: &mut SqliteConnection,
    since: DateTime<Utc>,
    mut each: impl FnMut(&[Moment]),
) -> sqlx::Result<()> {
    let mut rows = sqlx::query(EVENTS).bind(db_time(since)).fetch(conn);
    let mut current: Option<i64> = None;
    let mut history: Vec<Moment> = Vec::new();
    while let Some(row) = rows.try_next().await? {
        let id: i64 = row.try_get(0)?;
        if current != Some(id) {
            if !history.is_empty() {
                each(&history);
            }
            history.clear();
            current = Some(id);
        }
        let kind: String = row.try_get(1)?;
        let at: String = row.try_get(2)?;
        let detail: Option<String> = row.try_get(3)?;
        let Some(at) = parse_db_time(&at) else {
            continue;
        };
        let what = match EventKind::parse(&kind) {
            Some(EventKind::Created) => match detail {
                Some(priority) => Happening::Created { priority },
                None => continue,
            },
            Some(EventKind::PriorityChanged) => match detail {
                Some(priority) => Happening::PriorityChanged { priority },
                None => continue,
            },
            Some(EventKind::Waiting) => Happening::Paused,
            Some(EventKind::Resumed) => Happening::Resumed,
            Some(EventKind::FirstResponse) => Happening::FirstResponse,
            Some(EventKind::Resolved | EventKind::Closed) => Happening::Resolved,
            Some(EventKind::Reopened) => Happening::Reopened,
            _ => continue,
        };
        history.push(Moment { at, what });
    }
    if !history.is_empty() {
        each(&history);
    }
    Ok(())
}
