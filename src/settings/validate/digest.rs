//! Checks of `[digest]` and `[roadmap]`: the roadmap digest's and stale reminders' keys.

use std::time::Duration;

use super::fields::positive_duration_or;
use crate::settings::problem::Problems;
use crate::settings::raw::{RawDigest, RawRoadmap, Section};
use crate::settings::sections::{DigestPolicy, RoadmapPolicy};

/// A boolean cannot be wrong once TOML read it: only a broken section is a problem.
pub fn digest(raw: Section<RawDigest>) -> Option<DigestPolicy> {
    match raw {
        Section::Broken => None,
        Section::Absent => Some(DigestPolicy::default()),
        Section::Present(raw) => Some(DigestPolicy {
            skip_when_quiet: raw
                .skip_when_quiet
                .map_or(DigestPolicy::default().skip_when_quiet, |s| *s.get_ref()),
        }),
    }
}

pub fn roadmap(raw: Section<RawRoadmap>, p: &mut Problems) -> Option<RoadmapPolicy> {
    let raw = match raw {
        Section::Broken => return None,
        Section::Absent => return Some(RoadmapPolicy::default()),
        Section::Present(raw) => raw,
    };
    let default: Duration = RoadmapPolicy::default().stale_after;
    let stale_after =
        positive_duration_or(p, "roadmap.stale_after", raw.stale_after.as_ref(), default)?;
    Some(RoadmapPolicy { stale_after })
}

#[cfg(test)]
mod tests {
    use crate::settings::Policy;

    const BUILTIN: &str = include_str!("../default_policy.toml");

    #[test]
    fn without_the_sections_digests_skip_quiet_weeks_and_items_go_stale_after_two_weeks() {
        let policy = Policy::builtin();
        assert!(policy.digest.skip_when_quiet);
        assert_eq!(
            policy.roadmap.stale_after,
            std::time::Duration::from_secs(14 * 86_400)
        );
    }

    #[test]
    fn the_keys_are_read_and_a_bad_duration_is_reported_with_its_key() {
        let text = format!(
            "{BUILTIN}\n[digest]\nskip_when_quiet = false\n[roadmap]\nstale_after = \"3d\"\n"
        );
        let policy = Policy::parse(&text).expect("valid");
        assert!(!policy.digest.skip_when_quiet);
        assert_eq!(
            policy.roadmap.stale_after,
            std::time::Duration::from_secs(3 * 86_400)
        );
        for bad in ["\"soon\"", "\"0s\""] {
            let text = format!("{BUILTIN}\n[roadmap]\nstale_after = {bad}\n");
            let problems = Policy::parse(&text).expect_err("invalid");
            assert!(
                problems[0]
                    .to_string()
                    .starts_with("roadmap.stale_after (line "),
                "{}",
                problems[0]
            );
        }
        let text = format!("{BUILTIN}\n[digest]\nskip_when_quiet = \"yes\"\n");
        assert!(Policy::parse(&text).is_err(), "a string is not a boolean");
    }
}
