//! Durations as a Prometheus histogram in seconds (prometheus-client's), plus the longest one
//! seen: what an operator needs to tell a slow minute from a single stall.

use prometheus_client::encoding::{EncodeMetric, MetricEncoder};
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::metrics::{MetricType, TypedMetric};
use prometheus_client::registry::Registry;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Upper bounds of the buckets, in seconds: from a fast commit (1 ms) to Slack's own deadline
/// for an answer (3 s).
const BOUNDS: [f64; 10] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0, 3.0];

/// A histogram of durations and the longest of them, exported as `name` and `name_max`.
#[derive(Debug, Clone)]
pub struct Timings {
    histogram: Histogram,
    longest: Longest,
}

impl Default for Timings {
    fn default() -> Self {
        Self {
            histogram: Histogram::new(BOUNDS),
            longest: Longest::default(),
        }
    }
}

impl Timings {
    pub fn observe(&self, took: Duration) {
        self.histogram.observe(took.as_secs_f64());
        let us = u64::try_from(took.as_micros()).unwrap_or(u64::MAX);
        self.longest.0.fetch_max(us, Relaxed);
    }

    /// Observes the time from now until the returned guard is dropped.
    pub fn time(&self) -> Timer<'_> {
        Timer {
            timings: self,
            started: Instant::now(),
        }
    }

    /// The longest duration observed so far.
    pub fn max(&self) -> Duration {
        Duration::from_micros(self.longest.0.load(Relaxed))
    }

    /// Registers the histogram as `name` and its longest as the gauge `name_max`.
    pub fn register(&self, registry: &mut Registry, name: &str, help: &str) {
        registry.register(name, help, self.histogram.clone());
        registry.register(
            format!("{name}_max"),
            "The longest one since the start",
            self.longest.clone(),
        );
    }
}

/// The longest duration, in microseconds, exported as a gauge in seconds. Our own metric
/// type because prometheus-client's gauges have no atomic "max": a compare-and-set loop on
/// an f64 would be the alternative, on every request.
#[derive(Debug, Clone, Default)]
struct Longest(Arc<AtomicU64>);

impl TypedMetric for Longest {
    const TYPE: MetricType = MetricType::Gauge;
}

impl EncodeMetric for Longest {
    fn encode(&self, mut encoder: MetricEncoder) -> Result<(), std::fmt::Error> {
        encoder.encode_gauge(&(self.0.load(Relaxed) as f64 / 1e6))
    }

    fn metric_type(&self) -> MetricType {
        Self::TYPE
    }
}

/// Observes its lifetime into timings when dropped, whichever way its scope ends.
pub struct Timer<'a> {
    timings: &'a Timings,
    started: Instant,
}

impl Drop for Timer<'_> {
    fn drop(&mut self) {
        self.timings.observe(self.started.elapsed());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use prometheus_client::encoding::prometheus_text::encode;

    fn rendered(t: &Timings, name: &str) -> String {
        let mut registry = Registry::default();
        t.register(&mut registry, name, "Test");
        let mut out = String::new();
        encode(&mut out, &registry).unwrap();
        out
    }

    #[test]
    fn durations_land_in_cumulative_buckets_with_their_sum_count_and_max() {
        let t = Timings::default();
        t.observe(Duration::from_micros(800));
        t.observe(Duration::from_millis(1)); // on a bound: counted in that bucket
        t.observe(Duration::from_millis(7));
        t.observe(Duration::from_secs(5)); // past the last bound
        let out = rendered(&t, "x_seconds");
        assert!(out.contains("# TYPE x_seconds histogram\n"), "{out}");
        assert!(out.contains("x_seconds_bucket{le=\"0.001\"} 2\n"), "{out}");
        assert!(out.contains("x_seconds_bucket{le=\"0.005\"} 2\n"), "{out}");
        assert!(out.contains("x_seconds_bucket{le=\"0.01\"} 3\n"), "{out}");
        assert!(out.contains("x_seconds_bucket{le=\"3\"} 3\n"), "{out}");
        assert!(out.contains("x_seconds_bucket{le=\"+Inf\"} 4\n"), "{out}");
        assert!(out.contains("x_seconds_count 4\n"), "{out}");
        assert!(out.contains("x_seconds_sum 5.0088\n"), "{out}");
        assert!(out.contains("# TYPE x_seconds_max gauge\n"), "{out}");
        assert!(out.contains("x_seconds_max 5.0\n"), "{out}");
        assert_eq!(t.max(), Duration::from_secs(5));
    }

    #[test]
    fn a_timer_observes_once_when_its_scope_ends() {
        let t = Timings::default();
        {
            let _t = t.time();
        }
        assert!(rendered(&t, "y").contains("y_count 1\n"));
    }
}
