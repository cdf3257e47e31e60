//! Process counters, rendered in Prometheus text format at `/metrics`.

pub mod histogram;

use histogram::Histogram;
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
    /// Posts found already in Slack after their answer was lost, so not posted again.
    pub outbox_already_posted: AtomicU64,
    pub socket_envelopes: AtomicU64,
    pub socket_reconnects: AtomicU64,
    /// Checkpoints of the write-ahead log by the background thread (the writer's own are
    /// counted by `writer_checkpoint_seconds`).
    pub background_checkpoints: AtomicU64,
    /// The most pages the write-ahead log held after a commit.
    pub log_pages_max: AtomicU64,
    /// Slack requests over HTTP, from the handler's start to its answer.
    pub slack_request_seconds: Histogram,
    /// The ticket writer's commits, from `BEGIN` to the log's sync.
    pub commit_seconds: Histogram,
    /// The ticket writer's own checkpoints (between two commits, with requests waiting);
    /// its count is how many there were.
    pub writer_checkpoint_seconds: Histogram,
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
        let counters: [(&str, &str, &AtomicU64); 13] = [
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
                "platform_desk_outbox_already_posted_total",
                "Outbox posts whose answer was lost, found already in Slack and not posted again",
                &self.outbox_already_posted,
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
            (
                "platform_desk_wal_background_checkpoints_total",
                "Checkpoints of the write-ahead log by the background thread",
                &self.background_checkpoints,
            ),
        ];
        let mut out = String::with_capacity(8192);
        for (name, help, value) in counters {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} counter\n{name} {}",
                value.load(Relaxed)
            );
        }
        let log_pages_max = self.log_pages_max.load(Relaxed) as i64;
        let own = [(
            "platform_desk_wal_pages_max",
            "The most pages the write-ahead log held after a ticket commit",
            log_pages_max,
        )];
        for (name, help, value) in own.iter().chain(gauges) {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {value}"
            );
        }
        let histograms = [
            (
                "platform_desk_slack_request_seconds",
                "Slack requests over HTTP, from the handler's start to its answer",
                &self.slack_request_seconds,
            ),
            (
                "platform_desk_ticket_commit_seconds",
                "Shared commits of the ticket writer, from BEGIN to the log's sync",
                &self.commit_seconds,
            ),
            (
                "platform_desk_wal_writer_checkpoint_seconds",
                "Checkpoints by the ticket writer itself, with requests waiting",
                &self.writer_checkpoint_seconds,
            ),
        ];
        for (name, help, histogram) in histograms {
            histogram.render(&mut out, name, help);
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
        assert!(text.contains("platform_desk_ticket_commit_seconds_count 0\n"));
        assert!(text.contains("platform_desk_wal_pages_max 0\n"));
    }
}
