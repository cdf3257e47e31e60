//! Checks of the scheduled work: `[oncall]`, `[schedules]` and `[survey]`, and of the cron
//! expressions they hold.

use std::time::Duration;

use super::fields::{
    channel_id, count_or, duration, each, non_blank, positive_duration_or, user_id,
};
use crate::settings::cron_words;
use crate::settings::fire_times::CRON_SPAN;
use crate::settings::problem::Problems;
use crate::settings::raw::{RawOncall, RawSchedules, RawSurvey, Section, Text};
use crate::settings::sections::{CronSchedule, OncallPolicy, Schedules, SurveyPolicy};

const HOUR: u64 = 60 * 60;

/// A cron expression as this bot reads it: six or seven fields, seconds first, weekdays by
/// name. Numbers in the weekday field are refused: the `cron` crate counts them from
/// Sunday = 1, so `1-5`, Monday to Friday to anyone used to Unix cron, would run Sunday to
/// Thursday. Refusing is safer than running a handoff or a survey on the wrong day.
fn cron(p: &mut Problems, key: &str, text: &Text) -> Option<CronSchedule> {
    let expr = text.get_ref().trim();
    let fields: Vec<&str> = expr.split_whitespace().collect();
    if fields.len() == 5 {
        let message = format!(
            "invalid cron expression {:?}: it has 5 fields, and this one wants 6, seconds first \
             (sec min hour day month weekday), such as \"0 {expr}\"",
            text.get_ref()
        );
        p.at(key, text.span(), message);
        return None;
    }
    let schedule = super::fields::cron(p, key, text)?;
    if let Some(weekday) = fields.get(5).filter(|w| numbered_weekday(w)) {
        let message = format!(
            "the weekday field {weekday:?} has numbers, which this cron counts from Sunday = 1 \
             (unlike Unix cron): here it means {}; write day names instead, such as Mon-Fri",
            cron_words::describe(schedule.schedule())
        );
        p.at(key, text.span(), message);
        return None;
    }
    if schedule.schedule().after(&CRON_SPAN.0).next().is_none() {
        let message = format!("the cron expression {:?} never fires", text.get_ref());
        p.at(key, text.span(), message);
        return None;
    }
    Some(schedule)
}

/// Whether a weekday field names a day by number (`2`, `1-5`, `Mon,3`); a step (`*/2`) is
/// not a day.
fn numbered_weekday(field: &str) -> bool {
    field.split(',').any(|item| {
        let days = item.split('/').next().unwrap_or(item);
        days.chars().any(|c| c.is_ascii_digit())
    })
}

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
    let grace = match &raw.grace {
        None => Some(Schedules::default().grace),
        Some(text) => duration(p, "schedules.grace", text),
    };
    Some(Schedules {
        roadmap_digest: roadmap_digest?,
        pulse_survey: pulse_survey?,
        grace: grace?,
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
        local_time: flag(&raw.local_time),
        reminder: flag(&raw.reminder),
        exclude_platform_team: flag(&raw.exclude_platform_team),
    }))
}

/// A `[survey]` switch: true unless set false (a boolean TOML read cannot be wrong).
fn flag(raw: &Option<toml::Spanned<bool>>) -> bool {
    raw.as_ref().is_none_or(|s| *s.get_ref())
}

#[cfg(test)]
mod tests {
    use super::numbered_weekday;
    use crate::settings::Policy;

    const BUILTIN: &str = include_str!("../default_policy.toml");

    /// The problems of the built-in policy with `from` replaced by `to`, as printed.
    fn problems(from: &str, to: &str) -> Vec<String> {
        assert!(BUILTIN.contains(from), "{from}");
        let text = BUILTIN.replace(from, to);
        match Policy::parse(&text) {
            Ok(_) => Vec::new(),
            Err(problems) => problems.iter().map(ToString::to_string).collect(),
        }
    }

    #[test]
    fn a_unix_style_five_field_expression_is_refused_with_the_fix() {
        let found = problems(
            r#"handoff = "0 0 10 * * Mon""#,
            r#"handoff = "0 10 * * Mon""#,
        );
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(
            found[0].starts_with("oncall.handoff (line "),
            "{}",
            found[0]
        );
        assert!(
            found[0].contains("seconds first") && found[0].contains(r#""0 0 10 * * Mon""#),
            "{}",
            found[0]
        );
    }

    #[test]
    fn a_numbered_weekday_is_refused_saying_what_it_would_mean() {
        let found = problems(
            r#"roadmap_digest = "0 0 9 * * Mon""#,
            r#"roadmap_digest = "0 0 9 * * 1-5""#,
        );
        assert_eq!(found.len(), 1, "{found:?}");
        let problem = &found[0];
        assert!(
            problem.starts_with("schedules.roadmap_digest (line "),
            "{problem}"
        );
        assert!(
            problem.contains("Sunday = 1")
                && problem.contains("Mondays to Thursdays and Sundays at 09:00")
                && problem.contains("day names"),
            "{problem}"
        );
    }

    #[test]
    fn an_expression_that_never_fires_is_refused() {
        let found = problems(
            r#"pulse_survey = "0 0 14 * * Fri""#,
            r#"pulse_survey = "0 0 14 30 Feb *""#,
        );
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(
            found[0].starts_with("schedules.pulse_survey") && found[0].ends_with("never fires"),
            "{}",
            found[0]
        );
    }

    #[test]
    fn a_cron_reason_names_the_key_and_what_is_wrong() {
        let found = problems(
            r#"pulse_survey = "0 0 14 * * Fri""#,
            r#"pulse_survey = "0 0 25 * * Fri""#,
        );
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(
            found[0].starts_with("schedules.pulse_survey"),
            "{}",
            found[0]
        );
        assert!(
            found[0].contains("sec min hour day month weekday"),
            "{}",
            found[0]
        );
    }

    #[test]
    fn grace_defaults_to_an_hour_and_takes_any_duration() {
        assert_eq!(
            Policy::builtin().schedules.grace,
            std::time::Duration::from_secs(3600)
        );
        let text = BUILTIN.replace("[schedules]\n", "[schedules]\ngrace = \"20m\"\n");
        let policy = Policy::parse(&text).unwrap();
        assert_eq!(policy.schedules.grace, std::time::Duration::from_secs(1200));
        let found = problems("[schedules]\n", "[schedules]\ngrace = \"soon\"\n");
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(
            found[0].starts_with("schedules.grace (line "),
            "{}",
            found[0]
        );
    }

    #[test]
    fn only_days_given_by_number_count_as_numbered() {
        for (field, numbered) in [
            ("Mon", false),
            ("Mon-Fri", false),
            ("*", false),
            ("?", false),
            ("*/2", false),
            ("2", true),
            ("1-5", true),
            ("Mon,3", true),
        ] {
            assert_eq!(numbered_weekday(field), numbered, "{field}");
        }
    }

    #[test]
    fn the_survey_switches_default_to_on_and_are_read_when_set() {
        let builtin = Policy::builtin();
        let survey = builtin
            .survey
            .as_ref()
            .expect("the built-in policy has [survey]");
        assert!(survey.local_time && survey.reminder && survey.exclude_platform_team);
        let text = BUILTIN.replace(
            r#"close_after = "72h""#,
            "close_after = \"72h\"\nlocal_time = false\nreminder = false\nexclude_platform_team = false",
        );
        let policy = Policy::parse(&text).expect("valid");
        let survey = policy.survey.expect("[survey]");
        assert!(!survey.local_time && !survey.reminder && !survey.exclude_platform_team);
        assert!(
            !problems(
                r#"close_after = "72h""#,
                "close_after = \"72h\"\nremind = true"
            )
            .is_empty(),
            "an unknown key is a problem"
        );
        assert!(!problems(
            r#"close_after = "72h""#,
            "close_after = \"72h\"\nreminder = \"yes\""
        )
        .is_empty());
    }
}
