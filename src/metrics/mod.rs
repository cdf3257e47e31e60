//! Process counters, gauges and timings, rendered in Prometheus text format at `/metrics`.
//!
//! Through prometheus-client (the Prometheus project's own Rust client) rather than the
//! `metrics` facade: its registry is a value, not a process-wide recorder, so every app the
//! integration tests start in one process counts its own; and its handles are typed fields
//! (`Metrics::inc(&metrics.outbox_sent)`), cheap atomics on the request path.

pub mod histogram;
pub mod jobs;

use histogram::Timings;
use prometheus_client::encoding::prometheus_text;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

/// The `Content-Type` of what `render` gives.
pub const CONTENT_TYPE: &str = prometheus_text::CONTENT_TYPE;

/// What the app counts as it works, and the registry that exports it.
#[derive(Debug)]
pub struct Metrics {
    pub slack_requests: Counter,
    pub signature_rejections: Counter,
    pub tickets_filed: Counter,
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
    /// Rows given up on, set likewise.
    pub outbox_failed_rows: Gauge,
    /// Slack requests over HTTP, from the handler's start to its answer.
    pub slack_request_seconds: Timings,
    /// The ticket writer's commits, from `BEGIN` to the log's sync.
    pub commit_seconds: Timings,
    /// Scheduled jobs: runs, failures, skipped runs.
    pub jobs: jobs::JobMetrics,
    registry: Registry,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut m = Metrics {
            slack_requests: Counter::default(),
            signature_rejections: Counter::default(),
            tickets_filed: Counter::default(),
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
            slack_request_seconds: Timings::default(),
            commit_seconds: Timings::default(),
            jobs: jobs::JobMetrics::default(),
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
                "platform_desk_tickets_filed",
                "Tickets filed",
                &m.tickets_filed,
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
        m.jobs.register(&mut m.registry);
        m
    }
}

impl Metrics {
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
        m.outbox_pending.set(7);
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
        assert!(text.contains("platform_desk_ticket_commit_seconds_count 1\n"));
        assert!(text.contains("platform_desk_ticket_commit_seconds_max 0.002\n"));
        assert!(text.contains("platform_desk_slack_request_seconds_count 0\n"));
    }

    /// Dashboards and alerts rest on these names: the move to prometheus-client kept every
    /// one of them but the write-ahead-log ones, which went with the checkpoint machinery.
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
                "platform_desk_tickets_filed_total counter",
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
            ]
        );
        assert!(!text.contains("wal"), "{text}");
    }
}
