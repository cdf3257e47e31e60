//! The outbox sender: delivers pending rows to the Web API in order per lane (a method and
//! its channel, or one card's updates: see `outbox`), paced per Slack method
//! (`outbox::pacing`), honouring 429 Retry-After per method, retrying transient failures
//! with backoff and giving up visibly (row marked failed, logged, counted) after a bounded
//! number.
//!
//! Pacing and backoff run on the monotonic clock: they are delivery mechanics, not business
//! time, so they do not follow the injected `Clock`.

use super::already_posted;
use super::web_api::{CallError, WebApi};
use crate::clock::{db_time, parse_db_time};
use crate::metrics::Metrics;
use crate::outbox::pacing::Pacer;
use crate::outbox::{db, Cards, PendingRow, Purpose, PAGERDUTY, RESPOND};
use crate::settings::Delivery;
use crate::store::Pool;
use chrono::Utc;
use futures_util::future::BoxFuture;
use futures_util::stream::FuturesUnordered;
use futures_util::StreamExt;
use serde_json::{json, Value};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{watch, Notify};
use tokio::time::Instant;

/// The one method whose lost answers are searched for (`already_posted`): the others are
/// updates and reactions, which are harmless to repeat, or ephemeral, which cannot be read.
const POST: &str = "chat.postMessage";
/// Marks an answer made up from a post found in the channel rather than from a new post.
const ALREADY_POSTED: &str = "already_posted";
/// How many calls may be in flight at once (each in a different lane).
const MAX_IN_FLIGHT: usize = 16;
/// How many lane heads one pass looks at.
const HEADS_PER_PASS: i64 = 256;
/// Wake up at least this often even if nothing said so (a safety net, not a poll).
const IDLE_WAKE: Duration = Duration::from_secs(60);
/// The shortest time between two passes started by wakes (a pass due by its own deadline
/// runs on time).
const MIN_PASS_GAP: Duration = Duration::from_millis(20);
/// The first wait before recording an answer again after the database refused it, and the
/// longest.
const RECORD_RETRY_FIRST: Duration = Duration::from_millis(250);
const RECORD_RETRY_MAX: Duration = Duration::from_secs(10);

/// Where pages go: PagerDuty's Events API v2 and the routing key (a secret: added at send
/// time, never stored in the outbox).
#[derive(Clone)]
pub struct Paging {
    pub url: String,
    pub routing_key: crate::settings::Secret,
}

pub struct Sender {
    pool: Pool,
    api: WebApi,
    paging: Option<Paging>,
    /// Renders a ticket's card when it is sent: the card shows the ticket as it is then,
    /// and no request or timer path pays for rendering it.
    cards: Arc<dyn Cards>,
    delivery: Delivery,
    metrics: Arc<Metrics>,
    pacer: Pacer,
    blocked_until: HashMap<String, Instant>,
}

impl Sender {
    pub fn new(
        pool: Pool,
        api: WebApi,
        paging: Option<Paging>,
        cards: Arc<dyn Cards>,
        delivery: Delivery,
        metrics: Arc<Metrics>,
    ) -> Self {
        Self {
            pool,
            api,
            paging,
            cards,
            pacer: Pacer::new(&delivery),
            delivery,
            metrics,
            blocked_until: HashMap::new(),
        }
    }

    /// Delivers until `shutdown` turns true; calls in flight are finished (and recorded)
    /// first.
    ///
    /// Each lane has at most one call in flight, which keeps its order; lanes do not wait
    /// for each other. A call Slack is slow to answer holds back only its own lane.
    pub async fn run(mut self, wake: Arc<Notify>, mut shutdown: watch::Receiver<bool>) {
        let mut calls = Calls::default();
        let mut next_pass = Some(Instant::now());
        let mut last_pass = Instant::now();
        loop {
            if calls.record_again_at.is_some_and(|at| at <= Instant::now()) {
                self.record_again(&mut calls).await;
            }
            if next_pass.is_some_and(|at| at <= Instant::now()) {
                next_pass = match self.start_due(&mut calls).await {
                    Ok(next) => next,
                    Err(err) => {
                        tracing::error!(error = %err, "outbox sender could not read the outbox");
                        Some(Instant::now() + Duration::from_secs(1))
                    }
                };
                last_pass = Instant::now();
            }
            let deadline = next_pass.unwrap_or_else(|| Instant::now() + IDLE_WAKE);
            let deadline = calls
                .record_again_at
                .map_or(deadline, |at| at.min(deadline));
            // Under load every commit wakes the sender, and every answer frees a channel:
            // pass at most every `MIN_PASS_GAP`, letting a burst of them fold into one pass.
            let soon = min(next_pass, last_pass + MIN_PASS_GAP);
            tokio::select! {
                Some((row, result)) = calls.in_flight.next(), if !calls.in_flight.is_empty() => {
                    if self.record_logged(&row, &result).await {
                        calls.busy.remove(&row.lane);
                    } else {
                        calls.keep_unrecorded(row, result);
                    }
                    // The lane's next row may be due now, or an update its card waited for.
                    next_pass = soon;
                }
                _ = wake.notified() => next_pass = soon,
                _ = tokio::time::sleep_until(deadline) => {
                    if next_pass.is_none_or(|at| at <= Instant::now()) {
                        next_pass = Some(Instant::now());
                    }
                }
                _ = crate::context::stopped(&mut shutdown) => break,
            }
        }
        while let Some((row, result)) = calls.in_flight.next().await {
            if !self.record_logged(&row, &result).await {
                calls.keep_unrecorded(row, result);
            }
        }
        if !calls.unrecorded.is_empty() {
            self.record_again(&mut calls).await;
        }
        for (row, _) in &calls.unrecorded {
            tracing::error!(row = row.id, "outbox sender stopped before it could record Slack's answer; the row will be sent again after the restart");
        }
        tracing::debug!("outbox sender stopped");
    }

    /// Starts a call for every lane head that is due, within its method's pace and not
    /// already in flight (up to `MAX_IN_FLIGHT` at once). Returns when the next pass should
    /// run for rows not yet due (None: none known).
    async fn start_due(&mut self, calls: &mut Calls) -> anyhow::Result<Option<Instant>> {
        let heads = db::lane_heads(&mut *self.pool.acquire().await?, HEADS_PER_PASS).await?;
        let now = Instant::now();
        let wall = Utc::now();
        let mut earliest: Option<Instant> = None;
        let mut starting = Vec::new();
        for row in heads {
            if calls.in_flight.len() + starting.len() >= MAX_IN_FLIGHT {
                // A finished call starts the next pass.
                break;
            }
            // The lane's head is the very row whose call is in flight.
            if calls.busy.contains(&row.lane) {
                continue;
            }
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
            if let Some(ready) = self.pacer.ready_at(&row.method, &row.channel, now) {
                earliest = min(earliest, ready);
                continue;
            }
            // Heads are one per lane, so the lane is marked busy only once its call is sure
            // to start (below): an error before then strands no lane.
            let payload = match self.prepare(&row).await? {
                // Its card's post is still to go: recording that post starts the next pass.
                Prepared::Wait => continue,
                Prepared::Send(payload) => {
                    self.pacer.take(&row.method, &row.channel, now);
                    Ok(payload)
                }
                Prepared::Fail(error) => Err(error),
            };
            starting.push((row, payload));
        }
        // A post's start is on disk before its call: after a crash, the restarted sender
        // knows which posts Slack may have taken without answering.
        let posts: Vec<i64> = starting
            .iter()
            .filter(|(row, payload)| row.method == POST && payload.is_ok())
            .map(|(row, _)| row.id)
            .collect();
        if !posts.is_empty() {
            let marked = async {
                let mut tx = self.pool.begin_with("begin immediate").await?;
                db::mark_started(&mut tx, &posts, &db_time(Utc::now())).await?;
                tx.commit().await
            };
            marked.await?;
        }
        for (row, payload) in starting {
            calls.busy.insert(row.lane.clone());
            calls.in_flight.push(Box::pin(call(
                self.api.clone(),
                self.paging.clone(),
                row,
                payload,
            )));
        }
        Ok(earliest)
    }

    /// The body to send: as stored, with a card update's channel and `ts` filled in; or
    /// `Wait` while the card itself is still to be posted.
    async fn prepare(&self, row: &PendingRow) -> anyhow::Result<Prepared> {
        let mut payload: Value = serde_json::from_str(&row.payload).unwrap_or(Value::Null);
        if let (Purpose::CardUpdate | Purpose::CardThread, Some(ticket)) =
            (row.purpose, row.ticket_id)
        {
            let mut conn = self.pool.acquire().await?;
            let Some((channel, ts)) = self.cards.card_of(&mut conn, ticket).await? else {
                // A card's updates have a lane of their own, so they may come before the
                // card's post: they wait for it. With no post to come, it failed.
                if db::card_post_pending(&mut conn, &row.channel, ticket).await? {
                    return Ok(Prepared::Wait);
                }
                return Ok(Prepared::Fail(CallError::Permanent(
                    "the ticket has no card to update".into(),
                )));
            };
            payload["channel"] = Value::String(channel);
            let field = if row.purpose == Purpose::CardUpdate {
                "ts"
            } else {
                "thread_ts"
            };
            payload[field] = Value::String(ts);
        }
        if let (Purpose::TicketCard | Purpose::CardUpdate, Some(id)) = (row.purpose, row.ticket_id)
        {
            let card = self
                .cards
                .render(&mut *self.pool.acquire().await?, id, &row.channel)
                .await?;
            let Some(card) = card else {
                return Ok(Prepared::Fail(CallError::Permanent(
                    "the ticket is gone".into(),
                )));
            };
            let (channel, ts) = (payload["channel"].clone(), payload["ts"].clone());
            payload = card;
            if row.purpose == Purpose::CardUpdate {
                payload["channel"] = channel;
                payload["ts"] = ts;
            }
        }
        Ok(Prepared::Send(payload))
    }

    /// Records Slack's answer as soon as it comes: a row Slack has taken but the outbox
    /// still calls pending is sent again after a crash, so that window stays one small
    /// transaction wide. False if the database refused (busy past its timeout, a full
    /// disk): the caller keeps the answer and its lane held, and records it again later,
    /// rather than let the pending row be sent a second time.
    async fn record_logged(&mut self, row: &PendingRow, result: &Result<Value, CallError>) -> bool {
        match self.record(row, result).await {
            Ok(()) => true,
            Err(err) => {
                tracing::error!(row = row.id, channel = %row.channel, error = %err, "outbox sender could not record Slack's answer; will record it again before its lane sends more");
                false
            }
        }
    }

    /// Tries again to record the answers the database refused; a recorded one frees its
    /// lane.
    async fn record_again(&mut self, calls: &mut Calls) {
        let waiting = std::mem::take(&mut calls.unrecorded);
        for (row, result) in waiting {
            if self.record(&row, &result).await.is_ok() {
                tracing::info!(
                    row = row.id,
                    "outbox sender recorded Slack's answer after all"
                );
                calls.busy.remove(&row.lane);
            } else {
                calls.unrecorded.push((row, result));
            }
        }
        calls.schedule_record_again();
    }

    /// Marks `row` by Slack's answer, in one transaction. Counters and the method's rate
    /// limit change only once it is committed, so a refused record can be tried again.
    async fn record(
        &mut self,
        row: &PendingRow,
        result: &Result<Value, CallError>,
    ) -> anyhow::Result<()> {
        let mut tx = self.pool.begin_with("begin immediate").await?;
        let counter = match result {
            Ok(answer) => {
                let ts = answer
                    .get("ts")
                    .or_else(|| answer.get("message_ts"))
                    .and_then(Value::as_str);
                db::mark_sent(&mut tx, row.id, &db_time(Utc::now()), ts).await?;
                if answer.get(ALREADY_POSTED).is_some() {
                    tracing::info!(row = row.id, channel = %row.channel, ts, "Slack already had a post whose answer was lost; not posting it again");
                    Metrics::inc(&self.metrics.outbox_already_posted);
                }
                if let (Purpose::TicketCard, Some(ticket), Some(ts)) =
                    (row.purpose, row.ticket_id, ts)
                {
                    let channel = answer
                        .get("channel")
                        .and_then(Value::as_str)
                        .unwrap_or(&row.channel);
                    self.cards.set_card(&mut tx, ticket, channel, ts).await?;
                }
                &self.metrics.outbox_sent
            }
            Err(CallError::RateLimited(wait)) => {
                // Slack limits per method: hold that method back, count no attempt.
                tracing::warn!(row = row.id, method = %row.method, retry_after_secs = wait.as_secs(), "Slack rate limited the outbox");
                self.blocked_until
                    .insert(row.method.clone(), Instant::now() + *wait);
                // A 429 to a post this pass started took nothing: the next try need not look
                // for it first. A row that was already unanswered keeps its mark (the 429
                // may have been its search's).
                if row.method == POST && row.started_at.is_none() {
                    db::clear_started(&mut tx, row.id).await?;
                }
                &self.metrics.outbox_rate_limited
            }
            Err(CallError::Transient(error))
                if (row.attempts + 1) < self.delivery.max_attempts as i64 =>
            {
                let wait = self.backoff(row.attempts + 1);
                let next = Utc::now() + chrono::Duration::from_std(wait).unwrap_or_default();
                tracing::warn!(row = row.id, method = %row.method, channel = %row.channel, attempt = row.attempts + 1, %error, retry_in_ms = wait.as_millis() as u64, "outbox delivery failed; will retry");
                db::mark_retry(&mut tx, row.id, &db_time(next), error).await?;
                &self.metrics.outbox_retries
            }
            Err(CallError::Transient(error) | CallError::Permanent(error)) => {
                tracing::error!(row = row.id, method = %row.method, channel = %row.channel, attempts = row.attempts + 1, %error, "outbox delivery gave up; message marked failed");
                db::mark_failed(&mut tx, row.id, error, &db_time(Utc::now())).await?;
                &self.metrics.outbox_failed
            }
        };
        tx.commit().await?;
        Metrics::inc(counter);
        Ok(())
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

/// What `prepare` made of a row.
enum Prepared {
    Send(Value),
    /// Fails without a call.
    Fail(CallError),
    /// Not yet: its card is still to be posted.
    Wait,
}

/// The calls in flight, their lanes, and answers not yet recorded.
#[derive(Default)]
struct Calls {
    in_flight: FuturesUnordered<BoxFuture<'static, (PendingRow, Result<Value, CallError>)>>,
    /// Lanes with a call in flight or an answer not yet recorded: nothing more is sent in
    /// them meanwhile.
    busy: HashSet<String>,
    /// Answers the database refused to record, oldest first.
    unrecorded: Vec<(PendingRow, Result<Value, CallError>)>,
    /// When to try recording them again, and the wait after the next failure.
    record_again_at: Option<Instant>,
    record_backoff: Duration,
}

impl Calls {
    fn keep_unrecorded(&mut self, row: PendingRow, result: Result<Value, CallError>) {
        self.unrecorded.push((row, result));
        if self.record_again_at.is_none() {
            self.record_backoff = RECORD_RETRY_FIRST;
            self.record_again_at = Some(Instant::now() + RECORD_RETRY_FIRST);
        }
    }

    /// The next try with a doubled wait, or none when everything is recorded.
    fn schedule_record_again(&mut self) {
        if self.unrecorded.is_empty() {
            self.record_again_at = None;
        } else {
            self.record_backoff =
                (self.record_backoff * 2).clamp(RECORD_RETRY_FIRST, RECORD_RETRY_MAX);
            self.record_again_at = Some(Instant::now() + self.record_backoff);
        }
    }
}

/// One Web API call (or PagerDuty event) for `row`; `payload` is what `prepare` made of it.
async fn call(
    api: WebApi,
    paging: Option<Paging>,
    row: PendingRow,
    payload: Result<Value, CallError>,
) -> (PendingRow, Result<Value, CallError>) {
    let result = match (payload, row.method.as_str(), paging) {
        (Ok(mut payload), PAGERDUTY, Some(paging)) => {
            payload["routing_key"] = Value::String(paging.routing_key.expose().to_string());
            api.post_json(&paging.url, &payload).await
        }
        (Ok(_), PAGERDUTY, None) => Err(CallError::Permanent(
            "PAGERDUTY_ROUTING_KEY is not set".into(),
        )),
        (Ok(mut payload), RESPOND, _) => {
            let url = payload
                .as_object_mut()
                .and_then(|o| o.remove("response_url"));
            match url.as_ref().and_then(Value::as_str) {
                Some(url) => api.respond(url, &payload).await.map(|()| Value::Null),
                None => Err(CallError::Permanent("no response_url to answer".into())),
            }
        }
        (Ok(mut payload), POST, _) => {
            already_posted::tag(&mut payload, &row);
            match already_posted::find(&api, &row, &payload).await {
                Ok(Some(ts)) => {
                    Ok(json!({ "channel": payload["channel"], "ts": ts, ALREADY_POSTED: true }))
                }
                Ok(None) => api.call(POST, &payload).await,
                Err(limited) => Err(limited),
            }
        }
        (Ok(payload), method, _) => api.call(method, &payload).await,
        (Err(missing), _, _) => Err(missing),
    };
    let result = benign(&row.method, result);
    (row, result)
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
