//! A calendar's working hours laid out for a run of days, with the working time before each
//! day, so that adding working time is two searches instead of a walk over every day
//! between a ticket's creation and its deadline (a "5d" business-hours target spans about
//! three calendar weeks, and every ticket filed asks for it several times).

use super::calendar::Calendar;
use chrono::{DateTime, Duration, NaiveDate, Utc};
use std::cell::RefCell;

/// Days a table covers. Deadlines further out than this from their start are walked.
const DAYS: i64 = 400;
/// A table begins this many days before the start it was built for, so that deadlines of
/// tickets filed in the last weeks are found in the same table as today's.
const DAYS_BEFORE: i64 = 31;
/// A table is rebuilt when a start is this many days past its first day, so that the
/// common case (starts near today, deadlines weeks ahead) stays inside it.
const REBUILD_AFTER: i64 = 200;

struct Table {
    /// The calendar it was built for: a table depends on all of it.
    calendar: Calendar,
    first: NaiveDate,
    /// None when the calendar's days are out of order in this range (see [`days`]): it is
    /// walked then, and remembered as such so it is not built again for every deadline.
    days: Option<Days>,
}

struct Days {
    /// Per day from the table's first: its working interval (`None` on days off).
    hours: Vec<Option<(DateTime<Utc>, DateTime<Utc>)>>,
    /// `before[i]`: the working time of the first `i` days; one longer than `hours`.
    before: Vec<Duration>,
}

thread_local! {
    static TABLE: RefCell<Option<Table>> = const { RefCell::new(None) };
}

#[cfg(test)]
thread_local! {
    /// Tables built on this thread, for the tests.
    static BUILDS: std::cell::Cell<u32> = const { std::cell::Cell::new(0) };
}

// `Calendar::add_working_time` lives here, beside the table it reads, so that the calendar
// need not know of the table (the table is built from a calendar).
impl Calendar {
    /// `from` plus `amount` of working time. A start outside working hours counts from the
    /// next opening.
    pub fn add_working_time(&self, from: DateTime<Utc>, amount: Duration) -> DateTime<Utc> {
        let amount = amount.max(Duration::zero());
        let first_day = from.with_timezone(&self.tz).date_naive();
        from_table(self, from, first_day, amount)
            .unwrap_or_else(|| self.walk(from, first_day, amount))
    }
}

/// `from` plus `amount` (not negative) of working time in `cal`, exactly as the day-by-day
/// walk (`Calendar::walk`) finds it; None when the answer lies outside the table's days
/// (the caller walks then).
fn from_table(
    cal: &Calendar,
    from: DateTime<Utc>,
    first_day: NaiveDate,
    amount: Duration,
) -> Option<DateTime<Utc>> {
    TABLE.with(|slot| {
        let mut slot = slot.borrow_mut();
        let fresh = slot.as_ref().is_some_and(|t| {
            t.calendar == *cal && (0..REBUILD_AFTER).contains(&(first_day - t.first).num_days())
        });
        if !fresh {
            *slot = build(cal, first_day);
        }
        let table = slot.as_ref()?;
        let start = usize::try_from((first_day - table.first).num_days()).ok()?;
        table.days.as_ref()?.add(from, start, amount)
    })
}

/// The table of `cal` from `DAYS_BEFORE` days before `first_day` (None at the ends of the
/// calendar's range).
fn build(cal: &Calendar, first_day: NaiveDate) -> Option<Table> {
    #[cfg(test)]
    BUILDS.with(|b| b.set(b.get() + 1));
    let first = first_day.checked_sub_signed(Duration::days(DAYS_BEFORE))?;
    Some(Table {
        calendar: cal.clone(),
        first,
        days: days(cal, first),
    })
}

/// The working hours of `DAYS` days from `first`; None when a day's hours end before they
/// begin or begin before the last working day's end (a timezone oddity the walk handles in
/// its own way).
fn days(cal: &Calendar, first: NaiveDate) -> Option<Days> {
    let mut hours = Vec::with_capacity(DAYS as usize);
    let mut before = Vec::with_capacity(DAYS as usize + 1);
    let mut total = Duration::zero();
    before.push(total);
    let mut last_close = None;
    let mut date = first;
    for _ in 0..DAYS {
        let day = cal.interval(date);
        if let Some((open, close)) = day {
            // Each day's hours must begin after the last working day's end and end after
            // they begin: the searches rely on it.
            if close < open || last_close.is_some_and(|c| open < c) {
                return None;
            }
            total += close - open;
            last_close = Some(close);
        }
        hours.push(day);
        before.push(total);
        date = date.succ_opt()?;
    }
    Some(Days { hours, before })
}

impl Days {
    /// `from` plus `amount`, where `start` is the index of `from`'s own day.
    fn add(&self, from: DateTime<Utc>, start: usize, amount: Duration) -> Option<DateTime<Utc>> {
        // The first working day with time left after `from`: the walk's first partial day.
        let (day, open, close) = (start..self.hours.len()).find_map(|i| match self.hours[i] {
            // A day whose hours are empty (a daylight-saving gap) has no time to give.
            Some((open, close)) if from < close && open < close => Some((i, open, close)),
            _ => None,
        })?;
        let begin = from.max(open);
        let available = close - begin;
        if amount <= available {
            return Some(begin + amount);
        }
        // Whole days after it: the first whose end brings the total to the target.
        let target = self.before[day + 1] + (amount - available);
        let end = day + 1 + self.before[day + 2..].partition_point(|t| *t < target);
        let (open, _) = self.hours.get(end).copied().flatten()?;
        Some(open + (target - self.before[end]))
    }
}

#[cfg(test)]
mod tests {
    use super::super::calendar::tests::{utc, weekdays as calendar};
    use super::*;
    use chrono::{NaiveTime, Weekday};
    use proptest::prelude::*;

    /// Calendars with daylight saving, holidays, a day that does not exist (Apia skipped
    /// 2011-12-30), a half-hour zone and hours that touch midnight.
    fn calendars() -> Vec<Calendar> {
        vec![
            calendar(
                chrono_tz::Europe::Berlin,
                (9, 0),
                (17, 30),
                &[(2026, 12, 25), (2027, 1, 1)],
            ),
            calendar(chrono_tz::Pacific::Apia, (8, 0), (16, 0), &[]),
            calendar(
                chrono_tz::Asia::Kolkata,
                (10, 0),
                (18, 45),
                &[(2026, 8, 15)],
            ),
            calendar(chrono_tz::America::Santiago, (0, 0), (23, 59), &[]),
            calendar(chrono_tz::America::New_York, (2, 15), (2, 45), &[]),
            // Apia's lost day opens (as UTC) before the day before it closes.
            calendar(chrono_tz::Pacific::Apia, (0, 0), (23, 30), &[]),
        ]
    }

    fn walk(cal: &Calendar, from: DateTime<Utc>, amount: Duration) -> DateTime<Utc> {
        let first_day = from.with_timezone(&cal.tz).date_naive();
        cal.walk(from, first_day, amount)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]
        #[test]
        fn the_table_finds_the_deadline_the_walk_finds(
            which in 0usize..6,
            start in 0i64..(86400 * 365 * 17),
            secs in prop_oneof![0i64..86400, 0i64..(86400 * 40), 0i64..(86400 * 400)],
        ) {
            let cal = &calendars()[which];
            // 2010 to 2027: Apia's lost day and many daylight-saving changes.
            let from = DateTime::parse_from_rfc3339("2010-06-01T00:00:00Z").unwrap().with_timezone(&Utc)
                + Duration::seconds(start) + Duration::microseconds(start % 1_000_000);
            let amount = Duration::seconds(secs);
            prop_assert_eq!(cal.add_working_time(from, amount), walk(cal, from, amount));
        }
    }

    #[test]
    fn hours_lost_to_daylight_saving_give_no_time() {
        // New York springs forward on 2026-03-08: 02:15-02:45 does not exist, so that
        // Sunday-made-working-day has empty hours and even no time at all is found after it.
        let mut cal = calendars().remove(4);
        cal.days.push(Weekday::Sun);
        let from = utc("2026-03-08T06:00:00Z");
        let due = cal.add_working_time(from, Duration::zero());
        assert_eq!(due, walk(&cal, from, Duration::zero()));
        assert_eq!(due, utc("2026-03-09T06:15:00Z"));
    }

    #[test]
    fn days_out_of_order_are_walked() {
        // Across Apia's lost 2011-12-30, with hours from midnight.
        let cal = calendars().remove(5);
        for hours in [1, 20, 24, 30, 47, 70] {
            let from = utc("2011-12-28T12:00:00Z");
            let amount = Duration::hours(hours);
            assert_eq!(
                cal.add_working_time(from, amount),
                walk(&cal, from, amount),
                "{hours} h"
            );
        }
    }

    fn builds() -> u32 {
        BUILDS.with(|b| b.get())
    }

    #[test]
    fn one_table_serves_starts_from_weeks_ago_to_months_ahead_and_an_unusable_one_is_kept() {
        let cal = calendars().remove(0);
        let today = utc("2026-11-27T10:00:00Z");
        cal.add_working_time(today, Duration::hours(1));
        let built = builds();
        for days in [-30, -7, 0, 3, 60, 150] {
            let from = today + Duration::days(days);
            assert_eq!(
                cal.add_working_time(from, Duration::hours(120)),
                walk(&cal, from, Duration::hours(120))
            );
        }
        assert_eq!(builds(), built);
        // Apia's days out of order: walked every time, but built once.
        let odd = calendars().remove(5);
        let from = utc("2011-12-20T12:00:00Z");
        odd.add_working_time(from, Duration::hours(1));
        let built = builds();
        for hours in 1..50 {
            odd.add_working_time(from, Duration::hours(hours));
        }
        assert_eq!(builds(), built);
    }

    #[test]
    fn a_changed_calendar_is_not_answered_from_the_old_ones_table() {
        let mut cal = calendars().remove(0);
        let from = DateTime::parse_from_rfc3339("2026-11-27T10:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let before = cal.add_working_time(from, Duration::hours(8));
        cal.end = NaiveTime::from_hms_opt(12, 0, 0).unwrap();
        let after = cal.add_working_time(from, Duration::hours(8));
        assert_ne!(before, after);
        assert_eq!(after, walk(&cal, from, Duration::hours(8)));
        cal.holidays
            .push(NaiveDate::from_ymd_opt(2026, 11, 30).unwrap());
        assert_eq!(
            cal.add_working_time(from, Duration::hours(8)),
            walk(&cal, from, Duration::hours(8))
        );
    }

    #[test]
    fn a_deadline_beyond_the_table_is_walked_to() {
        let cal = calendars().remove(0);
        let from = DateTime::parse_from_rfc3339("2026-11-27T10:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let first_day = from.with_timezone(&cal.tz).date_naive();
        // About three years of working time: past the table's 400 days.
        let amount = Duration::hours(8 * 260 * 3);
        assert_eq!(from_table(&cal, from, first_day, amount), None);
        assert_eq!(cal.add_working_time(from, amount), walk(&cal, from, amount));
    }
}
