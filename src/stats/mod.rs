//! The statistics report: for a window of days ending now, with optional filters, how many
//! tickets were opened and resolved, how fast they were answered and resolved, and how often
//! the targets were missed. One engine behind every face: `/platform stats` (`blocks`),
//! `platform-desk stats` (`text`, or this `Report` as JSON), the read API and the dashboard.
//!
//! # Definitions (CONTRACT.md, "Stats JSON")
//!
//! - **Window**: the `days` days ending at the time of the report (`from` inclusive, `to`
//!   inclusive).
//! - **Population**: the tickets created inside the window that match the filters (priority,
//!   category, requesting channel). `opened` counts them; `resolved` and `reopened` count those
//!   among them that are resolved (or closed) now, and that were reopened at least once.
//! - **Backlog** and **oldest open**: the tickets open now (open, acknowledged or waiting)
//!   that match the filters, whenever they were created; `oldest_open_s` is the wall-clock age
//!   of the oldest, null when there is none.
//! - **Durations** (`n`, `p50_s`, `p90_s`, `p99_s`): over the population's tickets that had
//!   the event (a first response; a resolution, the last one for a reopened ticket), the SLA
//!   seconds stored on the ticket when it happened (`first_response_s`, `resolution_s`):
//!   business hours only for business-hours priorities, time waiting on the requester left
//!   out. Percentiles are nearest-rank: the value at rank ceil(p/100 × n) of the sorted
//!   durations; null when n = 0.
//! - **Targets** (`due`, `breached`, `waiting`), counted over the whole population, so that
//!   `due + waiting = opened`: a target is `breached` when it was met after its due time, was
//!   marked breached, or is still unmet past its due time (no survivorship: a ticket nobody
//!   answered counts); `due` when it is met or breached; `waiting` otherwise (not met and not
//!   yet due; a ticket waiting on its requester has no resolution due time). `breach_rate` =
//!   breached / due, null when due = 0. The same rule as the export's breach flags.
//! - **By priority / by category**: the same figures for each value (every priority of the
//!   policy appears, with zeros when none was opened); **top channels**: the requesting
//!   channels with the most tickets opened, at most `TOP_CHANNELS`.
//! - **Support burden**: tickets opened per week (opened × 7 / days) and per platform engineer
//!   per week (divided by the size of the policy's `platform_team`; null when it is empty).
//! - **CSAT** (`csat`, and in each group): the population's tickets whose requester answered
//!   the satisfaction question, `n`, and the mean of their scores (1-5; null when n = 0).
//! - **Pulse**: the latest closed pulse survey, whatever the window (see `satisfaction`);
//!   null until one has closed.
//! - **Self-service**: see [`self_service`].
//! - **Hours saved** (this calendar month, whatever the window) and the **support share** of
//!   capacity (each week overlapping the window) come from `leverage`, whose module docs
//!   define them; filters do not apply to them (they are the team's, not a ticket's).

pub mod blocks;
pub mod cli;
pub mod db;
pub mod rows;
pub mod satisfaction;
pub mod satisfaction_db;
pub mod self_service;
mod self_service_db;
pub mod series;
pub mod text;

use crate::settings::Policy;
use chrono::{DateTime, Duration, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A rate as a percentage with one decimal; `-` when absent.
pub fn rate(r: Option<f64>) -> String {
    r.map_or_else(|| "-".into(), |r| format!("{:.1}%", r * 100.0))
}

/// How many requesting channels `top_channels` lists.
pub const TOP_CHANNELS: usize = 5;

/// What the report is restricted to; `None` is everything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filters {
    pub priority: Option<String>,
    pub category: Option<String>,
    pub channel: Option<String>,
}

impl Filters {
    /// True when a ticket with these values is in the report.
    pub fn admit(&self, priority: &str, category: &str, channel: &str) -> bool {
        self.priority.as_deref().is_none_or(|p| p == priority)
            && self.category.as_deref().is_none_or(|c| c == category)
            && self.channel.as_deref().is_none_or(|c| c == channel)
    }
}

/// The report: CONTRACT.md's stats JSON, field for field.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    pub window: Window,
    pub tickets: Tickets,
    pub first_response: Target,
    pub resolution: Target,
    pub by_priority: BTreeMap<String, Group>,
    pub by_category: BTreeMap<String, Group>,
    pub top_channels: Vec<ChannelCount>,
    pub oldest_open_s: Option<i64>,
    pub csat: Csat,
    pub pulse: Option<satisfaction::Pulse>,
    pub self_service: Option<self_service::SelfService>,
    /// This calendar month's hours saved and leverage ratio (`leverage::hours_saved`).
    pub hours_saved: Option<crate::leverage::HoursSaved>,
    /// Added to the contract's fields: the load on the team.
    pub support_burden: SupportBurden,
    /// Added: the support share of the team's capacity per week overlapping the window, and
    /// the band it should stay in (`leverage::support_share`).
    pub support_share: Option<crate::leverage::SupportShare>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Window {
    pub days: u32,
    /// RFC 3339.
    pub from: String,
    pub to: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Tickets {
    pub opened: u64,
    pub resolved: u64,
    pub backlog: u64,
    pub reopened: u64,
}

/// One target (first response or resolution) over a population.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Target {
    pub n: u64,
    pub p50_s: Option<i64>,
    pub p90_s: Option<i64>,
    pub p99_s: Option<i64>,
    pub due: u64,
    pub breached: u64,
    pub breach_rate: Option<f64>,
    pub waiting: u64,
}

/// The figures of one priority or one category.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Group {
    pub opened: u64,
    pub first_response: Target,
    pub resolution: Target,
    /// The scores of this group's tickets (added to CONTRACT's fields, as at the top level).
    #[serde(default)]
    pub csat: Csat,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChannelCount {
    pub channel: String,
    pub opened: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Csat {
    pub n: u64,
    pub mean: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SupportBurden {
    /// opened × 7 / days, to two decimals.
    pub tickets_per_week: f64,
    /// The size of the policy's `platform_team`.
    pub platform_team: u64,
    /// tickets_per_week / platform_team, to two decimals; null without a team.
    pub tickets_per_engineer_per_week: Option<f64>,
}

/// The report for the `days` days ending at `now`, restricted by `filters`.
pub async fn report(
    conn: &mut sqlx::SqliteConnection,
    policy: &Policy,
    days: u32,
    filters: &Filters,
    now: DateTime<Utc>,
) -> sqlx::Result<Report> {
    let from = now - Duration::days(days.into());
    let window = db::window(conn, from, now).await?;
    let backlog = db::backlog(conn, filters).await?;
    let mut acc = rows::Accumulator::new(filters);
    acc.add_all(window.rows());
    acc.past_due_all(window.past_due());
    let mut report = acc.finish(policy);
    report.window = Window {
        days,
        from: rfc3339(from),
        to: rfc3339(now),
    };
    report.tickets.backlog = backlog.count;
    report.oldest_open_s = backlog
        .oldest
        .map(|created| (now - created).num_seconds().max(0));
    report.support_burden = support_burden(report.tickets.opened, days, policy);
    satisfaction::add(conn, policy, from, now, filters, &mut report).await?;
    report.hours_saved = Some(crate::leverage::hours_saved(conn, policy, now).await?);
    report.support_share = Some(crate::leverage::support_share(conn, policy, from, now).await?);
    report.self_service = Some(self_service::report(conn, from, now).await?);
    Ok(report)
}

fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn two_decimals(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

fn support_burden(opened: u64, days: u32, policy: &Policy) -> SupportBurden {
    let per_week = if days == 0 {
        0.0
    } else {
        opened as f64 * 7.0 / f64::from(days)
    };
    let team = policy.slack.platform_team.len() as u64;
    SupportBurden {
        tickets_per_week: two_decimals(per_week),
        platform_team: team,
        tickets_per_engineer_per_week: (team > 0).then(|| two_decimals(per_week / team as f64)),
    }
}

#[cfg(test)]
mod tests;
