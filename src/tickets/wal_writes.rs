//! The ticket writer's SQLite VFS: SQLite's own ("unix"), except that the log writes of a
//! commit are gathered and handed to the kernel in one call when the commit syncs the
//! write-ahead log, instead of two calls per page.
//!
//! Why: a commit of two dozen tickets writes about 28 pages to the log, each as a 24-byte
//! frame header and a 4 KiB page: 56 `pwrite`s whose per-call cost (the system call, the
//! file system's write path, a page-cache lookup for each 24-byte header): the frame
//! writes were 5.8% of the server's CPU samples at 50 connections, 1.8% gathered (the copy
//! into the buffer included). The bytes, their offsets and their order on disk are exactly
//! what SQLite asked for; only the number of calls changes.
//!
//! Why it is safe: writes are gathered only inside [`gathering`], around the `COMMIT` of a
//! connection with `synchronous = FULL`, where SQLite writes the commit's frames and then
//! syncs the log before it makes the commit visible to anyone. Gathered bytes reach the
//! kernel before that sync, and before any read, size, truncation or close of the log. If
//! the commit fails before its sync, what is left is dropped when `gathering` returns: those
//! frames were never part of the log, and writing them later could overwrite the frames of a
//! commit another connection made after ours was rolled back. Outside `gathering` (a large
//! transaction spilling pages before its commit) writes go straight through. Only log files
//! are wrapped; the database file and the shared-memory index are SQLite's own, untouched.

use rusqlite::ffi;
use std::cell::RefCell;
use std::ffi::{c_int, c_void, CStr};
use std::sync::OnceLock;

/// The name connections open with (`Connection::open_with_flags_and_vfs`).
pub const NAME: &CStr = c"platform-desk-wal-writes";

/// Gathered bytes are written out once they reach this size, whatever comes next (a large
/// commit must not hold its whole log in memory).
const MOST_GATHERED: usize = 1 << 20;

/// The most one call to the real VFS writes: its `unixWrite` keeps only the low 17 bits of
/// a length (a write of 128 KiB or more fails as "disk full").
const LARGEST_WRITE: usize = 0x1ffff & !0xfff;

/// Registers the VFS (once per process) and returns its name.
pub fn register() -> rusqlite::Result<&'static str> {
    static REGISTERED: OnceLock<c_int> = OnceLock::new();
    let rc = *REGISTERED.get_or_init(|| unsafe { register_once() });
    if rc == ffi::SQLITE_OK {
        Ok(NAME.to_str().expect("the name is ASCII"))
    } else {
        Err(rusqlite::Error::SqliteFailure(ffi::Error::new(rc), None))
    }
}

/// Runs `commit` (a `COMMIT` on a connection opened with this VFS and `synchronous =
/// FULL`) with its log writes gathered; anything not written by the commit's sync is
/// dropped when it returns.
pub fn gathering<T>(commit: impl FnOnce() -> T) -> T {
    /// Ends the gathering even if `commit` unwinds.
    struct Done;
    impl Drop for Done {
        fn drop(&mut self) {
            GATHERED.with(|g| {
                if let Ok(mut g) = g.try_borrow_mut() {
                    g.active = false;
                    g.file = std::ptr::null_mut();
                    g.bytes.clear();
                    // A large commit's buffer is not kept for the small ones after it.
                    g.bytes.shrink_to(MOST_GATHERED);
                }
            })
        }
    }
    GATHERED.with(|g| {
        if let Ok(mut g) = g.try_borrow_mut() {
            g.active = true;
        }
    });
    let _done = Done;
    commit()
}

/// The log writes being gathered on this thread (a connection is used by one thread at a
/// time, and a commit writes one log).
struct Gathered {
    /// Inside [`gathering`].
    active: bool,
    /// The log file the bytes belong to.
    file: *mut ffi::sqlite3_file,
    /// Bytes to write at `start`, contiguous.
    bytes: Vec<u8>,
    start: i64,
}

thread_local! {
    static GATHERED: RefCell<Gathered> = const {
        RefCell::new(Gathered {
            active: false,
            file: std::ptr::null_mut(),
            bytes: Vec::new(),
            start: 0,
        })
    };
}

/// The real methods of log files, and the wrapped ones (the real ones with writes
/// gathered), built from the first log file opened. A log file whose real methods differ
/// is left unwrapped.
static LOG_METHODS: OnceLock<(
    &'static ffi::sqlite3_io_methods,
    &'static ffi::sqlite3_io_methods,
)> = OnceLock::new();

unsafe fn register_once() -> c_int {
    let real = ffi::sqlite3_vfs_find(std::ptr::null());
    if real.is_null() {
        return ffi::SQLITE_ERROR;
    }
    let mut vfs: ffi::sqlite3_vfs = std::ptr::read(real);
    vfs.zName = NAME.as_ptr();
    vfs.pNext = std::ptr::null_mut();
    // The other methods are the real VFS's, which look at their VFS argument for nothing
    // but what was copied (`mxPathname`); `open` needs the real one, kept here.
    vfs.pAppData = real.cast();
    vfs.xOpen = Some(open);
    ffi::sqlite3_vfs_register(Box::leak(Box::new(vfs)), 0)
}

unsafe extern "C" fn open(
    vfs: *mut ffi::sqlite3_vfs,
    name: ffi::sqlite3_filename,
    file: *mut ffi::sqlite3_file,
    flags: c_int,
    out_flags: *mut c_int,
) -> c_int {
    let real_vfs = (*vfs).pAppData.cast::<ffi::sqlite3_vfs>();
    let Some(real_open) = (*real_vfs).xOpen else {
        return ffi::SQLITE_ERROR;
    };
    let rc = real_open(real_vfs, name, file, flags, out_flags);
    if rc != ffi::SQLITE_OK || flags & ffi::SQLITE_OPEN_WAL == 0 || (*file).pMethods.is_null() {
        return rc;
    }
    let real: &'static ffi::sqlite3_io_methods = &*(*file).pMethods;
    let (first_real, wrapped) = *LOG_METHODS.get_or_init(|| {
        let mut methods = *real;
        methods.xClose = Some(close);
        methods.xRead = Some(read);
        methods.xWrite = Some(write);
        methods.xTruncate = Some(truncate);
        methods.xSync = Some(sync);
        methods.xFileSize = Some(file_size);
        methods.xFileControl = Some(file_control);
        (real, &*Box::leak(Box::new(methods)))
    });
    // The wrapped methods call the real ones with the same file pointer: the file object
    // is the real VFS's own, only its method table was swapped.
    if std::ptr::eq(first_real, real) {
        (*file).pMethods = wrapped;
    }
    rc
}

fn real() -> &'static ffi::sqlite3_io_methods {
    LOG_METHODS.get().expect("set before any file is wrapped").0
}

/// Writes the bytes gathered for `file`, if any.
unsafe fn flush(file: *mut ffi::sqlite3_file) -> c_int {
    GATHERED.with(|g| match g.try_borrow_mut() {
        Ok(mut g) if g.file == file => write_out(&mut g),
        Ok(_) => ffi::SQLITE_OK,
        Err(_) => ffi::SQLITE_MISUSE,
    })
}

/// Hands the gathered bytes to the kernel: one call for a commit's worth (up to 124 KiB).
unsafe fn write_out(g: &mut Gathered) -> c_int {
    if g.bytes.is_empty() {
        return ffi::SQLITE_OK;
    }
    let Some(real_write) = real().xWrite else {
        return ffi::SQLITE_IOERR_WRITE;
    };
    let mut rc = ffi::SQLITE_OK;
    let mut at = g.start;
    for chunk in g.bytes.chunks(LARGEST_WRITE) {
        rc = real_write(g.file, chunk.as_ptr().cast(), chunk.len() as c_int, at);
        if rc != ffi::SQLITE_OK {
            break;
        }
        at += chunk.len() as i64;
    }
    g.bytes.clear();
    rc
}

unsafe extern "C" fn write(
    file: *mut ffi::sqlite3_file,
    data: *const c_void,
    amount: c_int,
    offset: i64,
) -> c_int {
    let Some(real_write) = real().xWrite else {
        return ffi::SQLITE_IOERR_WRITE;
    };
    GATHERED.with(|g| {
        let Ok(mut g) = g.try_borrow_mut() else {
            return ffi::SQLITE_MISUSE;
        };
        if !g.active {
            return real_write(file, data, amount, offset);
        }
        if !g.bytes.is_empty() && (g.file != file || offset != g.start + g.bytes.len() as i64) {
            // Not the next byte (SQLite rewrites a frame of this commit): what came before
            // goes first, in order.
            let rc = write_out(&mut g);
            if rc != ffi::SQLITE_OK {
                return rc;
            }
        }
        if g.bytes.is_empty() {
            g.file = file;
            g.start = offset;
        }
        g.bytes.extend_from_slice(std::slice::from_raw_parts(
            data.cast::<u8>(),
            amount.max(0) as usize,
        ));
        if g.bytes.len() >= MOST_GATHERED {
            return write_out(&mut g);
        }
        ffi::SQLITE_OK
    })
}

/// Runs `then` once the bytes gathered for `file` are written, or returns the write's error.
unsafe fn flushed(file: *mut ffi::sqlite3_file, then: impl FnOnce() -> c_int) -> c_int {
    let rc = flush(file);
    if rc == ffi::SQLITE_OK {
        then()
    } else {
        rc
    }
}

unsafe extern "C" fn read(
    file: *mut ffi::sqlite3_file,
    buf: *mut c_void,
    amount: c_int,
    offset: i64,
) -> c_int {
    flushed(file, || match real().xRead {
        Some(f) => f(file, buf, amount, offset),
        None => ffi::SQLITE_IOERR_READ,
    })
}

unsafe extern "C" fn sync(file: *mut ffi::sqlite3_file, flags: c_int) -> c_int {
    flushed(file, || match real().xSync {
        Some(f) => f(file, flags),
        None => ffi::SQLITE_IOERR_FSYNC,
    })
}

unsafe extern "C" fn truncate(file: *mut ffi::sqlite3_file, size: i64) -> c_int {
    flushed(file, || match real().xTruncate {
        Some(f) => f(file, size),
        None => ffi::SQLITE_IOERR_TRUNCATE,
    })
}

unsafe extern "C" fn file_size(file: *mut ffi::sqlite3_file, size: *mut i64) -> c_int {
    flushed(file, || match real().xFileSize {
        Some(f) => f(file, size),
        None => ffi::SQLITE_IOERR_FSTAT,
    })
}

unsafe extern "C" fn file_control(
    file: *mut ffi::sqlite3_file,
    op: c_int,
    arg: *mut c_void,
) -> c_int {
    flushed(file, || match real().xFileControl {
        Some(f) => f(file, op, arg),
        None => ffi::SQLITE_NOTFOUND,
    })
}

unsafe extern "C" fn close(file: *mut ffi::sqlite3_file) -> c_int {
    let written = flush(file);
    GATHERED.with(|g| {
        if let Ok(mut g) = g.try_borrow_mut() {
            if g.file == file {
                g.file = std::ptr::null_mut();
            }
        }
    });
    let closed = match real().xClose {
        Some(f) => f(file),
        None => ffi::SQLITE_OK,
    };
    if written != ffi::SQLITE_OK {
        written
    } else {
        closed
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rusqlite::{Connection, OpenFlags};
    use std::path::Path;

    /// A connection as the ticket writer opens one, through this VFS or SQLite's own.
    fn open(path: &Path, gathering: bool) -> Connection {
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE;
        let conn = if gathering {
            Connection::open_with_flags_and_vfs(path, flags, register().unwrap())
        } else {
            Connection::open_with_flags(path, flags)
        }
        .unwrap();
        conn.execute_batch(
            "pragma journal_mode = wal; pragma synchronous = full;
             create table if not exists t (id integer primary key, body text);",
        )
        .unwrap();
        conn
    }

    /// Adds `rows` rows of about 320 bytes, tagged `tag`, to the open transaction.
    fn add_rows(tx: &rusqlite::Transaction<'_>, rows: usize, tag: &str) {
        for i in 0..rows {
            tx.execute(
                "insert into t (body) values (?)",
                [format!("{tag}-{i}-{}", "x".repeat(300))],
            )
            .unwrap();
        }
    }

    /// Inserts `rows` rows in one transaction, committed as the ticket writer commits.
    fn insert(conn: &mut Connection, rows: usize, tag: &str) {
        let tx = conn.transaction().unwrap();
        add_rows(&tx, rows, tag);
        gathering(|| tx.commit()).unwrap();
    }

    fn count(path: &Path, tag: &str) -> i64 {
        Connection::open(path)
            .unwrap()
            .query_row(
                "select count(*) from t where body like ?",
                [format!("{tag}-%")],
                |r| r.get(0),
            )
            .unwrap()
    }

    /// Write system calls made by this thread so far.
    fn writes_by_this_thread() -> u64 {
        let io = std::fs::read_to_string("/proc/thread-self/io").unwrap();
        io.lines()
            .find_map(|l| l.strip_prefix("syscw: "))
            .unwrap()
            .trim()
            .parse()
            .unwrap()
    }

    #[test]
    fn commits_small_and_past_the_largest_single_write_are_read_back_by_a_plain_connection() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        let mut conn = open(&path, true);
        // 30 rows are a few pages; 1,000 rows (about 85 pages) are more than one write to
        // the real VFS may carry.
        insert(&mut conn, 30, "small");
        insert(&mut conn, 1_000, "large");
        assert_eq!(count(&path, "small"), 30);
        assert_eq!(count(&path, "large"), 1_000);
    }

    #[test]
    fn a_transaction_larger_than_the_page_cache_spills_rolls_back_and_leaves_the_log_sound() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        let mut conn = open(&path, true);
        // A page cache of 50 pages: a transaction of 3,000 rows spills to the log (and
        // rewrites spilled frames) before it ends.
        conn.execute_batch("pragma cache_size = 50").unwrap();
        insert(&mut conn, 10, "before");
        {
            let tx = conn.transaction().unwrap();
            add_rows(&tx, 3_000, "dropped");
            tx.rollback().unwrap();
        }
        insert(&mut conn, 3_000, "spilled");
        insert(&mut conn, 10, "after");
        drop(conn);
        assert_eq!(count(&path, "before"), 10);
        assert_eq!(count(&path, "dropped"), 0);
        assert_eq!(count(&path, "spilled"), 3_000);
        assert_eq!(count(&path, "after"), 10);
        let check: String = Connection::open(&path)
            .unwrap()
            .query_row("pragma integrity_check", [], |r| r.get(0))
            .unwrap();
        assert_eq!(check, "ok");
    }

    #[test]
    fn frames_of_a_rolled_back_transaction_never_overwrite_a_later_commit_of_another_connection() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        let mut ours = open(&path, true);
        let mut plain = open(&path, false);
        ours.execute_batch("pragma cache_size = 20").unwrap();
        insert(&mut ours, 10, "first");
        // An empty log: the rollback below reloads pages from the database file, not from
        // the log, so nothing reads the log (and writes out gathered bytes) before it ends.
        ours.execute_batch("pragma wal_checkpoint(truncate)")
            .unwrap();
        // Inside `gathering`, ours writes frames past the end of the log (a spill of its
        // small page cache), then rolls back: gathered frames are left, as a commit that
        // fails before its sync would leave them.
        gathering(|| {
            let tx = ours.transaction().unwrap();
            add_rows(&tx, 2_000, "dropped");
            tx.rollback()
        })
        .unwrap();
        // The other connection's commit takes the place of those frames in the log.
        insert(&mut plain, 200, "theirs");
        // Ours reads and writes the log again.
        assert_eq!(count(&path, "theirs"), 200);
        insert(&mut ours, 10, "later");
        drop(ours);
        drop(plain);
        let check = Connection::open(&path).unwrap();
        let n: i64 = check
            .query_row("select count(*) from t", [], |r| r.get(0))
            .unwrap();
        assert_eq!(n, 220);
        assert_eq!(count(&path, "theirs"), 200);
        let ok: String = check
            .query_row("pragma integrity_check", [], |r| r.get(0))
            .unwrap();
        assert_eq!(ok, "ok");
    }

    #[test]
    fn a_commit_of_many_pages_reaches_the_kernel_in_a_few_writes_instead_of_two_per_page() {
        let dir = tempfile::tempdir().unwrap();
        let mut made = Vec::new();
        for gathering in [false, true] {
            let path = dir.path().join(format!("{gathering}.db"));
            let mut conn = open(&path, gathering);
            // No checkpoint in the measured commit: its writes are the log's alone.
            conn.execute_batch("pragma wal_autocheckpoint = 0").unwrap();
            insert(&mut conn, 10, "warm-up");
            let before = writes_by_this_thread();
            // About 25 pages, as a shared commit of two dozen tickets writes.
            insert(&mut conn, 250, "measured");
            made.push(writes_by_this_thread() - before);
            assert_eq!(count(&path, "measured"), 250);
        }
        let (plain, gathered) = (made[0], made[1]);
        assert!(plain >= 40, "SQLite's own VFS wrote {plain} times");
        assert!(
            gathered <= 3,
            "the gathering VFS wrote {gathered} times (SQLite's own: {plain})"
        );
    }
}
