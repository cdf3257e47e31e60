//! Typed settings, read once: the environment (`Env`) and the policy file (`Policy`).

mod capacity;
mod cron_words;
mod csat;
mod env;
pub mod fire_times;
mod load;
mod locate;
mod policy;
mod problem;
mod raw;
mod secret;
mod section;
mod sections;
mod self_service;
mod sla_table;
mod validate;

#[cfg(test)]
mod policy_tests;

pub use capacity::CapacityPolicy;
pub use csat::CsatPolicy;
pub use env::{Env, EnvError, LogFormat};
pub use load::PolicyError;
pub use policy::Policy;
pub use problem::ConfigProblem;
pub use secret::Secret;
pub use sections::{
    BusinessHours, CronSchedule, Delivery, DigestPolicy, OncallPolicy, PriorityTarget,
    RoadmapPolicy, Schedules, SlaPolicy, SlackPolicy, SurveyPolicy, TicketPolicy, TriagePolicy,
    TriageRule,
};
pub use self_service::{
    CatalogEntry, OwnershipArea, OwnershipPolicy, SelfServicePolicy, PLATFORM_OWNER,
};

/// Everything the process is configured with.
#[derive(Debug, Clone)]
pub struct Settings {
    pub env: Env,
    pub policy: Policy,
}

/// Why settings could not be loaded: the environment or the policy file.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error(transparent)]
    Env(#[from] EnvError),
    #[error(transparent)]
    Policy(#[from] PolicyError),
}

impl Settings {
    /// Reads the process environment, then the policy file it names (or the built-in one).
    pub fn from_env() -> Result<Settings, SettingsError> {
        Settings::from_lookup(|name| std::env::var(name).ok())
    }

    /// As `from_env`, reading variables through `lookup`.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Settings, SettingsError> {
        let env = Env::from_lookup(lookup)?;
        let policy = Policy::load(env.config_path.as_deref())?;
        Ok(Settings { env, policy })
    }
}
