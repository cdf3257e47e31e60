//! Tests of `Policy::parse`, `load` and `builtin` against whole policy files.

use std::path::Path;
use std::time::Duration;

use chrono::{NaiveDate, NaiveTime, Weekday};

use super::*;

const EXAMPLE: &str = include_str!("default_policy.toml");

/// The example policy with `old` replaced by `new` (which must be there).
fn example_with(old: &str, new: &str) -> String {
    assert!(EXAMPLE.contains(old), "the example has no {old:?}");
    EXAMPLE.replacen(old, new, 1)
}

fn problems(text: &str) -> Vec<ConfigProblem> {
    match Policy::parse(text) {
        Ok(_) => panic!("expected problems in:\n{text}"),
        Err(problems) => problems,
    }
}

fn minutes(n: u64) -> Duration {
    Duration::from_secs(n * 60)
}

const MINIMAL: &str = "[sla.priorities.P1]\nfirst_response = \"1h\"\nresolution = \"1d\"\n";

#[test]
fn contract_example_policy_parses() {
    let policy = Policy::parse(EXAMPLE).unwrap_or_else(|p| panic!("{p:#?}"));
    assert_eq!(policy.slack.intake_channel.as_deref(), Some("C01INTAKE"));
    assert_eq!(policy.slack.team_channel.as_deref(), Some("C01PLATTEAM"));
    assert_eq!(
        policy.slack.announce_channel.as_deref(),
        Some("C01ANNOUNCE")
    );
    assert_eq!(policy.slack.help_channels, ["C01HELP"]);
    assert_eq!(policy.slack.ticket_emoji, "ticket");
    assert_eq!(policy.tickets.key_prefix, "PLAT");
    assert_eq!(policy.sla.timezone, chrono_tz::Europe::Berlin);
    assert_eq!(policy.sla.warn_at, 0.75);
    let names: Vec<&str> = policy.priority_names().collect();
    assert_eq!(names, ["P1", "P2", "P3", "P4"]);
    let p1 = policy.priority("P1").unwrap();
    assert_eq!(
        (p1.first_response, p1.resolution, p1.business_hours),
        (minutes(15), minutes(240), false)
    );
    let p4 = policy.priority("P4").unwrap();
    assert_eq!(
        (p4.first_response, p4.resolution, p4.business_hours),
        (minutes(1440), minutes(14400), true)
    );
    let hours = &policy.business_hours;
    assert_eq!(
        hours.days,
        [
            Weekday::Mon,
            Weekday::Tue,
            Weekday::Wed,
            Weekday::Thu,
            Weekday::Fri
        ]
    );
    assert_eq!(hours.start, NaiveTime::from_hms_opt(9, 0, 0).unwrap());
    assert_eq!(hours.end, NaiveTime::from_hms_opt(17, 30, 0).unwrap());
    assert_eq!(
        hours.holidays,
        [NaiveDate::from_ymd_opt(2026, 12, 25).unwrap()]
    );
    assert_eq!(policy.triage.default_priority, "P3");
    assert_eq!(policy.triage.default_category, "general");
    let rule = &policy.triage.rules[0];
    assert_eq!(rule.keywords, ["outage", "prod down", "sev1"]);
    assert_eq!(
        (rule.category.as_str(), rule.priority.as_str()),
        ("incident", "P1")
    );
    let oncall = policy.oncall.as_ref().unwrap();
    assert_eq!(oncall.rotation, ["U01ALICE", "U01BOB"]);
    assert_eq!(oncall.handoff.expr(), "0 0 10 * * Mon");
    assert_eq!(oncall.escalate_to, ["U01LEAD"]);
    assert_eq!((oncall.escalate_after, oncall.max_rounds), (minutes(30), 3));
    assert_eq!(
        policy.schedules.roadmap_digest.as_ref().unwrap().expr(),
        "0 0 9 * * Mon"
    );
    assert_eq!(
        policy.schedules.pulse_survey.as_ref().unwrap().expr(),
        "0 0 14 * * Fri"
    );
    let survey = policy.survey.as_ref().unwrap();
    assert_eq!(survey.audience_channel, "C01ENG");
    assert_eq!(
        (survey.anonymity_threshold, survey.close_after),
        (5, minutes(72 * 60))
    );
    assert_eq!(policy.delivery, Delivery::default());
}

/// CONTRACT.md's policy example, kept in the repository so the check below always runs.
const CONTRACT_EXAMPLE: &str = include_str!("../../tests/fixtures/contract_policy.toml");

#[test]
fn embedded_default_policy_is_exactly_the_contract_example() {
    assert_eq!(EXAMPLE, CONTRACT_EXAMPLE);
    assert!(Policy::parse(CONTRACT_EXAMPLE).is_ok());
}

#[test]
fn the_contract_example_fixture_is_the_one_in_contract_md_where_that_file_is_at_hand() {
    // CONTRACT.md sits in shared/, beside the repository, in the team's layout; a clone on
    // its own has only the fixture, which the test above checks.
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    let Some(contract) = here
        .ancestors()
        .map(|dir| dir.join("shared/CONTRACT.md"))
        .find(|path| path.is_file())
    else {
        return;
    };
    let text = std::fs::read_to_string(contract).unwrap();
    let section = &text[text.find("## Policy file").unwrap()..];
    let start = section.find("```toml\n").unwrap() + "```toml\n".len();
    let example = &section[start..start + section[start..].find("```").unwrap()];
    assert_eq!(
        example, CONTRACT_EXAMPLE,
        "CONTRACT.md changed: update the fixture"
    );
}

#[test]
fn builtin_policy_is_the_contract_example() {
    let policy = Policy::builtin();
    assert_eq!(policy.tickets.key_prefix, "PLAT");
    assert_eq!(policy.sla.priorities.len(), 4);
    assert!(policy.is_platform_team("U01ALICE"));
    assert!(!policy.is_platform_team("U01LEAD"));
}

#[test]
fn a_minimal_policy_gets_a_default_for_every_other_key() {
    let policy = Policy::parse(MINIMAL).unwrap();
    assert_eq!(policy.slack.intake_channel, None);
    assert!(policy.slack.help_channels.is_empty() && policy.slack.platform_team.is_empty());
    assert_eq!(policy.slack.ticket_emoji, "ticket");
    assert_eq!(policy.tickets.key_prefix, "PLAT");
    assert_eq!(policy.sla.timezone, chrono_tz::UTC);
    assert_eq!(policy.sla.warn_at, 0.75);
    assert_eq!(policy.business_hours, BusinessHours::default());
    assert_eq!(
        policy.triage.default_priority, "P1",
        "P3 is not defined, so the first"
    );
    assert_eq!(policy.triage.default_category, "general");
    assert!(policy.triage.rules.is_empty());
    assert!(policy.oncall.is_none() && policy.survey.is_none());
    assert!(policy.schedules.roadmap_digest.is_none() && policy.schedules.pulse_survey.is_none());
    let delivery = policy.delivery;
    assert_eq!((delivery.max_attempts, delivery.channel_burst), (8, 3));
    assert_eq!(
        (delivery.retry_base, delivery.retry_max),
        (Duration::from_secs(1), minutes(5))
    );
    assert_eq!(delivery.channel_interval, Duration::from_secs(1));
}

#[test]
fn optional_keys_beyond_the_contract_are_read() {
    let text = format!(
        "{MINIMAL}{}",
        r#"
[sla.priorities.P3]
first_response = "2h"
resolution = "2d"

[triage]
[[triage.rules]]
name = "database"
patterns = ['(?i)\bpostgres(ql)?\b']
category = "database"
priority = "P1"
assignee = "U01DBA"
channel = "C01DATA"

[oncall]
rotation = ["U01ALICE"]
handoff = "0 0 10 * * Mon"
max_rounds = 5

[survey]
audience_channel = "C01ENG"

[delivery]
max_attempts = 3
retry_base = "500ms"
retry_max = "1m"
channel_interval = "0s"
channel_burst = 1
"#
    );
    let policy = Policy::parse(&text).unwrap_or_else(|p| panic!("{p:#?}"));
    assert_eq!(
        policy.triage.default_priority, "P3",
        "P3 is the default when defined"
    );
    let rule = &policy.triage.rules[0];
    assert_eq!(rule.name.as_deref(), Some("database"));
    assert!(rule.patterns[0].is_match("our PostgreSQL is down"));
    assert_eq!(rule.assignee.as_deref(), Some("U01DBA"));
    assert_eq!(rule.channel.as_deref(), Some("C01DATA"));
    let oncall = policy.oncall.unwrap();
    assert_eq!((oncall.max_rounds, oncall.escalate_after), (5, minutes(30)));
    assert!(oncall.escalate_to.is_empty());
    let survey = policy.survey.unwrap();
    assert_eq!(
        survey.question,
        "How satisfied are you with the platform tools this week?"
    );
    assert_eq!(
        (survey.anonymity_threshold, survey.close_after),
        (5, minutes(72 * 60))
    );
    let expected = Delivery {
        max_attempts: 3,
        retry_base: Duration::from_millis(500),
        retry_max: minutes(1),
        channel_interval: Duration::ZERO,
        channel_burst: 1,
    };
    assert_eq!(policy.delivery, expected);
}

#[test]
fn business_hours_accept_toml_times_and_dates_too() {
    let hours = r#"
[business_hours]
days = ["sat", "Mon"]
start = 08:00:00
end = 12:00:00
holidays = [2026-12-26, "2026-12-25", 2026-12-26]
"#;
    let text = format!("{MINIMAL}{hours}");
    let hours = Policy::parse(&text).unwrap().business_hours;
    assert_eq!(hours.days, [Weekday::Mon, Weekday::Sat]);
    assert_eq!(
        (hours.start, hours.end),
        (
            NaiveTime::from_hms_opt(8, 0, 0).unwrap(),
            NaiveTime::from_hms_opt(12, 0, 0).unwrap()
        )
    );
    let day = |d| NaiveDate::from_ymd_opt(2026, 12, d).unwrap();
    assert_eq!(hours.holidays, [day(25), day(26)]);
}

#[test]
fn unknown_key_is_an_error_with_its_line() {
    let text = example_with("first_response = \"1h\"", "frist_response = \"1h\"");
    let problems = problems(&text);
    assert_eq!(problems.len(), 1, "{problems:#?}");
    let problem = &problems[0];
    assert_eq!(problem.key, "sla.priorities.P2.frist_response");
    assert_eq!(problem.line, Some(22));
    assert!(
        problem
            .message
            .starts_with("unknown field `frist_response`"),
        "{problem}"
    );
}

#[test]
fn unknown_section_is_an_error_with_its_line() {
    let text = example_with("[schedules]", "[schedule]");
    let problems = problems(&text);
    assert_eq!(problems.len(), 1, "{problems:#?}");
    assert_eq!(
        (problems[0].key.as_str(), problems[0].line),
        ("schedule", Some(57))
    );
    assert!(
        problems[0].message.starts_with("unknown field `schedule`"),
        "{}",
        problems[0]
    );
}

#[test]
fn toml_syntax_error_is_reported_once_with_its_line() {
    let text = example_with("warn_at = 0.75", "warn_at = 0.75 0.8");
    let problems = problems(&text);
    assert_eq!(problems.len(), 1, "{problems:#?}");
    assert_eq!(problems[0].line, Some(14));
    assert!(
        !problems[0].message.contains('\n'),
        "one line: {:?}",
        problems[0].message
    );
}

#[test]
fn problem_display_names_key_line_and_value() {
    let text = example_with("first_response = \"15m\"", "first_response = \"15x\"");
    let problems = problems(&text);
    let shown = problems[0].to_string();
    let expected = "sla.priorities.P1.first_response (line 17): invalid duration \"15x\": ";
    assert!(shown.starts_with(expected), "{shown}");
}

#[test]
fn every_problem_is_reported_not_just_the_first() {
    let mut text = EXAMPLE.to_string();
    for (old, new) in [
        (
            "team_channel = \"C01PLATTEAM\"",
            "team_channel = \"#platform\"",
        ),
        ("key_prefix = \"PLAT\"", "key_prefix = \"plat\""),
        ("resolution = \"4h\"", "resolution = \"4 parsecs\""),
        ("end = \"17:30\"", "end = \"25:00\""),
        ("priority = \"P1\"", "priority = \"P0\""),
        (
            "handoff = \"0 0 10 * * Mon\"",
            "handof = \"0 0 10 * * Mon\"",
        ),
        (
            "pulse_survey = \"0 0 14 * * Fri\"",
            "pulse_survey = \"weekly\"",
        ),
        ("anonymity_threshold = 5", "anonymity_threshold = 0"),
    ] {
        assert!(text.contains(old), "{old}");
        text = text.replacen(old, new, 1);
    }
    let found: Vec<(String, Option<usize>)> = problems(&text)
        .into_iter()
        .map(|p| (p.key, p.line))
        .collect();
    let expected = [
        ("slack.team_channel", 3),
        ("tickets.key_prefix", 10),
        ("sla.priorities.P1.resolution", 18),
        ("business_hours.end", 39),
        ("triage.rules[0].priority", 49),
        ("oncall.handof", 53),
        ("schedules.pulse_survey", 59),
        ("survey.anonymity_threshold", 64),
    ];
    let expected: Vec<_> = expected
        .iter()
        .map(|(k, l)| (k.to_string(), Some(*l)))
        .collect();
    assert_eq!(found, expected);
}

#[test]
fn bad_regex_in_a_rule_names_the_rule_key() {
    let rules = r#"
[[triage.rules]]
keywords = ["disk"]
category = "storage"
priority = "P2"

[[triage.rules]]
name = "db"
patterns = ["postgres", "(unclosed"]
category = "database"
priority = "P2"
"#;
    let problems = problems(&format!("{EXAMPLE}{rules}"));
    assert_eq!(problems.len(), 1, "{problems:#?}");
    let problem = &problems[0];
    assert_eq!(problem.key, "triage.rules[2].patterns");
    assert_eq!(problem.line, Some(EXAMPLE.lines().count() + 9));
    assert_eq!(
        problem.message,
        "in rule \"db\": invalid regex \"(unclosed\": unclosed group"
    );
}

/// One bad value each, in the example policy. Each line: the text to replace | its
/// replacement, or (removed) | the key of the expected problem | part of its message.
/// `\n` stands for a new line.
const INVALID_VALUES: &str = r#"
intake_channel = "C01INTAKE" | intake_channel = "" | slack.intake_channel | is not a Slack channel id
help_channels = ["C01HELP"] | help_channels = ["C01HELP", "help"] | slack.help_channels | "help" is not a Slack channel id
platform_team = ["U01ALICE", "U01BOB"] | platform_team = ["alice"] | slack.platform_team | "alice" is not a Slack user id
ticket_emoji = "ticket" | ticket_emoji = "two words" | slack.ticket_emoji | not an emoji name
key_prefix = "PLAT" | key_prefix = "PLATFORMTEAM" | tickets.key_prefix | 1 to 10 uppercase letters
key_prefix = "PLAT" | key_prefix = "" | tickets.key_prefix | 1 to 10 uppercase letters
timezone = "Europe/Berlin" | timezone = "Berlin" | sla.timezone | unknown time zone "Berlin"
warn_at = 0.75 | warn_at = 1 | sla.warn_at | between 0 and 1
warn_at = 0.75 | warn_at = "high" | sla.warn_at | invalid type: string
first_response = "15m" | first_response = "0s" | sla.priorities.P1.first_response | longer than zero
resolution = "4h" | resolution = "10m" | sla.priorities.P1.resolution | resolution (10m) is shorter than first_response (15m)
resolution = "4h"\n | (removed) | sla.priorities.P1.resolution | missing field `resolution`
business_hours = false | business_hours = "no" | sla.priorities.P1.business_hours | invalid type
[sla.priorities.P4] | [sla.priorities."P 4"] | sla.priorities.P 4 | priority name "P 4"
days = ["Mon", "Tue", "Wed", "Thu", "Fri"] | days = [] | business_hours.days | at least one day
days = ["Mon", "Tue", "Wed", "Thu", "Fri"] | days = ["Mon", "Mon"] | business_hours.days | "Mon" is listed twice
days = ["Mon", "Tue", "Wed", "Thu", "Fri"] | days = ["Funday"] | business_hours.days | "Funday" is not a day
start = "09:00" | start = "9am" | business_hours.start | not a time of day
start = "09:00" | start = "18:00" | business_hours.end | end 17:30 is not after start 18:00
holidays = ["2026-12-25"] | holidays = ["25.12.2026"] | business_hours.holidays | not a date
default_priority = "P3" | default_priority = "P9" | triage.default_priority | unknown priority "P9"; defined: P1, P2, P3, P4
default_category = "general" | default_category = " " | triage.default_category | must not be empty
keywords = ["outage", "prod down", "sev1"]\n | (removed) | triage.rules[0] | at least one keyword or pattern
keywords = ["outage", "prod down", "sev1"] | keywords = ["outage", ""] | triage.rules[0].keywords | must not be empty
category = "incident" | category = "incident"\nassignee = "C01NOTAUSER" | triage.rules[0].assignee | not a Slack user id
category = "incident" | category = "incident"\nchannel = "U01NOTACHANNEL" | triage.rules[0].channel | not a Slack channel id
category = "incident"\n | (removed) | triage.rules[0].category | missing field `category`
rotation = ["U01ALICE", "U01BOB"] | rotation = [] | oncall.rotation | at least one user id
handoff = "0 0 10 * * Mon" | handoff = "0 10 * * Mon" | oncall.handoff | invalid cron expression
escalate_to = ["U01LEAD"] | escalate_to = "U01LEAD" | oncall.escalate_to | invalid type: string
escalate_after = "30m" | escalate_after = "soon" | oncall.escalate_after | invalid duration "soon"
escalate_after = "30m" | escalate_after = "30m"\nmax_rounds = 0 | oncall.max_rounds | must be at least 1, not 0
roadmap_digest = "0 0 9 * * Mon" | roadmap_digest = "0 0 9 * * Someday" | schedules.roadmap_digest | invalid cron expression
audience_channel = "C01ENG" | audience_channel = "eng" | survey.audience_channel | not a Slack channel id
question = "How satisfied are you with the platform tools this week?" | question = "" | survey.question | must not be empty
close_after = "72h" | close_after = "0s" | survey.close_after | longer than zero
close_after = "72h" | close_after = "72h"\n\n[delivery]\nmax_attempts = 0 | delivery.max_attempts | must be at least 1
close_after = "72h" | close_after = "72h"\n\n[delivery]\nretry_base = "1m"\nretry_max = "10s" | delivery.retry_max | retry_max (10s) is shorter than retry_base (1m)
close_after = "72h" | close_after = "72h"\n\n[delivery]\nchannel_burst = -1 | delivery.channel_burst | must be at least 1
close_after = "72h" | close_after = "72h"\n\n[delivery]\nchannel_interval = "fast" | delivery.channel_interval | invalid duration
close_after = "72h" | close_after = "72h"\n\n[delivery]\nmax_attempt = 3 | delivery.max_attempt | unknown field `max_attempt`
"#;

#[test]
fn each_invalid_value_is_a_problem_at_its_key() {
    for case in INVALID_VALUES.lines().filter(|line| !line.is_empty()) {
        let fields: Vec<&str> = case.split(" | ").collect();
        let [old, new, key, message] = fields[..] else {
            panic!("a case needs 4 fields: {case}");
        };
        let unescape = |field: &str| field.replace("\\n", "\n");
        let new = if new == "(removed)" {
            String::new()
        } else {
            unescape(new)
        };
        let problems = problems(&example_with(&unescape(old), &new));
        let matching = problems
            .iter()
            .find(|p| p.key == key && p.message.contains(message));
        let Some(problem) = matching else {
            panic!("{case}\nwant {key}: {message}; got {problems:#?}");
        };
        assert!(problem.line.is_some(), "{case}: no line");
    }
}

#[test]
fn a_policy_without_priorities_is_a_problem() {
    let problems = problems("[tickets]\nkey_prefix = \"OPS\"\n");
    assert_eq!(problems.len(), 1, "{problems:#?}");
    assert_eq!(problems[0].key, "sla.priorities");
    assert!(problems[0].message.contains("at least one priority"));
}

#[test]
fn rule_names_must_be_unique() {
    let rules = "
[[triage.rules]]
name = \"db\"
keywords = [\"postgres\"]
category = \"database\"
priority = \"P2\"

[[triage.rules]]
name = \"db\"
keywords = [\"mysql\"]
category = \"database\"
priority = \"P2\"
";
    let problems = problems(&format!("{EXAMPLE}{rules}"));
    assert_eq!(problems.len(), 1, "{problems:#?}");
    assert_eq!(problems[0].key, "triage.rules[2].name");
    assert_eq!(
        problems[0].message,
        "rule name \"db\" is already used by triage.rules[1]"
    );
}

#[test]
fn a_broken_sla_section_does_not_make_rules_report_unknown_priorities() {
    let text = example_with("warn_at = 0.75", "warn_at = 0.75\nwarn_when = 0.5");
    let problems = problems(&text);
    let keys: Vec<&str> = problems.iter().map(|p| p.key.as_str()).collect();
    assert_eq!(keys, ["sla.warn_when"]);
}

#[test]
fn load_without_a_path_gives_the_builtin_policy() {
    let policy = Policy::load(None).unwrap();
    assert_eq!(
        policy.sla.priorities.len(),
        Policy::builtin().sla.priorities.len()
    );
}

#[test]
fn load_of_a_missing_file_names_the_path() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nope.toml");
    let error = Policy::load(Some(&path)).unwrap_err();
    assert!(matches!(error, PolicyError::Read { .. }), "{error:?}");
    assert!(
        error.to_string().contains(&path.display().to_string()),
        "{error}"
    );
}

#[test]
fn load_of_an_invalid_file_keeps_every_problem_and_says_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("policy.toml");
    let text = example_with("warn_at = 0.75", "warn_at = 2.0").replacen("\"4h\"", "\"4\"", 1);
    std::fs::write(&path, text).unwrap();
    let error = Policy::load(Some(&path)).unwrap_err();
    let message = error.to_string();
    assert!(!message.contains('\n'), "{message}");
    assert!(message.contains("(and 1 more)"), "{message}");
    let PolicyError::Invalid {
        path: Some(named),
        problems,
    } = error
    else {
        panic!("{message}");
    };
    assert_eq!(named, path);
    assert_eq!(problems.len(), 2, "{problems:#?}");
}

#[test]
fn settings_read_the_policy_file_named_by_the_environment() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("policy.toml");
    std::fs::write(
        &path,
        example_with("key_prefix = \"PLAT\"", "key_prefix = \"OPS\""),
    )
    .unwrap();
    let path_text = path.display().to_string();
    let settings = Settings::from_lookup(|name| match name {
        "PLATFORM_DESK_CONFIG" => Some(path_text.clone()),
        _ => None,
    })
    .unwrap();
    assert_eq!(settings.policy.tickets.key_prefix, "OPS");
    assert_eq!(settings.env.config_path.as_deref(), Some(path.as_path()));

    let error = Settings::from_lookup(|name| (name == "LOG_FORMAT").then(|| "xml".to_string()));
    assert!(matches!(
        error,
        Err(SettingsError::Env(EnvError::Invalid {
            var: "LOG_FORMAT",
            ..
        }))
    ));
}
