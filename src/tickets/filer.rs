//! The ticket writer: files tickets in shared transactions (group commit), so each request
//! is answered only after its ticket is on disk, yet one fsync serves many requests. It runs
//! on a thread of its own with its own connection (`filer_db`): a commit is a few dozen
//! prepared statements stepped in place, never a wait on the async runtime. Its log is
//! checkpointed by another thread (`checkpoints`), not inside its commits.

use super::checkpoints::Checkpoints;
use super::commit_timing::{SlowCommits, Timing};
use super::filer_db::{FilerDb, Filing};
use super::{NewTicket, Ticket};
use crate::clock::{db_time, Clock};
use crate::context::wake::TimerWake;
use crate::metrics::Metrics;
use crate::outbox::OutboxMessage;
use crate::settings::Policy;
use crate::sla::deadlines::{Happening, Moment};
use crate::store::Pool;
use crate::{sla, triage};
use chrono::{DateTime, Utc};
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
    /// What the request's own task worked out before queueing it.
    read: Read,
    /// Taken when the job is answered: the job goes back with its outcome.
    reply: Option<oneshot::Sender<Answer>>,
}

/// A job's outcome, and the job itself: the request's task drops it, on the thread that
/// allocated it. Freed by the writer instead, two dozen requests' worth at a time, its
/// memory overflowed glibc's per-thread cache on the writer's side and left the request
/// side's cache empty (malloc and free were 9.9% of the server's samples, now 9.4%).
type Answer = (Result<Filed, FileError>, Box<Job>);

/// What is read from a request's text alone: worked out on the request's task, not on the
/// writer's thread, so it runs while the writer waits for the disk.
struct Read {
    triage: triage::Triage,
    tokens: Arc<[u64]>,
}

impl Read {
    fn of(policy: &Policy, new: &NewTicket) -> Self {
        let words = triage::Words::of(&new.description);
        Read {
            triage: triage::rules::classify_words(
                policy,
                &new.description,
                &words,
                new.channel.as_deref(),
            ),
            tokens: triage::similar::hashes_of(&words).into(),
        }
    }
}

enum Msg {
    File(Box<Job>),
    /// Shutting down: file what is queued, take nothing more.
    Stop,
}

/// The handle request handlers use to file tickets.
#[derive(Clone)]
pub struct TicketFiler {
    tx: mpsc::Sender<Msg>,
    policy: Arc<Policy>,
}

/// The most requests one commit carries.
const MAX_BATCH: usize = 512;

impl TicketFiler {
    /// Starts the writer on its own thread, with its own connection to the database the
    /// pool uses. It stops, after filing everything already queued, when `shutdown` turns
    /// true; the returned handle finishes then.
    pub async fn spawn(
        pool: Pool,
        policy: Arc<Policy>,
        clock: Arc<dyn Clock>,
        outbox_wake: Arc<Notify>,
        timer_wake: Arc<TimerWake>,
        metrics: Arc<Metrics>,
        mut shutdown: watch::Receiver<bool>,
    ) -> anyhow::Result<(Self, JoinHandle<()>)> {
        let path = pool.connect_options().get_filename().to_path_buf();
        let db = FilerDb::open(&path).map_err(|e| {
            anyhow::anyhow!("the ticket writer cannot open {}: {e}", path.display())
        })?;
        let next_id = db.max_id()?;
        let checkpoints = Checkpoints::start(db.connection(), &path)
            .map_err(|e| anyhow::anyhow!("the checkpointer cannot open {}: {e}", path.display()))?;
        let (tx, rx) = mpsc::channel(8192);
        let writer = Writer {
            db,
            policy: policy.clone(),
            clock,
            outbox_wake,
            timer_wake,
            metrics,
            next_id,
            recent: Default::default(),
            checkpoints,
            timing: Timing::default(),
            slow_commits: SlowCommits::default(),
        };
        let handle = tokio::task::spawn_blocking(move || writer.run(rx));
        let stop = tx.clone();
        tokio::spawn(async move {
            crate::context::stopped(&mut shutdown).await;
            let _ = stop.send(Msg::Stop).await;
        });
        Ok((Self { tx, policy }, handle))
    }

    /// Files a ticket; returns once it is committed to disk.
    pub async fn file(&self, req: FileRequest) -> Result<Filed, FileError> {
        let (reply, answer) = oneshot::channel();
        let read = Read::of(&self.policy, &req.new);
        let job = Job {
            req,
            read,
            reply: Some(reply),
        };
        self.tx
            .send(Msg::File(Box::new(job)))
            .await
            .map_err(|_| FileError::Closed)?;
        let (outcome, job) = answer.await.map_err(|_| FileError::Closed)?;
        drop(job);
        outcome
    }
}

struct Writer {
    db: FilerDb,
    policy: Arc<Policy>,
    clock: Arc<dyn Clock>,
    outbox_wake: Arc<Notify>,
    timer_wake: Arc<TimerWake>,
    metrics: Arc<Metrics>,
    next_id: i64,
    recent: super::recent::Recent,
    checkpoints: Checkpoints,
    /// Where the last commit's time went.
    timing: Timing,
    slow_commits: SlowCommits,
}

impl Writer {
    /// Takes whatever is queued (up to `MAX_BATCH`) as one commit, until the channel is
    /// closed and empty.
    fn run(mut self, mut rx: mpsc::Receiver<Msg>) {
        // One vector for every batch, allocated once rather than grown anew for each commit.
        let mut batch = Vec::with_capacity(MAX_BATCH);
        while let Some(msg) = rx.blocking_recv() {
            let mut next = Some(msg);
            while let Some(msg) = next.take() {
                match msg {
                    Msg::File(job) => batch.push(job),
                    // Take no more, but file what was already accepted.
                    Msg::Stop => rx.close(),
                }
                if batch.len() < MAX_BATCH {
                    next = rx.try_recv().ok();
                }
            }
            if !batch.is_empty() {
                self.commit(&mut batch);
                self.checkpoints.after_commit(self.db.connection());
            }
        }
        tracing::debug!("ticket writer stopped");
    }

    /// Files `batch` and answers each of its requests; leaves `batch` empty.
    // Boxed jobs: each box goes back whole to its request's task (see `Answer`).
    #[allow(clippy::vec_box)]
    fn commit(&mut self, batch: &mut Vec<Box<Job>>) {
        let reqs: Vec<&Job> = batch.iter().map(|job| &**job).collect();
        let started = std::time::Instant::now();
        let written = self.write(&reqs);
        let took = started.elapsed();
        self.metrics.commit_seconds.observe(took);
        self.slow_commits.check(
            took,
            &self.timing,
            reqs.len(),
            self.checkpoints.copying(),
            started + took,
        );
        drop(reqs);
        match written {
            Ok(results) => {
                self.metrics.record_commit(batch.len());
                for (job, result) in batch.drain(..).zip(results) {
                    answer(job, Ok(result));
                }
            }
            Err(err) if batch.len() > 1 => {
                // One bad request must not fail the others: retry each alone.
                tracing::warn!(error = %err, size = batch.len(), "shared commit failed; retrying one by one");
                for job in batch.drain(..) {
                    let result = self.write(&[&job]);
                    answer(job, result.map(|mut r| r.remove(0)));
                }
            }
            Err(err) => {
                tracing::error!(error = %err, "filing a ticket failed");
                for job in batch.drain(..) {
                    answer(job, Err(FileError::Store(err.to_string())));
                }
            }
        }
        // The scheduler is woken by `try_write` only if a new timer is due before it wakes
        // anyway.
        self.outbox_wake.notify_one();
    }

    /// One transaction for all of `reqs`.
    fn write(&mut self, reqs: &[&Job]) -> Result<Vec<Filed>, FileError> {
        let result = self.try_write(reqs);
        if result.is_err() {
            // The numbers handed out were rolled back with the transaction.
            if let Ok(max) = self.db.max_id() {
                self.next_id = max;
            }
        }
        result.map_err(|e| FileError::Store(e.to_string()))
    }

    fn try_write(&mut self, jobs: &[&Job]) -> rusqlite::Result<Vec<Filed>> {
        let now = self.clock.now();
        let now_text = db_time(now);
        // A failed attempt reports what it got through, not the last commit's figures.
        self.timing = Timing::default();
        let started = std::time::Instant::now();
        let tx: Filing<'_> = self.db.begin()?;
        self.timing.locked = started.elapsed();
        let mut st = tx.statements()?;
        let mut results = Vec::with_capacity(jobs.len());
        let mut filed = Vec::with_capacity(jobs.len());
        let mut next = self.next_id;
        let mut earliest = None;
        for job in jobs {
            let req = &job.req;
            let mut seen = false;
            for key in &req.dedupe {
                seen |= !st.first_sighting(key, &now_text)?;
            }
            if seen {
                results.push(Filed::Duplicate);
                continue;
            }
            next += 1;
            let new = &req.new;
            let duplicate = self.recent.duplicate_of(
                &tx,
                &new.requester,
                new.channel.as_deref(),
                &job.read.tokens,
                now,
            )?;
            let mut ticket = build(&self.policy, next, new, job.read.triage.clone(), now);
            ticket.duplicate_of = duplicate;
            st.insert_ticket(&ticket, &now_text)?;
            let history = [Moment {
                at: now,
                what: Happening::Created {
                    priority: ticket.priority.to_string(),
                },
            }];
            let plan = sla::timers::plan(&self.policy, &ticket, &history);
            if let Some((head, later)) = sla::timers::chain(&plan) {
                st.insert_plan(ticket.id, &head, later.as_deref())?;
                earliest =
                    Some(earliest.map_or(head.due_at, |e: DateTime<Utc>| e.min(head.due_at)));
            }
            for message in (req.effects)(&ticket) {
                st.insert_outbox(Some(next), &message, &now_text)?;
            }
            filed.push((results.len(), job.read.tokens.clone()));
            results.push(Filed::New(Box::new(ticket)));
        }
        drop(st);
        let syncing = std::time::Instant::now();
        tx.commit()?;
        self.timing.synced = syncing.elapsed();
        self.next_id = next;
        if let Some(due) = earliest {
            self.timer_wake.timer_added(due);
        }
        for (at, tokens) in filed {
            if let Filed::New(t) = &results[at] {
                self.recent.remember(
                    t.id,
                    &t.key,
                    &t.requester,
                    t.channel.as_deref(),
                    tokens,
                    t.created_at,
                );
            }
        }
        Ok(results)
    }
}

/// Sends `job` back to its request's task with `outcome` (nobody waits if it gave up).
fn answer(mut job: Box<Job>, outcome: Result<Filed, FileError>) {
    if let Some(reply) = job.reply.take() {
        let _ = reply.send((outcome, job));
    }
}

/// A new ticket as triage files it, with its SLA due times.
fn build(
    policy: &Policy,
    id: i64,
    new: &NewTicket,
    triage: triage::Triage,
    now: DateTime<Utc>,
) -> Ticket {
    let due = sla::due_times(policy, &triage.priority, now);
    Ticket {
        id,
        key: format!("{}-{id}", policy.tickets.key_prefix),
        title: new.title.clone(),
        description: new.description.clone(),
        requester: new.requester.clone(),
        channel: new.channel.clone(),
        source: new.source,
        source_ts: new.source_ts.clone(),
        category: triage.category,
        priority: triage.priority.into(),
        status: super::Status::Open,
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
