//! Tickets: what a ticket is, how it is stored, and the group-commit writer that files them.

pub mod db;
pub mod filer;

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
}

/// A filed ticket.
#[derive(Debug, Clone, Serialize)]
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
    pub priority: String,
    pub status: String,
    pub assignee: Option<String>,
    pub urgency: Option<String>,
    pub link: Option<String>,
    pub created_at: DateTime<Utc>,
    pub first_response_due: Option<DateTime<Utc>>,
    pub resolution_due: Option<DateTime<Utc>>,
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
mod tests {
    use super::*;

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
