//! Pulse surveys: every member of `survey.audience_channel` is asked the policy's question
//! by direct message on `schedules.pulse_survey` (or at once with `/platform survey start`),
//! answers 1 to 5 and may add a comment; one reminder goes to those who have not answered;
//! at `survey.close_after` the results go to the announce and team channels. Answers are
//! anonymous in the database itself, not only on screen.
//!
//! ## At that time in each person's own timezone
//! `schedules.pulse_survey` (say Friday 14:00) is read in the earliest timezone on Earth
//! (UTC+14) when `survey.local_time` is on: that run, the job `pulse_survey`, is the
//! survey's first instant, when nobody anywhere has yet reached Friday 14:00. It reads the
//! audience afresh (`conversations.members`, paged; each person's `users.info`: timezone,
//! bot, deactivated) and records, per person, the instant their own clock shows the
//! schedule's next time (`plan::deliver_at`, cron read in their zone, so daylight-saving
//! changes fall where they do for them; at most 27 hours later). Those instants are rows
//! (`survey_recipients.deliver_at`); the survey's `timer::SurveyTimer`, a `jobs::Timer`
//! the job runner fires on the injected clock, sends each message when its row is due, and
//! likewise the reminder and the close (times on the `surveys` row). Nothing lives only in
//! memory, so a restart loses nothing and sends nothing twice (each send is claimed by a
//! conditional update in the transaction of its outbox row).
//!
//! Why not one job entry per timezone (`pulse_survey@Europe/Berlin`, the registry's first
//! idea): the zones in use are known only once the profiles are read, which must happen
//! afresh for each survey, and one survey spanning many entries would need them to agree
//! on which survey they belong to. One planning run and per-person rows have neither issue.
//! The survey closes `survey.close_after` after its last delivery, so that everyone has the
//! whole time; the reminder goes halfway between the first instant and the close.
//!
//! ## Anonymity that survives a copy of the database
//! - Who is asked (`survey_recipients`, with an `answered` flag for the reminder) and the
//!   answers (`survey_answers`) are apart. An answer row holds the score, the comment and
//!   `HMAC-SHA256(answer_key, user id)`, the link that lets a person change their answer
//!   while the survey is open: no user id, no time, no rowid (`without rowid`, keyed by the
//!   hash, so rows sit in hash order, not answering order).
//! - At close, in one transaction: the results are written to `surveys` (only `responses`
//!   under `survey.anonymity_threshold`), the comments copied to `survey_comments` in a
//!   random order (enough answers only), and the survey's recipients, answers, outbox rows
//!   (its messages, reminders and the `chat.update`s that showed each choice, which hold a
//!   DM channel beside the choice) and `answer_key` are deleted. `secure_delete` is on for
//!   every connection (`store::connect`: the bot deletes almost nothing else, and in WAL
//!   mode a changed page is written whole anyway, so zeroing the freed bytes costs no I/O;
//!   only pages freed whole are written once more), so the deleted bytes do not linger in
//!   the file's free pages; a `wal_checkpoint(truncate)` after the close empties the
//!   write-ahead log, whose frames kept every answer's page in answering order.
//! - Nothing about an answer is written elsewhere: the inbox does not record survey clicks
//!   (a repeated click just sets the same answer again), no log line names a person beside
//!   a score or a comment (answers are logged as counts only), and the comment form's
//!   submission is not stored beyond the answer row.
//! - What remains after close: the outbox ids of the deleted rows are gaps between the rows
//!   that stay, which shows that messages existed, not whose or what they said.

pub mod answer;
pub mod audience;
pub mod close;
pub mod db;
pub mod messages;
pub mod plan;
pub mod results;
pub mod start;
pub mod timer;

use crate::jobs::Registry;
use crate::settings::Policy;

/// The planning job's name (its runs in `job_runs`).
pub const JOB: &str = "pulse_survey";
/// The timer that sends, reminds and closes.
pub const TIMER: &str = "pulse_survey_timer";

/// Registers the survey's job (when the policy has `[survey]` and `schedules.pulse_survey`)
/// and its timer (whenever it has `[survey]`: `survey start` needs it too).
pub fn register(jobs: &mut Registry, policy: &Policy) {
    let Some(survey) = &policy.survey else {
        return;
    };
    if let Some(schedule) = &policy.schedules.pulse_survey {
        let tz = if survey.local_time {
            plan::EARLIEST
        } else {
            policy.sla.timezone
        };
        jobs.add(JOB, schedule.clone(), tz, start::Scheduled);
    }
    jobs.add_timer(TIMER, timer::SurveyTimer);
}

/// `/platform survey`: the latest closed survey's results (only the number of responses
/// under the anonymity threshold), or what is open.
pub async fn latest(ctx: &crate::context::Context) -> Result<String, crate::context::AppError> {
    let Some(policy) = &ctx.policy.survey else {
        return Ok(messages::not_configured().into());
    };
    let mut conn = ctx.pool.acquire().await?;
    let latest = db::closed(&mut conn, 1).await?.into_iter().next();
    match latest {
        Some(survey) => {
            let shown = close::results(&mut conn, &survey, policy.anonymity_threshold).await?;
            let mut text = shown.results().text();
            if let Some(open) = db::open_one(&mut conn).await? {
                text.push_str(&messages::open_now(&open));
            }
            Ok(text)
        }
        None => Ok(messages::none_closed_yet(
            db::open_one(&mut conn).await?.as_ref(),
        )),
    }
}
