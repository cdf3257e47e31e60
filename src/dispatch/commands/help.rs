//! `/platform help`, and the answer to anything not understood or not offered yet: the usage,
//! in this workspace's words (its key prefix and ticket emoji).

use crate::dispatch::Desk;
use crate::domain::ticket::shorten;
use crate::input::Reply;
use crate::mrkdwn::escape;
use crate::settings::Policy;

/// Subcommands the contract names that later versions bring.
const LATER: &[&str] = &[];

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Help {
    /// `help` or nothing at all.
    Usage,
    /// Something not understood, as typed.
    Unknown(String),
    /// A command of the contract that this version does not offer yet.
    NotYet(&'static str),
}

impl Help {
    pub fn unknown(text: &str) -> Self {
        Help::Unknown(text.to_string())
    }

    /// `Some` for a subcommand a later version brings.
    pub fn later(word: &str) -> Option<Self> {
        LATER
            .iter()
            .find(|l| **l == word)
            .map(|name| Help::NotYet(name))
    }

    pub fn apply(self, desk: &Desk) -> Reply {
        let policy = &desk.ctx.policy;
        Reply::ephemeral(match self {
            Help::Usage => usage(policy, None),
            Help::Unknown(text) => usage(policy, Some(&text)),
            Help::NotYet(name) => not_yet(policy, name),
        })
    }
}

/// The `/platform` usage, in this workspace's words: its key prefix and its ticket emoji.
fn usage_text(policy: &Policy) -> String {
    let key = format!("{}-42", policy.tickets.key_prefix);
    let emoji = policy.slack.ticket_emoji.trim_matches(':');
    format!(
        "*`/platform` — ask the platform team*\n\
         • `/platform request <what you need>` — file a request (the first line becomes its title)\n\
         • `/platform request` — open the request form\n\
         • `/platform status {key}` — a ticket's state and SLA clocks\n\
         • `/platform mine` — your open requests\n\
         • `/platform queue` — open tickets by SLA urgency (platform team)\n\
         • `/platform stats [7d|30d|90d]` — response times and breaches (default 30 days)\n\
         • `/platform oncall` — who is on call; `/platform oncall set @someone [for 3d]` (platform team)\n\
         • `/platform roadmap` — what the platform team works on next; `roadmap show RM-3`, \
         `roadmap follow RM-3` (`roadmap help` for the rest)\n\
         • `/platform survey` — the latest pulse survey results; `survey start` (platform team)\n\
         • `/platform wins` — time the platform team saved everyone; \
         `/platform win <what changed> saves <N>h/month` (platform team)\n\
         • `/platform owns <topic>` — which team owns a topic\n\
         • `/platform help` — this help\n\
         You can also mention the bot (`@platform-desk the staging deploy is stuck`), post in a \
         help channel, or add the :{emoji}: reaction to any message.",
        key = escape(&key),
        emoji = escape(emoji),
    )
}

/// Usage, optionally prefixed by what was not understood.
pub fn usage(policy: &Policy, unknown: Option<&str>) -> String {
    match unknown {
        Some(text) => format!(
            "Sorry, I don't know `{}`.\n\n{}",
            escape(&shorten(text, 80)),
            usage_text(policy)
        ),
        None => usage_text(policy),
    }
}

pub fn not_yet(policy: &Policy, name: &str) -> String {
    format!(
        "`/platform {name}` is not available in this version yet.\n\n{}",
        usage_text(policy)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_command_text_is_escaped_in_the_usage() {
        let policy = Policy::builtin();
        assert!(usage(&policy, Some("<!channel> hi")).contains("&lt;!channel&gt; hi"));
    }

    #[test]
    fn the_usage_speaks_of_this_workspaces_key_prefix_and_ticket_emoji() {
        let mut policy = Policy::builtin();
        policy.tickets.key_prefix = "OPS".into();
        policy.slack.ticket_emoji = "raising_hand".into();
        let text = usage(&policy, None);
        assert!(text.contains("`/platform status OPS-42`"), "{text}");
        assert!(text.contains(":raising_hand: reaction"), "{text}");
        assert!(
            !text.contains("PLAT-") && !text.contains(":ticket:"),
            "{text}"
        );
    }
}
