//! What can happen to a filed ticket (a [`Change`] by someone) and what came of it (an
//! [`Outcome`]).

use super::Ticket;

/// A change to a ticket, by someone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    Acknowledge,
    Assign(String),
    Priority(String),
    Wait,
    Resolve(Option<String>),
    Reopen,
    Merge {
        into: i64,
    },
    /// The Acknowledge button on a breach ping: stops escalation (and acknowledges the
    /// ticket if nobody had).
    AckBreach,
    /// A reply in the card's or the source message's thread.
    Reply {
        text: String,
        ts: String,
    },
    SourceEdited(String),
    SourceDeleted,
}

/// What came of a change.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Done(Box<Ticket>),
    NotFound,
    /// The actor may not: "only the platform team can `<what>`".
    NotAllowed(&'static str),
    /// Nothing to do (already in that state), with why.
    Unchanged(String),
}
