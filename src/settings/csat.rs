//! `[csat]`: satisfaction after each ticket. Whether requesters are asked, what share of
//! resolved tickets, and how seldom one person may be asked. Every key is optional.

use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;

use super::problem::Problems;
use super::section::{Section, Text};
use super::validate::fields::duration;

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub(super) struct RawCsat {
    pub enabled: Option<Spanned<bool>>,
    /// A float, or an integer (`0`, `1`) as people write them.
    pub sample_rate: Option<Spanned<toml::Value>>,
    pub cooldown: Option<Text>,
}

/// `[csat]`, validated.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CsatPolicy {
    pub enabled: bool,
    /// The share of resolved tickets whose requester is asked, 0 to 1.
    pub sample_rate: f64,
    /// Nobody is asked twice within this (zero: no limit).
    pub cooldown: Duration,
}

impl Default for CsatPolicy {
    fn default() -> Self {
        Self {
            enabled: true,
            sample_rate: 1.0,
            cooldown: Duration::from_secs(14 * 24 * 60 * 60),
        }
    }
}

pub(super) fn csat(raw: Section<RawCsat>, p: &mut Problems) -> Option<CsatPolicy> {
    let raw = match raw {
        Section::Broken => return None,
        Section::Absent => return Some(CsatPolicy::default()),
        Section::Present(raw) => raw,
    };
    let default = CsatPolicy::default();
    let enabled = raw.enabled.map_or(default.enabled, |e| *e.get_ref());
    let sample_rate = match &raw.sample_rate {
        None => Some(default.sample_rate),
        Some(value) => {
            let rate = match value.get_ref() {
                toml::Value::Float(f) => Some(*f),
                toml::Value::Integer(i) => Some(*i as f64),
                _ => None,
            };
            match rate {
                Some(rate) if (0.0..=1.0).contains(&rate) => Some(rate),
                _ => {
                    let message = format!(
                        "must be a fraction between 0 and 1, like 0.5, not {}",
                        value.get_ref()
                    );
                    p.at("csat.sample_rate", value.span(), message);
                    None
                }
            }
        }
    };
    let cooldown = match &raw.cooldown {
        None => Some(default.cooldown),
        Some(text) => duration(p, "csat.cooldown", text),
    };
    Some(CsatPolicy {
        enabled,
        sample_rate: sample_rate?,
        cooldown: cooldown?,
    })
}

#[cfg(test)]
mod tests {
    use crate::settings::Policy;
    use std::time::Duration;

    const BUILTIN: &str = include_str!("default_policy.toml");

    #[test]
    fn without_the_section_everyone_is_asked_at_most_once_a_fortnight() {
        let csat = Policy::builtin().csat;
        assert!(csat.enabled);
        assert_eq!(csat.sample_rate, 1.0);
        assert_eq!(csat.cooldown, Duration::from_secs(14 * 86_400));
    }

    #[test]
    fn the_keys_are_read_and_integers_count_as_rates() {
        let text =
            format!("{BUILTIN}\n[csat]\nenabled = false\nsample_rate = 0.25\ncooldown = \"3d\"\n");
        let csat = Policy::parse(&text).expect("valid").csat;
        assert!(!csat.enabled);
        assert_eq!(csat.sample_rate, 0.25);
        assert_eq!(csat.cooldown, Duration::from_secs(3 * 86_400));
        let text = format!("{BUILTIN}\n[csat]\nsample_rate = 0\n");
        assert_eq!(Policy::parse(&text).expect("valid").csat.sample_rate, 0.0);
    }

    #[test]
    fn a_rate_outside_zero_to_one_or_a_bad_cooldown_is_reported_with_its_key() {
        for (bad, key) in [
            ("sample_rate = 1.5", "csat.sample_rate (line "),
            ("sample_rate = -0.1", "csat.sample_rate (line "),
            ("sample_rate = \"half\"", "csat.sample_rate (line "),
            ("cooldown = \"fortnight\"", "csat.cooldown (line "),
        ] {
            let text = format!("{BUILTIN}\n[csat]\n{bad}\n");
            let problems = Policy::parse(&text).expect_err(bad);
            assert!(
                problems[0].to_string().starts_with(key),
                "{bad}: {}",
                problems[0]
            );
        }
        let text = format!("{BUILTIN}\n[csat]\nsample = 1.0\n");
        assert!(Policy::parse(&text).is_err(), "an unknown key is an error");
    }
}
