//! Making untrusted text safe to echo into Slack mrkdwn: only `&`, `<` and `>` are control
//! characters, and escaping them neutralises every mention and link.

use chrono::{DateTime, Utc};
use std::borrow::Cow;

/// `text` with `&`, `<`, `>` escaped (`&` first, so nothing is escaped twice).
pub fn escape(text: &str) -> Cow<'_, str> {
    if !text.contains(['&', '<', '>']) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// Text as Slack delivers it (entities escaped, mentions and links as `<...>` sequences)
/// turned into what the person typed, so it can be stored and escaped once when echoed.
/// User and channel mentions and links become readable text (no ping when echoed);
/// special mentions (`<!channel>`, `<!here>`, ...) stay as written and are escaped on
/// output like any other `<`.
pub fn plain_from_slack(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(open) = rest.find('<') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let Some(close) = after.find('>') else {
            out.push_str(&rest[open..]);
            rest = "";
            break;
        };
        let inner = &after[..close];
        let (target, label) = match inner.split_once('|') {
            Some((t, l)) => (t, Some(l)),
            None => (inner, None),
        };
        match target.chars().next() {
            Some('@') => {
                out.push('@');
                out.push_str(label.unwrap_or(&target[1..]));
            }
            Some('#') => {
                out.push('#');
                out.push_str(label.unwrap_or(&target[1..]));
            }
            Some('!') => {
                out.push('<');
                out.push_str(inner);
                out.push('>');
            }
            _ if target.contains("://") || target.starts_with("mailto:") => match label {
                Some(l) if l != target => out.push_str(&format!("{l} ({target})")),
                _ => out.push_str(target),
            },
            _ => {
                out.push('<');
                out.push_str(inner);
                out.push('>');
            }
        }
        rest = &after[close + 1..];
    }
    out.push_str(rest);
    out.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// A user mention for an id we know is a Slack user id (never for free text).
pub fn user(id: &str) -> String {
    if is_slack_id(id) {
        format!("<@{id}>")
    } else {
        escape(id).into_owned()
    }
}

/// A channel link for a channel id.
pub fn channel(id: &str) -> String {
    if is_slack_id(id) {
        format!("<#{id}>")
    } else {
        escape(id).into_owned()
    }
}

/// Slack ids are short runs of uppercase letters and digits.
pub fn is_slack_id(id: &str) -> bool {
    (2..=32).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
}

/// A time as Slack shows it in the reader's own timezone, with a UTC fallback. Written
/// straight into the text that shows it (no string of its own).
pub fn when(t: DateTime<Utc>) -> When {
    When(t)
}

/// See [`when`].
pub struct When(DateTime<Utc>);

impl std::fmt::Display for When {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "<!date^{}^{{date_short_pretty}} {{time}}|{}>",
            self.0.timestamp(),
            UtcMinute(self.0)
        )
    }
}

/// `2026-11-27 14:05 UTC`, as chrono's `%Y-%m-%d %H:%M UTC` writes it, without its
/// formatter, which was a visible part of answering a request.
struct UtcMinute(DateTime<Utc>);

impl std::fmt::Display for UtcMinute {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        use chrono::{Datelike, Timelike};
        let t = self.0;
        if (0..=9999).contains(&t.year()) {
            write!(
                f,
                "{:04}-{:02}-{:02} {:02}:{:02} UTC",
                t.year(),
                t.month(),
                t.day(),
                t.hour(),
                t.minute()
            )
        } else {
            // Years past 9999 (a deadline that can never be met): chrono's own.
            write!(f, "{}", t.format("%Y-%m-%d %H:%M UTC"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc_minute(t: DateTime<Utc>) -> String {
        UtcMinute(t).to_string()
    }

    proptest::proptest! {
        #[test]
        fn a_times_utc_text_is_what_chrono_writes(secs in -62_135_596_800i64..253_402_300_799, nanos in 0u32..1_000_000_000) {
            let t = DateTime::from_timestamp(secs, nanos).unwrap();
            proptest::prop_assert_eq!(utc_minute(t), t.format("%Y-%m-%d %H:%M UTC").to_string());
        }
    }

    #[test]
    fn a_time_that_can_never_come_still_reads_as_chrono_writes_it() {
        let never = DateTime::<Utc>::MAX_UTC;
        assert_eq!(
            utc_minute(never),
            never.format("%Y-%m-%d %H:%M UTC").to_string()
        );
        assert!(when(never).to_string().ends_with(" UTC>"));
    }

    #[test]
    fn special_mentions_and_ampersands_are_neutralised() {
        assert_eq!(
            escape("CI pipeline is failing on main <!channel> & more"),
            "CI pipeline is failing on main &lt;!channel&gt; &amp; more"
        );
    }

    #[test]
    fn already_escaped_text_is_escaped_again_not_decoded() {
        assert_eq!(escape("&lt;"), "&amp;lt;");
    }

    #[test]
    fn slack_text_becomes_what_was_typed_and_escapes_back_once() {
        let cases = [
            (
                "cc <@U01ALICE> about <#C02PAY|payments>",
                "cc @U01ALICE about #payments",
            ),
            (
                "see <https://ci.example.com/run/991|run 991> and <https://x.io>",
                "see run 991 (https://ci.example.com/run/991) and https://x.io",
            ),
            ("a &lt; b &amp;&amp; c &gt; d", "a < b && c > d"),
            ("<!channel> deploy is stuck", "<!channel> deploy is stuck"),
            ("typed &lt;!here&gt; literally", "typed <!here> literally"),
            ("unclosed <@U01", "unclosed <@U01"),
        ];
        for (slack, plain) in cases {
            assert_eq!(plain_from_slack(slack), plain, "{slack}");
        }
        // Echoed, nothing pings and nothing shows double-escaped.
        assert_eq!(
            escape(&plain_from_slack("a &lt; b <!here>")),
            "a &lt; b &lt;!here&gt;"
        );
    }

    #[test]
    fn a_forged_user_id_is_escaped_not_linked() {
        assert_eq!(user("U05QRST6UV"), "<@U05QRST6UV>");
        assert_eq!(user("x> <!here"), "x&gt; &lt;!here");
    }
}
