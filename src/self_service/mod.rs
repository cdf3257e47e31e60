//! Self-service first, and who owns what: a request is matched against the policy's catalog
//! (`catalog`, bm25 ranking) and the ownership map (`ownership`) before it becomes a ticket. This
//! module holds what is decided and stored about such a held request (an offer, a redirect)
//! and what the requester is told (`messages`); intake holds the request back, and files it
//! when the offer did not solve it.

pub mod catalog;
pub mod db;
pub mod messages;
pub mod ownership;

use crate::domain::ticket::{NewTicket, Source};
use chrono::{DateTime, Utc};

pub use catalog::{Catalog, Match};

/// Where the requester is spoken to about a held request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Notice {
    /// In the thread of their message (messages, mentions, reactions).
    Thread { channel: String, ts: String },
    /// An ephemeral message in a channel (commands, forms).
    Ephemeral { channel: String },
    /// A direct message (a form opened where no channel is known).
    Direct,
}

/// A request held back from filing while its requester reads an offer or a redirect.
#[derive(Debug, Clone, PartialEq)]
pub struct Held {
    pub requester: String,
    pub channel: Option<String>,
    pub source: Source,
    pub title: String,
    pub description: String,
    pub urgency: Option<String>,
    pub link: Option<String>,
    pub filed_by: Option<String>,
    /// A ticket filed from it is created at this time, and its SLA clocks start here.
    pub requested_at: DateTime<Utc>,
    /// The request's own message, when it was one.
    pub message_ts: Option<String>,
    pub notice: Notice,
}

impl Held {
    pub fn of(new: &NewTicket, requested_at: DateTime<Utc>, notice: Notice) -> Held {
        Held {
            requester: new.requester.clone(),
            channel: new.channel.clone(),
            source: new.source,
            title: new.title.clone(),
            description: new.description.clone(),
            urgency: new.urgency.clone(),
            link: new.link.clone(),
            filed_by: new.filed_by.clone(),
            requested_at,
            message_ts: new.source_ts.clone(),
            notice,
        }
    }

    /// The ticket to file for it.
    pub fn new_ticket(&self) -> NewTicket {
        NewTicket {
            title: self.title.clone(),
            description: self.description.clone(),
            requester: self.requester.clone(),
            channel: self.channel.clone(),
            source: self.source,
            source_ts: self.message_ts.clone(),
            urgency: self.urgency.clone(),
            link: self.link.clone(),
            filed_by: self.filed_by.clone(),
        }
    }
}

/// What the requester said to an offer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Pending,
    Solved,
    StillNeeded,
    Ignored,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Pending => "pending",
            Outcome::Solved => "solved",
            Outcome::StillNeeded => "still_needed",
            Outcome::Ignored => "ignored",
        }
    }

    pub fn parse(s: &str) -> Outcome {
        match s {
            "solved" => Outcome::Solved,
            "still_needed" => Outcome::StillNeeded,
            "ignored" => Outcome::Ignored,
            _ => Outcome::Pending,
        }
    }
}
