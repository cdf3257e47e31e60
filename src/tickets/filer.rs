//! The ticket writer: files tickets in shared transactions (group commit), so each request
//! is answered only after its ticket is on disk, yet one fsync serves many requests. One
//! task owns one connection of its own (`filer_db`) and takes whatever requests are queued
//! as one transaction: a few multi-row statements, whatever the batch's size.

use super::commit_timing::{SlowCommits, Timing};
use super::filer_db::{self, CandidateText};
use super::recent::{window_start, Owner, Recent, Remembered, MAX_REMEMBERED};
use super::{NewTicket, Ticket};
use crate::clock::{db_time, Clock};
use crate::context::wake::TimerWake;
use crate::context::workers::Workers;
use crate::metrics::Metrics;
use crate::outbox::OutboxMessage;
use crate::settings::Policy;
use crate::sla::deadlines::{Happening, Moment};
use crate::store::Pool;
use crate::{sla, triage};
use chrono::{DateTime, Utc};
use futures_util::StreamExt;
use sqlx::SqliteConnection;
use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;
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

struct Job {
    req: FileRequest,
    /// What the request's own task worked out before queueing it.
    read: Read,
    reply: oneshot::Sender<Result<Filed, FileError>>,
}

/// What is read from a request's text alone: worked out on the request's task, not by the
/// writer, so it runs while the writer waits for the disk.
struct Read {
    triage: triage::Triage,
    /// The description's tokens, compared with the candidates'.
    tokens: Arc<[u64]>,
    /// The title's and description's, stored with the ticket for later requests to compare
    /// with, and their hashes.
    stored_words: String,
    stored_tokens: Arc<[u64]>,
}

impl Read {
    fn of(policy: &Policy, new: &NewTicket) -> Self {
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

enum Msg {
    File(Box<Job>),
    /// What was recalled of recent tickets when the writer started.
    Recalled(Remembered),
    /// Shutting down: file what is queued, take nothing more.
    Stop,
}

/// The handle request handlers use to file tickets.
#[derive(Clone)]
pub struct TicketFiler {
    tx: mpsc::Sender<Msg>,
    policy: Arc<Policy>,
    /// True once the writer has taken in what it recalled at start.
    recalled: watch::Receiver<bool>,
}

/// The newest tickets read when the writer starts, to recall the open ones.
const RECALL_SCANNED: i64 = 1_000_000;

/// The most requests one commit carries.
const MAX_BATCH: usize = 512;

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
    busy: Arc<Workers>,
    /// Only after a commit of at least this many requests: under load, not when requests
    /// come one at a time (each would then wait for nothing).
    from: usize,
    /// The longest a commit waits.
    at_most: Duration,
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

/// How long the writer sleeps between looks at what has arrived while it gathers.
const GATHER_STEP: Duration = Duration::from_micros(100);

impl TicketFiler {
    /// Starts the writer, with its own connection to the database the pool uses. It stops,
    /// after filing everything already queued, when `shutdown` turns true; the returned
    /// handle finishes then.
    pub async fn spawn(
        pool: Pool,
        policy: Arc<Policy>,
        clock: Arc<dyn Clock>,
        wakes: Wakes,
        metrics: Arc<Metrics>,
        gather: Gather,
        mut shutdown: watch::Receiver<bool>,
    ) -> anyhow::Result<(Self, JoinHandle<()>)> {
        let mut conn = filer_db::connect(&pool)
            .await
            .map_err(|e| anyhow::anyhow!("the ticket writer cannot open the database: {e}"))?;
        let next_id = filer_db::max_id(&mut conn).await?;
        let (tx, rx) = mpsc::channel(8192);
        let (recalled_tx, recalled) = watch::channel(false);
        // Read in the background: the first requests need not wait for it (a large backlog
        // takes a second); until it is in, they are compared with the tickets filed since the
        // start.
        let since = window_start(clock.now());
        let to_writer = tx.clone();
        tokio::spawn(async move {
            match recall(&pool, since).await {
                Ok(older) => {
                    let _ = to_writer.send(Msg::Recalled(older)).await;
                }
                Err(err) => {
                    tracing::warn!(error = %err, "recalling recent tickets failed; tickets filed before the start are not checked for duplicates");
                    let _ = to_writer.send(Msg::Recalled(Remembered::default())).await;
                }
            }
        });
        let writer = Writer {
            conn,
            policy: policy.clone(),
            clock,
            wakes,
            metrics,
            gather,
            next_id,
            remembered: Remembered::default(),
            recalled: recalled_tx,
            timing: Timing::default(),
            slow_commits: SlowCommits::default(),
        };
        let handle = on_own_thread(writer, rx);
        let stop = tx.clone();
        tokio::spawn(async move {
            crate::context::stopped(&mut shutdown).await;
            let _ = stop.send(Msg::Stop).await;
        });
        Ok((
            Self {
                tx,
                policy,
                recalled,
            },
            handle,
        ))
    }

    /// Resolves once the writer has taken in what it recalled of recent tickets at start
    /// (tests wait for it; requests need not).
    pub async fn recalled(&self) {
        let mut recalled = self.recalled.clone();
        let _ = recalled.wait_for(|done| *done).await;
    }

    /// Files a ticket; returns once it is committed to disk.
    pub async fn file(&self, req: FileRequest) -> Result<Filed, FileError> {
        let (reply, answer) = oneshot::channel();
        let read = Read::of(&self.policy, &req.new);
        let job = Job { req, read, reply };
        self.tx
            .send(Msg::File(Box::new(job)))
            .await
            .map_err(|_| FileError::Closed)?;
        answer.await.map_err(|_| FileError::Closed)?
    }
}

/// Runs the writer on a thread of its own, with a runtime of its own: the ticket writer's
/// turns (a statement answered by its connection's thread, the next one sent) are then not
/// queued behind the HTTP tasks of the shared runtime, whose worker takes a task woken from
/// another thread only between its own queue's tasks. Each commit's statements then run back
/// to back, and the requests that arrived meanwhile are parsed during its fsync. The handle
/// finishes when the writer has stopped.
fn on_own_thread(writer: Writer, rx: mpsc::Receiver<Msg>) -> JoinHandle<()> {
    let (done, finished) = oneshot::channel::<()>();
    let spawned = std::thread::Builder::new()
        .name("ticket-writer".into())
        .spawn(move || {
            match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(runtime) => runtime.block_on(writer.run(rx)),
                Err(err) => {
                    tracing::error!(error = %err, "the ticket writer's runtime could not start")
                }
            }
            let _ = done.send(());
        });
    if let Err(err) = spawned {
        tracing::error!(error = %err, "the ticket writer's thread could not start");
    }
    tokio::spawn(async move {
        let _ = finished.await;
    })
}

/// The open tickets filed since `since`, newest first, as [`Remembered`] keeps them.
async fn recall(pool: &Pool, since: DateTime<Utc>) -> sqlx::Result<Remembered> {
    let mut recalled = Remembered::default();
    let mut rows = std::pin::pin!(filer_db::recent_open(
        pool,
        since,
        4 * MAX_REMEMBERED,
        RECALL_SCANNED
    ));
    while let Some(row) = rows.next().await {
        let (id, requester, channel, at, text) = row?;
        let tokens = match text {
            CandidateText::Words(words) => triage::similar::stored_hashes(&words),
            CandidateText::Text(text) => triage::similar::token_hashes(&text),
        };
        recalled.older(id, &requester, channel.as_deref(), &tokens, at);
        if recalled.full() {
            break;
        }
    }
    Ok(recalled)
}

struct Writer {
    conn: SqliteConnection,
    policy: Arc<Policy>,
    clock: Arc<dyn Clock>,
    wakes: Wakes,
    metrics: Arc<Metrics>,
    /// When a commit waits for the requests the HTTP workers are reading.
    gather: Gather,
    next_id: i64,
    /// What the writer remembers of recent tickets, for the duplicate check.
    remembered: Remembered,
    recalled: watch::Sender<bool>,
    /// Where the last commit's time went.
    timing: Timing,
    slow_commits: SlowCommits,
}

/// What one commit files: its tickets (with their requests), their SLA plans and outbox
/// rows.
#[derive(Default)]
struct Rows<'j> {
    tickets: Vec<(Ticket, &'j Job)>,
    plans: Vec<(i64, sla::timers::Planned, Option<String>)>,
    outbox: Vec<(i64, OutboxMessage)>,
}

/// A batch as [`plan`] decided it: an answer per request (new ones filled in after
/// the commit), the rows to write, the last ticket number used and the earliest new timer.
struct Planned<'j> {
    results: Vec<Filed>,
    rows: Rows<'j>,
    next_id: i64,
    earliest: Option<DateTime<Utc>>,
}

impl Writer {
    /// Takes whatever is queued (up to `MAX_BATCH`) as one commit, until the channel is
    /// closed and empty.
    async fn run(mut self, mut rx: mpsc::Receiver<Msg>) {
        // One vector for every batch, allocated once rather than grown anew for each commit.
        let mut batch = Vec::with_capacity(MAX_BATCH);
        let mut last = 0;
        while let Some(msg) = rx.recv().await {
            self.take(Some(msg), &mut rx, &mut batch);
            // Nothing to gather for when what came was no request (the recalled tickets).
            if last >= self.gather.from && !batch.is_empty() {
                self.gather(&mut rx, &mut batch);
            }
            last = batch.len();
            if !batch.is_empty() {
                self.commit(&mut batch).await;
            }
        }
        if let Err(err) = sqlx::Connection::close(self.conn).await {
            tracing::warn!(error = %err, "closing the ticket writer's connection failed");
        }
        tracing::debug!("ticket writer stopped");
    }

    /// Under load (the last commit carried `gather.from` requests or more), waits for the
    /// requests the HTTP workers are reading now, so that they join this commit: its fsync
    /// then serves every request in flight, not half of them while the other half waits
    /// for the next. Without it, the connections split into two groups that take turns, and
    /// each commit's fsync leaves the core idle for half as many requests (measured in
    /// docs/performance.md). It waits while requests keep arriving or a worker is busy, in
    /// steps of [`GATHER_STEP`], `gather.at_most` in all.
    // Boxed jobs: moved through the channel as one pointer each.
    #[allow(clippy::vec_box)]
    fn gather(&mut self, rx: &mut mpsc::Receiver<Msg>, batch: &mut Vec<Box<Job>>) {
        let deadline = std::time::Instant::now() + self.gather.at_most;
        while batch.len() < MAX_BATCH && std::time::Instant::now() < deadline {
            let had = batch.len();
            // A blocking sleep: this thread has nothing else to do meanwhile, sleeping hands
            // the core to the workers, and tokio's timers count whole milliseconds.
            std::thread::sleep(GATHER_STEP);
            let next = rx.try_recv().ok();
            self.take(next, rx, batch);
            if batch.len() == had && !self.gather.busy.busy() {
                break;
            }
        }
    }

    /// Takes `next` and whatever else is queued into `batch`, up to [`MAX_BATCH`].
    // Boxed jobs: moved through the channel as one pointer each.
    #[allow(clippy::vec_box)]
    fn take(
        &mut self,
        mut next: Option<Msg>,
        rx: &mut mpsc::Receiver<Msg>,
        batch: &mut Vec<Box<Job>>,
    ) {
        while let Some(msg) = next.take() {
            match msg {
                Msg::File(job) => batch.push(job),
                Msg::Recalled(older) => {
                    self.remembered.merge(older);
                    let _ = self.recalled.send(true);
                }
                // Take no more, but file what was already accepted.
                Msg::Stop => rx.close(),
            }
            if batch.len() < MAX_BATCH {
                next = rx.try_recv().ok();
            }
        }
    }

    /// Files `batch` and answers each of its requests; leaves `batch` empty.
    // Boxed jobs: moved through the channel as one pointer each.
    #[allow(clippy::vec_box)]
    async fn commit(&mut self, batch: &mut Vec<Box<Job>>) {
        let started = std::time::Instant::now();
        let written = self.write(batch).await;
        let took = started.elapsed();
        self.metrics.commit_seconds.observe(took);
        self.slow_commits
            .check(took, &self.timing, batch.len(), started + took);
        match written {
            Ok(results) => {
                self.metrics.record_commit(batch.len());
                for (job, result) in batch.drain(..).zip(results) {
                    let _ = job.reply.send(Ok(result));
                }
            }
            Err(err) if batch.len() > 1 => {
                // One bad request must not fail the others: retry each alone.
                tracing::warn!(error = %err, size = batch.len(), "shared commit failed; retrying one by one");
                for job in batch.drain(..) {
                    let result = self.write(std::slice::from_ref(&job)).await;
                    let _ = job.reply.send(result.map(|mut r| r.remove(0)));
                }
            }
            Err(err) => {
                tracing::error!(error = %err, "filing a ticket failed");
                for job in batch.drain(..) {
                    let _ = job.reply.send(Err(FileError::Store(err.to_string())));
                }
            }
        }
        // The scheduler is woken by `try_write` only if a new timer is due before it wakes
        // anyway.
        self.wakes.outbox.notify_one();
    }

    /// One transaction for all of `jobs`.
    async fn write(&mut self, jobs: &[Box<Job>]) -> Result<Vec<Filed>, FileError> {
        let result = self.try_write(jobs).await;
        if result.is_err() {
            // The numbers handed out were rolled back with the transaction.
            if let Ok(max) = filer_db::max_id(&mut self.conn).await {
                self.next_id = max;
            }
        }
        result.map_err(|e| FileError::Store(e.to_string()))
    }

    /// The batch's transaction: reads what the decision needs (which inbox keys are new,
    /// which remembered tickets are still open), decides ([`plan`], no I/O), writes the rows and
    /// commits; then the writer remembers what it filed (`remember`).
    async fn try_write(&mut self, jobs: &[Box<Job>]) -> sqlx::Result<Vec<Filed>> {
        let now = self.clock.now();
        let now_text = db_time(now);
        // A failed attempt reports what it got through, not the last commit's figures.
        self.timing = Timing::default();
        let started = std::time::Instant::now();
        let mut tx = filer_db::begin(&mut self.conn).await?;
        self.timing.locked = started.elapsed();

        // Redeliveries: a request any of whose inbox keys was seen before files nothing.
        let keys: Vec<&str> = jobs
            .iter()
            .flat_map(|j| j.req.dedupe.iter().map(String::as_str))
            .collect();
        let fresh = if keys.is_empty() {
            HashSet::new()
        } else {
            filer_db::first_sightings(&mut tx, &keys, &now_text).await?
        };
        let new = unseen(jobs, &fresh);

        // The remembered tickets that may match, read to compare and to learn which are still
        // open.
        let since = window_start(now);
        let asked = may_match(&self.remembered, jobs, &new, since);
        let mut ids: Vec<i64> = asked.iter().map(|(id, _)| *id).collect();
        ids.sort_unstable();
        ids.dedup();
        let mut recent = Recent::of(filer_db::open_candidates(&mut tx, &ids, since).await?);
        let closed: Vec<(i64, Owner<'_>)> = asked
            .into_iter()
            .filter(|(id, _)| !recent.is_open(*id))
            .collect();

        let planned = plan(
            &self.policy,
            &self.remembered,
            self.next_id,
            jobs,
            &new,
            &mut recent,
            now,
        );
        let tickets: Vec<(&Ticket, &str)> = planned
            .rows
            .tickets
            .iter()
            .map(|(t, job)| (t, job.read.stored_words.as_str()))
            .collect();
        let rows = &planned.rows;
        filer_db::insert_filed(&mut tx, &tickets, &rows.plans, &rows.outbox, &now_text).await?;
        let syncing = std::time::Instant::now();
        tx.commit().await?;
        self.timing.synced = syncing.elapsed();
        Ok(self.remember(planned, &closed, &new, now))
    }

    /// After the commit: the numbers handed out are used, the remembered tickets found
    /// closed are forgotten and the new ones remembered, and the scheduler hears of a timer
    /// due before it would wake. Returns each request's answer.
    fn remember(
        &mut self,
        planned: Planned<'_>,
        closed: &[(i64, Owner<'_>)],
        new: &[bool],
        now: DateTime<Utc>,
    ) -> Vec<Filed> {
        let Planned {
            mut results,
            rows,
            next_id,
            earliest,
        } = planned;
        self.next_id = next_id;
        for (id, owner) in closed {
            self.remembered.forget(*owner, *id);
        }
        for (t, job) in &rows.tickets {
            let stored = &job.read.stored_tokens;
            self.remembered
                .filed(t.id, &t.requester, t.channel.as_deref(), stored, now);
            self.metrics
                .ticket_filed(&t.priority, &t.category, t.source);
        }
        let mut filed = rows.tickets.into_iter().map(|(t, _)| t);
        for (result, _) in results.iter_mut().zip(new).filter(|(_, n)| **n) {
            if let Some(ticket) = filed.next() {
                *result = Filed::New(Box::new(ticket));
            }
        }
        if let Some(due) = earliest {
            self.wakes.timers.timer_added(due);
        }
        results
    }
}

/// The remembered tickets that may match the batch's new requests, with the list each
/// came from.
fn may_match<'j>(
    remembered: &Remembered,
    jobs: &'j [Box<Job>],
    new: &[bool],
    since: DateTime<Utc>,
) -> Vec<(i64, Owner<'j>)> {
    let mut asked = Vec::new();
    for (job, _) in jobs.iter().zip(new).filter(|(_, n)| **n) {
        let new = &job.req.new;
        asked.extend(remembered.may_match(
            &new.requester,
            new.channel.as_deref(),
            &job.read.tokens,
            since,
        ));
    }
    asked
}

/// What the batch files, decided from what was read, with no I/O: each new request's
/// ticket (its number, triage, due times, the duplicate it may be of), its SLA timers
/// and its messages. `recent` learns each ticket as it is planned, so a later request of
/// the batch is compared with it.
fn plan<'j>(
    policy: &Policy,
    remembered: &Remembered,
    next_id: i64,
    jobs: &'j [Box<Job>],
    new: &[bool],
    recent: &mut Recent,
    now: DateTime<Utc>,
) -> Planned<'j> {
    let since = window_start(now);
    let mut planned = Planned {
        results: Vec::with_capacity(jobs.len()),
        rows: Rows::default(),
        next_id,
        earliest: None,
    };
    for (job, is_new) in jobs.iter().zip(new) {
        // Its place in `results`, filled once the transaction no longer needs the rows.
        planned.results.push(Filed::Duplicate);
        if !is_new {
            continue;
        }
        planned.next_id += 1;
        let req = &job.req;
        let new = &req.new;
        let created = req.requested_at.map_or(now, |at| at.min(now));
        let mut ticket = build(
            policy,
            planned.next_id,
            new,
            job.read.triage.clone(),
            created,
        );
        let remembered = remembered.may_match(
            &new.requester,
            new.channel.as_deref(),
            &job.read.tokens,
            since,
        );
        ticket.duplicate_of = recent.duplicate_of(
            remembered.map(|(id, _)| id),
            &new.requester,
            new.channel.as_deref(),
            &job.read.tokens,
        );
        recent.filed(
            ticket.id,
            &ticket.key,
            &new.requester,
            new.channel.as_deref(),
            job.read.stored_tokens.clone(),
        );
        let history = [Moment {
            at: created,
            what: Happening::Created {
                priority: ticket.priority.to_string(),
            },
        }];
        let plan = sla::timers::plan(policy, &ticket, &history);
        if let Some((head, later)) = sla::timers::chain(&plan) {
            let due = head.due_at;
            planned.earliest = Some(planned.earliest.map_or(due, |e: DateTime<Utc>| e.min(due)));
            planned.rows.plans.push((ticket.id, head, later));
        }
        for message in (req.effects)(&ticket) {
            planned.rows.outbox.push((ticket.id, message));
        }
        planned.rows.tickets.push((ticket, job));
    }
    planned
}

/// Which of `jobs` are new: every inbox key of the request was seen first now (`fresh`) and
/// not claimed by an earlier request of the batch. Each new key is claimed, as inserting the
/// keys one by one would.
fn unseen(jobs: &[Box<Job>], fresh: &HashSet<String>) -> Vec<bool> {
    let mut claimed = HashSet::new();
    jobs.iter()
        .map(|job| {
            let mut all_new = true;
            for key in &job.req.dedupe {
                all_new &= fresh.contains(key) && claimed.insert(key);
            }
            all_new
        })
        .collect()
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
        measured: Default::default(),
        csat: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;
    use crate::tickets::Source;

    /// A writer on `pool`'s database as it is now, its clock at `2026-11-10T10:00:00Z`, once
    /// it has recalled the recent tickets; it runs until the returned sender is dropped.
    async fn start(pool: &Pool) -> (TicketFiler, watch::Sender<bool>) {
        let (filer, _, stop) = start_with(pool, Gather::new(Arc::new(Workers::default()))).await;
        (filer, stop)
    }

    /// A writer like [`start`]'s that gathers as `gather` says; with its metrics.
    async fn start_with(
        pool: &Pool,
        gather: Gather,
    ) -> (TicketFiler, Arc<Metrics>, watch::Sender<bool>) {
        let (stop, stopped) = watch::channel(false);
        let metrics = Arc::new(Metrics::default());
        let (filer, _) = TicketFiler::spawn(
            pool.clone(),
            Arc::new(Policy::builtin()),
            Arc::new(ManualClock::new("2026-11-10T10:00:00Z".parse().unwrap())),
            Wakes {
                outbox: Arc::new(Notify::new()),
                timers: Arc::new(TimerWake::default()),
            },
            metrics.clone(),
            gather,
            stopped,
        )
        .await
        .unwrap();
        filer.recalled().await;
        (filer, metrics, stop)
    }

    /// A writer that gathers before every commit, for up to `at_most`, while a worker of
    /// `busy` runs; with its metrics.
    async fn start_gathering(
        pool: &Pool,
        busy: Arc<Workers>,
        at_most: Duration,
    ) -> (TicketFiler, Arc<Metrics>, watch::Sender<bool>) {
        let gather = Gather {
            busy,
            from: 0,
            at_most,
        };
        start_with(pool, gather).await
    }

    /// A command by `requester` in C1 saying `text`, with no messages to send.
    fn request(requester: &str, text: &str) -> FileRequest {
        let new = NewTicket {
            title: text.to_string(),
            description: text.to_string(),
            requester: requester.into(),
            channel: Some("C1".into()),
            source: Source::Command,
            source_ts: None,
            urgency: None,
            link: None,
            filed_by: None,
        };
        FileRequest {
            new,
            dedupe: Vec::new(),
            effects: Box::new(|_| Vec::new()),
            requested_at: None,
        }
    }

    /// Queues a request by `requester` as [`TicketFiler::file`] does; returns its answer.
    async fn queue(
        filer: &TicketFiler,
        requester: &str,
    ) -> oneshot::Receiver<Result<Filed, FileError>> {
        let req = request(
            requester,
            &format!("{requester} cannot reach the staging cluster"),
        );
        let read = Read::of(&filer.policy, &req.new);
        let (reply, answer) = oneshot::channel();
        let job = Job { req, read, reply };
        filer.tx.send(Msg::File(Box::new(job))).await.unwrap();
        answer
    }

    /// A worker thread that runs (is counted busy) until the returned sender is used.
    fn busy_worker(
        workers: &Arc<Workers>,
    ) -> (std::sync::mpsc::Sender<()>, std::thread::JoinHandle<()>) {
        let (park, parks) = std::sync::mpsc::channel::<()>();
        let (running, is_running) = std::sync::mpsc::channel::<()>();
        let workers = workers.clone();
        let thread = std::thread::spawn(move || {
            workers.unparked();
            running.send(()).unwrap();
            let _ = parks.recv();
            workers.parked();
        });
        is_running.recv().unwrap();
        (park, thread)
    }

    #[test]
    fn a_plan_numbers_new_requests_skips_redeliveries_and_compares_within_the_batch() {
        // The decision alone: no database, no writer.
        let policy = Policy::builtin();
        let job = |requester: &str, text: &str| {
            let req = request(requester, text);
            let read = Read::of(&policy, &req.new);
            let (reply, _) = oneshot::channel();
            Box::new(Job { req, read, reply })
        };
        let stuck = "the staging deploy is stuck on the migrations step";
        let jobs = vec![
            job("U1", stuck),
            job("U2", "please rotate the vault token for billing"),
            job("U1", stuck),
        ];
        let new = [true, false, true];
        let mut recent = Recent::of(Vec::new());
        let now = "2026-11-10T10:00:00Z".parse().unwrap();
        let remembered = Remembered::default();
        let planned = plan(&policy, &remembered, 41, &jobs, &new, &mut recent, now);

        let filed: Vec<(i64, &str, Option<&str>)> = planned
            .rows
            .tickets
            .iter()
            .map(|(t, _)| {
                (
                    t.id,
                    t.key.as_str(),
                    t.duplicate_of.as_ref().map(|d| d.1.as_str()),
                )
            })
            .collect();
        assert_eq!(
            filed,
            [(42, "PLAT-42", None), (43, "PLAT-43", Some("PLAT-42"))],
            "the redelivered request takes no number; the repeat is flagged"
        );
        assert_eq!(planned.next_id, 43);
        assert_eq!(
            planned.rows.plans.len(),
            2,
            "each new ticket has its timers"
        );
        assert!(planned.earliest.is_some_and(|due| due > now));
        assert_eq!(planned.results.len(), 3, "an answer for every request");
        assert!(
            planned
                .results
                .iter()
                .all(|r| matches!(r, Filed::Duplicate)),
            "new tickets' answers are filled in only after the commit"
        );
    }

    #[tokio::test]
    async fn a_commit_waits_for_the_requests_a_busy_worker_is_still_reading() {
        let (_dir, pool) = filer_db::tests::migrated().await;
        let workers = Arc::new(Workers::default());
        let (filer, metrics, _stop) =
            start_gathering(&pool, workers.clone(), Duration::from_secs(600)).await;
        let (park, worker) = busy_worker(&workers);
        let first = queue(&filer, "U1").await;
        // The writer has taken the first request (the queue is empty again) before the
        // second is queued: without gathering, it would commit it alone.
        while filer.tx.capacity() < filer.tx.max_capacity() {
            tokio::task::yield_now().await;
        }
        let second = queue(&filer, "U2").await;
        park.send(()).unwrap();
        worker.join().unwrap();
        for answer in [first, second] {
            assert!(matches!(answer.await.unwrap().unwrap(), Filed::New(_)));
        }
        assert_eq!(metrics.commits.get(), 1, "one commit for both");
        assert_eq!(metrics.committed_requests.get(), 2);
    }

    #[tokio::test]
    async fn an_idle_runtime_is_not_waited_for() {
        let (_dir, pool) = filer_db::tests::migrated().await;
        // Nobody counted as busy: the writer gathers nothing and commits at once, not after
        // the ten minutes it could wait.
        let (filer, metrics, _stop) = start_gathering(
            &pool,
            Arc::new(Workers::default()),
            Duration::from_secs(600),
        )
        .await;
        let answer = queue(&filer, "U1").await;
        let filed = tokio::time::timeout(Duration::from_secs(60), answer).await;
        assert!(matches!(filed, Ok(Ok(Ok(Filed::New(_))))), "{filed:?}");
        assert_eq!(metrics.commits.get(), 1);
    }

    #[tokio::test]
    async fn a_worker_that_stays_busy_delays_a_commit_only_until_the_deadline() {
        let (_dir, pool) = filer_db::tests::migrated().await;
        let workers = Arc::new(Workers::default());
        let (park, worker) = busy_worker(&workers);
        let (filer, _metrics, _stop) =
            start_gathering(&pool, workers, Duration::from_millis(20)).await;
        let answer = queue(&filer, "U1").await;
        let filed = tokio::time::timeout(Duration::from_secs(60), answer).await;
        assert!(matches!(filed, Ok(Ok(Ok(Filed::New(_))))), "{filed:?}");
        park.send(()).unwrap();
        worker.join().unwrap();
    }

    /// Open tickets `first..=last` in channel C1, each by its own requester, filed the day
    /// before, each text the template `<service> staging deploy stuck at the canary step`
    /// with one of four services: they share most of their words with one another and with
    /// the request of [`file`] (5 of its 6), enough to be taken for duplicates of it.
    async fn look_alikes(pool: &Pool, first: i64, last: i64) {
        sqlx::query(
            "with recursive n(i) as (select ?1 union all select i + 1 from n where i < ?2) \
             insert into tickets (id, key, title, description, requester, channel, source, \
             category, priority, status, created_at, updated_at) \
             select i, 'PLAT-' || i, \
             case i % 4 when 0 then 'billing' when 1 then 'search' when 2 then 'checkout' \
                 else 'ledger' end || ' staging deploy stuck at the canary step', '', \
             'UOTHER' || i, 'C1', 'command', 'general', 'P3', 'open', \
             '2026-11-09T10:00:00.000000Z', '2026-11-09T10:00:00.000000Z' from n",
        )
        .bind(first)
        .bind(last)
        .execute(pool)
        .await
        .unwrap();
    }

    /// Open ticket `id` by `requester` in channel C1, filed the day before: the request of
    /// [`file`] in other words.
    async fn the_original(pool: &Pool, id: i64, requester: &str) {
        sqlx::query(
            "insert into tickets (id, key, title, description, requester, channel, source, \
             category, priority, status, created_at, updated_at) \
             values (?1, 'PLAT-' || ?1, 'payments staging deploy stuck at the canary step', '', \
             ?2, 'C1', 'command', 'general', 'P3', 'open', \
             '2026-11-09T10:00:00.000000Z', '2026-11-09T10:00:00.000000Z')",
        )
        .bind(id)
        .bind(requester)
        .execute(pool)
        .await
        .unwrap();
    }

    /// Files "Payments staging deploy is stuck at the canary step" for `requester` in C1.
    async fn file(filer: &TicketFiler, requester: &str) -> Ticket {
        let req = request(
            requester,
            "Payments staging deploy is stuck at the canary step",
        );
        match filer.file(req).await.unwrap() {
            Filed::New(t) => *t,
            Filed::Duplicate => panic!("taken for a redelivery"),
        }
    }

    #[tokio::test]
    async fn the_requesters_own_ticket_is_found_under_thousands_of_newer_look_alikes() {
        let (_dir, pool) = filer_db::tests::migrated().await;
        the_original(&pool, 1, "U1").await;
        look_alikes(&pool, 2, 3001).await;
        let (filer, _stop) = start(&pool).await;
        let ticket = file(&filer, "U1").await;
        assert_eq!(ticket.duplicate_of, Some((1, "PLAT-1".into())));
        assert_eq!(ticket.id, 3002, "numbered after the highest ticket");
    }

    #[tokio::test]
    async fn a_ticket_filed_more_than_two_weeks_ago_is_no_duplicate() {
        let (_dir, pool) = filer_db::tests::migrated().await;
        let filed_at = |at: &'static str| {
            let pool = pool.clone();
            async move {
                sqlx::query("update tickets set created_at = ?")
                    .bind(at)
                    .execute(&pool)
                    .await
                    .unwrap();
            }
        };
        the_original(&pool, 1, "U1").await;
        let (filer, _stop) = start(&pool).await;
        // The clock reads 2026-11-10T10:00: two weeks before is still in.
        filed_at("2026-10-27T10:00:00.000000Z").await;
        assert_eq!(file(&filer, "U1").await.duplicate_of.map(|d| d.0), Some(1));
        filed_at("2026-10-27T09:59:59.000000Z").await;
        assert_eq!(file(&filer, "U1").await.duplicate_of, None);
    }

    #[tokio::test]
    async fn in_a_channel_full_of_look_alikes_the_true_duplicate_among_the_recent_ones_wins() {
        let (_dir, pool) = filer_db::tests::migrated().await;
        look_alikes(&pool, 1, 2995).await;
        the_original(&pool, 2996, "U2").await;
        look_alikes(&pool, 2997, 3000).await;
        let (filer, _stop) = start(&pool).await;
        // Another requester: the channel's newest tickets are compared, every one of which
        // shares most of the request's words; the original shares them all.
        let ticket = file(&filer, "U3").await;
        assert_eq!(ticket.duplicate_of, Some((2996, "PLAT-2996".into())));
    }

    #[tokio::test]
    async fn a_request_of_the_same_batch_is_compared_with_the_tickets_filed_before_it() {
        let (_dir, pool) = filer_db::tests::migrated().await;
        let (filer, _stop) = start(&pool).await;
        // Queued together, so that one commit is likely to carry both; in order either way.
        let (first, second) = tokio::join!(file(&filer, "U1"), file(&filer, "U2"));
        let (older, newer) = if first.id < second.id {
            (first, second)
        } else {
            (second, first)
        };
        assert_eq!(older.duplicate_of, None);
        assert_eq!(newer.duplicate_of, Some((older.id, older.key.clone())));
    }

    #[tokio::test]
    async fn one_commit_stores_each_tickets_row_created_event_timer_and_outbox_row_once() {
        let (_dir, pool) = filer_db::tests::migrated().await;
        let (filer, _stop) = start(&pool).await;
        let request = |n: usize| FileRequest {
            new: NewTicket {
                title: format!("kafka consumer lag on topic {n}"),
                description: format!("kafka consumer lag on topic {n}"),
                requester: format!("U{n}"),
                channel: Some("C1".into()),
                source: Source::Command,
                source_ts: None,
                urgency: None,
                link: None,
                filed_by: None,
            },
            dedupe: Vec::new(),
            effects: Box::new(|t: &Ticket| {
                vec![OutboxMessage::post(
                    "C9",
                    serde_json::json!({ "channel": "C9", "text": t.key }),
                )]
            }),
            requested_at: None,
        };
        // Queued together: one commit is likely to carry all three (one statement text for
        // the four tables), and each row is stored once either way.
        let (a, b, c) = tokio::join!(
            filer.file(request(1)),
            filer.file(request(2)),
            filer.file(request(3))
        );
        let mut keys = Vec::new();
        for filed in [a, b, c] {
            match filed.unwrap() {
                Filed::New(t) => keys.push(t.key),
                Filed::Duplicate => panic!("taken for a redelivery"),
            }
        }
        let count = |sql: &'static str| {
            let pool = pool.clone();
            async move {
                sqlx::query_scalar::<_, i64>(sql)
                    .fetch_one(&pool)
                    .await
                    .unwrap()
            }
        };
        assert_eq!(count("select count(*) from tickets").await, 3);
        assert_eq!(
            count("select count(distinct ticket_id) from ticket_events where kind = 'created'")
                .await,
            3
        );
        assert_eq!(count("select count(*) from ticket_events").await, 3);
        assert_eq!(
            count("select count(distinct ticket_id) from timers").await,
            count("select count(*) from timers").await
        );
        assert_eq!(
            count("select count(distinct ticket_id) from timers").await,
            3
        );
        let texts: Vec<String> =
            sqlx::query_scalar("select payload ->> 'text' from outbox order by ticket_id")
                .fetch_all(&pool)
                .await
                .unwrap();
        keys.sort_by_key(|k| k.trim_start_matches("PLAT-").parse::<i64>().unwrap());
        assert_eq!(texts, keys);
    }

    #[tokio::test]
    async fn a_redelivered_request_files_nothing_even_within_one_batch() {
        let (_dir, pool) = filer_db::tests::migrated().await;
        let (filer, _stop) = start(&pool).await;
        let request = |key: &str| FileRequest {
            new: NewTicket {
                title: "vault token expired".into(),
                description: "vault token expired".into(),
                requester: "U1".into(),
                channel: Some("C1".into()),
                source: Source::Mention,
                source_ts: Some("1.2".into()),
                urgency: None,
                link: None,
                filed_by: None,
            },
            dedupe: vec![key.to_string(), "msg:C1:1.2".into()],
            effects: Box::new(|_| Vec::new()),
            requested_at: None,
        };
        let (a, b) = tokio::join!(
            filer.file(request("event:E1")),
            filer.file(request("event:E2"))
        );
        let filed = [a.unwrap(), b.unwrap()];
        let new = filed.iter().filter(|f| matches!(f, Filed::New(_))).count();
        assert_eq!(new, 1, "{filed:?}");
        let tickets: i64 = sqlx::query_scalar("select count(*) from tickets")
            .fetch_one(&pool)
            .await
            .unwrap();
        assert_eq!(tickets, 1);
        // And once the first is committed, a third delivery is a redelivery too.
        assert!(matches!(
            filer.file(request("event:E3")).await.unwrap(),
            Filed::Duplicate
        ));
    }
}
