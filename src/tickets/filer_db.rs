//! The SQL of the ticket writer (`filer`): one shared transaction per batch of requests,
//! with one multi-row statement per table, so that a commit of two dozen tickets is eight
//! statements rather than a hundred. Every read here is by an index, whatever the backlog
//! (`tests::no_statement_of_filing_scans_a_table` checks each one's plan).

use super::recent::PER_KEY;
use super::Ticket;
use crate::clock::db_time;
use crate::outbox::OutboxMessage;
use crate::sla::timers::Planned;
use crate::store::Pool;
use chrono::{DateTime, Utc};
use sqlx::query_builder::Separated;
use sqlx::sqlite::{Sqlite, SqliteConnection};
use sqlx::{Connection, QueryBuilder, Row, Transaction};
use std::collections::HashSet;
use std::sync::LazyLock;

/// The most rows one statement inserts (a batch holds at most 512 requests). A statement's
/// rows are padded to a power of two (see [`insert_padded`]), so ten statement texts serve
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

/// Whose recent open tickets a [`Candidate`] is among.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Of {
    Requester,
    Channel,
}

/// A duplicate candidate: one of the recent open tickets of a requester or a channel.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    pub of: Of,
    /// The requester's or the channel's id.
    pub whose: String,
    pub id: i64,
    pub key: String,
    pub text: CandidateText,
}

/// What a candidate's words are read from.
#[derive(Debug, Clone, PartialEq)]
pub enum CandidateText {
    /// Its stored words (`triage::similar::stored_words`).
    Words(String),
    /// Its title and description: a ticket filed before words were stored, or edited since.
    Text(String),
}

/// The duplicate candidates of a batch: tickets `ids` (its requesters' recent tickets that
/// the writer's memory says may match, `recent::Requesters`) that are still open, and the
/// newest [`PER_KEY`] open tickets of each of `channels`; none filed before `since`.
///
/// One statement for the whole batch, one row back. The tickets by id are read by primary
/// key. A channel's are one seek into its run of the index of open tickets by channel
/// (migration 10) and at most [`PER_KEY`] steps back from the newest, and the outer select
/// reads the same index, which holds all it wants: the cost depends neither on how many
/// tickets the database holds nor on how many are open. `indexed by` makes SQLite refuse
/// the statement rather than plan it another way, and `not indexed` keeps it to the primary
/// key where it would otherwise walk the index by status. A PostgreSQL version reads the same with
/// `unnest($1) cross join lateral (... limit n)`.
pub async fn open_candidates(
    tx: &mut SqliteConnection,
    ids: &[i64],
    channels: &[&str],
    since: DateTime<Utc>,
) -> sqlx::Result<Vec<Candidate>> {
    if ids.is_empty() && channels.is_empty() {
        return Ok(Vec::new());
    }
    let all: String = sqlx::query_scalar(OPEN_CANDIDATES.as_str())
        .bind(json_list(ids))
        .bind(json_list(channels))
        .bind(db_time(since))
        .fetch_one(&mut *tx)
        .await?;
    let rows: Vec<(&str, String, i64, String, Option<String>)> =
        serde_json::from_str(&all).map_err(|e| sqlx::Error::Decode(e.into()))?;
    let mut out = Vec::with_capacity(rows.len());
    let mut without_words = Vec::new();
    for (of, whose, id, key, words) in rows {
        if words.is_none() {
            without_words.push(id);
        }
        out.push(Candidate {
            of: if of == "requester" {
                Of::Requester
            } else {
                Of::Channel
            },
            whose,
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

/// `?1`: ticket ids, `?2`: channel ids (JSON arrays); `?3`: the oldest creation time wanted.
/// One row: a JSON array of `[of, whose, id, key, words]`, since sqlx hands rows over from
/// its connection's thread one at a time, and a batch has a few hundred candidates. The limit
/// is written in, not bound: SQLite plans a subquery's bound limit again at every run (it was
/// two thirds of this statement's time).
static OPEN_CANDIDATES: LazyLock<String> = LazyLock::new(|| {
    format!(
        "select json_group_array(json_array(c.of, c.whose, c.id, c.key, c.words)) from ( \
             select 'requester' as of, t.requester as whose, t.id, t.key, t.words \
             from json_each(?1) w join tickets t not indexed on t.id = w.value \
             where t.status in ('open', 'acknowledged', 'waiting') and t.created_at >= ?3 \
         union all \
             select 'channel' as of, t.channel as whose, t.id, t.key, t.words \
             from json_each(?2) w join tickets t indexed by tickets_channel_open \
             on t.channel = w.value and t.status in ('open', 'acknowledged', 'waiting') \
             and t.created_at >= ?3 and t.id in ( \
                 select o.id from tickets o indexed by tickets_channel_open \
                 where o.channel = w.value and o.status in ('open', 'acknowledged', 'waiting') \
                 order by o.id desc limit {PER_KEY}) \
         ) c"
    )
});

/// The open tickets filed since `since`, newest first: `(id, requester, created, text)`,
/// at most `most` of them, among the newest `scanned` tickets. What the writer recalls of its
/// requesters when it starts (`recent::Requesters`); a background read, once.
pub fn recent_open<'p>(
    pool: &'p Pool,
    since: DateTime<Utc>,
    most: usize,
    scanned: i64,
) -> impl futures_util::Stream<Item = sqlx::Result<(i64, String, DateTime<Utc>, CandidateText)>> + 'p
{
    use futures_util::StreamExt;
    sqlx::query_as::<_, (i64, String, DateTime<Utc>, Option<String>, Option<String>)>(RECENT_OPEN)
        .bind(scanned)
        .bind(db_time(since))
        .bind(most as i64)
        .fetch(pool)
        .map(|row| {
            let (id, requester, created, words, text) = row?;
            let text = match words {
                Some(words) => CandidateText::Words(words),
                None => CandidateText::Text(text.unwrap_or_default()),
            };
            Ok((id, requester, created, text))
        })
}

/// `?1`: how many of the newest tickets to look at, `?2`: the oldest creation time, `?3`: the
/// most rows. A range of the primary key read backwards (`not indexed`: not the index by
/// status, whose rows would then be sorted): bounded whatever the backlog.
const RECENT_OPEN: &str = "select id, requester, created_at, words, \
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
    insert_padded(tx, INTO_TICKETS, 23, tickets, |row, (t, words)| {
        row.push_bind(t.id)
            .push_bind(t.key.as_str())
            .push_bind(t.title.as_str())
            .push_bind(t.description.as_str())
            .push_bind(t.requester.as_str())
            .push_bind(t.channel.as_deref())
            .push_bind(t.source.as_str())
            .push_bind(t.source_ts.as_deref())
            .push_bind(t.category.as_str())
            .push_bind(t.priority.as_str())
            .push_bind(t.status.as_str())
            .push_bind(t.assignee.as_deref())
            .push_bind(t.urgency.as_deref())
            .push_bind(t.link.as_deref())
            .push_bind(created)
            .push_bind(created)
            .push_bind(t.first_response_due.map(db_time))
            .push_bind(t.resolution_due.map(db_time))
            .push_bind(t.triage_rule.as_deref())
            .push_bind(t.triage_reason.as_deref())
            .push_bind(t.duplicate_of.as_ref().map(|d| d.0))
            .push_bind(t.filed_by.as_deref())
            .push_bind(*words);
    })
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

const INTO_TICKETS: &str = "tickets (id, key, title, description, requester, channel, source, \
    source_ts, category, priority, status, assignee, urgency, link, created_at, updated_at, \
    first_response_due, resolution_due, triage_rule, triage_reason, duplicate_of, filed_by, \
    words)";

const INTO_TIMERS: &str = "timers (ticket_id, kind, due_at, round, later)";

const INTO_OUTBOX: &str = "outbox (ticket_id, method, channel, payload, purpose, created_at)";

/// The `created` event of tickets `?1` to `?2`: by whoever filed it, its priority as detail.
const INSERT_CREATED: &str = "\
    insert into ticket_events (ticket_id, kind, actor, at, detail) \
    select id, 'created', coalesce(filed_by, requester), created_at, priority from tickets \
    where id between ?1 and ?2 order by id";

/// Inserts new tickets' SLA plans: each ticket's first timer, with the later ones chained
/// on it (`timers::chain`).
pub async fn insert_plans(
    tx: &mut SqliteConnection,
    plans: &[(i64, Planned, Option<String>)],
) -> sqlx::Result<()> {
    insert_padded(
        tx,
        INTO_TIMERS,
        5,
        plans,
        |row, (ticket_id, head, later)| {
            row.push_bind(*ticket_id)
                .push_bind(head.kind.as_str())
                .push_bind(db_time(head.due_at))
                .push_bind(0_i64)
                .push_bind(later.as_deref());
        },
    )
    .await
}

/// Inserts outbox rows, each for its ticket.
pub async fn insert_outbox(
    tx: &mut SqliteConnection,
    rows: &[(i64, OutboxMessage)],
    now: &str,
) -> sqlx::Result<()> {
    insert_padded(tx, INTO_OUTBOX, 6, rows, |row, (ticket_id, m)| {
        row.push_bind(*ticket_id)
            .push_bind(m.method)
            .push_bind(m.channel.as_str())
            .push_bind(m.payload.as_str())
            .push_bind(m.purpose.as_str())
            .push_bind(now);
    })
    .await
}

/// `items` in chunks of at most [`MOST_ROWS`].
fn chunks<T>(items: &[T]) -> std::slice::Chunks<'_, T> {
    items.chunks(MOST_ROWS)
}

/// Inserts `rows` into `into` (`table (column, ...)`, `columns` of them) with one
/// statement per [`MOST_ROWS`]: `insert ... select * from (values ...) where column1 is not
/// null`, its rows padded with nulls to the next power of two and the padding dropped by
/// the `where`. `push` binds one row's values, in column order; the first is never null.
async fn insert_padded<T>(
    tx: &mut SqliteConnection,
    into: &str,
    columns: usize,
    rows: &[T],
    mut push: impl FnMut(&mut Separated<'_, Sqlite, &'static str>, &T),
) -> sqlx::Result<()> {
    for chunk in chunks(rows) {
        let padded = chunk.len().next_power_of_two();
        let mut q = padded_insert(into, columns, chunk, padded, &mut push);
        q.build().execute(&mut *tx).await?;
    }
    Ok(())
}

/// The statement of [`insert_padded`] for `rows` padded to `padded` rows.
fn padded_insert<T>(
    into: &str,
    columns: usize,
    rows: &[T],
    padded: usize,
    mut push: impl FnMut(&mut Separated<'_, Sqlite, &'static str>, &T),
) -> QueryBuilder<Sqlite> {
    let mut q = QueryBuilder::<Sqlite>::new(format!("insert into {into} select * from ("));
    q.push_values(0..padded, |mut row, i| match rows.get(i) {
        Some(item) => push(&mut row, item),
        None => {
            for _ in 0..columns {
                row.push_bind(None::<i64>);
            }
        }
    });
    q.push(") where column1 is not null");
    q
}

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
        let padded = |into: &str, columns: usize| {
            let none: &[()] = &[];
            padded_insert(into, columns, none, 2, |_, _| {})
                .sql()
                .as_str()
                .to_string()
        };
        // With the two the writer runs when it starts, bounded too.
        let statements = [
            "insert into inbox (key, received_at) values (?, ?), (?, ?) \
             on conflict do nothing returning key"
                .to_string(),
            OPEN_CANDIDATES.clone(),
            TEXTS_OF.to_string(),
            INSERT_CREATED.to_string(),
            padded(INTO_TICKETS, 23),
            padded(INTO_TIMERS, 5),
            padded(INTO_OUTBOX, 6),
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
                // with no `USING`: one step to the table's last row), or a channel's run of the
                // index of open tickets, read newest first up to a limit. A search of an index
                // by status alone walks every open ticket, as filing did before.
                let bounded_search = !step.starts_with("SEARCH ")
                    || step.contains("USING INTEGER PRIMARY KEY")
                    || !step.contains(" USING ")
                    || step.contains("COVERING INDEX tickets_channel_open (channel=?");
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
    async fn plan_of(pool: &Pool, sql: &str) -> Vec<String> {
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

    fn ids_of(found: &[Candidate], of: Of) -> Vec<i64> {
        let mut ids: Vec<i64> = found.iter().filter(|c| c.of == of).map(|c| c.id).collect();
        ids.sort_unstable_by(|a, b| b.cmp(a));
        ids
    }

    #[tokio::test]
    async fn candidates_are_the_open_ones_asked_for_and_the_channels_newest_open_ones() {
        let (_dir, pool) = migrated().await;
        forty_tickets(&pool).await;
        let mut conn = pool.acquire().await.unwrap();
        let since = "2026-11-01T10:00:00Z".parse().unwrap();
        let found = open_candidates(&mut conn, &[40, 39, 38, 99], &["C1", "C9"], since)
            .await
            .unwrap();
        // 39 is resolved, 99 does not exist.
        assert_eq!(ids_of(&found, Of::Requester), [40, 38]);
        assert_eq!(PER_KEY, 10);
        let c1 = [40, 38, 37, 35, 34, 32, 31, 29, 28, 26];
        assert_eq!(ids_of(&found, Of::Channel), c1);
        let text_of = |id: i64| found.iter().find(|c| c.id == id).unwrap().text.clone();
        assert_eq!(text_of(29), CandidateText::Words("text title".into()));
        assert_eq!(text_of(28), CandidateText::Text("title 28 text".into()));
        let t38 = found
            .iter()
            .find(|c| c.id == 38 && c.of == Of::Requester)
            .unwrap();
        assert_eq!((t38.whose.as_str(), t38.key.as_str()), ("U1", "PLAT-38"));
        // Those filed before `since` are left out of the ten, not replaced by older ones.
        let since = "2026-11-01T10:33:00Z".parse().unwrap();
        let found = open_candidates(&mut conn, &[32, 34], &["C1"], since)
            .await
            .unwrap();
        assert_eq!(ids_of(&found, Of::Requester), [34]);
        assert_eq!(ids_of(&found, Of::Channel), c1[..5]);
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
        let (_, requester, at, text) = recent_open(&pool, since, 1, 1000)
            .try_collect::<Vec<_>>()
            .await
            .unwrap()
            .remove(0);
        assert_eq!(requester, "U1");
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
