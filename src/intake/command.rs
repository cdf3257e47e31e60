//! The `/platform` grammar: the text after the command, parsed into what was asked.

/// What a `/platform ...` invocation asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SlashCommand {
    /// `request <text>`: file a ticket from the text.
    Request(String),
    /// `request` alone: open the request form.
    RequestForm,
    /// `help`, nothing at all, or anything unknown (carrying what was typed, if anything).
    Help(Option<String>),
    /// `status <KEY>`
    Status(String),
    /// `mine`: my open requests.
    Mine,
    /// `queue`: open tickets by SLA urgency (platform team).
    Queue,
    /// `oncall ...`: who is on call; `oncall set @user [for 3d]`.
    Oncall,
    /// A command of the contract that this version does not offer yet.
    NotYet(&'static str),
}

/// Subcommands the contract names that later versions bring.
const LATER: &[&str] = &[
    "status", "mine", "queue", "stats", "oncall", "roadmap", "survey",
];

/// Parses the command's text (everything after `/platform `).
pub fn parse(text: &str) -> SlashCommand {
    let text = text.trim();
    let (word, rest) = match text.split_once(char::is_whitespace) {
        Some((w, r)) => (w, r.trim()),
        None => (text, ""),
    };
    match word.to_ascii_lowercase().as_str() {
        "request" | "req" | "new" if rest.is_empty() => SlashCommand::RequestForm,
        "request" | "req" | "new" => SlashCommand::Request(rest.to_string()),
        "" | "help" => SlashCommand::Help(None),
        "status" if !rest.is_empty() => SlashCommand::Status(
            rest.split_whitespace()
                .next()
                .unwrap_or("")
                .to_ascii_uppercase(),
        ),
        "status" => SlashCommand::Help(Some(text.to_string())),
        "mine" => SlashCommand::Mine,
        "queue" => SlashCommand::Queue,
        "oncall" | "on-call" => SlashCommand::Oncall,
        other => match LATER.iter().find(|l| **l == other) {
            Some(name) => SlashCommand::NotYet(name),
            None => SlashCommand::Help(Some(text.to_string())),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_grammar_reads_each_form() {
        let cases = [
            (
                "request deploy is stuck",
                SlashCommand::Request("deploy is stuck".into()),
            ),
            (
                "  Request   multi\nline  ",
                SlashCommand::Request("multi\nline".into()),
            ),
            ("request", SlashCommand::RequestForm),
            ("request   ", SlashCommand::RequestForm),
            ("", SlashCommand::Help(None)),
            ("help", SlashCommand::Help(None)),
            ("status plat-1", SlashCommand::Status("PLAT-1".into())),
            ("status", SlashCommand::Help(Some("status".into()))),
            ("mine", SlashCommand::Mine),
            ("QUEUE", SlashCommand::Queue),
            ("oncall set <@U1> for 3d", SlashCommand::Oncall),
            ("stats 7d", SlashCommand::NotYet("stats")),
            (
                "frobnicate now",
                SlashCommand::Help(Some("frobnicate now".into())),
            ),
        ];
        for (text, expected) in cases {
            assert_eq!(parse(text), expected, "text {text:?}");
        }
    }
}
