//! Who asks for what, where and how urgently: the mix of seeded tickets, drawn from the
//! policy (its priorities, triage rules, default category, channels and platform team) so
//! that the history reads as this bot's own, plus when in the week people ask.

use super::rng::Rng;
use crate::domain::Source;
use crate::settings::Policy;
use chrono::{DateTime, Datelike, Timelike, Utc, Weekday};

/// Product teams' channels where the bot is mentioned or a message gets the ticket emoji.
const PRODUCT_CHANNELS: &[&str] = &[
    "C02PAYMENTS",
    "C02CHECKOUT",
    "C02SEARCH",
    "C02MOBILE",
    "C02DATA",
];

/// A triage rule a seeded request can match: (category, priority, the rule's label, a
/// keyword of it).
#[derive(Debug, Clone)]
pub struct RuleHit {
    pub category: String,
    pub priority: String,
    pub label: String,
    pub keywords: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct Mix {
    pub prefix: String,
    pub priorities: Vec<String>,
    /// How often each priority ends up on a ticket (same order as `priorities`).
    pub priority_weights: Vec<f64>,
    pub default_priority: String,
    pub default_category: String,
    pub rules: Vec<RuleHit>,
    pub help_channels: Vec<String>,
    pub team: Vec<String>,
    pub requesters: u64,
    pub tz: chrono_tz::Tz,
}

/// The share of requests that a triage rule matches (incidents and the like).
pub const RULE_SHARE: f64 = 0.05;

impl Mix {
    pub fn new(policy: &Policy, tickets: u64) -> Mix {
        let priorities: Vec<String> = policy.priority_names().map(str::to_string).collect();
        let n = priorities.len();
        // Most urgent is rare, the default is the bulk, the rest share what is left:
        // with P1-P4 and P3 the default, about 3 / 14 / 60 / 23 %.
        let default = &policy.triage.default_priority;
        let priority_weights = priorities
            .iter()
            .enumerate()
            .map(|(i, p)| match (i, p == default) {
                (_, true) => 60.0,
                (0, false) if n > 2 => 3.0,
                _ => 37.0 / (n.saturating_sub(2).max(1)) as f64,
            })
            .collect();
        let rules = policy
            .triage
            .rules
            .iter()
            .enumerate()
            .filter(|(_, rule)| !rule.keywords.is_empty() && rule.channel.is_none())
            .map(|(i, rule)| RuleHit {
                category: rule.category.clone(),
                priority: rule.priority.clone(),
                label: rule.name.clone().unwrap_or(format!("rule {}", i + 1)),
                keywords: rule.keywords.clone(),
            })
            .collect();
        let team = if policy.slack.platform_team.is_empty() {
            vec!["U00PLATFORM".to_string()]
        } else {
            policy.slack.platform_team.clone()
        };
        let help_channels = if policy.slack.help_channels.is_empty() {
            vec!["C01HELP".to_string()]
        } else {
            policy.slack.help_channels.clone()
        };
        Mix {
            prefix: policy.tickets.key_prefix.clone(),
            priorities,
            priority_weights,
            default_priority: default.clone(),
            default_category: policy.triage.default_category.clone(),
            rules,
            help_channels,
            team,
            // Several thousand people for a big history; fewer for a small one.
            requesters: (tickets / 4).clamp(30, 6_000),
            tz: policy.sla.timezone,
        }
    }

    /// A requester: some people ask far more often than others.
    pub fn requester(&self, r: &mut Rng) -> String {
        let index = (self.requesters as f64 * r.unit().powf(1.6)) as u64;
        let mut id = Rng::stream(0x5EED, index);
        format!("U{:09X}", id.next_u64() & 0xF_FFFF_FFFF)
    }

    /// How the request came in, and from which channel.
    pub fn source(&self, r: &mut Rng) -> (Source, Option<String>) {
        let product = || PRODUCT_CHANNELS.iter().map(|c| c.to_string());
        match r.weighted(&[35.0, 25.0, 15.0, 15.0, 10.0]) {
            0 => (Source::Message, Some(r.pick(&self.help_channels).clone())),
            1 => {
                let all: Vec<String> = product().chain(self.help_channels.clone()).collect();
                (Source::Command, Some(r.pick(&all).clone()))
            }
            2 => (Source::Modal, None),
            3 => (Source::Mention, Some(r.pick(PRODUCT_CHANNELS).to_string())),
            _ => (Source::Reaction, Some(r.pick(PRODUCT_CHANNELS).to_string())),
        }
    }

    /// How likely someone asks at `at`, relative to a weekday afternoon: few at night, few
    /// at weekends.
    pub fn activity(&self, at: DateTime<Utc>) -> f64 {
        let local = at.with_timezone(&self.tz);
        let hour = match local.hour() {
            9..=11 | 13..=16 => 1.0,
            12 | 17 => 0.7,
            8 | 18 => 0.4,
            7 | 19..=21 => 0.15,
            _ => 0.03,
        };
        let day = match local.weekday() {
            Weekday::Sat | Weekday::Sun => 0.12,
            Weekday::Mon => 1.1,
            Weekday::Fri => 0.8,
            _ => 1.0,
        };
        hour * day
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mix_takes_the_policys_priorities_rules_and_team() {
        let mix = Mix::new(&Policy::builtin(), 100_000);
        assert_eq!(mix.priorities, ["P1", "P2", "P3", "P4"]);
        assert_eq!(mix.priority_weights[2], 60.0, "P3 is the default");
        assert!(mix.priority_weights[0] < mix.priority_weights[1]);
        assert_eq!(mix.rules[0].category, "incident");
        assert_eq!(mix.rules[0].priority, "P1");
        assert_eq!(mix.team, ["U01ALICE", "U01BOB"]);
        assert_eq!(mix.requesters, 6_000);
    }

    #[test]
    fn weekday_afternoons_are_busier_than_nights_and_weekends() {
        let mix = Mix::new(&Policy::builtin(), 10);
        let at = |s: &str| s.parse::<DateTime<Utc>>().unwrap();
        let tuesday_afternoon = mix.activity(at("2026-11-24T13:00:00Z"));
        assert!(tuesday_afternoon > 10.0 * mix.activity(at("2026-11-24T02:00:00Z")));
        assert!(tuesday_afternoon > 5.0 * mix.activity(at("2026-11-28T13:00:00Z")));
    }
}
