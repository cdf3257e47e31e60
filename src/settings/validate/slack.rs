//! Checks of `[slack]` and `[tickets]`.

use super::fields::{channel_id, each, non_blank, user_id};
use crate::settings::problem::Problems;
use crate::settings::raw::{RawSlack, RawTickets, Section};
use crate::settings::sections::{SlackPolicy, TicketPolicy};

pub fn slack(raw: Section<RawSlack>, p: &mut Problems) -> Option<SlackPolicy> {
    let raw = match raw {
        Section::Broken => return None,
        Section::Absent => RawSlack::default(),
        Section::Present(raw) => raw,
    };
    let mut channel = |key: &str, text: &Option<_>| match text {
        None => Some(None),
        Some(text) => channel_id(p, key, text).map(Some),
    };
    let intake_channel = channel("slack.intake_channel", &raw.intake_channel);
    let team_channel = channel("slack.team_channel", &raw.team_channel);
    let announce_channel = channel("slack.announce_channel", &raw.announce_channel);
    let help_channels = each(p, "slack.help_channels", &raw.help_channels, channel_id);
    let ticket_emoji = match &raw.ticket_emoji {
        None => Some("ticket".to_string()),
        Some(text) => emoji(p, text),
    };
    let platform_team = each(p, "slack.platform_team", &raw.platform_team, user_id);
    Some(SlackPolicy {
        intake_channel: intake_channel?,
        team_channel: team_channel?,
        announce_channel: announce_channel?,
        help_channels: help_channels?,
        ticket_emoji: ticket_emoji?,
        platform_team: platform_team?,
    })
}

/// A reaction name, with or without colons: `ticket` or `:ticket:`.
fn emoji(p: &mut Problems, text: &crate::settings::raw::Text) -> Option<String> {
    let key = "slack.ticket_emoji";
    let name = non_blank(p, key, text)?;
    let name = name.trim().trim_matches(':');
    let valid = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_lowercase() || c.is_ascii_digit() || matches!(c, '_' | '-' | '+' | '\''));
    if !valid {
        let message = format!("{:?} is not an emoji name like \"ticket\"", text.get_ref());
        p.at(key, text.span(), message);
        return None;
    }
    Some(name.to_string())
}

pub fn tickets(raw: Section<RawTickets>, p: &mut Problems) -> Option<TicketPolicy> {
    let raw = match raw {
        Section::Broken => return None,
        Section::Absent => RawTickets::default(),
        Section::Present(raw) => raw,
    };
    let Some(text) = raw.key_prefix else {
        return Some(TicketPolicy {
            key_prefix: "PLAT".to_string(),
        });
    };
    let prefix = text.get_ref();
    if (1..=10).contains(&prefix.len()) && prefix.chars().all(|c| c.is_ascii_uppercase()) {
        Some(TicketPolicy {
            key_prefix: prefix.clone(),
        })
    } else {
        let message = format!("{prefix:?} must be 1 to 10 uppercase letters A-Z, like \"PLAT\"");
        p.at("tickets.key_prefix", text.span(), message);
        None
    }
}
