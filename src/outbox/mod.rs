//! The outbox: everything the bot says to Slack, as rows written in the transaction of the
//! change that caused it, delivered afterwards by `slack::outbound`.
//!
//! Rows go out in order per lane: a method and its channel (`chat.postMessage C01INTAKE`),
//! except that each ticket's card updates have a lane of their own (`chat.update #42`); the
//! database computes it (migration 0009). A card update also waits for its card's post.
//! How fast each lane may go is `pacing`'s.

pub mod db;
pub mod pacing;

use futures_util::future::BoxFuture;
use serde_json::Value;
use sqlx::SqliteConnection;

/// The outbox method the sender delivers to PagerDuty's Events API, not to Slack.
pub const PAGERDUTY: &str = "pagerduty.enqueue";

/// The outbox method the sender POSTs to a `response_url` (the payload's own
/// `response_url` field, taken out before sending; the row's channel is the Slack channel,
/// for its lane and pace). The URL is the credential: it is never logged.
pub const RESPOND: &str = "response_url";

/// What the sender asks of the tickets capability for rows about a ticket's card. The sender
/// is the Slack edge, which imports no capability: `app` hands it the tickets' own
/// implementation.
pub trait Cards: Send + Sync {
    /// The card's `chat.postMessage` body for `channel`, the ticket as it is now; None when
    /// the ticket is gone.
    fn render<'a>(
        &'a self,
        conn: &'a mut SqliteConnection,
        ticket_id: i64,
        channel: &'a str,
    ) -> BoxFuture<'a, sqlx::Result<Option<Value>>>;

    /// Where the ticket's card was posted (channel, ts), if it was.
    fn card_of<'a>(
        &'a self,
        conn: &'a mut SqliteConnection,
        ticket_id: i64,
    ) -> BoxFuture<'a, sqlx::Result<Option<(String, String)>>>;

    /// Records where the ticket's card was posted, in the sender's transaction.
    fn set_card<'a>(
        &'a self,
        conn: &'a mut SqliteConnection,
        ticket_id: i64,
        channel: &'a str,
        ts: &'a str,
    ) -> BoxFuture<'a, sqlx::Result<()>>;
}

/// What the sender must do with Slack's answer besides marking the row sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// Nothing more.
    Notice,
    /// The intake card of a ticket: its `ts` is recorded on the ticket.
    TicketCard,
    /// A `chat.update` of a ticket's card: the sender fills in the card's channel and `ts`
    /// when it sends (they are not known before the card itself has been posted).
    CardUpdate,
    /// A reply in a ticket's card thread: the sender fills in `thread_ts`.
    CardThread,
}

impl Purpose {
    pub fn as_str(self) -> &'static str {
        match self {
            Purpose::Notice => "notice",
            Purpose::TicketCard => "ticket_card",
            Purpose::CardUpdate => "card_update",
            Purpose::CardThread => "card_thread",
        }
    }

    pub fn parse(s: &str) -> Self {
        match s {
            "ticket_card" => Purpose::TicketCard,
            "card_update" => Purpose::CardUpdate,
            "card_thread" => Purpose::CardThread,
            _ => Purpose::Notice,
        }
    }
}

/// One Web API call to make.
#[derive(Debug, Clone)]
pub struct OutboxMessage {
    /// e.g. `chat.postMessage`
    pub method: &'static str,
    /// The channel (or user, for DMs) it goes to: with the method, its lane and its pace.
    pub channel: String,
    /// The JSON body, already serialized: written as is in the hot paths.
    pub payload: String,
    pub purpose: Purpose,
}

impl OutboxMessage {
    /// A `chat.postMessage` to `channel`. The payload must carry `channel` itself.
    pub fn post(channel: &str, payload: Value) -> Self {
        Self {
            method: "chat.postMessage",
            channel: channel.to_string(),
            payload: payload.to_string(),
            purpose: Purpose::Notice,
        }
    }

    /// A `chat.postEphemeral` to `user` in `channel`.
    pub fn ephemeral(channel: &str, user: &str, text: String) -> Self {
        Self {
            method: "chat.postEphemeral",
            channel: channel.to_string(),
            payload: serde_json::json!({ "channel": channel, "user": user, "text": text })
                .to_string(),
            purpose: Purpose::Notice,
        }
    }

    pub fn with_purpose(mut self, purpose: Purpose) -> Self {
        self.purpose = purpose;
        self
    }
}

/// A pending row as the sender sees it.
#[derive(Debug, Clone)]
pub struct PendingRow {
    pub id: i64,
    pub method: String,
    pub channel: String,
    /// The rows of a lane go out one at a time, in order (see the module's doc).
    pub lane: String,
    pub payload: String,
    pub purpose: Purpose,
    pub ticket_id: Option<i64>,
    pub attempts: i64,
    pub next_attempt_at: Option<String>,
    pub created_at: String,
    /// When an earlier call for this row started without its outcome being recorded (see
    /// migration 0008): Slack may already have the message.
    pub started_at: Option<String>,
}
