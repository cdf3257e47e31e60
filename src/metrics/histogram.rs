//! A Prometheus histogram of durations, in plain atomics, plus the longest one seen: what an
//! operator needs to tell a slow minute from a single stall.

use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::{Duration, Instant};

/// Upper bounds of the buckets, in microseconds: from a fast commit (1 ms) to Slack's own
/// deadline for an answer (3 s).
const BOUNDS_US: [u64; 10] = [
    1_000, 2_500, 5_000, 10_000, 25_000, 50_000, 100_000, 250_000, 1_000_000, 3_000_000,
];

/// Durations counted per bucket (not cumulative here; cumulated when rendered).
#[derive(Debug, Default)]
pub struct Histogram {
    /// One count per bound, and one past the last.
    buckets: [AtomicU64; BOUNDS_US.len() + 1],
    sum_us: AtomicU64,
    max_us: AtomicU64,
}

impl Histogram {
    pub fn observe(&self, took: Duration) {
        let us = u64::try_from(took.as_micros()).unwrap_or(u64::MAX);
        let at = BOUNDS_US.partition_point(|&bound| bound < us);
        self.buckets[at].fetch_add(1, Relaxed);
        self.sum_us.fetch_add(us, Relaxed);
        self.max_us.fetch_max(us, Relaxed);
    }

    /// Observes the time from now until the returned guard is dropped.
    pub fn time(&self) -> Timer<'_> {
        Timer {
            histogram: self,
            started: Instant::now(),
        }
    }

    /// How many durations were observed.
    pub fn count(&self) -> u64 {
        self.buckets.iter().map(|b| b.load(Relaxed)).sum()
    }

    /// The longest duration observed so far.
    pub fn max(&self) -> Duration {
        Duration::from_micros(self.max_us.load(Relaxed))
    }

    /// Appends `name` as a histogram in seconds, and `name_max` as a gauge.
    pub fn render(&self, out: &mut String, name: &str, help: &str) {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} histogram");
        let mut count = 0;
        for (i, bucket) in self.buckets.iter().enumerate() {
            count += bucket.load(Relaxed);
            match BOUNDS_US.get(i) {
                Some(bound) => {
                    let le = *bound as f64 / 1e6;
                    let _ = writeln!(out, "{name}_bucket{{le=\"{le}\"}} {count}");
                }
                None => {
                    let _ = writeln!(out, "{name}_bucket{{le=\"+Inf\"}} {count}");
                }
            }
        }
        let sum = self.sum_us.load(Relaxed) as f64 / 1e6;
        let _ = writeln!(out, "{name}_sum {sum}\n{name}_count {count}");
        let max = self.max().as_secs_f64();
        let _ = writeln!(
            out,
            "# HELP {name}_max The longest one since the start\n# TYPE {name}_max gauge\n{name}_max {max}"
        );
    }
}

/// Observes its lifetime into a histogram when dropped, whichever way its scope ends.
pub struct Timer<'a> {
    histogram: &'a Histogram,
    started: Instant,
}

impl Drop for Timer<'_> {
    fn drop(&mut self) {
        self.histogram.observe(self.started.elapsed());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_land_in_cumulative_buckets_with_their_sum_count_and_max() {
        let h = Histogram::default();
        h.observe(Duration::from_micros(800));
        h.observe(Duration::from_millis(1)); // on a bound: counted in that bucket
        h.observe(Duration::from_millis(7));
        h.observe(Duration::from_secs(5)); // past the last bound
        let mut out = String::new();
        h.render(&mut out, "x_seconds", "Test");
        assert!(out.contains("# TYPE x_seconds histogram\n"), "{out}");
        assert!(out.contains("x_seconds_bucket{le=\"0.001\"} 2\n"), "{out}");
        assert!(out.contains("x_seconds_bucket{le=\"0.005\"} 2\n"), "{out}");
        assert!(out.contains("x_seconds_bucket{le=\"0.01\"} 3\n"), "{out}");
        assert!(out.contains("x_seconds_bucket{le=\"3\"} 3\n"), "{out}");
        assert!(out.contains("x_seconds_bucket{le=\"+Inf\"} 4\n"), "{out}");
        assert!(out.contains("x_seconds_count 4\n"), "{out}");
        assert!(out.contains("x_seconds_sum 5.0088\n"), "{out}");
        assert!(out.contains("x_seconds_max 5\n"), "{out}");
    }

    #[test]
    fn a_timer_observes_once_when_its_scope_ends() {
        let h = Histogram::default();
        {
            let _t = h.time();
        }
        let mut out = String::new();
        h.render(&mut out, "y", "Test");
        assert!(out.contains("y_count 1\n"), "{out}");
    }
}
