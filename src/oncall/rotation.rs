//! Who is on call at an instant: the rotation advanced by the handoff cron, and overrides.
//!
//! The rule: the handoff instants are the UTC instants whose wall-clock time in the policy
//! timezone matches `oncall.handoff` (a local time that happens twice in autumn fires twice;
//! one skipped in spring does not fire that day). Counting from [`ROTATION_EPOCH`], midnight
//! at the start of that day in the policy timezone, the rotation's person on call at `t` is
//! `rotation[k mod n]`, where `k` is the number of handoff instants in `(epoch, t]`
//! (negative, counted backwards, before the epoch). So `rotation[0]` is on call from the last
//! handoff at or before the epoch until the first one after it (the epoch itself is no
//! handoff), and each handoff passes to the next person.
//!
//! An override covering `t` (`starts_at <= t < ends_at`) wins over the rotation; among
//! several, the newest created wins (on equal `created_at`, the later one in the slice).
//!
//! Cost: the rotation's position is counted a local day at a time (a day without a clock
//! change has one handoff per time of day the schedule names, or none), so it grows with
//! the days since the epoch, not with the handoffs: five years of hourly handoffs is about
//! 1,800 steps.

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveTime, Offset, TimeZone, Utc};
use chrono_tz::Tz;
use cron::TimeUnitSpec;

use crate::settings::fire_times::{FireTimes, CRON_SPAN};
use crate::settings::OncallPolicy;

/// The day the rotation is counted from: `rotation[0]` is on call at midnight at its start
/// (in the policy timezone), until the first handoff after it. Changing it would reshuffle
/// who is on call, so it is fixed.
pub const ROTATION_EPOCH: NaiveDate = match NaiveDate::from_ymd_opt(2026, 1, 1) {
    Some(date) => date,
    None => panic!("a valid date"),
};

/// `until` of an answer that never stops being true (the handoff schedule never fires again
/// and no override lies ahead).
pub const NEVER: DateTime<Utc> = DateTime::<Utc>::MAX_UTC;

/// A `/platform oncall set` entry: `user` is on call for `[starts_at, ends_at)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Override {
    pub user: String,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    /// Decides between overlapping overrides: the newest wins.
    pub created_at: DateTime<Utc>,
}

impl Override {
    fn covers(&self, at: DateTime<Utc>) -> bool {
        self.starts_at <= at && at < self.ends_at
    }
}

/// Who is on call, and until when that holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OnCall {
    pub user: String,
    /// The next instant the answer may change: the next handoff (or an override starting
    /// sooner) for the rotation; for an override, its end (or a newer override starting
    /// sooner). The same person may be on call after it, e.g. in a rotation of one.
    /// [`NEVER`] when nothing lies ahead.
    pub until: DateTime<Utc>,
    pub by_override: bool,
}

/// The epoch as an instant: midnight starting [`ROTATION_EPOCH`] in `tz`.
pub fn rotation_epoch(tz: Tz) -> DateTime<Utc> {
    let midnight = ROTATION_EPOCH.and_time(NaiveTime::MIN);
    tz.from_local_datetime(&midnight)
        .earliest()
        .map(|t| t.with_timezone(&Utc))
        // A zone whose clocks skip midnight that day: count from midnight UTC instead.
        .unwrap_or_else(|| Utc.from_utc_datetime(&midnight))
}

/// Who is on call at `at`, and until when.
///
/// `overrides` must hold every override that ends after `at` for `until` to account for
/// overrides starting later; older ones are ignored.
pub fn on_call(policy: &OncallPolicy, tz: Tz, overrides: &[Override], at: DateTime<Utc>) -> OnCall {
    let starting_later = |newer_than: Option<(DateTime<Utc>, usize)>| {
        overrides
            .iter()
            .enumerate()
            .filter(|(i, o)| {
                o.starts_at > at
                    && o.starts_at < o.ends_at
                    && newer_than.is_none_or(|key| (o.created_at, *i) > key)
            })
            .map(|(_, o)| o.starts_at)
            .min()
    };
    let winner = overrides
        .iter()
        .enumerate()
        .filter(|(_, o)| o.covers(at))
        .max_by_key(|(i, o)| (o.created_at, *i));
    match winner {
        Some((i, o)) => {
            let until =
                starting_later(Some((o.created_at, i))).map_or(o.ends_at, |s| s.min(o.ends_at));
            OnCall {
                user: o.user.clone(),
                until,
                by_override: true,
            }
        }
        None => {
            let (k, next) = position(policy, tz, at);
            let until = next.unwrap_or(NEVER);
            OnCall {
                user: member(policy, k),
                until: starting_later(None).map_or(until, |s| s.min(until)),
                by_override: false,
            }
        }
    }
}

/// Who is on call after the one on call at `at`: the answer at its `until`. `None` when
/// nothing lies ahead.
pub fn next(
    policy: &OncallPolicy,
    tz: Tz,
    overrides: &[Override],
    at: DateTime<Utc>,
) -> Option<OnCall> {
    let now = on_call(policy, tz, overrides, at);
    (now.until != NEVER).then(|| on_call(policy, tz, overrides, now.until))
}

/// The rotation's person at `at`, ignoring overrides.
pub fn scheduled_at(policy: &OncallPolicy, tz: Tz, at: DateTime<Utc>) -> String {
    member(policy, position(policy, tz, at).0)
}

/// The first handoff strictly after `after`; `None` if the schedule never fires again.
pub fn next_handoff(policy: &OncallPolicy, tz: Tz, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
    FireTimes::after(policy.handoff.schedule(), tz, after).next()
}

/// The handoffs in `(from, to]`, in order.
pub fn handoffs_between(
    policy: &OncallPolicy,
    tz: Tz,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Vec<DateTime<Utc>> {
    FireTimes::after(policy.handoff.schedule(), tz, from)
        .take_while(|t| *t <= to)
        .collect()
}

fn member(policy: &OncallPolicy, k: i64) -> String {
    let n = policy.rotation.len() as i64;
    if n == 0 {
        // Validation guarantees a non-empty rotation; nobody is better than a panic.
        return String::new();
    }
    policy.rotation[k.rem_euclid(n) as usize].clone()
}

/// `k`, the signed number of handoffs between the epoch and `at`, and the next handoff.
fn position(policy: &OncallPolicy, tz: Tz, at: DateTime<Utc>) -> (i64, Option<DateTime<Utc>>) {
    let schedule = policy.handoff.schedule();
    let epoch = rotation_epoch(tz);
    let k = if at >= epoch {
        count(schedule, tz, epoch, at)
    } else {
        -count(schedule, tz, at, epoch)
    };
    (k, FireTimes::after(schedule, tz, at).next())
}

/// The number of handoffs in `(from, to]`.
///
/// Walking every handoff costs one cron step each; instead, each whole local day without a
/// clock change is counted at once (its date matches the schedule or not, and then it has
/// one handoff per time of day the schedule names). Only the partial days at either end and
/// the days with a clock change are walked.
fn count(schedule: &cron::Schedule, tz: Tz, from: DateTime<Utc>, to: DateTime<Utc>) -> i64 {
    let (first, last) = CRON_SPAN;
    let (from, to) = (from.max(first), to.min(last));
    if to <= from {
        return 0;
    }
    count_from(schedule, tz, from, to) - fires(schedule, tz, from) + fires(schedule, tz, to)
}

/// The number of handoffs in `[from, to)`, by days.
fn count_from(schedule: &cron::Schedule, tz: Tz, from: DateTime<Utc>, to: DateTime<Utc>) -> i64 {
    let per_day = [
        schedule.hours().count(),
        schedule.minutes().count(),
        schedule.seconds().count(),
    ]
    .iter()
    .map(|n| i64::from(*n))
    .product::<i64>();
    let mut n = 0;
    let mut at = from;
    while at < to {
        let date = at.with_timezone(&tz).date_naive();
        // The next day boundary after `at` (around an odd clock change, local dates need not
        // rise with time: skip boundaries already behind).
        let mut end = to;
        let mut next_date = date;
        while let Some(d) = next_date.succ_opt() {
            next_date = d;
            let start = day_start(tz, d);
            if start > at {
                end = start.min(to);
                break;
            }
        }
        match plain_day(tz, date) {
            Some(day) if day == (at, end) => {
                if date_matches(schedule, date) {
                    n += per_day;
                }
            }
            _ => {
                n += FireTimes::after(schedule, tz, at)
                    .take_while(|t| *t <= end)
                    .count() as i64
                    - fires(schedule, tz, end)
                    + fires(schedule, tz, at);
            }
        }
        at = end;
    }
    n
}

/// 1 if a handoff falls exactly at `t`, else 0.
fn fires(schedule: &cron::Schedule, tz: Tz, t: DateTime<Utc>) -> i64 {
    i64::from(t.timestamp_subsec_nanos() == 0 && schedule.includes(t.with_timezone(&tz)))
}

fn date_matches(schedule: &cron::Schedule, date: NaiveDate) -> bool {
    u32::try_from(date.year()).is_ok_and(|y| schedule.years().includes(y))
        && schedule.months().includes(date.month())
        && schedule.days_of_month().includes(date.day())
        && schedule
            .days_of_week()
            .includes(date.weekday().number_from_sunday())
}

/// The first instant of `date` in `tz` (where its midnight is skipped, about there).
fn day_start(tz: Tz, date: NaiveDate) -> DateTime<Utc> {
    let midnight = date.and_time(NaiveTime::MIN);
    match tz.from_local_datetime(&midnight).earliest() {
        Some(t) => t.with_timezone(&Utc),
        None => {
            let before = tz
                .offset_from_utc_datetime(&(midnight - Duration::days(1)))
                .fix();
            Utc.from_utc_datetime(&(midnight - before))
        }
    }
}

/// `[start, end)` of `date` when it is 24 hours at one UTC offset, so that every time of day
/// happens exactly once; `None` for a day with a clock change.
fn plain_day(tz: Tz, date: NaiveDate) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
    let midnight = |d: NaiveDate| tz.from_local_datetime(&d.and_time(NaiveTime::MIN)).single();
    let start = midnight(date)?;
    let end = midnight(date.succ_opt()?)?;
    (start.offset().fix() == end.offset().fix())
        .then(|| (start.with_timezone(&Utc), end.with_timezone(&Utc)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::CronSchedule;
    use proptest::prelude::*;

    fn policy(handoff: &str, rotation: &[&str]) -> OncallPolicy {
        OncallPolicy {
            rotation: rotation.iter().map(|u| u.to_string()).collect(),
            handoff: CronSchedule::parse(handoff).unwrap(),
            escalate_to: vec!["ULEAD".into()],
            escalate_after: std::time::Duration::from_secs(30 * 60),
            max_rounds: 3,
        }
    }

    fn weekly() -> OncallPolicy {
        policy("0 0 10 * * Mon", &["UALICE", "UBOB", "UCAROL"])
    }

    const BERLIN: Tz = chrono_tz::Europe::Berlin;

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn ov(user: &str, starts: &str, ends: &str, created: &str) -> Override {
        Override {
            user: user.into(),
            starts_at: utc(starts),
            ends_at: utc(ends),
            created_at: utc(created),
        }
    }

    #[test]
    fn the_epoch_is_midnight_new_year_in_the_policy_timezone() {
        assert_eq!(rotation_epoch(BERLIN), utc("2025-12-31T23:00:00Z"));
        assert_eq!(rotation_epoch(chrono_tz::UTC), utc("2026-01-01T00:00:00Z"));
    }

    #[test]
    fn the_weekly_rotation_hands_off_at_ten_berlin_time_through_both_clock_changes() {
        // Mondays since the epoch (Thursday 1 January): 5 Jan is the 1st handoff, 23 Mar the
        // 12th, 30 Mar (after the spring change, CEST) the 13th, 19 Oct the 42nd, 26 Oct
        // (after the autumn change, CET) the 43rd.
        let cases = [
            ("2025-12-31T23:00:00Z", "UALICE", "2026-01-05T09:00:00Z"),
            ("2026-01-05T08:59:59Z", "UALICE", "2026-01-05T09:00:00Z"),
            ("2026-01-05T09:00:00Z", "UBOB", "2026-01-12T09:00:00Z"),
            ("2026-01-12T09:00:00Z", "UCAROL", "2026-01-19T09:00:00Z"),
            ("2026-01-19T09:00:00Z", "UALICE", "2026-01-26T09:00:00Z"),
            ("2026-03-25T12:00:00Z", "UALICE", "2026-03-30T08:00:00Z"),
            ("2026-03-29T12:00:00Z", "UALICE", "2026-03-30T08:00:00Z"),
            ("2026-03-30T07:59:59Z", "UALICE", "2026-03-30T08:00:00Z"),
            // 10:00 CEST: a schedule kept in UTC would still say Alice for another hour.
            ("2026-03-30T08:00:00Z", "UBOB", "2026-04-06T08:00:00Z"),
            ("2026-03-30T08:30:00Z", "UBOB", "2026-04-06T08:00:00Z"),
            ("2026-04-06T08:00:00Z", "UCAROL", "2026-04-13T08:00:00Z"),
            ("2026-10-19T08:00:00Z", "UALICE", "2026-10-26T09:00:00Z"),
            ("2026-10-25T01:30:00Z", "UALICE", "2026-10-26T09:00:00Z"),
            // 09:30 CET: a schedule kept in CEST would already have handed off.
            ("2026-10-26T08:30:00Z", "UALICE", "2026-10-26T09:00:00Z"),
            ("2026-10-26T09:00:00Z", "UBOB", "2026-11-02T09:00:00Z"),
            ("2026-11-02T09:00:00Z", "UCAROL", "2026-11-09T09:00:00Z"),
            // The epoch is not a handoff: Alice has been on call since Mon 29 Dec, handoff 0.
            // Before it the rotation counts backwards.
            ("2025-12-31T22:59:59Z", "UALICE", "2026-01-05T09:00:00Z"),
            ("2025-12-29T09:00:00Z", "UALICE", "2026-01-05T09:00:00Z"),
            ("2025-12-29T08:59:59Z", "UCAROL", "2025-12-29T09:00:00Z"),
            ("2025-12-22T08:59:59Z", "UBOB", "2025-12-22T09:00:00Z"),
        ];
        for (at, user, until) in cases {
            let got = on_call(&weekly(), BERLIN, &[], utc(at));
            let want = OnCall {
                user: user.into(),
                until: utc(until),
                by_override: false,
            };
            assert_eq!(got, want, "at {at}");
            assert_eq!(scheduled_at(&weekly(), BERLIN, utc(at)), user, "at {at}");
        }
    }

    #[test]
    fn handoffs_between_excludes_the_start_and_includes_the_end() {
        let got = handoffs_between(
            &weekly(),
            BERLIN,
            utc("2026-03-23T09:00:00Z"),
            utc("2026-04-06T08:00:00Z"),
        );
        assert_eq!(
            got,
            [utc("2026-03-30T08:00:00Z"), utc("2026-04-06T08:00:00Z")]
        );
        let one_second_short = handoffs_between(
            &weekly(),
            BERLIN,
            utc("2026-03-23T08:59:59Z"),
            utc("2026-04-06T07:59:59Z"),
        );
        assert_eq!(
            one_second_short,
            [utc("2026-03-23T09:00:00Z"), utc("2026-03-30T08:00:00Z")]
        );
    }

    #[test]
    fn a_handoff_in_the_repeated_autumn_hour_fires_at_both_of_its_instants() {
        let nightly = policy("0 30 2 * * *", &["UALICE", "UBOB"]);
        // 02:30 on 25 October 2026 is 00:30Z (CEST) and again 01:30Z (CET).
        assert_eq!(
            next_handoff(&nightly, BERLIN, utc("2026-10-25T00:40:00Z")),
            Some(utc("2026-10-25T01:30:00Z"))
        );
        assert_eq!(
            next_handoff(&nightly, BERLIN, utc("2026-10-25T01:00:00Z")),
            Some(utc("2026-10-25T01:30:00Z"))
        );
        assert_eq!(
            next_handoff(&nightly, BERLIN, utc("2026-10-25T01:30:00Z")),
            Some(utc("2026-10-26T01:30:00Z"))
        );
    }

    #[test]
    fn a_handoff_in_the_skipped_spring_hour_does_not_fire_that_day() {
        let nightly = policy("0 30 2 * * *", &["UALICE", "UBOB"]);
        assert_eq!(
            next_handoff(&nightly, BERLIN, utc("2026-03-28T01:30:00Z")),
            Some(utc("2026-03-30T00:30:00Z"))
        );
    }

    #[test]
    fn frequent_handoffs_come_in_time_order_across_the_autumn_change() {
        // Every 20 minutes of wall-clock time is every 20 minutes of UTC, repeated hour included.
        let often = policy("0 */20 * * * *", &["UALICE", "UBOB"]);
        let got = handoffs_between(
            &often,
            BERLIN,
            utc("2026-10-25T00:00:00Z"),
            utc("2026-10-25T02:00:00Z"),
        );
        let want: Vec<_> = (1..=6)
            .map(|i| utc("2026-10-25T00:00:00Z") + Duration::minutes(20 * i))
            .collect();
        assert_eq!(got, want);
    }

    #[test]
    fn an_hourly_rotation_counts_every_hour_of_five_years_including_clock_changes() {
        // 2026-2030 is 1,826 days: 43,824 hours, each with a handoff (the spring hour lost
        // and the autumn hour repeated cancel out); 43,824 mod 7 = 4.
        let hourly = policy("0 0 * * * *", &["U0", "U1", "U2", "U3", "U4", "U5", "U6"]);
        let at = rotation_epoch(BERLIN) + Duration::hours(43_824);
        let got = on_call(&hourly, BERLIN, &[], at);
        assert_eq!(got.user, "U4");
        assert_eq!(got.until, at + Duration::hours(1));
        // How long it takes is measured by `cargo bench --bench rotation`, not asserted here.
    }

    #[test]
    fn an_override_wins_over_the_rotation_until_it_ends() {
        let bob = ov(
            "UBOB",
            "2026-03-25T12:00:00Z",
            "2026-03-27T17:00:00Z",
            "2026-03-25T11:00:00Z",
        );
        let overrides = [bob];
        let cases = [
            // Before it starts: Alice, until the override takes over.
            (
                "2026-03-24T12:00:00Z",
                "UALICE",
                "2026-03-25T12:00:00Z",
                false,
            ),
            ("2026-03-25T12:00:00Z", "UBOB", "2026-03-27T17:00:00Z", true),
            ("2026-03-27T16:59:59Z", "UBOB", "2026-03-27T17:00:00Z", true),
            // It ends: back to the rotation, until the next handoff.
            (
                "2026-03-27T17:00:00Z",
                "UALICE",
                "2026-03-30T08:00:00Z",
                false,
            ),
        ];
        for (at, user, until, by_override) in cases {
            let want = OnCall {
                user: user.into(),
                until: utc(until),
                by_override,
            };
            assert_eq!(
                on_call(&weekly(), BERLIN, &overrides, utc(at)),
                want,
                "at {at}"
            );
        }
    }

    #[test]
    fn an_override_spanning_a_handoff_holds_through_it() {
        let carol = ov(
            "UCAROL",
            "2026-03-29T00:00:00Z",
            "2026-04-01T00:00:00Z",
            "2026-03-20T00:00:00Z",
        );
        let overrides = [carol];
        let got = on_call(&weekly(), BERLIN, &overrides, utc("2026-03-30T09:00:00Z"));
        assert_eq!(
            got,
            OnCall {
                user: "UCAROL".into(),
                until: utc("2026-04-01T00:00:00Z"),
                by_override: true,
            }
        );
        // Afterwards the rotation is where it would have been: Bob since 30 March.
        let after = on_call(&weekly(), BERLIN, &overrides, utc("2026-04-01T00:00:00Z"));
        assert_eq!((after.user.as_str(), after.by_override), ("UBOB", false));
    }

    #[test]
    fn the_newest_override_wins_and_an_older_one_resumes_after_it() {
        let long_old = ov(
            "UBOB",
            "2026-03-24T00:00:00Z",
            "2026-03-28T00:00:00Z",
            "2026-03-23T00:00:00Z",
        );
        let short_new = ov(
            "UCAROL",
            "2026-03-25T00:00:00Z",
            "2026-03-26T00:00:00Z",
            "2026-03-24T00:00:00Z",
        );
        // An older override starting inside the newer one does not cut it short.
        let older_inside = ov(
            "UDAVE",
            "2026-03-25T06:00:00Z",
            "2026-03-25T07:00:00Z",
            "2026-03-01T00:00:00Z",
        );
        let overrides = [short_new, long_old, older_inside];
        let cases = [
            ("2026-03-24T12:00:00Z", "UBOB", "2026-03-25T00:00:00Z"),
            ("2026-03-25T00:00:00Z", "UCAROL", "2026-03-26T00:00:00Z"),
            ("2026-03-25T06:30:00Z", "UCAROL", "2026-03-26T00:00:00Z"),
            ("2026-03-26T00:00:00Z", "UBOB", "2026-03-28T00:00:00Z"),
        ];
        for (at, user, until) in cases {
            let want = OnCall {
                user: user.into(),
                until: utc(until),
                by_override: true,
            };
            assert_eq!(
                on_call(&weekly(), BERLIN, &overrides, utc(at)),
                want,
                "at {at}"
            );
        }
    }

    #[test]
    fn overrides_created_at_the_same_instant_go_to_the_later_one() {
        let same = "2026-03-24T00:00:00Z";
        let overrides = [
            ov("UBOB", "2026-03-24T00:00:00Z", "2026-03-28T00:00:00Z", same),
            ov(
                "UCAROL",
                "2026-03-24T00:00:00Z",
                "2026-03-28T00:00:00Z",
                same,
            ),
        ];
        let got = on_call(&weekly(), BERLIN, &overrides, utc("2026-03-25T00:00:00Z"));
        assert_eq!(got.user, "UCAROL");
    }

    #[test]
    fn next_is_who_takes_over_when_the_current_answer_ends() {
        let dave = ov(
            "UDAVE",
            "2026-03-26T00:00:00Z",
            "2026-03-27T00:00:00Z",
            "2026-03-20T00:00:00Z",
        );
        let overrides = [dave];
        let at = utc("2026-03-25T12:00:00Z");
        let then = next(&weekly(), BERLIN, &overrides, at).unwrap();
        assert_eq!(
            then,
            OnCall {
                user: "UDAVE".into(),
                until: utc("2026-03-27T00:00:00Z"),
                by_override: true,
            }
        );
        let after_dave = next(&weekly(), BERLIN, &overrides, then.until).unwrap();
        assert_eq!(after_dave.user, "UBOB");
        assert_eq!(after_dave.until, utc("2026-04-06T08:00:00Z"));
    }

    #[test]
    fn a_schedule_that_never_fires_again_keeps_its_person_forever() {
        let once = policy("0 0 10 1 Jan * 2026", &["UALICE", "UBOB"]);
        let got = on_call(&once, BERLIN, &[], utc("2027-06-01T00:00:00Z"));
        assert_eq!((got.user.as_str(), got.until), ("UBOB", NEVER));
        assert_eq!(next(&once, BERLIN, &[], utc("2027-06-01T00:00:00Z")), None);
        assert_eq!(
            next_handoff(&once, BERLIN, utc("2026-06-01T00:00:00Z")),
            None
        );
    }

    const SPAN: i64 = 2 * 366 * 86_400;

    fn arb_override() -> impl Strategy<Value = Override> {
        let base = utc("2025-12-01T00:00:00Z");
        (0..SPAN, 0i64..(14 * 86_400), 0..SPAN, 0usize..4).prop_map(move |(s, len, c, u)| {
            Override {
                user: format!("UOVER{u}"),
                starts_at: base + Duration::seconds(s),
                ends_at: base + Duration::seconds(s + len),
                created_at: base + Duration::seconds(c),
            }
        })
    }

    proptest! {
        #[test]
        fn counting_by_days_agrees_with_walking_every_handoff(
            start in 0..SPAN,
            len in 0i64..(40 * 86_400),
            nanos in prop_oneof![Just(0u32), 0u32..1_000_000_000],
            expr in prop::sample::select(&[
                "0 0 10 * * Mon",
                "0 30 2 * * *",
                "0 0 0 * * *",
                "0 */20 * * * *",
                "0 0 * * * *",
                "30 15 0,23 1-10 * Sun,Wed",
            ][..]),
            tz in prop::sample::select(&[
                chrono_tz::Europe::Berlin,
                // clocks change at midnight
                chrono_tz::America::Santiago,
                // a half-hour change
                chrono_tz::Australia::Lord_Howe,
                chrono_tz::UTC,
            ][..]),
        ) {
            let schedule = CronSchedule::parse(expr).unwrap();
            let from = utc("2025-12-01T00:00:00Z")
                + Duration::seconds(start)
                + Duration::nanoseconds(i64::from(nanos));
            let to = from + Duration::seconds(len);
            let walked = FireTimes::after(schedule.schedule(), tz, from)
                .take_while(|t| *t <= to)
                .count() as i64;
            prop_assert_eq!(count(schedule.schedule(), tz, from, to), walked);
        }

        #[test]
        fn the_answer_holds_from_now_until_its_until(
            at in 0..SPAN,
            millis in 0i64..1000,
            overrides in proptest::collection::vec(arb_override(), 0..5),
            daily in any::<bool>(),
            probes in proptest::collection::vec(0.0f64..1.0, 3),
        ) {
            let policy = if daily {
                policy("0 30 2 * * *", &["UALICE", "UBOB", "UCAROL"])
            } else {
                weekly()
            };
            let at = utc("2025-12-01T00:00:00Z") + Duration::seconds(at) + Duration::milliseconds(millis);
            let now = on_call(&policy, BERLIN, &overrides, at);
            prop_assert!(now.until > at);
            let span = (now.until - at).num_milliseconds();
            let mut instants: Vec<_> = probes
                .iter()
                .map(|p| at + Duration::milliseconds((span as f64 * p) as i64))
                .collect();
            instants.push(now.until - Duration::milliseconds(1));
            for t in instants.into_iter().filter(|t| *t >= at && *t < now.until) {
                prop_assert_eq!(&on_call(&policy, BERLIN, &overrides, t), &now, "at {}", t);
            }
        }
    }
}
