//! Triage: the priority, category and assignee a new request gets from the policy's rules,
//! and the similarity that spots a request already filed.

mod messages;
pub mod rules;
pub mod similar;

#[cfg(test)]
mod rules_tests;

pub use crate::words::Words;
pub use rules::classify_in;

use crate::settings::Policy;

/// What triage decided for a request, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Triage {
    /// Names a priority of `sla.priorities`.
    pub priority: String,
    pub category: String,
    /// The rule that matched: its name, or `rule N` (1-based, in file order) when unnamed.
    /// None when no rule matched and the policy's defaults apply.
    pub rule: Option<String>,
    /// What matched: the keyword as written in the policy, or the text a pattern matched.
    pub reason: Option<String>,
    /// The matching rule's assignee, a user id.
    pub assignee: Option<String>,
}

/// Triage of a request's text under `policy`, its channel unknown: rules restricted to a
/// channel never apply.
pub fn classify(policy: &Policy, text: &str) -> Triage {
    classify_in(policy, text, None)
}
