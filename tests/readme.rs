//! The README as a promise kept: its policy reference is checked against the real policy
//! parser (the example parses, every key listed is accepted, every key accepted is listed,
//! each with its default), the metrics it names are the bot's, and its first lines run what
//! CI runs.

mod common;

use platform_desk::settings::Policy;
use std::collections::BTreeSet;
use toml::{Table, Value};

const README: &str = include_str!("../README.md");
const CI: &str = include_str!("../.ci/run");
/// A key no policy has: where the parser reports it, it lists the keys it knows instead.
const PROBE: &str = "zz_not_a_policy_key";

/// The fenced TOML block of the "Policy reference" section.
fn reference() -> &'static str {
    let section = &README[README
        .find("\n## Policy reference")
        .expect("a Policy reference section")..];
    let start = section.find("```toml\n").expect("a toml block in it") + "```toml\n".len();
    let end = start + section[start..].find("\n```").expect("the block ends") + 1;
    &section[start..end]
}

/// The keys the parser accepts in the table at `path` (an array of tables when `array`),
/// read from its own error for an unknown key there: serde lists the fields it expected.
/// None when the table is a map of names (like `[sla.priorities]`), which has no fixed keys.
fn parser_keys(path: &[String], array: bool) -> Option<BTreeSet<String>> {
    let header = match (path.is_empty(), array) {
        (true, _) => String::new(),
        (false, true) => format!("[[{}]]\n", path.join(".")),
        (false, false) => format!("[{}]\n", path.join(".")),
    };
    let problems =
        Policy::parse(&format!("{header}{PROBE} = 0\n")).expect_err("an unknown key is an error");
    let unknown = format!("unknown field `{PROBE}`");
    let message = problems
        .iter()
        .map(|p| p.message.as_str())
        .find(|m| m.contains(&unknown))?;
    // "unknown field `x`, expected one of `a`, `b`" (or "expected `a`").
    let expected = &message[message.find("expected").expect("serde lists the fields")..];
    Some(
        expected
            .split('`')
            .skip(1)
            .step_by(2)
            .map(String::from)
            .collect(),
    )
}

/// Compares the README's keys with the parser's, table by table; returns the tables found
/// to be maps of names.
fn compare(path: &[String], table: &Table, array: bool, maps: &mut Vec<String>) {
    let listed: BTreeSet<String> = table.keys().cloned().collect();
    let name = if path.is_empty() {
        "the top level".to_string()
    } else {
        format!("[{}]", path.join("."))
    };
    match parser_keys(path, array) {
        Some(accepted) => assert_eq!(
            listed, accepted,
            "the README's keys of {name} (left) differ from the parser's (right)"
        ),
        None => maps.push(path.join(".")),
    }
    for (key, value) in table {
        let inner: Vec<String> = path.iter().cloned().chain([key.clone()]).collect();
        match value {
            Value::Table(child) => compare(&inner, child, false, maps),
            Value::Array(items) if !items.is_empty() && items.iter().all(Value::is_table) => {
                // An array of tables: its keys are those of all its entries together.
                let mut union = Table::new();
                for item in items.iter().filter_map(Value::as_table) {
                    for (k, v) in item {
                        union.entry(k.clone()).or_insert_with(|| v.clone());
                    }
                }
                compare(&inner, &union, true, maps);
            }
            _ => {}
        }
    }
}

#[test]
fn the_policy_reference_is_a_valid_policy() {
    if let Err(problems) = Policy::parse(reference()) {
        let list: Vec<String> = problems.iter().map(ToString::to_string).collect();
        panic!(
            "the README's policy reference does not parse:\n{}",
            list.join("\n")
        );
    }
}

#[test]
fn the_policy_reference_lists_exactly_the_keys_the_parser_accepts() {
    let document: Table = toml::from_str(reference()).expect("the block is TOML");
    let mut maps = Vec::new();
    compare(&[], &document, false, &mut maps);
    // Tables whose keys are names the policy chooses. A new one is added here knowingly,
    // so that a struct the probe cannot read is never waved through as a map.
    assert_eq!(maps, ["sla.priorities"]);
}

#[test]
fn the_probe_finds_a_key_missing_from_a_reference() {
    // The comparison above can fail: drop a key and it does.
    let without = reference().replace("max_rounds = 3", "");
    let document: Table = toml::from_str(&without).unwrap();
    let missed = std::panic::catch_unwind(|| compare(&[], &document, false, &mut Vec::new()));
    assert!(
        missed.is_err(),
        "a reference without oncall.max_rounds passed"
    );
}

#[test]
fn every_key_in_the_policy_reference_says_its_default_or_that_it_is_required() {
    for line in reference().lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('[') || line.starts_with('#') {
            continue;
        }
        let comment = line.split_once('#').map_or("", |(_, c)| c);
        assert!(
            comment.contains("default") || comment.contains("required"),
            "no default in: {line}"
        );
    }
}

#[test]
fn the_readme_starts_with_the_sandbox_and_the_command_ci_runs_and_stays_short() {
    let test_command = CI
        .lines()
        .map(str::trim)
        .rfind(|l| l.starts_with("cargo "))
        .expect(".ci/run runs cargo");
    let head: String = README.lines().take(10).collect::<Vec<_>>().join("\n");
    assert!(
        head.contains("\n    cargo run --release -- sandbox\n"),
        "{head}"
    );
    assert!(
        head.contains(&format!("\n    {test_command}")),
        "{head}\nlacks {test_command}"
    );
    // Issue 18's "about 300 lines": the policy reference alone is a third of it, so a little
    // over, never a benchmark log.
    let lines = README.lines().count();
    assert!(
        lines <= 320,
        "the README has {lines} lines: keep it for people who run the bot"
    );
}

#[tokio::test]
async fn every_metric_the_readme_names_is_served_at_metrics() {
    let app = common::spawn_app().await;
    let served = app.metrics().await;
    let named: BTreeSet<&str> = regex::Regex::new(r"platform_desk_[a-z_]+")
        .unwrap()
        .find_iter(README)
        .map(|m| m.as_str())
        .collect();
    assert!(named.len() >= 5, "{named:?}");
    for name in named {
        // A histogram is served as its `_bucket`, `_sum` and `_count` samples.
        let histogram = served.contains(&format!("# TYPE {name} histogram\n"));
        let sampled = served.lines().any(|line| {
            line.strip_prefix(name).is_some_and(|rest| {
                rest.starts_with(' ')
                    || rest.starts_with('{')
                    || (histogram && rest.starts_with("_bucket{"))
            })
        });
        assert!(
            sampled,
            "the README names {name}, which /metrics does not serve"
        );
    }
}

/// The series CONTRACT.md promises (issue 19), each with its labels.
const CONTRACT_SERIES: &[(&str, &[&str])] = &[
    (
        "platform_desk_tickets_filed_total",
        &["priority", "category", "source"],
    ),
    ("platform_desk_breaches_total", &["kind", "priority"]),
    ("platform_desk_open_tickets", &["priority", "status"]),
    ("platform_desk_first_response_seconds", &["priority"]),
    ("platform_desk_resolution_seconds", &["priority"]),
    ("platform_desk_outbox_pending", &[]),
    ("platform_desk_outbox_failed", &[]),
    (
        "platform_desk_slack_api_calls_total",
        &["method", "outcome"],
    ),
    ("platform_desk_scheduler_lag_seconds", &[]),
];

#[test]
fn the_readme_documents_every_series_the_contract_promises_with_its_labels() {
    let section = &README[README
        .find("\n## Operations")
        .expect("an Operations section")..];
    for (name, labels) in CONTRACT_SERIES {
        let documented = if labels.is_empty() {
            format!("`{name}`")
        } else {
            format!("`{name}{{{}}}`", labels.join(","))
        };
        assert!(
            section.contains(&documented),
            "the Operations section does not document {documented}"
        );
    }
}

/// The backup section's size of the `-wal` file is what the store lets it grow to: the
/// checkpoint threshold in pages times the database's page size, rounded to tens of MB.
#[tokio::test]
async fn the_readme_gives_the_log_size_the_checkpoint_threshold_allows() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("desk.db").display());
    let pool = platform_desk::store::connect(&url).await.unwrap();
    let page_size: i64 = sqlx::query_scalar("pragma page_size")
        .fetch_one(&pool)
        .await
        .unwrap();
    pool.close().await;
    let bytes = i64::from(platform_desk::store::WAL_AUTOCHECKPOINT_PAGES) * page_size;
    let mb = (bytes as f64 / 1e7).round() as i64 * 10;
    let claim = format!("(recent commits, up to about {mb} MB)");
    assert!(
        README.contains(&claim),
        "the README should say {claim:?} of the -wal file"
    );
}
