//! `platform-desk jobs`: each registered job, its schedule in plain words, its timezone, its
//! last run and outcome, and its next run; as text or as JSON (CONTRACT.md).

use super::{db, Registry};
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use serde::Serialize;
use sqlx::SqliteConnection;
use std::fmt::Write;

/// One job as `jobs --format json` prints it. Times are RFC 3339 UTC, null when absent.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct JobStatus {
    pub name: String,
    /// The cron expression as written in the policy.
    pub schedule: String,
    /// The schedule in plain words.
    pub description: String,
    /// IANA name.
    pub timezone: String,
    /// The scheduled instant of the latest recorded run.
    pub last_run: Option<DateTime<Utc>>,
    /// `done`, `running`, `failed` (to be retried), `gave_up` or `skipped`.
    pub last_status: Option<String>,
    pub next_run: Option<DateTime<Utc>>,
    /// The latest run's error, when it failed (text only).
    #[serde(skip)]
    pub last_error: Option<String>,
    #[serde(skip)]
    tz: Tz,
}

/// Every job of `registry`, in registration order, as of `now`.
pub async fn statuses(
    conn: &mut SqliteConnection,
    registry: &Registry,
    now: DateTime<Utc>,
) -> sqlx::Result<Vec<JobStatus>> {
    let mut out = Vec::new();
    for entry in registry.entries() {
        let latest = db::latest(conn, &entry.name).await?;
        out.push(JobStatus {
            name: entry.name.clone(),
            schedule: entry.schedule.expr().to_string(),
            description: entry.schedule.describe(),
            timezone: entry.tz.name().to_string(),
            last_run: latest.as_ref().map(|r| r.scheduled_at),
            last_status: latest.as_ref().map(|r| r.status.clone()),
            last_error: latest.and_then(|r| r.error),
            next_run: entry.schedule.fire_times(entry.tz, now).next(),
            tz: entry.tz,
        });
    }
    Ok(out)
}

/// The listing for people: one block per job, times in the job's timezone.
pub fn to_text(jobs: &[JobStatus]) -> String {
    if jobs.is_empty() {
        return "no scheduled jobs (the policy sets no oncall.handoff or schedules)\n".into();
    }
    let mut out = String::new();
    for job in jobs {
        let when = |t: Option<DateTime<Utc>>| {
            t.map_or("never".to_string(), |t| {
                t.with_timezone(&job.tz)
                    .format("%a %Y-%m-%d %H:%M %Z")
                    .to_string()
            })
        };
        let outcome = match (job.last_status.as_deref(), &job.last_error) {
            (None, _) => String::new(),
            (Some("failed"), Some(e)) => format!(", failed (will be retried): {e}"),
            (Some("gave_up"), Some(e)) => format!(", failed (given up): {e}"),
            (Some("skipped"), _) => ", skipped (missed beyond schedules.grace)".into(),
            (Some(status), _) => format!(", {status}"),
        };
        let _ = writeln!(out, "{}", job.name);
        let _ = writeln!(out, "  schedule  {} ({})", job.description, job.schedule);
        let _ = writeln!(out, "  timezone  {}", job.timezone);
        let _ = writeln!(out, "  last run  {}{outcome}", when(job.last_run));
        let _ = writeln!(out, "  next run  {}", when(job.next_run));
    }
    out
}
