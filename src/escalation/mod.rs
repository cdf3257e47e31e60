//! Escalation: the scheduler that fires SLA timers (warnings before a breach, the breach
//! ping, the escalation chain), the on-call handoff (a scheduled job), and the messages they
//! send. It sits above tickets, SLA, on-call and jobs: it reads tickets, asks who is on call,
//! and writes pings.

pub mod alerts;
pub mod firing;
pub mod handoff;
pub mod scheduler;
