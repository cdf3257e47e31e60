//! What a ticket is: the request as it came in, the filed ticket, where it came from, and
//! the text rules (titles) every capability shares.

use super::{Priority, Status};
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::fmt;

/// How a request reached the bot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    Command,
    Modal,
    Message,
    Mention,
    Reaction,
}

impl Source {
    pub fn parse(s: &str) -> Self {
        match s {
            "modal" => Source::Modal,
            "message" => Source::Message,
            "mention" => Source::Mention,
            "reaction" => Source::Reaction,
            _ => Source::Command,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Source::Command => "command",
            Source::Modal => "modal",
            Source::Message => "message",
            Source::Mention => "mention",
            Source::Reaction => "reaction",
        }
    }
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A request as it came in, before triage gave it a priority and category.
#[derive(Debug, Clone)]
pub struct NewTicket {
    pub title: String,
    pub description: String,
    pub requester: String,
    pub channel: Option<String>,
    pub source: Source,
    pub source_ts: Option<String>,
    pub urgency: Option<String>,
    pub link: Option<String>,
    /// Who filed it for the requester (the reactor, or the shortcut's user).
    pub filed_by: Option<String>,
}

/// A filed ticket.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Ticket {
    pub id: i64,
    pub key: String,
    pub title: String,
    pub description: String,
    pub requester: String,
    pub channel: Option<String>,
    pub source: Source,
    pub source_ts: Option<String>,
    pub category: String,
    pub priority: Priority,
    pub status: Status,
    pub assignee: Option<String>,
    pub urgency: Option<String>,
    pub link: Option<String>,
    pub created_at: DateTime<Utc>,
    pub first_response_due: Option<DateTime<Utc>>,
    pub resolution_due: Option<DateTime<Utc>>,
    pub first_response_at: Option<DateTime<Utc>>,
    pub resolved_at: Option<DateTime<Utc>>,
    /// Which triage rule matched, and what in the text matched it.
    pub triage_rule: Option<String>,
    pub triage_reason: Option<String>,
    /// An open ticket this one looks like (id, key).
    pub duplicate_of: Option<(i64, String)>,
    /// The ticket this one was merged into (id, key).
    pub merged_into: Option<(i64, String)>,
    pub filed_by: Option<String>,
    pub resolution_note: Option<String>,
    pub source_deleted: bool,
    pub card_channel: Option<String>,
    pub card_ts: Option<String>,
    pub first_response_breached: bool,
    pub resolution_breached: bool,
    /// When someone last acknowledged a breach ping (escalation stops).
    pub breach_acknowledged_at: Option<DateTime<Utc>>,
    /// Whether PagerDuty was triggered for it (and must be resolved with it).
    pub paged: bool,
    /// What the reports measure, set as it happens.
    pub measured: Measured,
    /// The requester's satisfaction score, 1 to 5, once they answered (`csat`).
    pub csat: Option<u8>,
}

/// A ticket's SLA time to its first response and to its resolution (whole seconds of the
/// time the SLA clock counts: business hours for business-hours priorities, waiting on the
/// requester left out), and how often it was reopened.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Measured {
    pub first_response_s: Option<i64>,
    pub resolution_s: Option<i64>,
    pub reopens: i64,
}

impl Ticket {
    /// Someone still owes the requester something.
    pub fn is_open(&self) -> bool {
        self.status.is_open()
    }

    /// Where the requester hears about their ticket: the source message's thread, or a DM
    /// for tickets filed by command or form.
    pub fn requester_thread(&self) -> (String, Option<String>) {
        match (&self.channel, &self.source_ts) {
            (Some(channel), Some(ts)) => (channel.clone(), Some(ts.clone())),
            _ => (self.requester.clone(), None),
        }
    }
}

/// The longest title kept: the card and notifications show it whole.
pub const MAX_TITLE_CHARS: usize = 100;

/// A title from free text: its first non-empty line, shortened at a word boundary.
pub fn title_from(text: &str) -> String {
    let line = text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("");
    shorten(line, MAX_TITLE_CHARS)
}

/// `text` cut to at most `max` characters, at a word boundary where there is one, with an
/// ellipsis when anything was cut.
pub fn shorten(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let cut: String = text.chars().take(max.saturating_sub(1)).collect();
    let cut = match cut.rfind(char::is_whitespace) {
        Some(i) if i > cut.len() / 2 => cut[..i].trim_end().to_string(),
        _ => cut,
    };
    format!("{cut}…")
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A ticket for unit tests: PLAT-7 from U05QRST6UV, open, P3.
    pub(crate) fn sample() -> Ticket {
        Ticket {
            id: 7,
            key: "PLAT-7".into(),
            title: "deploy stuck".into(),
            description: "deploy stuck\nmore <!here> & detail".into(),
            requester: "U05QRST6UV".into(),
            channel: Some("C04PLATENG".into()),
            source: Source::Command,
            source_ts: None,
            category: "general".into(),
            priority: "P3".into(),
            status: Status::Open,
            assignee: None,
            urgency: None,
            link: Some("<https://x|y>".into()),
            created_at: Utc::now(),
            first_response_due: Some(Utc::now()),
            resolution_due: Some(Utc::now()),
            first_response_at: None,
            resolved_at: None,
            triage_rule: None,
            triage_reason: None,
            duplicate_of: None,
            merged_into: None,
            filed_by: None,
            resolution_note: None,
            source_deleted: false,
            card_channel: None,
            card_ts: None,
            first_response_breached: false,
            resolution_breached: false,
            breach_acknowledged_at: None,
            paged: false,
            measured: Measured::default(),
            csat: None,
        }
    }

    #[test]
    fn the_title_is_the_first_non_empty_line() {
        assert_eq!(title_from("\n  deploy stuck \nmore detail"), "deploy stuck");
    }

    #[test]
    fn a_long_title_is_shortened_at_a_word_boundary() {
        let text = "word ".repeat(50);
        let title = title_from(&text);
        assert!(title.chars().count() <= MAX_TITLE_CHARS);
        assert!(title.ends_with("word…"), "{title}");
    }

    #[test]
    fn shortening_never_splits_a_multibyte_character() {
        let text = "é".repeat(300);
        let short = shorten(&text, 10);
        assert_eq!(short.chars().count(), 10);
    }
}
