//! `/platform win <what changed> saves <N>h/month` (the platform team records a win, and the
//! team channel hears it) and `/platform wins` (anyone: the list, newest first, with the
//! total). The grammar is parsed here, so it is unit-tested as text.

use super::{db, hours_saved, messages, NewWin};
use crate::clock::db_time;
use crate::context::{AppError, Context};
use crate::outbox::{self, OutboxMessage};

/// A win's description is kept to this many characters.
pub const WHAT_MAX: usize = 300;
/// More hours than this a month is a typo, not a win.
pub const HOURS_MAX: f64 = 1_000_000.0;
/// `/platform wins` lists this many, newest first; the total counts them all.
pub const LIST_MAX: i64 = 20;

/// Reads `<what changed> saves <N>h/month`; the error says what is wrong, for the usage.
pub fn parse(text: &str) -> Result<NewWin, String> {
    let text = text.trim();
    // ASCII lowercasing keeps byte offsets, so positions found in `lower` cut `text`.
    let lower = text.to_ascii_lowercase();
    let at = lower
        .match_indices("saves")
        .filter(|(i, _)| {
            let before = lower[..*i].chars().next_back();
            before.is_none_or(|c| c.is_whitespace() || c == ',')
        })
        .map(|(i, _)| i)
        .last()
        .ok_or("say how much time it saves: `... saves 200h/month`")?;
    let what = text[..at]
        .trim_end()
        .trim_end_matches([',', ';', ':', '-', '—'])
        .trim();
    if what.is_empty() {
        return Err("say what changed before `saves`".into());
    }
    if what.chars().count() > WHAT_MAX {
        return Err(format!(
            "keep what changed under {WHAT_MAX} characters (a line, not a report)"
        ));
    }
    let amount = text[at + "saves".len()..].trim();
    let digits = amount
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(amount.len());
    let (number, unit) = amount.split_at(digits);
    let hours: f64 = number.parse().map_err(|_| {
        format!(
            "`{}` is not a number of hours, like 200 or 7.5",
            shown(amount)
        )
    })?;
    if !(hours.is_finite() && hours > 0.0 && hours <= HOURS_MAX) {
        return Err(format!(
            "the hours a month must be a positive number up to {HOURS_MAX:.0}, not {number}"
        ));
    }
    let unit: String = unit
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_ascii_lowercase();
    let unit = unit.trim_end_matches('.');
    let per_month = [
        "h/month",
        "hours/month",
        "hour/month",
        "hrs/month",
        "hr/month",
        "h/mo",
        "hpermonth",
        "hourspermonth",
        "hamonth",
        "hoursamonth",
    ];
    if !per_month.contains(&unit) {
        return Err(format!(
            "write the time saved as hours a month, like `200h/month`, not `{}`",
            shown(amount)
        ));
    }
    Ok(NewWin {
        what: what.to_string(),
        hours_per_month: hours,
    })
}

fn shown(text: &str) -> String {
    crate::domain::ticket::shorten(text, 40)
}

/// `/platform win ...` by `user`: recorded, and the team channel told, in one transaction;
/// the answer is for `user` alone.
pub async fn record(app: &Context, user: &str, text: &str) -> Result<String, AppError> {
    if !app.policy.is_platform_team(user) {
        return Ok(messages::not_allowed());
    }
    let win = match parse(text) {
        Ok(win) => win,
        Err(why) => return Ok(messages::usage(Some(&why))),
    };
    let now = app.clock.now();
    let mut tx = app.pool.begin_with("begin immediate").await?;
    db::add_win(&mut tx, &win.what, win.hours_per_month, user, now).await?;
    if let Some(channel) = &app.policy.slack.team_channel {
        let text = messages::team_post(user, &win);
        let post = OutboxMessage::post(
            channel,
            serde_json::json!({ "channel": channel, "text": text }),
        );
        outbox::db::insert_all(&mut tx, &[(None, post)], &db_time(now)).await?;
    }
    let saved = hours_saved(&mut tx, &app.policy, now).await?;
    tx.commit().await?;
    app.outbox_wake.notify_one();
    Ok(messages::recorded(&win, &saved))
}

/// `/platform wins`: the newest wins and the total.
pub async fn list(app: &Context) -> Result<String, AppError> {
    let mut conn = app.pool.acquire().await?;
    let (wins, count, total) = db::wins(&mut conn, LIST_MAX).await?;
    Ok(messages::list(&wins, count, total))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(text: &str) -> (String, f64) {
        let w = parse(text).unwrap_or_else(|e| panic!("{text:?}: {e}"));
        (w.what, w.hours_per_month)
    }

    #[test]
    fn a_win_reads_what_changed_and_the_hours_a_month() {
        assert_eq!(
            ok("deploys went from 45 to 5 minutes, saves 200h/month"),
            ("deploys went from 45 to 5 minutes".into(), 200.0)
        );
        assert_eq!(
            ok("CI cache  saves 7.5 h / month."),
            ("CI cache".into(), 7.5)
        );
        assert_eq!(
            ok("Self-serve DNS SAVES 12 hours/month"),
            ("Self-serve DNS".into(), 12.0)
        );
        // Only the last `saves` counts: the description may say it too.
        assert_eq!(
            ok("a bot that saves people clicks, saves 3h/month"),
            ("a bot that saves people clicks".into(), 3.0)
        );
    }

    #[test]
    fn bad_wins_say_what_is_wrong() {
        for (text, why) in [
            ("", "how much time it saves"),
            ("faster deploys", "how much time it saves"),
            ("saves 20h/month", "what changed"),
            ("faster deploys saves lots", "not a number"),
            ("faster deploys saves 0h/month", "positive number"),
            ("faster deploys saves 1.2.3h/month", "not a number"),
            ("faster deploys saves 20h/week", "hours a month"),
            ("faster deploys saves 20", "hours a month"),
            ("faster deploys saves 9999999h/month", "positive number"),
        ] {
            let err = parse(text).expect_err(text);
            assert!(err.contains(why), "{text:?}: {err}");
        }
        let long = format!("{} saves 2h/month", "x".repeat(WHAT_MAX + 1));
        assert!(parse(&long).unwrap_err().contains("under 300"));
    }
}
