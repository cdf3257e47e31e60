//! The SLA series: breaches by kind and priority, open tickets by priority and status (a
//! gauge set from the database at scrape time), the SLA time to first response and to
//! resolution as histograms whose bucket edges include the policy's targets, and how late
//! the scheduler fires timers.

use crate::domain::Status;
use crate::settings::Policy;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Which target was missed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BreachKind {
    FirstResponse,
    Resolution,
}

impl BreachKind {
    pub fn as_str(self) -> &'static str {
        match self {
            BreachKind::FirstResponse => "first_response",
            BreachKind::Resolution => "resolution",
        }
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct BreachLabels {
    pub kind: &'static str,
    pub priority: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OpenLabels {
    pub priority: String,
    pub status: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct PriorityLabel {
    pub priority: String,
}

/// The statuses an open ticket has.
const OPEN: [Status; 3] = [Status::Open, Status::Acknowledged, Status::Waiting];

/// Bucket edges every SLA histogram has, in seconds: 1, 5, 15 and 30 minutes; 1, 2, 4 and 8
/// hours; 1, 2, 5, 10 and 20 days. The policy's targets are added to them.
const SLA_EDGES: [f64; 13] = [
    60.0, 300.0, 900.0, 1800.0, 3600.0, 7200.0, 14400.0, 28800.0, 86400.0, 172800.0, 432000.0,
    864000.0, 1728000.0,
];

/// The scheduler's lag: from a timer firing on time (milliseconds) to one missed while the
/// bot was down (hours).
const LAG_EDGES: [f64; 13] = [
    0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 15.0, 60.0, 300.0, 900.0, 3600.0, 21600.0, 86400.0,
];

/// `SLA_EDGES` and `targets`, sorted, without repeats.
pub fn sla_buckets(targets: impl IntoIterator<Item = f64>) -> Vec<f64> {
    let mut edges: Vec<f64> = SLA_EDGES.into_iter().chain(targets).collect();
    edges.sort_by(f64::total_cmp);
    edges.dedup();
    edges
}

/// A histogram family whose every member has the same buckets.
#[derive(Clone, Debug)]
pub struct Buckets(Arc<[f64]>);

impl prometheus_client::metrics::family::MetricConstructor<Histogram> for Buckets {
    fn new_metric(&self) -> Histogram {
        Histogram::new(self.0.iter().copied())
    }
}

pub type SlaHistogram = Family<PriorityLabel, Histogram, Buckets>;

/// The SLA series, made from the policy at start-up.
#[derive(Debug)]
pub struct SlaMetrics {
    pub breaches: Family<BreachLabels, Counter>,
    pub open_tickets: Family<OpenLabels, Gauge>,
    pub first_response_seconds: SlaHistogram,
    pub resolution_seconds: SlaHistogram,
    /// One observation per timer fired: its firing time less its due time.
    pub scheduler_lag_seconds: Histogram,
    /// Every open-tickets label set ever reported, so that one whose tickets are all gone
    /// is set to 0 rather than left at its last count. Also serialises refreshes.
    open_reported: Mutex<HashMap<OpenLabels, Gauge>>,
}

impl SlaMetrics {
    /// Every priority's series exists from the start (breaches at 0, open tickets at 0,
    /// empty histograms), so dashboards and `rate()` see them before the first event.
    pub fn new(policy: &Policy) -> Self {
        let targets = |pick: fn(&crate::settings::PriorityTarget) -> f64| {
            policy.sla.priorities.values().map(pick).collect::<Vec<_>>()
        };
        let first = sla_buckets(targets(|t| t.first_response.as_secs_f64()));
        let resolution = sla_buckets(targets(|t| t.resolution.as_secs_f64()));
        let m = Self {
            breaches: Family::default(),
            open_tickets: Family::default(),
            first_response_seconds: Family::new_with_constructor(Buckets(first.into())),
            resolution_seconds: Family::new_with_constructor(Buckets(resolution.into())),
            scheduler_lag_seconds: Histogram::new(LAG_EDGES),
            open_reported: Mutex::default(),
        };
        let mut reported = HashMap::new();
        for priority in policy.priority_names() {
            for kind in [BreachKind::FirstResponse, BreachKind::Resolution] {
                m.breaches.get_or_create_owned(&BreachLabels {
                    kind: kind.as_str(),
                    priority: priority.to_string(),
                });
            }
            for status in OPEN {
                let labels = OpenLabels {
                    priority: priority.to_string(),
                    status: status.as_str(),
                };
                let gauge = m.open_tickets.get_or_create_owned(&labels);
                reported.insert(labels, gauge);
            }
            let label = PriorityLabel {
                priority: priority.to_string(),
            };
            m.first_response_seconds.get_or_create_owned(&label);
            m.resolution_seconds.get_or_create_owned(&label);
        }
        *m.open_reported.lock().expect("not poisoned") = reported;
        m
    }

    pub fn breached(&self, kind: BreachKind, priority: &str) {
        self.breaches
            .get_or_create(&BreachLabels {
                kind: kind.as_str(),
                priority: priority.to_string(),
            })
            .inc();
    }

    /// The SLA seconds a first response took.
    pub fn first_response_took(&self, priority: &str, seconds: i64) {
        observe(&self.first_response_seconds, priority, seconds);
    }

    /// The SLA seconds a resolution took.
    pub fn resolution_took(&self, priority: &str, seconds: i64) {
        observe(&self.resolution_seconds, priority, seconds);
    }

    /// Sets the open-tickets gauges to `counts` (priority, status, tickets): every label
    /// set reported before and absent from `counts` goes to 0. Each gauge changes by one
    /// store, so a concurrent scrape never sees a count dip to 0 on its way to a new value.
    pub fn set_open_tickets(&self, counts: &[(String, Status, i64)]) {
        let mut reported = self.open_reported.lock().unwrap_or_else(|e| e.into_inner());
        let mut now: HashMap<OpenLabels, i64> = HashMap::with_capacity(counts.len());
        for (priority, status, n) in counts {
            let labels = OpenLabels {
                priority: priority.clone(),
                status: status.as_str(),
            };
            if !reported.contains_key(&labels) {
                let gauge = self.open_tickets.get_or_create_owned(&labels);
                reported.insert(labels.clone(), gauge);
            }
            *now.entry(labels).or_default() += n;
        }
        for (labels, gauge) in reported.iter() {
            gauge.set(now.get(labels).copied().unwrap_or(0));
        }
    }
}

fn observe(family: &SlaHistogram, priority: &str, seconds: i64) {
    family
        .get_or_create(&PriorityLabel {
            priority: priority.to_string(),
        })
        .observe(seconds.max(0) as f64);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn open(m: &SlaMetrics, priority: &str, status: Status) -> i64 {
        m.open_tickets
            .get(&OpenLabels {
                priority: priority.into(),
                status: status.as_str(),
            })
            .map_or(-1, |g| g.get())
    }

    #[test]
    fn the_buckets_are_the_fixed_edges_and_the_targets_sorted_without_repeats() {
        // 15 minutes is a fixed edge already; 90 s and 3 days are not.
        let edges = sla_buckets([900.0, 90.0, 259200.0]);
        assert_eq!(edges.len(), SLA_EDGES.len() + 2);
        assert!(edges.windows(2).all(|w| w[0] < w[1]), "{edges:?}");
        assert!(edges.contains(&90.0) && edges.contains(&259200.0));
    }

    #[test]
    fn a_pair_whose_tickets_are_gone_reads_zero_and_a_new_pair_appears() {
        let m = SlaMetrics::new(&Policy::builtin());
        m.set_open_tickets(&[
            ("P1".into(), Status::Open, 3),
            ("P2".into(), Status::Waiting, 2),
        ]);
        assert_eq!(open(&m, "P1", Status::Open), 3);
        assert_eq!(open(&m, "P2", Status::Waiting), 2);
        // A priority since removed from the policy still has tickets.
        m.set_open_tickets(&[
            ("P2".into(), Status::Waiting, 1),
            ("OLD".into(), Status::Acknowledged, 4),
        ]);
        assert_eq!(open(&m, "P1", Status::Open), 0);
        assert_eq!(open(&m, "P2", Status::Waiting), 1);
        assert_eq!(open(&m, "OLD", Status::Acknowledged), 4);
        m.set_open_tickets(&[]);
        assert_eq!(open(&m, "OLD", Status::Acknowledged), 0);
        assert_eq!(open(&m, "P2", Status::Waiting), 0);
    }

    #[test]
    fn every_priority_has_its_breach_and_open_series_from_the_start() {
        let m = SlaMetrics::new(&Policy::builtin());
        let mut registry = prometheus_client::registry::Registry::default();
        registry.register("b", "", m.breaches.clone());
        registry.register("o", "", m.open_tickets.clone());
        let mut text = String::new();
        prometheus_client::encoding::prometheus_text::encode(&mut text, &registry).unwrap();
        let samples = |prefix: &str| text.lines().filter(|l| l.starts_with(prefix)).count();
        assert_eq!(samples("b_total{"), 4 * 2, "{text}");
        assert_eq!(samples("o{"), 4 * 3, "{text}");
        assert_eq!(open(&m, "P4", Status::Waiting), 0);
        m.breached(BreachKind::Resolution, "P2");
        let p2 = BreachLabels {
            kind: "resolution",
            priority: "P2".into(),
        };
        assert_eq!(m.breaches.get(&p2).map(|c| c.get()), Some(1));
    }
}
