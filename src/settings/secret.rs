//! `Secret`: a token that never shows in logs, Debug output or error messages.

use std::fmt;

/// A secret value. Debug and Display print `[redacted]`; `expose` gives the value to the one
/// place that needs it (an HTTP header, a signature check).
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_print_as_redacted_but_can_be_exposed() {
        let secret = Secret::new("xoxb-123");
        assert_eq!(
            format!("{secret:?} {secret} {secret:#?}"),
            "[redacted] [redacted] [redacted]"
        );
        assert_eq!(secret.expose(), "xoxb-123");
    }
}
