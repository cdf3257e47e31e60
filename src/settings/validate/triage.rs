//! Checks of `[triage]` and its `[[triage.rules]]`.

use std::collections::{BTreeSet, HashMap};

use regex::Regex;

use super::fields::{channel_id, each, non_blank, user_id};
use crate::settings::problem::Problems;
use crate::settings::raw::{RawRule, RawTriage, Section, Text};
use crate::settings::sections::{TriagePolicy, TriageRule};
use crate::words::Words;

/// `priorities` is None when `[sla]` could not be read; references are then not checked.
pub fn triage(
    raw: Section<RawTriage>,
    priorities: Option<&BTreeSet<String>>,
    p: &mut Problems,
) -> Option<TriagePolicy> {
    let raw = match raw {
        Section::Broken => return None,
        Section::Absent => RawTriage::default(),
        Section::Present(raw) => raw,
    };
    let default_priority = match &raw.default_priority {
        Some(text) => priority(p, "triage.default_priority", text, priorities),
        // P3 is the usual "normal"; otherwise the least urgent would be a guess, so the first.
        None => priorities.and_then(|names| {
            let p3 = names.get("P3");
            p3.or_else(|| names.iter().next()).cloned()
        }),
    };
    let default_category = match &raw.default_category {
        Some(text) => non_blank(p, "triage.default_category", text),
        None => Some("general".to_string()),
    };

    let mut names: HashMap<String, usize> = HashMap::new();
    let mut rules = Some(Vec::new());
    for (index, spanned) in raw.rules.iter().enumerate() {
        let key = format!("triage.rules[{index}]");
        let raw_rule = spanned.get_ref();
        if let Some(name) = &raw_rule.name {
            if let Some(first) = names.insert(name.get_ref().clone(), index) {
                let message = format!(
                    "rule name {:?} is already used by triage.rules[{first}]",
                    name.get_ref()
                );
                p.at(format!("{key}.name"), name.span(), message);
            }
        }
        if raw_rule.keywords.is_empty() && raw_rule.patterns.is_empty() {
            p.at(
                &key,
                spanned.span(),
                "a rule needs at least one keyword or pattern",
            );
        }
        let checked = rule(p, &key, raw_rule, priorities);
        match (checked, rules.as_mut()) {
            (Some(rule), Some(list)) => list.push(rule),
            _ => rules = None,
        }
    }
    Some(TriagePolicy {
        default_priority: default_priority?,
        default_category: default_category?,
        rules: rules?,
    })
}

fn rule(
    p: &mut Problems,
    key: &str,
    raw: &RawRule,
    priorities: Option<&BTreeSet<String>>,
) -> Option<TriageRule> {
    let name = match &raw.name {
        None => Some(None),
        Some(text) => non_blank(p, &format!("{key}.name"), text).map(Some),
    };
    let in_rule = raw.name.as_ref().map_or(String::new(), |name| {
        format!("in rule {:?}: ", name.get_ref())
    });
    let keywords = each(p, &format!("{key}.keywords"), &raw.keywords, non_blank);
    let patterns_key = format!("{key}.patterns");
    let patterns: Vec<_> = raw
        .patterns
        .iter()
        .map(|text| pattern(p, &patterns_key, text, &in_rule))
        .collect();
    let category = non_blank(p, &format!("{key}.category"), &raw.category);
    let priority = priority(p, &format!("{key}.priority"), &raw.priority, priorities);
    let assignee = match &raw.assignee {
        None => Some(None),
        Some(text) => user_id(p, &format!("{key}.assignee"), text).map(Some),
    };
    let channel = match &raw.channel {
        None => Some(None),
        Some(text) => channel_id(p, &format!("{key}.channel"), text).map(Some),
    };
    Some(TriageRule {
        name: name?,
        keyword_words: keywords.iter().flatten().map(|k| Words::of(k)).collect(),
        keywords: keywords?,
        patterns: patterns.into_iter().collect::<Option<_>>()?,
        category: category?,
        priority: priority?,
        assignee: assignee?,
        channel: channel?,
    })
}

fn pattern(p: &mut Problems, key: &str, text: &Text, in_rule: &str) -> Option<Regex> {
    match Regex::new(text.get_ref()) {
        Ok(regex) => Some(regex),
        Err(error) => {
            let message = format!(
                "{in_rule}invalid regex {:?}: {}",
                text.get_ref(),
                regex_reason(&error)
            );
            p.at(key, text.span(), message);
            None
        }
    }
}

/// The one line that says what is wrong, out of regex's multi-line error with a caret.
fn regex_reason(error: &regex::Error) -> String {
    let full = error.to_string();
    full.lines()
        .rev()
        .find_map(|line| line.trim().strip_prefix("error: "))
        .map_or_else(
            || full.lines().collect::<Vec<_>>().join(" "),
            str::to_string,
        )
}

/// A reference to a priority of `[sla.priorities]`, checked when those are known.
fn priority(
    p: &mut Problems,
    key: &str,
    text: &Text,
    priorities: Option<&BTreeSet<String>>,
) -> Option<String> {
    let name = text.get_ref();
    let Some(priorities) = priorities else {
        return Some(name.clone());
    };
    if priorities.contains(name) {
        return Some(name.clone());
    }
    let defined: Vec<&str> = priorities.iter().map(String::as_str).collect();
    let message = format!("unknown priority {name:?}; defined: {}", defined.join(", "));
    p.at(key, text.span(), message);
    None
}
