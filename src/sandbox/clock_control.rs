//! The sandbox's clock and its control: the wall clock plus an offset a visitor moves
//! forward from the page (+1 hour, +1 day, +1 week), so that within a minute they see a
//! ticket warn, breach and escalate and a digest go out. Moving it walks forward from one
//! due SLA timer or job instant to the next, firing each on time, instead of leaping over
//! them (a leap of a week would skip the digest as missed beyond `schedules.grace`).

use crate::clock::Clock;
use crate::context::{AppError, Context};
use crate::jobs::Registry;
use chrono::{DateTime, Duration, Utc};
use std::sync::atomic::{AtomicI64, Ordering};

/// The furthest the clock may be moved ahead: a year is more than any demo needs.
pub const MAX_OFFSET_S: i64 = 366 * 24 * 3600;
/// Stops made per move at most (timers and job instants passed on the way).
const MAX_STOPS: usize = 20_000;

/// The wall clock moved ahead by an offset; only ever forward.
#[derive(Debug, Default)]
pub struct MovableClock {
    offset_ms: AtomicI64,
}

impl MovableClock {
    /// How far ahead of the wall clock it is.
    pub fn offset(&self) -> Duration {
        Duration::milliseconds(self.offset_ms.load(Ordering::SeqCst))
    }

    /// Moves the clock `by` forward (never back; at most [`MAX_OFFSET_S`] ahead in all).
    fn advance(&self, by: Duration) {
        let by = by.num_milliseconds().max(0);
        let _ = self
            .offset_ms
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |o| {
                Some(o.saturating_add(by).min(MAX_OFFSET_S * 1000))
            });
    }
}

impl Clock for MovableClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now() + self.offset()
    }
}

/// Moves `clock` forward by `by`, stopping at each SLA timer and scheduled job due on the
/// way to fire it at its time, then wakes the scheduler and the job runner.
pub async fn advance(
    ctx: &Context,
    jobs: &Registry,
    clock: &MovableClock,
    by: Duration,
) -> Result<(), AppError> {
    // The move is counted in offset, not in wall time: however long the stops take, the
    // clock ends exactly `by` ahead of where it was.
    let goal = (clock.offset() + by).min(Duration::seconds(MAX_OFFSET_S));
    for _ in 0..MAX_STOPS {
        let remaining = goal - clock.offset();
        if remaining <= Duration::zero() {
            break;
        }
        let now = clock.now();
        let target = now + remaining;
        let timer = crate::sla::db::next_due(&mut *ctx.pool.acquire().await?).await?;
        let job = crate::jobs::runner::next_wake(ctx, jobs, now).await?;
        let stop = [timer, job]
            .into_iter()
            .flatten()
            .filter(|t| *t > now)
            .min()
            .map_or(target, |t| t.min(target));
        // A millisecond past the stop, so what is due there is due.
        clock.advance((stop - now + Duration::milliseconds(1)).min(remaining));
        crate::escalation::scheduler::step(ctx).await?;
        crate::jobs::runner::step(ctx, jobs).await?;
    }
    ctx.clock_moved();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_clock_moves_only_forward_and_at_most_a_year() {
        let clock = MovableClock::default();
        clock.advance(Duration::hours(1));
        assert_eq!(clock.offset(), Duration::hours(1));
        clock.advance(Duration::hours(-5));
        assert_eq!(clock.offset(), Duration::hours(1), "never back");
        clock.advance(Duration::days(1000));
        assert_eq!(clock.offset(), Duration::seconds(MAX_OFFSET_S));
        assert!(clock.now() > Utc::now() + Duration::days(365));
    }
}
