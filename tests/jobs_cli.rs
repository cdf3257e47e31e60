//! `platform-desk jobs` and the schedules `config check` explains, run as the binary: the
//! built-in policy's jobs as text and JSON, cron expressions in words, bad ones refused with
//! their key and the reason.

use std::process::{Command, Output};

fn bin() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_platform-desk"));
    command.env_clear().env("RUST_LOG", "error");
    command
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A migrated, empty database in `dir`, as its `DATABASE_URL`.
fn database(dir: &tempfile::TempDir) -> String {
    let url = format!("sqlite://{}", dir.path().join("desk.db").display());
    let out = bin()
        .arg("migrate")
        .env("DATABASE_URL", &url)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    url
}

#[test]
fn jobs_lists_the_builtin_policys_handoff_as_json() {
    let dir = tempfile::tempdir().unwrap();
    let url = database(&dir);
    let out = bin()
        .args(["jobs", "--format", "json"])
        .env("DATABASE_URL", &url)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let jobs: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    let jobs = jobs.as_array().expect("an array");
    let names: Vec<&str> = jobs.iter().filter_map(|j| j["name"].as_str()).collect();
    assert_eq!(
        names,
        [
            "oncall_handoff",
            "roadmap_digest",
            "roadmap_stale_reminders",
            "pulse_survey",
            "support_share_notice"
        ],
        "{jobs:?}"
    );
    // The survey is planned when its time first comes anywhere (UTC+14), then each person
    // is asked at that time on their own clock.
    assert_eq!(jobs[3]["timezone"], "Etc/GMT-14", "{jobs:?}");
    let job = &jobs[0];
    assert_eq!(job["schedule"], "0 0 10 * * Mon");
    assert_eq!(job["description"], "Mondays at 10:00");
    assert_eq!(job["timezone"], "Europe/Berlin");
    assert!(
        job["last_run"].is_null() && job["last_status"].is_null(),
        "{job}"
    );
    let next = chrono::DateTime::parse_from_rfc3339(job["next_run"].as_str().unwrap()).unwrap();
    assert!(
        job["next_run"].as_str().unwrap().ends_with('Z'),
        "UTC: {job}"
    );
    use chrono::{Datelike, Timelike};
    let berlin = next.with_timezone(&chrono_tz::Europe::Berlin);
    assert_eq!(
        (berlin.weekday(), berlin.hour(), berlin.minute()),
        (chrono::Weekday::Mon, 10, 0)
    );
    assert!(next > chrono::Utc::now(), "ahead: {job}");
}

#[test]
fn jobs_lists_the_builtin_policys_handoff_as_text() {
    let dir = tempfile::tempdir().unwrap();
    let url = database(&dir);
    let out = bin()
        .arg("jobs")
        .env("DATABASE_URL", &url)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = stdout(&out);
    for needle in [
        "oncall_handoff\n",
        "  schedule  Mondays at 10:00 (0 0 10 * * Mon)\n",
        "  timezone  Europe/Berlin\n",
        "  last run  never\n",
        "  next run  Mon ",
    ] {
        assert!(text.contains(needle), "{needle:?} in\n{text}");
    }
}

#[test]
fn jobs_without_a_database_says_so_and_exits_1() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("missing.db").display());
    let out = bin()
        .arg("jobs")
        .env("DATABASE_URL", &url)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no database at"));
    assert!(!dir.path().join("missing.db").exists(), "none was made");
}

#[test]
fn config_check_explains_each_cron_expression_in_words() {
    let out = bin().args(["config", "check"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let text = stdout(&out);
    for needle in [
        "schedules, in Europe/Berlin:",
        "oncall.handoff            0 0 10 * * Mon  Mondays at 10:00",
        "schedules.roadmap_digest  0 0 9 * * Mon   Mondays at 09:00",
        "schedules.pulse_survey    0 0 14 * * Fri  Fridays at 14:00",
        "up to 1h late (schedules.grace)",
    ] {
        assert!(text.contains(needle), "{needle:?} in\n{text}");
    }
}

#[test]
fn config_check_refuses_bad_cron_expressions_with_the_key_and_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("policy.toml");
    let text = include_str!("fixtures/contract_policy.toml")
        .replace(
            r#"handoff = "0 0 10 * * Mon""#,
            r#"handoff = "0 10 * * Mon""#,
        )
        .replace(
            r#"roadmap_digest = "0 0 9 * * Mon""#,
            r#"roadmap_digest = "0 0 9 * * 2""#,
        )
        .replace(
            r#"pulse_survey = "0 0 14 * * Fri""#,
            r#"pulse_survey = "0 0 14 * * Someday""#,
        );
    std::fs::write(&file, text).unwrap();
    let out = bin().args(["config", "check"]).arg(&file).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let lines = stdout(&out);
    let line = |key: &str| {
        lines
            .lines()
            .find(|l| l.contains(&format!(": {key} (line ")))
            .unwrap_or_else(|| panic!("no problem for {key} in\n{lines}"))
            .to_string()
    };
    assert!(line("oncall.handoff").contains("seconds first"), "{lines}");
    let digest = line("schedules.roadmap_digest");
    assert!(
        digest.contains("Sunday = 1") && digest.contains("here it means Mondays at 09:00"),
        "{digest}"
    );
    assert!(
        line("schedules.pulse_survey").contains("Someday"),
        "{lines}"
    );
}
