//! Time as a value: the `Clock` the whole app reads `now` from, real or manual.

use chrono::{DateTime, Duration, Utc};
use std::sync::{Arc, Mutex};

/// Where the app gets the current time; injected so tests move time instead of sleeping.
pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> DateTime<Utc>;
}

/// The wall clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A clock that only moves when told to.
#[derive(Debug, Clone)]
pub struct ManualClock {
    now: Arc<Mutex<DateTime<Utc>>>,
}

impl ManualClock {
    pub fn new(start: DateTime<Utc>) -> Self {
        Self {
            now: Arc::new(Mutex::new(start)),
        }
    }

    pub fn advance(&self, by: Duration) {
        let mut now = self.now.lock().unwrap_or_else(|e| e.into_inner());
        *now += by;
    }

    pub fn set(&self, to: DateTime<Utc>) {
        *self.now.lock().unwrap_or_else(|e| e.into_inner()) = to;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *self.now.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The one text form of a time in the database: fixed-width RFC 3339 UTC, so strings sort
/// the way times do.
pub fn db_time(t: DateTime<Utc>) -> String {
    use chrono::{Datelike, Timelike};
    let nanos = t.nanosecond();
    if !(0..=9999).contains(&t.year()) || nanos >= 1_000_000_000 {
        // Far-off "never" times and leap seconds: chrono's own (slower) formatting.
        return t.format(DB_TIME_FORMAT).to_string();
    }
    // Every stored time goes through here, several per ticket filed: digits by hand are a
    // tenth of the cost of chrono's format machinery.
    let mut out = *b"0000-00-00T00:00:00.000000Z";
    let mut put = |at: usize, width: usize, mut value: u32| {
        for i in (at..at + width).rev() {
            out[i] = b'0' + (value % 10) as u8;
            value /= 10;
        }
    };
    put(0, 4, t.year() as u32);
    put(5, 2, t.month());
    put(8, 2, t.day());
    put(11, 2, t.hour());
    put(14, 2, t.minute());
    put(17, 2, t.second());
    put(20, 6, nanos / 1000);
    // ASCII digits and separators only, so this is a copy (collecting chars encoded each
    // one: 1.2% of the ticket writer's samples).
    String::from_utf8_lossy(&out).into_owned()
}

const DB_TIME_FORMAT: &str = "%Y-%m-%dT%H:%M:%S%.6fZ";

/// Reads a time written by [`db_time`] (or any RFC 3339 text).
pub fn parse_db_time(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        #[test]
        fn db_time_writes_what_chrono_writes(secs in -62_135_596_800i64..253_402_300_799, nanos in 0u32..1_000_000_000) {
            let t = DateTime::from_timestamp(secs, nanos).unwrap();
            proptest::prop_assert_eq!(db_time(t), t.format(DB_TIME_FORMAT).to_string());
        }
    }

    #[test]
    fn db_time_of_never_and_of_a_leap_second_falls_back_to_chrono() {
        let never = DateTime::<Utc>::MAX_UTC;
        assert_eq!(db_time(never), never.format(DB_TIME_FORMAT).to_string());
        let leap = DateTime::from_timestamp(1_483_228_799, 1_500_000_000).unwrap();
        assert_eq!(db_time(leap), leap.format(DB_TIME_FORMAT).to_string());
    }

    #[test]
    fn manual_clock_moves_only_when_advanced() {
        let start = Utc::now();
        let clock = ManualClock::new(start);
        assert_eq!(clock.now(), start);
        clock.advance(Duration::minutes(15));
        assert_eq!(clock.now(), start + Duration::minutes(15));
    }

    #[test]
    fn db_time_sorts_like_time_and_round_trips() {
        let a = DateTime::parse_from_rfc3339("2026-01-02T03:04:05.5Z")
            .unwrap()
            .with_timezone(&Utc);
        let b = a + Duration::milliseconds(600);
        assert!(db_time(a) < db_time(b));
        assert_eq!(parse_db_time(&db_time(a)), Some(a));
    }
}
