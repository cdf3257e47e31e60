//! What passes between the request handlers and the ticket writer: the request, its answer,
//! what a handler works out before queueing it, and how the writer is woken and gathers.

use crate::context::wake::TimerWake;
use crate::context::workers::Workers;
use crate::outbox::OutboxMessage;
use crate::settings::Policy;
use crate::tickets::recent::Remembered;
use crate::tickets::{NewTicket, Ticket};
use crate::triage;
use chrono::{DateTime, Utc};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{oneshot, Notify};

/// The messages a new ticket causes; called with the ticket once its key is known. It may
/// be called more than once if a shared commit fails and the request is retried alone.
pub type Effects = Box<dyn Fn(&Ticket) -> Vec<OutboxMessage> + Send + Sync>;

/// A request to file a ticket.
pub struct FileRequest {
    pub new: NewTicket,
    /// Inbox keys (`event:<id>`, `msg:<channel>:<ts>`): if any was seen before, nothing is
    /// filed and the answer is [`Filed::Duplicate`].
    pub dedupe: Vec<String>,
    pub effects: Effects,
    /// When the request was made, if before now (a request held for a self-service offer):
    /// the ticket is created at that time and its SLA clocks start there.
    pub requested_at: Option<DateTime<Utc>>,
}

/// The outcome of filing.
#[derive(Debug, Clone)]
pub enum Filed {
    New(Box<Ticket>),
    Duplicate,
}

#[derive(Debug, thiserror::Error)]
pub enum FileError {
    #[error("the bot is shutting down")]
    Closed,
    #[error("the ticket could not be stored: {0}")]
    Store(String),
}

pub(super) struct Job {
    pub(super) req: FileRequest,
    /// What the request's own task worked out before queueing it.
    pub(super) read: Read,
    pub(super) reply: oneshot::Sender<Result<Filed, FileError>>,
}

/// What is read from a request's text alone: worked out on the request's task, not by the
/// writer, so it runs while the writer waits for the disk.
pub(super) struct Read {
    pub(super) triage: triage::Triage,
    /// The description's tokens, compared with the candidates'.
    pub(super) tokens: Arc<[u64]>,
    /// The title's and description's, stored with the ticket for later requests to compare
    /// with, and their hashes.
    pub(super) stored_words: String,
    pub(super) stored_tokens: Arc<[u64]>,
}

impl Read {
    pub(super) fn of(policy: &Policy, new: &NewTicket) -> Self {
        use triage::similar;
        let words = triage::Words::of(&new.description);
        let tokens = similar::request_tokens(&triage::Words::of(&new.title), &words);
        Read {
            triage: triage::rules::classify_words(
                policy,
                &new.description,
                &words,
                new.channel.as_deref(),
            ),
            tokens: tokens.description.into(),
            stored_tokens: tokens.stored.into(),
            stored_words: tokens.stored_words,
        }
    }
}

pub(super) enum Msg {
    File(Box<Job>),
    /// What was recalled of recent tickets when the writer started.
    Recalled(Remembered),
    /// Shutting down: file what is queued, take nothing more.
    Stop,
}

/// Who is woken after a commit: the outbox sender (new rows) and the timer scheduler (a
/// timer due before it wakes by itself).
pub struct Wakes {
    pub outbox: Arc<Notify>,
    pub timers: Arc<TimerWake>,
}

/// When a commit waits for the requests the HTTP workers are still reading (see
/// `Writer::gather`).
pub struct Gather {
    /// The HTTP runtime's busy workers.
    pub(super) busy: Arc<Workers>,
    /// Only after a commit of at least this many requests: under load, not when requests
    /// come one at a time (each would then wait for nothing).
    pub(super) from: usize,
    /// The longest a commit waits.
    pub(super) at_most: Duration,
}

impl Gather {
    /// Gathering after commits of 4 requests or more, for at most 5 ms (at 2 ms, 50
    /// connections' requests were not all read in time on one core: 43 a commit, not 50).
    pub fn new(busy: Arc<Workers>) -> Self {
        Gather {
            busy,
            from: 4,
            at_most: Duration::from_millis(5),
        }
    }
}
