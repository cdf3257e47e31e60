//! Closing a survey: the results, and the end of everything that could tell who answered
//! what. One transaction on a connection with `secure_delete` on: the results into
//! `surveys` (only `responses` under the threshold), the comments shuffled into
//! `survey_comments` (with enough answers), the working rows and the survey's outbox rows
//! deleted, the key destroyed, the results posted. Then the write-ahead log is checkpointed
//! and truncated, so the answers' pages do not linger there in answering order.

use super::db::{self, Survey};
use super::messages::{Results, TREND_LEN};
use super::results::{distribution_json, tally};
use crate::clock::db_time;
use crate::context::{AppError, Context};
use crate::outbox::{self, OutboxMessage};
use chrono::{DateTime, Utc};
use rand::seq::SliceRandom;
use sqlx::SqliteConnection;

/// Checkpoint attempts when readers hold the log.
const CHECKPOINT_TRIES: u32 = 20;

pub async fn close(ctx: &Context, id: i64, now: DateTime<Utc>) -> Result<(), AppError> {
    let threshold = ctx
        .policy
        .survey
        .as_ref()
        .map_or(5, |s| s.anonymity_threshold);
    let mut conn = ctx.pool.acquire().await?;
    db::secure_delete(&mut conn).await?;
    let mut tx = sqlx::Connection::begin_with(&mut *conn, "begin immediate").await?;
    // Take the write lock first: nobody answers between the read and the delete.
    if !db::claim_close(&mut tx, id, now).await? {
        return Ok(());
    }
    let answers = db::answers(&mut tx, id).await?;
    let scores: Vec<i64> = answers.iter().filter_map(|(s, _)| *s).collect();
    let responses = scores.len() as i64;
    let enough = responses >= i64::from(threshold);
    match tally(&scores).filter(|_| enough) {
        Some(t) => {
            let d = distribution_json(&t.distribution);
            db::set_results(&mut tx, id, responses, Some((t.mean, &d, t.favourable))).await?;
            let mut comments: Vec<String> = answers.into_iter().filter_map(|(_, c)| c).collect();
            comments.shuffle(&mut rand::rng());
            db::insert_comments(&mut tx, id, &comments).await?;
        }
        None => db::set_results(&mut tx, id, responses, None).await?,
    }
    db::delete_working_rows(&mut tx, id).await?;
    let posts = match db::by_id(&mut tx, id).await? {
        Some(survey) => result_posts(&mut tx, ctx, &survey, threshold).await?,
        None => Vec::new(),
    };
    outbox::db::insert_all(&mut tx, &posts, &db_time(now)).await?;
    tx.commit().await?;
    ctx.outbox_wake.notify_one();
    truncate_log(&mut conn).await?;
    tracing::info!(survey = id, responses, enough, "pulse survey closed");
    Ok(())
}

/// The results, to the announce channel and the team channel.
async fn result_posts(
    conn: &mut SqliteConnection,
    ctx: &Context,
    survey: &Survey,
    threshold: u32,
) -> Result<Vec<(Option<i64>, OutboxMessage)>, AppError> {
    let text = results(conn, survey, threshold).await?;
    let slack = &ctx.policy.slack;
    let mut channels: Vec<&String> = slack
        .announce_channel
        .iter()
        .chain(&slack.team_channel)
        .collect();
    channels.dedup();
    Ok(channels
        .into_iter()
        .map(|c| (None, OutboxMessage::post(c, text.post(c))))
        .collect())
}

/// Owned parts of [`Results`].
pub struct Shown {
    pub survey: Survey,
    pub threshold: u32,
    pub comments: Vec<String>,
    pub earlier: Vec<Survey>,
}

impl Shown {
    pub fn results(&self) -> Results<'_> {
        Results {
            survey: &self.survey,
            threshold: self.threshold,
            comments: &self.comments,
            earlier: &self.earlier,
        }
    }

    fn post(&self, channel: &str) -> serde_json::Value {
        self.results().post(channel)
    }
}

/// A closed survey's results with the surveys before it.
pub async fn results(
    conn: &mut SqliteConnection,
    survey: &Survey,
    threshold: u32,
) -> Result<Shown, AppError> {
    let comments = if survey.mean.is_some() {
        db::comments(conn, survey.id).await?
    } else {
        Vec::new()
    };
    let earlier = db::closed(conn, TREND_LEN as i64 + 1)
        .await?
        .into_iter()
        .filter(|s| s.id != survey.id && s.closed_at <= survey.closed_at)
        .collect();
    Ok(Shown {
        survey: survey.clone(),
        threshold,
        comments,
        earlier,
    })
}

/// Checkpoints the log into the file and truncates it, retrying while readers hold it.
async fn truncate_log(conn: &mut SqliteConnection) -> Result<(), AppError> {
    for _ in 0..CHECKPOINT_TRIES {
        if db::checkpoint_truncate(conn).await? {
            return Ok(());
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    tracing::warn!("the write-ahead log could not be truncated after a survey closed: readers held it; the next close or checkpoint will");
    Ok(())
}
