//! What leverage says in Slack: the win's confirmation and the team channel's post, the list
//! of wins, the usage, and the notice that support stayed above the band. Text from people
//! (what changed) is escaped for mrkdwn.

use super::db::Win;
use super::text::{hours, percent};
use super::{HoursSaved, NewWin, WeekShare};
use crate::mrkdwn::{self, escape};

/// A number of hours as people write it: `200`, `7.5`, `0.25`.
fn h(x: f64) -> String {
    hours(x)
}

pub fn usage(why: Option<&str>) -> String {
    let usage = "Record a win with `/platform win <what changed> saves <N>h/month`, for example \
                 `/platform win deploys went from 45 to 5 minutes, saves 200h/month`. \
                 `/platform wins` lists them.";
    match why {
        Some(why) => format!("That win did not read right: {}.\n{usage}", escape(why)),
        None => usage.to_string(),
    }
}

pub fn not_allowed() -> String {
    "Only the platform team can record a win. `/platform wins` lists the wins recorded so far."
        .into()
}

/// The answer to the person who recorded a win.
pub fn recorded(win: &NewWin, saved: &HoursSaved) -> String {
    let ratio = saved
        .leverage_ratio
        .map(|r| format!(", a leverage ratio of {r:.2}"))
        .unwrap_or_default();
    format!(
        ":trophy: Recorded: *{}* saves {} h a month, counted from {} on.\nHours saved in {}: {} h \
         of the team's own {} h{ratio}.",
        escape(&win.what),
        h(win.hours_per_month),
        saved.month,
        saved.month,
        h(saved.total_h),
        h(saved.team_h),
    )
}

/// The team channel's post about a new win.
pub fn team_post(user: &str, win: &NewWin) -> String {
    format!(
        ":trophy: {} recorded a win: *{}*. It saves {} h a month.",
        mrkdwn::user(user),
        escape(&win.what),
        h(win.hours_per_month)
    )
}

/// `/platform wins`: newest first, at most the wins given, with the total of all `count`.
pub fn list(wins: &[Win], count: i64, total: f64) -> String {
    if wins.is_empty() {
        return "No wins recorded yet. The platform team records one with \
                `/platform win <what changed> saves <N>h/month`."
            .into();
    }
    let mut out = format!(
        "*Wins*: {count} recorded, saving {} h a month in all (newest first)",
        h(total)
    );
    for w in wins {
        out.push_str(&format!(
            "\n• *{} h/month* · {} · {} · {}",
            h(w.hours_per_month),
            escape(&w.what),
            mrkdwn::user(&w.recorded_by),
            mrkdwn::when(w.recorded_at)
        ));
    }
    let shown = wins.len() as i64;
    if count > shown {
        out.push_str(&format!("\n…and {} older", count - shown));
    }
    out
}

/// The team channel's notice: support stayed above the band for the two weeks given
/// (the earlier first), `weeks_above` weeks in a row so far.
pub fn above_band(
    earlier: &WeekShare,
    last: &WeekShare,
    band: [f64; 2],
    capacity_h: f64,
) -> String {
    format!(
        ":warning: Support has taken more of the team's time than planned two weeks running: \
         {} in the week of {} and {} in the week of {}, above the {}–{} band.\n\
         Last week: {} h of the team's {} h ({} h on tickets, {} h on call). \
         Time for self-service docs, automation, or saying no to something?",
        percent(earlier.share),
        earlier.week,
        percent(last.share),
        last.week,
        percent(band[0]),
        percent(band[1]),
        h(last.support_h),
        h(capacity_h),
        h(last.tickets_h),
        h(last.oncall_h),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};

    #[test]
    fn what_people_typed_is_escaped_in_the_list_and_the_post() {
        let win = Win {
            id: 1,
            what: "<!channel> & <@U1> faster".into(),
            hours_per_month: 7.5,
            recorded_by: "U01ALICE".into(),
            recorded_at: Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0).unwrap(),
        };
        let text = list(std::slice::from_ref(&win), 3, 207.5);
        assert!(
            text.contains("&lt;!channel&gt; &amp; &lt;@U1&gt; faster"),
            "{text}"
        );
        assert!(!text.contains("<!channel>"), "{text}");
        assert!(
            text.contains("*7.5 h/month*") && text.contains("<@U01ALICE>"),
            "{text}"
        );
        assert!(text.contains("3 recorded, saving 207.5 h a month") && text.contains("2 older"));
        let post = team_post(
            "U01ALICE",
            &NewWin {
                what: win.what.clone(),
                hours_per_month: 7.5,
            },
        );
        assert!(
            !post.contains("<!channel>") && post.contains("7.5 h a month"),
            "{post}"
        );
    }
}
