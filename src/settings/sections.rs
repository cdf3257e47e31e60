//! The typed, validated sections of a policy. Every value here has passed `validate.rs`.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use chrono::{Datelike, NaiveDate, NaiveTime, Weekday};
use chrono_tz::Tz;
use regex::Regex;

/// `[slack]`: where the bot listens and posts, and who the platform team is.
#[derive(Debug, Clone)]
pub struct SlackPolicy {
    /// New tickets are posted here with triage buttons.
    pub intake_channel: Option<String>,
    /// The platform team's channel: breach pings, escalations.
    pub team_channel: Option<String>,
    /// Roadmap digests and survey results.
    pub announce_channel: Option<String>,
    /// Top-level messages in these channels become tickets.
    pub help_channels: Vec<String>,
    /// The reaction name (no colons) that files a message as a ticket.
    pub ticket_emoji: String,
    /// User ids who may triage, assign and resolve.
    pub platform_team: Vec<String>,
}

/// `[tickets]`.
#[derive(Debug, Clone)]
pub struct TicketPolicy {
    /// 1-10 uppercase ASCII letters; keys look like `PLAT-42`.
    pub key_prefix: String,
}

/// `[sla]`.
#[derive(Debug, Clone)]
pub struct SlaPolicy {
    pub timezone: Tz,
    /// The fraction of a target, in (0, 1), at which on-call is warned.
    pub warn_at: f64,
    /// At least one. Ordered by name, so `P1` comes before `P2` (and before `P10`).
    pub priorities: BTreeMap<String, PriorityTarget>,
}

/// `[sla.priorities.<NAME>]`: the targets of one priority.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PriorityTarget {
    pub first_response: Duration,
    /// Never shorter than `first_response`.
    pub resolution: Duration,
    /// When true the clocks run only in business hours; otherwise 24/7.
    pub business_hours: bool,
}

/// `[business_hours]`, in `sla.timezone`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BusinessHours {
    /// Non-empty, no duplicates, Monday first.
    pub days: Vec<Weekday>,
    pub start: NaiveTime,
    /// Later than `start`.
    pub end: NaiveTime,
    /// Sorted, no duplicates.
    pub holidays: Vec<NaiveDate>,
}

impl BusinessHours {
    /// Whether `date` is one of the working days and not a holiday.
    pub fn is_working_day(&self, date: NaiveDate) -> bool {
        self.days.contains(&date.weekday()) && self.holidays.binary_search(&date).is_err()
    }
}

impl Default for BusinessHours {
    /// Monday to Friday, 09:00 to 17:00, no holidays.
    fn default() -> Self {
        use Weekday::*;
        Self {
            days: vec![Mon, Tue, Wed, Thu, Fri],
            start: NaiveTime::from_hms_opt(9, 0, 0).expect("valid time"),
            end: NaiveTime::from_hms_opt(17, 0, 0).expect("valid time"),
            holidays: Vec::new(),
        }
    }
}

/// `[triage]`.
#[derive(Debug, Clone)]
pub struct TriagePolicy {
    /// Names a priority of `sla.priorities`.
    pub default_priority: String,
    pub default_category: String,
    /// In file order.
    pub rules: Vec<TriageRule>,
}

/// `[[triage.rules]]`: requests matching a keyword or pattern get this category and priority.
#[derive(Debug, Clone)]
pub struct TriageRule {
    /// Unique among the rules when given.
    pub name: Option<String>,
    /// As written; a rule has at least one keyword or pattern.
    pub keywords: Vec<String>,
    /// The words of each keyword, as triage compares them (split once, at load).
    pub keyword_words: Vec<crate::words::Words>,
    pub patterns: Vec<Regex>,
    pub category: String,
    /// Names a priority of `sla.priorities`.
    pub priority: String,
    /// A user id to assign matching tickets to.
    pub assignee: Option<String>,
    /// A channel id: when set, the rule applies only to requests from that channel.
    pub channel: Option<String>,
}

/// `[oncall]`.
#[derive(Debug, Clone)]
pub struct OncallPolicy {
    /// User ids, non-empty, in rotation order.
    pub rotation: Vec<String>,
    /// When the rotation moves on, in `sla.timezone`.
    pub handoff: CronSchedule,
    /// User ids paged when on-call does not respond.
    pub escalate_to: Vec<String>,
    pub escalate_after: Duration,
    /// How many escalation rounds before giving up; at least 1.
    pub max_rounds: u32,
}

/// `[schedules]`: the cron jobs, each optional, in `sla.timezone`.
#[derive(Debug, Clone)]
pub struct Schedules {
    pub roadmap_digest: Option<CronSchedule>,
    pub pulse_survey: Option<CronSchedule>,
    /// A run missed while the bot was down still runs at start-up if it is at most this late.
    pub grace: Duration,
}

impl Default for Schedules {
    fn default() -> Self {
        Self {
            roadmap_digest: None,
            pulse_survey: None,
            grace: Duration::from_secs(60 * 60),
        }
    }
}

/// `[survey]`.
#[derive(Debug, Clone)]
pub struct SurveyPolicy {
    /// The channel whose members are asked.
    pub audience_channel: String,
    pub question: String,
    /// Results are shown only with at least this many answers; at least 1.
    pub anonymity_threshold: u32,
    pub close_after: Duration,
    /// `schedules.pulse_survey` at that time in each person's own timezone (else in
    /// `sla.timezone`, everyone at once).
    pub local_time: bool,
    /// One reminder halfway to the close, to those who have not answered.
    pub reminder: bool,
    /// The platform team is not asked about its own tools.
    pub exclude_platform_team: bool,
}

/// `[delivery]`: how the outbox sender retries and paces messages to Slack.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Delivery {
    /// Attempts per message before it is given up; at least 1.
    pub max_attempts: u32,
    /// The first retry delay, doubled each attempt up to `retry_max`.
    pub retry_base: Duration,
    pub retry_max: Duration,
    /// The time between messages to one channel once its burst is spent; zero means no pacing.
    pub channel_interval: Duration,
    /// Messages a channel may receive at once before pacing starts; at least 1.
    pub channel_burst: u32,
}

impl Default for Delivery {
    fn default() -> Self {
        Self {
            max_attempts: 8,
            retry_base: Duration::from_secs(1),
            retry_max: Duration::from_secs(5 * 60),
            channel_interval: Duration::from_secs(1),
            channel_burst: 3,
        }
    }
}

/// `[digest]`: the roadmap digest (`schedules.roadmap_digest`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DigestPolicy {
    /// No digest when no roadmap item changed and no ticket was opened or resolved since
    /// the last one.
    pub skip_when_quiet: bool,
}

impl Default for DigestPolicy {
    fn default() -> Self {
        Self {
            skip_when_quiet: true,
        }
    }
}

/// `[roadmap]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RoadmapPolicy {
    /// Owners of in-progress items unchanged this long are reminded; longer than zero.
    pub stale_after: Duration,
}

impl Default for RoadmapPolicy {
    fn default() -> Self {
        Self {
            stale_after: Duration::from_secs(14 * 24 * 60 * 60),
        }
    }
}

/// A cron schedule with seconds (`0 0 10 * * Mon`), kept with the text it was written as.
#[derive(Clone)]
pub struct CronSchedule {
    expr: String,
    schedule: cron::Schedule,
}

impl CronSchedule {
    pub fn parse(expr: &str) -> Result<Self, cron::error::Error> {
        let schedule = expr.parse::<cron::Schedule>()?;
        Ok(Self {
            expr: expr.to_string(),
            schedule,
        })
    }

    /// The expression as written in the policy file.
    pub fn expr(&self) -> &str {
        &self.expr
    }

    pub fn schedule(&self) -> &cron::Schedule {
        &self.schedule
    }

    /// The instants it fires strictly after `after`, read in `tz`, in increasing order.
    pub fn fire_times(
        &self,
        tz: chrono_tz::Tz,
        after: chrono::DateTime<chrono::Utc>,
    ) -> super::fire_times::FireTimes<'_> {
        super::fire_times::FireTimes::after(&self.schedule, tz, after)
    }
}

impl fmt::Debug for CronSchedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CronSchedule({:?})", self.expr)
    }
}

impl fmt::Display for CronSchedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.expr)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn holidays_and_weekends_are_not_working_days() {
        let hours = BusinessHours {
            holidays: vec![NaiveDate::from_ymd_opt(2026, 12, 25).unwrap()],
            ..BusinessHours::default()
        };
        let day = |d| NaiveDate::from_ymd_opt(2026, 12, d).unwrap();
        assert!(hours.is_working_day(day(24)), "Thursday");
        assert!(!hours.is_working_day(day(25)), "Christmas, a Friday");
        assert!(!hours.is_working_day(day(26)), "Saturday");
    }

    #[test]
    fn cron_schedule_keeps_its_text_and_finds_the_next_time() {
        let cron = CronSchedule::parse("0 0 10 * * Mon").unwrap();
        assert_eq!(cron.expr(), "0 0 10 * * Mon");
        let next = cron.schedule().upcoming(chrono::Utc).next().unwrap();
        assert_eq!(next.weekday(), Weekday::Mon);
        assert!(CronSchedule::parse("every monday").is_err());
    }
}
