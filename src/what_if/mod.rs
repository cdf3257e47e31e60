//! `platform-desk config check --what-if PROPOSED`: the last days' tickets replayed, from
//! their stored event logs, under the current policy and under a proposed one, with the
//! deadline functions the scheduler uses (`sla::deadlines::clocks`, and `clocks_at` at
//! `warn_at` for warnings). Per priority: first-response breaches, resolution breaches and
//! warnings, now vs proposed, so SLA targets are set from evidence.
//!
//! Per ticket and policy: a target is breached when it was met after its due time or is
//! still unmet past it (the export's rule); a warning counts when the warning instant came
//! before the target was met (or before now, unmet) and before the due time. A ticket whose
//! priority a policy lacks is left out under that policy.

mod db;

use crate::settings::Policy;
use crate::sla::calendar::Calendar;
use crate::sla::deadlines::{clocks, clocks_at, Happening, Moment};
use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use sqlx::SqlitePool;
use std::collections::BTreeMap;

/// Breaches and warnings of one priority under one policy.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    pub first_response_breached: u64,
    pub resolution_breached: u64,
    pub warnings: u64,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Comparison {
    pub now: Counts,
    pub proposed: Counts,
}

/// CONTRACT's what-if JSON.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Report {
    pub days: u32,
    pub by_priority: BTreeMap<String, Comparison>,
    /// How many tickets were replayed.
    pub tickets: u64,
}

/// One policy, ready to replay histories.
struct Judge<'a> {
    policy: &'a Policy,
    calendar: Calendar,
}

impl Judge<'_> {
    /// The ticket's priority (its last) and counts under this policy; None when the policy
    /// has no such priority.
    fn judge(&self, history: &[Moment], now: DateTime<Utc>) -> Option<(String, Counts)> {
        let priority = history.iter().rev().find_map(|m| match &m.what {
            Happening::Created { priority } | Happening::PriorityChanged { priority } => {
                Some(priority.clone())
            }
            _ => None,
        })?;
        let full = clocks(self.policy, &self.calendar, history)?;
        let warn = clocks_at(
            self.policy,
            &self.calendar,
            history,
            self.policy.sla.warn_at,
        )?;
        let breached = |done: Option<DateTime<Utc>>, due: Option<DateTime<Utc>>| match (done, due) {
            (Some(done), Some(due)) => done > due,
            (None, Some(due)) => due < now,
            _ => false,
        };
        let warned =
            |done: Option<DateTime<Utc>>, warn: Option<DateTime<Utc>>, due| match (warn, due) {
                (Some(w), Some(due)) => w < due && w < done.unwrap_or(now),
                _ => false,
            };
        let fr_due = full.first_response.due();
        let res_due = full.resolution.due();
        Some((
            priority,
            Counts {
                first_response_breached: breached(full.first_response_at, fr_due).into(),
                resolution_breached: breached(full.resolved_at, res_due).into(),
                warnings: u64::from(warned(
                    full.first_response_at,
                    warn.first_response.due(),
                    fr_due,
                )) + u64::from(warned(full.resolved_at, warn.resolution.due(), res_due)),
            },
        ))
    }
}

fn add(into: &mut Counts, c: Counts) {
    into.first_response_breached += c.first_response_breached;
    into.resolution_breached += c.resolution_breached;
    into.warnings += c.warnings;
}

/// Replays the tickets created in the `days` days before `now` under `current` and
/// `proposed`. Every priority of either policy is in the report, zeros included.
pub async fn compare(
    pool: &SqlitePool,
    current: &Policy,
    proposed: &Policy,
    days: u32,
    now: DateTime<Utc>,
) -> anyhow::Result<Report> {
    let mut report = Report {
        days,
        ..Report::default()
    };
    for name in current.priority_names().chain(proposed.priority_names()) {
        report.by_priority.entry(name.to_string()).or_default();
    }
    let judges = [current, proposed].map(|policy| Judge {
        policy,
        calendar: crate::sla::calendar(policy),
    });
    let since = now - Duration::days(days.into());
    let mut conn = pool.acquire().await?;
    db::histories(&mut conn, since, |history| {
        report.tickets += 1;
        for (i, judge) in judges.iter().enumerate() {
            if let Some((priority, counts)) = judge.judge(history, now) {
                let entry = report.by_priority.entry(priority).or_default();
                add(
                    if i == 0 {
                        &mut entry.now
                    } else {
                        &mut entry.proposed
                    },
                    counts,
                );
            }
        }
    })
    .await?;
    Ok(report)
}

/// The report as a table for people.
pub fn text(report: &Report, proposed_name: &str) -> String {
    let mut out = format!(
        "What if: {} tickets of the last {} days, under the current policy -> {proposed_name}\n\n",
        report.tickets, report.days
    );
    out.push_str(&format!(
        "{:<10} {:>26} {:>24} {:>20}\n",
        "priority", "first-response breaches", "resolution breaches", "warnings"
    ));
    for (priority, c) in &report.by_priority {
        let pair = |a: u64, b: u64| format!("{a} -> {b}");
        out.push_str(&format!(
            "{:<10} {:>26} {:>24} {:>20}\n",
            priority,
            pair(
                c.now.first_response_breached,
                c.proposed.first_response_breached
            ),
            pair(c.now.resolution_breached, c.proposed.resolution_breached),
            pair(c.now.warnings, c.proposed.warnings),
        ));
    }
    out
}
