//! Process counters, rendered in Prometheus text format at `/metrics`.

use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

/// Counters the app bumps as it works. Plain atomics: cheap on the request path.
#[derive(Debug, Default)]
pub struct Metrics {
    pub slack_requests: AtomicU64,
    pub signature_rejections: AtomicU64,
    pub tickets_filed: AtomicU64,
    pub commits: AtomicU64,
    pub committed_requests: AtomicU64,
    pub outbox_sent: AtomicU64,
    pub outbox_retries: AtomicU64,
    pub outbox_rate_limited: AtomicU64,
    pub outbox_failed: AtomicU64,
    pub socket_envelopes: AtomicU64,
    pub socket_reconnects: AtomicU64,
}

impl Metrics {
    pub fn inc(counter: &AtomicU64) {
        counter.fetch_add(1, Relaxed);
    }

    /// One shared commit carrying `requests` requests.
    pub fn record_commit(&self, requests: usize) {
        self.commits.fetch_add(1, Relaxed);
        self.committed_requests.fetch_add(requests as u64, Relaxed);
    }

    /// The Prometheus exposition of every counter, plus gauges given by the caller.
    pub fn render(&self, gauges: &[(&str, &str, i64)]) -> String {
        let counters: [(&str, &str, &AtomicU64); 11] = [
            (
                "platform_desk_slack_requests_total",
                "Slack requests received (HTTP and Socket Mode)",
                &self.slack_requests,
            ),
            (
                "platform_desk_signature_rejections_total",
                "HTTP requests refused for a missing, wrong or stale signature",
                &self.signature_rejections,
            ),
            (
                "platform_desk_tickets_filed_total",
                "Tickets filed",
                &self.tickets_filed,
            ),
            (
                "platform_desk_ticket_commits_total",
                "Shared commits of the ticket writer",
                &self.commits,
            ),
            (
                "platform_desk_ticket_commit_requests_total",
                "Requests carried by the ticket writer's commits",
                &self.committed_requests,
            ),
            (
                "platform_desk_outbox_sent_total",
                "Outbox messages delivered to Slack",
                &self.outbox_sent,
            ),
            (
                "platform_desk_outbox_retries_total",
                "Outbox delivery attempts that failed and will be retried",
                &self.outbox_retries,
            ),
            (
                "platform_desk_outbox_rate_limited_total",
                "Outbox deliveries answered 429 by Slack",
                &self.outbox_rate_limited,
            ),
            (
                "platform_desk_outbox_failed_total",
                "Outbox messages given up on",
                &self.outbox_failed,
            ),
            (
                "platform_desk_socket_envelopes_total",
                "Socket Mode envelopes received",
                &self.socket_envelopes,
            ),
            (
                "platform_desk_socket_reconnects_total",
                "Socket Mode reconnections",
                &self.socket_reconnects,
            ),
        ];
        let mut out = String::with_capacity(2048);
        for (name, help, value) in counters {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} counter\n{name} {}",
                value.load(Relaxed)
            );
        }
        for (name, help, value) in gauges {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {value}"
            );
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_and_gauges_render_in_prometheus_text() {
        let m = Metrics::default();
        Metrics::inc(&m.outbox_failed);
        m.record_commit(3);
        let text = m.render(&[("platform_desk_outbox_pending", "Pending rows", 7)]);
        assert!(text.contains("platform_desk_outbox_failed_total 1\n"));
        assert!(text.contains("platform_desk_ticket_commit_requests_total 3\n"));
        assert!(text.contains(
            "# TYPE platform_desk_outbox_pending gauge\nplatform_desk_outbox_pending 7\n"
        ));
    }
}
