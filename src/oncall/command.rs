//! The `/platform oncall` grammar: the text after `oncall`, parsed into what was asked.

use std::time::Duration;

/// The longest override `set ... for` accepts.
pub const MAX_OVERRIDE: Duration = Duration::from_secs(90 * 24 * 3600);

/// What a `/platform oncall ...` invocation asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OncallCommand {
    /// Nothing: who is on call now and next.
    Show,
    /// `set <@U123> [for 3d]`: `user` takes over, for `for_` or, without it, as the caller
    /// decides.
    Set {
        /// A Slack user id, like `U012AB3CD`.
        user: String,
        /// Non-zero and at most [`MAX_OVERRIDE`].
        for_: Option<Duration>,
    },
    /// Anything else, with a message saying what was wrong and how to write it.
    Invalid(String),
}

const USAGE: &str = "Usage: `/platform oncall` shows who is on call; \
    `/platform oncall set @someone [for 3d]` puts someone on call.";

/// Parses the command's text after `/platform oncall`.
pub fn parse(text: &str) -> OncallCommand {
    let mut words = text.split_whitespace();
    let Some(verb) = words.next() else {
        return OncallCommand::Show;
    };
    if !verb.eq_ignore_ascii_case("set") {
        return invalid(format!("I don't know `{verb}`."));
    }
    let Some(who) = words.next() else {
        return invalid("Who should be on call? Mention them: `set @someone`.".into());
    };
    let Some(user) = user_id(who) else {
        return invalid(format!(
            "I can't tell who `{who}` is. Mention them with @ and pick them from the list, \
             or give their member ID (like `U012AB3CD`)."
        ));
    };
    let rest: Vec<&str> = words.collect();
    let for_ = match rest.split_first() {
        None => None,
        Some((word, amount)) if word.eq_ignore_ascii_case("for") && !amount.is_empty() => {
            match duration(&amount.join(" ")) {
                Ok(d) => Some(d),
                Err(message) => return invalid(message),
            }
        }
        Some((word, [])) if word.eq_ignore_ascii_case("for") => {
            return invalid("For how long? Write it like `for 3d` or `for 12h`.".into())
        }
        Some(_) => {
            return invalid(format!(
                "I didn't understand `{}`. Write the length as `for 3d`.",
                rest.join(" ")
            ))
        }
    };
    OncallCommand::Set { user, for_ }
}

fn invalid(problem: String) -> OncallCommand {
    OncallCommand::Invalid(format!("{problem}\n{USAGE}"))
}

/// The user id of a mention (`<@U012AB3CD>`, `<@U012AB3CD|name>`) or a bare member id.
fn user_id(word: &str) -> Option<String> {
    let id = match word.strip_prefix("<@").and_then(|w| w.strip_suffix('>')) {
        Some(inner) => inner.split_once('|').map_or(inner, |(id, _name)| id),
        None => word,
    };
    let looks_like_id = id.len() >= 3
        && id.len() <= 21
        && id.starts_with(['U', 'W'])
        && id
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit());
    looks_like_id.then(|| id.to_string())
}

fn duration(text: &str) -> Result<Duration, String> {
    let d = humantime::parse_duration(text)
        .map_err(|_| format!("`{text}` is not a length of time; write it like `3d` or `12h`."))?;
    if d.is_zero() {
        Err("An override must last some time; write it like `for 3d`.".into())
    } else if d > MAX_OVERRIDE {
        Err(format!(
            "`{text}` is too long: an override lasts at most 90 days."
        ))
    } else {
        Ok(d)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR: u64 = 3600;
    const DAY: u64 = 24 * HOUR;

    fn set(user: &str, for_: Option<u64>) -> OncallCommand {
        OncallCommand::Set {
            user: user.into(),
            for_: for_.map(Duration::from_secs),
        }
    }

    #[test]
    fn each_valid_form_is_read() {
        let cases = [
            ("", OncallCommand::Show),
            ("   ", OncallCommand::Show),
            ("set <@U012AB3CD>", set("U012AB3CD", None)),
            ("set <@U012AB3CD|alice>", set("U012AB3CD", None)),
            (
                "set <@U012AB3CD|alice> for 3d",
                set("U012AB3CD", Some(3 * DAY)),
            ),
            (
                "SET <@W012AB3CD> FOR 12h",
                set("W012AB3CD", Some(12 * HOUR)),
            ),
            ("set U123 for 3d", set("U123", Some(3 * DAY))),
            ("set U123", set("U123", None)),
            ("  set   U123   for   1d 12h ", set("U123", Some(36 * HOUR))),
            ("set U123 for 3 days", set("U123", Some(3 * DAY))),
            ("set U123 for 90d", set("U123", Some(90 * DAY))),
            ("set U123 for 1w", set("U123", Some(7 * DAY))),
        ];
        for (text, expected) in cases {
            assert_eq!(parse(text), expected, "text {text:?}");
        }
    }

    #[test]
    fn anything_else_is_invalid_with_a_message_naming_the_problem() {
        let cases = [
            ("show", "`show`"),
            ("set", "Who should be on call"),
            ("set @alice", "`@alice`"),
            ("set alice", "`alice`"),
            ("set <@U012AB3CD", "`<@U012AB3CD`"),
            ("set <@u012ab3cd>", "`<@u012ab3cd>`"),
            ("set <#C012AB3CD|general>", "`<#C012AB3CD|general>`"),
            ("set U123 for", "For how long"),
            ("set U123 3d", "`3d`"),
            ("set U123 <@U456>", "`<@U456>`"),
            ("set U123 for soon", "`soon` is not a length of time"),
            ("set U123 for 0s", "must last some time"),
            ("set U123 for 91d", "at most 90 days"),
            ("set U123 for 1y", "at most 90 days"),
        ];
        for (text, expected) in cases {
            match parse(text) {
                OncallCommand::Invalid(message) => {
                    assert!(message.contains(expected), "{text:?} gave {message:?}");
                    assert!(
                        message.contains("/platform oncall set"),
                        "usage for {text:?}"
                    );
                }
                other => panic!("{text:?} parsed as {other:?}"),
            }
        }
    }
}
