//! Our own input types: what a person did in Slack, as the edge hands it to the capabilities,
//! and the `Reply` the edge sends back. Nothing here speaks Slack's wire format.

use serde_json::{json, Value};

/// Something a person did in Slack, in our terms.
#[derive(Debug, Clone, PartialEq)]
pub enum Input {
    Command(Command),
    Mention(Mention),
    Submission(Submission),
    Action(Action),
    Message(Message),
    Reaction(Reaction),
    /// The "File as platform request" message shortcut.
    Shortcut(Shortcut),
    /// Someone opened the App Home tab.
    HomeOpened {
        user: String,
    },
    /// A delivery we understood and deliberately do nothing with.
    Ignored(&'static str),
}

/// A `/platform ...` slash command.
#[derive(Debug, Clone, PartialEq)]
pub struct Command {
    pub user: String,
    pub channel: String,
    pub command: String,
    /// What the person typed, with Slack's escaping undone (see `mrkdwn::plain_from_slack`).
    pub text: String,
    /// The text exactly as Slack sent it: mentions still `<@U123|name>` sequences.
    pub raw_text: String,
    pub trigger_id: Option<String>,
    pub response_url: Option<String>,
}

/// An `app_mention` event.
#[derive(Debug, Clone, PartialEq)]
pub struct Mention {
    pub event_id: Option<String>,
    pub user: String,
    pub channel: String,
    pub ts: String,
    pub thread_ts: Option<String>,
    pub text: String,
}

/// A modal's `view_submission`.
#[derive(Debug, Clone, PartialEq)]
pub struct Submission {
    pub user: String,
    pub callback_id: String,
    pub view_id: String,
    pub private_metadata: String,
    /// `view.state.values`: block_id -> action_id -> value object.
    pub values: Value,
}

/// A message event in a channel the bot is in.
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    pub event_id: Option<String>,
    pub channel: String,
    pub kind: MessageKind,
}

#[derive(Debug, Clone, PartialEq)]
pub enum MessageKind {
    /// A new top-level message by a person.
    Posted {
        user: String,
        ts: String,
        text: String,
    },
    /// A reply in a thread by a person.
    Reply {
        user: String,
        ts: String,
        thread_ts: String,
        text: String,
    },
    /// The message `ts` was edited to `text`.
    Edited { ts: String, text: String },
    /// The message `ts` was deleted.
    Deleted { ts: String },
    /// Bots, joins and other subtypes: never tickets.
    Other(&'static str),
}

/// A reaction added to a message.
#[derive(Debug, Clone, PartialEq)]
pub struct Reaction {
    pub event_id: Option<String>,
    pub user: String,
    pub reaction: String,
    pub channel: String,
    pub ts: String,
    /// The message's author.
    pub item_user: Option<String>,
}

/// A message shortcut on a message.
#[derive(Debug, Clone, PartialEq)]
pub struct Shortcut {
    pub user: String,
    pub callback_id: String,
    pub trigger_id: String,
    pub channel: String,
    pub message_ts: String,
    pub message_user: Option<String>,
    pub text: String,
}

/// A button or menu in a message (`block_actions`).
#[derive(Debug, Clone, PartialEq)]
pub struct Action {
    pub user: String,
    pub action_id: String,
    pub block_id: String,
    pub value: Option<String>,
    pub channel: Option<String>,
    pub message_ts: Option<String>,
    pub trigger_id: Option<String>,
}

/// The answer when our side failed (storage, a Slack call): the details are logged, never
/// shown.
pub const STORE_FAILED: &str =
    "Sorry, I couldn't file that just now. Please try again in a moment.";

/// What goes back to Slack in the HTTP response or the Socket Mode ack.
#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    /// 200 with an empty body (closes a modal on `view_submission`).
    Empty,
    /// A JSON body: an ephemeral message, or `response_action` for a modal.
    Json(Value),
}

impl Reply {
    /// An ephemeral message with mrkdwn `text` (already escaped by the caller).
    pub fn ephemeral(text: impl Into<String>) -> Self {
        Reply::Json(json!({ "response_type": "ephemeral", "text": text.into() }))
    }
}
