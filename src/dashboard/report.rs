//! The stats document (CONTRACT's stats JSON) for a window, from `stats::report`: the one
//! source of the numbers the page and `/api/v1/stats` show.

use crate::settings::Policy;
use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::SqliteConnection;

/// The document for the last `days` days up to `now`, with no filters.
pub async fn document(
    conn: &mut SqliteConnection,
    policy: &Policy,
    days: u32,
    now: DateTime<Utc>,
) -> anyhow::Result<Value> {
    // Until the stats engine lands (branch `stats`): an empty document, so the page shows
    // its empty states for what only the report knows.
    let _ = (conn, policy, days, now);
    Ok(serde_json::json!({}))
}
