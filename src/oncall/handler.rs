//! `/platform oncall`: who is on call now, until when, and who is next; `oncall set @user
//! [for 3d]` (platform team) puts someone on call, by default until the next handoff.

use super::command::{self, OncallCommand};
use super::{current, db, rotation};
use crate::context::{AppError, Context};
use crate::mrkdwn::when;
use crate::mrkdwn::{self, escape};
use crate::outbox::OutboxMessage;
use chrono::Duration;

/// An override without `for` lasts until the next handoff, or this long without a rotation.
const DEFAULT_OVERRIDE_DAYS: i64 = 7;

pub async fn on_command(app: &Context, user: &str, text: &str) -> Result<String, AppError> {
    let Some(policy) = &app.policy.oncall else {
        return Ok("No on-call rotation is configured (`[oncall]` in the policy file).".into());
    };
    let now = app.clock.now();
    match command::parse(text) {
        OncallCommand::Show => {
            let mut conn = app.pool.acquire().await?;
            let Some((on, next)) = current::now_and_next(app, &mut conn, now).await? else {
                return Ok("No on-call rotation is configured.".into());
            };
            let until = if on.until == rotation::NEVER {
                String::new()
            } else {
                format!(" until {}", when(on.until))
            };
            let how = if on.by_override { " (override)" } else { "" };
            let next = next
                .map(|n| format!("\nNext: {}", mrkdwn::user(&n.user)))
                .unwrap_or_default();
            Ok(format!(
                ":pager: On call now: {}{how}{until}{next}",
                mrkdwn::user(&on.user)
            ))
        }
        OncallCommand::Set { user: who, for_ } => {
            if !app.policy.is_platform_team(user) {
                return Ok(crate::domain::not_allowed("change who is on call"));
            }
            let ends = match for_ {
                Some(d) => {
                    now + Duration::from_std(d)
                        .unwrap_or_else(|_| Duration::days(DEFAULT_OVERRIDE_DAYS))
                }
                None => rotation::next_handoff(policy, app.policy.sla.timezone, now)
                    .unwrap_or(now + Duration::days(DEFAULT_OVERRIDE_DAYS)),
            };
            let mut tx = app.pool.begin_with("begin immediate").await?;
            db::add_override(&mut tx, &who, now, ends, user, now).await?;
            let note = format!(
                ":pager: {} set {} on call until {}.",
                mrkdwn::user(user),
                mrkdwn::user(&who),
                when(ends)
            );
            if let Some(channel) = &app.policy.slack.team_channel {
                let msg = OutboxMessage::post(
                    channel,
                    serde_json::json!({ "channel": channel, "text": note }),
                );
                crate::outbox::db::insert_all(&mut tx, &[(None, msg)], &crate::clock::db_time(now))
                    .await?;
            }
            tx.commit().await?;
            app.outbox_wake.notify_one();
            app.timer_wake.notify_one();
            Ok(format!(
                "Done: {} is on call until {}.",
                mrkdwn::user(&who),
                when(ends)
            ))
        }
        OncallCommand::Invalid(message) => Ok(escape(&message).into_owned()),
    }
}
