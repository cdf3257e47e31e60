//! The words a ticket card uses to say why triage chose its priority.

use super::Triage;

/// How much of a pattern's match the card quotes; a broad regex can match a whole message.
const REASON_CHARS: usize = 60;

impl Triage {
    /// The card's explanation, like `P1: matched 'prod down'`; None when the defaults applied.
    /// A long match is shortened to its first words, on one line.
    pub fn explain(&self) -> Option<String> {
        let reason = self.reason.as_deref()?;
        let one_line = reason.split_whitespace().collect::<Vec<_>>().join(" ");
        let quoted = match one_line.char_indices().nth(REASON_CHARS) {
            Some((cut, _)) => format!("{}…", &one_line[..cut]),
            None => one_line,
        };
        Some(format!("{}: matched '{quoted}'", self.priority))
    }
}
