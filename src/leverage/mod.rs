//! Leverage: the hours the platform team saves everyone else, and where the team's own time
//! goes. `/platform win` and `wins` (`wins.rs`), hours saved and the leverage ratio for a
//! month, the weekly support share of capacity, and the notice when support stays above
//! `capacity.support_band` (`notice.rs`, a job). The statistics report reads
//! `hours_saved` and `support_share`; this module imports no report code.
//!
//! # Definitions
//!
//! - **Months and weeks** are counted in `sla.timezone`: a month from its first day's local
//!   midnight, a week from Monday's local midnight (the same clock as the business hours and
//!   the on-call handoff).
//! - **Hours saved** in a month: the wins recorded before the month's end (hours per month,
//!   counted from the month they were recorded in on), plus the self-service offers
//!   confirmed solved in the month × `self_service.minutes_saved_per_deflection` / 60.
//!   `team_h` = `capacity.team_size` × `capacity.hours_per_month`; `leverage_ratio` =
//!   total_h / team_h.
//! - **Support time** in a week: each platform engineer's time on tickets (see
//!   `intervals`: from acknowledged to resolved, waiting on the requester left out, one
//!   person's overlapping tickets counted once, only inside the business hours of the SLA
//!   calendar, at most `capacity.max_ticket_hours_per_day` a local day), plus time on call
//!   at `capacity.oncall_hours_per_day` per 24 hours. The platform engineers are
//!   `slack.platform_team` and the on-call rotation (`team`): a ticket assigned to
//!   someone outside the team is not the team's time. The **share** is support
//!   hours ÷ the team's hours in a week (`team_size × hours_per_month × 12 / 52`), compared
//!   with `capacity.support_band`. The week still running counts its hours so far against a
//!   whole week's capacity (`complete: false`).

pub mod db;
pub mod intervals;
pub mod messages;
pub mod notice;
pub mod text;
pub mod wins;

use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use sqlx::SqliteConnection;
use std::collections::BTreeMap;

use crate::oncall;
use crate::settings::Policy;
use crate::sla;
use intervals::{local_day, local_midnight, week_of, Span};
use std::collections::BTreeSet;

/// A win as typed: what changed, and the hours it saves a month (`wins::parse` reads it,
/// `messages` shows it).
#[derive(Debug, Clone, PartialEq)]
pub struct NewWin {
    pub what: String,
    pub hours_per_month: f64,
}

/// How many months `hours_saved.months` lists, the current one last.
pub const MONTHS: u32 = 6;

/// The minutes one confirmed deflection saves (`self_service.minutes_saved_per_deflection`).
pub fn minutes_saved_per_deflection(policy: &Policy) -> f64 {
    f64::from(policy.self_service.minutes_saved_per_deflection)
}

/// CONTRACT.md's `hours_saved`, for the current calendar month, with the months before.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HoursSaved {
    /// `2026-12`.
    pub month: String,
    pub wins_h: f64,
    pub deflections_h: f64,
    pub total_h: f64,
    pub team_h: f64,
    pub leverage_ratio: Option<f64>,
    /// Added: the confirmed deflections counted in `deflections_h`.
    pub deflections: u64,
    /// Added: the last [`MONTHS`] months, oldest first, the current one last.
    pub months: Vec<MonthSaved>,
}

/// Hours saved in one month.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MonthSaved {
    pub month: String,
    pub wins_h: f64,
    pub deflections_h: f64,
    pub total_h: f64,
    pub leverage_ratio: Option<f64>,
}

/// The support share of capacity per week.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SupportShare {
    /// `capacity.support_band`: `[low, high]`.
    pub band: [f64; 2],
    /// The team's hours in a week.
    pub capacity_h_per_week: f64,
    /// The IANA timezone weeks are counted in.
    pub timezone: String,
    /// Oldest first.
    pub weeks: Vec<WeekShare>,
}

/// One local week, Monday to Sunday.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WeekShare {
    /// Its Monday, `2026-03-02`.
    pub week: String,
    /// False for the week still running.
    pub complete: bool,
    pub tickets_h: f64,
    pub oncall_h: f64,
    pub support_h: f64,
    pub share: f64,
    /// `below`, `within` or `above` the band.
    pub against_band: Against,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Against {
    Below,
    Within,
    Above,
}

fn round(x: f64, places: i32) -> f64 {
    let f = 10f64.powi(places);
    (x * f).round() / f
}

/// The local month holding `day`, as (its first day, the next month's first day).
fn month_of(day: NaiveDate) -> (NaiveDate, NaiveDate) {
    let first = day.with_day(1).unwrap_or(day);
    let next = first
        .checked_add_months(chrono::Months::new(1))
        .unwrap_or(first);
    (first, next)
}

/// Hours saved in the month holding `now` (in `sla.timezone`), with the months before.
pub async fn hours_saved(
    conn: &mut SqliteConnection,
    policy: &Policy,
    now: DateTime<Utc>,
) -> sqlx::Result<HoursSaved> {
    let tz = policy.sla.timezone;
    let team_h = policy.capacity.team_hours_per_month();
    let per_deflection_h = minutes_saved_per_deflection(policy) / 60.0;
    let (current, _) = month_of(local_day(tz, now));
    let mut months = Vec::new();
    let mut deflections = 0;
    for back in (0..MONTHS).rev() {
        let first = current
            .checked_sub_months(chrono::Months::new(back))
            .unwrap_or(current);
        let (first, next) = month_of(first);
        let (start, end) = (local_midnight(tz, first), local_midnight(tz, next));
        let wins_h = db::win_hours_before(conn, end).await?;
        let solved = db::solved_offers(conn, start, end).await?;
        deflections = u64::try_from(solved).unwrap_or(0);
        let deflections_h = solved as f64 * per_deflection_h;
        let total_h = wins_h + deflections_h;
        months.push(MonthSaved {
            month: first.format("%Y-%m").to_string(),
            wins_h: round(wins_h, 2),
            deflections_h: round(deflections_h, 2),
            total_h: round(total_h, 2),
            leverage_ratio: (team_h > 0.0).then(|| round(total_h / team_h, 3)),
        });
    }
    let this = months.last().cloned().expect("at least one month");
    Ok(HoursSaved {
        month: this.month,
        wins_h: this.wins_h,
        deflections_h: this.deflections_h,
        total_h: this.total_h,
        team_h: round(team_h, 2),
        leverage_ratio: this.leverage_ratio,
        deflections,
        months,
    })
}

/// The support share of every local week overlapping `[from, now]`.
pub async fn support_share(
    conn: &mut SqliteConnection,
    policy: &Policy,
    from: DateTime<Utc>,
    now: DateTime<Utc>,
) -> sqlx::Result<SupportShare> {
    let tz = policy.sla.timezone;
    let first = week_of(local_day(tz, from.min(now)));
    let last = week_of(local_day(tz, now));
    let weeks = weeks(conn, policy, first, last, now).await?;
    Ok(SupportShare {
        band: policy.capacity.support_band,
        capacity_h_per_week: round(policy.capacity.team_hours_per_week(), 2),
        timezone: tz.name().to_string(),
        weeks,
    })
}

/// The share of each local week from the one starting on Monday `first` to the one starting
/// on Monday `last`, counted up to `now`.
pub async fn weeks(
    conn: &mut SqliteConnection,
    policy: &Policy,
    first: NaiveDate,
    last: NaiveDate,
    now: DateTime<Utc>,
) -> sqlx::Result<Vec<WeekShare>> {
    let tz = policy.sla.timezone;
    let cap = &policy.capacity;
    let from = local_midnight(tz, first);
    let to = local_midnight(tz, last + Duration::days(7)).min(now);
    let mut tickets: BTreeMap<NaiveDate, f64> = BTreeMap::new();
    let mut oncall_h = BTreeMap::new();
    if from < to {
        let events = db::work_events(conn, from, to).await?;
        let team = team(policy);
        let mut spans = Vec::new();
        for chunk in events.chunk_by(|a, b| a.0 == b.0) {
            let log: Vec<_> = chunk.iter().map(|(_, e)| e.clone()).collect();
            spans.extend(
                intervals::work_spans(&log, now)
                    .into_iter()
                    .filter(|s| team.contains(s.person.as_str())),
            );
        }
        let calendar = sla::calendar(policy);
        let days = intervals::capped_daily_hours(
            &spans,
            &calendar,
            from,
            to,
            cap.max_ticket_hours_per_day,
        );
        for ((_, day), h) in days {
            *tickets.entry(week_of(day)).or_insert(0.0) += h;
        }
        let shifts = shifts(conn, policy, from, to).await?;
        oncall_h = intervals::oncall_weekly_hours(&shifts, tz, from, to, cap.oncall_hours_per_day);
    }
    let capacity = cap.team_hours_per_week();
    let [low, high] = cap.support_band;
    let mut out = Vec::new();
    let mut week = first;
    while week <= last {
        let t = tickets.get(&week).copied().unwrap_or(0.0);
        let o = oncall_h.get(&week).copied().unwrap_or(0.0);
        let share = if capacity > 0.0 {
            (t + o) / capacity
        } else {
            0.0
        };
        let share = round(share, 4);
        out.push(WeekShare {
            week: week.format("%Y-%m-%d").to_string(),
            complete: local_midnight(tz, week + Duration::days(7)) <= now,
            tickets_h: round(t, 2),
            oncall_h: round(o, 2),
            support_h: round(t + o, 2),
            share,
            against_band: if share > high {
                Against::Above
            } else if share < low {
                Against::Below
            } else {
                Against::Within
            },
        });
        week += Duration::days(7);
    }
    Ok(out)
}

/// The platform team whose time the support share counts: `slack.platform_team` (who may
/// triage, assign and resolve) and the on-call rotation.
pub fn team(policy: &Policy) -> BTreeSet<&str> {
    let rotation = policy.oncall.iter().flat_map(|o| o.rotation.iter());
    policy
        .slack
        .platform_team
        .iter()
        .chain(rotation)
        .map(String::as_str)
        .collect()
}

/// Who was on call in `[from, to)`, as shifts, from the rotation and the overrides.
async fn shifts(
    conn: &mut SqliteConnection,
    policy: &Policy,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> sqlx::Result<Vec<Span>> {
    let Some(rotation) = &policy.oncall else {
        return Ok(Vec::new());
    };
    let tz = policy.sla.timezone;
    let overrides = oncall::db::overrides_covering(conn, from, to).await?;
    let mut out: Vec<Span> = Vec::new();
    let mut at = from;
    // An hourly handoff over a quarter is about 2,200 shifts; this bounds a runaway.
    for _ in 0..20_000 {
        if at >= to {
            break;
        }
        let who = oncall::rotation::on_call(rotation, tz, &overrides, at);
        let end = who.until.min(to);
        if end <= at {
            break;
        }
        match out.last_mut() {
            Some(last) if last.person == who.user && last.end == at => last.end = end,
            _ => out.push(Span {
                person: who.user,
                start: at,
                end,
            }),
        }
        at = end;
    }
    Ok(out)
}

#[cfg(test)]
mod minutes_tests {
    use super::*;

    #[test]
    fn the_team_is_the_platform_team_and_the_on_call_rotation() {
        let text = "[slack]\nplatform_team = [\"U1\", \"U2\"]\n\n\
                    [sla.priorities.P1]\nfirst_response = \"1h\"\nresolution = \"1d\"\n\n\
                    [oncall]\nrotation = [\"U2\", \"U3\"]\nhandoff = \"0 0 10 * * Mon\"\n";
        let policy = Policy::parse(text).expect("valid");
        assert_eq!(
            team(&policy).into_iter().collect::<Vec<_>>(),
            ["U1", "U2", "U3"]
        );
    }

    #[test]
    fn a_deflection_counts_the_minutes_the_policy_gives_it() {
        let default = Policy::builtin();
        assert_eq!(minutes_saved_per_deflection(&default), 30.0);
        let text = "[sla.priorities.P1]\nfirst_response = \"1h\"\nresolution = \"1d\"\n\n\
                    [self_service]\nminutes_saved_per_deflection = 45\n";
        let policy = Policy::parse(text).expect("valid");
        assert_eq!(minutes_saved_per_deflection(&policy), 45.0);
    }
}
