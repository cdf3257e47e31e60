//! The policy file as written: serde structs that mirror the TOML, spans kept for error lines.
//!
//! Nothing here is validated beyond TOML types; `validate.rs` turns these into the typed
//! policy. Every struct denies unknown fields so that a typo is an error, not a silence.

use std::collections::BTreeMap;

use serde::de::{DeserializeOwned, IgnoredAny};
use serde::Deserialize;
use toml::{Spanned, Value};

use super::csat::RawCsat;
use super::problem::Problems;
// Where every section's reader finds them (validate/ imports them from here too).
pub(super) use super::section::{Section, Text};

/// The top level: only here to reject unknown sections; each section is read on its own.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)] // the fields exist only so that serde knows the section names
pub(super) struct Sections {
    slack: Option<IgnoredAny>,
    tickets: Option<IgnoredAny>,
    sla: Option<IgnoredAny>,
    business_hours: Option<IgnoredAny>,
    triage: Option<IgnoredAny>,
    oncall: Option<IgnoredAny>,
    schedules: Option<IgnoredAny>,
    survey: Option<IgnoredAny>,
    delivery: Option<IgnoredAny>,
    digest: Option<IgnoredAny>,
    roadmap: Option<IgnoredAny>,
    csat: Option<IgnoredAny>,
    capacity: Option<IgnoredAny>,
    self_service: Option<IgnoredAny>,
    ownership: Option<IgnoredAny>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub(super) struct RawSlack {
    pub intake_channel: Option<Text>,
    pub team_channel: Option<Text>,
    pub announce_channel: Option<Text>,
    pub help_channels: Vec<Text>,
    pub ticket_emoji: Option<Text>,
    pub platform_team: Vec<Text>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub(super) struct RawTickets {
    pub key_prefix: Option<Text>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub(super) struct RawSla {
    pub timezone: Option<Text>,
    pub warn_at: Option<Spanned<f64>>,
    pub priorities: BTreeMap<String, Spanned<RawPriority>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawPriority {
    pub first_response: Text,
    pub resolution: Text,
    #[serde(default)]
    pub business_hours: bool,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub(super) struct RawBusinessHours {
    pub days: Option<Spanned<Vec<Text>>>,
    /// A string "HH:MM", or a TOML local time.
    pub start: Option<Spanned<Value>>,
    pub end: Option<Spanned<Value>>,
    /// Strings "YYYY-MM-DD", or TOML local dates.
    pub holidays: Vec<Spanned<Value>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub(super) struct RawTriage {
    pub default_priority: Option<Text>,
    pub default_category: Option<Text>,
    pub rules: Vec<Spanned<RawRule>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRule {
    pub name: Option<Text>,
    #[serde(default)]
    pub keywords: Vec<Text>,
    #[serde(default)]
    pub patterns: Vec<Text>,
    pub category: Text,
    pub priority: Text,
    pub assignee: Option<Text>,
    pub channel: Option<Text>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawOncall {
    pub rotation: Spanned<Vec<Text>>,
    pub handoff: Text,
    #[serde(default)]
    pub escalate_to: Vec<Text>,
    pub escalate_after: Option<Text>,
    pub max_rounds: Option<Spanned<i64>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub(super) struct RawSchedules {
    pub roadmap_digest: Option<Text>,
    pub pulse_survey: Option<Text>,
    pub grace: Option<Text>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSurvey {
    pub audience_channel: Text,
    pub question: Option<Text>,
    pub anonymity_threshold: Option<Spanned<i64>>,
    pub close_after: Option<Text>,
    pub local_time: Option<Spanned<bool>>,
    pub reminder: Option<Spanned<bool>>,
    pub exclude_platform_team: Option<Spanned<bool>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub(super) struct RawDelivery {
    pub max_attempts: Option<Spanned<i64>>,
    pub retry_base: Option<Text>,
    pub retry_max: Option<Text>,
    pub channel_interval: Option<Text>,
    pub channel_burst: Option<Spanned<i64>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub(super) struct RawDigest {
    pub skip_when_quiet: Option<Spanned<bool>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub(super) struct RawRoadmap {
    pub stale_after: Option<Text>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub(super) struct RawSelfService {
    pub offer_timeout: Option<Text>,
    pub minutes_saved_per_deflection: Option<Spanned<i64>>,
    pub entries: Vec<Spanned<RawCatalogEntry>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawCatalogEntry {
    pub title: Text,
    pub link: Text,
    pub summary: Text,
    #[serde(default)]
    pub keywords: Vec<Text>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub(super) struct RawOwnership {
    pub areas: Vec<Spanned<RawArea>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawArea {
    pub name: Text,
    pub keywords: Vec<Text>,
    pub owner: Text,
    pub channel: Option<Text>,
    pub note: Option<Text>,
}

/// Declares a one-section view of the document. Reading each section on its own, from the
/// whole text so that spans stay right, lets one broken section not hide the problems of
/// the others.
macro_rules! one_section {
    ($($doc:ident { $field:ident: $raw:ty })*) => {$(
        #[derive(Deserialize)]
        pub(super) struct $doc {
            pub $field: Option<$raw>,
        }
    )*};
}

one_section! {
    SlackDoc { slack: RawSlack }
    TicketsDoc { tickets: RawTickets }
    SlaDoc { sla: RawSla }
    BusinessHoursDoc { business_hours: RawBusinessHours }
    TriageDoc { triage: RawTriage }
    OncallDoc { oncall: RawOncall }
    SchedulesDoc { schedules: RawSchedules }
    SurveyDoc { survey: RawSurvey }
    DeliveryDoc { delivery: RawDelivery }
    DigestDoc { digest: RawDigest }
    RoadmapDoc { roadmap: RawRoadmap }
    CsatDoc { csat: RawCsat }
    CapacityDoc { capacity: super::capacity::RawCapacity }
    SelfServiceDoc { self_service: RawSelfService }
    OwnershipDoc { ownership: RawOwnership }
}

/// The whole file as read, each section on its own.
pub(super) struct RawPolicy {
    pub slack: Section<RawSlack>,
    pub tickets: Section<RawTickets>,
    pub sla: Section<RawSla>,
    pub business_hours: Section<RawBusinessHours>,
    pub triage: Section<RawTriage>,
    pub oncall: Section<RawOncall>,
    pub schedules: Section<RawSchedules>,
    pub survey: Section<RawSurvey>,
    pub delivery: Section<RawDelivery>,
    pub digest: Section<RawDigest>,
    pub roadmap: Section<RawRoadmap>,
    pub csat: Section<RawCsat>,
    pub capacity: Section<super::capacity::RawCapacity>,
    pub self_service: Section<RawSelfService>,
    pub ownership: Section<RawOwnership>,
}

/// Reads every section, reporting toml's errors: one per broken section, and unknown
/// sections. A syntax error breaks them all, but is reported once.
pub(super) fn read(text: &str, problems: &mut Problems) -> RawPolicy {
    if let Err(error) = toml::from_str::<Sections>(text) {
        problems.toml(&error);
    }
    RawPolicy {
        slack: section(text, problems, |d: SlackDoc| d.slack),
        tickets: section(text, problems, |d: TicketsDoc| d.tickets),
        sla: section(text, problems, |d: SlaDoc| d.sla),
        business_hours: section(text, problems, |d: BusinessHoursDoc| d.business_hours),
        triage: section(text, problems, |d: TriageDoc| d.triage),
        oncall: section(text, problems, |d: OncallDoc| d.oncall),
        schedules: section(text, problems, |d: SchedulesDoc| d.schedules),
        survey: section(text, problems, |d: SurveyDoc| d.survey),
        delivery: section(text, problems, |d: DeliveryDoc| d.delivery),
        digest: section(text, problems, |d: DigestDoc| d.digest),
        roadmap: section(text, problems, |d: RoadmapDoc| d.roadmap),
        csat: section(text, problems, |d: CsatDoc| d.csat),
        capacity: section(text, problems, |d: CapacityDoc| d.capacity),
        self_service: section(text, problems, |d: SelfServiceDoc| d.self_service),
        ownership: section(text, problems, |d: OwnershipDoc| d.ownership),
    }
}

fn section<D: DeserializeOwned, T>(
    text: &str,
    problems: &mut Problems,
    field: impl FnOnce(D) -> Option<T>,
) -> Section<T> {
    match toml::from_str::<D>(text) {
        Ok(doc) => field(doc).map_or(Section::Absent, Section::Present),
        Err(error) => {
            problems.toml(&error);
            Section::Broken
        }
    }
}
