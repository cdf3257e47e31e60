-- Scheduled jobs (src/jobs/): each run's state. A run is claimed ('running') before it
-- runs, marked 'done' in the transaction of its effect, and on failure kept with its error
-- and retried ('failed') until it gives up ('gave_up'); a run missed beyond
-- `schedules.grace` is recorded 'skipped'. Rows from before this migration are runs that
-- completed.
alter table job_runs add column status text not null default 'done';
alter table job_runs add column attempts integer not null default 1;
alter table job_runs add column error text;
-- 'running': when the claim lapses (the process running it stopped); 'failed': when to try
-- again; null otherwise.
alter table job_runs add column retry_at text;
alter table job_runs add column finished_at text;
create index job_runs_retry on job_runs (retry_at) where retry_at is not null;
