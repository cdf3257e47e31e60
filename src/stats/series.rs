//! The dashboard's series over time, read from the columns stored on each ticket: weekly
//! volume (opened vs resolved), SLA attainment per week by priority, and the backlog now by
//! priority and age.
//!
//! Definitions (the report's, `stats::report`, for what they share):
//! - Weeks start on Monday 00:00 UTC; the first week of a window is cut at its start.
//! - `opened`: tickets created in the week (inside the window); `resolved`: tickets whose
//!   resolution falls in the week and that are resolved or closed now (a reopened ticket
//!   counts again when it is resolved again).
//! - Attainment, by the week a ticket was created: of its SLA targets already decided (met, or
//!   past due unmet), the share met; first response and resolution each count as one target.
//!   A target is missed when it was met late, is still unmet past due, or was flagged
//!   breached by the scheduler (`tickets::export::record`'s rule).
//! - Backlog: tickets open, acknowledged or waiting now, by priority and by age since created.

use chrono::{DateTime, Datelike, Duration, NaiveTime, Utc};
use sqlx::SqliteConnection;
use std::collections::BTreeMap;

/// The backlog's age buckets: a label and the age (exclusive) the bucket ends at.
pub const AGE_BUCKETS: [(&str, Option<i64>); 5] = [
    ("under 1 day", Some(86_400)),
    ("1-3 days", Some(3 * 86_400)),
    ("3-7 days", Some(7 * 86_400)),
    ("1-4 weeks", Some(28 * 86_400)),
    ("older", None),
];

/// Met and decided targets.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tally {
    pub met: u64,
    pub decided: u64,
}

impl Tally {
    /// The share met, between 0 and 1; None when nothing was decided.
    pub fn rate(&self) -> Option<f64> {
        (self.decided > 0).then(|| self.met as f64 / self.decided as f64)
    }

    fn count(&mut self, outcome: Option<bool>) {
        if let Some(met) = outcome {
            self.decided += 1;
            self.met += u64::from(met);
        }
    }
}

/// One week of the window.
#[derive(Debug, Clone, PartialEq)]
pub struct Week {
    /// Monday 00:00 UTC of the week.
    pub start: DateTime<Utc>,
    pub opened: u64,
    pub resolved: u64,
    /// Priority -> attainment of the tickets created this week.
    pub attainment: BTreeMap<String, Tally>,
}

/// Everything the dashboard draws over time.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    pub weeks: Vec<Week>,
    /// Priority -> open tickets per `AGE_BUCKETS` bucket.
    pub backlog: BTreeMap<String, [u64; AGE_BUCKETS.len()]>,
}

impl Series {
    /// Every priority seen in the attainment weeks, ordered by name.
    pub fn priorities(&self) -> Vec<String> {
        let mut all: Vec<String> = self
            .weeks
            .iter()
            .flat_map(|w| w.attainment.keys().cloned())
            .collect();
        all.sort();
        all.dedup();
        all
    }
}

/// What series reads of one ticket.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub created_at: DateTime<Utc>,
    pub priority: String,
    pub open: bool,
    pub first_response_at: Option<DateTime<Utc>>,
    pub first_response_due: Option<DateTime<Utc>>,
    pub first_response_breached: bool,
    pub resolved_at: Option<DateTime<Utc>>,
    pub resolution_due: Option<DateTime<Utc>>,
    pub resolution_breached: bool,
}

/// The series for the last `days` days up to `now`.
pub async fn weekly(
    conn: &mut SqliteConnection,
    days: u32,
    now: DateTime<Utc>,
) -> sqlx::Result<Series> {
    let from = now - Duration::days(i64::from(days));
    let rows = db::touching(conn, from).await?;
    let open = db::open(conn).await?;
    Ok(build(&rows, &open, from, now))
}

/// Monday 00:00 UTC of the week holding `t`.
pub fn week_start(t: DateTime<Utc>) -> DateTime<Utc> {
    let monday = t.date_naive() - Duration::days(i64::from(t.weekday().num_days_from_monday()));
    monday.and_time(NaiveTime::MIN).and_utc()
}

/// Met (Some(true)), missed (Some(false)) or not decided yet (None).
fn outcome(
    flagged: bool,
    done: Option<DateTime<Utc>>,
    due: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Option<bool> {
    let due = due?;
    match done {
        Some(done) => Some(!flagged && done <= due),
        None if due < now => Some(false),
        None => flagged.then_some(false),
    }
}

/// The pure part of [`weekly`]: `rows` are the tickets created or resolved since `from`,
/// `open` the (priority, created_at) of tickets open now.
pub fn build(
    rows: &[Row],
    open: &[(String, DateTime<Utc>)],
    from: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Series {
    let mut weeks: Vec<Week> = Vec::new();
    let mut start = week_start(from);
    while start <= now {
        weeks.push(Week {
            start,
            opened: 0,
            resolved: 0,
            attainment: BTreeMap::new(),
        });
        start += Duration::days(7);
    }
    let first = weeks.first().map(|w| w.start);
    let index = |t: DateTime<Utc>| -> Option<usize> {
        let first = first?;
        if t < from || t > now {
            return None;
        }
        usize::try_from((t - first).num_days() / 7).ok()
    };
    for row in rows {
        if let Some(i) = index(row.created_at) {
            let week = &mut weeks[i];
            week.opened += 1;
            let tally = week.attainment.entry(row.priority.clone()).or_default();
            tally.count(outcome(
                row.first_response_breached,
                row.first_response_at,
                row.first_response_due,
                now,
            ));
            let resolved = row.resolved_at.filter(|_| !row.open);
            tally.count(outcome(
                row.resolution_breached,
                resolved,
                row.resolution_due,
                now,
            ));
        }
        if let Some(i) = row.resolved_at.filter(|_| !row.open).and_then(index) {
            weeks[i].resolved += 1;
        }
    }
    let mut backlog: BTreeMap<String, [u64; AGE_BUCKETS.len()]> = BTreeMap::new();
    for (priority, created_at) in open {
        let age = (now - *created_at).num_seconds();
        let bucket = AGE_BUCKETS
            .iter()
            .position(|(_, end)| end.is_none_or(|end| age < end))
            .unwrap_or(AGE_BUCKETS.len() - 1);
        backlog.entry(priority.clone()).or_default()[bucket] += 1;
    }
    Series { weeks, backlog }
}

/// The series' SQL. Times are fixed-width RFC 3339 text, so they compare as strings.
mod db {
    use super::Row;
    use crate::clock::{db_time, parse_db_time};
    use chrono::{DateTime, Utc};
    use sqlx::SqliteConnection;

    type Raw = (
        String,
        String,
        String,
        Option<String>,
        Option<String>,
        bool,
        Option<String>,
        Option<String>,
        bool,
    );

    /// Tickets created or resolved since `from`: two disjoint ranges, each read through its
    /// own index (by creation, migration 13; by resolution, migration 19), rather than one
    /// `or` that walks every ticket.
    pub async fn touching(
        conn: &mut SqliteConnection,
        from: DateTime<Utc>,
    ) -> sqlx::Result<Vec<Row>> {
        let raw: Vec<Raw> = sqlx::query_as(
            r#"
            select created_at, priority, status, first_response_at, first_response_due,
                   first_response_breached, resolved_at, resolution_due, resolution_breached
            from tickets
            where created_at >= ?1
            union all
            select created_at, priority, status, first_response_at, first_response_due,
                   first_response_breached, resolved_at, resolution_due, resolution_breached
            from tickets
            where resolved_at >= ?1 and resolved_at is not null and created_at < ?1
            "#,
        )
        .bind(db_time(from))
        .fetch_all(conn)
        .await?;
        let time = |s: Option<String>| s.as_deref().and_then(parse_db_time);
        Ok(raw
            .into_iter()
            .filter_map(|r| {
                Some(Row {
                    created_at: parse_db_time(&r.0)?,
                    priority: r.1,
                    open: !matches!(r.2.as_str(), "resolved" | "closed"),
                    first_response_at: time(r.3),
                    first_response_due: time(r.4),
                    first_response_breached: r.5,
                    resolved_at: time(r.6),
                    resolution_due: time(r.7),
                    resolution_breached: r.8,
                })
            })
            .collect())
    }

    /// (priority, created_at) of the tickets open now.
    pub async fn open(conn: &mut SqliteConnection) -> sqlx::Result<Vec<(String, DateTime<Utc>)>> {
        let raw: Vec<(String, String)> = sqlx::query_as(
            r#"
            select priority, created_at
            from tickets
            where status in ('open', 'acknowledged', 'waiting')
            "#,
        )
        .fetch_all(conn)
        .await?;
        Ok(raw
            .into_iter()
            .filter_map(|(p, c)| Some((p, parse_db_time(&c)?)))
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(d: u32, h: u32) -> DateTime<Utc> {
        // June 2026: the 1st is a Monday.
        Utc.with_ymd_and_hms(2026, 6, d, h, 0, 0).unwrap()
    }

    fn row(created: DateTime<Utc>, priority: &str) -> Row {
        Row {
            created_at: created,
            priority: priority.into(),
            open: true,
            first_response_at: None,
            first_response_due: Some(created + Duration::hours(1)),
            first_response_breached: false,
            resolved_at: None,
            resolution_due: Some(created + Duration::days(3)),
            resolution_breached: false,
        }
    }

    #[test]
    fn weeks_start_on_monday_utc() {
        assert_eq!(week_start(at(4, 15)), at(1, 0));
        assert_eq!(week_start(at(1, 0)), at(1, 0));
        assert_eq!(week_start(at(7, 23)), at(1, 0));
        assert_eq!(week_start(at(8, 0)), at(8, 0));
    }

    #[test]
    fn an_empty_window_has_its_weeks_with_nothing_in_them() {
        let s = build(&[], &[], at(3, 0), at(17, 12));
        let starts: Vec<_> = s.weeks.iter().map(|w| w.start).collect();
        assert_eq!(starts, vec![at(1, 0), at(8, 0), at(15, 0)]);
        assert!(s
            .weeks
            .iter()
            .all(|w| w.opened == 0 && w.resolved == 0 && w.attainment.is_empty()));
        assert!(s.backlog.is_empty());
    }

    #[test]
    fn tickets_count_in_the_week_they_were_opened_and_resolved() {
        let mut a = row(at(2, 10), "P2");
        a.open = false;
        a.first_response_at = Some(at(2, 10) + Duration::minutes(30));
        a.resolved_at = Some(at(9, 10));
        let b = row(at(10, 9), "P1");
        // Created before the window, resolved inside it: counts as resolved only.
        let mut c = row(at(1, 1), "P3");
        c.open = false;
        c.resolved_at = Some(at(10, 0));
        // Resolved then reopened: not resolved now.
        let mut d = row(at(9, 8), "P3");
        d.resolved_at = Some(at(9, 9));
        let s = build(&[a, b, c, d], &[], at(2, 0), at(17, 0));
        let counts: Vec<_> = s.weeks.iter().map(|w| (w.opened, w.resolved)).collect();
        assert_eq!(counts, vec![(1, 0), (2, 2), (0, 0)]);
    }

    #[test]
    fn attainment_counts_decided_targets_only() {
        let now = at(3, 12);
        // Answered in time, resolution not yet due: one decided, met.
        let mut on_time = row(at(1, 9), "P2");
        on_time.first_response_at = Some(at(1, 9) + Duration::minutes(20));
        // Unanswered past due: missed although nothing happened.
        let silent = row(at(3, 9), "P2");
        // Answered late, resolved in time: one missed, one met.
        let mut late = row(at(1, 8), "P1");
        late.first_response_at = Some(at(1, 10));
        late.open = false;
        late.resolved_at = Some(at(1, 11));
        // Just filed: nothing decided.
        let fresh = row(at(3, 11), "P1");
        let s = build(&[on_time, silent, late, fresh], &[], at(1, 0), now);
        let w = &s.weeks[0];
        assert_eq!(w.attainment["P2"], Tally { met: 1, decided: 2 });
        assert_eq!(w.attainment["P1"], Tally { met: 1, decided: 2 });
        assert_eq!(w.attainment["P1"].rate(), Some(0.5));
        assert_eq!(Tally::default().rate(), None);
        assert_eq!(s.priorities(), vec!["P1", "P2"]);
    }

    #[test]
    fn a_breach_flag_counts_as_missed_even_when_the_times_look_met() {
        let mut r = row(at(1, 9), "P1");
        r.first_response_at = Some(at(1, 9) + Duration::minutes(5));
        r.first_response_breached = true;
        r.resolution_due = None;
        let s = build(&[r], &[], at(1, 0), at(1, 12));
        assert_eq!(s.weeks[0].attainment["P1"], Tally { met: 0, decided: 1 });
    }

    #[test]
    fn the_backlog_is_split_by_priority_and_age() {
        let now = at(30, 12);
        let open = vec![
            ("P1".to_string(), now - Duration::hours(2)),
            ("P1".to_string(), now - Duration::days(2)),
            ("P2".to_string(), now - Duration::days(5)),
            ("P2".to_string(), now - Duration::days(10)),
            ("P2".to_string(), now - Duration::days(29)),
            ("P2".to_string(), now - Duration::days(1)),
        ];
        let s = build(&[], &open, now - Duration::days(7), now);
        assert_eq!(s.backlog["P1"], [1, 1, 0, 0, 0]);
        assert_eq!(s.backlog["P2"], [0, 1, 1, 1, 1]);
    }

    #[tokio::test]
    async fn the_series_read_the_stored_columns() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("s.db").display());
        let pool = crate::store::connect(&url).await.unwrap();
        crate::store::migrate(&pool).await.unwrap();
        let now = at(10, 12);
        let insert =
            |key: &str, created: DateTime<Utc>, status: &str, resolved: Option<DateTime<Utc>>| {
                sqlx::query(
                    "insert into tickets (key, title, description, requester, source, category, \
                 priority, status, created_at, updated_at, resolved_at, first_response_due, \
                 resolution_due) values (?1, 't', 'd', 'U1', 'command', 'question', 'P2', ?2, \
                 ?3, ?3, ?4, ?5, ?6)",
                )
                .bind(key.to_string())
                .bind(status.to_string())
                .bind(db_time(created))
                .bind(resolved.map(db_time))
                .bind(db_time(created + Duration::hours(1)))
                .bind(db_time(created + Duration::days(30)))
            };
        use crate::clock::db_time;
        insert("PLAT-1", at(2, 9), "resolved", Some(at(9, 9)))
            .execute(&pool)
            .await
            .unwrap();
        insert("PLAT-2", at(9, 9), "open", None)
            .execute(&pool)
            .await
            .unwrap();
        let mut conn = pool.acquire().await.unwrap();
        let s = weekly(&mut conn, 14, now).await.unwrap();
        let counts: Vec<_> = s.weeks.iter().map(|w| (w.opened, w.resolved)).collect();
        assert_eq!(counts, vec![(0, 0), (1, 0), (1, 1)]);
        // PLAT-2's first response is past due unanswered; PLAT-1's is too (never answered).
        assert_eq!(s.weeks[2].attainment["P2"], Tally { met: 0, decided: 1 });
        assert_eq!(s.weeks[1].attainment["P2"], Tally { met: 1, decided: 2 });
        assert_eq!(s.backlog["P2"], [0, 1, 0, 0, 0]);
    }
}
