//! Checks of the scheduled work: `[oncall]`, `[schedules]` and `[survey]`.

use std::time::Duration;

use super::fields::{channel_id, count_or, cron, each, non_blank, positive_duration_or, user_id};
use crate::settings::problem::Problems;
use crate::settings::raw::{RawOncall, RawSchedules, RawSurvey, Section};
use crate::settings::sections::{OncallPolicy, Schedules, SurveyPolicy};

const HOUR: u64 = 60 * 60;

/// `Some(None)` when the section is absent, which is fine: there is then no on-call.
pub fn oncall(raw: Section<RawOncall>, p: &mut Problems) -> Option<Option<OncallPolicy>> {
    let raw = match raw {
        Section::Broken => return None,
        Section::Absent => return Some(None),
        Section::Present(raw) => raw,
    };
    if raw.rotation.get_ref().is_empty() {
        p.at(
            "oncall.rotation",
            raw.rotation.span(),
            "needs at least one user id",
        );
    }
    let rotation = each(p, "oncall.rotation", raw.rotation.get_ref(), user_id);
    let handoff = cron(p, "oncall.handoff", &raw.handoff);
    let escalate_to = each(p, "oncall.escalate_to", &raw.escalate_to, user_id);
    let escalate_after = positive_duration_or(
        p,
        "oncall.escalate_after",
        raw.escalate_after.as_ref(),
        Duration::from_secs(30 * 60),
    );
    let max_rounds = count_or(p, "oncall.max_rounds", raw.max_rounds.as_ref(), 1, 3);
    Some(Some(OncallPolicy {
        rotation: rotation.filter(|r| !r.is_empty())?,
        handoff: handoff?,
        escalate_to: escalate_to?,
        escalate_after: escalate_after?,
        max_rounds: max_rounds?,
    }))
}

pub fn schedules(raw: Section<RawSchedules>, p: &mut Problems) -> Option<Schedules> {
    let raw = match raw {
        Section::Broken => return None,
        Section::Absent => return Some(Schedules::default()),
        Section::Present(raw) => raw,
    };
    let mut optional = |key: &str, text: &Option<_>| match text {
        None => Some(None),
        Some(text) => cron(p, key, text).map(Some),
    };
    let roadmap_digest = optional("schedules.roadmap_digest", &raw.roadmap_digest);
    let pulse_survey = optional("schedules.pulse_survey", &raw.pulse_survey);
    Some(Schedules {
        roadmap_digest: roadmap_digest?,
        pulse_survey: pulse_survey?,
    })
}

/// `Some(None)` when the section is absent: no pulse surveys.
pub fn survey(raw: Section<RawSurvey>, p: &mut Problems) -> Option<Option<SurveyPolicy>> {
    let raw = match raw {
        Section::Broken => return None,
        Section::Absent => return Some(None),
        Section::Present(raw) => raw,
    };
    let audience_channel = channel_id(p, "survey.audience_channel", &raw.audience_channel);
    let question = match &raw.question {
        None => Some("How satisfied are you with the platform tools this week?".to_string()),
        Some(text) => non_blank(p, "survey.question", text),
    };
    let threshold = raw.anonymity_threshold.as_ref();
    let anonymity_threshold = count_or(p, "survey.anonymity_threshold", threshold, 1, 5);
    let close_after = positive_duration_or(
        p,
        "survey.close_after",
        raw.close_after.as_ref(),
        Duration::from_secs(72 * HOUR),
    );
    Some(Some(SurveyPolicy {
        audience_channel: audience_channel?,
        question: question?,
        anonymity_threshold: anonymity_threshold?,
        close_after: close_after?,
    }))
}
