//! The report's satisfaction: CSAT (mean and count of the scores of the window's tickets,
//! overall and by priority and category, with the report's filters) and the pulse (the
//! latest closed survey, compared with the one before, and the trend of the last ones).
//!
//! Anonymity: under the anonymity threshold (`survey.anonymity_threshold`, 5 without a
//! `[survey]` section) a survey shows how many answered and how many were asked, never a mean,
//! a share or a distribution, and takes no part in a change or a trend's mean, whatever the
//! table holds.

use super::satisfaction_db::{self as db, ClosedSurvey, CsatGroup};
use super::{Csat, Filters, Report};
use crate::settings::Policy;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::SqliteConnection;
use std::collections::BTreeMap;

/// How many closed surveys the trend shows, oldest first.
pub const TREND_SURVEYS: i64 = 8;

/// CONTRACT's `pulse`, with `threshold` and `trend` added.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Pulse {
    /// RFC 3339.
    pub closed_at: String,
    /// How many were asked.
    pub audience: u64,
    pub responses: u64,
    /// responses / audience (0 when nobody was asked).
    pub response_rate: f64,
    pub mean: Option<f64>,
    /// The share of answers that were 4 or 5.
    pub favourable: Option<f64>,
    /// Counts of the answers 1 to 5.
    pub distribution: Option<Vec<u64>>,
    /// mean minus the previous closed survey's mean; null when either is under the threshold.
    pub change: Option<f64>,
    /// The anonymity threshold the figures were shown under.
    pub threshold: u32,
    /// The last closed surveys (this one last), each as a point.
    pub trend: Vec<TrendPoint>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrendPoint {
    pub closed_at: String,
    pub responses: u64,
    pub response_rate: f64,
    /// Null under the threshold.
    pub mean: Option<f64>,
}

/// Adds CSAT (overall and per group) and the pulse to `report`.
pub async fn add(
    conn: &mut SqliteConnection,
    policy: &Policy,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    filters: &Filters,
    report: &mut Report,
) -> sqlx::Result<()> {
    let groups = db::csat_groups(conn, from, to).await?;
    csat(&groups, filters, report);
    let surveys = db::closed_surveys(conn, TREND_SURVEYS).await?;
    report.pulse = pulse(&surveys, threshold(policy));
    Ok(())
}

/// The anonymity threshold of the policy (at least 1).
pub fn threshold(policy: &Policy) -> u32 {
    policy
        .survey
        .as_ref()
        .map_or(5, |s| s.anonymity_threshold)
        .max(1)
}

#[derive(Default, Clone, Copy)]
struct Sum {
    n: u64,
    total: u64,
}

impl Sum {
    fn csat(self) -> Csat {
        Csat {
            n: self.n,
            mean: (self.n > 0).then(|| self.total as f64 / self.n as f64),
        }
    }
}

fn csat(groups: &[CsatGroup], filters: &Filters, report: &mut Report) {
    let mut all = Sum::default();
    let mut by_priority: BTreeMap<&str, Sum> = BTreeMap::new();
    let mut by_category: BTreeMap<&str, Sum> = BTreeMap::new();
    for g in groups {
        if !filters.admit(&g.priority, &g.category, &g.channel) {
            continue;
        }
        for sum in [
            &mut all,
            by_priority.entry(&g.priority).or_default(),
            by_category.entry(&g.category).or_default(),
        ] {
            sum.n += g.n;
            sum.total += g.sum;
        }
    }
    report.csat = all.csat();
    for (name, sum) in by_priority {
        report.by_priority.entry(name.into()).or_default().csat = sum.csat();
    }
    for (name, sum) in by_category {
        report.by_category.entry(name.into()).or_default().csat = sum.csat();
    }
}

fn two_decimals(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// The pulse from the closed surveys, newest first; None when none has closed.
pub fn pulse(surveys: &[ClosedSurvey], threshold: u32) -> Option<Pulse> {
    let latest = surveys.first()?;
    let shown = |s: &ClosedSurvey| -> bool {
        s.responses.unwrap_or(0) >= i64::from(threshold) && s.mean.is_some()
    };
    let count = |v: i64| v.max(0) as u64;
    let rate = |s: &ClosedSurvey| {
        if s.audience > 0 {
            count(s.responses.unwrap_or(0)) as f64 / s.audience as f64
        } else {
            0.0
        }
    };
    let enough = shown(latest);
    let change = match surveys.get(1) {
        Some(previous) if enough && shown(previous) => latest
            .mean
            .zip(previous.mean)
            .map(|(now, before)| two_decimals(now - before)),
        _ => None,
    };
    let distribution = latest
        .distribution
        .as_deref()
        .and_then(|d| serde_json::from_str::<Vec<u64>>(d).ok())
        .filter(|d| d.len() == 5);
    let trend = surveys
        .iter()
        .rev()
        .map(|s| TrendPoint {
            closed_at: s.closed_at.clone(),
            responses: count(s.responses.unwrap_or(0)),
            response_rate: rate(s),
            mean: s.mean.filter(|_| shown(s)),
        })
        .collect();
    Some(Pulse {
        closed_at: latest.closed_at.clone(),
        audience: count(latest.audience),
        responses: count(latest.responses.unwrap_or(0)),
        response_rate: rate(latest),
        mean: latest.mean.filter(|_| enough),
        favourable: latest.favourable.filter(|_| enough),
        distribution: distribution.filter(|_| enough),
        change,
        threshold,
        trend,
    })
}

#[cfg(test)]
#[path = "satisfaction_tests.rs"]
mod tests;
