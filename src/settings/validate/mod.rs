//! Turns the policy as read (`raw.rs`) into the typed policy, reporting every problem.
//!
//! Each section is checked on its own; checks that refer to another section (a rule's
//! priority) are skipped when that section could not be read, since its problem is
//! already reported.

mod delivery;
mod digest;
pub(super) mod fields;
mod jobs;
mod self_service;
mod sla;
mod slack;
mod triage;

use super::policy::Policy;
use super::problem::Problems;
use super::raw::RawPolicy;

/// The typed policy, or None when any problem was reported.
pub(super) fn policy(raw: RawPolicy, p: &mut Problems) -> Option<Policy> {
    let slack = slack::slack(raw.slack, p);
    let tickets = slack::tickets(raw.tickets, p);
    let sla = sla::sla(raw.sla, p);
    let business_hours = sla::business_hours(raw.business_hours, p);
    let triage = triage::triage(raw.triage, sla.names.as_ref(), p);
    let oncall = jobs::oncall(raw.oncall, p);
    let schedules = jobs::schedules(raw.schedules, p);
    let survey = jobs::survey(raw.survey, p);
    let delivery = delivery::delivery(raw.delivery, p);
    let digest = digest::digest(raw.digest);
    let roadmap = digest::roadmap(raw.roadmap, p);
    let csat = super::csat::csat(raw.csat, p);
    let capacity = super::capacity::capacity(raw.capacity, p);
    let self_service = self_service::self_service(raw.self_service, p);
    let ownership = self_service::ownership(raw.ownership, p);

    if !p.is_empty() {
        return None;
    }
    Some(Policy {
        slack: slack?,
        tickets: tickets?,
        sla: sla.policy?,
        business_hours: business_hours?,
        triage: triage?,
        oncall: oncall?,
        schedules: schedules?,
        survey: survey?,
        delivery: delivery?,
        digest: digest?,
        roadmap: roadmap?,
        csat: csat?,
        capacity: capacity?,
        self_service: self_service?,
        ownership: ownership?,
    })
}
