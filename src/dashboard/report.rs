//! The stats document (CONTRACT's stats JSON) for a window, from `stats::report`: the one
//! source of the numbers the page and `/api/v1/stats` show. The page reads the document by
//! its CONTRACT field names, so it shows exactly what the API returns.

use crate::settings::Policy;
use crate::stats::{self, Filters};
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
    let report = stats::report(conn, policy, days, &Filters::default(), now).await?;
    Ok(serde_json::to_value(report)?)
}
