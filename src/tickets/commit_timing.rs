//! How long the ticket writer's commits take, and the warning for a slow one: every request
//! in a commit, and every one queued behind it, waits for it.

use std::time::{Duration, Instant};

/// A commit this long is logged: its requests' answers, and all those queued behind it,
/// waited as long (a healthy one takes a few milliseconds).
const SLOW: Duration = Duration::from_millis(100);
/// At most one warning this often: a disk that is slow for minutes must not flood the log
/// (`/metrics` counts every slow commit anyway).
const WARN_EVERY: Duration = Duration::from_secs(10);

/// The parts of the last commit worth telling apart when it is slow.
#[derive(Default)]
pub struct Timing {
    /// `BEGIN IMMEDIATE`: waiting for another connection's write lock.
    pub locked: Duration,
    /// `COMMIT`: the log's write and fsync.
    pub synced: Duration,
}

/// Decides which slow commits are logged.
#[derive(Default)]
pub struct SlowCommits {
    last_warned: Option<Instant>,
    /// Slow commits since the last warning that were not logged.
    unlogged: u64,
}

impl SlowCommits {
    /// Logs a commit of `size` requests that took `took` (ending at `now`) if it was slow and
    /// no warning went out in the last [`WARN_EVERY`]; returns whether it logged.
    pub fn check(&mut self, took: Duration, timing: &Timing, size: usize, now: Instant) -> bool {
        if took < SLOW {
            return false;
        }
        if self
            .last_warned
            .is_some_and(|at| now.saturating_duration_since(at) < WARN_EVERY)
        {
            self.unlogged += 1;
            return false;
        }
        let ms = |d: Duration| d.as_secs_f64() * 1e3;
        tracing::warn!(
            ms = ms(took),
            lock_ms = ms(timing.locked),
            sync_ms = ms(timing.synced),
            size,
            slow_commits_not_logged = self.unlogged,
            "a ticket commit was slow: its requests waited as long"
        );
        self.last_warned = Some(now);
        self.unlogged = 0;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_slow_commits_are_logged_and_at_most_one_every_ten_seconds() {
        let mut slow = SlowCommits::default();
        let t0 = Instant::now();
        let timing = Timing::default();
        let at = |secs: u64| t0 + Duration::from_secs(secs);
        assert!(!slow.check(Duration::from_millis(99), &timing, 20, at(0)));
        assert!(slow.check(Duration::from_millis(100), &timing, 20, at(0)));
        assert!(!slow.check(Duration::from_millis(300), &timing, 20, at(1)));
        assert!(!slow.check(Duration::from_millis(300), &timing, 20, at(9)));
        assert_eq!(slow.unlogged, 2);
        assert!(slow.check(Duration::from_millis(300), &timing, 20, at(10)));
        assert_eq!(slow.unlogged, 0, "the warning reports and resets the count");
    }
}
