//! The SQL of the report's satisfaction: CSAT scores of the window's tickets, summed per
//! (priority, category, channel) over the partial index of answered tickets (migration 22),
//! and the closed pulse surveys (migration 20), newest first.

use crate::clock::db_time;
use chrono::{DateTime, Utc};
use sqlx::{Row, SqliteConnection};

/// Answered tickets of one (priority, category, channel): how many, and their scores' sum.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CsatGroup {
    pub priority: String,
    pub category: String,
    pub channel: String,
    pub n: u64,
    pub sum: u64,
}

/// Summed in SQLite: a window of answered tickets comes back as a handful of rows.
pub async fn csat_groups(
    conn: &mut SqliteConnection,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> sqlx::Result<Vec<CsatGroup>> {
    let rows = sqlx::query(
        r"select priority, category, ifnull(channel, '') as channel,
                 count(*) as n, sum(csat) as total
          from tickets indexed by tickets_csat
          where csat is not null and created_at >= ?1 and created_at <= ?2
          group by priority, category, channel",
    )
    .bind(db_time(from))
    .bind(db_time(to))
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(CsatGroup {
                priority: r.try_get("priority")?,
                category: r.try_get("category")?,
                channel: r.try_get("channel")?,
                n: r.try_get::<i64, _>("n")?.max(0) as u64,
                sum: r.try_get::<i64, _>("total")?.max(0) as u64,
            })
        })
        .collect()
}

/// A closed survey's results as stored at its close.
#[derive(Debug, Clone, PartialEq)]
pub struct ClosedSurvey {
    pub closed_at: String,
    pub audience: i64,
    pub responses: Option<i64>,
    pub mean: Option<f64>,
    /// A JSON array of five counts.
    pub distribution: Option<String>,
    pub favourable: Option<f64>,
}

/// The latest `limit` closed surveys, newest first.
pub async fn closed_surveys(
    conn: &mut SqliteConnection,
    limit: i64,
) -> sqlx::Result<Vec<ClosedSurvey>> {
    let rows = sqlx::query(
        r"select closed_at, audience, responses, mean, distribution, favourable
          from surveys where closed_at is not null
          order by closed_at desc, id desc limit ?",
    )
    .bind(limit)
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(ClosedSurvey {
                closed_at: r.try_get("closed_at")?,
                audience: r.try_get("audience")?,
                responses: r.try_get("responses")?,
                mean: r.try_get("mean")?,
                distribution: r.try_get("distribution")?,
                favourable: r.try_get("favourable")?,
            })
        })
        .collect()
}
