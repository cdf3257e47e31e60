//! Escalation: the scheduler that fires SLA timers (warnings before a breach, the breach
//! ping, the escalation chain) and the on-call handoff, and the messages it sends. It sits
//! above tickets, SLA and on-call: it reads tickets, asks who is on call, and writes pings.

pub mod alerts;
pub mod firing;
pub mod scheduler;
