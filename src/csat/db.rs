//! The SQL of CSAT: who was asked about which ticket and when (`csat_asks`, migration 22),
//! and the score on the ticket.

use crate::clock::{db_time, parse_db_time};
use chrono::{DateTime, Utc};
use sqlx::{Row, SqliteConnection};

/// A question asked about a ticket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ask {
    pub person: String,
    pub asked_at: DateTime<Utc>,
    /// The first answer's time.
    pub answered_at: Option<DateTime<Utc>>,
}

pub async fn ask_of(conn: &mut SqliteConnection, ticket_id: i64) -> sqlx::Result<Option<Ask>> {
    let row =
        sqlx::query("select person, asked_at, answered_at from csat_asks where ticket_id = ?")
            .bind(ticket_id)
            .fetch_optional(conn)
            .await?;
    row.map(|r| {
        let asked: String = r.try_get("asked_at")?;
        let answered: Option<String> = r.try_get("answered_at")?;
        Ok(Ask {
            person: r.try_get("person")?,
            asked_at: parse_db_time(&asked).unwrap_or_default(),
            answered_at: answered.as_deref().and_then(parse_db_time),
        })
    })
    .transpose()
}

/// Whether `person` was asked about any ticket after `since` (the cooldown).
pub async fn asked_since(
    conn: &mut SqliteConnection,
    person: &str,
    since: DateTime<Utc>,
) -> sqlx::Result<bool> {
    let found: Option<i64> =
        sqlx::query_scalar("select 1 from csat_asks where person = ? and asked_at > ? limit 1")
            .bind(person)
            .bind(db_time(since))
            .fetch_optional(conn)
            .await?;
    Ok(found.is_some())
}

/// Records the question; false when this ticket was already asked about.
pub async fn add_ask(
    conn: &mut SqliteConnection,
    ticket_id: i64,
    person: &str,
    now: DateTime<Utc>,
) -> sqlx::Result<bool> {
    let done = sqlx::query(
        "insert into csat_asks (ticket_id, person, asked_at) values (?, ?, ?) \
         on conflict (ticket_id) do nothing",
    )
    .bind(ticket_id)
    .bind(person)
    .bind(db_time(now))
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// The score on the ticket, and the first answer's time on its question.
pub async fn set_score(
    conn: &mut SqliteConnection,
    ticket_id: i64,
    score: u8,
    now: DateTime<Utc>,
) -> sqlx::Result<()> {
    sqlx::query("update tickets set csat = ?, updated_at = ? where id = ?")
        .bind(i64::from(score))
        .bind(db_time(now))
        .bind(ticket_id)
        .execute(&mut *conn)
        .await?;
    sqlx::query("update csat_asks set answered_at = coalesce(answered_at, ?) where ticket_id = ?")
        .bind(db_time(now))
        .bind(ticket_id)
        .execute(conn)
        .await?;
    Ok(())
}

/// The ticket's key, title, current score and where its card is (or None when it is gone).
pub struct Asked {
    pub key: String,
    pub title: String,
    pub csat: Option<u8>,
    pub card_channel: Option<String>,
}

pub async fn ticket(conn: &mut SqliteConnection, ticket_id: i64) -> sqlx::Result<Option<Asked>> {
    let row = sqlx::query("select key, title, csat, card_channel from tickets where id = ?")
        .bind(ticket_id)
        .fetch_optional(conn)
        .await?;
    row.map(|r| {
        Ok(Asked {
            key: r.try_get("key")?,
            title: r.try_get("title")?,
            csat: r
                .try_get::<Option<i64>, _>("csat")?
                .and_then(|v| u8::try_from(v).ok()),
            card_channel: r.try_get("card_channel")?,
        })
    })
    .transpose()
}
