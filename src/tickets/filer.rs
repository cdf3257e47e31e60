//! The ticket writer: files tickets in shared transactions (group commit), so each request
//! is answered only after its ticket is on disk, yet one fsync serves many requests.

use super::{db, NewTicket, Ticket};
use crate::clock::{db_time, Clock};
use crate::outbox::{self, OutboxMessage};
use crate::settings::Policy;
use crate::sla::deadlines::{Happening, Moment};
use crate::store::Pool;
use crate::web::metrics::Metrics;
use crate::{sla, triage};
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot, watch, Notify};
use tokio::task::JoinHandle;

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

struct Job {
    req: FileRequest,
    reply: oneshot::Sender<Result<Filed, FileError>>,
}

/// The handle request handlers use to file tickets.
#[derive(Clone)]
pub struct TicketFiler {
    tx: mpsc::Sender<Job>,
}

/// The most requests one commit carries.
const MAX_BATCH: usize = 512;

impl TicketFiler {
    /// Starts the writer. It stops, after filing everything already queued, when
    /// `shutdown` turns true.
    pub async fn spawn(
        pool: Pool,
        policy: Arc<Policy>,
        clock: Arc<dyn Clock>,
        outbox_wake: Arc<Notify>,
        timer_wake: Arc<Notify>,
        metrics: Arc<Metrics>,
        shutdown: watch::Receiver<bool>,
    ) -> anyhow::Result<(Self, JoinHandle<()>)> {
        let (tx, rx) = mpsc::channel(8192);
        let next_id = db::max_id(&mut *pool.acquire().await?).await?;
        let writer = Writer {
            pool,
            policy,
            clock,
            outbox_wake,
            timer_wake,
            metrics,
            next_id,
            recent: Default::default(),
        };
        let handle = tokio::spawn(writer.run(rx, shutdown));
        Ok((Self { tx }, handle))
    }

    /// Files a ticket; returns once it is committed to disk.
    pub async fn file(&self, req: FileRequest) -> Result<Filed, FileError> {
        let (reply, answer) = oneshot::channel();
        self.tx
            .send(Job { req, reply })
            .await
            .map_err(|_| FileError::Closed)?;
        answer.await.map_err(|_| FileError::Closed)?
    }
}

struct Writer {
    pool: Pool,
    policy: Arc<Policy>,
    clock: Arc<dyn Clock>,
    outbox_wake: Arc<Notify>,
    timer_wake: Arc<Notify>,
    metrics: Arc<Metrics>,
    next_id: i64,
    recent: super::recent::Recent,
}

impl Writer {
    async fn run(mut self, mut rx: mpsc::Receiver<Job>, mut shutdown: watch::Receiver<bool>) {
        loop {
            let first = tokio::select! {
                job = rx.recv() => job,
                _ = crate::app::stopped(&mut shutdown) => {
                    // Take no more, but file what was already accepted.
                    rx.close();
                    rx.recv().await
                }
            };
            let Some(first) = first else { break };
            let mut batch = vec![first];
            while batch.len() < MAX_BATCH {
                match rx.try_recv() {
                    Ok(job) => batch.push(job),
                    Err(_) => break,
                }
            }
            self.commit(batch).await;
        }
        tracing::debug!("ticket writer stopped");
    }

    async fn commit(&mut self, batch: Vec<Job>) {
        let reqs: Vec<&FileRequest> = batch.iter().map(|j| &j.req).collect();
        match self.write(&reqs).await {
            Ok(results) => {
                self.metrics.record_commit(reqs.len());
                for (job, result) in batch.into_iter().zip(results) {
                    let _ = job.reply.send(Ok(result));
                }
            }
            Err(err) if batch.len() > 1 => {
                // One bad request must not fail the others: retry each alone.
                tracing::warn!(error = %err, size = batch.len(), "shared commit failed; retrying one by one");
                for job in batch {
                    let result = self.write(&[&job.req]).await;
                    let _ = job.reply.send(result.map(|mut r| r.remove(0)));
                }
            }
            Err(err) => {
                tracing::error!(error = %err, "filing a ticket failed");
                for job in batch {
                    let _ = job.reply.send(Err(FileError::Store(err.to_string())));
                }
            }
        }
        self.outbox_wake.notify_one();
        self.timer_wake.notify_one();
    }

    /// One transaction for all of `reqs`.
    async fn write(&mut self, reqs: &[&FileRequest]) -> Result<Vec<Filed>, FileError> {
        let result = self.try_write(reqs).await;
        if result.is_err() {
            // The numbers handed out were rolled back with the transaction.
            if let Ok(mut conn) = self.pool.acquire().await {
                if let Ok(max) = db::max_id(&mut conn).await {
                    self.next_id = max;
                }
            }
        }
        result.map_err(|e| FileError::Store(e.to_string()))
    }

    async fn try_write(&mut self, reqs: &[&FileRequest]) -> sqlx::Result<Vec<Filed>> {
        let now = self.clock.now();
        let now_text = db_time(now);
        let mut tx = self.pool.begin_with("begin immediate").await?;
        let mut results = Vec::with_capacity(reqs.len());
        let mut tickets = Vec::with_capacity(reqs.len());
        let mut messages = Vec::with_capacity(reqs.len() * 2);
        let mut next = self.next_id;
        for req in reqs {
            let mut seen = false;
            for key in &req.dedupe {
                let inserted = sqlx::query(
                    "insert into inbox (key, received_at) values (?, ?) on conflict do nothing",
                )
                .bind(key)
                .bind(&now_text)
                .execute(&mut *tx)
                .await?;
                seen |= inserted.rows_affected() == 0;
            }
            if seen {
                results.push(Filed::Duplicate);
                continue;
            }
            next += 1;
            let new = &req.new;
            let duplicate = self
                .recent
                .duplicate_of(
                    &mut tx,
                    &new.requester,
                    new.channel.as_deref(),
                    &new.description,
                    now,
                )
                .await?;
            let mut ticket = self.build(next, &req.new, now);
            ticket.duplicate_of = duplicate;
            messages.extend((req.effects)(&ticket).into_iter().map(|m| (Some(next), m)));
            results.push(Filed::New(Box::new(ticket.clone())));
            tickets.push(ticket);
        }
        db::insert_all(&mut tx, &tickets).await?;
        let timers: Vec<_> = tickets
            .iter()
            .flat_map(|t| {
                let history = [Moment {
                    at: t.created_at,
                    what: Happening::Created {
                        priority: t.priority.clone(),
                    },
                }];
                sla::timers::plan(&self.policy, t, &history)
                    .into_iter()
                    .map(move |p| (t.id, p, 0))
            })
            .collect();
        sla::timers::insert_all(&mut tx, &timers).await?;
        outbox::db::insert_all(&mut tx, &messages, &now_text).await?;
        tx.commit().await?;
        self.next_id = next;
        for t in &tickets {
            self.recent.remember(
                t.id,
                &t.key,
                &t.requester,
                t.channel.as_deref(),
                &t.description,
                t.created_at,
            );
        }
        Ok(results)
    }

    fn build(&self, id: i64, new: &NewTicket, now: chrono::DateTime<chrono::Utc>) -> Ticket {
        let triage =
            triage::rules::classify_in(&self.policy, &new.description, new.channel.as_deref());
        let due = sla::due_times(&self.policy, &triage.priority, now);
        Ticket {
            id,
            key: format!("{}-{id}", self.policy.tickets.key_prefix),
            title: new.title.clone(),
            description: new.description.clone(),
            requester: new.requester.clone(),
            channel: new.channel.clone(),
            source: new.source,
            source_ts: new.source_ts.clone(),
            category: triage.category,
            priority: triage.priority,
            status: "open".to_string(),
            assignee: triage.assignee,
            urgency: new.urgency.clone(),
            link: new.link.clone(),
            created_at: now,
            first_response_due: due.map(|d| d.first_response),
            resolution_due: due.map(|d| d.resolution),
            first_response_at: None,
            resolved_at: None,
            triage_rule: triage.rule,
            triage_reason: triage.reason,
            duplicate_of: None,
            merged_into: None,
            filed_by: new.filed_by.clone(),
            resolution_note: None,
            source_deleted: false,
            card_channel: None,
            card_ts: None,
            first_response_breached: false,
            resolution_breached: false,
            breach_acknowledged_at: None,
            paged: false,
        }
    }
}
