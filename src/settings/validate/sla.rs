//! Checks of `[sla]` (time zone, warning point, priorities) and `[business_hours]`.

use std::collections::{BTreeMap, BTreeSet};

use chrono::Weekday;
use chrono_tz::Tz;

use super::fields::{date, positive_duration, time_of_day};
use crate::settings::problem::Problems;
use crate::settings::raw::{RawBusinessHours, RawPriority, RawSla, Section, Text};
use crate::settings::sections::{BusinessHours, PriorityTarget, SlaPolicy};

/// The checked `[sla]`, and the priority names even when a priority is invalid, so that
/// other sections can still check their references.
pub struct SlaChecked {
    pub policy: Option<SlaPolicy>,
    /// None only when the section could not be read at all.
    pub names: Option<BTreeSet<String>>,
}

pub fn sla(raw: Section<RawSla>, p: &mut Problems) -> SlaChecked {
    let raw = match raw {
        Section::Broken => {
            return SlaChecked {
                policy: None,
                names: None,
            }
        }
        Section::Absent => RawSla::default(),
        Section::Present(raw) => raw,
    };
    let names = raw.priorities.keys().cloned().collect();
    let timezone = match &raw.timezone {
        None => Some(Tz::UTC),
        Some(text) => text.get_ref().trim().parse::<Tz>().ok().or_else(|| {
            let message = format!(
                "unknown time zone {:?}: use an IANA name like \"Europe/Berlin\" or \"UTC\"",
                text.get_ref()
            );
            p.at("sla.timezone", text.span(), message);
            None
        }),
    };
    let warn_at = match &raw.warn_at {
        None => Some(0.75),
        Some(value) if *value.get_ref() > 0.0 && *value.get_ref() < 1.0 => Some(*value.get_ref()),
        Some(value) => {
            let message = format!(
                "must be a fraction between 0 and 1, like 0.75, not {}",
                value.get_ref()
            );
            p.at("sla.warn_at", value.span(), message);
            None
        }
    };
    if raw.priorities.is_empty() {
        p.nowhere(
            "sla.priorities",
            "at least one priority must be defined, like [sla.priorities.P1]",
        );
    }
    let mut priorities = Some(BTreeMap::new());
    for (name, target) in &raw.priorities {
        let key = format!("sla.priorities.{name}");
        let named = priority_name(p, &key, name, target.span().start);
        let checked = priority(p, &key, target.get_ref());
        match (named.and(checked), priorities.as_mut()) {
            (Some(target), Some(map)) => {
                map.insert(name.clone(), target);
            }
            _ => priorities = None,
        }
    }
    let policy = match (timezone, warn_at, priorities) {
        (Some(timezone), Some(warn_at), Some(priorities)) if !priorities.is_empty() => {
            Some(SlaPolicy {
                timezone,
                warn_at,
                priorities,
            })
        }
        _ => None,
    };
    SlaChecked {
        policy,
        names: Some(names),
    }
}

/// Names appear in Slack messages and button values: keep them short and plain.
fn priority_name(p: &mut Problems, key: &str, name: &str, at: usize) -> Option<()> {
    let plain = name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if (1..=20).contains(&name.len()) && plain {
        return Some(());
    }
    let message = format!("priority name {name:?} must be 1 to 20 letters, digits, '-' or '_'");
    p.at(key, at..at, message);
    None
}

fn priority(p: &mut Problems, key: &str, raw: &RawPriority) -> Option<PriorityTarget> {
    let first_key = format!("{key}.first_response");
    let resolution_key = format!("{key}.resolution");
    let first_response = positive_duration(p, &first_key, &raw.first_response);
    let resolution = positive_duration(p, &resolution_key, &raw.resolution);
    let (first_response, resolution) = (first_response?, resolution?);
    if resolution < first_response {
        let message = format!(
            "resolution ({}) is shorter than first_response ({})",
            humantime::format_duration(resolution),
            humantime::format_duration(first_response)
        );
        p.at(resolution_key, raw.resolution.span(), message);
        return None;
    }
    Some(PriorityTarget {
        first_response,
        resolution,
        business_hours: raw.business_hours,
    })
}

pub fn business_hours(raw: Section<RawBusinessHours>, p: &mut Problems) -> Option<BusinessHours> {
    let defaults = BusinessHours::default();
    let raw = match raw {
        Section::Broken => return None,
        Section::Absent => return Some(defaults),
        Section::Present(raw) => raw,
    };
    let days = match &raw.days {
        None => Some(defaults.days),
        Some(days) => weekdays(p, days),
    };
    let start = raw.start.as_ref().map_or(Some(defaults.start), |value| {
        time_of_day(p, "business_hours.start", value)
    });
    let end = raw.end.as_ref().map_or(Some(defaults.end), |value| {
        time_of_day(p, "business_hours.end", value)
    });
    if let (Some(start), Some(end)) = (start, end) {
        if start >= end {
            let at = raw
                .end
                .as_ref()
                .or(raw.start.as_ref())
                .map_or(0..0, |v| v.span());
            let message = format!(
                "end {} is not after start {}",
                end.format("%H:%M"),
                start.format("%H:%M")
            );
            p.at("business_hours.end", at, message);
            return None;
        }
    }
    let holidays: Vec<_> = raw
        .holidays
        .iter()
        .map(|value| date(p, "business_hours.holidays", value))
        .collect();
    let mut holidays: Vec<_> = holidays.into_iter().collect::<Option<_>>()?;
    holidays.sort();
    holidays.dedup();
    Some(BusinessHours {
        days: days?,
        start: start?,
        end: end?,
        holidays,
    })
}

fn weekdays(p: &mut Problems, days: &toml::Spanned<Vec<Text>>) -> Option<Vec<Weekday>> {
    let key = "business_hours.days";
    if days.get_ref().is_empty() {
        p.at(
            key,
            days.span(),
            "needs at least one day, like [\"Mon\", \"Tue\"]",
        );
        return None;
    }
    let mut seen = Vec::new();
    let mut ok = true;
    for text in days.get_ref() {
        match text.get_ref().trim().parse::<Weekday>() {
            Ok(day) if seen.contains(&day) => {
                p.at(
                    key,
                    text.span(),
                    format!("{:?} is listed twice", text.get_ref()),
                );
                ok = false;
            }
            Ok(day) => seen.push(day),
            Err(_) => {
                let message = format!(
                    "{:?} is not a day: use Mon, Tue, Wed, Thu, Fri, Sat or Sun",
                    text.get_ref()
                );
                p.at(key, text.span(), message);
                ok = false;
            }
        }
    }
    seen.sort_by_key(|day| day.num_days_from_monday());
    ok.then_some(seen)
}
