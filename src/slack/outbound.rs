//! The outbox sender: delivers pending rows to the Web API in order per channel, paced per
//! channel, honouring 429 Retry-After per method, retrying transient failures with backoff
//! and giving up visibly (row marked failed, logged, counted) after a bounded number.
//!
//! Pacing and backoff run on the monotonic clock: they are delivery mechanics, not business
//! time, so they do not follow the injected `Clock`.

use super::web_api::{CallError, WebApi};
use crate::clock::{db_time, parse_db_time};
use crate::outbox::{db, PendingRow, Purpose};
use crate::settings::Delivery;
use crate::store::Pool;
use crate::tickets;
use crate::web::metrics::Metrics;
use chrono::Utc;
use futures_util::{stream, StreamExt};
use serde_json::Value;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{watch, Notify};
use tokio::time::Instant;

/// How many calls may be in flight at once (each to a different channel).
const MAX_IN_FLIGHT: usize = 16;
/// How many channel heads one pass looks at.
const HEADS_PER_PASS: i64 = 256;
/// Wake up at least this often even if nothing said so (a safety net, not a poll).
const IDLE_WAKE: Duration = Duration::from_secs(60);
/// The shortest time between two passes started by wakes (a pass due by its own deadline
/// runs on time).
const MIN_PASS_GAP: Duration = Duration::from_millis(20);

/// Per-channel token bucket: `burst` messages at once, then one per `interval`.
#[derive(Debug)]
struct Bucket {
    tokens: f64,
    last: Instant,
}

impl Bucket {
    fn take(&mut self, now: Instant, interval: Duration, burst: u32) -> Result<(), Instant> {
        let refill = now.saturating_duration_since(self.last).as_secs_f64()
            / interval.as_secs_f64().max(1e-6);
        self.tokens = (self.tokens + refill).min(burst as f64);
        self.last = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            Ok(())
        } else {
            Err(now + interval.mul_f64(1.0 - self.tokens))
        }
    }
}

/// Where pages go: PagerDuty's Events API v2 and the routing key (a secret: added at send
/// time, never stored in the outbox).
#[derive(Clone)]
pub struct Paging {
    pub url: String,
    pub routing_key: crate::settings::Secret,
}

/// What the sender needs to render a ticket's card when it sends it: the card shows the
/// ticket as it is then, and no request or timer path pays for rendering it.
#[derive(Clone)]
pub struct CardRenderer {
    pub policy: Arc<crate::settings::Policy>,
    pub clock: Arc<dyn crate::clock::Clock>,
}

pub struct Sender {
    pool: Pool,
    api: WebApi,
    paging: Option<Paging>,
    cards: CardRenderer,
    delivery: Delivery,
    metrics: Arc<Metrics>,
    buckets: HashMap<String, Bucket>,
    blocked_until: HashMap<String, Instant>,
}

impl Sender {
    pub fn new(
        pool: Pool,
        api: WebApi,
        paging: Option<Paging>,
        cards: CardRenderer,
        delivery: Delivery,
        metrics: Arc<Metrics>,
    ) -> Self {
        Self {
            pool,
            api,
            paging,
            cards,
            delivery,
            metrics,
            buckets: HashMap::new(),
            blocked_until: HashMap::new(),
        }
    }

    /// Delivers until `shutdown` turns true; a call in flight is finished first.
    pub async fn run(mut self, wake: Arc<Notify>, mut shutdown: watch::Receiver<bool>) {
        loop {
            let next = match self.step().await {
                Ok(next) => next,
                Err(err) => {
                    tracing::error!(error = %err, "outbox sender could not read the outbox");
                    Some(Instant::now() + Duration::from_secs(1))
                }
            };
            let passed = Instant::now();
            let deadline = next.unwrap_or_else(|| passed + IDLE_WAKE);
            tokio::select! {
                _ = wake.notified() => {
                    // Under load every commit wakes the sender: pass at most every
                    // `MIN_PASS_GAP`, letting the wakes of a burst fold into one pass.
                    let earliest = (passed + MIN_PASS_GAP).min(deadline);
                    tokio::select! {
                        _ = tokio::time::sleep_until(earliest) => {}
                        _ = crate::app::stopped(&mut shutdown) => break,
                    }
                }
                _ = tokio::time::sleep_until(deadline) => {}
                _ = crate::app::stopped(&mut shutdown) => break,
            }
        }
        tracing::debug!("outbox sender stopped");
    }

    /// One pass: sends every channel head that is due and within its channel's pace.
    /// Returns when the next pass should run (None: nothing pending).
    pub async fn step(&mut self) -> anyhow::Result<Option<Instant>> {
        let heads = db::channel_heads(&mut *self.pool.acquire().await?, HEADS_PER_PASS).await?;
        let now = Instant::now();
        let wall = Utc::now();
        let mut earliest: Option<Instant> = None;
        let mut due = Vec::new();
        for row in heads {
            if let Some(at) = row.next_attempt_at.as_deref().and_then(parse_db_time) {
                if at > wall {
                    let wait = (at - wall).to_std().unwrap_or_default();
                    earliest = min(earliest, now + wait);
                    continue;
                }
            }
            if let Some(until) = self.blocked_until.get(&row.method) {
                if *until > now {
                    earliest = min(earliest, *until);
                    continue;
                }
            }
            let burst = self.delivery.channel_burst;
            let bucket = self.buckets.entry(row.channel.clone()).or_insert(Bucket {
                tokens: burst as f64,
                last: now,
            });
            match bucket.take(now, self.delivery.channel_interval, burst) {
                Ok(()) => due.push(row),
                Err(ready) => earliest = min(earliest, ready),
            }
        }
        if due.is_empty() {
            return Ok(earliest);
        }
        let mut prepared = Vec::with_capacity(due.len());
        for row in due {
            let payload = self.prepare(&row).await?;
            prepared.push((row, payload));
        }
        let api = &self.api;
        let paging = &self.paging;
        let mut calls = stream::iter(prepared)
            .map(|(row, payload)| async move {
                let result = match (payload, row.method.as_str(), paging) {
                    (Ok(mut payload), crate::oncall::paging::METHOD, Some(paging)) => {
                        payload["routing_key"] =
                            Value::String(paging.routing_key.expose().to_string());
                        api.post_json(&paging.url, &payload).await
                    }
                    (Ok(_), crate::oncall::paging::METHOD, None) => Err(CallError::Permanent(
                        "PAGERDUTY_ROUTING_KEY is not set".into(),
                    )),
                    (Ok(payload), method, _) => api.call(method, &payload).await,
                    (Err(missing), _, _) => Err(missing),
                };
                let result = benign(&row.method, result);
                (row, result)
            })
            .buffer_unordered(MAX_IN_FLIGHT);
        // Each answer is recorded as soon as it comes, not when the pass's slowest call ends:
        // a row Slack has taken but the outbox still calls pending is sent again after a
        // crash, so that window stays one small transaction wide.
        let mut blocked = Vec::new();
        while let Some((row, result)) = calls.next().await {
            if let Some(until) = self.record(&row, result).await? {
                blocked.push((row.method, until));
            }
        }
        drop(calls);
        self.blocked_until.extend(blocked);
        // More may be ready at once (the next row of a channel with burst left).
        Ok(Some(Instant::now()))
    }

    /// The body to send: as stored, with a card update's channel and `ts` filled in.
    async fn prepare(&self, row: &PendingRow) -> anyhow::Result<Result<Value, CallError>> {
        let mut payload: Value = serde_json::from_str(&row.payload).unwrap_or(Value::Null);
        if let (Purpose::TicketCard | Purpose::CardUpdate, Some(id)) = (row.purpose, row.ticket_id)
        {
            let ticket = tickets::db::by_id(&mut *self.pool.acquire().await?, id).await?;
            let Some(ticket) = ticket else {
                return Ok(Err(CallError::Permanent("the ticket is gone".into())));
            };
            payload = tickets::messages::card(
                &ticket,
                &self.cards.policy,
                &row.channel,
                self.cards.clock.now(),
            );
        }
        if let (Purpose::CardUpdate | Purpose::CardThread, Some(ticket)) =
            (row.purpose, row.ticket_id)
        {
            match tickets::db::card_of(&mut *self.pool.acquire().await?, ticket).await? {
                Some((channel, ts)) => {
                    payload["channel"] = Value::String(channel);
                    let field = if row.purpose == Purpose::CardUpdate {
                        "ts"
                    } else {
                        "thread_ts"
                    };
                    payload[field] = Value::String(ts);
                }
                // Rows of a channel go in order, so the card's own post came first: it failed.
                None => {
                    return Ok(Err(CallError::Permanent(
                        "the ticket has no card to update".into(),
                    )))
                }
            }
        }
        Ok(Ok(payload))
    }

    /// Marks `row` by Slack's answer, in one transaction. Returns how long Slack holds back
    /// the row's method (a 429), for the caller to remember.
    async fn record(
        &self,
        row: &PendingRow,
        result: Result<Value, CallError>,
    ) -> anyhow::Result<Option<Instant>> {
        let mut blocked = None;
        let mut tx = self.pool.begin_with("begin immediate").await?;
        match result {
            Ok(answer) => {
                let ts = answer
                    .get("ts")
                    .or_else(|| answer.get("message_ts"))
                    .and_then(Value::as_str);
                db::mark_sent(&mut tx, row.id, &db_time(Utc::now()), ts).await?;
                if let (Purpose::TicketCard, Some(ticket), Some(ts)) =
                    (row.purpose, row.ticket_id, ts)
                {
                    let channel = answer
                        .get("channel")
                        .and_then(Value::as_str)
                        .unwrap_or(&row.channel);
                    tickets::db::set_card(&mut tx, ticket, channel, ts).await?;
                }
                Metrics::inc(&self.metrics.outbox_sent);
            }
            Err(CallError::RateLimited(wait)) => {
                // Slack limits per method: hold that method back, count no attempt.
                tracing::warn!(row = row.id, method = %row.method, retry_after_secs = wait.as_secs(), "Slack rate limited the outbox");
                blocked = Some(Instant::now() + wait);
                Metrics::inc(&self.metrics.outbox_rate_limited);
            }
            Err(CallError::Transient(error))
                if (row.attempts + 1) < self.delivery.max_attempts as i64 =>
            {
                let wait = self.backoff(row.attempts + 1);
                let next = Utc::now() + chrono::Duration::from_std(wait).unwrap_or_default();
                tracing::warn!(row = row.id, method = %row.method, channel = %row.channel, attempt = row.attempts + 1, %error, retry_in_ms = wait.as_millis() as u64, "outbox delivery failed; will retry");
                db::mark_retry(&mut tx, row.id, &db_time(next), &error).await?;
                Metrics::inc(&self.metrics.outbox_retries);
            }
            Err(CallError::Transient(error) | CallError::Permanent(error)) => {
                tracing::error!(row = row.id, method = %row.method, channel = %row.channel, attempts = row.attempts + 1, %error, "outbox delivery gave up; message marked failed");
                db::mark_failed(&mut tx, row.id, &error).await?;
                Metrics::inc(&self.metrics.outbox_failed);
            }
        }
        tx.commit().await?;
        Ok(blocked)
    }

    /// Exponential backoff from `retry_base`, capped at `retry_max`.
    fn backoff(&self, attempt: i64) -> Duration {
        let factor = 2u32.saturating_pow((attempt.max(1) - 1).min(30) as u32);
        self.delivery
            .retry_base
            .saturating_mul(factor)
            .min(self.delivery.retry_max)
    }
}

/// Answers that mean the desired state already holds.
fn benign(method: &str, result: Result<Value, CallError>) -> Result<Value, CallError> {
    match (method, &result) {
        ("reactions.add", Err(CallError::Permanent(e))) if e == "already_reacted" => {
            Ok(Value::Null)
        }
        ("reactions.remove", Err(CallError::Permanent(e))) if e == "no_reaction" => Ok(Value::Null),
        _ => result,
    }
}

fn min(a: Option<Instant>, b: Instant) -> Option<Instant> {
    Some(a.map_or(b, |a| a.min(b)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_channel_bucket_allows_a_burst_then_one_per_interval() {
        let start = Instant::now();
        let mut b = Bucket {
            tokens: 3.0,
            last: start,
        };
        let second = Duration::from_secs(1);
        for _ in 0..3 {
            assert!(b.take(start, second, 3).is_ok());
        }
        let ready = b.take(start, second, 3).unwrap_err();
        assert_eq!(ready, start + second);
        assert!(b.take(start + second, second, 3).is_ok());
    }
}
