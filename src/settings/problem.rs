//! One problem found in a policy file, with its dotted key and line, and the collector
//! that gathers every problem of a file instead of stopping at the first.

use std::fmt;
use std::ops::Range;

use super::locate::{key_at, line_of};

/// A problem in a policy file: `sla.priorities.P1.first_response (line 12): invalid ...`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigProblem {
    /// The dotted key, such as `triage.rules[0].patterns`; empty when no key applies.
    pub key: String,
    /// The 1-based line in the file, when known.
    pub line: Option<usize>,
    pub message: String,
}

impl fmt::Display for ConfigProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.key.is_empty(), self.line) {
            (false, Some(line)) => write!(f, "{} (line {line}): {}", self.key, self.message),
            (false, None) => write!(f, "{}: {}", self.key, self.message),
            (true, Some(line)) => write!(f, "line {line}: {}", self.message),
            (true, None) => write!(f, "{}", self.message),
        }
    }
}

impl std::error::Error for ConfigProblem {}

/// Gathers the problems of one policy text.
pub(super) struct Problems<'t> {
    text: &'t str,
    list: Vec<ConfigProblem>,
}

impl<'t> Problems<'t> {
    pub fn new(text: &'t str) -> Self {
        Self {
            text,
            list: Vec::new(),
        }
    }

    /// A problem with the value at `span`.
    pub fn at(&mut self, key: impl Into<String>, span: Range<usize>, message: impl Into<String>) {
        self.push(
            key.into(),
            Some(line_of(self.text, span.start)),
            message.into(),
        );
    }

    /// A problem with no place in the file, such as a missing section.
    pub fn nowhere(&mut self, key: impl Into<String>, message: impl Into<String>) {
        self.push(key.into(), None, message.into());
    }

    /// A syntax or type error from toml, with its key rebuilt from the text.
    pub fn toml(&mut self, error: &toml::de::Error) {
        let message = error.message().lines().collect::<Vec<_>>().join("; ");
        let Some(span) = error.span() else {
            return self.push(String::new(), None, message);
        };
        let mut key = key_at(self.text, span.start);
        // For "unknown field `x`", `x` is the offending key; for "missing field `x`" it is the
        // key to add. Either way it belongs at the end of the path, if not already there.
        if let Some(field) = quoted_field(&message) {
            if key.rsplit('.').next() != Some(field) {
                key = if key.is_empty() {
                    field.to_string()
                } else {
                    format!("{key}.{field}")
                };
            }
        }
        let line = line_of(self.text, span.start);
        self.push(key, Some(line), message);
    }

    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// The problems, in file order; those without a line come last.
    pub fn into_sorted(mut self) -> Vec<ConfigProblem> {
        self.list.sort_by_key(|p| p.line.unwrap_or(usize::MAX));
        self.list
    }

    fn push(&mut self, key: String, line: Option<usize>, message: String) {
        let problem = ConfigProblem { key, line, message };
        if !self.list.contains(&problem) {
            self.list.push(problem);
        }
    }
}

/// The field named in toml's "unknown field `x`" and "missing field `x`" messages.
fn quoted_field(message: &str) -> Option<&str> {
    ["unknown field `", "missing field `"]
        .iter()
        .find_map(|prefix| message.strip_prefix(prefix))
        .and_then(|rest| rest.split('`').next())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn problems_display_key_line_and_message() {
        let problem = |key: &str, line| ConfigProblem {
            key: key.into(),
            line,
            message: "bad".into(),
        };
        let cases = [
            (
                problem("sla.warn_at", Some(12)),
                "sla.warn_at (line 12): bad",
            ),
            (problem("sla.warn_at", None), "sla.warn_at: bad"),
            (problem("", Some(3)), "line 3: bad"),
            (problem("", None), "bad"),
        ];
        for (problem, expected) in cases {
            assert_eq!(problem.to_string(), expected);
        }
    }

    #[test]
    fn problems_are_sorted_by_line_and_not_repeated() {
        let mut problems = Problems::new("a = 1\nb = 2\n");
        problems.nowhere("c", "missing");
        problems.at("b", 6..7, "second");
        problems.at("a", 0..1, "first");
        problems.at("a", 0..1, "first");
        let keys: Vec<_> = problems.into_sorted().into_iter().map(|p| p.key).collect();
        assert_eq!(keys, ["a", "b", "c"]);
    }
}
