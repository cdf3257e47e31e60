//! The ticket writer: files tickets in shared transactions (group commit), so each request
//! is answered only after its ticket is on disk, yet one fsync serves many requests. One
//! task owns one connection of its own (`filer_db`) and takes whatever requests are queued
//! as one transaction: a few multi-row statements, whatever the batch's size.
//!
//! This file is the handle request handlers hold ([`TicketFiler`]) and the writer's start;
//! `protocol` has what passes between them, `writer` the writer itself.

mod protocol;
#[cfg(test)]
mod tests;
mod writer;

use crate::clock::Clock;
use crate::metrics::Metrics;
use crate::settings::Policy;
use crate::store::Pool;
use crate::tickets::commit_timing::{SlowCommits, Timing};
use crate::tickets::filer_db::{self, CandidateText};
use crate::tickets::recent::{window_start, Remembered, MAX_REMEMBERED};
use crate::triage;
use chrono::{DateTime, Utc};
use futures_util::StreamExt;
pub use protocol::{Effects, FileError, FileRequest, Filed, Gather, Wakes};
use protocol::{Job, Msg, Read};
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;
use writer::{on_own_thread, Writer};

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
