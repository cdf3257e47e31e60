//! Reading the policy: a file's text, or the built-in default, parsed (`raw`) and checked
//! (`validate`) into a [`Policy`], with every problem reported at once.

use std::path::{Path, PathBuf};

use super::policy::Policy;
use super::problem::{ConfigProblem, Problems};
use super::{raw, validate};

/// The built-in policy: exactly the example of CONTRACT.md.
const BUILTIN: &str = include_str!("default_policy.toml");

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
}
