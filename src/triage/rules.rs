//! Evaluation of `[[triage.rules]]`: in file order, the first rule that matches decides.

use super::{Triage, Words};
use crate::settings::{Policy, TriageRule};

/// Triage of a request's text under `policy`, for a request from `channel` (a channel id,
/// None when unknown).
///
/// Rules are tried in file order and the first that matches decides; when none does, the
/// policy's default priority and category apply. A rule with a `channel` applies only to
/// requests from exactly that channel, so never when `channel` is None.
///
/// Within a rule, its keywords are tried in order, then its patterns; the first that matches
/// is the reason.
/// - A keyword matches as whole words, ignoring case, whitespace and punctuation between the
///   words: `prod down` matches "Prod  down!" and "prod-down", not "product downtime";
///   `outage` does not match "outages". A keyword without letters or digits never matches.
/// - A pattern is the policy's regex, run on the text as given. It is case-sensitive unless
///   the policy author writes `(?i)`, as the regex crate does.
pub fn classify_in(policy: &Policy, text: &str, channel: Option<&str>) -> Triage {
    classify_words(policy, text, &Words::of(text), channel)
}

/// [`classify_in`] for a text already split into its [`Words`].
pub fn classify_words(
    policy: &Policy,
    text: &str,
    text_words: &Words,
    channel: Option<&str>,
) -> Triage {
    let triage = &policy.triage;
    let matched = triage.rules.iter().enumerate().find_map(|(index, rule)| {
        let applies = rule.channel.is_none() || rule.channel.as_deref() == channel;
        let reason = applies.then(|| reason(rule, text_words, text)).flatten()?;
        Some((index, rule, reason))
    });
    match matched {
        Some((index, rule, reason)) => Triage {
            priority: rule.priority.clone(),
            category: rule.category.clone(),
            rule: Some(rule.name.clone().unwrap_or(format!("rule {}", index + 1))),
            reason: Some(reason),
            assignee: rule.assignee.clone(),
        },
        None => Triage {
            priority: triage.default_priority.clone(),
            category: triage.default_category.clone(),
            rule: None,
            reason: None,
            assignee: None,
        },
    }
}

/// What of `rule` matches the text, if anything: a keyword as written, or a pattern's match.
fn reason(rule: &TriageRule, text_words: &Words, text: &str) -> Option<String> {
    let keyword = rule
        .keywords
        .iter()
        .zip(&rule.keyword_words)
        .find(|(_, wanted)| text_words.contains_run(wanted));
    if let Some((keyword, _)) = keyword {
        return Some(keyword.clone());
    }
    rule.patterns
        .iter()
        .find_map(|pattern| pattern.find(text))
        .map(|found| found.as_str().to_string())
}
