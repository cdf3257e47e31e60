//! The domain's own types, shared by every capability: tickets and their states, sources,
//! priorities and events. Plain data and pure rules; no SQL, no Slack.

pub mod status;
pub mod ticket;

pub use status::{EventKind, Priority, Status};
pub use ticket::{Measured, NewTicket, Source, Ticket};

/// The answer to someone outside the platform team who tried what only the team may do.
pub fn not_allowed(what: &str) -> String {
    format!("Sorry, only the platform team can {what}.")
}
