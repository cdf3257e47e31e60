//! Checkpoints of the write-ahead log, kept out of the ticket writer's commits: a thread of
//! its own copies the log into the database file, and the writer then copies only what it
//! committed meanwhile, so that the log starts over.
//!
//! Why: SQLite's automatic checkpoint runs inside the commit that crosses 1,000 log pages.
//! It copies a few hundred pages into the database file and syncs it, 2–10 ms during which
//! that commit's requests wait, and every request queued behind it. That was about one
//! commit in 35 at 50 connections, and a measurement without checkpoints had a p99 16% lower.
//! A checkpoint on another connection does not hold the writer back, but the log can only
//! start over once everything in it is copied, and under steady load the writer always adds
//! more first: so the writer itself copies that remainder (at most 200 pages, a few
//! commits' worth) between two commits, after answering the first.
//!
//! Durability is unchanged: both checkpoints sync the database file before the log may be
//! reused (their connections are `synchronous = FULL`).

use rusqlite::{Connection, OpenFlags};
use std::cell::Cell;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{mpsc, Arc};
use std::time::Duration;

/// Log pages not yet copied from which the background thread starts a checkpoint
/// (SQLite's own default for its automatic one).
const COPY_EVERY: u32 = 1_000;
/// Log pages from which the writer, once the background thread has copied the log, copies
/// the rest itself so that the log starts over (16 MiB of log). Between two starts over,
/// the background thread keeps up; a log file that has grown once is written over in place.
const START_OVER_AT: u32 = 4_000;
/// The most log pages the writer copies itself to start the log over: more, and the
/// background thread copies once again first (what the writer copies, it copies between two
/// commits, with requests waiting).
const WRITER_REST: u32 = 200;
/// Log pages past which the writer tries to copy everything itself while the background
/// thread is still copying (which holds SQLite's checkpoint lock, so the try returns at once
/// when it does): the log must not grow without bound if that thread falls far behind.
const WRITER_COPIES_AT: u32 = 20_000;

thread_local! {
    /// Pages in the log after the last commit on this thread's connection (SQLite's WAL
    /// hook; the writer has its own thread).
    static LOG_PAGES: Cell<u32> = const { Cell::new(0) };
}

/// What the checkpoints did (no longer exported at `/metrics`: this machinery is going).
#[derive(Debug, Default)]
pub struct Counts {
    /// Copies by the background thread.
    pub background: AtomicU64,
    /// Copies by the writer itself.
    pub writer: AtomicU64,
    /// The most pages the log held after a commit.
    pub log_pages_max: AtomicU64,
}

/// The writer's side: when to ask for a checkpoint, and when to finish one.
pub struct Checkpoints {
    ask: Option<mpsc::Sender<()>>,
    /// One message per finished copy: the log pages the database file then has (as the log
    /// counts them), or `None` if the copy failed.
    copies: mpsc::Receiver<Option<u32>>,
    /// Log pages in the database file after the last copy.
    backfilled: u32,
    copying: bool,
    /// The copy under way began before the writer copied everything itself: its count
    /// belongs to the log before it started over.
    stale: bool,
    thread: Option<std::thread::JoinHandle<()>>,
    pub counts: Arc<Counts>,
}

impl Checkpoints {
    /// Takes over checkpoints from `writer` (its automatic ones stop) and starts the
    /// background thread with its own connection to `path`.
    pub fn start(writer: &Connection, path: &Path) -> anyhow::Result<Self> {
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        conn.busy_timeout(Duration::from_secs(10))?;
        conn.execute_batch("pragma synchronous = full;")?;
        // Replaces SQLite's automatic checkpoint on the writer's connection.
        writer.wal_hook(Some(|_, pages| {
            LOG_PAGES.set(pages.max(0) as u32);
            Ok(())
        }));
        let (ask, asked) = mpsc::channel::<()>();
        let (done, copies) = mpsc::channel();
        let counts = Arc::new(Counts::default());
        let counted = counts.clone();
        let thread = std::thread::Builder::new()
            .name("wal-checkpoint".into())
            .spawn(move || {
                for () in asked {
                    counted.background.fetch_add(1, Relaxed);
                    let copied = passive(&conn)
                        .inspect_err(
                            |e| tracing::warn!(error = %e, "a background checkpoint failed"),
                        )
                        .ok();
                    if done.send(copied).is_err() {
                        break;
                    }
                }
            })?;
        Ok(Self {
            ask: Some(ask),
            copies,
            backfilled: 0,
            copying: false,
            stale: false,
            thread: Some(thread),
            counts,
        })
    }

    /// Whether the background thread is copying the log (as far as the writer has heard).
    pub fn copying(&self) -> bool {
        self.copying
    }

    /// Called by the writer between commits, after answering the last one.
    pub fn after_commit(&mut self, writer: &Connection) {
        let pages = LOG_PAGES.get();
        self.counts
            .log_pages_max
            .fetch_max(u64::from(pages), Relaxed);
        if self.copying {
            match self.copies.try_recv() {
                Err(mpsc::TryRecvError::Empty) => {}
                // A copy is done, or the thread is gone (which ends the copy with no count).
                finished => {
                    self.copying = false;
                    if std::mem::take(&mut self.stale) {
                        self.backfilled = 0;
                    } else if let Some(copied) = finished.ok().flatten() {
                        self.backfilled = copied;
                    }
                }
            }
        }
        if self.copying {
            if pages >= WRITER_COPIES_AT {
                self.writer_copies(writer);
                self.stale = true;
            }
            return;
        }
        let rest = pages - self.backfilled.min(pages);
        if pages >= START_OVER_AT && rest <= WRITER_REST {
            // The background thread has copied nearly all of it: copy the rest, so the
            // next commit starts the log over.
            self.writer_copies(writer);
        } else if rest >= COPY_EVERY || pages >= START_OVER_AT {
            self.copying = self.ask.as_ref().is_some_and(|ask| ask.send(()).is_ok());
            if !self.copying && pages >= START_OVER_AT {
                // The background thread is gone: the writer copies, as SQLite would have.
                self.writer_copies(writer);
            }
        }
    }

    /// Copies the log into the database file on the writer's own connection. If that copied
    /// all of it, the next commit starts the log over; if not (a reader still uses old
    /// pages), the count of 0 asks the background thread for a copy, which corrects it.
    fn writer_copies(&mut self, writer: &Connection) {
        self.counts.writer.fetch_add(1, Relaxed);
        if let Err(e) = passive(writer) {
            tracing::warn!(error = %e, "a checkpoint failed");
        }
        self.backfilled = 0;
    }
}

impl Drop for Checkpoints {
    fn drop(&mut self) {
        self.ask = None;
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Copies what it can of the log into the database file, without waiting for anyone;
/// returns how many of the log's pages the database file now has.
fn passive(conn: &Connection) -> rusqlite::Result<u32> {
    conn.query_row("pragma wal_checkpoint(passive)", [], |r| {
        Ok(r.get::<_, i64>(2)?.max(0) as u32)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A writer's connection (without the fsyncs, for speed) to a new database in `dir`.
    fn writer(dir: &Path) -> (Connection, std::path::PathBuf) {
        let path = dir.join("t.db");
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch(
            "pragma journal_mode = wal; pragma synchronous = normal;
             create table t (id integer primary key, body text);",
        )
        .unwrap();
        (conn, path)
    }

    /// One commit of a few pages.
    fn commit(conn: &mut Connection, n: usize) {
        let tx = conn.transaction().unwrap();
        for i in 0..20 {
            tx.execute(
                "insert into t (body) values (?)",
                [format!("{n}-{i}-{}", "x".repeat(400))],
            )
            .unwrap();
        }
        tx.commit().unwrap();
    }

    /// Commits `commits` times, handing each to `checkpoints` as the writer does; returns
    /// the most log pages seen and how many times the log started over.
    fn commit_through(
        conn: &mut Connection,
        checkpoints: &mut Checkpoints,
        commits: usize,
    ) -> (u32, usize) {
        /// Commits a copy may see past START_OVER_AT before the test's writer waits for it.
        const COMMITS_PER_COPY: u32 = 20;
        let (mut most, mut starts_over, mut last) = (0, 0, 0);
        let (mut this_copy, mut during_copy) = (0, 0);
        for n in 0..commits {
            commit(conn, n);
            let pages = LOG_PAGES.get();
            most = most.max(pages);
            starts_over += usize::from(pages < last);
            last = pages;
            checkpoints.after_commit(conn);
            // These commits skip the fsync and can outrun every background copy: the rest
            // the writer must copy would then never get small enough, and whether the log
            // starts over would depend on thread timing. A real commit costs a sync. So past
            // START_OVER_AT, a copy under way sees at most a few commits (about 50 pages,
            // under WRITER_REST) before the writer waits for it; commits still go on during
            // every copy, so starting over still needs the writer to copy that rest.
            let copy = checkpoints.counts.background.load(Relaxed);
            if copy != this_copy {
                (this_copy, during_copy) = (copy, 0);
            }
            if checkpoints.copying && LOG_PAGES.get() >= START_OVER_AT {
                during_copy += 1;
                // (Bounded, so that a broken hand-over fails the assertions, not hangs.)
                let give_up = std::time::Instant::now() + Duration::from_secs(5);
                // Only this copy: one the writer asks for next must see commits too.
                while during_copy >= COMMITS_PER_COPY
                    && checkpoints.copying
                    && checkpoints.counts.background.load(Relaxed) == this_copy
                    && std::time::Instant::now() < give_up
                {
                    std::thread::sleep(Duration::from_millis(1));
                    checkpoints.after_commit(conn);
                }
            }
        }
        (most, starts_over)
    }

    #[test]
    fn the_writers_commits_no_longer_copy_the_log_into_the_database_file() {
        let dir = tempfile::tempdir().unwrap();
        let (mut conn, path) = writer(dir.path());
        let _checkpoints = Checkpoints::start(&conn, &path).unwrap();
        let before = std::fs::metadata(&path).unwrap().len();
        // Well past the 1,000 pages at which SQLite's automatic checkpoint would copy.
        for n in 0..400 {
            commit(&mut conn, n);
        }
        assert!(LOG_PAGES.get() > 1_500, "{} pages", LOG_PAGES.get());
        assert_eq!(std::fs::metadata(&path).unwrap().len(), before);
    }

    #[test]
    fn without_the_background_thread_the_writer_starts_the_log_over_itself() {
        let dir = tempfile::tempdir().unwrap();
        let (mut conn, path) = writer(dir.path());
        let mut checkpoints = Checkpoints::start(&conn, &path).unwrap();
        let counts = checkpoints.counts.clone();
        // As if the thread had died: asking it fails.
        checkpoints.ask = None;
        let (most, starts_over) = commit_through(&mut conn, &mut checkpoints, 1_500);
        assert!(starts_over >= 1, "the log never started over");
        // And the counts show who copied, and how far the log grew.
        let copies = counts.writer.load(Relaxed);
        assert!(copies >= starts_over as u64, "{copies} copies counted");
        assert_eq!(counts.background.load(Relaxed), 0);
        assert_eq!(counts.log_pages_max.load(Relaxed), u64::from(most));
        assert!(
            most < START_OVER_AT + COPY_EVERY,
            "the log reached {most} pages"
        );
    }

    #[test]
    fn the_log_is_copied_in_the_background_and_starts_over_while_commits_go_on() {
        let dir = tempfile::tempdir().unwrap();
        let (mut conn, path) = writer(dir.path());
        let mut checkpoints = Checkpoints::start(&conn, &path).unwrap();
        let counts = checkpoints.counts.clone();
        let (most, starts_over) = commit_through(&mut conn, &mut checkpoints, 2_000);
        drop(checkpoints);
        assert!(starts_over >= 2, "the log started over {starts_over} times");
        assert!(counts.background.load(Relaxed) >= 2);
        assert!(
            most < START_OVER_AT + 3 * COPY_EVERY,
            "the log reached {most} pages"
        );
        let wal = std::fs::metadata(dir.path().join("t.db-wal"))
            .unwrap()
            .len();
        assert!(
            wal < u64::from(START_OVER_AT + 3 * COPY_EVERY) * 4_120,
            "{wal} bytes"
        );
        // Everything committed is there, and sound.
        let check = Connection::open(&path).unwrap();
        let rows: i64 = check
            .query_row("select count(*) from t", [], |r| r.get(0))
            .unwrap();
        assert_eq!(rows, 40_000);
        let ok: String = check
            .query_row("pragma integrity_check", [], |r| r.get(0))
            .unwrap();
        assert_eq!(ok, "ok");
    }
}
