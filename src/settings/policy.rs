//! The policy file: `Policy`, parsed from TOML into typed, validated settings, with every
//! problem reported at once.

use std::path::{Path, PathBuf};

use super::csat::CsatPolicy;
use super::problem::{ConfigProblem, Problems};
use super::sections::{
    BusinessHours, Delivery, DigestPolicy, OncallPolicy, PriorityTarget, RoadmapPolicy, Schedules,
    SlaPolicy, SlackPolicy, SurveyPolicy, TicketPolicy, TriagePolicy,
};
use super::self_service::{OwnershipPolicy, SelfServicePolicy};
use super::{raw, validate};

/// The built-in policy: exactly the example of CONTRACT.md.
const BUILTIN: &str = include_str!("default_policy.toml");

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

/// Why a policy could not be loaded. The message is one line; `problems` has them all.
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    #[error("cannot read policy file {}: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}", invalid_summary(path.as_deref(), problems))]
    Invalid {
        path: Option<PathBuf>,
        problems: Vec<ConfigProblem>,
    },
}

fn invalid_summary(path: Option<&Path>, problems: &[ConfigProblem]) -> String {
    let file = path.map_or("the policy".to_string(), |p| {
        format!("policy file {}", p.display())
    });
    match problems {
        [] => format!("{file} is invalid"),
        [only] => format!("{file} is invalid: {only}"),
        [first, rest @ ..] => format!("{file} is invalid: {first} (and {} more)", rest.len()),
    }
}

impl Policy {
    /// Parses and checks a policy file's text, reporting every problem found.
    pub fn parse(text: &str) -> Result<Policy, Vec<ConfigProblem>> {
        let mut problems = Problems::new(text);
        let raw = raw::read(text, &mut problems);
        match validate::policy(raw, &mut problems) {
            Some(policy) if problems.is_empty() => Ok(policy),
            _ if problems.is_empty() => {
                // Every check that gives up reports why; this is a bug, but still an error.
                problems.nowhere("", "the policy is invalid");
                Err(problems.into_sorted())
            }
            _ => Err(problems.into_sorted()),
        }
    }

    /// The built-in default policy, used when no file is configured.
    pub fn builtin() -> Policy {
        Policy::parse(BUILTIN).expect("the built-in policy is valid (tested)")
    }

    /// Reads the policy file at `path`, or the built-in policy when there is none.
    pub fn load(path: Option<&Path>) -> Result<Policy, PolicyError> {
        let Some(path) = path else {
            return Ok(Policy::builtin());
        };
        let text = std::fs::read_to_string(path).map_err(|source| PolicyError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Policy::parse(&text).map_err(|problems| PolicyError::Invalid {
            path: Some(path.to_path_buf()),
            problems,
        })
    }

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
