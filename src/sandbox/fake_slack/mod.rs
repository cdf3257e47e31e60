//! A fake Slack Web API and Socket Mode server for integration tests and the local sandbox: `FakeSlack` starts it, configures failures and reads back what it saw.
//!
//! ```text
//! let slack = FakeSlack::start().await;
//! // point the client at slack.api_url(), with a `Bearer xoxb-...` token
//! slack.fail_next("chat.postMessage", [Failure::RateLimited { retry_after_secs: 1 }]);
//! let posts = slack.wait_for("chat.postMessage", 1, Duration::from_secs(5)).await;
//! ```

mod api;
mod methods;
mod socket;
mod state;
#[cfg(test)]
mod tests;

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;
use tokio::task::JoinHandle;

use state::{wait_until, State};
pub use state::{
    ApiCall, Failure, OpenedView, PostedMessage, Reaction, APP_ID, BOT_ID, BOT_NAME, BOT_USER_ID,
    TEAM_ID, TEAM_NAME,
};

/// A running fake Slack. Clones share one server, which stops when the last clone is
/// dropped or on `shutdown()`.
#[derive(Clone)]
pub struct FakeSlack {
    inner: Arc<Handle>,
}

struct Handle {
    state: Arc<State>,
    addr: SocketAddr,
    server: Mutex<Option<JoinHandle<()>>>,
}

impl Drop for Handle {
    fn drop(&mut self) {
        self.state.shutdown.send_replace(true);
    }
}

impl std::fmt::Debug for FakeSlack {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeSlack")
            .field("addr", &self.inner.addr)
            .finish()
    }
}

impl FakeSlack {
    /// Starts on `127.0.0.1` with a free port. Panics if it cannot bind (test helper).
    pub async fn start() -> FakeSlack {
        FakeSlack::start_on(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))
            .await
            .expect("fake slack: cannot bind 127.0.0.1:0")
    }

    /// Starts on the given address (port 0 picks a free one). URLs it hands out use
    /// `127.0.0.1` when bound to an unspecified address such as `0.0.0.0`.
    pub async fn start_on(addr: SocketAddr) -> std::io::Result<FakeSlack> {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let mut addr = listener.local_addr()?;
        let host = if addr.ip().is_unspecified() {
            SocketAddr::from((Ipv4Addr::LOCALHOST, addr.port()))
        } else {
            addr
        };
        let state = Arc::new(State::new(format!("http://{host}"), format!("ws://{host}")));
        let app = api::router(state.clone());
        let mut stop = state.shutdown.subscribe();
        let server = tokio::spawn(async move {
            let stopped = async move {
                let _ = stop.wait_for(|stop| *stop).await;
            };
            if let Err(error) = axum::serve(listener, app)
                .with_graceful_shutdown(stopped)
                .await
            {
                tracing::warn!(%error, "fake slack server failed");
            }
        });
        addr.set_ip(host.ip());
        tracing::debug!(api_url = %format!("http://{host}/api"), "fake slack listening");
        Ok(FakeSlack {
            inner: Arc::new(Handle {
                state,
                addr,
                server: Mutex::new(Some(server)),
            }),
        })
    }

    /// Stops accepting requests, closes WebSockets and waits (up to 5 s) for the server to end.
    pub async fn shutdown(&self) {
        self.inner.state.shutdown.send_replace(true);
        let server = self
            .inner
            .server
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        if let Some(mut server) = server {
            if tokio::time::timeout(Duration::from_secs(5), &mut server)
                .await
                .is_err()
            {
                server.abort();
            }
        }
    }

    /// The address URLs are built from (`127.0.0.1:PORT`).
    pub fn addr(&self) -> SocketAddr {
        self.inner.addr
    }

    /// `http://127.0.0.1:PORT/api`, no trailing slash: methods are POSTed to `{api_url}/{method}`.
    pub fn api_url(&self) -> String {
        format!("{}/api", self.inner.state.http_base)
    }

    /// `http://127.0.0.1:PORT/response/<id>`: POSTs there are recorded as method `response_url`.
    pub fn response_url_for(&self, id: &str) -> String {
        format!("{}/response/{id}", self.inner.state.http_base)
    }

    /// Every call, in the order they were answered.
    pub fn calls(&self) -> Vec<ApiCall> {
        self.inner.state.lock().calls.clone()
    }

    /// Every call to `method`, whatever its outcome.
    pub fn calls_to(&self, method: &str) -> Vec<ApiCall> {
        let inner = self.inner.state.lock();
        inner
            .calls
            .iter()
            .filter(|c| c.method == method)
            .cloned()
            .collect()
    }

    /// The calls to `method` that were answered `ok:true`.
    pub fn successful_calls_to(&self, method: &str) -> Vec<ApiCall> {
        let inner = self.inner.state.lock();
        inner
            .calls
            .iter()
            .filter(|c| c.method == method && c.is_ok())
            .cloned()
            .collect()
    }

    /// Waits until at least `n` calls to `method` succeeded, and returns them all; at
    /// `timeout` returns what there is (possibly fewer than `n`).
    pub async fn wait_for(&self, method: &str, n: usize, timeout: Duration) -> Vec<ApiCall> {
        let found = wait_until(&self.inner.state.calls_changed, timeout, || {
            let calls = self.successful_calls_to(method);
            (calls.len() >= n).then_some(calls)
        })
        .await;
        found.unwrap_or_else(|| self.successful_calls_to(method))
    }

    /// Forgets the recorded calls (messages, views, failures and sockets stay).
    pub fn clear(&self) {
        self.inner.state.lock().calls.clear();
    }

    /// Queues failures for `method`; each is served to one call, in order, before normal answers
    /// resume. Use `"response_url"` for response URL posts.
    pub fn fail_next(&self, method: &str, failures: impl IntoIterator<Item = Failure>) {
        let mut inner = self.inner.state.lock();
        inner
            .failures
            .entry(method.to_string())
            .or_default()
            .extend(failures);
    }

    /// Makes every call to `method` answer `{"ok":false,"error":code}` (after queued failures),
    /// or stops doing so with `None`.
    pub fn set_slack_error_always(&self, method: &str, error: Option<String>) {
        let mut inner = self.inner.state.lock();
        match error {
            Some(code) => inner.always.insert(method.to_string(), code),
            None => inner.always.remove(method),
        };
    }

    /// Replaces the built-in success answer of `method` with `response` (`ok:true` is added),
    /// e.g. `usergroups.users.list` → `{"users":["U1"]}`; `None` restores the built-in one.
    /// A canned method no longer changes the message/view store.
    pub fn set_response(&self, method: &str, response: Option<Value>) {
        let mut inner = self.inner.state.lock();
        match response {
            Some(value) => inner.canned.insert(method.to_string(), value),
            None => inner.canned.remove(method),
        };
    }

    /// Sets what `users.info` answers for `user["id"]` (the whole `user` object).
    pub fn set_user(&self, user: Value) {
        if let Some(id) = user.get("id").and_then(Value::as_str) {
            let id = id.to_string();
            self.inner.state.lock().users.insert(id, user);
        }
    }

    /// Sets the members `conversations.members` lists for `channel`, paged by the
    /// request's `limit` with an opaque cursor, as Slack pages them.
    pub fn set_members(&self, channel: &str, members: Vec<String>) {
        self.inner
            .state
            .lock()
            .members
            .insert(channel.to_string(), members);
    }

    /// Starts message timestamps (`<epoch>.000100`, ...) and view ids from `epoch_secs`
    /// instead of the fixed ones, so a database that outlives this fake (the sandbox's)
    /// never sees the same `ts` or view id twice across runs.
    pub fn start_ids_at(&self, epoch_secs: u64) {
        self.inner.state.lock().id_epoch = Some(epoch_secs);
    }

    /// Messages as the workspace shows them now, in posting order (updates applied in place).
    pub fn messages(&self) -> Vec<PostedMessage> {
        self.inner.state.lock().messages.clone()
    }

    /// Records a message a person wrote (the sandbox's typed messages), so that
    /// `conversations.history` and `conversations.replies` list it as Slack would. It is not
    /// among `messages()`, which are what the bot posted.
    pub fn add_person_message(
        &self,
        channel: &str,
        ts: &str,
        thread_ts: Option<&str>,
        user: &str,
        text: &str,
    ) {
        self.inner.state.lock().people.push(PostedMessage {
            channel: channel.to_string(),
            ts: ts.to_string(),
            thread_ts: thread_ts.map(str::to_string),
            text: text.to_string(),
            blocks: Value::Null,
            user: Some(user.to_string()),
            ephemeral: false,
            updated: false,
            metadata: Value::Null,
        });
    }

    /// Every successful views.open / push / update / publish, in order.
    pub fn views(&self) -> Vec<OpenedView> {
        self.inner.state.lock().views.clone()
    }

    /// Reactions added, in order.
    pub fn reactions(&self) -> Vec<Reaction> {
        self.inner.state.lock().reactions.clone()
    }
}
