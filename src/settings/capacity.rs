//! `[capacity]`: the team's own hours (its size and each engineer's hours per month), the
//! share of them support should take, and how support time is counted (the daily cap on
//! ticket time, the hours a day on call counts). Read, checked and typed here, in one file.

use serde::Deserialize;
use toml::Spanned;

use super::problem::Problems;
use super::section::Section;

/// `[capacity]` as written.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub(super) struct RawCapacity {
    pub team_size: Option<Spanned<f64>>,
    pub hours_per_month: Option<Spanned<f64>>,
    pub support_band: Option<Spanned<Vec<f64>>>,
    pub max_ticket_hours_per_day: Option<Spanned<f64>>,
    pub oncall_hours_per_day: Option<Spanned<f64>>,
}

/// The team's capacity and how support time is counted against it.
#[derive(Debug, Clone, PartialEq)]
pub struct CapacityPolicy {
    /// Engineers on the platform team (a positive number; 5.5 for a part-timer is fine).
    pub team_size: f64,
    /// Working hours per engineer per month.
    pub hours_per_month: f64,
    /// The share of capacity support should take: `[low, high]`, `0 <= low <= high <= 1`.
    pub support_band: [f64; 2],
    /// One person's ticket time counts at most this many hours a day (a ticket left
    /// acknowledged overnight is not 24 hours of work).
    pub max_ticket_hours_per_day: f64,
    /// A full day on call counts this many hours of support, pro rata (being reachable and
    /// interrupted; the tickets handled count on their own).
    pub oncall_hours_per_day: f64,
}

impl Default for CapacityPolicy {
    fn default() -> Self {
        Self {
            team_size: 6.0,
            hours_per_month: 140.0,
            support_band: [0.20, 0.30],
            max_ticket_hours_per_day: 8.0,
            oncall_hours_per_day: 2.0,
        }
    }
}

impl CapacityPolicy {
    /// The team's hours in a month: `team_size × hours_per_month`.
    pub fn team_hours_per_month(&self) -> f64 {
        self.team_size * self.hours_per_month
    }

    /// The team's hours in a week: a month's × 12 / 52.
    pub fn team_hours_per_week(&self) -> f64 {
        self.team_hours_per_month() * 12.0 / 52.0
    }
}

pub(super) fn capacity(raw: Section<RawCapacity>, p: &mut Problems) -> Option<CapacityPolicy> {
    let d = CapacityPolicy::default();
    let raw = match raw {
        Section::Broken => return None,
        Section::Absent => return Some(d),
        Section::Present(raw) => raw,
    };
    let positive = |p: &mut Problems, key: &str, v: &Option<Spanned<f64>>, default: f64| {
        number(p, key, v, default, |x| x > 0.0, "a positive number")
    };
    let team_size = positive(p, "capacity.team_size", &raw.team_size, d.team_size);
    let hours_per_month = positive(
        p,
        "capacity.hours_per_month",
        &raw.hours_per_month,
        d.hours_per_month,
    );
    let max_ticket_hours_per_day = number(
        p,
        "capacity.max_ticket_hours_per_day",
        &raw.max_ticket_hours_per_day,
        d.max_ticket_hours_per_day,
        |x| x > 0.0 && x <= 24.0,
        "a number of hours above 0 and at most 24",
    );
    let oncall_hours_per_day = number(
        p,
        "capacity.oncall_hours_per_day",
        &raw.oncall_hours_per_day,
        d.oncall_hours_per_day,
        |x| (0.0..=24.0).contains(&x),
        "a number of hours from 0 to 24",
    );
    let support_band = match &raw.support_band {
        None => Some(d.support_band),
        Some(band) => match band.get_ref().as_slice() {
            [low, high]
                if (0.0..=1.0).contains(low) && (0.0..=1.0).contains(high) && low <= high =>
            {
                Some([*low, *high])
            }
            [low, high] if low > high => {
                let message = format!("the band's low end ({low}) is above its high end ({high})");
                p.at("capacity.support_band", band.span(), message);
                None
            }
            other => {
                let message = format!(
                    "must be two shares of capacity between 0 and 1, low then high, like \
                     [0.20, 0.30], not {other:?}"
                );
                p.at("capacity.support_band", band.span(), message);
                None
            }
        },
    };
    Some(CapacityPolicy {
        team_size: team_size?,
        hours_per_month: hours_per_month?,
        support_band: support_band?,
        max_ticket_hours_per_day: max_ticket_hours_per_day?,
        oncall_hours_per_day: oncall_hours_per_day?,
    })
}

/// An optional number that must pass `ok` (and be finite), `default` when absent.
fn number(
    p: &mut Problems,
    key: &str,
    value: &Option<Spanned<f64>>,
    default: f64,
    ok: impl Fn(f64) -> bool,
    what: &str,
) -> Option<f64> {
    let Some(value) = value else {
        return Some(default);
    };
    let x = *value.get_ref();
    if x.is_finite() && ok(x) {
        Some(x)
    } else {
        p.at(key, value.span(), format!("must be {what}, not {x}"));
        None
    }
}

#[cfg(test)]
mod tests {
    use crate::settings::{ConfigProblem, Policy};

    const BUILTIN: &str = include_str!("default_policy.toml");

    fn with(section: &str) -> Result<Policy, Vec<ConfigProblem>> {
        Policy::parse(&format!("{BUILTIN}\n[capacity]\n{section}\n"))
    }

    fn problems(section: &str) -> Vec<String> {
        match with(section) {
            Ok(_) => panic!("expected problems in {section:?}"),
            Err(problems) => problems.iter().map(ToString::to_string).collect(),
        }
    }

    #[test]
    fn without_the_section_the_contracts_defaults_apply() {
        let c = Policy::parse(BUILTIN).unwrap().capacity;
        assert_eq!(c.team_size, 6.0);
        assert_eq!(c.hours_per_month, 140.0);
        assert_eq!(c.support_band, [0.20, 0.30]);
        assert_eq!(c.max_ticket_hours_per_day, 8.0);
        assert_eq!(c.oncall_hours_per_day, 2.0);
        assert_eq!(c.team_hours_per_month(), 840.0);
        assert!((c.team_hours_per_week() - 840.0 * 12.0 / 52.0).abs() < 1e-9);
    }

    #[test]
    fn whole_numbers_and_decimals_are_read() {
        let c = with("team_size = 4\nhours_per_month = 120.5\nsupport_band = [0, 1]\noncall_hours_per_day = 0")
            .unwrap()
            .capacity;
        assert_eq!(
            (c.team_size, c.hours_per_month, c.support_band),
            (4.0, 120.5, [0.0, 1.0])
        );
        assert_eq!(c.oncall_hours_per_day, 0.0);
    }

    #[test]
    fn bad_values_are_errors_naming_the_key_and_its_line() {
        let line = BUILTIN.lines().count() + 3;
        let found = problems("team_size = 0");
        assert_eq!(
            found,
            [format!(
                "capacity.team_size (line {line}): must be a positive number, not 0"
            )]
        );
        let found = problems("hours_per_month = -140");
        assert!(found[0].starts_with(&format!("capacity.hours_per_month (line {line})")));
        let found = problems("support_band = [0.30, 0.20]");
        assert!(
            found[0].contains("low end (0.3) is above its high end (0.2)"),
            "{found:?}"
        );
        assert!(found[0].starts_with(&format!("capacity.support_band (line {line})")));
        for band in ["[0.2]", "[0.2, 1.5]", "[-0.1, 0.3]", "[0.1, 0.2, 0.3]"] {
            let found = problems(&format!("support_band = {band}"));
            assert!(
                found[0].contains("between 0 and 1, low then high"),
                "{band}: {found:?}"
            );
        }
        let found = problems("max_ticket_hours_per_day = 25");
        assert!(found[0].contains("at most 24"), "{found:?}");
    }

    #[test]
    fn unknown_keys_and_wrong_types_are_errors() {
        let found = problems("team = 6");
        assert!(found.iter().any(|p| p.contains("team")), "{found:?}");
        let found = problems("team_size = \"six\"");
        assert!(
            found.iter().any(|p| p.contains("capacity.team_size")),
            "{found:?}"
        );
    }
}
