//! SLA timers as rows: what a ticket's coming warnings and breaches are (a pure plan from
//! its history), and the SQL that replaces, finds and fires them.

use super::deadlines::{clocks_at, Clock, Moment};
use crate::clock::{db_time, parse_db_time};
use crate::domain::{Status, Ticket};
use crate::settings::Policy;
use chrono::{DateTime, Utc};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    WarnFirstResponse,
    WarnResolution,
    BreachFirstResponse,
    BreachResolution,
    Escalate,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::WarnFirstResponse => "warn_first_response",
            Kind::WarnResolution => "warn_resolution",
            Kind::BreachFirstResponse => "breach_first_response",
            Kind::BreachResolution => "breach_resolution",
            Kind::Escalate => "escalate",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "warn_first_response" => Kind::WarnFirstResponse,
            "warn_resolution" => Kind::WarnResolution,
            "breach_first_response" => Kind::BreachFirstResponse,
            "breach_resolution" => Kind::BreachResolution,
            "escalate" => Kind::Escalate,
            _ => return None,
        })
    }

    pub fn is_warning(self) -> bool {
        matches!(self, Kind::WarnFirstResponse | Kind::WarnResolution)
    }

    /// "first response" or "resolution".
    pub fn target(self) -> &'static str {
        match self {
            Kind::WarnFirstResponse | Kind::BreachFirstResponse => "first response",
            Kind::WarnResolution | Kind::BreachResolution | Kind::Escalate => "resolution",
        }
    }
}

/// A timer to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Planned {
    pub kind: Kind,
    pub due_at: DateTime<Utc>,
}

/// The warnings and breaches still ahead of a ticket: none while it waits on its requester
/// or is resolved; none for a target already met or already breached.
pub fn plan(policy: &Policy, t: &Ticket, history: &[Moment]) -> Vec<Planned> {
    if !matches!(t.status, Status::Open | Status::Acknowledged) {
        return Vec::new();
    }
    let calendar = super::calendar(policy);
    let (Some(full), Some(warn)) = (
        clocks_at(policy, &calendar, history, 1.0),
        clocks_at(policy, &calendar, history, policy.sla.warn_at),
    ) else {
        return Vec::new();
    };
    let mut out = Vec::with_capacity(4);
    let mut add = |done: bool,
                   breached: bool,
                   warn_clock: Clock,
                   due_clock: Clock,
                   warn_kind: Kind,
                   breach_kind: Kind| {
        if done || breached {
            return;
        }
        if let Clock::Due(due) = due_clock {
            if let Clock::Due(w) = warn_clock {
                if w < due {
                    out.push(Planned {
                        kind: warn_kind,
                        due_at: w,
                    });
                }
            }
            out.push(Planned {
                kind: breach_kind,
                due_at: due,
            });
        }
    };
    add(
        t.first_response_at.is_some(),
        t.first_response_breached,
        warn.first_response,
        full.first_response,
        Kind::WarnFirstResponse,
        Kind::BreachFirstResponse,
    );
    add(
        false,
        t.resolution_breached,
        warn.resolution,
        full.resolution,
        Kind::WarnResolution,
        Kind::BreachResolution,
    );
    out
}

/// A pending timer as the scheduler sees it.
#[derive(Debug, Clone)]
pub struct Due {
    pub id: i64,
    pub ticket_id: i64,
    pub kind: Kind,
    pub due_at: DateTime<Utc>,
    pub round: i64,
}

/// A plan as one row: its earliest timer, and the later ones as the `later` text (none when
/// the plan has one timer). `None` for an empty plan.
pub fn chain(plan: &[Planned]) -> Option<(Planned, Option<String>)> {
    let mut sorted = plan.to_vec();
    // Stable: timers due at the same instant keep the plan's order.
    sorted.sort_by_key(|p| p.due_at);
    let (head, rest) = sorted.split_first()?;
    Some((*head, (!rest.is_empty()).then(|| later_text(rest))))
}

/// `kind@due_at;kind@due_at`: the text of a chain's later timers.
pub(super) fn later_text(rest: &[Planned]) -> String {
    let mut out = String::with_capacity(rest.len() * 48);
    for (i, p) in rest.iter().enumerate() {
        if i > 0 {
            out.push(';');
        }
        out.push_str(p.kind.as_str());
        out.push('@');
        out.push_str(&db_time(p.due_at));
    }
    out
}

/// The later timers of a chain, earliest first. An entry that does not parse (the row was
/// edited by hand) is skipped and logged, never a panic.
pub fn parse_later(text: &str) -> Vec<Planned> {
    text.split(';')
        .filter(|entry| !entry.is_empty())
        .filter_map(|entry| {
            let parsed = entry.split_once('@').and_then(|(kind, due)| {
                Some(Planned {
                    kind: Kind::parse(kind)?,
                    due_at: parse_db_time(due)?,
                })
            });
            if parsed.is_none() {
                tracing::warn!(entry, "skipped a timer entry that does not parse");
            }
            parsed
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ticket::tests::sample;
    use crate::sla::deadlines::Happening;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn p1_history() -> Vec<Moment> {
        vec![Moment {
            at: at("2026-11-28T03:00:00Z"),
            what: Happening::Created {
                priority: "P1".into(),
            },
        }]
    }

    #[test]
    fn an_open_p1_gets_a_warning_and_a_breach_for_each_target() {
        let mut t = sample();
        t.priority = "P1".into();
        let plan = plan(&Policy::builtin(), &t, &p1_history());
        let got: Vec<(Kind, DateTime<Utc>)> = plan.iter().map(|p| (p.kind, p.due_at)).collect();
        assert_eq!(
            got,
            [
                (Kind::WarnFirstResponse, at("2026-11-28T03:11:15Z")),
                (Kind::BreachFirstResponse, at("2026-11-28T03:15:00Z")),
                (Kind::WarnResolution, at("2026-11-28T06:00:00Z")),
                (Kind::BreachResolution, at("2026-11-28T07:00:00Z")),
            ]
        );
    }

    #[test]
    fn a_plan_chains_on_its_earliest_timer_and_its_later_text_reads_back_in_order() {
        let mut t = sample();
        t.priority = "P1".into();
        let planned = plan(&Policy::builtin(), &t, &p1_history());
        let mut shuffled = planned.clone();
        shuffled.reverse();
        let (head, later) = chain(&shuffled).unwrap();
        assert_eq!(head, planned[0]);
        assert_eq!(parse_later(&later.unwrap()), planned[1..]);
        let (single, none) = chain(&planned[..1]).unwrap();
        assert_eq!((single, none), (planned[0], None));
        assert!(chain(&[]).is_none());
    }

    #[test]
    fn a_later_text_that_does_not_parse_is_skipped_entry_by_entry() {
        let good = "breach_resolution@2026-11-28T07:00:00.000000Z";
        let got = parse_later(&format!("nonsense;{good};warn_resolution@not-a-time;;@"));
        assert_eq!(
            got,
            [Planned {
                kind: Kind::BreachResolution,
                due_at: at("2026-11-28T07:00:00Z"),
            }]
        );
    }

    #[test]
    fn met_or_breached_targets_and_paused_or_resolved_tickets_have_no_timers() {
        let policy = Policy::builtin();
        let mut t = sample();
        t.first_response_at = Some(at("2026-11-28T03:05:00Z"));
        let kinds: Vec<Kind> = plan(&policy, &t, &p1_history())
            .iter()
            .map(|p| p.kind)
            .collect();
        assert_eq!(kinds, [Kind::WarnResolution, Kind::BreachResolution]);
        t.resolution_breached = true;
        assert!(plan(&policy, &t, &p1_history()).is_empty());
        for status in [Status::Waiting, Status::Resolved, Status::Closed] {
            let mut t = sample();
            t.status = status;
            assert!(plan(&policy, &t, &p1_history()).is_empty(), "{status}");
        }
    }
}
