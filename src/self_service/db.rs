//! Self-service SQL: the held requests (offers in `self_service_offers`, migrations 0023
//! and 0024; redirects in `ownership_redirects`; the outbox rows that posted them, 0031).

use super::{Held, Notice, Outcome};
use crate::clock::db_time;
use crate::domain::ticket::Source;
use chrono::{DateTime, Utc};
use sqlx::SqliteConnection;

/// Where a held request's notices go, as stored: (channel, thread ts); a DM is the
/// requester's id with no thread.
fn notice_columns(held: &Held) -> (String, Option<String>) {
    match &held.notice {
        Notice::Thread { channel, ts } => (channel.clone(), Some(ts.clone())),
        Notice::Ephemeral { channel } => (channel.clone(), None),
        Notice::Direct => (held.requester.clone(), None),
    }
}

fn notice_of(requester: &str, channel: Option<String>, ts: Option<String>) -> Notice {
    match (channel, ts) {
        (Some(channel), Some(ts)) => Notice::Thread { channel, ts },
        (Some(channel), None) if channel != requester => Notice::Ephemeral { channel },
        _ => Notice::Direct,
    }
}

/// Stores an offer and its entries (best first); returns its id.
pub async fn insert_offer(
    tx: &mut SqliteConnection,
    held: &Held,
    titles: &[&str],
) -> sqlx::Result<i64> {
    let (notice_channel, notice_ts) = notice_columns(held);
    let id: i64 = sqlx::query_scalar(
        "insert into self_service_offers (requester, channel, source, text, requested_at, \
         message_ts, title, urgency, link, filed_by, notice_channel, notice_thread_ts) \
         values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) returning id",
    )
    .bind(&held.requester)
    .bind(&held.channel)
    .bind(held.source.as_str())
    .bind(&held.description)
    .bind(db_time(held.requested_at))
    .bind(&held.message_ts)
    .bind(&held.title)
    .bind(&held.urgency)
    .bind(&held.link)
    .bind(&held.filed_by)
    .bind(notice_channel)
    .bind(notice_ts)
    .fetch_one(&mut *tx)
    .await?;
    for (rank, title) in titles.iter().enumerate() {
        sqlx::query(
            "insert into self_service_offer_entries (offer_id, rank, title) values (?, ?, ?)",
        )
        .bind(id)
        .bind(rank as i64 + 1)
        .bind(title)
        .execute(&mut *tx)
        .await?;
    }
    Ok(id)
}

/// A stored offer.
#[derive(Debug, Clone)]
pub struct Offer {
    pub id: i64,
    pub held: Held,
    pub outcome: Outcome,
    pub ticket_id: Option<i64>,
    /// The entries offered, best first.
    pub titles: Vec<String>,
}

#[derive(sqlx::FromRow)]
struct HeldRow {
    id: i64,
    requester: String,
    channel: Option<String>,
    source: String,
    title: Option<String>,
    text: String,
    urgency: Option<String>,
    link: Option<String>,
    filed_by: Option<String>,
    requested_at: DateTime<Utc>,
    message_ts: Option<String>,
    notice_channel: Option<String>,
    notice_thread_ts: Option<String>,
    outcome: String,
    ticket_id: Option<i64>,
}

impl HeldRow {
    fn held(self) -> (i64, Held, String, Option<i64>) {
        let title = self
            .title
            .unwrap_or_else(|| crate::domain::ticket::title_from(&self.text));
        let notice = notice_of(&self.requester, self.notice_channel, self.notice_thread_ts);
        let held = Held {
            requester: self.requester,
            channel: self.channel,
            source: Source::parse(&self.source),
            title,
            description: self.text,
            urgency: self.urgency,
            link: self.link,
            filed_by: self.filed_by,
            requested_at: self.requested_at,
            message_ts: self.message_ts,
            notice,
        };
        (self.id, held, self.outcome, self.ticket_id)
    }
}

const HELD_COLUMNS: &str = "id, requester, channel, source, title, text, urgency, link, \
    filed_by, requested_at, message_ts, notice_channel, notice_thread_ts, outcome, ticket_id";

pub async fn offer(conn: &mut SqliteConnection, id: i64) -> sqlx::Result<Option<Offer>> {
    let row: Option<HeldRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "select {HELD_COLUMNS} from self_service_offers where id = ?"
    )))
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?;
    let Some(row) = row else { return Ok(None) };
    let titles: Vec<String> = sqlx::query_scalar(
        "select title from self_service_offer_entries where offer_id = ? order by rank",
    )
    .bind(id)
    .fetch_all(&mut *conn)
    .await?;
    let (id, held, outcome, ticket_id) = row.held();
    Ok(Some(Offer {
        id,
        held,
        outcome: Outcome::parse(&outcome),
        ticket_id,
        titles,
    }))
}

/// Records the outcome of a pending offer; false when it was no longer pending.
pub async fn decide(
    tx: &mut SqliteConnection,
    id: i64,
    outcome: Outcome,
    now: DateTime<Utc>,
) -> sqlx::Result<bool> {
    let r = sqlx::query(
        "update self_service_offers set outcome = ?, decided_at = ? \
         where id = ? and outcome = 'pending'",
    )
    .bind(outcome.as_str())
    .bind(db_time(now))
    .bind(id)
    .execute(tx)
    .await?;
    Ok(r.rows_affected() == 1)
}

/// Links the ticket filed for an offer, and records the offer on the ticket (an event whose
/// detail says what was offered and what the requester said).
pub async fn offer_filed(
    tx: &mut SqliteConnection,
    offer: &Offer,
    ticket_id: i64,
    now: DateTime<Utc>,
) -> sqlx::Result<()> {
    sqlx::query("update self_service_offers set ticket_id = ? where id = ? and ticket_id is null")
        .bind(ticket_id)
        .bind(offer.id)
        .execute(&mut *tx)
        .await?;
    let detail = format!(
        "offer {}: {}; offered: {}",
        offer.id,
        offer.outcome.as_str(),
        offer.titles.join(" | ")
    );
    sqlx::query(
        "insert into ticket_events (ticket_id, kind, actor, at, detail) \
         values (?, 'self_service_offer', ?, ?, ?)",
    )
    .bind(ticket_id)
    .bind(&offer.held.requester)
    .bind(db_time(now))
    .bind(detail)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// The requester's answer to "what was missing?", on the offer and its ticket.
pub async fn set_reason(
    tx: &mut SqliteConnection,
    id: i64,
    requester: &str,
    reason: &str,
    now: DateTime<Utc>,
) -> sqlx::Result<Option<i64>> {
    let ticket: Option<Option<i64>> = sqlx::query_scalar(
        "update self_service_offers set reason = ? where id = ? and requester = ? \
         returning ticket_id",
    )
    .bind(reason)
    .bind(id)
    .bind(requester)
    .fetch_optional(&mut *tx)
    .await?;
    let ticket = ticket.flatten();
    if let Some(ticket_id) = ticket {
        sqlx::query(
            "insert into ticket_events (ticket_id, kind, actor, at, detail) \
             values (?, 'self_service_reason', ?, ?, ?)",
        )
        .bind(ticket_id)
        .bind(requester)
        .bind(db_time(now))
        .bind(reason)
        .execute(&mut *tx)
        .await?;
    }
    Ok(ticket)
}

/// Pending offers made at or before `cutoff`: ignored.
pub async fn expired(conn: &mut SqliteConnection, cutoff: DateTime<Utc>) -> sqlx::Result<Vec<i64>> {
    sqlx::query_scalar(
        "select id from self_service_offers where outcome = 'pending' and requested_at <= ? \
         order by requested_at limit 500",
    )
    .bind(db_time(cutoff))
    .fetch_all(conn)
    .await
}

/// The oldest pending offer's request time, and the oldest decision still waiting for its
/// ticket (both by partial indexes: a timer asks this at every pass).
pub async fn oldest_waiting(
    conn: &mut SqliteConnection,
) -> sqlx::Result<(Option<DateTime<Utc>>, Option<DateTime<Utc>>)> {
    let pending: Option<String> = sqlx::query_scalar(
        "select min(requested_at) from self_service_offers where outcome = 'pending'",
    )
    .fetch_one(&mut *conn)
    .await?;
    let unfiled: Option<String> = sqlx::query_scalar(
        "select min(decided_at) from self_service_offers where decided_at is not null \
         and outcome in ('still_needed', 'ignored') and ticket_id is null",
    )
    .fetch_one(&mut *conn)
    .await?;
    let parse = |t: Option<String>| t.and_then(|t| crate::clock::parse_db_time(&t));
    Ok((parse(pending), parse(unfiled)))
}

/// Offers decided as needing a ticket at or before `before` whose ticket is not linked (the
/// process stopped between deciding and filing).
pub async fn unfiled(conn: &mut SqliteConnection, before: DateTime<Utc>) -> sqlx::Result<Vec<i64>> {
    sqlx::query_scalar(
        "select id from self_service_offers where outcome in ('still_needed', 'ignored') \
         and ticket_id is null and decided_at <= ? order by decided_at limit 500",
    )
    .bind(db_time(before))
    .fetch_all(conn)
    .await
}

/// The ticket filed for a request of `requester` made at `at` (when its link was lost).
pub async fn ticket_filed_at(
    conn: &mut SqliteConnection,
    requester: &str,
    at: DateTime<Utc>,
) -> sqlx::Result<Option<i64>> {
    sqlx::query_scalar(
        "select id from tickets where requester = ? and created_at = ? order by id desc limit 1",
    )
    .bind(requester)
    .bind(db_time(at))
    .fetch_optional(conn)
    .await
}

/// A stored redirect.
#[derive(Debug, Clone)]
pub struct Redirect {
    pub id: i64,
    pub held: Held,
    pub area: String,
    pub filed: bool,
    pub ticket_id: Option<i64>,
}

pub async fn insert_redirect(
    tx: &mut SqliteConnection,
    held: &Held,
    area: &str,
) -> sqlx::Result<i64> {
    let (notice_channel, notice_ts) = notice_columns(held);
    sqlx::query_scalar(
        "insert into ownership_redirects (requester, channel, source, title, text, urgency, \
         link, filed_by, requested_at, message_ts, notice_channel, notice_thread_ts, area) \
         values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) returning id",
    )
    .bind(&held.requester)
    .bind(&held.channel)
    .bind(held.source.as_str())
    .bind(&held.title)
    .bind(&held.description)
    .bind(&held.urgency)
    .bind(&held.link)
    .bind(&held.filed_by)
    .bind(db_time(held.requested_at))
    .bind(&held.message_ts)
    .bind(notice_channel)
    .bind(notice_ts)
    .bind(area)
    .fetch_one(tx)
    .await
}

pub async fn redirect(conn: &mut SqliteConnection, id: i64) -> sqlx::Result<Option<Redirect>> {
    let row: Option<(String, HeldRow)> = {
        #[derive(sqlx::FromRow)]
        struct Row {
            area: String,
            #[sqlx(flatten)]
            held: HeldRow,
        }
        let row: Option<Row> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "select area, {HELD_COLUMNS} from ownership_redirects where id = ?"
        )))
        .bind(id)
        .fetch_optional(conn)
        .await?;
        row.map(|r| (r.area, r.held))
    };
    Ok(row.map(|(area, row)| {
        let (id, held, outcome, ticket_id) = row.held();
        Redirect {
            id,
            held,
            area,
            filed: outcome == "filed",
            ticket_id,
        }
    }))
}

/// Marks a redirect filed anyway; false when it already was.
pub async fn redirect_claimed(
    conn: &mut SqliteConnection,
    id: i64,
    now: DateTime<Utc>,
) -> sqlx::Result<bool> {
    let r = sqlx::query(
        "update ownership_redirects set outcome = 'filed', decided_at = ? \
         where id = ? and outcome = 'redirected'",
    )
    .bind(db_time(now))
    .bind(id)
    .execute(conn)
    .await?;
    Ok(r.rows_affected() == 1)
}

pub async fn redirect_filed(
    conn: &mut SqliteConnection,
    id: i64,
    ticket_id: i64,
) -> sqlx::Result<()> {
    sqlx::query("update ownership_redirects set ticket_id = ? where id = ?")
        .bind(ticket_id)
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}

/// Which entry's `This solved it` was pressed (1 to 3).
pub async fn solved_rank(tx: &mut SqliteConnection, id: i64, rank: i64) -> sqlx::Result<()> {
    sqlx::query("update self_service_offers set solved_rank = ? where id = ?")
        .bind(rank.clamp(1, 3))
        .bind(id)
        .execute(tx)
        .await?;
    Ok(())
}

/// Records the outbox row that posts a held request's message (`offer` or `redirect`).
pub async fn posted_by(
    tx: &mut SqliteConnection,
    kind: HeldKind,
    id: i64,
    outbox_id: i64,
) -> sqlx::Result<()> {
    let sql = match kind {
        HeldKind::Offer => "update self_service_offers set notice_outbox_id = ? where id = ?",
        HeldKind::Redirect => "update ownership_redirects set notice_outbox_id = ? where id = ?",
    };
    sqlx::query(sql)
        .bind(outbox_id)
        .bind(id)
        .execute(tx)
        .await?;
    Ok(())
}

/// An offer or a redirect.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeldKind {
    Offer,
    Redirect,
}

/// Keeps the `response_url` of the command whose answer is offer `id`.
pub async fn offer_response_url(tx: &mut SqliteConnection, id: i64, url: &str) -> sqlx::Result<()> {
    sqlx::query("update self_service_offers set response_url = ? where id = ?")
        .bind(url)
        .bind(id)
        .execute(tx)
        .await?;
    Ok(())
}

/// Where an offer's own message can be replaced: its thread message's ts once Slack has
/// taken its post, or the `response_url` of the command it answered. Both None for an
/// ephemeral message posted by `chat.postEphemeral`, which nothing can edit unclicked.
pub async fn offer_message(
    conn: &mut SqliteConnection,
    id: i64,
) -> sqlx::Result<(Option<String>, Option<String>)> {
    let row: Option<(Option<String>, Option<String>)> = sqlx::query_as(
        "select (select o.result_ts from outbox o where o.id = s.notice_outbox_id \
         and o.status = 'sent' and o.method = 'chat.postMessage'), s.response_url \
         from self_service_offers s where s.id = ?",
    )
    .bind(id)
    .fetch_optional(conn)
    .await?;
    Ok(row.unwrap_or((None, None)))
}
