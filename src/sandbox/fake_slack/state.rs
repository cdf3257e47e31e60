//! Shared state of the fake Slack: the public record types (calls, messages, views, failures) and the lock-protected store behind them.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::sync::{mpsc, watch, Notify};

/// The workspace the fake pretends to be (same IDs as the fixtures).
pub const TEAM_ID: &str = "T0A1B2C3D4";
pub const TEAM_NAME: &str = "acme-eng";
pub const APP_ID: &str = "A07PLTFM2QX";
pub const BOT_USER_ID: &str = "U07BOTPLT9";
pub const BOT_ID: &str = "B07BOTPLT9";
pub const BOT_NAME: &str = "platform-desk";

/// One request the fake received, in the order it was answered.
#[derive(Debug, Clone)]
pub struct ApiCall {
    /// Web API method (`chat.postMessage`), or `response_url` for POSTs to a response URL.
    pub method: String,
    /// The decoded request: JSON body, or form/query fields as a JSON object of strings
    /// (with `blocks`/`view`/`attachments` fields decoded from their JSON strings).
    pub body: Value,
    /// The bearer token without the `Bearer ` prefix, if one was sent.
    pub token: Option<String>,
    /// When the request arrived (before any injected delay).
    pub at: Instant,
    /// `"ok"`, `"ratelimited"`, `"http_500"`, or the Slack error code that was returned.
    pub outcome: String,
}

impl ApiCall {
    /// True when the call was answered `{"ok":true,..}`.
    pub fn is_ok(&self) -> bool {
        self.outcome == "ok"
    }
}

/// A failure to serve instead of the normal answer (see `FakeSlack::fail_next`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// HTTP 429 with `Retry-After: <secs>` and body `{"ok":false,"error":"ratelimited"}`.
    RateLimited { retry_after_secs: u64 },
    /// That HTTP status with a short plain-text body (not JSON).
    HttpStatus(u16),
    /// HTTP 200 `{"ok":false,"error":<code>}`.
    SlackError(String),
    /// Answer normally, but only after this delay.
    Delay(Duration),
    /// Do what the call asks at once, then hold the answer this long: Slack took the call,
    /// but a caller that dies or gives up meanwhile never hears so.
    AnswerLost(Duration),
    /// Do what the call asks, then answer this HTTP status: Slack took the call, yet the
    /// caller sees a server error.
    StatusAfterDoing(u16),
}

impl Failure {
    /// True for the failures served after the call has been carried out.
    pub(crate) fn after_doing(&self) -> bool {
        matches!(self, Failure::AnswerLost(_) | Failure::StatusAfterDoing(_))
    }
}

/// A message as the fake workspace now shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct PostedMessage {
    /// Channel ID; a `chat.postMessage` to a user ID `U…` is stored under its DM `D…`.
    pub channel: String,
    pub ts: String,
    pub thread_ts: Option<String>,
    pub text: String,
    /// The blocks as sent, or `Null` when none were sent.
    pub blocks: Value,
    /// For ephemeral messages: the user they are visible to.
    pub user: Option<String>,
    pub ephemeral: bool,
    /// Set once `chat.update` has changed it.
    pub updated: bool,
    /// The message metadata as sent (`{event_type, event_payload}`), or `Null`.
    pub metadata: Value,
}

/// One successful `views.open` / `views.push` / `views.update` / `views.publish`.
#[derive(Debug, Clone, PartialEq)]
pub struct OpenedView {
    pub method: String,
    pub view_id: String,
    pub trigger_id: Option<String>,
    /// `user_id` of `views.publish` (the Home tab's owner).
    pub user_id: Option<String>,
    /// The view as returned to the client (submitted fields plus id, hash, team_id, state...).
    pub view: Value,
}

/// A reaction added with `reactions.add`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Reaction {
    pub channel: String,
    pub timestamp: String,
    pub name: String,
}

/// A command for one live WebSocket connection's task.
#[derive(Debug)]
pub(crate) enum SocketCmd {
    Send(Value),
    Disconnect(String),
    Drop,
    Freeze,
}

pub(crate) struct SocketConn {
    pub id: u64,
    pub tx: mpsc::UnboundedSender<SocketCmd>,
    /// Sent a `disconnect` frame: still open, but no longer counted or sent envelopes.
    pub draining: bool,
}

#[derive(Default)]
pub(crate) struct Inner {
    pub calls: Vec<ApiCall>,
    pub failures: HashMap<String, VecDeque<Failure>>,
    pub always: HashMap<String, String>,
    pub canned: HashMap<String, Value>,
    pub users: HashMap<String, Value>,
    /// channel -> its members (`conversations.members`)
    pub members: HashMap<String, Vec<String>>,
    pub messages: Vec<PostedMessage>,
    /// Messages people wrote (`FakeSlack::add_person_message`): listed by history, not
    /// among the bot's posts.
    pub people: Vec<PostedMessage>,
    pub views: Vec<OpenedView>,
    /// view id -> (current hash, current view)
    pub live_views: HashMap<String, (String, Value)>,
    /// user id -> id of their Home tab view
    pub home_views: HashMap<String, String>,
    pub reactions: Vec<Reaction>,
    pub reaction_set: HashSet<Reaction>,
    ts_counter: u64,
    view_counter: u64,
    hash_counter: u64,
    pub tickets_issued: u64,
    pub sockets: Vec<SocketConn>,
    pub next_socket_id: u64,
    pub frames: Vec<Value>,
    /// WebSocket pings received from clients (each answered with a pong).
    pub pings: usize,
    pub acks_taken: HashSet<usize>,
    /// Where message timestamps and view ids start (see `FakeSlack::start_ids_at`); None is
    /// the fixed 1700000000 of the fixtures.
    pub id_epoch: Option<u64>,
}

impl Inner {
    /// Unique, increasing message timestamps: `1700000000.000100`, `1700000000.000200`, ...
    pub fn next_ts(&mut self) -> String {
        self.ts_counter += 1;
        let micros = self.ts_counter * 100;
        format!(
            "{}.{:06}",
            self.id_epoch.unwrap_or(1_700_000_000) + micros / 1_000_000,
            micros % 1_000_000
        )
    }

    pub fn next_view_id(&mut self) -> String {
        self.view_counter += 1;
        match self.id_epoch {
            None => format!("V0FAKE{:05}", self.view_counter),
            Some(epoch) => format!("V{epoch:X}{:05}", self.view_counter),
        }
    }

    pub fn next_hash(&mut self) -> String {
        self.hash_counter += 1;
        format!("1700000000.fk{:06}", self.hash_counter)
    }
}

/// Everything the server tasks and the `FakeSlack` handles share.
pub(crate) struct State {
    inner: Mutex<Inner>,
    /// Woken whenever a call is recorded.
    pub calls_changed: Notify,
    /// Woken whenever a socket connects, disconnects or sends a frame.
    pub socket_changed: Notify,
    /// `http://127.0.0.1:PORT`
    pub http_base: String,
    /// `ws://127.0.0.1:PORT`
    pub ws_base: String,
    /// Set to true once to stop the server and close every WebSocket.
    pub shutdown: watch::Sender<bool>,
}

impl State {
    pub fn new(http_base: String, ws_base: String) -> Self {
        State {
            inner: Mutex::new(Inner::default()),
            calls_changed: Notify::new(),
            socket_changed: Notify::new(),
            http_base,
            ws_base,
            shutdown: watch::Sender::new(false),
        }
    }

    /// The store; a panic elsewhere while holding it does not make it unusable.
    pub fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn record(&self, call: ApiCall) {
        tracing::debug!(method = %call.method, outcome = %call.outcome, "fake slack call");
        self.lock().calls.push(call);
        self.calls_changed.notify_waiters();
    }
}

/// Waits on `notify` until `check` returns `Some`, or `timeout` passes (then `None`).
/// Registers interest before each check, so no wake-up is missed.
pub(crate) async fn wait_until<T>(
    notify: &Notify,
    timeout: Duration,
    mut check: impl FnMut() -> Option<T>,
) -> Option<T> {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        let notified = notify.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        if let Some(found) = check() {
            return Some(found);
        }
        if tokio::time::timeout_at(deadline, notified).await.is_err() {
            return check();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_timestamps_increase_in_steps_of_one_hundred_microseconds() {
        let mut inner = Inner::default();
        assert_eq!(inner.next_ts(), "1700000000.000100");
        assert_eq!(inner.next_ts(), "1700000000.000200");
        for _ in 0..9_997 {
            inner.next_ts();
        }
        assert_eq!(inner.next_ts(), "1700000001.000000");
        assert_eq!(inner.next_ts(), "1700000001.000100");
    }

    #[test]
    fn an_id_epoch_moves_timestamps_and_view_ids_off_the_fixed_ones() {
        let mut inner = Inner {
            id_epoch: Some(1_800_000_000),
            ..Inner::default()
        };
        assert_eq!(inner.next_ts(), "1800000000.000100");
        assert_eq!(inner.next_view_id(), "V6B49D20000001");
    }
}
