//! The SQL of the ticket writer (`filer`): one shared transaction per batch of requests,
//! with one multi-row statement per table, so that a commit of two dozen tickets is eight
//! statements rather than a hundred. Every read here is by an index, whatever the backlog
//! (`tests::no_statement_of_filing_scans_a_table` checks each one's plan).

use super::Ticket;
use crate::clock::db_time;
use crate::outbox::OutboxMessage;
use crate::sla::timers::Planned;
use crate::store::Pool;
use chrono::{DateTime, Utc};
use sqlx::sqlite::{Sqlite, SqliteArguments, SqliteConnection};
use sqlx::{Arguments, Connection, QueryBuilder, Row, Transaction};
use std::collections::HashSet;
use std::sync::OnceLock;

/// The most rows one statement inserts (a batch holds at most 512 requests). A statement's
/// rows are padded to a power of two (see [`PaddedInsert`]), so ten statement texts serve
/// every batch size, and each is prepared once (sqlx caches prepared statements by text).
const MOST_ROWS: usize = 512;

/// Opens the writer's own connection, with the pool's settings (`store::connect`): foreign
/// keys and check constraints on, `synchronous = FULL`.
pub async fn connect(pool: &Pool) -> sqlx::Result<SqliteConnection> {
    let options = pool.connect_options().as_ref().clone();
    SqliteConnection::connect_with(&options).await
}

/// The highest ticket number in use (0 when there are none).
pub async fn max_id(conn: &mut SqliteConnection) -> sqlx::Result<i64> {
    sqlx::query_scalar(MAX_ID).fetch_one(conn).await
}

const MAX_ID: &str = "select coalesce(max(id), 0) from tickets";

/// A write transaction that takes the write lock at once: the writer reads (the inbox,
/// duplicate candidates) before it writes, and a deferred transaction could fail to upgrade
/// its read to a write when another connection wrote in between.
pub async fn begin(conn: &mut SqliteConnection) -> sqlx::Result<Transaction<'_, Sqlite>> {
    conn.begin_with("begin immediate").await
}

/// Records inbox keys (`event:<id>`, `msg:<channel>:<ts>`, `view:<id>`); returns those that
/// were not there before. A key given twice is new at most once.
pub async fn first_sightings(
    tx: &mut SqliteConnection,
    keys: &[&str],
    now: &str,
) -> sqlx::Result<HashSet<String>> {
    let mut fresh = HashSet::with_capacity(keys.len());
    for chunk in chunks(keys) {
        let mut q = QueryBuilder::<Sqlite>::new("insert into inbox (key, received_at) ");
        q.push_values(chunk, |mut row, key| {
            row.push_bind(*key).push_bind(now);
        });
        // `returning` gives the rows inserted: a key already there (or repeated within the
        // statement) conflicts, is skipped, and is not returned.
        q.push(" on conflict do nothing returning key");
        for row in q.build().fetch_all(&mut *tx).await? {
            fresh.insert(row.try_get::<String, _>(0)?);
        }
    }
    Ok(fresh)
}

/// A duplicate candidate read for a batch: a ticket still open.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    pub id: i64,
    pub key: String,
    pub text: CandidateText,
}

/// What a candidate's words are read from.
#[derive(Debug, Clone, PartialEq)]
pub enum CandidateText {
    /// Its stored words (`triage::similar::stored`).
    Words(String),
    /// Its title and description: a ticket filed before words were stored, or edited since.
    Text(String),
}

/// Of tickets `ids` (what the writer remembers of a batch's requesters and channels that may
/// match, `recent::Remembered`), those still open and filed since `since`.
///
/// One statement for the whole batch, one row back, each ticket read by its primary key: the
/// cost depends on how many the batch asks for (at most twenty per request), not on how many
/// tickets the database holds. `not indexed` keeps it to the primary key where SQLite would
/// otherwise walk the index by status.
pub async fn open_candidates(
    tx: &mut SqliteConnection,
    ids: &[i64],
    since: DateTime<Utc>,
) -> sqlx::Result<Vec<Candidate>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let all: String = sqlx::query_scalar(OPEN_CANDIDATES)
        .bind(json_list(ids))
        .bind(db_time(since))
        .fetch_one(&mut *tx)
        .await?;
    let rows: Vec<(i64, String, Option<String>)> =
        serde_json::from_str(&all).map_err(|e| sqlx::Error::Decode(e.into()))?;
    let mut out = Vec::with_capacity(rows.len());
    let mut without_words = Vec::new();
    for (id, key, words) in rows {
        if words.is_none() {
            without_words.push(id);
        }
        out.push(Candidate {
            id,
            key,
            text: CandidateText::Words(words.unwrap_or_default()),
        });
    }
    if !without_words.is_empty() {
        let texts = texts_of(tx, &without_words).await?;
        for c in &mut out {
            if let Some(text) = texts.iter().find(|(id, _)| *id == c.id) {
                c.text = CandidateText::Text(text.1.clone());
            }
        }
    }
    Ok(out)
}

/// `items` as a JSON array, for `json_each`.
fn json_list<T: serde::Serialize>(items: &[T]) -> String {
    serde_json::to_string(items).unwrap_or_else(|_| "[]".into())
}

/// `?1`: ticket ids (a JSON array); `?2`: the oldest creation time wanted. One row: a JSON
/// array of `[id, key, words]`, since sqlx hands rows over from its connection's thread one
/// at a time.
const OPEN_CANDIDATES: &str = "\
    select json_group_array(json_array(t.id, t.key, t.words)) \
    from json_each(?1) w join tickets t not indexed on t.id = w.value \
    where t.status in ('open', 'acknowledged', 'waiting') and t.created_at >= ?2";

/// The open tickets filed since `since`, newest first: `(id, requester, channel, created,
/// text)`, at most `most` of them, among the newest `scanned` tickets. What the writer recalls
/// of its requesters and channels when it starts (`recent::Remembered`); a background read,
/// once.
#[allow(clippy::type_complexity)]
pub fn recent_open<'p>(
    pool: &'p Pool,
    since: DateTime<Utc>,
    most: usize,
    scanned: i64,
) -> impl futures_util::Stream<
    Item = sqlx::Result<(i64, String, Option<String>, DateTime<Utc>, CandidateText)>,
> + 'p {
    use futures_util::StreamExt;
    type Row = (
        i64,
        String,
        Option<String>,
        DateTime<Utc>,
        Option<String>,
        Option<String>,
    );
    sqlx::query_as::<_, Row>(RECENT_OPEN)
        .bind(scanned)
        .bind(db_time(since))
        .bind(most as i64)
        .fetch(pool)
        .map(|row| {
            let (id, requester, channel, created, words, text) = row?;
            let text = match words {
                Some(words) => CandidateText::Words(words),
                None => CandidateText::Text(text.unwrap_or_default()),
            };
            Ok((id, requester, channel, created, text))
        })
}

/// `?1`: how many of the newest tickets to look at, `?2`: the oldest creation time, `?3`: the
/// most rows. A range of the primary key read backwards (`not indexed`: not the index by
/// status, whose rows would then be sorted): bounded whatever the backlog.
const RECENT_OPEN: &str = "select id, requester, channel, created_at, words, \
    case when words is null then title || ' ' || description end from tickets not indexed \
    where id > (select coalesce(max(id), 0) from tickets) - ?1 \
    and status in ('open', 'acknowledged', 'waiting') and created_at >= ?2 \
    order by id desc limit ?3";

/// The title and description of tickets `ids` (at most a batch's candidates).
async fn texts_of(tx: &mut SqliteConnection, ids: &[i64]) -> sqlx::Result<Vec<(i64, String)>> {
    sqlx::query_as(TEXTS_OF)
        .bind(json_list(ids))
        .fetch_all(&mut *tx)
        .await
}

/// `?1`: ticket ids (a JSON array).
const TEXTS_OF: &str = "select id, title || ' ' || description from tickets \
    where id in (select value from json_each(?1))";

/// Inserts new tickets (numbers already assigned, in order) with their stored words, then
/// their `created` events.
pub async fn insert_tickets(
    tx: &mut SqliteConnection,
    tickets: &[(&Ticket, &str)],
    created: &str,
) -> sqlx::Result<()> {
    let (Some((first, _)), Some((last, _))) = (tickets.first(), tickets.last()) else {
        return Ok(());
    };
    TICKETS
        .run(tx, tickets, |row, t| bind_ticket(row, t, created))
        .await?;
    // The writer numbers a batch's tickets in order with no gaps, so their events are one
    // statement, read back from the rows just written (by their primary key).
    sqlx::query(INSERT_CREATED)
        .bind(first.id)
        .bind(last.id)
        .execute(&mut *tx)
        .await?;
    Ok(())
}

/// Inserts a batch's new tickets (numbers already assigned, in order, with their stored
/// words), their `created` events, SLA plans and outbox rows. The four statements go to the
/// connection's thread as one text (sqlx runs a text's statements in turn, each `?` taking
/// the next value bound): one hand-off instead of four, each of which the writer waited for.
pub async fn insert_filed(
    tx: &mut SqliteConnection,
    tickets: &[(&Ticket, &str)],
    plans: &[(i64, Planned, Option<String>)],
    outbox: &[(i64, OutboxMessage)],
    now: &str,
) -> sqlx::Result<()> {
    if [tickets.len(), plans.len(), outbox.len()]
        .iter()
        .any(|n| *n > MOST_ROWS)
    {
        insert_tickets(tx, tickets, now).await?;
        insert_plans(tx, plans).await?;
        return insert_outbox(tx, outbox, now).await;
    }
    let mut binds = Binds::default();
    let mut parts: Vec<&'static str> = Vec::with_capacity(4);
    let mut shape = [0; 3];
    if let (Some((first, _)), Some((last, _))) = (tickets.first(), tickets.last()) {
        let padded = TICKETS.push_rows(&mut binds, tickets, |row, t| bind_ticket(row, t, now));
        shape[0] = padded;
        parts.push(TICKETS.text(padded));
        parts.push(INSERT_CREATED);
        binds.bind(first.id).bind(last.id);
    }
    if !plans.is_empty() {
        let padded = TIMERS.push_rows(&mut binds, plans, bind_plan);
        shape[1] = padded;
        parts.push(TIMERS.text(padded));
    }
    if !outbox.is_empty() {
        let padded = OUTBOX.push_rows(&mut binds, outbox, |row, m| bind_outbox(row, m, now));
        shape[2] = padded;
        parts.push(OUTBOX.text(padded));
    }
    if parts.is_empty() {
        return Ok(());
    }
    let args = binds.done()?;
    sqlx::query_with(statements(shape, &parts), args)
        .execute(&mut *tx)
        .await?;
    Ok(())
}

/// `parts` joined into one text, made once for each `shape` (the padded row counts of the
/// tickets, plans and outbox rows; a handful of shapes occur) and kept, so that sqlx's cache
/// of prepared statements finds it.
fn statements(shape: [usize; 3], parts: &[&'static str]) -> &'static str {
    use std::collections::HashMap;
    use std::sync::Mutex;
    static MADE: OnceLock<Mutex<HashMap<[usize; 3], &'static str>>> = OnceLock::new();
    let mut made = MADE
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    made.entry(shape)
        .or_insert_with(|| Box::leak(parts.join("; ").into_boxed_str()))
}

/// One new ticket's values, in the column order of [`TICKETS`].
fn bind_ticket(row: &mut Binds, (t, words): &(&Ticket, &str), created: &str) {
    row.bind(t.id)
        .bind(t.key.as_str())
        .bind(t.title.as_str())
        .bind(t.description.as_str())
        .bind(t.requester.as_str())
        .bind(t.channel.as_deref())
        .bind(t.source.as_str())
        .bind(t.source_ts.as_deref())
        .bind(t.category.as_str())
        .bind(t.priority.as_str())
        .bind(t.status.as_str())
        .bind(t.assignee.as_deref())
        .bind(t.urgency.as_deref())
        .bind(t.link.as_deref())
        // Its own time: earlier than the commit's for a request held for an offer.
        .bind(db_time(t.created_at))
        .bind(created)
        .bind(t.first_response_due.map(db_time))
        .bind(t.resolution_due.map(db_time))
        .bind(t.triage_rule.as_deref())
        .bind(t.triage_reason.as_deref())
        .bind(t.duplicate_of.as_ref().map(|d| d.0))
        .bind(t.filed_by.as_deref())
        .bind(*words);
}

/// The `created` event of tickets `?1` to `?2`: by whoever filed it, its priority as detail.
/// Positional parameters (`?`, not `?1`): in a text of several statements each `?` takes
/// the next value bound ([`insert_filed`]).
const INSERT_CREATED: &str = "\
    insert into ticket_events (ticket_id, kind, actor, at, detail) \
    select id, 'created', coalesce(filed_by, requester), created_at, priority from tickets \
    where id between ? and ? order by id";

/// Inserts new tickets' SLA plans: each ticket's first timer, with the later ones chained
/// on it (`timers::chain`).
pub async fn insert_plans(
    tx: &mut SqliteConnection,
    plans: &[(i64, Planned, Option<String>)],
) -> sqlx::Result<()> {
    TIMERS.run(tx, plans, bind_plan).await
}

/// One plan's values, in the column order of [`TIMERS`].
fn bind_plan(row: &mut Binds, (ticket_id, head, later): &(i64, Planned, Option<String>)) {
    row.bind(*ticket_id)
        .bind(head.kind.as_str())
        .bind(db_time(head.due_at))
        .bind(0_i64)
        .bind(later.as_deref());
}

/// Inserts outbox rows, each for its ticket.
pub async fn insert_outbox(
    tx: &mut SqliteConnection,
    rows: &[(i64, OutboxMessage)],
    now: &str,
) -> sqlx::Result<()> {
    OUTBOX
        .run(tx, rows, |row, m| bind_outbox(row, m, now))
        .await
}

/// One outbox row's values, in the column order of [`OUTBOX`].
fn bind_outbox(row: &mut Binds, (ticket_id, m): &(i64, OutboxMessage), now: &str) {
    row.bind(*ticket_id)
        .bind(m.method)
        .bind(m.channel.as_str())
        .bind(m.payload.as_str())
        .bind(m.purpose.as_str())
        .bind(now);
}

/// `items` in chunks of at most [`MOST_ROWS`].
fn chunks<T>(items: &[T]) -> std::slice::Chunks<'_, T> {
    items.chunks(MOST_ROWS)
}

/// One table's multi-row insert: `insert ... select * from (values ...) where column1 is
/// not null`, its rows padded with nulls to the next power of two and the padding dropped by
/// the `where`, so that ten statement texts serve every batch size and each is prepared once
/// (sqlx caches prepared statements by their text). The texts are made once too.
struct PaddedInsert {
    /// `table (column, ...)`
    into: &'static str,
    columns: usize,
    /// The text for 1, 2, 4, ... [`MOST_ROWS`] rows.
    texts: [OnceLock<String>; 10],
}

impl PaddedInsert {
    const fn new(into: &'static str, columns: usize) -> Self {
        PaddedInsert {
            into,
            columns,
            texts: [const { OnceLock::new() }; 10],
        }
    }

    /// The statement for `rows` rows (a power of two up to [`MOST_ROWS`]).
    fn text(&'static self, rows: usize) -> &'static str {
        self.texts[rows.trailing_zeros() as usize].get_or_init(|| {
            let row = format!("({})", vec!["?"; self.columns].join(", "));
            format!(
                "insert into {} select * from (values {}) where column1 is not null",
                self.into,
                vec![row; rows].join(", ")
            )
        })
    }

    /// Binds `rows` (at most [`MOST_ROWS`]) and their padding; returns how many rows the
    /// statement takes.
    fn push_rows<T>(
        &self,
        binds: &mut Binds,
        rows: &[T],
        mut push: impl FnMut(&mut Binds, &T),
    ) -> usize {
        let padded = rows.len().next_power_of_two();
        for row in rows {
            push(binds, row);
        }
        for _ in 0..(padded - rows.len()) * self.columns {
            binds.bind(None::<i64>);
        }
        padded
    }

    /// Inserts `rows` with one statement per [`MOST_ROWS`]; `push` binds one row's values
    /// in column order (the first is never null).
    async fn run<T>(
        &'static self,
        tx: &mut SqliteConnection,
        rows: &[T],
        mut push: impl FnMut(&mut Binds, &T),
    ) -> sqlx::Result<()> {
        for chunk in chunks(rows) {
            let mut binds = Binds::default();
            let padded = self.push_rows(&mut binds, chunk, &mut push);
            let args = binds.done()?;
            sqlx::query_with(self.text(padded), args)
                .execute(&mut *tx)
                .await?;
        }
        Ok(())
    }
}

/// The values of a statement, bound in order.
#[derive(Default)]
struct Binds {
    args: SqliteArguments,
    failed: Option<sqlx::error::BoxDynError>,
}

impl Binds {
    fn bind<'q, V: sqlx::Encode<'q, Sqlite> + sqlx::Type<Sqlite>>(
        &mut self,
        value: V,
    ) -> &mut Self {
        if let Err(err) = self.args.add(value) {
            self.failed.get_or_insert(err);
        }
        self
    }

    fn done(self) -> sqlx::Result<SqliteArguments> {
        match self.failed {
            Some(err) => Err(sqlx::Error::Encode(err)),
            None => Ok(self.args),
        }
    }
}

static TICKETS: PaddedInsert = PaddedInsert::new(
    "tickets (id, key, title, description, requester, channel, source, source_ts, category, \
     priority, status, assignee, urgency, link, created_at, updated_at, first_response_due, \
     resolution_due, triage_rule, triage_reason, duplicate_of, filed_by, words)",
    23,
);

static TIMERS: PaddedInsert =
    PaddedInsert::new("timers (ticket_id, kind, due_at, round, later)", 5);

static OUTBOX: PaddedInsert = PaddedInsert::new(
    "outbox (ticket_id, method, channel, payload, purpose, created_at)",
    6,
);

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A migrated database in a temporary directory.
    pub(crate) async fn migrated() -> (tempfile::TempDir, Pool) {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("desk.db").display());
        let pool = crate::store::connect(&url).await.unwrap();
        crate::store::migrate(&pool).await.unwrap();
        (dir, pool)
    }

    #[tokio::test]
    async fn the_writers_connection_checks_foreign_keys_and_constraints_and_syncs_every_commit() {
        let (_dir, pool) = migrated().await;
        let mut conn = connect(&pool).await.unwrap();
        for (pragma, expected) in [
            ("foreign_keys", 1),
            ("ignore_check_constraints", 0),
            // 2 is FULL: a commit is on disk before it returns (WAL mode).
            ("synchronous", 2),
            // The same as the pool's: a smaller one would stall the writer's commits often.
            (
                "wal_autocheckpoint",
                i64::from(crate::store::WAL_AUTOCHECKPOINT_PAGES),
            ),
        ] {
            let value: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!("pragma {pragma}")))
                .fetch_one(&mut conn)
                .await
                .unwrap();
            assert_eq!(value, expected, "{pragma}");
        }
        let mode: String = sqlx::query_scalar("pragma journal_mode")
            .fetch_one(&mut conn)
            .await
            .unwrap();
        assert_eq!(mode, "wal");
        // And they hold: a timer for no ticket, and a ticket of an unknown status, are refused.
        let orphan = sqlx::query(
            "insert into timers (ticket_id, kind, due_at) values (12345, 'escalate', 'x')",
        )
        .execute(&mut conn)
        .await;
        assert!(orphan.is_err(), "{orphan:?}");
        let unknown = sqlx::query(
            "insert into tickets (id, key, title, description, requester, source, category, \
             priority, status, created_at, updated_at) \
             values (1, 'PLAT-1', 't', 'd', 'U1', 'command', 'general', 'P3', 'lost', 'x', 'x')",
        )
        .execute(&mut conn)
        .await;
        assert!(unknown.is_err(), "{unknown:?}");
    }

    #[tokio::test]
    async fn padded_inserts_write_every_row_once_and_no_padding() {
        let (_dir, pool) = migrated().await;
        let mut conn = pool.acquire().await.unwrap();
        let message = |n: usize| {
            (
                n as i64,
                OutboxMessage {
                    method: "chat.postMessage",
                    channel: format!("C{n}"),
                    payload: String::new(),
                    purpose: crate::outbox::Purpose::Notice,
                },
            )
        };
        sqlx::query(
            "with recursive n(i) as (select 1 union all select i + 1 from n where i < 600) \
             insert into tickets (id, key, title, description, requester, source, category, \
             priority, status, created_at, updated_at) \
             select i, 'PLAT-' || i, 't', 'd', 'U1', 'command', 'general', 'P3', 'open', 'x', 'x' \
             from n",
        )
        .execute(&mut *conn)
        .await
        .unwrap();
        // 3 rows (padded to 4), then 517 (512, then 5 padded to 8).
        let rows: Vec<_> = (1..=520).map(message).collect();
        insert_outbox(&mut conn, &rows[..3], "x").await.unwrap();
        insert_outbox(&mut conn, &rows[3..], "x").await.unwrap();
        let stored: Vec<String> = sqlx::query_scalar("select channel from outbox order by id")
            .fetch_all(&mut *conn)
            .await
            .unwrap();
        let expected: Vec<String> = (1..=520).map(|n| format!("C{n}")).collect();
        assert_eq!(stored, expected);
    }

    /// Every statement the writer runs for a request, with its parameters' shapes: the plan
    /// of each must read by an index (a `SCAN` of a table reads every row, so its cost grows
    /// with the backlog; a temporary B-tree sorts every row it is given).
    #[tokio::test]
    async fn no_statement_of_filing_scans_a_table() {
        let (_dir, pool) = migrated().await;
        let padded = |insert: &'static PaddedInsert| insert.text(2).to_string();
        // With the two the writer runs when it starts, bounded too.
        let statements = [
            "insert into inbox (key, received_at) values (?, ?), (?, ?) \
             on conflict do nothing returning key"
                .to_string(),
            OPEN_CANDIDATES.to_string(),
            TEXTS_OF.to_string(),
            INSERT_CREATED.to_string(),
            padded(&TICKETS),
            padded(&TIMERS),
            padded(&OUTBOX),
            MAX_ID.to_string(),
            RECENT_OPEN.to_string(),
        ];
        for sql in statements {
            let plan = plan_of(&pool, &sql).await;
            // An insert into a parent table lists a read of each table whose foreign keys
            // point at it: SQLite's check that the new row settles a violation pending in the
            // same statement. Its program runs that read only when one is pending
            // (`FkIfZero`), which no statement that succeeds leaves: count those guards.
            let inserted = sql
                .strip_prefix("insert into ")
                .and_then(|s| s.split(' ').next());
            let children = match inserted {
                Some(table) => children_of(&pool, table).await,
                None => Vec::new(),
            };
            let mut fk_reads = 0;
            // Subqueries whose rows the statement itself produced.
            let subqueries: Vec<&str> = plan
                .iter()
                .filter_map(|s| {
                    s.strip_prefix("CO-ROUTINE ")
                        .or(s.strip_prefix("MATERIALIZE "))
                })
                .collect();
            for step in &plan {
                // A scan of the statement's own `values` rows, of `json_each`'s list or of a
                // subquery's rows reads what the request brought or what the statement read
                // by key; a scan of anything else reads a table.
                let scanned = step.strip_prefix("SCAN ").filter(|s| {
                    !s.contains("VALUES CLAUSE")
                        && !s.contains("VIRTUAL TABLE")
                        && !subqueries.contains(s)
                });
                let table = step.split(' ').nth(1).unwrap_or_default();
                if children.iter().any(|c| c == table) {
                    fk_reads += 1;
                    continue;
                }
                // A search must find its rows by key: the primary key (`max(id)` is a search
                // with no `USING`: one step to the table's last row). A search of the index by
                // status walks every open ticket, as filing did before.
                let bounded_search = !step.starts_with("SEARCH ")
                    || step.contains("USING INTEGER PRIMARY KEY")
                    || !step.contains(" USING ");
                assert!(
                    scanned.is_none() && bounded_search && !step.contains("TEMP B-TREE"),
                    "{step:?} in the plan of {sql}: {plan:?}"
                );
            }
            let guards = sqlx::query(sqlx::AssertSqlSafe(format!("explain {sql}")))
                .fetch_all(&pool)
                .await
                .unwrap()
                .iter()
                .filter(|row| row.get::<String, _>("opcode") == "FkIfZero")
                .count();
            assert!(
                guards >= fk_reads,
                "{fk_reads} foreign key reads, {guards} guards: {sql}"
            );
        }
    }

    /// The steps of `explain query plan` for `sql`.
    pub(crate) async fn plan_of(pool: &Pool, sql: &str) -> Vec<String> {
        sqlx::query(sqlx::AssertSqlSafe(format!("explain query plan {sql}")))
            .fetch_all(pool)
            .await
            .unwrap()
            .iter()
            .map(|row| row.get::<String, _>("detail"))
            .collect()
    }

    /// The tables with a foreign key to `parent`, once per such key.
    async fn children_of(pool: &Pool, parent: &str) -> Vec<String> {
        sqlx::query_scalar(
            "select m.name from sqlite_master m, pragma_foreign_key_list(m.name) f \
             where m.type = 'table' and f.\"table\" = ?",
        )
        .bind(parent)
        .fetch_all(pool)
        .await
        .unwrap()
    }

    /// Tickets 1..=40: requester U1 or U2 by parity, channel C1, ticket i filed at 10:i;
    /// every third resolved; words stored for all but ticket 28.
    async fn forty_tickets(pool: &Pool) {
        sqlx::query(
            "with recursive n(i) as (select 1 union all select i + 1 from n where i < 40) \
             insert into tickets (id, key, title, description, requester, channel, source, \
             category, priority, status, created_at, updated_at, words) \
             select i, 'PLAT-' || i, 'title ' || i, 'text', 'U' || (1 + i % 2), 'C1', \
             'command', 'general', 'P3', case when i % 3 = 0 then 'resolved' else 'open' end, \
             '2026-11-01T10:' || format('%02d', i) || ':00.000000Z', \
             '2026-11-01T10:00:00.000000Z', \
             case when i = 28 then null else 'text title' end from n",
        )
        .execute(pool)
        .await
        .unwrap();
    }

    #[tokio::test]
    async fn candidates_are_those_asked_for_that_are_open_and_in_the_window() {
        let (_dir, pool) = migrated().await;
        forty_tickets(&pool).await;
        let mut conn = pool.acquire().await.unwrap();
        let since = "2026-11-01T10:05:00Z".parse().unwrap();
        let found = open_candidates(&mut conn, &[40, 39, 38, 28, 4, 99], since)
            .await
            .unwrap();
        // 39 is resolved, 4 older than `since`, 99 does not exist.
        let mut ids: Vec<i64> = found.iter().map(|c| c.id).collect();
        ids.sort_unstable();
        assert_eq!(ids, [28, 38, 40]);
        let of = |id: i64| found.iter().find(|c| c.id == id).unwrap().clone();
        assert_eq!(
            of(38),
            Candidate {
                id: 38,
                key: "PLAT-38".into(),
                text: CandidateText::Words("text title".into())
            }
        );
        assert_eq!(of(28).text, CandidateText::Text("title 28 text".into()));
        assert!(open_candidates(&mut conn, &[], since)
            .await
            .unwrap()
            .is_empty());
    }

    #[tokio::test]
    async fn recent_open_tickets_are_read_newest_first_within_the_window_and_the_scan() {
        use futures_util::TryStreamExt;
        let (_dir, pool) = migrated().await;
        forty_tickets(&pool).await;
        let since = "2026-11-01T10:05:00Z".parse().unwrap();
        let read = |most: usize, scanned: i64| {
            recent_open(&pool, since, most, scanned)
                .map_ok(|(id, ..)| id)
                .try_collect::<Vec<i64>>()
        };
        let open_since_5: Vec<i64> = (5..=40).rev().filter(|i| i % 3 != 0).collect();
        assert_eq!(read(100, 1000).await.unwrap(), open_since_5);
        assert_eq!(read(3, 1000).await.unwrap(), [40, 38, 37]);
        // Only the newest ten tickets (31..=40) are looked at.
        assert_eq!(read(100, 10).await.unwrap(), [40, 38, 37, 35, 34, 32, 31]);
        let (_, requester, channel, at, text) = recent_open(&pool, since, 1, 1000)
            .try_collect::<Vec<_>>()
            .await
            .unwrap()
            .remove(0);
        assert_eq!((requester.as_str(), channel.as_deref()), ("U1", Some("C1")));
        assert_eq!(at, "2026-11-01T10:40:00Z".parse::<DateTime<Utc>>().unwrap());
        assert_eq!(text, CandidateText::Words("text title".into()));
    }

    #[tokio::test]
    async fn an_edited_text_clears_the_stored_words_and_nothing_else_does() {
        let (_dir, pool) = migrated().await;
        sqlx::query(
            "insert into tickets (id, key, title, description, requester, source, category, \
             priority, status, created_at, updated_at, words) values (1, 'PLAT-1', 'vault', \
             'vault token', 'U1', 'command', 'general', 'P3', 'open', 'x', 'x', 'token vault')",
        )
        .execute(&pool)
        .await
        .unwrap();
        let words = || async {
            sqlx::query_scalar::<_, Option<String>>("select words from tickets where id = 1")
                .fetch_one(&pool)
                .await
                .unwrap()
        };
        // A save that writes the same text back (as `db::save` does on every change).
        sqlx::query("update tickets set description = 'vault token', status = 'acknowledged'")
            .execute(&pool)
            .await
            .unwrap();
        assert_eq!(words().await.as_deref(), Some("token vault"));
        sqlx::query("update tickets set description = 'kafka lag'")
            .execute(&pool)
            .await
            .unwrap();
        assert_eq!(words().await, None);
    }
}
