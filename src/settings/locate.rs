//! Positions in the policy text: byte offsets to line numbers, and to the dotted key there.
//!
//! toml's errors carry a byte span but not the key path, so the path is rebuilt here from
//! the table headers and `key =` lines before the span. A small scanner skips strings,
//! comments and multi-line arrays so that their contents are not mistaken for keys.

use std::collections::HashMap;

/// The 1-based line number of a byte offset.
pub(super) fn line_of(text: &str, offset: usize) -> usize {
    let end = offset.min(text.len());
    text.as_bytes()[..end]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

/// The dotted key at a byte offset, such as `sla.priorities.P1.first_response` or
/// `triage.rules[1].patterns`. Empty when the offset is at the top level outside any key.
pub(super) fn key_at(text: &str, offset: usize) -> String {
    let target = line_of(text, offset);
    let mut scanner = Scanner::default();
    let mut table: Vec<String> = Vec::new();
    let mut array_counts: HashMap<String, usize> = HashMap::new();
    let mut value_key: Option<Vec<String>> = None;

    for (index, line) in text.split('\n').enumerate() {
        let at_top = scanner.at_top_level();
        let trimmed = line.trim_start();
        let mut here = None;
        if at_top {
            value_key = None;
            if let Some(header) = trimmed.strip_prefix("[[") {
                let path = split_key(header.split("]]").next().unwrap_or(""));
                let plain = path.join(".");
                let count = array_counts.entry(plain.clone()).or_insert(0);
                let mut indexed = path;
                if let Some(last) = indexed.last_mut() {
                    last.push_str(&format!("[{count}]"));
                }
                *count += 1;
                table = indexed;
                here = Some(table.clone());
            } else if let Some(header) = trimmed.strip_prefix('[') {
                table = split_key(header.split(']').next().unwrap_or(""));
                here = Some(table.clone());
            } else if let Some(eq) = find_equals(trimmed) {
                let mut full = table.clone();
                full.extend(split_key(&trimmed[..eq]));
                value_key = Some(full);
            }
        }
        if index + 1 == target {
            return here
                .or_else(|| value_key.clone())
                .unwrap_or_else(|| table.clone())
                .join(".");
        }
        scanner.feed(line);
    }
    table.join(".")
}

/// Splits `a."b.c" . d` into `["a", "b.c", "d"]`.
fn split_key(raw: &str) -> Vec<String> {
    let mut parts = Vec::new();
    let mut current = String::new();
    let mut quote = None;
    for c in raw.chars() {
        match (quote, c) {
            (None, '"' | '\'') => quote = Some(c),
            (Some(q), _) if c == q => quote = None,
            (None, '.') => parts.push(std::mem::take(&mut current).trim().to_string()),
            (None, '#') => break,
            _ => current.push(c),
        }
    }
    parts.push(current.trim().to_string());
    parts.retain(|p| !p.is_empty());
    parts
}

/// The byte index of the first `=` outside quotes, if any.
fn find_equals(line: &str) -> Option<usize> {
    let mut quote = None;
    for (i, c) in line.char_indices() {
        match (quote, c) {
            (None, '"' | '\'') => quote = Some(c),
            (Some(q), _) if c == q => quote = None,
            (None, '=') => return Some(i),
            (None, '#') => return None,
            _ => {}
        }
    }
    None
}

/// Tracks what continues from one line to the next: multi-line strings and open brackets.
#[derive(Default)]
struct Scanner {
    multiline: Option<&'static str>,
    depth: usize,
}

impl Scanner {
    fn at_top_level(&self) -> bool {
        self.multiline.is_none() && self.depth == 0
    }

    fn feed(&mut self, line: &str) {
        let trimmed = line.trim_start();
        if self.at_top_level() && trimmed.starts_with('[') {
            return; // a table header: its brackets are not a value
        }
        let mut rest = line;
        while !rest.is_empty() {
            if let Some(close) = self.multiline {
                match rest.find(close) {
                    Some(at) => {
                        self.multiline = None;
                        rest = &rest[at + close.len()..];
                    }
                    None => return,
                }
                continue;
            }
            if rest.starts_with("\"\"\"") || rest.starts_with("'''") {
                let open = if rest.starts_with('"') {
                    "\"\"\""
                } else {
                    "'''"
                };
                self.multiline = Some(open);
                rest = &rest[3..];
                continue;
            }
            let mut chars = rest.chars();
            let Some(c) = chars.next() else { break };
            match c {
                '#' => return,
                '"' => rest = skip_basic_string(chars.as_str()),
                '\'' => rest = chars.as_str().split_once('\'').map_or("", |(_, r)| r),
                '[' | '{' => {
                    self.depth += 1;
                    rest = chars.as_str();
                }
                ']' | '}' => {
                    self.depth = self.depth.saturating_sub(1);
                    rest = chars.as_str();
                }
                _ => rest = chars.as_str(),
            }
        }
    }
}

/// The rest of the line after a basic string whose opening quote is already consumed.
fn skip_basic_string(s: &str) -> &str {
    let mut escaped = false;
    for (i, c) in s.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            '"' => return &s[i + 1..],
            _ => {}
        }
    }
    ""
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key_of_line(text: &str, line: usize) -> String {
        let offset: usize = text.split('\n').take(line - 1).map(|l| l.len() + 1).sum();
        key_at(text, offset)
    }

    #[test]
    fn line_numbers_count_from_one() {
        assert_eq!(line_of("a\nb\nc", 0), 1);
        assert_eq!(line_of("a\nb\nc", 2), 2);
        assert_eq!(line_of("a\nb\nc", 99), 3);
    }

    #[test]
    fn keys_are_rebuilt_from_headers_and_assignments() {
        let text = "\
[sla]
warn_at = 0.75 # the [brackets] in a comment are ignored
[sla.priorities.P1]
first_response = \"15m\"
[[triage.rules]]
keywords = [
  \"prod = down\",
  [\"nested\"],
]
[[triage.rules]]
\"quoted.key\" = \"x\"
notes = \"\"\"
[not_a_header]
\"\"\"
sub.key = 1
";
        let cases = [
            (1, "sla"),
            (2, "sla.warn_at"),
            (3, "sla.priorities.P1"),
            (4, "sla.priorities.P1.first_response"),
            (5, "triage.rules[0]"),
            (7, "triage.rules[0].keywords"),
            (8, "triage.rules[0].keywords"),
            (10, "triage.rules[1]"),
            (11, "triage.rules[1].quoted.key"),
            (13, "triage.rules[1].notes"),
            (15, "triage.rules[1].sub.key"),
        ];
        for (line, expected) in cases {
            assert_eq!(key_of_line(text, line), expected, "line {line}");
        }
    }
}
