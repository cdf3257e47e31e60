//! The scheduled jobs' series: `platform_desk_job_runs_total{job}` (attempts, retries
//! included), `platform_desk_job_failures_total{job}` (attempts that failed) and
//! `platform_desk_jobs_skipped_total{job}` (runs missed beyond `schedules.grace`).

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct JobLabel {
    pub job: String,
}

/// The counters, by job. Jobs are the few registered at start: a bounded label.
#[derive(Debug, Default)]
pub struct JobMetrics {
    runs: Family<JobLabel, Counter>,
    failures: Family<JobLabel, Counter>,
    skipped: Family<JobLabel, Counter>,
}

impl JobMetrics {
    pub fn register(&self, registry: &mut Registry) {
        registry.register(
            "platform_desk_job_runs",
            "Attempts of scheduled jobs, retries included",
            self.runs.clone(),
        );
        registry.register(
            "platform_desk_job_failures",
            "Attempts of scheduled jobs that failed",
            self.failures.clone(),
        );
        registry.register(
            "platform_desk_jobs_skipped",
            "Scheduled runs missed while the bot was down, beyond schedules.grace, not run",
            self.skipped.clone(),
        );
    }

    /// Exports `job`'s series at 0, so that `increase()` sees its first run.
    pub fn known(&self, job: &str) {
        for family in [&self.runs, &self.failures, &self.skipped] {
            let _ = family.get_or_create(&label(job));
        }
    }

    pub fn ran(&self, job: &str) {
        self.runs.get_or_create(&label(job)).inc();
    }

    pub fn failed(&self, job: &str) {
        self.failures.get_or_create(&label(job)).inc();
    }

    pub fn skipped(&self, job: &str, runs: u64) {
        self.skipped.get_or_create(&label(job)).inc_by(runs);
    }

    /// (runs, failures, skipped) of `job` so far (tests and diagnostics).
    pub fn counts(&self, job: &str) -> (u64, u64, u64) {
        let get = |f: &Family<JobLabel, Counter>| f.get(&label(job)).map_or(0, |c| c.get());
        (get(&self.runs), get(&self.failures), get(&self.skipped))
    }
}

fn label(job: &str) -> JobLabel {
    JobLabel {
        job: job.to_string(),
    }
}
