//! The SQL behind the gauges set at scrape time.

use crate::domain::Status;
use sqlx::SqliteConnection;

const OPEN_TICKETS: &str = "select priority, status, count(*) from tickets \
     where status in ('open', 'acknowledged', 'waiting') group by status, priority";

/// Open tickets by priority and status: one grouped count over the open statuses, read from
/// the index by status and priority alone (migration 26) and grouped in its order, so a
/// scrape sorts nothing and reads no ticket row.
pub async fn open_tickets(conn: &mut SqliteConnection) -> sqlx::Result<Vec<(String, Status, i64)>> {
    let rows: Vec<(String, String, i64)> = sqlx::query_as(OPEN_TICKETS).fetch_all(conn).await?;
    Ok(rows
        .into_iter()
        .filter_map(|(priority, status, n)| Some((priority, Status::parse(&status)?, n)))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tickets::filer_db::tests::{migrated, plan_of};

    #[tokio::test]
    async fn the_open_ticket_count_reads_one_index_and_sorts_nothing() {
        let (_dir, pool) = migrated().await;
        let plan = plan_of(&pool, OPEN_TICKETS).await;
        assert!(
            plan.iter()
                .any(|s| s.contains("COVERING INDEX tickets_status")),
            "{plan:?}"
        );
        assert!(!plan.iter().any(|s| s.contains("TEMP B-TREE")), "{plan:?}");
    }
}
