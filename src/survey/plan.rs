//! When each person is asked: the schedule's time on their own clock (pure functions).

use crate::settings::CronSchedule;
use chrono::{DateTime, Duration, Offset, TimeZone, Utc};
use chrono_tz::Tz;

/// The earliest timezone on Earth (UTC+14, no daylight saving): a schedule read here fires
/// before it does anywhere else, so its instant is a survey's first.
pub const EARLIEST: Tz = chrono_tz::Etc::GMTMinus14;

/// The latest a person's time can come after the survey's first instant: from UTC+14 to
/// UTC-12 is 26 hours, plus an hour of daylight saving.
const LATEST_AFTER: i64 = 27;

/// The instant `tz`'s clock shows `schedule`'s next time, for the survey whose first
/// instant (the schedule read in [`EARLIEST`]) is `first`.
///
/// Cron is read in the person's zone, so a daylight-saving change moves their UTC instant
/// as it moves their day. A time their clock skips that day (02:30 on a spring-forward
/// night) falls back to the same wall-clock distance from `first` as the zones' offsets
/// give, rather than to next week.
pub fn deliver_at(schedule: &CronSchedule, tz: Tz, first: DateTime<Utc>) -> DateTime<Utc> {
    let latest = first + Duration::hours(LATEST_AFTER);
    let from = first - Duration::seconds(1);
    match schedule.fire_times(tz, from).next() {
        Some(at) if at <= latest => at,
        _ => {
            let offset = tz
                .offset_from_utc_datetime(&first.naive_utc())
                .fix()
                .local_minus_utc();
            first + Duration::seconds(14 * 3600 - i64::from(offset))
        }
    }
}

/// A profile's timezone, or `fallback` (the policy's) when it is missing or unknown.
pub fn zone(tz: Option<&str>, fallback: Tz) -> Tz {
    tz.and_then(|name| name.parse::<Tz>().ok())
        .unwrap_or(fallback)
}

/// When the survey closes and when its reminder goes, given its first instant and its
/// last delivery: everyone has `close_after`, and the reminder is halfway.
pub fn close_and_remind(
    first: DateTime<Utc>,
    last_delivery: DateTime<Utc>,
    close_after: Duration,
) -> (DateTime<Utc>, DateTime<Utc>) {
    let closes = last_delivery.max(first) + close_after;
    let remind = first + (closes - first) / 2;
    (closes, remind)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn utc(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, m, d, h, min, 0).unwrap()
    }

    fn friday_two_pm() -> CronSchedule {
        CronSchedule::parse("0 0 14 * * Fri").unwrap()
    }

    /// The survey's first instant: Friday 14:00 in UTC+14.
    fn first_after(t: DateTime<Utc>) -> DateTime<Utc> {
        friday_two_pm().fire_times(EARLIEST, t).next().unwrap()
    }

    #[test]
    fn each_person_is_asked_at_two_pm_on_friday_on_their_own_clock() {
        let first = first_after(utc(2026, 12, 1, 0, 0));
        // Friday 4 December 14:00 at UTC+14 is Friday 00:00 UTC.
        assert_eq!(first, utc(2026, 12, 4, 0, 0));
        let s = friday_two_pm();
        let at = |zone: &str| deliver_at(&s, zone.parse().unwrap(), first);
        assert_eq!(at("Pacific/Kiritimati"), utc(2026, 12, 4, 0, 0));
        assert_eq!(at("Asia/Tokyo"), utc(2026, 12, 4, 5, 0));
        assert_eq!(at("Asia/Kolkata"), utc(2026, 12, 4, 8, 30));
        assert_eq!(at("Europe/Berlin"), utc(2026, 12, 4, 13, 0));
        assert_eq!(at("Etc/UTC"), utc(2026, 12, 4, 14, 0));
        assert_eq!(at("America/New_York"), utc(2026, 12, 4, 19, 0));
        assert_eq!(at("Pacific/Honolulu"), utc(2026, 12, 5, 0, 0));
    }

    #[test]
    fn a_daylight_saving_change_moves_the_utc_instant_not_the_local_time() {
        let s = friday_two_pm();
        let berlin: Tz = "Europe/Berlin".parse().unwrap();
        let new_york: Tz = "America/New_York".parse().unwrap();
        // Europe moves its clocks back on Sunday 25 October 2026, New York on 1 November.
        let before = first_after(utc(2026, 10, 20, 0, 0));
        let after = first_after(utc(2026, 10, 26, 0, 0));
        assert_eq!(deliver_at(&s, berlin, before), utc(2026, 10, 23, 12, 0));
        assert_eq!(deliver_at(&s, berlin, after), utc(2026, 10, 30, 13, 0));
        assert_eq!(deliver_at(&s, new_york, after), utc(2026, 10, 30, 18, 0));
        let later = first_after(utc(2026, 11, 2, 0, 0));
        assert_eq!(deliver_at(&s, new_york, later), utc(2026, 11, 6, 19, 0));
    }

    #[test]
    fn a_time_the_clock_skips_that_day_still_comes_that_day() {
        // 02:30 on Sunday 29 March 2026 does not exist in Berlin.
        let s = CronSchedule::parse("0 30 2 * * Sun").unwrap();
        let first = s
            .fire_times(EARLIEST, utc(2026, 3, 27, 0, 0))
            .next()
            .unwrap();
        let berlin: Tz = "Europe/Berlin".parse().unwrap();
        let at = deliver_at(&s, berlin, first);
        assert!(
            at > first && at - first <= Duration::hours(LATEST_AFTER),
            "{at}"
        );
        assert_eq!(
            at.date_naive(),
            chrono::NaiveDate::from_ymd_opt(2026, 3, 29).unwrap()
        );
    }

    #[test]
    fn an_unknown_or_missing_zone_is_the_policys() {
        let berlin: Tz = "Europe/Berlin".parse().unwrap();
        assert_eq!(zone(Some("Mars/Olympus"), berlin), berlin);
        assert_eq!(zone(None, berlin), berlin);
        assert_eq!(zone(Some("Asia/Tokyo"), berlin), chrono_tz::Asia::Tokyo);
    }

    #[test]
    fn everyone_gets_the_whole_time_and_the_reminder_is_halfway() {
        let first = utc(2026, 12, 4, 0, 0);
        let last = utc(2026, 12, 5, 0, 0);
        let (closes, remind) = close_and_remind(first, last, Duration::hours(72));
        assert_eq!(closes, utc(2026, 12, 8, 0, 0));
        assert_eq!(remind, utc(2026, 12, 6, 0, 0));
    }
}
