//! Process counters, gauges and timings, rendered in Prometheus text format at `/metrics`.
//!
//! Through prometheus-client (the Prometheus project's own Rust client) rather than the
//! `metrics` facade: its registry is a value, not a process-wide recorder, so every app the
//! integration tests start in one process counts its own; and its handles are typed fields
//! (`Metrics::inc(&metrics.outbox_sent)`), cheap atomics on the request path.

pub mod db;
pub mod filed;
pub mod histogram;
pub mod sla;
pub mod slack_calls;

use crate::domain::{Measured, Source};
use crate::settings::Policy;
use filed::FiledCounts;
use histogram::Timings;
use prometheus_client::encoding::prometheus_text;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
pub use sla::BreachKind;
use sla::SlaMetrics;
pub use slack_calls::Outcome;
use slack_calls::SlackCalls;

/// The `Content-Type` of what `render` gives.
pub const CONTENT_TYPE: &str = prometheus_text::CONTENT_TYPE;

/// What the app counts as it works, and the registry that exports it.
#[derive(Debug)]
pub struct Metrics {
    pub slack_requests: Counter,
    pub signature_rejections: Counter,
    /// Tickets committed by the writer, by priority, category and source.
    pub tickets_filed: FiledCounts,
    pub commits: Counter,
    pub committed_requests: Counter,
    pub outbox_sent: Counter,
    pub outbox_retries: Counter,
    pub outbox_rate_limited: Counter,
    pub outbox_failed: Counter,
    /// Posts found already in Slack after their answer was lost, so not posted again.
    pub outbox_already_posted: Counter,
    pub socket_envelopes: Counter,
    pub socket_reconnects: Counter,
    /// Rows waiting in the outbox, set from the database when `/metrics` is read.
    pub outbox_pending: Gauge,
    /// Rows given up on, set likewise; exported as `platform_desk_outbox_failed` and by
    /// its older name `platform_desk_outbox_failed_rows`.
    pub outbox_failed_rows: Gauge,
    /// Breaches, open tickets, SLA times and the scheduler's lag.
    pub sla: SlaMetrics,
    /// Every Web API call, by method and outcome.
    pub slack_calls: SlackCalls,
    /// Slack requests over HTTP, from the handler's start to its answer.
    pub slack_request_seconds: Timings,
    /// The ticket writer's commits, from `BEGIN` to the log's sync.
    pub commit_seconds: Timings,
    registry: Registry,
}

impl Default for Metrics {
    /// The metrics of the built-in policy.
    fn default() -> Self {
        Self::new(&Policy::builtin())
    }
}

impl Metrics {
    /// Every series, with the label sets and SLA bucket edges of `policy`.
    pub fn new(policy: &Policy) -> Self {
        let mut m = Metrics {
            slack_requests: Counter::default(),
            signature_rejections: Counter::default(),
            tickets_filed: FiledCounts::new(policy),
            commits: Counter::default(),
            committed_requests: Counter::default(),
            outbox_sent: Counter::default(),
            outbox_retries: Counter::default(),
            outbox_rate_limited: Counter::default(),
            outbox_failed: Counter::default(),
            outbox_already_posted: Counter::default(),
            socket_envelopes: Counter::default(),
            socket_reconnects: Counter::default(),
            outbox_pending: Gauge::default(),
            outbox_failed_rows: Gauge::default(),
            sla: SlaMetrics::new(policy),
            slack_calls: SlackCalls::default(),
            slack_request_seconds: Timings::default(),
            commit_seconds: Timings::default(),
            registry: Registry::default(),
        };
        // Counters are registered without `_total`: the encoder adds it.
        let counters = [
            (
                "platform_desk_slack_requests",
                "Slack requests received (HTTP and Socket Mode)",
                &m.slack_requests,
            ),
            (
                "platform_desk_signature_rejections",
                "HTTP requests refused for a missing, wrong or stale signature",
                &m.signature_rejections,
            ),
            (
                "platform_desk_ticket_commits",
                "Shared commits of the ticket writer",
                &m.commits,
            ),
            (
                "platform_desk_ticket_commit_requests",
                "Requests carried by the ticket writer's commits",
                &m.committed_requests,
            ),
            (
                "platform_desk_outbox_sent",
                "Outbox messages delivered to Slack",
                &m.outbox_sent,
            ),
            (
                "platform_desk_outbox_retries",
                "Outbox delivery attempts that failed and will be retried",
                &m.outbox_retries,
            ),
            (
                "platform_desk_outbox_rate_limited",
                "Outbox deliveries answered 429 by Slack",
                &m.outbox_rate_limited,
            ),
            (
                "platform_desk_outbox_failed",
                "Outbox messages given up on",
                &m.outbox_failed,
            ),
            (
                "platform_desk_outbox_already_posted",
                "Outbox posts whose answer was lost, found already in Slack and not posted again",
                &m.outbox_already_posted,
            ),
            (
                "platform_desk_socket_envelopes",
                "Socket Mode envelopes received",
                &m.socket_envelopes,
            ),
            (
                "platform_desk_socket_reconnects",
                "Socket Mode reconnections",
                &m.socket_reconnects,
            ),
        ];
        for (name, help, counter) in counters {
            m.registry.register(name, help, counter.clone());
        }
        m.registry.register(
            "platform_desk_outbox_pending",
            "Outbox rows waiting to be delivered",
            m.outbox_pending.clone(),
        );
        m.registry.register(
            "platform_desk_outbox_failed_rows",
            "Outbox rows given up on (kept for inspection)",
            m.outbox_failed_rows.clone(),
        );
        m.slack_request_seconds.register(
            &mut m.registry,
            "platform_desk_slack_request_seconds",
            "Slack requests over HTTP, from the handler's start to its answer",
        );
        m.commit_seconds.register(
            &mut m.registry,
            "platform_desk_ticket_commit_seconds",
            "Shared commits of the ticket writer, from BEGIN to the log's sync",
        );
        m.register_desk();
        m
    }

    /// The series of the support desk itself (CONTRACT.md, "Reports ... metrics").
    fn register_desk(&mut self) {
        let r = &mut self.registry;
        r.register(
            "platform_desk_tickets_filed",
            "Tickets filed, counted when the ticket writer commits them",
            self.tickets_filed.family.clone(),
        );
        r.register(
            "platform_desk_breaches",
            "SLA targets breached, counted when the scheduler fires the breach",
            self.sla.breaches.clone(),
        );
        r.register(
            "platform_desk_open_tickets",
            "Open tickets by priority and status, counted in the database when scraped",
            self.sla.open_tickets.clone(),
        );
        r.register(
            "platform_desk_first_response_seconds",
            "SLA seconds from filing to the first response (business hours for business-hours priorities, waiting left out)",
            self.sla.first_response_seconds.clone(),
        );
        r.register(
            "platform_desk_resolution_seconds",
            "SLA seconds from filing to the resolution (business hours for business-hours priorities, waiting left out)",
            self.sla.resolution_seconds.clone(),
        );
        r.register(
            "platform_desk_outbox_failed",
            "Outbox rows given up on (kept for inspection)",
            self.outbox_failed_rows.clone(),
        );
        r.register(
            "platform_desk_slack_api_calls",
            "Slack Web API calls by method and outcome (ok, error, rate_limited, transport)",
            self.slack_calls.family.clone(),
        );
        r.register(
            "platform_desk_scheduler_lag_seconds",
            "How late the SLA scheduler fired each timer, after its due time",
            self.sla.scheduler_lag_seconds.clone(),
        );
    }

    /// A ticket committed by the writer.
    pub fn ticket_filed(&self, priority: &str, category: &str, source: Source) {
        self.tickets_filed.inc(priority, category, source);
    }

    /// A ticket change committed: observes the first response and the resolution it
    /// recorded, if any (`before` and `after` are the ticket's measures around the change).
    pub fn measured(&self, priority: &str, before: Measured, after: Measured) {
        if let (None, Some(took)) = (before.first_response_s, after.first_response_s) {
            self.sla.first_response_took(priority, took);
        }
        if let (None, Some(took)) = (before.resolution_s, after.resolution_s) {
            self.sla.resolution_took(priority, took);
        }
    }

    /// The outbox's rows waiting and given up on, as counted when `/metrics` is read.
    pub fn set_outbox(&self, pending: i64, failed: i64) {
        self.outbox_pending.set(pending);
        self.outbox_failed_rows.set(failed);
    }

    /// One timer fired `late` after its due time.
    pub fn scheduler_lag(&self, late: chrono::Duration) {
        let seconds = late
            .num_microseconds()
            .map_or(f64::MAX, |us| us as f64 / 1e6);
        self.sla.scheduler_lag_seconds.observe(seconds.max(0.0));
    }
    pub fn inc(counter: &Counter) {
        counter.inc();
    }

    /// One shared commit carrying `requests` requests.
    pub fn record_commit(&self, requests: usize) {
        self.commits.inc();
        self.committed_requests.inc_by(requests as u64);
    }

    /// Every series in the Prometheus text format (version 0.0.4, `CONTENT_TYPE`).
    pub fn render(&self) -> String {
        let mut out = String::with_capacity(8192);
        // Writing to a String cannot fail.
        let _ = prometheus_text::encode(&mut out, &self.registry);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn counters_and_gauges_render_in_prometheus_text() {
        let m = Metrics::default();
        Metrics::inc(&m.outbox_failed);
        m.record_commit(3);
        m.set_outbox(7, 2);
        m.commit_seconds.observe(Duration::from_millis(2));
        let text = m.render();
        assert!(text.contains(
            "# TYPE platform_desk_outbox_failed_total counter\nplatform_desk_outbox_failed_total 1\n"
        ));
        assert!(text.contains("platform_desk_ticket_commits_total 1\n"));
        assert!(text.contains("platform_desk_ticket_commit_requests_total 3\n"));
        assert!(text.contains(
            "# TYPE platform_desk_outbox_pending gauge\nplatform_desk_outbox_pending 7\n"
        ));
        assert!(text
            .contains("# TYPE platform_desk_outbox_failed gauge\nplatform_desk_outbox_failed 2\n"));
        assert!(text.contains("platform_desk_outbox_failed_rows 2\n"));
        assert!(text.contains("platform_desk_ticket_commit_seconds_count 1\n"));
        assert!(text.contains("platform_desk_ticket_commit_seconds_max 0.002\n"));
        assert!(text.contains("platform_desk_slack_request_seconds_count 0\n"));
    }

    #[test]
    fn the_desk_series_render_with_their_labels() {
        let m = Metrics::default();
        m.ticket_filed("P1", "incident", Source::Reaction);
        m.sla.breached(BreachKind::FirstResponse, "P1");
        m.sla
            .set_open_tickets(&[("P3".into(), crate::domain::Status::Waiting, 4)]);
        m.slack_calls
            .count("chat.postMessage", Outcome::RateLimited);
        m.scheduler_lag(chrono::Duration::milliseconds(30));
        let text = m.render();
        for line in [
            "platform_desk_tickets_filed_total{priority=\"P1\",category=\"incident\",source=\"reaction\"} 1\n",
            "platform_desk_tickets_filed_total{priority=\"P1\",category=\"incident\",source=\"command\"} 0\n",
            "platform_desk_breaches_total{kind=\"first_response\",priority=\"P1\"} 1\n",
            "platform_desk_breaches_total{kind=\"resolution\",priority=\"P1\"} 0\n",
            "platform_desk_open_tickets{priority=\"P3\",status=\"waiting\"} 4\n",
            "platform_desk_open_tickets{priority=\"P3\",status=\"open\"} 0\n",
            "platform_desk_slack_api_calls_total{method=\"chat.postMessage\",outcome=\"rate_limited\"} 1\n",
            "platform_desk_scheduler_lag_seconds_bucket{le=\"0.05\"} 1\n",
            "platform_desk_scheduler_lag_seconds_bucket{le=\"0.01\"} 0\n",
        ] {
            assert!(text.contains(line), "no {line} in\n{text}");
        }
    }

    #[test]
    fn a_first_response_and_a_resolution_are_observed_once_when_they_happen() {
        let m = Metrics::default();
        let none = Measured::default();
        let answered = Measured {
            first_response_s: Some(600),
            ..none
        };
        let resolved = Measured {
            resolution_s: Some(7200),
            ..answered
        };
        m.measured("P2", none, answered);
        m.measured("P2", answered, answered); // another change: nothing new
        m.measured("P2", answered, resolved);
        let text = m.render();
        assert!(
            text.contains("platform_desk_first_response_seconds_count{priority=\"P2\"} 1\n"),
            "{text}"
        );
        assert!(
            text.contains("platform_desk_first_response_seconds_sum{priority=\"P2\"} 600.0\n"),
            "{text}"
        );
        assert!(
            text.contains("platform_desk_resolution_seconds_count{priority=\"P2\"} 1\n"),
            "{text}"
        );
        // P2's targets (1 h, 1 d) are edges: 7200 s is past the first, within the second.
        assert!(
            text.contains(
                "platform_desk_resolution_seconds_bucket{priority=\"P2\",le=\"3600\"} 0\n"
            ),
            "{text}"
        );
        assert!(
            text.contains(
                "platform_desk_resolution_seconds_bucket{priority=\"P2\",le=\"86400\"} 1\n"
            ),
            "{text}"
        );
    }

    /// Dashboards and alerts rest on these names: the move to prometheus-client kept every
    /// one of them but the write-ahead-log ones, which went with the checkpoint machinery;
    /// issue 19 added the desk's own (CONTRACT.md), after them. `tickets_filed_total` moved
    /// there when it gained its labels.
    #[test]
    fn the_exported_series_are_the_ones_dashboards_know() {
        let text = Metrics::default().render();
        let types: Vec<&str> = text
            .lines()
            .filter_map(|l| l.strip_prefix("# TYPE "))
            .collect();
        assert_eq!(
            types,
            [
                "platform_desk_slack_requests_total counter",
                "platform_desk_signature_rejections_total counter",
                "platform_desk_ticket_commits_total counter",
                "platform_desk_ticket_commit_requests_total counter",
                "platform_desk_outbox_sent_total counter",
                "platform_desk_outbox_retries_total counter",
                "platform_desk_outbox_rate_limited_total counter",
                "platform_desk_outbox_failed_total counter",
                "platform_desk_outbox_already_posted_total counter",
                "platform_desk_socket_envelopes_total counter",
                "platform_desk_socket_reconnects_total counter",
                "platform_desk_outbox_pending gauge",
                "platform_desk_outbox_failed_rows gauge",
                "platform_desk_slack_request_seconds histogram",
                "platform_desk_slack_request_seconds_max gauge",
                "platform_desk_ticket_commit_seconds histogram",
                "platform_desk_ticket_commit_seconds_max gauge",
                "platform_desk_tickets_filed_total counter",
                "platform_desk_breaches_total counter",
                "platform_desk_open_tickets gauge",
                "platform_desk_first_response_seconds histogram",
                "platform_desk_resolution_seconds histogram",
                "platform_desk_outbox_failed gauge",
                "platform_desk_slack_api_calls_total counter",
                "platform_desk_scheduler_lag_seconds histogram",
            ]
        );
        assert!(!text.contains("wal"), "{text}");
    }
}
