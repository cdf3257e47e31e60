//! `/platform stats [7d|30d|90d]`: the report as an ephemeral Block Kit message with a
//! `Post to channel` button, and that button: the same report posted in the channel, through
//! the outbox.

use crate::context::{AppError, Context};
use crate::dispatch::Desk;
use crate::input::{Action, Command, Reply};
use crate::mrkdwn::escape;
use crate::outbox::OutboxMessage;
use crate::stats::{self, blocks, Filters};
use serde_json::json;

/// The windows Slack offers, in days.
pub const WINDOWS: [u32; 3] = [7, 30, 90];
const DEFAULT_DAYS: u32 = 30;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stats {
    Report {
        days: u32,
    },
    /// A window we do not offer, as typed.
    BadWindow(String),
}

impl Stats {
    pub fn parse(rest: &str) -> Self {
        let word = rest.split_whitespace().next().unwrap_or("");
        if word.is_empty() {
            return Stats::Report { days: DEFAULT_DAYS };
        }
        match days_of(word) {
            Some(days) => Stats::Report { days },
            None => Stats::BadWindow(rest.trim().to_string()),
        }
    }

    pub async fn apply(self, desk: &Desk, _cmd: &Command) -> Result<Reply, AppError> {
        let days = match self {
            Stats::Report { days } => days,
            Stats::BadWindow(typed) => return Ok(Reply::ephemeral(usage(&typed))),
        };
        let report = make(&desk.ctx, days).await?;
        Ok(Reply::Json(json!({
            "response_type": "ephemeral",
            "text": blocks::fallback(&report),
            "blocks": blocks::render(&report, true),
        })))
    }
}

/// `7d`, `30d`, `90d` (or the bare number): the days; None for anything else.
fn days_of(word: &str) -> Option<u32> {
    let lower = word.to_ascii_lowercase();
    let number = lower.strip_suffix('d').unwrap_or(&lower);
    number.parse().ok().filter(|d| WINDOWS.contains(d))
}

fn usage(typed: &str) -> String {
    format!(
        "Sorry, I can't report on `{}`. Use `/platform stats` (the last 30 days), \
         `/platform stats 7d`, `/platform stats 30d` or `/platform stats 90d`.",
        escape(&crate::domain::ticket::shorten(typed, 40))
    )
}

async fn make(ctx: &Context, days: u32) -> Result<stats::Report, AppError> {
    let mut conn = ctx.pool.acquire().await?;
    Ok(stats::report(
        &mut conn,
        &ctx.policy,
        days,
        &Filters::default(),
        ctx.clock.now(),
    )
    .await?)
}

/// The `Post to channel` button: the report for the button's window, as it is now, posted in
/// the channel where it was asked for.
pub async fn post(ctx: &Context, a: Action) -> Result<Reply, AppError> {
    let (Some(channel), Some(days)) = (a.channel.as_deref(), a.value.as_deref().and_then(days_of))
    else {
        tracing::warn!("a stats button without a channel or a window; ignored");
        return Ok(Reply::Empty);
    };
    let report = make(ctx, days).await?;
    let payload = json!({
        "channel": channel,
        "text": blocks::fallback(&report),
        "blocks": blocks::render(&report, false),
    });
    ctx.say_once(Vec::new(), vec![OutboxMessage::post(channel, payload)])
        .await?;
    Ok(Reply::Empty)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_offered_windows_parse_and_others_are_refused() {
        assert_eq!(Stats::parse(""), Stats::Report { days: 30 });
        assert_eq!(Stats::parse("7d"), Stats::Report { days: 7 });
        assert_eq!(Stats::parse("90D"), Stats::Report { days: 90 });
        assert_eq!(Stats::parse("30"), Stats::Report { days: 30 });
        assert_eq!(Stats::parse("12y"), Stats::BadWindow("12y".into()));
        assert_eq!(Stats::parse("14d"), Stats::BadWindow("14d".into()));
    }

    #[test]
    fn a_bad_window_is_echoed_escaped_in_the_usage() {
        let text = usage("<!channel>");
        assert!(text.contains("&lt;!channel&gt;"), "{text}");
        assert!(text.contains("/platform stats 90d"), "{text}");
    }
}
