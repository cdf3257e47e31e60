//! How the ticket writer waits when another connection holds SQLite's write lock (the
//! pool's, marking an outbox row sent): it tries again every 100 µs, for up to 10 s.
//!
//! Why not SQLite's own busy timeout: it sleeps 1, 2, 5, 10, 15, 20, 25, 25, 25, 50, 50 and
//! then 100 ms between tries, so a lock held for 20 ms kept the writer, and every request
//! queued behind it, waiting 33 ms, and one held for 130 ms waiting 178 ms. Trying every
//! 100 µs costs a few wake-ups while the lock is held, and ends the wait within about that
//! long of its release.

use std::cell::Cell;
use std::time::{Duration, Instant};

/// The longest the writer waits for the lock before its commit fails (as the pool's
/// `busy_timeout`).
const LONGEST: Duration = Duration::from_secs(10);
/// Between two tries.
const BETWEEN_TRIES: Duration = Duration::from_micros(100);

thread_local! {
    /// When the current wait began (the connection is used by one thread at a time).
    static SINCE: Cell<Option<Instant>> = const { Cell::new(None) };
}

/// SQLite's busy handler for the writer's connection (`Connection::busy_handler`): called
/// with the number of tries so far; true to try again.
pub fn try_again(tries: i32) -> bool {
    let now = Instant::now();
    let since = match SINCE.get() {
        Some(since) if tries > 0 => since,
        _ => {
            SINCE.set(Some(now));
            now
        }
    };
    if !keep_waiting(now - since) {
        return false;
    }
    std::thread::sleep(BETWEEN_TRIES);
    true
}

/// Whether a wait that has lasted `waited` goes on.
fn keep_waiting(waited: Duration) -> bool {
    waited < LONGEST
}

#[cfg(test)]
mod tests {
    use super::*;
    use rusqlite::{Connection, TransactionBehavior};

    #[test]
    fn the_wait_goes_on_for_ten_seconds_and_no_longer() {
        assert!(keep_waiting(Duration::ZERO));
        assert!(keep_waiting(Duration::from_millis(9_999)));
        assert!(!keep_waiting(LONGEST));
        assert!(!keep_waiting(Duration::from_secs(60)));
    }

    #[test]
    fn the_writer_gets_the_lock_soon_after_another_connection_lets_it_go() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        let mut writer = Connection::open(&path).unwrap();
        writer
            .execute_batch("pragma journal_mode = wal; create table t (x)")
            .unwrap();
        writer.busy_handler(Some(try_again)).unwrap();
        let held = Duration::from_millis(240);
        let (locked_tx, locked) = std::sync::mpsc::channel();
        let other = std::thread::spawn({
            let path = path.clone();
            move || {
                let mut conn = Connection::open(&path).unwrap();
                let tx = conn
                    .transaction_with_behavior(TransactionBehavior::Immediate)
                    .unwrap();
                tx.execute("insert into t values (1)", []).unwrap();
                locked_tx.send(()).unwrap();
                std::thread::sleep(held);
                tx.commit().unwrap();
                Instant::now()
            }
        });
        locked.recv().unwrap();
        let tx = writer
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .unwrap();
        let got = Instant::now();
        tx.execute("insert into t values (2)", []).unwrap();
        tx.commit().unwrap();
        let released = other.join().unwrap();
        // SQLite's own wait would notice a lock let go after 240 ms only at 328 ms (its
        // sleeps: 1, 2, 5, 10, 15, 20, 25, 25, 25, 50, 50, 100 ms), 88 ms late.
        let late = got.saturating_duration_since(released);
        assert!(
            late < Duration::from_millis(50),
            "got the lock {late:?} after its release"
        );
        let n: i64 = writer
            .query_row("select count(*) from t", [], |r| r.get(0))
            .unwrap();
        assert_eq!(n, 2);
    }
}
