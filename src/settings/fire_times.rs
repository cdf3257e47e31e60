//! When a cron schedule fires in a timezone, as UTC instants in increasing order: the one
//! walk the on-call rotation and the job runner share. Moved here from `oncall::rotation`
//! so that the scheduled jobs (which sit beside on-call, not above it) read cron the same way.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;

/// How much earlier in UTC an instant cron gives can be than one it gave before: the largest
/// backward clock change of any zone (an hour almost everywhere), with room to spare.
const DISORDER: Duration = Duration::hours(3);

/// Cron knows the years 1970 to 2100: no instant lies outside this span (with a day to spare
/// for the zones' offsets).
pub const CRON_SPAN: (DateTime<Utc>, DateTime<Utc>) = match (
    DateTime::from_timestamp(-86_400, 0),
    DateTime::from_timestamp(4_133_980_800 + 86_400, 0),
) {
    (Some(first), Some(last)) => (first, last),
    _ => panic!("valid instants"),
};

/// The instants a schedule fires strictly after a start, in increasing UTC order, each once.
///
/// `cron` walks wall-clock times. Around an autumn clock change that is not UTC order (it
/// gives 02:00 CEST, 02:00 CET, 02:20 CEST, 02:20 CET, ...), and started inside the repeated
/// hour it misses the repeat of an earlier time and may give a time already past. So the walk
/// starts `DISORDER` early and holds each instant until cron has moved far enough past it
/// that nothing earlier can still come.
pub struct FireTimes<'a> {
    cron: Option<cron::ScheduleIterator<'a, Tz>>,
    after: DateTime<Utc>,
    held: BinaryHeap<Reverse<DateTime<Utc>>>,
    /// The latest instant cron has given.
    reached: Option<DateTime<Utc>>,
    last: Option<DateTime<Utc>>,
}

impl<'a> FireTimes<'a> {
    pub fn after(schedule: &'a cron::Schedule, tz: Tz, after: DateTime<Utc>) -> Self {
        let (first, last) = CRON_SPAN;
        let cron = (after < last).then(|| {
            let start = after
                .checked_sub_signed(DISORDER)
                .map_or(first, |t| t.max(first));
            schedule.after(&start.with_timezone(&tz))
        });
        Self {
            cron,
            after,
            held: BinaryHeap::new(),
            reached: None,
            last: None,
        }
    }
}

impl Iterator for FireTimes<'_> {
    type Item = DateTime<Utc>;

    fn next(&mut self) -> Option<DateTime<Utc>> {
        loop {
            if let Some(&Reverse(first)) = self.held.peek() {
                let settled =
                    self.cron.is_none() || self.reached.is_some_and(|r| first < r - DISORDER);
                if settled {
                    self.held.pop();
                    if self.last.is_some_and(|last| first <= last) {
                        continue;
                    }
                    self.last = Some(first);
                    return Some(first);
                }
            }
            let fired = self.cron.as_mut()?.next();
            match fired {
                Some(t) => {
                    let t = t.with_timezone(&Utc);
                    self.reached = Some(self.reached.map_or(t, |r| r.max(t)));
                    if t > self.after {
                        self.held.push(Reverse(t));
                    }
                }
                None if self.held.is_empty() => return None,
                None => self.cron = None,
            }
        }
    }
}
