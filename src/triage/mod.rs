//! Triage: the priority and category a new request gets. Until rules exist, the policy's
//! defaults.

use crate::settings::Policy;

/// What triage decided for a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Triage {
    pub priority: String,
    pub category: String,
}

/// Triage of a request's text under `policy`.
pub fn classify(policy: &Policy, _text: &str) -> Triage {
    Triage {
        priority: policy.triage.default_priority.clone(),
        category: policy.triage.default_category.clone(),
    }
}
