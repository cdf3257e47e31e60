//! The policy file's settings, typed and validated: `Policy` (read by `load`).

use super::csat::CsatPolicy;
use super::sections::{
    BusinessHours, Delivery, DigestPolicy, OncallPolicy, PriorityTarget, RoadmapPolicy, Schedules,
    SlaPolicy, SlackPolicy, SurveyPolicy, TicketPolicy, TriagePolicy,
};
use super::self_service::{OwnershipPolicy, SelfServicePolicy};

/// The validated policy file.
#[derive(Debug, Clone)]
pub struct Policy {
    pub slack: SlackPolicy,
    pub tickets: TicketPolicy,
    pub sla: SlaPolicy,
    pub business_hours: BusinessHours,
    pub triage: TriagePolicy,
    /// None when the file has no `[oncall]` section.
    pub oncall: Option<OncallPolicy>,
    pub schedules: Schedules,
    /// None when the file has no `[survey]` section.
    pub survey: Option<SurveyPolicy>,
    pub delivery: Delivery,
    pub digest: DigestPolicy,
    pub roadmap: RoadmapPolicy,
    pub csat: CsatPolicy,
    /// `[capacity]`, with its defaults when absent.
    pub capacity: super::capacity::CapacityPolicy,
    /// `[self_service]`: the catalog offered before a ticket is filed.
    pub self_service: SelfServicePolicy,
    /// `[[ownership.areas]]`: who owns which topics.
    pub ownership: OwnershipPolicy,
}

impl Policy {
    /// The targets of a priority, by name (`P1`).
    pub fn priority(&self, name: &str) -> Option<&PriorityTarget> {
        self.sla.priorities.get(name)
    }

    /// The priority names, most urgent first (in name order: `P1`, `P2`, ...).
    pub fn priority_names(&self) -> impl Iterator<Item = &str> {
        self.sla.priorities.keys().map(String::as_str)
    }

    /// Whether the user may triage, assign and resolve.
    pub fn is_platform_team(&self, user_id: &str) -> bool {
        self.slack
            .platform_team
            .iter()
            .any(|member| member == user_id)
    }
}
