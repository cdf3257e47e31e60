//! Checks of single values (durations, Slack ids, cron, counts, times) shared by the
//! section checks. Each reports its problem and returns None, or returns the typed value.

use std::time::Duration;

use chrono::{NaiveDate, NaiveTime};
use toml::{Spanned, Value};

use crate::settings::problem::Problems;
use crate::settings::section::Text;
use crate::settings::sections::CronSchedule;

/// A humantime duration such as `15m`, `1h 30m` or `5d`.
pub fn duration(p: &mut Problems, key: &str, text: &Text) -> Option<Duration> {
    match humantime::parse_duration(text.get_ref().trim()) {
        Ok(duration) => Some(duration),
        Err(error) => {
            let message = format!("invalid duration {:?}: {error}", text.get_ref());
            p.at(key, text.span(), message);
            None
        }
    }
}

/// A duration longer than zero.
pub fn positive_duration(p: &mut Problems, key: &str, text: &Text) -> Option<Duration> {
    let duration = duration(p, key, text)?;
    if duration.is_zero() {
        p.at(key, text.span(), "must be longer than zero");
        return None;
    }
    Some(duration)
}

/// An optional positive duration, `default` when absent.
pub fn positive_duration_or(
    p: &mut Problems,
    key: &str,
    text: Option<&Text>,
    default: Duration,
) -> Option<Duration> {
    text.map_or(Some(default), |text| positive_duration(p, key, text))
}

/// A whole number, at least `min`, `default` when absent.
pub fn count_or(
    p: &mut Problems,
    key: &str,
    value: Option<&Spanned<i64>>,
    min: u32,
    default: u32,
) -> Option<u32> {
    let Some(value) = value else {
        return Some(default);
    };
    let number = *value.get_ref();
    if number < i64::from(min) {
        p.at(
            key,
            value.span(),
            format!("must be at least {min}, not {number}"),
        );
        return None;
    }
    let fits = u32::try_from(number).ok();
    if fits.is_none() {
        p.at(key, value.span(), format!("{number} is too large"));
    }
    fits
}

/// Text that is not blank, returned as written.
pub fn non_blank(p: &mut Problems, key: &str, text: &Text) -> Option<String> {
    if text.get_ref().trim().is_empty() {
        p.at(key, text.span(), "must not be empty");
        return None;
    }
    Some(text.get_ref().clone())
}

/// A Slack channel id: C, G or D, then uppercase letters and digits.
pub fn channel_id(p: &mut Problems, key: &str, text: &Text) -> Option<String> {
    slack_id(
        p,
        key,
        text,
        &['C', 'G', 'D'],
        "channel id (like C0123ABCD)",
    )
}

/// A Slack user id: U or W, then uppercase letters and digits.
pub fn user_id(p: &mut Problems, key: &str, text: &Text) -> Option<String> {
    slack_id(p, key, text, &['U', 'W'], "user id (like U0123ABCD)")
}

/// Checks every item of a list, reporting each bad one; None if any was bad.
pub fn each<T>(
    p: &mut Problems,
    key: &str,
    items: &[Text],
    check: impl Fn(&mut Problems, &str, &Text) -> Option<T>,
) -> Option<Vec<T>> {
    let checked: Vec<Option<T>> = items.iter().map(|item| check(p, key, item)).collect();
    checked.into_iter().collect()
}

fn slack_id(
    p: &mut Problems,
    key: &str,
    text: &Text,
    first: &[char],
    what: &str,
) -> Option<String> {
    let id = text.get_ref();
    let mut chars = id.chars();
    let starts_right = chars.next().is_some_and(|c| first.contains(&c));
    let rest = chars.as_str();
    let rest_right = !rest.is_empty()
        && rest
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit());
    if starts_right && rest_right {
        Some(id.clone())
    } else {
        p.at(key, text.span(), format!("{id:?} is not a Slack {what}"));
        None
    }
}

/// A cron expression with seconds, such as `0 0 10 * * Mon`.
pub fn cron(p: &mut Problems, key: &str, text: &Text) -> Option<CronSchedule> {
    match CronSchedule::parse(text.get_ref().trim()) {
        Ok(schedule) => Some(schedule),
        Err(error) => {
            // cron's error repeats the expression with a caret; its last line is the reason.
            let error = error.to_string();
            let reason = error
                .lines()
                .skip(2)
                .filter(|line| !line.trim().is_empty())
                .last()
                .unwrap_or("expected 6 or 7 fields");
            let message = format!(
                "invalid cron expression {:?} (want sec min hour day month weekday): {reason}",
                text.get_ref()
            );
            p.at(key, text.span(), message);
            None
        }
    }
}

/// A time of day: the string "HH:MM" (or "HH:MM:SS"), or a TOML local time.
pub fn time_of_day(p: &mut Problems, key: &str, value: &Spanned<Value>) -> Option<NaiveTime> {
    let parsed = as_text(value.get_ref()).and_then(|text| {
        ["%H:%M", "%H:%M:%S", "%H:%M:%S%.f"]
            .iter()
            .find_map(|format| NaiveTime::parse_from_str(text.trim(), format).ok())
    });
    if parsed.is_none() {
        let message = format!("{} is not a time of day like \"09:00\"", value.get_ref());
        p.at(key, value.span(), message);
    }
    parsed
}

/// A date: the string "YYYY-MM-DD", or a TOML local date.
pub fn date(p: &mut Problems, key: &str, value: &Spanned<Value>) -> Option<NaiveDate> {
    let parsed = as_text(value.get_ref())
        .and_then(|text| NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d").ok());
    if parsed.is_none() {
        let message = format!("{} is not a date like \"2026-12-25\"", value.get_ref());
        p.at(key, value.span(), message);
    }
    parsed
}

fn as_text(value: &Value) -> Option<String> {
    match value {
        Value::String(text) => Some(text.clone()),
        Value::Datetime(datetime) if datetime.offset.is_none() => Some(datetime.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs `check` on `value` written as a TOML string, returning the result and messages.
    fn check<T>(
        value: &str,
        check: impl Fn(&mut Problems, &str, &Text) -> Option<T>,
    ) -> (Option<T>, Vec<String>) {
        let text = format!("v = {value:?}");
        #[derive(serde::Deserialize)]
        struct Doc {
            v: Text,
        }
        let doc: Doc = toml::from_str(&text).unwrap();
        let mut problems = Problems::new(&text);
        let result = check(&mut problems, "k", &doc.v);
        let messages = problems
            .into_sorted()
            .into_iter()
            .map(|p| p.to_string())
            .collect();
        (result, messages)
    }

    #[test]
    fn durations_are_humantime_and_bad_ones_quote_the_value() {
        assert_eq!(check("1h 30m", duration).0, Some(Duration::from_secs(5400)));
        assert_eq!(check("90s", duration).0, Some(Duration::from_secs(90)));
        let (result, messages) = check("15x", duration);
        assert_eq!(result, None);
        assert!(
            messages[0].starts_with("k (line 1): invalid duration \"15x\": "),
            "{messages:?}"
        );
        assert_eq!(
            check("0s", positive_duration).1,
            ["k (line 1): must be longer than zero"]
        );
    }

    #[test]
    fn slack_ids_must_have_the_right_first_letter_and_uppercase() {
        let cases = [
            ("C01HELP", true, false),
            ("G0PRIVATE", true, false),
            ("D0DM", true, false),
            ("U01ALICE", false, true),
            ("W0ENTERPRISE", false, true),
            ("c01help", false, false),
            ("C", false, false),
            ("", false, false),
            ("#general", false, false),
            ("C01 HELP", false, false),
        ];
        for (id, is_channel, is_user) in cases {
            assert_eq!(
                check(id, channel_id).0.is_some(),
                is_channel,
                "channel {id:?}"
            );
            assert_eq!(check(id, user_id).0.is_some(), is_user, "user {id:?}");
        }
        let (_, messages) = check("alice", user_id);
        assert_eq!(
            messages,
            ["k (line 1): \"alice\" is not a Slack user id (like U0123ABCD)"]
        );
    }

    #[test]
    fn cron_needs_the_seconds_field() {
        assert!(check("0 0 9 * * Mon", cron).0.is_some());
        let (result, messages) = check("0 9 * * Mon", cron);
        assert!(result.is_none());
        let expected =
            "k (line 1): invalid cron expression \"0 9 * * Mon\" (want sec min hour day \
                        month weekday): 'Mon' is not a valid month name.";
        assert_eq!(messages, [expected]);
        let (_, messages) = check("", cron);
        assert!(
            messages[0].ends_with("weekday): expected 6 or 7 fields"),
            "{messages:?}"
        );
    }

    #[test]
    fn counts_below_the_minimum_or_beyond_u32_are_problems() {
        let mut problems = Problems::new("v = 0");
        let at = |n| Spanned::new(4..5, n);
        assert_eq!(count_or(&mut problems, "k", None, 1, 5), Some(5));
        assert_eq!(count_or(&mut problems, "k", Some(&at(7)), 1, 5), Some(7));
        assert_eq!(count_or(&mut problems, "k", Some(&at(0)), 1, 5), None);
        assert_eq!(count_or(&mut problems, "k", Some(&at(-3)), 0, 5), None);
        assert_eq!(count_or(&mut problems, "k", Some(&at(1 << 40)), 1, 5), None);
        let messages: Vec<_> = problems
            .into_sorted()
            .into_iter()
            .map(|p| p.message)
            .collect();
        assert_eq!(
            messages,
            [
                "must be at least 1, not 0",
                "must be at least 0, not -3",
                "1099511627776 is too large"
            ]
        );
    }
}
