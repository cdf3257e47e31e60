//! Making untrusted text safe to echo into Slack mrkdwn: only `&`, `<` and `>` are control
//! characters, and escaping them neutralises every mention and link.

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

#[cfg(test)]
mod tests {
    use super::*;

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
    fn a_forged_user_id_is_escaped_not_linked() {
        assert_eq!(user("U05QRST6UV"), "<@U05QRST6UV>");
        assert_eq!(user("x> <!here"), "x&gt; &lt;!here");
    }
}
