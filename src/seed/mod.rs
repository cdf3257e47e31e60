//! `platform-desk seed-demo`: plausible, deterministic ticket history over the last days,
//! written as the bot itself would have written it (tickets, their event logs, the timers
//! of those still open), so the reports, the export and the what-if replay read it like real
//! history. Above the capabilities: it uses tickets' types and the SLA functions.
//!
//! Deterministic: the same seed, `now` and policy give the same rows. Each ticket's story
//! depends only on the seed and its index, and the creation instants on the seed alone.

mod db;
mod mix;
pub mod rng;
pub mod story;
mod texts;

use crate::settings::Policy;
use chrono::{DateTime, Duration, Utc};
use rng::Rng;
use sqlx::SqlitePool;
use std::sync::mpsc;

/// What to seed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Options {
    pub tickets: u64,
    pub days: u32,
    pub seed: u64,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            tickets: 1_000,
            days: 90,
            seed: 1,
        }
    }
}

/// What was written.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    pub tickets: u64,
    pub events: u64,
    pub open: u64,
    pub breached: u64,
    pub timers: u64,
    /// The first and last keys written (None when nothing was).
    pub first_key: Option<String>,
    pub last_key: Option<String>,
}

/// Tickets generated and written per step; one transaction per `PER_COMMIT`.
const CHUNK: usize = 10_000;
const PER_COMMIT: usize = 100_000;

/// Fills the database with `opts.tickets` tickets created over the `opts.days` days before
/// `now`. Keys continue after the existing tickets. Generation runs on a thread of its own
/// while the previous chunk is written.
pub async fn seed(
    pool: &SqlitePool,
    policy: &Policy,
    opts: &Options,
    now: DateTime<Utc>,
) -> anyhow::Result<Summary> {
    let mut summary = Summary::default();
    if opts.tickets == 0 {
        return Ok(summary);
    }
    let first_id = db::next_id(&mut *pool.acquire().await?).await?;
    let mix = mix::Mix::new(policy, opts.tickets);
    let created = creation_instants(&mix, opts, now);
    let (send, receive) = mpsc::sync_channel::<Vec<story::Seeded>>(2);
    let policy_for_thread = policy.clone();
    let seed = opts.seed;
    let producer = std::thread::spawn(move || {
        let calendar = crate::sla::calendar(&policy_for_thread);
        for (c, instants) in created.chunks(CHUNK).enumerate() {
            let chunk = instants
                .iter()
                .enumerate()
                .map(|(i, at)| {
                    let index = (c * CHUNK + i) as u64;
                    let mut r = Rng::stream(seed, index);
                    story::live(
                        &policy_for_thread,
                        &calendar,
                        &mix,
                        &mut r,
                        first_id + index as i64,
                        *at,
                        now,
                    )
                })
                .collect();
            if send.send(chunk).is_err() {
                return;
            }
        }
    });
    let receive = std::sync::Arc::new(std::sync::Mutex::new(receive));
    let next = || {
        let receive = receive.clone();
        tokio::task::spawn_blocking(move || receive.lock().ok()?.recv().ok())
    };
    let mut conn = pool.acquire().await?;
    let mut written_in_tx = 0;
    let mut tx = sqlx::Connection::begin(&mut *conn).await?;
    while let Some(chunk) = next().await? {
        db::insert(&mut tx, &chunk).await?;
        for s in &chunk {
            summary.tickets += 1;
            summary.events += s.events.len() as u64;
            summary.open += u64::from(s.ticket.is_open());
            summary.breached +=
                u64::from(s.ticket.first_response_breached || s.ticket.resolution_breached);
            summary.timers += s.timers.len() as u64;
        }
        summary.first_key = summary
            .first_key
            .or_else(|| chunk.first().map(|s| s.ticket.key.clone()));
        summary.last_key = chunk.last().map(|s| s.ticket.key.clone());
        written_in_tx += chunk.len();
        if written_in_tx >= PER_COMMIT {
            tx.commit().await?;
            tx = sqlx::Connection::begin(&mut *conn).await?;
            written_in_tx = 0;
        }
    }
    demo_wins(&mut tx, policy, opts, now).await?;
    tx.commit().await?;
    producer
        .join()
        .map_err(|_| anyhow::anyhow!("the seed's generator panicked"))?;
    Ok(summary)
}

/// Two wins by the first platform engineer, inside the seeded days, so the hours saved and
/// the leverage ratio show something; none when wins exist already or nobody is on the team.
async fn demo_wins(
    conn: &mut sqlx::SqliteConnection,
    policy: &Policy,
    opts: &Options,
    now: DateTime<Utc>,
) -> sqlx::Result<()> {
    let Some(by) = policy.slack.platform_team.first() else {
        return Ok(());
    };
    if crate::leverage::db::wins(conn, 1).await?.1 > 0 {
        return Ok(());
    }
    let days = i64::from(opts.days.max(1));
    for (what, hours, ago) in [
        ("deploys went from 45 to 5 minutes", 200.0, days * 2 / 3),
        ("preview environments on every pull request", 60.0, days / 4),
    ] {
        let at = now - Duration::days(ago);
        crate::leverage::db::add_win(conn, what, hours, by, at).await?;
    }
    Ok(())
}

/// [`seed`] into a database with no tickets yet; None (and nothing written) otherwise, so a
/// restart never adds a second history.
pub async fn seed_if_empty(
    pool: &SqlitePool,
    policy: &Policy,
    opts: &Options,
    now: DateTime<Utc>,
) -> anyhow::Result<Option<Summary>> {
    if db::next_id(&mut *pool.acquire().await?).await? > 1 {
        return Ok(None);
    }
    Ok(Some(seed(pool, policy, opts, now).await?))
}

/// When each ticket was filed, oldest first: drawn over the window in proportion to how busy
/// that hour of the week is (`Mix::activity`).
fn creation_instants(mix: &mix::Mix, opts: &Options, now: DateTime<Utc>) -> Vec<DateTime<Utc>> {
    let span = Duration::days(opts.days.max(1) as i64).num_seconds() as u64;
    let start = now - Duration::seconds(span as i64);
    let mut r = Rng::new(opts.seed);
    let mut out: Vec<DateTime<Utc>> = (0..opts.tickets)
        .map(|_| loop {
            let at = start + Duration::seconds(r.below(span) as i64);
            if r.unit() * 1.1 < mix.activity(at) {
                break at;
            }
        })
        .collect();
    out.sort_unstable();
    out
}
