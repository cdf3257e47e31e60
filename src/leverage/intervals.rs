//! The interval maths of support time, pure: when someone was working a ticket (from its
//! event log), one person's spans merged, split into local days and capped, and on-call
//! shifts turned into hours, summed per local week.
//!
//! The rules:
//! - A ticket is being worked while it is acknowledged and has an assignee; the time goes
//!   to the assignee of the moment. `acknowledged` starts it; `waiting` (on the requester)
//!   pauses it and `resumed` starts it again; `resolved` and `closed` stop it; `reopened`
//!   starts it again when someone holds the ticket (as the lifecycle reopens it); a new
//!   assignee takes over the running span.
//! - One person's spans are merged before counting (two tickets at once are not twice the
//!   time), then counted per local day inside the business hours (the SLA calendar: a
//!   ticket left acknowledged over a night or a weekend is not worked then), at most
//!   `max_ticket_hours_per_day` a day.
//! - A shift on call counts `oncall_hours_per_day` per 24 hours on call, pro rata.

use chrono::{DateTime, Duration, NaiveDate, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;
use std::collections::BTreeMap;

use crate::domain::status::EventKind;
use crate::sla::calendar::Calendar;

/// One event of a ticket's log, as the support share reads it.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub kind: EventKind,
    pub actor: Option<String>,
    /// For `assigned`: the new assignee.
    pub detail: Option<String>,
    pub at: DateTime<Utc>,
}

/// Someone's time between two instants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Span {
    pub person: String,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
}

#[derive(Clone, Copy, PartialEq)]
enum State {
    Open,
    Acknowledged,
    Waiting,
    Done,
}

/// The spans in which one ticket was worked, from its events in order; a span still running
/// ends at `until`.
pub fn work_spans(events: &[Event], until: DateTime<Utc>) -> Vec<Span> {
    let mut spans = Vec::new();
    let mut state = State::Open;
    let mut assignee: Option<String> = None;
    let mut started: Option<DateTime<Utc>> = None;
    let mut stop = |started: &mut Option<DateTime<Utc>>, who: &Option<String>, at| {
        if let (Some(start), Some(person)) = (started.take(), who) {
            if at > start {
                spans.push(Span {
                    person: person.clone(),
                    start,
                    end: at,
                });
            }
        }
    };
    for e in events {
        match e.kind {
            EventKind::Assigned => {
                stop(&mut started, &assignee, e.at);
                assignee = e.detail.clone().or_else(|| e.actor.clone());
            }
            EventKind::Acknowledged => {
                if assignee.is_none() {
                    assignee = e.actor.clone();
                }
                state = State::Acknowledged;
            }
            EventKind::Waiting => {
                stop(&mut started, &assignee, e.at);
                state = State::Waiting;
            }
            EventKind::Resumed | EventKind::Reopened => {
                state = if assignee.is_some() {
                    State::Acknowledged
                } else {
                    State::Open
                };
            }
            EventKind::Resolved | EventKind::Closed => {
                stop(&mut started, &assignee, e.at);
                state = State::Done;
            }
            _ => {}
        }
        if state == State::Acknowledged && assignee.is_some() && started.is_none() {
            started = Some(e.at);
        }
    }
    let end = until.max(started.unwrap_or(until));
    stop(&mut started, &assignee, end);
    spans
}

/// Midnight starting `day` in `tz` (the earliest such instant; a zone that skips midnight
/// starts the day at its first existing instant).
pub fn local_midnight(tz: Tz, day: NaiveDate) -> DateTime<Utc> {
    let mut t = day.and_time(NaiveTime::MIN);
    for _ in 0..4 {
        if let Some(local) = tz.from_local_datetime(&t).earliest() {
            return local.with_timezone(&Utc);
        }
        t += Duration::minutes(30);
    }
    Utc.from_utc_datetime(&day.and_time(NaiveTime::MIN))
}

/// The local date of `t` in `tz`.
pub fn local_day(tz: Tz, t: DateTime<Utc>) -> NaiveDate {
    t.with_timezone(&tz).date_naive()
}

/// `[start, end)`.
type Between = (DateTime<Utc>, DateTime<Utc>);

fn hours(d: Duration) -> f64 {
    d.num_milliseconds() as f64 / 3_600_000.0
}

/// Each person's ticket hours per local day (in the calendar's timezone) inside
/// `[from, to)`: their spans merged, cut at local midnights, counted only inside the
/// calendar's working hours, capped at `cap_h` a day. Days without working time are left
/// out.
pub fn capped_daily_hours(
    spans: &[Span],
    calendar: &Calendar,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    cap_h: f64,
) -> BTreeMap<(String, NaiveDate), f64> {
    let tz = calendar.tz;
    let mut by_person: BTreeMap<&str, Vec<Between>> = BTreeMap::new();
    for s in spans {
        let (start, end) = (s.start.max(from), s.end.min(to));
        if start < end {
            by_person.entry(&s.person).or_default().push((start, end));
        }
    }
    let mut out = BTreeMap::new();
    for (person, mut list) in by_person {
        list.sort();
        let mut merged: Vec<Between> = Vec::new();
        for (start, end) in list {
            match merged.last_mut() {
                Some(last) if start <= last.1 => last.1 = last.1.max(end),
                _ => merged.push((start, end)),
            }
        }
        for (start, end) in merged {
            let mut at = start;
            while at < end {
                let day = local_day(tz, at);
                let next = local_midnight(tz, day.succ_opt().unwrap_or(day)).max(at);
                let cut = if next > at { next.min(end) } else { end };
                let worked = calendar.working_time_between(at, cut);
                if worked > Duration::zero() {
                    *out.entry((person.to_string(), day)).or_insert(0.0) += hours(worked);
                }
                at = cut;
            }
        }
    }
    for h in out.values_mut() {
        *h = h.min(cap_h);
    }
    out
}

/// The Monday starting the local week that holds `day`.
pub fn week_of(day: NaiveDate) -> NaiveDate {
    use chrono::Datelike;
    day - Duration::days(i64::from(day.weekday().num_days_from_monday()))
}

/// The hours on call inside `[from, to)`, per local week (by its Monday): each shift's hours
/// × `hours_per_day` / 24, cut at local week boundaries.
pub fn oncall_weekly_hours(
    shifts: &[Span],
    tz: Tz,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    hours_per_day: f64,
) -> BTreeMap<NaiveDate, f64> {
    let mut out = BTreeMap::new();
    for s in shifts {
        let (mut at, end) = (s.start.max(from), s.end.min(to));
        while at < end {
            let week = week_of(local_day(tz, at));
            let next = local_midnight(tz, week + Duration::days(7));
            let cut = if next > at { next.min(end) } else { end };
            *out.entry(week).or_insert(0.0) += hours(cut - at) * hours_per_day / 24.0;
            at = cut;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const TZ: Tz = chrono_tz::Europe::Berlin;

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn ev(kind: EventKind, at: &str, detail: Option<&str>) -> Event {
        Event {
            kind,
            actor: Some("UALICE".into()),
            detail: detail.map(String::from),
            at: utc(at),
        }
    }

    fn span(person: &str, start: &str, end: &str) -> Span {
        Span {
            person: person.into(),
            start: utc(start),
            end: utc(end),
        }
    }

    #[test]
    fn work_runs_from_acknowledged_to_resolved_without_the_wait_on_the_requester() {
        let events = [
            ev(EventKind::Created, "2026-03-02T08:00:00Z", None),
            ev(EventKind::Assigned, "2026-03-02T09:00:00Z", Some("UALICE")),
            ev(EventKind::Acknowledged, "2026-03-02T09:00:00Z", None),
            ev(EventKind::FirstResponse, "2026-03-02T09:00:00Z", None),
            ev(EventKind::Waiting, "2026-03-02T10:00:00Z", None),
            ev(EventKind::Resumed, "2026-03-02T13:00:00Z", None),
            ev(EventKind::Resolved, "2026-03-02T14:30:00Z", None),
        ];
        let spans = work_spans(&events, utc("2026-03-09T00:00:00Z"));
        assert_eq!(
            spans,
            [
                span("UALICE", "2026-03-02T09:00:00Z", "2026-03-02T10:00:00Z"),
                span("UALICE", "2026-03-02T13:00:00Z", "2026-03-02T14:30:00Z"),
            ]
        );
    }

    #[test]
    fn an_open_ticket_is_nobodys_work_and_a_reassignment_hands_the_clock_over() {
        let events = [
            ev(EventKind::Created, "2026-03-02T08:00:00Z", None),
            ev(EventKind::Assigned, "2026-03-02T08:30:00Z", Some("UBOB")),
            ev(EventKind::Acknowledged, "2026-03-02T09:00:00Z", None),
            ev(EventKind::Assigned, "2026-03-02T10:00:00Z", Some("UCAROL")),
            ev(EventKind::Resolved, "2026-03-02T11:00:00Z", None),
            ev(EventKind::Reopened, "2026-03-02T12:00:00Z", None),
        ];
        let spans = work_spans(&events, utc("2026-03-02T12:30:00Z"));
        assert_eq!(
            spans,
            [
                span("UBOB", "2026-03-02T09:00:00Z", "2026-03-02T10:00:00Z"),
                span("UCAROL", "2026-03-02T10:00:00Z", "2026-03-02T11:00:00Z"),
                // reopened with an assignee: worked again, still running at `until`
                span("UCAROL", "2026-03-02T12:00:00Z", "2026-03-02T12:30:00Z"),
            ]
        );
        let never_acknowledged = [
            ev(EventKind::Created, "2026-03-02T08:00:00Z", None),
            ev(EventKind::Waiting, "2026-03-02T09:00:00Z", None),
            ev(EventKind::Resolved, "2026-03-02T10:00:00Z", None),
        ];
        assert!(work_spans(&never_acknowledged, utc("2026-03-03T00:00:00Z")).is_empty());
    }

    /// Monday to Friday, 09:00 to 17:30 in Berlin, with `holidays`.
    fn calendar(holidays: &[&str]) -> Calendar {
        use chrono::Weekday::*;
        Calendar {
            tz: TZ,
            days: vec![Mon, Tue, Wed, Thu, Fri],
            start: NaiveTime::from_hms_opt(9, 0, 0).unwrap(),
            end: NaiveTime::from_hms_opt(17, 30, 0).unwrap(),
            holidays: holidays
                .iter()
                .map(|h| NaiveDate::parse_from_str(h, "%Y-%m-%d").unwrap())
                .collect(),
        }
    }

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn two_tickets_at_once_count_once_and_a_day_is_capped() {
        // Berlin is UTC+1 in March before the 29th: local days start at 23:00 UTC.
        let spans = [
            // 09:00-13:00 and 11:00-14:00 local: 5 h, not 7
            span("UALICE", "2026-03-02T08:00:00Z", "2026-03-02T12:00:00Z"),
            span("UALICE", "2026-03-02T10:00:00Z", "2026-03-02T13:00:00Z"),
            // Tuesday 07:00 to Wednesday 07:00 local: the whole 8.5 h business day,
            // capped at 8; nothing on Wednesday before 09:00
            span("UBOB", "2026-03-03T06:00:00Z", "2026-03-04T06:00:00Z"),
        ];
        let from = utc("2026-03-01T23:00:00Z");
        let to = utc("2026-03-08T23:00:00Z");
        let days = capped_daily_hours(&spans, &calendar(&[]), from, to, 8.0);
        assert_eq!(days[&("UALICE".into(), d("2026-03-02"))], 5.0);
        assert_eq!(
            days[&("UBOB".into(), d("2026-03-03"))],
            8.0,
            "8.5 h capped at 8"
        );
        assert_eq!(days.len(), 2, "{days:?}");
        // Clipped to the span asked for: 11:00 UTC is 12:00 local, 2 h left.
        let clipped =
            capped_daily_hours(&spans, &calendar(&[]), utc("2026-03-02T11:00:00Z"), to, 8.0);
        assert_eq!(clipped[&("UALICE".into(), d("2026-03-02"))], 2.0);
    }

    #[test]
    fn nights_weekends_and_holidays_count_no_ticket_time() {
        let spans = [
            // Friday 15:00 local to Monday 11:00 local, held all weekend: Friday 15:00-17:30
            // is 2.5 h, Monday 09:00-11:00 is 2 h; Saturday and Sunday nothing. Counted
            // round the clock it was 9 + 24 + 24 + 11 h, 32 h after the cap.
            span("UBOB", "2026-03-06T14:00:00Z", "2026-03-09T10:00:00Z"),
            // Tuesday 10 March 18:00 local to Wednesday 08:00 local: a night, nothing.
            span("UALICE", "2026-03-10T17:00:00Z", "2026-03-11T07:00:00Z"),
            // Thursday 12 March, a holiday here, 10:00-12:00 local: nothing.
            span("UALICE", "2026-03-12T09:00:00Z", "2026-03-12T11:00:00Z"),
            // Friday 13 March 08:30-09:30 local: the half hour after opening.
            span("UALICE", "2026-03-13T07:30:00Z", "2026-03-13T08:30:00Z"),
        ];
        let days = capped_daily_hours(
            &spans,
            &calendar(&["2026-03-12"]),
            utc("2026-03-01T23:00:00Z"),
            utc("2026-03-15T23:00:00Z"),
            8.0,
        );
        let expected: BTreeMap<(String, NaiveDate), f64> = [
            (("UALICE".to_string(), d("2026-03-13")), 0.5),
            (("UBOB".to_string(), d("2026-03-06")), 2.5),
            (("UBOB".to_string(), d("2026-03-09")), 2.0),
        ]
        .into_iter()
        .collect();
        assert_eq!(days, expected);
    }

    #[test]
    fn on_call_counts_its_hours_a_day_pro_rata_per_local_week() {
        // Monday 10:00 to the next Monday 10:00 local: 7 days at 2 h a day, split at the
        // local Monday midnight between the two weeks.
        let shifts = [span(
            "UALICE",
            "2026-03-02T09:00:00Z",
            "2026-03-09T09:00:00Z",
        )];
        let weeks = oncall_weekly_hours(
            &shifts,
            TZ,
            utc("2026-03-01T23:00:00Z"),
            utc("2026-03-15T23:00:00Z"),
            2.0,
        );
        let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        let first = weeks[&d("2026-03-02")];
        let second = weeks[&d("2026-03-09")];
        assert!((first - (14.0 - 10.0 / 12.0)).abs() < 1e-9, "{first}");
        assert!((second - 10.0 / 12.0).abs() < 1e-9, "{second}");
    }

    #[test]
    fn weeks_start_on_monday_and_local_midnight_follows_daylight_saving() {
        let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        assert_eq!(week_of(d("2026-03-08")), d("2026-03-02"));
        assert_eq!(week_of(d("2026-03-09")), d("2026-03-09"));
        assert_eq!(
            local_midnight(TZ, d("2026-03-02")),
            utc("2026-03-01T23:00:00Z")
        );
        assert_eq!(
            local_midnight(TZ, d("2026-04-06")),
            utc("2026-04-05T22:00:00Z")
        );
    }
}
