//! The SQL of pulse surveys: `surveys` (migration 20) and the working tables of migration 21
//! (`survey_recipients`, `survey_answers`, `survey_comments`, `survey_outbox`). Every step a
//! second runner could repeat is a conditional update that says whether it won.

use crate::clock::{db_time, parse_db_time};
use crate::outbox::{self, OutboxMessage};
use chrono::{DateTime, Utc};
use sqlx::sqlite::SqliteRow;
use sqlx::{QueryBuilder, Row, Sqlite, SqliteConnection};

/// A survey as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct Survey {
    pub id: i64,
    pub question: String,
    pub started_at: DateTime<Utc>,
    pub closes_at: DateTime<Utc>,
    pub remind_at: Option<DateTime<Utc>>,
    /// Present while the survey is open.
    pub answer_key: Option<Vec<u8>>,
    pub closed_at: Option<DateTime<Utc>>,
    pub audience: i64,
    pub responses: Option<i64>,
    pub mean: Option<f64>,
    pub distribution: Option<String>,
    pub favourable: Option<f64>,
}

/// The columns [`read`] reads, as a literal for `concat!`.
macro_rules! columns {
    () => {
        "id, question, started_at, closes_at, remind_at, answer_key, closed_at, \
         audience, responses, mean, distribution, favourable"
    };
}

fn time(row: &SqliteRow, col: &str) -> sqlx::Result<Option<DateTime<Utc>>> {
    Ok(row
        .try_get::<Option<String>, _>(col)?
        .as_deref()
        .and_then(parse_db_time))
}

fn read(row: &SqliteRow) -> sqlx::Result<Survey> {
    let required = |col: &str| -> sqlx::Result<DateTime<Utc>> {
        time(row, col)?.ok_or_else(|| sqlx::Error::ColumnNotFound(col.into()))
    };
    Ok(Survey {
        id: row.try_get("id")?,
        question: row.try_get("question")?,
        started_at: required("started_at")?,
        closes_at: required("closes_at")?,
        remind_at: time(row, "remind_at")?,
        answer_key: row.try_get("answer_key")?,
        closed_at: time(row, "closed_at")?,
        audience: row.try_get("audience")?,
        responses: row.try_get("responses")?,
        mean: row.try_get("mean")?,
        distribution: row.try_get("distribution")?,
        favourable: row.try_get("favourable")?,
    })
}

/// What a new survey is.
pub struct NewSurvey<'a> {
    pub question: &'a str,
    pub started_at: DateTime<Utc>,
    pub started_by: Option<&'a str>,
    pub closes_at: DateTime<Utc>,
    pub remind_at: Option<DateTime<Utc>>,
    pub answer_key: &'a [u8],
    pub audience: i64,
}

pub async fn insert(conn: &mut SqliteConnection, s: &NewSurvey<'_>) -> sqlx::Result<i64> {
    sqlx::query_scalar(
        "insert into surveys (question, started_at, started_by, closes_at, remind_at, \
         answer_key, audience) values (?, ?, ?, ?, ?, ?, ?) returning id",
    )
    .bind(s.question)
    .bind(db_time(s.started_at))
    .bind(s.started_by)
    .bind(db_time(s.closes_at))
    .bind(s.remind_at.map(db_time))
    .bind(s.answer_key)
    .bind(s.audience)
    .fetch_one(conn)
    .await
}

/// Records who is asked and when, in the survey's transaction.
pub async fn insert_recipients(
    conn: &mut SqliteConnection,
    survey: i64,
    people: &[(String, DateTime<Utc>)],
) -> sqlx::Result<()> {
    for chunk in people.chunks(300) {
        let mut q: QueryBuilder<Sqlite> =
            QueryBuilder::new("insert into survey_recipients (survey_id, user_id, deliver_at) ");
        q.push_values(chunk, |mut row, (user, at)| {
            row.push_bind(survey)
                .push_bind(user.clone())
                .push_bind(db_time(*at));
        });
        q.push(" on conflict do nothing");
        q.build().execute(&mut *conn).await?;
    }
    Ok(())
}

pub async fn by_id(conn: &mut SqliteConnection, id: i64) -> sqlx::Result<Option<Survey>> {
    let row = sqlx::query(concat!("select ", columns!(), " from surveys where id = ?"))
        .bind(id)
        .fetch_optional(conn)
        .await?;
    row.as_ref().map(read).transpose()
}

/// The open survey closing last, if any.
pub async fn open_one(conn: &mut SqliteConnection) -> sqlx::Result<Option<Survey>> {
    let row = sqlx::query(concat!(
        "select ",
        columns!(),
        " from surveys where closed_at is null order by closes_at desc limit 1"
    ))
    .fetch_optional(conn)
    .await?;
    row.as_ref().map(read).transpose()
}

/// The last `n` closed surveys, the latest first.
pub async fn closed(conn: &mut SqliteConnection, n: i64) -> sqlx::Result<Vec<Survey>> {
    let rows = sqlx::query(concat!(
        "select ",
        columns!(),
        " from surveys where closed_at is not null order by closed_at desc, id desc limit ?"
    ))
    .bind(n)
    .fetch_all(conn)
    .await?;
    rows.iter().map(read).collect()
}

/// The earliest thing due: a delivery, a reminder (when `reminders`), a close.
pub async fn next_due(
    conn: &mut SqliteConnection,
    reminders: bool,
) -> sqlx::Result<Option<DateTime<Utc>>> {
    let at: Option<String> = sqlx::query_scalar(
        "select min(at) from ( \
           select min(deliver_at) as at from survey_recipients where delivered = 0 \
           union all select min(remind_at) from surveys \
             where ? and closed_at is null and reminded_at is null \
           union all select min(closes_at) from surveys where closed_at is null)",
    )
    .bind(reminders)
    .fetch_one(conn)
    .await?;
    Ok(at.as_deref().and_then(parse_db_time))
}

/// Up to `limit` people whose message is due by `now`: (survey, user).
pub async fn due_deliveries(
    conn: &mut SqliteConnection,
    now: DateTime<Utc>,
    limit: i64,
) -> sqlx::Result<Vec<(i64, String)>> {
    sqlx::query_as(
        "select survey_id, user_id from survey_recipients \
         where delivered = 0 and deliver_at <= ? order by deliver_at limit ?",
    )
    .bind(db_time(now))
    .bind(limit)
    .fetch_all(conn)
    .await
}

/// Claims one person's message; false when it was sent already.
pub async fn mark_delivered(
    conn: &mut SqliteConnection,
    survey: i64,
    user: &str,
) -> sqlx::Result<bool> {
    let done = sqlx::query(
        "update survey_recipients set delivered = 1 \
         where survey_id = ? and user_id = ? and delivered = 0",
    )
    .bind(survey)
    .bind(user)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Open surveys whose reminder is due (not those already due to close: a reminder missed
/// while the bot was down is not sent as the survey closes).
pub async fn reminders_due(
    conn: &mut SqliteConnection,
    now: DateTime<Utc>,
) -> sqlx::Result<Vec<i64>> {
    sqlx::query_scalar(
        "select id from surveys where closed_at is null and reminded_at is null \
         and remind_at <= ? and closes_at > ? order by id",
    )
    .bind(db_time(now))
    .bind(db_time(now))
    .fetch_all(conn)
    .await
}

/// Claims a survey's reminder; false when it went already.
pub async fn claim_reminder(
    conn: &mut SqliteConnection,
    survey: i64,
    now: DateTime<Utc>,
) -> sqlx::Result<bool> {
    let done = sqlx::query(
        "update surveys set reminded_at = ? where id = ? and reminded_at is null \
         and closed_at is null",
    )
    .bind(db_time(now))
    .bind(survey)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Those who got the survey and have not answered.
pub async fn unanswered(conn: &mut SqliteConnection, survey: i64) -> sqlx::Result<Vec<String>> {
    sqlx::query_scalar(
        "select user_id from survey_recipients \
         where survey_id = ? and delivered = 1 and answered = 0 order by user_id",
    )
    .bind(survey)
    .fetch_all(conn)
    .await
}

/// Open surveys whose close is due.
pub async fn closes_due(conn: &mut SqliteConnection, now: DateTime<Utc>) -> sqlx::Result<Vec<i64>> {
    sqlx::query_scalar(
        "select id from surveys where closed_at is null and closes_at <= ? order by id",
    )
    .bind(db_time(now))
    .fetch_all(conn)
    .await
}

/// True when `user` was asked in `survey` (their message went).
pub async fn is_recipient(
    conn: &mut SqliteConnection,
    survey: i64,
    user: &str,
) -> sqlx::Result<bool> {
    let found: Option<i64> = sqlx::query_scalar(
        "select 1 from survey_recipients where survey_id = ? and user_id = ? and delivered = 1",
    )
    .bind(survey)
    .bind(user)
    .fetch_optional(conn)
    .await?;
    Ok(found.is_some())
}

pub async fn mark_answered(
    conn: &mut SqliteConnection,
    survey: i64,
    user: &str,
) -> sqlx::Result<()> {
    sqlx::query("update survey_recipients set answered = 1 where survey_id = ? and user_id = ?")
        .bind(survey)
        .bind(user)
        .execute(conn)
        .await?;
    Ok(())
}

/// Sets the score behind `link`, keeping any comment; returns the answer as it now is.
pub async fn set_score(
    conn: &mut SqliteConnection,
    survey: i64,
    link: &[u8],
    score: i64,
) -> sqlx::Result<(Option<i64>, bool)> {
    sqlx::query_as(
        "insert into survey_answers (survey_id, link, score) values (?, ?, ?) \
         on conflict (survey_id, link) do update set score = excluded.score \
         returning score, comment is not null",
    )
    .bind(survey)
    .bind(link)
    .bind(score)
    .fetch_one(conn)
    .await
}

/// Sets the comment behind `link`, keeping any score; returns the answer as it now is.
pub async fn set_comment(
    conn: &mut SqliteConnection,
    survey: i64,
    link: &[u8],
    comment: &str,
) -> sqlx::Result<(Option<i64>, bool)> {
    sqlx::query_as(
        "insert into survey_answers (survey_id, link, comment) values (?, ?, ?) \
         on conflict (survey_id, link) do update set comment = excluded.comment \
         returning score, comment is not null",
    )
    .bind(survey)
    .bind(link)
    .bind(comment)
    .fetch_one(conn)
    .await
}

/// The answer behind `link`, if any: (score, has a comment).
pub async fn answer(
    conn: &mut SqliteConnection,
    survey: i64,
    link: &[u8],
) -> sqlx::Result<Option<(Option<i64>, bool)>> {
    sqlx::query_as(
        "select score, comment is not null from survey_answers where survey_id = ? and link = ?",
    )
    .bind(survey)
    .bind(link)
    .fetch_optional(conn)
    .await
}

/// Writes a survey's outbox message and remembers it as the survey's, to delete at close.
pub async fn say(
    conn: &mut SqliteConnection,
    survey: i64,
    message: &OutboxMessage,
    now: DateTime<Utc>,
) -> sqlx::Result<()> {
    let id = outbox::db::insert_one(conn, message, &db_time(now)).await?;
    sqlx::query("insert into survey_outbox (outbox_id, survey_id) values (?, ?)")
        .bind(id)
        .bind(survey)
        .execute(conn)
        .await?;
    Ok(())
}

/// Claims the close; false when another runner closed it.
pub async fn claim_close(
    conn: &mut SqliteConnection,
    survey: i64,
    now: DateTime<Utc>,
) -> sqlx::Result<bool> {
    let done = sqlx::query(
        "update surveys set closed_at = ?, answer_key = null where id = ? and closed_at is null",
    )
    .bind(db_time(now))
    .bind(survey)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Every answer of the survey: (score, comment).
pub async fn answers(
    conn: &mut SqliteConnection,
    survey: i64,
) -> sqlx::Result<Vec<(Option<i64>, Option<String>)>> {
    sqlx::query_as("select score, comment from survey_answers where survey_id = ?")
        .bind(survey)
        .fetch_all(conn)
        .await
}

/// The results with enough answers.
pub async fn set_results(
    conn: &mut SqliteConnection,
    survey: i64,
    responses: i64,
    full: Option<(f64, &str, f64)>,
) -> sqlx::Result<()> {
    let (mean, distribution, favourable) = match full {
        Some((m, d, f)) => (Some(m), Some(d), Some(f)),
        None => (None, None, None),
    };
    sqlx::query(
        "update surveys set responses = ?, mean = ?, distribution = ?, favourable = ? \
         where id = ?",
    )
    .bind(responses)
    .bind(mean)
    .bind(distribution)
    .bind(favourable)
    .bind(survey)
    .execute(conn)
    .await?;
    Ok(())
}

/// Copies the comments, in the order given (already shuffled).
pub async fn insert_comments(
    conn: &mut SqliteConnection,
    survey: i64,
    comments: &[String],
) -> sqlx::Result<()> {
    for c in comments {
        sqlx::query("insert into survey_comments (survey_id, comment) values (?, ?)")
            .bind(survey)
            .bind(c)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

pub async fn comments(conn: &mut SqliteConnection, survey: i64) -> sqlx::Result<Vec<String>> {
    sqlx::query_scalar("select comment from survey_comments where survey_id = ? order by id")
        .bind(survey)
        .fetch_all(conn)
        .await
}

/// Deletes everything of the survey that says who was asked, who answered, or what a
/// person chose: its answers, its recipients, its outbox rows and their list.
pub async fn delete_working_rows(conn: &mut SqliteConnection, survey: i64) -> sqlx::Result<()> {
    for sql in [
        "delete from survey_answers where survey_id = ?",
        "delete from survey_recipients where survey_id = ?",
        "delete from outbox where id in (select outbox_id from survey_outbox where survey_id = ?)",
        "delete from survey_outbox where survey_id = ?",
    ] {
        sqlx::query(sql).bind(survey).execute(&mut *conn).await?;
    }
    Ok(())
}

/// Zeroes deleted content on this connection (it is on for every pool connection already;
/// said again here, where it matters most).
pub async fn secure_delete(conn: &mut SqliteConnection) -> sqlx::Result<()> {
    sqlx::query("pragma secure_delete = on")
        .execute(conn)
        .await?;
    Ok(())
}

/// Copies the write-ahead log into the file and truncates it to nothing; false when a
/// reader kept it from finishing (`busy`).
///
/// A truncating checkpoint that waits for readers blocks every new writer meanwhile: with
/// the pool's busy timeout (10 s) each try could hold filing and the outbox that long, and
/// the caller's 20 tries over three minutes (seen on a loaded CI machine). Each try waits at
/// most `CHECKPOINT_WAIT_MS`; the caller tries again.
pub async fn checkpoint_truncate(conn: &mut SqliteConnection) -> sqlx::Result<bool> {
    let saved: i64 = sqlx::query_scalar("pragma busy_timeout")
        .fetch_one(&mut *conn)
        .await?;
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "pragma busy_timeout = {CHECKPOINT_WAIT_MS}"
    )))
    .execute(&mut *conn)
    .await?;
    let checkpoint: sqlx::Result<(i64, i64, i64)> =
        sqlx::query_as("pragma wal_checkpoint(truncate)")
            .fetch_one(&mut *conn)
            .await;
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "pragma busy_timeout = {saved}"
    )))
    .execute(&mut *conn)
    .await?;
    let (busy, _, _) = checkpoint?;
    Ok(busy == 0)
}

/// How long one truncating checkpoint may wait for readers (and keep writers waiting).
const CHECKPOINT_WAIT_MS: i64 = 50;
