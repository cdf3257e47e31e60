//! Deadlines as pure functions of (policy, calendar, the ticket's history): created,
//! paused, resumed, priority changed, resolved, reopened. Always recomputable from the log.

use super::calendar::Calendar;
use crate::settings::Policy;
use chrono::{DateTime, Duration, Utc};

/// What happened to a ticket, as far as its clocks care.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Happening {
    Created {
        priority: String,
    },
    PriorityChanged {
        priority: String,
    },
    /// Waiting on the requester: the clocks stop.
    Paused,
    Resumed,
    FirstResponse,
    Resolved,
    Reopened,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Moment {
    pub at: DateTime<Utc>,
    pub what: Happening,
}

/// One target's clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Clock {
    /// Running (or stopped by resolution): due at this instant.
    Due(DateTime<Utc>),
    /// Stopped while waiting on the requester, with this much target time left.
    Paused(Duration),
}

impl Clock {
    pub fn due(self) -> Option<DateTime<Utc>> {
        match self {
            Clock::Due(t) => Some(t),
            Clock::Paused(_) => None,
        }
    }
}

/// A ticket's clocks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Clocks {
    pub first_response: Clock,
    pub resolution: Clock,
    pub first_response_at: Option<DateTime<Utc>>,
    pub resolved_at: Option<DateTime<Utc>>,
    /// The SLA time counted from creation to the first response and to the (last)
    /// resolution: what the reports measure against the targets.
    pub first_response_took: Option<Duration>,
    pub resolution_took: Option<Duration>,
    /// How often the ticket was reopened.
    pub reopens: u32,
}

/// The clocks of a ticket with `history` (in time order) under `policy`; None if the history
/// does not start with its creation or names a priority the policy lacks.
pub fn clocks(policy: &Policy, calendar: &Calendar, history: &[Moment]) -> Option<Clocks> {
    clocks_at(policy, calendar, history, 1.0)
}

/// Like [`clocks`], for `fraction` of each target: the instants a warning at `warn_at` is
/// due.
pub fn clocks_at(
    policy: &Policy,
    calendar: &Calendar,
    history: &[Moment],
    fraction: f64,
) -> Option<Clocks> {
    let first = history.first()?;
    let Happening::Created { priority } = &first.what else {
        return None;
    };
    let mut priority = priority.as_str();
    let mut first_response_at = None;
    let mut resolved_at = None;
    // Counting intervals: [start, end) while the ticket is neither waiting nor resolved.
    let mut intervals: Vec<(DateTime<Utc>, Option<DateTime<Utc>>)> = vec![(first.at, None)];
    let mut stopped_by_pause = false;
    let mut reopens = 0;
    for m in &history[1..] {
        let running = intervals.last().is_some_and(|(_, end)| end.is_none());
        match &m.what {
            Happening::Created { .. } => {}
            Happening::PriorityChanged { priority: p } => priority = p,
            Happening::Paused | Happening::Resolved if running => {
                if let Some(last) = intervals.last_mut() {
                    last.1 = Some(m.at);
                }
                stopped_by_pause = m.what == Happening::Paused;
                if m.what == Happening::Resolved {
                    resolved_at = Some(m.at);
                }
            }
            Happening::Resolved => resolved_at = Some(m.at),
            Happening::Resumed | Happening::Reopened if !running => {
                intervals.push((m.at, None));
                stopped_by_pause = false;
                if m.what == Happening::Reopened {
                    resolved_at = None;
                    reopens += 1;
                }
            }
            Happening::FirstResponse => {
                first_response_at.get_or_insert(m.at);
            }
            _ => {}
        }
    }
    let target = policy.priority(priority)?;
    let took = |until: Option<DateTime<Utc>>| {
        until.map(|until| counted(calendar, target.business_hours, &intervals, until))
    };
    let first_response_took = took(first_response_at);
    let resolution_took = took(resolved_at);
    // A resolved ticket's clocks are read as if they had kept running, so that its due
    // times exist and say whether it was met.
    if !stopped_by_pause {
        if let Some(last) = intervals.last_mut() {
            last.1 = None;
        }
    }
    let measure = |amount: std::time::Duration| {
        let amount = amount.mul_f64(fraction.clamp(0.0, 1.0));
        run_down(
            calendar,
            target.business_hours,
            &intervals,
            Duration::from_std(amount).unwrap_or(Duration::MAX),
        )
    };
    Some(Clocks {
        first_response: measure(target.first_response),
        resolution: measure(target.resolution),
        first_response_at,
        resolved_at,
        first_response_took,
        resolution_took,
        reopens,
    })
}

/// The time the clock counted over `intervals` (open-ended: running) before `until`, in
/// business time when `business`.
fn counted(
    calendar: &Calendar,
    business: bool,
    intervals: &[(DateTime<Utc>, Option<DateTime<Utc>>)],
    until: DateTime<Utc>,
) -> Duration {
    let mut total = Duration::zero();
    for (start, end) in intervals {
        let end = end.map_or(until, |end| end.min(until));
        if end <= *start {
            continue;
        }
        total += if business {
            calendar.working_time_between(*start, end)
        } else {
            end - *start
        };
    }
    total
}

/// Spends `amount` of counting time over `intervals`.
fn run_down(
    calendar: &Calendar,
    business: bool,
    intervals: &[(DateTime<Utc>, Option<DateTime<Utc>>)],
    amount: Duration,
) -> Clock {
    let mut remaining = amount;
    for (start, end) in intervals {
        let add = |from: DateTime<Utc>, d: Duration| {
            if business {
                calendar.add_working_time(from, d)
            } else {
                from.checked_add_signed(d)
                    .unwrap_or(DateTime::<Utc>::MAX_UTC)
            }
        };
        let Some(end) = end else {
            return Clock::Due(add(*start, remaining));
        };
        let available = if business {
            calendar.working_time_between(*start, *end)
        } else {
            *end - *start
        };
        if remaining <= available {
            return Clock::Due(add(*start, remaining));
        }
        remaining -= available;
    }
    Clock::Paused(remaining)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> Policy {
        Policy::builtin()
    }

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn m(s: &str, what: Happening) -> Moment {
        Moment { at: at(s), what }
    }

    fn created(p: &str) -> Happening {
        Happening::Created { priority: p.into() }
    }

    fn run(history: &[Moment]) -> Clocks {
        let p = policy();
        clocks(&p, &super::super::calendar(&p), history).unwrap()
    }

    #[test]
    fn a_p1_ticket_is_due_15_minutes_and_4_hours_after_creation() {
        let c = run(&[m("2026-11-28T03:00:00Z", created("P1"))]);
        assert_eq!(c.first_response, Clock::Due(at("2026-11-28T03:15:00Z")));
        assert_eq!(c.resolution, Clock::Due(at("2026-11-28T07:00:00Z")));
    }

    #[test]
    fn waiting_on_the_requester_shifts_the_deadline_by_the_wait() {
        let c = run(&[
            m("2026-11-28T03:00:00Z", created("P1")),
            m("2026-11-28T04:00:00Z", Happening::Paused),
            m("2026-11-28T06:30:00Z", Happening::Resumed),
        ]);
        assert_eq!(c.resolution, Clock::Due(at("2026-11-28T09:30:00Z")));
    }

    #[test]
    fn while_waiting_the_clock_shows_the_time_left() {
        let c = run(&[
            m("2026-11-28T03:00:00Z", created("P1")),
            m("2026-11-28T04:00:00Z", Happening::Paused),
        ]);
        assert_eq!(c.resolution, Clock::Paused(Duration::hours(3)));
        assert_eq!(
            c.first_response,
            Clock::Due(at("2026-11-28T03:15:00Z")),
            "already spent before the pause"
        );
    }

    #[test]
    fn a_priority_change_recomputes_from_creation() {
        let c = run(&[
            m("2026-11-28T03:00:00Z", created("P2")),
            m(
                "2026-11-28T03:05:00Z",
                Happening::PriorityChanged {
                    priority: "P1".into(),
                },
            ),
        ]);
        assert_eq!(c.first_response, Clock::Due(at("2026-11-28T03:15:00Z")));
    }

    #[test]
    fn resolved_tickets_keep_their_due_times_and_reopening_excludes_the_resolved_time() {
        let c = run(&[
            m("2026-11-28T03:00:00Z", created("P1")),
            m("2026-11-28T03:10:00Z", Happening::FirstResponse),
            m("2026-11-28T04:00:00Z", Happening::Resolved),
        ]);
        assert_eq!(c.resolution, Clock::Due(at("2026-11-28T07:00:00Z")));
        assert_eq!(c.resolved_at, Some(at("2026-11-28T04:00:00Z")));
        assert_eq!(c.first_response_at, Some(at("2026-11-28T03:10:00Z")));
        let c = run(&[
            m("2026-11-28T03:00:00Z", created("P1")),
            m("2026-11-28T04:00:00Z", Happening::Resolved),
            m("2026-11-28T05:00:00Z", Happening::Reopened),
        ]);
        assert_eq!(c.resolution, Clock::Due(at("2026-11-28T08:00:00Z")));
        assert_eq!(c.resolved_at, None);
    }

    #[test]
    fn a_warning_at_75_percent_of_a_p1_comes_after_three_quarters_of_each_target() {
        let p = policy();
        let c = clocks_at(
            &p,
            &super::super::calendar(&p),
            &[m("2026-11-28T03:00:00Z", created("P1"))],
            0.75,
        )
        .unwrap();
        assert_eq!(c.first_response, Clock::Due(at("2026-11-28T03:11:15Z")));
        assert_eq!(c.resolution, Clock::Due(at("2026-11-28T06:00:00Z")));
    }

    #[test]
    fn a_business_hours_ticket_filed_on_friday_evening_is_due_on_monday() {
        // P3: 4h first response in business hours; Friday 19:00 Berlin -> Monday 13:00.
        let c = run(&[m("2026-11-27T18:00:00Z", created("P3"))]);
        assert_eq!(c.first_response, Clock::Due(at("2026-11-30T12:00:00Z")));
    }

    #[test]
    fn the_time_taken_leaves_out_waiting_and_the_time_a_ticket_spent_resolved() {
        // P1, around the clock: 10 min to answer; 60 min open, 30 waiting, 20 open, resolved,
        // 2 h resolved, reopened, 15 more minutes: 95 minutes of SLA time, one reopen.
        let c = run(&[
            m("2026-11-28T03:00:00Z", created("P1")),
            m("2026-11-28T03:10:00Z", Happening::FirstResponse),
            m("2026-11-28T04:00:00Z", Happening::Paused),
            m("2026-11-28T04:30:00Z", Happening::Resumed),
            m("2026-11-28T04:50:00Z", Happening::Resolved),
            m("2026-11-28T06:50:00Z", Happening::Reopened),
            m("2026-11-28T07:05:00Z", Happening::Resolved),
        ]);
        assert_eq!(c.first_response_took, Some(Duration::minutes(10)));
        assert_eq!(c.resolution_took, Some(Duration::minutes(95)));
        assert_eq!(c.reopens, 1);
    }

    #[test]
    fn a_business_hours_ticket_counts_only_business_time_and_nothing_until_it_happens() {
        // P3 filed Friday 16:00 Berlin (15:00Z), answered Monday 10:00 Berlin: 1.5 h of Friday
        // (to 17:30) and 1 h of Monday.
        let c = run(&[
            m("2026-11-27T15:00:00Z", created("P3")),
            m("2026-11-30T09:00:00Z", Happening::FirstResponse),
        ]);
        assert_eq!(c.first_response_took, Some(Duration::minutes(150)));
        assert_eq!(c.resolution_took, None);
        assert_eq!(c.reopens, 0);
    }
}
