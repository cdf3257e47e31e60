//! The context every capability gets: the pool, the clock, the policy, the metrics, the
//! wake-ups of the outbox sender and the timer scheduler, and the reads only the Slack edge
//! can answer at once (open a form, read a message, a channel's members, a person's profile)
//! as a port the edge implements. It sits below every capability and imports none.

pub mod inbox;
pub mod wake;
pub mod workers;

use crate::clock::{db_time, Clock};
use crate::input::{Input, Reply};
use crate::metrics::Metrics;
use crate::outbox::{self, OutboxMessage};
use crate::settings::Policy;
use crate::store::Pool;
use futures_util::future::BoxFuture;
use std::sync::{Arc, OnceLock};
use tokio::sync::{watch, Notify};
use wake::TimerWake;

/// Everything a capability needs.
pub struct Context {
    pub pool: Pool,
    pub policy: Arc<Policy>,
    pub clock: Arc<dyn Clock>,
    pub metrics: Arc<Metrics>,
    /// Wakes the outbox sender when rows were written.
    pub outbox_wake: Arc<Notify>,
    /// Wakes the timer scheduler when timers were written.
    pub timer_wake: Arc<TimerWake>,
    /// Wakes the job runner (scheduled jobs) to look at what is due now.
    pub jobs_wake: Arc<Notify>,
    /// PagerDuty is configured: breaches also page.
    pub paging_enabled: bool,
    /// The bot's own user id, learned from `auth.test` after start (None until then).
    pub bot_user: OnceLock<String>,
    /// What only the Slack edge does, called through this port.
    pub slack: Arc<dyn SlackPort>,
}

/// Failures that are ours, not the user's: logged, never shown in detail. The cause is kept
/// (`source`) so a log line shows the whole chain.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("storage failed")]
    Store(#[from] sqlx::Error),
    #[error("a Slack call failed: {0}")]
    Slack(String),
    #[error("{0}")]
    Other(#[from] anyhow::Error),
}

impl AppError {
    /// The error and every cause under it, `outer: inner: root`: what the one log line that
    /// reports a failure shows (`Display` alone would stop at "storage failed").
    pub fn chain(&self) -> String {
        let mut text = self.to_string();
        let mut cause = std::error::Error::source(self);
        while let Some(c) = cause {
            text.push_str(": ");
            text.push_str(&c.to_string());
            cause = c.source();
        }
        text
    }
}

/// A person as `users.info` describes them: what the bot reads of a profile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Person {
    pub id: String,
    /// Their IANA timezone, as set in their Slack profile.
    pub tz: Option<String>,
    pub is_bot: bool,
    /// Deactivated.
    pub deleted: bool,
}

/// One page of a channel's members (`conversations.members`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MembersPage {
    pub members: Vec<String>,
    /// The cursor of the next page; None on the last.
    pub next: Option<String>,
}

/// The Slack calls a capability cannot make by writing an outbox row, because it needs
/// their answer now. The edge implements them; capabilities never see Slack's client.
pub trait SlackPort: Send + Sync {
    /// One page of `channel`'s members, from `cursor` (None: the first page).
    fn members<'a>(
        &'a self,
        channel: &'a str,
        cursor: Option<&'a str>,
    ) -> BoxFuture<'a, Result<MembersPage, AppError>>;

    /// `users.info` of `user`, read afresh; None when Slack knows no such user.
    fn person<'a>(&'a self, user: &'a str) -> BoxFuture<'a, Result<Option<Person>, AppError>>;

    /// Opens a modal for `trigger_id` (valid for 3 s after Slack sent it): `views.open`.
    fn open_view<'a>(
        &'a self,
        trigger_id: &'a str,
        view: serde_json::Value,
    ) -> BoxFuture<'a, Result<(), AppError>>;

    /// The message at `ts` in `channel`, a top-level message or a thread reply, as Slack
    /// returns it; None when it cannot be found or read.
    fn message<'a>(
        &'a self,
        channel: &'a str,
        ts: &'a str,
    ) -> BoxFuture<'a, Result<Option<serde_json::Value>, AppError>>;
}

/// What the edge hands every input to (the dispatch, wired by `app`): the edge imports no
/// capability.
pub trait Handler: Send + Sync {
    fn handle(&self, input: Input) -> BoxFuture<'_, Result<Reply, AppError>>;
}

impl Context {
    /// The injected clock was moved (tests, the sandbox's clock control): the timer
    /// scheduler and the job runner look again at what is due, instead of sleeping on.
    pub fn clock_moved(&self) {
        self.timer_wake.notify_one();
        self.jobs_wake.notify_one();
    }

    pub fn bot_user_id(&self) -> Option<String> {
        self.bot_user.get().cloned()
    }

    /// True when `key` is already in the inbox.
    pub async fn already_seen(&self, key: &str) -> Result<bool, AppError> {
        let mut conn = self.pool.acquire().await?;
        Ok(inbox::has(&mut conn, key).await?)
    }

    /// Writes `messages` to the outbox unless any of `dedupe` was seen before, in one
    /// transaction. Returns false for a repeat.
    pub async fn say_once(
        &self,
        dedupe: Vec<String>,
        messages: Vec<OutboxMessage>,
    ) -> Result<bool, AppError> {
        let now = db_time(self.clock.now());
        let mut tx = self.pool.begin_with("begin immediate").await?;
        let mut seen = false;
        for key in &dedupe {
            seen |= !inbox::add(&mut tx, key, &now).await?;
        }
        if !seen {
            let rows: Vec<_> = messages.into_iter().map(|m| (None, m)).collect();
            outbox::db::insert_all(&mut tx, &rows, &now).await?;
        }
        tx.commit().await?;
        self.outbox_wake.notify_one();
        Ok(!seen)
    }
}

/// Resolves once `stop` turns true (or its sender is gone).
pub async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|s| *s).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_storage_failure_is_reported_with_its_cause() {
        let err = AppError::from(sqlx::Error::PoolTimedOut);
        let chain = err.chain();
        assert!(chain.starts_with("storage failed: "), "{chain}");
        assert!(chain.contains("timed out"), "{chain}");
    }
}
