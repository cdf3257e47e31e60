//! The SQL of the ticket writer (`filer`): one shared transaction per batch of requests,
//! with multi-row statements, so that a commit of two dozen tickets is a handful of
//! statements rather than a hundred. Every read here is by an index, whatever the backlog
//! (`tests::no_statement_of_filing_scans_a_table` checks each one's plan).

use super::Ticket;
use crate::clock::db_time;
use crate::outbox::OutboxMessage;
use crate::sla::timers::Planned;
use crate::store::Pool;
use chrono::{DateTime, Utc};
use sqlx::sqlite::{Sqlite, SqliteConnection};
use sqlx::{Connection, QueryBuilder, Row, Transaction};
use std::collections::HashSet;

/// The most rows one statement inserts. Batches are split into chunks whose sizes are
/// powers of two up to this (see [`chunks`]), so a handful of statement texts serve every
/// batch size and each is prepared once (sqlx caches prepared statements by their text).
const MOST_ROWS: usize = 256;

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

/// Whose newest open tickets a [`Candidate`] is among.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Of {
    Requester,
    Channel,
}

/// A duplicate candidate: one of the newest open tickets of a requester or a channel.
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

/// The newest `per_key` open tickets of each requester and of each channel, those filed
/// before `since` left out.
///
/// One statement for the whole batch. Each inner select is one seek into a partial index of
/// the open tickets (migration 10) and at most `per_key` steps back from the newest, and the
/// outer one reads the same index, which holds all it wants: the cost depends neither on how
/// many tickets the database holds nor on how many are open. `indexed by` makes SQLite refuse
/// the statement rather than plan it another way. A PostgreSQL version reads the same with
/// `unnest($1) cross join lateral (... limit n)`.
pub async fn open_candidates(
    tx: &mut SqliteConnection,
    requesters: &[&str],
    channels: &[&str],
    per_key: usize,
    since: DateTime<Utc>,
) -> sqlx::Result<Vec<Candidate>> {
    if requesters.is_empty() && channels.is_empty() {
        return Ok(Vec::new());
    }
    let list = |ids: &[&str]| serde_json::to_string(ids).unwrap_or_else(|_| "[]".into());
    let rows = sqlx::query(OPEN_CANDIDATES)
        .bind(list(requesters))
        .bind(list(channels))
        .bind(per_key as i64)
        .bind(db_time(since))
        .fetch_all(&mut *tx)
        .await?;
    let mut out = Vec::with_capacity(rows.len());
    let mut without_words = Vec::new();
    for row in rows {
        let of = match row.try_get::<&str, _>(0)? {
            "requester" => Of::Requester,
            _ => Of::Channel,
        };
        let id = row.try_get(2)?;
        let words: Option<String> = row.try_get(4)?;
        if words.is_none() {
            without_words.push(id);
        }
        out.push(Candidate {
            of,
            whose: row.try_get(1)?,
            id,
            key: row.try_get(3)?,
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

/// `?1`: requester ids, `?2`: channel ids (JSON arrays); `?3`: how many of each; `?4`: the
/// oldest creation time wanted.
const OPEN_CANDIDATES: &str = "\
    select 'requester', t.requester, t.id, t.key, t.words \
    from json_each(?1) r join tickets t indexed by tickets_requester_open \
    on t.requester = r.value and t.status in ('open', 'acknowledged', 'waiting') \
    and t.created_at >= ?4 and t.id in ( \
        select o.id from tickets o indexed by tickets_requester_open \
        where o.requester = r.value and o.status in ('open', 'acknowledged', 'waiting') \
        order by o.id desc limit ?3) \
    union all \
    select 'channel', t.channel, t.id, t.key, t.words \
    from json_each(?2) c join tickets t indexed by tickets_channel_open \
    on t.channel = c.value and t.status in ('open', 'acknowledged', 'waiting') \
    and t.created_at >= ?4 and t.id in ( \
        select o.id from tickets o indexed by tickets_channel_open \
        where o.channel = c.value and o.status in ('open', 'acknowledged', 'waiting') \
        order by o.id desc limit ?3)";

/// The title and description of tickets `ids` (at most a batch's candidates).
async fn texts_of(tx: &mut SqliteConnection, ids: &[i64]) -> sqlx::Result<Vec<(i64, String)>> {
    let list = serde_json::to_string(ids).unwrap_or_else(|_| "[]".into());
    sqlx::query_as(TEXTS_OF)
        .bind(list)
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
    for chunk in chunks(tickets) {
        let mut q = QueryBuilder::<Sqlite>::new(
            "insert into tickets (id, key, title, description, requester, channel, source, \
             source_ts, category, priority, status, assignee, urgency, link, created_at, \
             updated_at, first_response_due, resolution_due, triage_rule, triage_reason, \
             duplicate_of, filed_by, words) ",
        );
        q.push_values(chunk, |mut row, (t, words)| {
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
        });
        q.build().execute(&mut *tx).await?;
    }
    // The writer numbers a batch's tickets in order with no gaps, so their events are one
    // statement, read back from the rows just written (by their primary key).
    sqlx::query(INSERT_CREATED)
        .bind(first.id)
        .bind(last.id)
        .execute(&mut *tx)
        .await?;
    Ok(())
}

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
    for chunk in chunks(plans) {
        let mut q = QueryBuilder::<Sqlite>::new(
            "insert into timers (ticket_id, kind, due_at, round, later) ",
        );
        q.push_values(chunk, |mut row, (ticket_id, head, later)| {
            row.push_bind(*ticket_id)
                .push_bind(head.kind.as_str())
                .push_bind(db_time(head.due_at))
                .push_bind(0_i64)
                .push_bind(later.as_deref());
        });
        q.build().execute(&mut *tx).await?;
    }
    Ok(())
}

/// Inserts outbox rows, each for its ticket.
pub async fn insert_outbox(
    tx: &mut SqliteConnection,
    rows: &[(i64, OutboxMessage)],
    now: &str,
) -> sqlx::Result<()> {
    for chunk in chunks(rows) {
        let mut q = QueryBuilder::<Sqlite>::new(
            "insert into outbox (method, channel, payload, purpose, ticket_id, created_at) ",
        );
        q.push_values(chunk, |mut row, (ticket_id, m)| {
            row.push_bind(m.method)
                .push_bind(m.channel.as_str())
                .push_bind(m.payload.as_str())
                .push_bind(m.purpose.as_str())
                .push_bind(*ticket_id)
                .push_bind(now);
        });
        q.build().execute(&mut *tx).await?;
    }
    Ok(())
}

/// `items` in chunks of at most [`MOST_ROWS`] whose sizes are powers of two, largest first:
/// 25 rows are 16 + 8 + 1, so every batch size is served by at most nine statement texts
/// per table, each prepared once.
fn chunks<T>(mut items: &[T]) -> impl Iterator<Item = &[T]> {
    std::iter::from_fn(move || {
        if items.is_empty() {
            return None;
        }
        let n = MOST_ROWS.min(1 << items.len().ilog2());
        let (chunk, rest) = items.split_at(n);
        items = rest;
        Some(chunk)
    })
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

    #[test]
    fn batches_are_cut_into_power_of_two_chunks_largest_first() {
        let sizes = |n: usize| -> Vec<usize> {
            let items: Vec<usize> = (0..n).collect();
            chunks(&items).map(<[usize]>::len).collect()
        };
        assert_eq!(sizes(0), Vec::<usize>::new());
        assert_eq!(sizes(1), [1]);
        assert_eq!(sizes(25), [16, 8, 1]);
        assert_eq!(sizes(600), [256, 256, 64, 16, 8]);
        let items: Vec<usize> = (0..25).collect();
        let joined: Vec<usize> = chunks(&items).flatten().copied().collect();
        assert_eq!(joined, items, "in order, each row once");
    }

    /// Every statement the writer runs for a request, with its parameters' shapes: the plan
    /// of each must read by an index (a `SCAN` of a table reads every row, so its cost grows
    /// with the backlog; a temporary B-tree sorts every row it is given).
    #[tokio::test]
    async fn no_statement_of_filing_scans_a_table() {
        let (_dir, pool) = migrated().await;
        let values = |n: usize, per_row: usize| {
            let row = format!("({})", vec!["?"; per_row].join(", "));
            vec![row; n].join(", ")
        };
        // Not `MAX_ID`: it runs at start and after a failed commit, and SQLite reads a
        // max of the primary key from the table's last row.
        let statements = [
            format!(
                "insert into inbox (key, received_at) values {} on conflict do nothing returning key",
                values(2, 2)
            ),
            OPEN_CANDIDATES.to_string(),
            TEXTS_OF.to_string(),
            INSERT_CREATED.to_string(),
            format!(
                "insert into tickets (id, key, title, description, requester, channel, source, \
                 source_ts, category, priority, status, assignee, urgency, link, created_at, \
                 updated_at, first_response_due, resolution_due, triage_rule, triage_reason, \
                 duplicate_of, filed_by, words) values {}",
                values(2, 23)
            ),
            format!(
                "insert into timers (ticket_id, kind, due_at, round, later) values {}",
                values(2, 5)
            ),
            format!(
                "insert into outbox (method, channel, payload, purpose, ticket_id, created_at) \
                 values {}",
                values(2, 6)
            ),
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
            for step in &plan {
                // A scan of the statement's own `values` rows or of `json_each`'s list reads
                // what the request brought; a scan of anything else reads a table.
                let scanned = step
                    .strip_prefix("SCAN ")
                    .filter(|s| !s.contains("VALUES CLAUSE") && !s.contains("VIRTUAL TABLE"));
                let table = step.split(' ').nth(1).unwrap_or_default();
                if children.iter().any(|c| c == table) {
                    fk_reads += 1;
                    continue;
                }
                // A search must find its rows by key: the primary key, or an index of open
                // tickets by requester or channel read newest first up to a limit. A search of
                // the status index alone walks every open ticket, as filing did before.
                let bounded_search = !step.starts_with("SEARCH ")
                    || step.contains("USING INTEGER PRIMARY KEY")
                    || step.contains("COVERING INDEX tickets_requester_open (requester=?")
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

    #[tokio::test]
    async fn candidates_are_the_newest_open_tickets_of_each_requester_and_channel() {
        let (_dir, pool) = migrated().await;
        // Tickets 1..=30: requester U1 or U2 by parity, channel C1, ticket i filed at
        // 10:i; every third resolved; words stored for all but ticket 28.
        sqlx::query(
            "with recursive n(i) as (select 1 union all select i + 1 from n where i < 30) \
             insert into tickets (id, key, title, description, requester, channel, source, \
             category, priority, status, created_at, updated_at, words) \
             select i, 'PLAT-' || i, 'title ' || i, 'text', 'U' || (1 + i % 2), 'C1', \
             'command', 'general', 'P3', case when i % 3 = 0 then 'resolved' else 'open' end, \
             '2026-11-01T10:' || format('%02d', i) || ':00.000000Z', \
             '2026-11-01T10:00:00.000000Z', \
             case when i = 28 then null else 'text title' end from n",
        )
        .execute(&pool)
        .await
        .unwrap();
        let mut conn = pool.acquire().await.unwrap();
        let since = "2026-11-01T10:21:00Z".parse().unwrap();
        let found = open_candidates(&mut conn, &["U1", "U9"], &["C1"], 4, since)
            .await
            .unwrap();
        let ids = |of: Of, whose: &str| -> Vec<i64> {
            let mut ids: Vec<i64> = found
                .iter()
                .filter(|c| c.of == of && c.whose == whose)
                .map(|c| c.id)
                .collect();
            ids.sort_unstable_by(|a, b| b.cmp(a));
            ids
        };
        // U1 has the even ids; 30 and 24 are resolved; 20 is older than `since`.
        assert_eq!(ids(Of::Requester, "U1"), [28, 26, 22]);
        assert_eq!(ids(Of::Requester, "U9"), Vec::<i64>::new());
        assert_eq!(ids(Of::Channel, "C1"), [29, 28, 26, 25]);
        let text_of = |id: i64| found.iter().find(|c| c.id == id).unwrap().text.clone();
        assert_eq!(text_of(29), CandidateText::Words("text title".into()));
        assert_eq!(text_of(28), CandidateText::Text("title 28 text".into()));
        assert_eq!(found.iter().find(|c| c.id == 29).unwrap().key, "PLAT-29");
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
