//! How the SLA scheduler is woken: always on a change that may move a timer earlier, but
//! not by a new ticket whose timers fall after the time it already sleeps until. Under load
//! tickets are filed in hundreds of commits a second, and each wake costs the scheduler a
//! pass over the database.

use chrono::{DateTime, Utc};
use std::sync::atomic::{AtomicI64, Ordering};
use tokio::sync::futures::Notified;
use tokio::sync::Notify;

/// `sleeping_until` while the scheduler is between waking and going back to sleep: it may
/// have read the timers before a commit it has not seen, so every new timer must wake it.
const AWAKE: i64 = i64::MIN;

#[derive(Debug)]
pub struct TimerWake {
    notify: Notify,
    /// When the scheduler will wake by itself (Unix milliseconds of the injected clock), or
    /// [`AWAKE`].
    sleeping_until: AtomicI64,
}

impl Default for TimerWake {
    fn default() -> Self {
        Self {
            notify: Notify::new(),
            sleeping_until: AtomicI64::new(AWAKE),
        }
    }
}

impl TimerWake {
    /// Wakes the scheduler (or makes its next wait return at once).
    pub fn notify_one(&self) {
        self.notify.notify_one();
    }

    /// Wakes the scheduler if a timer due at `due` may be earlier than its next wake.
    pub fn timer_added(&self, due: DateTime<Utc>) {
        let until = self.sleeping_until.load(Ordering::SeqCst);
        if until == AWAKE || due.timestamp_millis() < until {
            self.notify.notify_one();
        }
    }

    /// The scheduler is awake and about to read the timers.
    pub fn awake(&self) {
        self.sleeping_until.store(AWAKE, Ordering::SeqCst);
    }

    /// The scheduler has read the timers and will wake by itself at `at`.
    pub fn sleeping_until(&self, at: DateTime<Utc>) {
        self.sleeping_until
            .store(at.timestamp_millis(), Ordering::SeqCst);
    }

    /// Resolves on the next notification (or at once if one came while nobody waited).
    pub fn notified(&self) -> Notified<'_> {
        self.notify.notified()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn at(secs: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(secs, 0).unwrap()
    }

    async fn woken(wake: &TimerWake) -> bool {
        tokio::time::timeout(Duration::from_millis(20), wake.notified())
            .await
            .is_ok()
    }

    #[tokio::test]
    async fn a_timer_after_the_planned_wake_lets_the_scheduler_sleep() {
        let wake = TimerWake::default();
        wake.sleeping_until(at(1_000));
        wake.timer_added(at(2_000));
        assert!(!woken(&wake).await);
    }

    #[tokio::test]
    async fn a_timer_before_the_planned_wake_wakes_the_scheduler() {
        let wake = TimerWake::default();
        wake.sleeping_until(at(1_000));
        wake.timer_added(at(999));
        assert!(woken(&wake).await);
    }

    #[tokio::test]
    async fn any_timer_added_while_the_scheduler_is_awake_wakes_it_again() {
        let wake = TimerWake::default();
        wake.sleeping_until(at(1_000));
        wake.awake();
        wake.timer_added(at(5_000));
        assert!(woken(&wake).await);
    }
}
