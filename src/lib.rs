//! platform-desk: a self-hosted Slack bot for platform-team intake, SLAs and support metrics.

/// The wiring of serve and sandbox: the only module above every capability and the edge.
pub mod app;
/// The command line: serve, sandbox, migrate, config check.
pub mod cli;
/// The injected clock.
pub mod clock;
/// The context every capability gets: pool, clock, policy, metrics, wake-ups.
pub mod context;
/// Satisfaction after each ticket: the question on resolution, the score on the ticket.
pub mod csat;
/// The dashboard and the read API: charts and numbers from `stats`, behind `web::auth`.
pub mod dashboard;
/// The roadmap digest and the stale-item reminders: scheduled jobs.
pub mod digest;
/// Every input to the capability it belongs to; the `/platform` commands.
pub mod dispatch;
/// The domain's own types: tickets, states, sources, priorities.
pub mod domain;
/// Firing SLA timers: warnings, breaches, escalation, the on-call handoff.
pub mod escalation;
/// Our own input types, which the edge makes from Slack payloads.
pub mod input;
/// Requests becoming tickets.
pub mod intake;
/// Scheduled jobs: the registry, the runner, `platform-desk jobs`.
pub mod jobs;
/// Hours saved (wins, deflections), the leverage ratio and the support share of capacity.
pub mod leverage;
/// Counters and histograms, exposed on /metrics.
pub mod metrics;
/// Making untrusted text safe in Slack mrkdwn.
pub mod mrkdwn;
pub mod oncall;
/// Outgoing Slack messages as durable rows.
pub mod outbox;
/// Roadmap items, their history, links and followers; "your request shipped".
pub mod roadmap;
/// The local Slack simulator.
pub mod sandbox;
/// `seed-demo`: plausible, deterministic ticket history written as the bot would have.
pub mod seed;
/// Self-service first: the catalog (bm25 ranking), offers and their outcomes; the ownership map.
pub mod self_service;
/// Loading and validating settings: environment and the policy file.
pub mod settings;
/// SLA targets and the business calendar.
pub mod sla;
/// The Slack edge: HTTP and Socket Mode in, the Web API out.
pub mod slack;
/// The statistics report behind `/platform stats`, the CLI, the API and the dashboard.
pub mod stats;
/// The SQLite pool and migrations.
pub mod store;
/// Pulse surveys: anonymous 1-5 answers by direct message, reminders, results at close.
pub mod survey;
/// Logging setup.
pub mod telemetry;
/// Tickets, their event log and the group-commit writer.
pub mod tickets;
/// Priority and category of new requests.
pub mod triage;
/// Health, readiness and metrics.
pub mod web;
/// `config check --what-if`: recent tickets replayed under a proposed policy.
pub mod what_if;
/// Splitting text into lowercase words.
pub mod words;
