//! The ticket writer's loop: it gathers queued requests into one transaction, reads what
//! the decision needs, decides ([`plan`], no I/O), writes and commits, then answers each
//! request.

use crate::clock::{db_time, Clock};
use crate::metrics::Metrics;
use crate::outbox::OutboxMessage;
use crate::settings::Policy;
use crate::sla::deadlines::{Happening, Moment};
use crate::tickets::commit_timing::{SlowCommits, Timing};
use crate::tickets::filer_db;
use crate::tickets::recent::{window_start, Owner, Recent, Remembered};
use crate::tickets::{NewTicket, Ticket};
use crate::{sla, triage};
use chrono::{DateTime, Utc};
use sqlx::SqliteConnection;
use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;

use super::protocol::{FileError, Filed, Gather, Job, Msg, Wakes};

/// The most requests one commit carries.
const MAX_BATCH: usize = 512;

/// How long the writer sleeps between looks at what has arrived while it gathers.
const GATHER_STEP: Duration = Duration::from_micros(100);

/// Runs the writer on a thread of its own, with a runtime of its own: the ticket writer's
/// turns (a statement answered by its connection's thread, the next one sent) are then not
/// queued behind the HTTP tasks of the shared runtime, whose worker takes a task woken from
/// another thread only between its own queue's tasks. Each commit's statements then run back
/// to back, and the requests that arrived meanwhile are parsed during its fsync. The handle
/// finishes when the writer has stopped.
pub(super) fn on_own_thread(writer: Writer, rx: mpsc::Receiver<Msg>) -> JoinHandle<()> {
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

pub(super) struct Writer {
    pub(super) conn: SqliteConnection,
    pub(super) policy: Arc<Policy>,
    pub(super) clock: Arc<dyn Clock>,
    pub(super) wakes: Wakes,
    pub(super) metrics: Arc<Metrics>,
    /// When a commit waits for the requests the HTTP workers are reading.
    pub(super) gather: Gather,
    pub(super) next_id: i64,
    /// What the writer remembers of recent tickets, for the duplicate check.
    pub(super) remembered: Remembered,
    pub(super) recalled: watch::Sender<bool>,
    /// Where the last commit's time went.
    pub(super) timing: Timing,
    pub(super) slow_commits: SlowCommits,
}

/// What one commit files: its tickets (with their requests), their SLA plans and outbox
/// rows.
#[derive(Default)]
pub(super) struct Rows<'j> {
    pub(super) tickets: Vec<(Ticket, &'j Job)>,
    pub(super) plans: Vec<(i64, sla::timers::Planned, Option<String>)>,
    pub(super) outbox: Vec<(i64, OutboxMessage)>,
}

/// A batch as [`plan`] decided it: an answer per request (new ones filled in after
/// the commit), the rows to write, the last ticket number used and the earliest new timer.
pub(super) struct Planned<'j> {
    pub(super) results: Vec<Filed>,
    pub(super) rows: Rows<'j>,
    pub(super) next_id: i64,
    pub(super) earliest: Option<DateTime<Utc>>,
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
        // The scheduler is woken by `remember` only if a new timer is due before it wakes
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
pub(super) fn plan<'j>(
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
        status: crate::tickets::Status::Open,
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
