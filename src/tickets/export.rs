//! `platform-desk export tickets`: every ticket as one record (CONTRACT's export fields), as
//! JSON or CSV; times RFC 3339 UTC, absent values null (empty in CSV).

use super::{db, Ticket};
use crate::clock::db_time;
use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use sqlx::SqliteConnection;

#[derive(Debug, Serialize)]
pub struct Record {
    pub key: String,
    pub title: String,
    pub description: String,
    pub requester: String,
    pub channel: Option<String>,
    pub source: String,
    pub category: String,
    pub priority: String,
    pub status: String,
    pub assignee: Option<String>,
    pub created_at: String,
    pub first_response_at: Option<String>,
    pub resolved_at: Option<String>,
    pub first_response_due: Option<String>,
    pub resolution_due: Option<String>,
    pub first_response_breached: bool,
    pub resolution_breached: bool,
    pub csat: Option<f64>,
}

/// A target is breached when it was met late, or is still unmet past its due time.
fn breached(
    flag: bool,
    done: Option<DateTime<Utc>>,
    due: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> bool {
    flag || match (done, due) {
        (Some(done), Some(due)) => done > due,
        (None, Some(due)) => due < now,
        _ => false,
    }
}

pub fn record(t: &Ticket, now: DateTime<Utc>) -> Record {
    let open = t.is_open();
    Record {
        key: t.key.clone(),
        title: t.title.clone(),
        description: t.description.clone(),
        requester: t.requester.clone(),
        channel: t.channel.clone(),
        source: t.source.to_string(),
        category: t.category.clone(),
        priority: t.priority.to_string(),
        status: t.status.to_string(),
        assignee: t.assignee.clone(),
        created_at: db_time(t.created_at),
        first_response_at: t.first_response_at.map(db_time),
        resolved_at: t.resolved_at.map(db_time),
        first_response_due: t.first_response_due.map(db_time),
        resolution_due: t.resolution_due.map(db_time),
        first_response_breached: breached(
            t.first_response_breached,
            t.first_response_at,
            t.first_response_due,
            now,
        ),
        resolution_breached: breached(
            t.resolution_breached,
            t.resolved_at.filter(|_| !open),
            t.resolution_due,
            now,
        ),
        csat: None,
    }
}

/// Every ticket (created in the last `days` days, if given), oldest first.
pub async fn records(
    conn: &mut SqliteConnection,
    days: Option<u32>,
    now: DateTime<Utc>,
) -> sqlx::Result<Vec<Record>> {
    let since = days.map(|d| now - Duration::days(d as i64));
    Ok(db::all_since(conn, since)
        .await?
        .iter()
        .map(|t| record(t, now))
        .collect())
}

const COLUMNS: [&str; 18] = [
    "key",
    "title",
    "description",
    "requester",
    "channel",
    "source",
    "category",
    "priority",
    "status",
    "assignee",
    "created_at",
    "first_response_at",
    "resolved_at",
    "first_response_due",
    "resolution_due",
    "first_response_breached",
    "resolution_breached",
    "csat",
];

/// RFC 4180 CSV with a header row.
pub fn to_csv(records: &[Record]) -> String {
    let field = |s: &str| {
        if s.contains([',', '"', '\n', '\r']) {
            format!("\"{}\"", s.replace('"', "\"\""))
        } else {
            s.to_string()
        }
    };
    let opt = |s: &Option<String>| s.as_deref().map(field).unwrap_or_default();
    let mut out = COLUMNS.join(",");
    out.push_str("\r\n");
    for r in records {
        let row = [
            field(&r.key),
            field(&r.title),
            field(&r.description),
            field(&r.requester),
            opt(&r.channel),
            field(&r.source),
            field(&r.category),
            field(&r.priority),
            field(&r.status),
            opt(&r.assignee),
            field(&r.created_at),
            opt(&r.first_response_at),
            opt(&r.resolved_at),
            opt(&r.first_response_due),
            opt(&r.resolution_due),
            r.first_response_breached.to_string(),
            r.resolution_breached.to_string(),
            r.csat.map(|c| c.to_string()).unwrap_or_default(),
        ];
        out.push_str(&row.join(","));
        out.push_str("\r\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ticket::tests::sample;

    #[test]
    fn csv_quotes_what_needs_quoting_and_leaves_absent_values_empty() {
        let mut t = sample();
        t.title = "a, \"quoted\" title".into();
        t.first_response_due = Some(Utc::now() + Duration::hours(1));
        t.resolution_due = Some(Utc::now() + Duration::hours(2));
        let csv = to_csv(&[record(&t, Utc::now())]);
        let mut lines = csv.split("\r\n");
        assert_eq!(lines.next().unwrap().split(',').count(), 18);
        let row = lines.next().unwrap();
        assert!(
            row.starts_with("PLAT-7,\"a, \"\"quoted\"\" title\","),
            "{row}"
        );
        assert!(
            row.ends_with(",false,false,"),
            "not breached, csat empty: {row}"
        );
    }

    #[test]
    fn a_target_met_late_or_still_unmet_past_due_is_breached() {
        let now = Utc::now();
        let due = Some(now - Duration::hours(1));
        assert!(breached(false, Some(now), due, now));
        assert!(breached(false, None, due, now));
        assert!(!breached(false, Some(now - Duration::hours(2)), due, now));
        assert!(!breached(false, None, Some(now + Duration::hours(1)), now));
    }
}
