//! `platform-desk export tickets` and `GET /api/v1/tickets`: every ticket as one record
//! (CONTRACT's export fields), as JSON or CSV; times RFC 3339 UTC, absent values null (empty
//! in CSV). Streamed: rows go from SQLite to the writer (or the HTTP body) one at a time, so
//! memory stays constant however many tickets there are.

use super::{export_db, Ticket};
use crate::clock::db_time;
use chrono::{DateTime, Duration, Utc};
use futures_util::TryStreamExt;
use serde::{Deserialize, Serialize};
use sqlx::sqlite::SqliteRow;
use sqlx::{Row, SqlitePool};
use std::io::Write;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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
    /// The requester's satisfaction score (1 to 5) once they answered; null otherwise.
    pub csat: Option<f64>,
}

/// The CSV header: the record's fields, in order.
pub const COLUMNS: [&str; 18] = [
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

/// A target is breached when it was met late, or is still unmet past its due time. Works on
/// times and on their stored text alike (`db_time` text sorts as the times do).
fn breached<T: PartialOrd>(flag: bool, done: Option<T>, due: Option<T>, now: T) -> bool {
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
        csat: t.csat.map(f64::from),
    }
}

/// A row of `export_db::rows` as a record, by the same rule as [`record`]; `now` as
/// `db_time` text.
fn from_row(r: &SqliteRow, now: &str) -> sqlx::Result<Record> {
    let status: String = r.try_get(8)?;
    let open = crate::domain::Status::parse(&status).is_none_or(|s| s.is_open());
    let first_response_at: Option<String> = r.try_get(11)?;
    let resolved_at: Option<String> = r.try_get(12)?;
    let first_response_due: Option<String> = r.try_get(13)?;
    let resolution_due: Option<String> = r.try_get(14)?;
    Ok(Record {
        first_response_breached: breached(
            r.try_get(15)?,
            first_response_at.as_deref(),
            first_response_due.as_deref(),
            now,
        ),
        resolution_breached: breached(
            r.try_get(16)?,
            resolved_at.as_deref().filter(|_| !open),
            resolution_due.as_deref(),
            now,
        ),
        key: r.try_get(0)?,
        title: r.try_get(1)?,
        description: r.try_get(2)?,
        requester: r.try_get(3)?,
        channel: r.try_get(4)?,
        source: r.try_get(5)?,
        category: r.try_get(6)?,
        priority: r.try_get(7)?,
        status,
        assignee: r.try_get(9)?,
        created_at: r.try_get(10)?,
        first_response_at,
        resolved_at,
        first_response_due,
        resolution_due,
        csat: r.try_get::<Option<i64>, _>(17)?.map(|v| v as f64),
    })
}

/// Calls `each` with every record (tickets created in the last `days` days, if given),
/// oldest first, one at a time. Returns how many there were.
pub async fn for_each(
    pool: &SqlitePool,
    days: Option<u32>,
    now: DateTime<Utc>,
    mut each: impl FnMut(Record) -> anyhow::Result<()>,
) -> anyhow::Result<u64> {
    let since = days.map_or(String::new(), |d| db_time(now - Duration::days(d.into())));
    let now = db_time(now);
    let mut conn = pool.acquire().await?;
    let mut rows = export_db::rows(&mut conn, since);
    let mut n = 0;
    while let Some(row) = rows.try_next().await? {
        each(from_row(&row, &now)?)?;
        n += 1;
    }
    Ok(n)
}

/// RFC 4180 CSV with a header row, written to `out` as the rows arrive.
pub async fn write_csv(
    pool: &SqlitePool,
    days: Option<u32>,
    now: DateTime<Utc>,
    out: impl Write,
) -> anyhow::Result<u64> {
    let mut csv = csv_writer(out);
    csv.write_record(COLUMNS)?;
    let n = for_each(pool, days, now, |r| Ok(csv.serialize(r)?)).await?;
    csv.flush()?;
    Ok(n)
}

fn csv_writer<W: Write>(out: W) -> csv::Writer<W> {
    csv::WriterBuilder::new()
        .has_headers(false)
        .terminator(csv::Terminator::CRLF)
        .buffer_capacity(256 * 1024)
        .from_writer(out)
}

/// A JSON array, one record per line, written to `out` as the rows arrive.
pub async fn write_json(
    pool: &SqlitePool,
    days: Option<u32>,
    now: DateTime<Utc>,
    out: impl Write,
) -> anyhow::Result<u64> {
    let mut out = std::io::BufWriter::with_capacity(256 * 1024, out);
    out.write_all(b"[")?;
    let mut first = true;
    let n = for_each(pool, days, now, |r| {
        json_line(&mut out, &r, first)?;
        first = false;
        Ok(())
    })
    .await?;
    out.write_all(b"\n]\n")?;
    out.flush()?;
    Ok(n)
}

/// One record of the array on a line of its own, after a comma unless it is the first.
fn json_line(mut out: impl Write, r: &Record, first: bool) -> anyhow::Result<()> {
    out.write_all(if first { b"\n" } else { b",\n" })?;
    serde_json::to_writer(&mut out, r)?;
    Ok(())
}

/// The body of `GET /api/v1/tickets?days=N`: the JSON array of [`write_json`], streamed. A
/// task reads the rows and sends chunks of about 64 KiB through a small channel, so a slow
/// client holds back the reading and memory stays constant. A failure midway ends the body
/// with an error (the client sees a cut-off response, never a well-formed partial array).
pub fn json_body(pool: SqlitePool, days: Option<u32>, now: DateTime<Utc>) -> axum::body::Body {
    const CHUNK: usize = 64 * 1024;
    type Chunk = Result<bytes::Bytes, std::io::Error>;
    let (send, receive) = tokio::sync::mpsc::channel::<Chunk>(4);
    tokio::spawn(async move {
        let result: anyhow::Result<()> = async {
            let since = days.map_or(String::new(), |d| db_time(now - Duration::days(d.into())));
            let now = db_time(now);
            let mut conn = pool.acquire().await?;
            let mut rows = export_db::rows(&mut conn, since);
            let mut buf: Vec<u8> = Vec::with_capacity(CHUNK + 4096);
            buf.push(b'[');
            let mut first = true;
            while let Some(row) = rows.try_next().await? {
                json_line(&mut buf, &from_row(&row, &now)?, first)?;
                first = false;
                if buf.len() >= CHUNK {
                    let chunk = bytes::Bytes::from(std::mem::take(&mut buf));
                    send.send(Ok(chunk))
                        .await
                        .map_err(|_| anyhow::anyhow!("the client went away"))?;
                }
            }
            buf.extend_from_slice(b"\n]\n");
            let _ = send.send(Ok(bytes::Bytes::from(buf))).await;
            Ok(())
        }
        .await;
        if let Err(err) = result {
            tracing::warn!(error = %err, "the tickets export stopped");
            let _ = send
                .send(Err(std::io::Error::other("the export stopped")))
                .await;
        }
    });
    let stream = futures_util::stream::unfold(receive, |mut receive| async move {
        receive.recv().await.map(|chunk| (chunk, receive))
    });
    axum::body::Body::from_stream(stream)
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
        let mut csv = csv_writer(Vec::new());
        csv.write_record(COLUMNS).unwrap();
        csv.serialize(record(&t, Utc::now())).unwrap();
        let text = String::from_utf8(csv.into_inner().unwrap()).unwrap();
        let mut lines = text.split("\r\n");
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
    fn a_target_met_late_or_still_unmet_past_due_is_breached_as_times_and_as_text() {
        let now = Utc::now();
        let due = Some(now - Duration::hours(1));
        assert!(breached(false, Some(now), due, now));
        assert!(breached(false, None, due, now));
        assert!(!breached(false, Some(now - Duration::hours(2)), due, now));
        assert!(!breached(false, None, Some(now + Duration::hours(1)), now));
        let text = |t: DateTime<Utc>| db_time(t);
        let now_text = text(now);
        assert!(breached(
            false,
            Some(now_text.as_str()),
            due.map(text).as_deref(),
            &now_text
        ));
        assert!(!breached(
            false,
            None,
            Some(text(now + Duration::seconds(1)).as_str()),
            &now_text
        ));
    }
}
