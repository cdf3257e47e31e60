//! The ticket writer's own SQLite connection: the statements of filing, prepared once and
//! run on the writer's thread. Everything else uses the sqlx pool; this one connection
//! exists because filing is the hot path, and a prepared statement stepped in place costs a
//! fraction of a statement sent to sqlx's connection thread and back.

use super::Ticket;
use crate::clock::db_time;
use crate::outbox::OutboxMessage;
use crate::sla::timers::Planned;
use chrono::{DateTime, Utc};
use rusqlite::{params, CachedStatement, Connection, OpenFlags, Transaction};
use std::path::Path;

pub struct FilerDb {
    conn: Connection,
}

/// The connection settings of `store::connect`, so a commit here is as durable as there.
///
/// Two differences, both checks this writer's rows pass by construction; every other
/// connection still enforces them:
/// - CHECK constraints are not evaluated. SQLite compiles a check like `status in ('open',
///   'acknowledged', ...)` into a temporary table built on every insert, which was a tenth
///   of the cost of filing a ticket; every value this writer stores in a checked column
///   comes from a Rust enum or a literal.
/// - Foreign keys are not checked (a lookup of the ticket per event, timer and outbox row):
///   those rows name the ticket inserted just before them in the same transaction, and
///   `duplicate_of` a ticket the writer has just read as open.
const PRAGMAS: &str = "pragma journal_mode = wal;
    pragma synchronous = full;
    pragma foreign_keys = off;
    pragma temp_store = memory;
    pragma ignore_check_constraints = on;";

impl FilerDb {
    /// Opens the database file the pool uses (migrations already applied).
    pub fn open(path: &Path) -> rusqlite::Result<Self> {
        let conn = Connection::open_with_flags_and_vfs(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
            super::wal_writes::register()?,
        )?;
        conn.busy_handler(Some(super::lock_wait::try_again))?;
        conn.execute_batch(PRAGMAS)?;
        conn.set_prepared_statement_cache_capacity(32);
        Ok(Self { conn })
    }

    /// The connection itself (for the writer's own checkpoints).
    pub fn connection(&self) -> &Connection {
        &self.conn
    }

    /// The highest ticket number in use (0 when there are none).
    pub fn max_id(&self) -> rusqlite::Result<i64> {
        self.conn
            .query_row("select coalesce(max(id), 0) from tickets", [], |r| r.get(0))
    }

    /// A write transaction that takes the write lock at once: the writer reads (the inbox,
    /// duplicate candidates) before it writes, and a deferred one could not upgrade then.
    pub fn begin(&mut self) -> rusqlite::Result<Filing<'_>> {
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        Ok(Filing { tx })
    }
}

/// One shared commit in progress.
pub struct Filing<'c> {
    tx: Transaction<'c>,
}

impl Filing<'_> {
    /// The statements of filing, taken from the cache once for the whole commit rather than
    /// once per row (a lookup hashes the statement's text, and a return re-inserts it).
    pub fn statements(&self) -> rusqlite::Result<Statements<'_>> {
        Ok(Statements {
            inbox: self.tx.prepare_cached(
                "insert into inbox (key, received_at) values (?, ?) on conflict do nothing",
            )?,
            ticket: self.tx.prepare_cached(
                "insert into tickets (id, key, title, description, requester, channel, source, \
                 source_ts, category, priority, status, assignee, urgency, link, created_at, \
                 updated_at, first_response_due, resolution_due, triage_rule, triage_reason, \
                 duplicate_of, filed_by) \
                 values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            )?,
            created: self.tx.prepare_cached(
                "insert into ticket_events (ticket_id, kind, actor, at, detail) \
                 values (?, 'created', ?, ?, ?)",
            )?,
            timer: self.tx.prepare_cached(
                "insert into timers (ticket_id, kind, due_at, round, later) \
                 values (?, ?, ?, 0, ?)",
            )?,
            outbox: self.tx.prepare_cached(
                "insert into outbox (method, channel, payload, purpose, ticket_id, created_at) \
                 values (?, ?, ?, ?, ?, ?)",
            )?,
        })
    }

    /// Makes everything of this commit durable (`synchronous=FULL`: fsync'd), its log
    /// writes handed to the kernel in one call (`wal_writes`).
    pub fn commit(self) -> rusqlite::Result<()> {
        super::wal_writes::gathering(|| self.tx.commit())
    }
}

/// The prepared statements of one commit (see [`Filing::statements`]).
pub struct Statements<'t> {
    inbox: CachedStatement<'t>,
    ticket: CachedStatement<'t>,
    created: CachedStatement<'t>,
    timer: CachedStatement<'t>,
    outbox: CachedStatement<'t>,
}

impl Statements<'_> {
    /// Records an inbox key; false when it was there already (a redelivery).
    pub fn first_sighting(&mut self, key: &str, now: &str) -> rusqlite::Result<bool> {
        Ok(self.inbox.execute(params![key, now])? == 1)
    }

    /// Inserts a new ticket (its number already assigned) and its `created` event.
    pub fn insert_ticket(&mut self, t: &Ticket, created: &str) -> rusqlite::Result<()> {
        self.ticket.execute(params![
            t.id,
            t.key,
            t.title,
            t.description,
            t.requester,
            t.channel,
            t.source.as_str(),
            t.source_ts,
            t.category,
            t.priority.as_str(),
            t.status.as_str(),
            t.assignee,
            t.urgency,
            t.link,
            created,
            created,
            t.first_response_due.map(db_time),
            t.resolution_due.map(db_time),
            t.triage_rule,
            t.triage_reason,
            t.duplicate_of.as_ref().map(|d| d.0),
            t.filed_by,
        ])?;
        self.created.execute(params![
            t.id,
            t.filed_by.as_deref().unwrap_or(&t.requester),
            created,
            t.priority.as_str(),
        ])?;
        Ok(())
    }

    /// Inserts a new ticket's SLA plan: its first timer, the later ones chained on it
    /// (`timers::chain`).
    pub fn insert_plan(
        &mut self,
        ticket_id: i64,
        head: &Planned,
        later: Option<&str>,
    ) -> rusqlite::Result<()> {
        self.timer.execute(params![
            ticket_id,
            head.kind.as_str(),
            db_time(head.due_at),
            later
        ])?;
        Ok(())
    }

    /// Inserts an outbox row.
    pub fn insert_outbox(
        &mut self,
        ticket_id: Option<i64>,
        m: &OutboxMessage,
        now: &str,
    ) -> rusqlite::Result<()> {
        self.outbox.execute(params![
            m.method,
            m.channel,
            m.payload,
            m.purpose.as_str(),
            ticket_id,
            now
        ])?;
        Ok(())
    }
}

impl std::ops::Deref for Filing<'_> {
    type Target = Connection;
    fn deref(&self) -> &Connection {
        &self.tx
    }
}

/// A duplicate candidate: `(id, key, title and description, created)`.
pub type Candidate = (i64, String, String, DateTime<Utc>);

/// Recent open tickets of a requester (or, with `channel`, of a channel) since `since`:
/// [`Candidate`]s, newest first. A read of the open tickets (the queue), so the cost grows
/// with the open queue, not with every ticket ever filed; the writer reads each requester
/// and channel once and then remembers (`recent`).
pub fn open_candidates(
    conn: &Connection,
    requester: Option<&str>,
    channel: Option<&str>,
    since: DateTime<Utc>,
    limit: usize,
) -> rusqlite::Result<Vec<Candidate>> {
    // Among the open tickets only: there is no index by requester or by channel
    // (migrations 0006 and 0007).
    macro_rules! open_of {
        ($column:literal) => {
            concat!(
                "select id, key, title || ' ' || description, created_at from tickets ",
                "indexed by tickets_status where status in ('open', 'acknowledged', 'waiting') ",
                "and created_at >= ? and ",
                $column,
                " = ? order by id desc limit ?"
            )
        };
    }
    let (sql, value) = match (requester, channel) {
        (Some(r), _) => (open_of!("requester"), r),
        (None, Some(c)) => (open_of!("channel"), c),
        (None, None) => return Ok(Vec::new()),
    };
    let since = db_time(since);
    let mut stmt = conn.prepare_cached(sql)?;
    let rows = stmt.query_map(params![since, value, limit as i64], |r| {
        Ok((
            r.get::<_, i64>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, String>(3)?,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (id, key, text, created) = row?;
        if let Some(created) = crate::clock::parse_db_time(&created) {
            out.push((id, key, text, created));
        }
    }
    Ok(out)
}

/// Whether ticket `id` is open (it may have been resolved or merged since the
/// writer remembered it).
pub fn is_open(conn: &Connection, id: i64) -> rusqlite::Result<bool> {
    let mut stmt = conn.prepare_cached("select status from tickets where id = ?")?;
    let mut rows = stmt.query([id])?;
    Ok(match rows.next()? {
        Some(row) => super::Status::parse(row.get_ref(0)?.as_str().unwrap_or(""))
            .is_some_and(super::Status::is_open),
        None => false,
    })
}
