//! The business calendar: working days, opening hours and holidays in one timezone, and the
//! arithmetic of adding working time to an instant.

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveTime, TimeZone, Utc, Weekday};
use chrono_tz::Tz;

/// When the platform team works.
#[derive(Debug, Clone, PartialEq)]
pub struct Calendar {
    pub tz: Tz,
    pub days: Vec<Weekday>,
    pub start: NaiveTime,
    pub end: NaiveTime,
    pub holidays: Vec<NaiveDate>,
}

/// How far ahead the arithmetic looks for working time before giving up (a calendar with
/// every day a holiday must not loop forever).
const MAX_DAYS_AHEAD: i64 = 366 * 20;

impl Calendar {
    fn is_working_day(&self, date: NaiveDate) -> bool {
        self.days.contains(&date.weekday()) && !self.holidays.contains(&date)
    }

    /// The instant a local wall-clock time happens on `date`. In a spring-forward gap the
    /// wall time does not exist, so the first instant after the gap is used; in a fall-back
    /// overlap the earlier of the two.
    fn at(&self, date: NaiveDate, time: NaiveTime) -> DateTime<Utc> {
        let mut local = date.and_time(time);
        for _ in 0..4 {
            match self.tz.from_local_datetime(&local) {
                chrono::LocalResult::Single(t) => return t.with_timezone(&Utc),
                chrono::LocalResult::Ambiguous(early, _) => return early.with_timezone(&Utc),
                chrono::LocalResult::None => local += Duration::minutes(30),
            }
        }
        Utc.from_utc_datetime(&local)
    }

    /// The working interval of `date`, if it is a working day.
    pub(super) fn interval(&self, date: NaiveDate) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
        self.is_working_day(date).then(|| {
            remembered_hours((self.tz, self.start, self.end, date), || {
                (self.at(date, self.start), self.at(date, self.end))
            })
        })
    }

    /// [`Self::add_working_time`] day by day: the definition, and the way for deadlines
    /// beyond the day table.
    pub(super) fn walk(
        &self,
        from: DateTime<Utc>,
        first_day: NaiveDate,
        amount: Duration,
    ) -> DateTime<Utc> {
        let mut remaining = amount;
        let mut cursor = from;
        for offset in 0..MAX_DAYS_AHEAD {
            let date = first_day + Duration::days(offset);
            let Some((open, close)) = self.interval(date) else {
                continue;
            };
            if cursor >= close {
                continue;
            }
            let begin = cursor.max(open);
            let available = close - begin;
            if remaining <= available && available > Duration::zero() {
                return begin + remaining;
            }
            remaining -= available;
            cursor = close;
        }
        // A calendar without working time: the target can never be met in it.
        cursor + remaining
    }

    /// Working time between two instants (zero if `to` is not after `from`).
    pub fn working_time_between(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> Duration {
        if to <= from {
            return Duration::zero();
        }
        let mut total = Duration::zero();
        let first_day = from.with_timezone(&self.tz).date_naive();
        let last_day = to.with_timezone(&self.tz).date_naive();
        let mut date = first_day;
        while date <= last_day {
            if let Some((open, close)) = self.interval(date) {
                let begin = open.max(from);
                let end = close.min(to);
                if end > begin {
                    total += end - begin;
                }
            }
            date += Duration::days(1);
        }
        total
    }

    /// True when `t` lies inside working hours.
    pub fn is_working_time(&self, t: DateTime<Utc>) -> bool {
        let date = t.with_timezone(&self.tz).date_naive();
        self.interval(date)
            .is_some_and(|(open, close)| t >= open && t < close)
    }
}

type DayKey = (Tz, NaiveTime, NaiveTime, NaiveDate);
type Hours = (DateTime<Utc>, DateTime<Utc>);
const REMEMBERED_DAYS: usize = 64;

thread_local! {
    static DAYS: std::cell::RefCell<[Option<(DayKey, Hours)>; REMEMBERED_DAYS]> =
        const { std::cell::RefCell::new([None; REMEMBERED_DAYS]) };
}

/// A day's opening hours in UTC, remembered per thread (a small table indexed by the date):
/// the timezone lookups are most of the cost of a deadline, and every ticket asks about the
/// same few days. A pure function of its key, so remembering cannot change an answer.
fn remembered_hours(key: DayKey, compute: impl FnOnce() -> Hours) -> Hours {
    let slot = key.3.num_days_from_ce().rem_euclid(REMEMBERED_DAYS as i32) as usize;
    DAYS.with(|days| {
        if let Some((k, hours)) = days.borrow()[slot] {
            if k == key {
                return hours;
            }
        }
        let hours = compute();
        days.borrow_mut()[slot] = Some((key, hours));
        hours
    })
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A Monday-to-Friday calendar in `tz` from `start` to `end` (hour, minute).
    pub(in crate::sla) fn weekdays(
        tz: Tz,
        start: (u32, u32),
        end: (u32, u32),
        holidays: &[(i32, u32, u32)],
    ) -> Calendar {
        Calendar {
            tz,
            days: vec![
                Weekday::Mon,
                Weekday::Tue,
                Weekday::Wed,
                Weekday::Thu,
                Weekday::Fri,
            ],
            start: NaiveTime::from_hms_opt(start.0, start.1, 0).unwrap(),
            end: NaiveTime::from_hms_opt(end.0, end.1, 0).unwrap(),
            holidays: holidays
                .iter()
                .map(|&(y, m, d)| NaiveDate::from_ymd_opt(y, m, d).unwrap())
                .collect(),
        }
    }

    fn berlin() -> Calendar {
        weekdays(
            chrono_tz::Europe::Berlin,
            (9, 0),
            (17, 30),
            &[(2026, 12, 25)],
        )
    }

    pub(in crate::sla) fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn a_ticket_filed_on_friday_evening_counts_from_monday_morning() {
        // Friday 2026-11-27 19:00 Berlin (18:00 UTC); 4 working hours -> Monday 13:00 Berlin.
        let due = berlin().add_working_time(utc("2026-11-27T18:00:00Z"), Duration::hours(4));
        assert_eq!(due, utc("2026-11-30T12:00:00Z"));
    }

    #[test]
    fn a_holiday_is_skipped() {
        // Thursday 2026-12-24 17:00 Berlin, 1h: 30 min on Thursday, Friday is a holiday, so
        // the rest lands on Monday 2026-12-28 09:30 Berlin.
        let due = berlin().add_working_time(utc("2026-12-24T16:00:00Z"), Duration::hours(1));
        assert_eq!(due, utc("2026-12-28T08:30:00Z"));
    }

    #[test]
    fn working_hours_shift_with_daylight_saving() {
        // Berlin leaves summer time on 2026-10-25: Friday 23rd opens at 07:00 UTC, Monday
        // 26th at 08:00 UTC. Friday 17:00 + 1h -> Monday 09:30 local = 08:30 UTC.
        let due = berlin().add_working_time(utc("2026-10-23T15:00:00Z"), Duration::hours(1));
        assert_eq!(due, utc("2026-10-26T08:30:00Z"));
    }

    #[test]
    fn targets_longer_than_a_week_span_weeks() {
        // 10 working days of 8.5 h from Monday opening ends at the next Friday's close.
        let day = Duration::minutes(8 * 60 + 30);
        let due = berlin().add_working_time(utc("2026-11-02T08:00:00Z"), day * 10);
        assert_eq!(due, utc("2026-11-13T16:30:00Z"));
    }

    #[test]
    fn seconds_are_honoured() {
        let due = berlin().add_working_time(utc("2026-11-02T08:00:00Z"), Duration::seconds(90));
        assert_eq!(due, utc("2026-11-02T08:01:30Z"));
    }

    #[test]
    fn remembered_opening_hours_agree_with_fresh_ones_across_calendars_and_dst() {
        let mut tokyo = berlin();
        tokyo.tz = chrono_tz::Asia::Tokyo;
        tokyo.start = NaiveTime::from_hms_opt(10, 0, 0).unwrap();
        let first = NaiveDate::from_ymd_opt(2026, 3, 1).unwrap();
        // Two passes over a DST change, alternating calendars that share table slots.
        for _ in 0..2 {
            for offset in 0..400 {
                let date = first + Duration::days(offset * 7 % 400);
                for cal in [&berlin(), &tokyo] {
                    let fresh = cal
                        .is_working_day(date)
                        .then(|| (cal.at(date, cal.start), cal.at(date, cal.end)));
                    assert_eq!(cal.interval(date), fresh, "{date} {}", cal.tz);
                }
            }
        }
    }

    proptest! {
        #[test]
        fn a_deadline_never_lies_outside_working_time(start in 0i64..(86400 * 400), secs in 1i64..(86400 * 30)) {
            let cal = berlin();
            let from = utc("2026-01-01T00:00:00Z") + Duration::seconds(start);
            let due = cal.add_working_time(from, Duration::seconds(secs));
            // the deadline is inside working time or exactly at a closing instant
            prop_assert!(cal.is_working_time(due) || cal.is_working_time(due - Duration::seconds(1)));
        }

        #[test]
        fn splitting_a_duration_gives_the_same_deadline(start in 0i64..(86400 * 400), a in 1i64..(86400 * 10), b in 1i64..(86400 * 10)) {
            let cal = berlin();
            let from = utc("2026-01-01T00:00:00Z") + Duration::seconds(start);
            let once = cal.add_working_time(from, Duration::seconds(a + b));
            let twice = cal.add_working_time(cal.add_working_time(from, Duration::seconds(a)), Duration::seconds(b));
            prop_assert_eq!(once, twice);
        }

        #[test]
        fn adding_more_working_time_never_gives_an_earlier_deadline(start in 0i64..(86400 * 400), a in 0i64..(86400 * 10), extra in 0i64..86400) {
            let cal = berlin();
            let from = utc("2026-01-01T00:00:00Z") + Duration::seconds(start);
            prop_assert!(cal.add_working_time(from, Duration::seconds(a)) <= cal.add_working_time(from, Duration::seconds(a + extra)));
        }

        #[test]
        fn working_time_between_inverts_adding_it(start in 0i64..(86400 * 400), secs in 1i64..(86400 * 20)) {
            let cal = berlin();
            let from = utc("2026-01-01T00:00:00Z") + Duration::seconds(start);
            let due = cal.add_working_time(from, Duration::seconds(secs));
            prop_assert_eq!(cal.working_time_between(from, due), Duration::seconds(secs));
        }
    }
}
